/*
 * check_valid.c -- the generic field checks: dates, emails, lengths in
 * characters, blank and wrong-typed values, unknown fields.
 */
#include <string.h>
#include <jansson.h>

#include "check_pms.h"
#include "pms_uuid.h"
#include "pms_valid.h"

START_TEST(test_dates)
{
    ck_assert(pms_valid_date("2024-02-29"));
    ck_assert(pms_valid_date("2000-02-29"));
    ck_assert(pms_valid_date("1999-12-31"));
    ck_assert(!pms_valid_date("2023-02-29"));
    ck_assert(!pms_valid_date("1900-02-29"));
    ck_assert(!pms_valid_date("2023-02-30"));
    ck_assert(!pms_valid_date("2023-04-31"));
    ck_assert(!pms_valid_date("2023-13-01"));
    ck_assert(!pms_valid_date("2023-00-10"));
    ck_assert(!pms_valid_date("2023-1-01"));
    ck_assert(!pms_valid_date("15/06/1985"));
    ck_assert(!pms_valid_date("1985-06-15T00:00:00"));
    ck_assert(!pms_valid_date("0000-01-01"));
    ck_assert(!pms_valid_date(""));
}
END_TEST

START_TEST(test_emails)
{
    ck_assert(pms_valid_email("john.doe@example.com"));
    ck_assert(pms_valid_email("a+tag@sub.example.co.uk"));
    ck_assert(pms_valid_email("O'Brien@example.ie"));
    ck_assert(!pms_valid_email("john.doe"));
    ck_assert(!pms_valid_email("@example.com"));
    ck_assert(!pms_valid_email("john@"));
    ck_assert(!pms_valid_email("john@localhost"));
    ck_assert(!pms_valid_email("john@@example.com"));
    ck_assert(!pms_valid_email("jo hn@example.com"));
    ck_assert(!pms_valid_email(".john@example.com"));
    ck_assert(!pms_valid_email("john..doe@example.com"));
    ck_assert(!pms_valid_email("john@-example.com"));
    ck_assert(!pms_valid_email("john@example..com"));
    ck_assert(!pms_valid_email("jöhn@example.com"));
}
END_TEST

START_TEST(test_utf8_length)
{
    ck_assert_uint_eq(pms_utf8_len("abc"), 3);
    ck_assert_uint_eq(pms_utf8_len("Zoë"), 3);
    ck_assert_uint_eq(pms_utf8_len("李小龍"), 3);
    ck_assert_uint_eq(pms_utf8_len(""), 0);
}
END_TEST

static const pms_field_spec_t spec[] = {
    { "name", PMS_FIELD_TEXT, PMS_FIELD_REQUIRED, 1, 5 },
    { "born", PMS_FIELD_DATE, PMS_FIELD_REQUIRED | PMS_FIELD_NOT_FUTURE, 10,
        10 },
    { "mail", PMS_FIELD_EMAIL, 0, 3, 254 },
    { "id", PMS_FIELD_TEXT, PMS_FIELD_READONLY, 0, 0 },
};

static size_t
run(const char *text, json_t **errors)
{
    json_t *body = json_loads(text, 0, NULL);
    size_t  n;

    ck_assert_ptr_nonnull(body);
    *errors = json_array();
    n = pms_validate(spec, 4, body, "2026-11-26", *errors);
    json_decref(body);
    return n;
}

static int
has_error(json_t *errors, const char *field, const char *message)
{
    size_t  i;
    json_t *e;

    json_array_foreach(errors, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0
            && strstr(json_string_value(json_object_get(e, "message")),
                message)) {
            return 1;
        }
    }
    return 0;
}

START_TEST(test_all_bad_fields_at_once)
{
    json_t *errors;

    ck_assert_uint_eq(run("{\"name\": \"   \", \"mail\": 5, \"x\": 1}",
                          &errors),
        4);
    ck_assert(has_error(errors, "name", "is required"));
    ck_assert(has_error(errors, "born", "is required"));
    ck_assert(has_error(errors, "mail", "must be a string"));
    ck_assert(has_error(errors, "x", "not a known field"));
    json_decref(errors);
}
END_TEST

START_TEST(test_good_body)
{
    json_t *errors;

    ck_assert_uint_eq(run("{\"name\": \"Zoë\", \"born\": \"2026-11-26\","
                          " \"id\": \"ignored\"}",
                          &errors),
        0);
    json_decref(errors);
}
END_TEST

START_TEST(test_limits)
{
    json_t *errors;

    ck_assert_uint_eq(run("{\"name\": \"abcdef\", \"born\": \"2026-11-27\","
                          " \"mail\": \"nope\"}",
                          &errors),
        3);
    ck_assert(has_error(errors, "name", "1 to 5 characters"));
    ck_assert(has_error(errors, "born", "future"));
    ck_assert(has_error(errors, "mail", "valid email"));
    json_decref(errors);
}
END_TEST

START_TEST(test_not_an_object)
{
    json_t *errors;

    ck_assert_uint_eq(run("[1, 2]", &errors), 1);
    ck_assert(has_error(errors, "$", "JSON object"));
    json_decref(errors);
}
END_TEST

START_TEST(test_uuid)
{
    char id[PMS_UUID_LEN + 1], other[PMS_UUID_LEN + 1];

    ck_assert_int_eq(pms_uuid_v4(id), 0);
    ck_assert_int_eq(pms_uuid_v4(other), 0);
    ck_assert(pms_uuid_valid(id));
    ck_assert_str_ne(id, other);
    ck_assert_int_eq(id[14], '4');
    ck_assert(pms_uuid_valid("123e4567-e89b-12d3-a456-426614174000"));
    ck_assert(!pms_uuid_valid("123e4567e89b12d3a456426614174000"));
    ck_assert(!pms_uuid_valid("123e4567-e89b-12d3-a456-42661417400g"));
    ck_assert(!pms_uuid_valid("1; DROP TABLE patient"));
    ck_assert(!pms_uuid_valid(""));
}
END_TEST

/* Control characters: a tab passes only where allowed; DEL never. */
START_TEST(test_control_characters)
{
    ck_assert(!pms_has_control("Zo\xc3\xab \xe6\x9d\x8e", 0));
    ck_assert(pms_has_control("a\tb", 0));
    ck_assert(!pms_has_control("a\tb", 1));
    ck_assert(pms_has_control("a\x07", 1));
    ck_assert(pms_has_control("a\x1b[31m", 1));
    ck_assert(pms_has_control("a\x7f", 1));
    ck_assert(pms_has_control("\n", 1));
}
END_TEST

Suite *
valid_suite(void)
{
    Suite *s = suite_create("valid");
    TCase *tc = tcase_create("fields");

    tcase_add_test(tc, test_dates);
    tcase_add_test(tc, test_emails);
    tcase_add_test(tc, test_utf8_length);
    tcase_add_test(tc, test_control_characters);
    tcase_add_test(tc, test_all_bad_fields_at_once);
    tcase_add_test(tc, test_good_body);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_not_an_object);
    tcase_add_test(tc, test_uuid);
    suite_add_tcase(s, tc);
    return s;
}

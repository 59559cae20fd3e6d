/*
 * check_patient.c -- the patient model and request parsing: validation
 * of bodies, the list query string, paths and If-Match.
 */
#include <string.h>
#include <jansson.h>

#include "check_pms.h"
#include "patient_model.h"
#include "patient_query.h"

static size_t
validate(const char *text, patient_input_t *in, json_t **errors)
{
    json_t *body = json_loads(text, 0, NULL);
    size_t  n;

    ck_assert_ptr_nonnull(body);
    *errors = json_array();
    n = patient_validate(body, "2026-11-26", in, *errors);
    /* in borrows from body: keep it alive for the test's duration */
    json_array_append_new(*errors, body);
    return n;
}

START_TEST(test_valid_patient)
{
    patient_input_t in;
    json_t         *errors;

    ck_assert_uint_eq(validate("{\"name\":\"John Doe\",\"email\":\"j@example.com\","
        "\"address\":\"1 Main St\",\"dateOfBirth\":\"1985-06-15\"}", &in,
        &errors), 0);
    ck_assert_str_eq(in.name, "John Doe");
    ck_assert_str_eq(in.date_of_birth, "1985-06-15");
    ck_assert_ptr_null(in.registered_date);
    json_decref(errors);
}
END_TEST

START_TEST(test_missing_fields_listed)
{
    patient_input_t in;
    json_t         *errors;

    ck_assert_uint_eq(validate("{}", &in, &errors), 4);
    json_decref(errors);
}
END_TEST

START_TEST(test_registered_before_birth)
{
    patient_input_t in;
    json_t         *errors;

    ck_assert_uint_eq(validate("{\"name\":\"A\",\"email\":\"a@example.com\","
        "\"address\":\"x\",\"dateOfBirth\":\"2000-01-02\","
        "\"registeredDate\":\"2000-01-01\"}", &in, &errors), 1);
    ck_assert_str_eq(json_string_value(json_object_get(
        json_array_get(errors, 0), "field")), "registeredDate");
    json_decref(errors);
}
END_TEST

/* An update without registeredDate is checked against the stored one. */
START_TEST(test_check_dates)
{
    json_t *errors = json_array();

    ck_assert_uint_eq(patient_check_dates("2020-01-01", "2010-01-01", errors), 1);
    ck_assert_str_eq(json_string_value(json_object_get(
        json_array_get(errors, 0), "field")), "registeredDate");
    ck_assert_uint_eq(patient_check_dates("2010-01-01", "2010-01-01", errors), 0);
    ck_assert_uint_eq(patient_check_dates("2000-01-01", "2010-01-01", errors), 0);
    ck_assert_uint_eq(patient_check_dates("2000-01-01", NULL, errors), 0);
    ck_assert_uint_eq(patient_check_dates("2020-01-01", "2010-01-01", NULL), 1);
    json_decref(errors);
}
END_TEST

START_TEST(test_list_query)
{
    patient_list_query_t q;
    json_t              *errors = json_array();

    ck_assert_uint_eq(patient_parse_list_query("", &q, errors), 0);
    ck_assert_int_eq(q.page, 1);
    ck_assert_int_eq(q.size, 50);
    ck_assert_str_eq(q.q, "");
    ck_assert_uint_eq(patient_parse_list_query("page=3&size=500&q=Zo%C3%AB+D",
        &q, errors), 0);
    ck_assert_int_eq(q.page, 3);
    ck_assert_int_eq(q.size, 500);
    ck_assert_str_eq(q.q, "Zoë D");
    json_decref(errors);
}
END_TEST

START_TEST(test_list_query_errors)
{
    patient_list_query_t q;
    json_t              *errors = json_array();

    ck_assert_uint_eq(patient_parse_list_query("size=501", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("page=0", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("page=-1", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("page=1x", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("sort=name", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("q=%zz", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("q=%00", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("q=%ff", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("q=%4", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("page=1&page=2", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("size=0&page=x", &q, errors), 2);
    json_decref(errors);
}
END_TEST

/* A problem whose entry cannot be built (a name that is not UTF-8, no
 * array to hold it) still counts: invalid input never passes as valid. */
START_TEST(test_errors_always_count)
{
    patient_list_query_t q;
    patient_input_t      in;
    json_t              *errors = json_array(), *body;

    ck_assert_uint_eq(patient_parse_list_query("size=1&%FF=1", &q, errors), 1);
    ck_assert_str_eq(json_string_value(json_object_get(
        json_array_get(errors, 0), "field")), "%FF");
    ck_assert_uint_eq(patient_parse_list_query("%FF%FE=1&foo=2", &q, NULL), 2);
    body = json_loads("{\"name\":1}", 0, NULL);
    ck_assert_uint_eq(patient_validate(body, "2026-11-26", &in, NULL), 4);
    json_decref(body);
    json_decref(errors);
}
END_TEST

START_TEST(test_like_pattern)
{
    char out[64];

    patient_like_pattern("50%_a\\b", out);
    ck_assert_str_eq(out, "%50\\%\\_a\\\\b%");
    patient_like_pattern("", out);
    ck_assert_str_eq(out, "%%");
}
END_TEST

START_TEST(test_paths)
{
    char id[64];

    ck_assert_int_eq(patient_parse_path("/patients", id, sizeof(id)),
        PATIENT_PATH_COLLECTION);
    ck_assert_int_eq(patient_parse_path("/patients/", id, sizeof(id)),
        PATIENT_PATH_COLLECTION);
    ck_assert_int_eq(patient_parse_path("/patients/abc", id, sizeof(id)),
        PATIENT_PATH_ITEM);
    ck_assert_str_eq(id, "abc");
    ck_assert_int_eq(patient_parse_path("/patients/a/b", id, sizeof(id)),
        PATIENT_PATH_NONE);
    ck_assert_int_eq(patient_parse_path("/patientsx", id, sizeof(id)),
        PATIENT_PATH_NONE);
    ck_assert_int_eq(patient_parse_path("/other", id, sizeof(id)),
        PATIENT_PATH_NONE);
}
END_TEST

START_TEST(test_if_match)
{
    ck_assert(patient_if_match(NULL, 3));
    ck_assert(patient_if_match("*", 3));
    ck_assert(patient_if_match("\"3\"", 3));
    ck_assert(patient_if_match("\"1\", \"3\"", 3));
    ck_assert(!patient_if_match("\"2\"", 3));
    ck_assert(!patient_if_match("W/\"3\"", 3));
    ck_assert(!patient_if_match("\"33\"", 3));
    ck_assert(!patient_if_match("", 3));
}
END_TEST

Suite *
patient_suite(void)
{
    Suite *s = suite_create("patient");
    TCase *model = tcase_create("model");
    TCase *query = tcase_create("query");

    tcase_add_test(model, test_valid_patient);
    tcase_add_test(model, test_missing_fields_listed);
    tcase_add_test(model, test_registered_before_birth);
    tcase_add_test(model, test_check_dates);
    tcase_add_test(query, test_list_query);
    tcase_add_test(query, test_list_query_errors);
    tcase_add_test(query, test_errors_always_count);
    tcase_add_test(query, test_like_pattern);
    tcase_add_test(query, test_paths);
    tcase_add_test(query, test_if_match);
    suite_add_tcase(s, model);
    suite_add_tcase(s, query);
    return s;
}

/*
 * check_patient.c -- the patient model and request parsing: validation
 * of bodies, the list query string, list cursors, paths and If-Match.
 */
#include <stdlib.h>
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
                               "\"address\":\"1 Main St\",\"dateOfBirth\":\"1985-06-15\"}",
                          &in, &errors),
        0);
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
                               "\"registeredDate\":\"2000-01-01\"}",
                          &in, &errors),
        1);
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(errors, 0), "field")),
        "registeredDate");
    json_decref(errors);
}
END_TEST

/* An update without registeredDate is checked against the stored one. */
START_TEST(test_check_dates)
{
    json_t *errors = json_array();

    ck_assert_uint_eq(patient_check_dates("2020-01-01", "2010-01-01", errors),
        1);
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(errors, 0), "field")),
        "registeredDate");
    ck_assert_uint_eq(patient_check_dates("2010-01-01", "2010-01-01", errors),
        0);
    ck_assert_uint_eq(patient_check_dates("2000-01-01", "2010-01-01", errors),
        0);
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
                          &q, errors),
        0);
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

START_TEST(test_list_query_filters)
{
    patient_list_query_t q;
    json_t              *errors = json_array();

    ck_assert_uint_eq(patient_parse_list_query("email=Ann%40Example.org&birthDate=1990-02-28&total=none",
                          &q, errors),
        0);
    ck_assert_str_eq(q.email, "Ann@Example.org");
    ck_assert_str_eq(q.birth_date, "1990-02-28");
    ck_assert_int_eq(q.total, PATIENT_TOTAL_NONE);
    ck_assert_int_eq(q.cursor.dir, PATIENT_CURSOR_NONE);
    ck_assert_uint_eq(patient_parse_list_query("total=accurate", &q, errors),
        0);
    ck_assert_int_eq(q.total, PATIENT_TOTAL_ACCURATE);
    ck_assert_uint_eq(patient_parse_list_query("", &q, errors), 0);
    ck_assert_int_eq(q.total, PATIENT_TOTAL_ESTIMATE);
    /* the offset bound: 10,000 rows may be skipped, not one more */
    ck_assert_uint_eq(patient_parse_list_query("page=201&size=50", &q, errors),
        0);
    ck_assert_uint_eq(json_array_size(errors), 0);
    ck_assert_uint_eq(patient_parse_list_query("page=202&size=50", &q, errors),
        1);
    ck_assert_uint_eq(patient_parse_list_query("page=10001&size=1", &q, errors),
        0);
    ck_assert_uint_eq(patient_parse_list_query("page=10002&size=1", &q, errors),
        1);
    ck_assert_uint_eq(patient_parse_list_query("email=nope", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("birthDate=1990-02-30", &q,
                          errors),
        1);
    ck_assert_uint_eq(patient_parse_list_query("total=exact", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("cursor=abc", &q, errors), 1);
    ck_assert_uint_eq(patient_parse_list_query("total=none&total=none", &q,
                          errors),
        1);
    json_decref(errors);
}
END_TEST

START_TEST(test_cursor_round_trip)
{
    const char          *id = "0b9e0c4e-3c6f-4d0a-9f5e-2a7b1c9d8e7f";
    char                 qs[1200], *text, *name;
    patient_cursor_t     c;
    patient_list_query_t q;
    json_t              *errors = json_array();
    size_t               i;

    name = malloc(401);
    for (i = 0; i < 100; i++) {
        memcpy(name + i * 4, "\xf0\x9f\x98\x80", 4); /* 100 emoji */
    }
    name[400] = '\0';
    text = patient_cursor_encode(PATIENT_CURSOR_AFTER, id, name);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strspn(text,
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                          "opqrstuvwxyz0123456789-_"),
        strlen(text));
    ck_assert_int_eq(patient_cursor_decode(text, &c), 0);
    ck_assert_int_eq(c.dir, PATIENT_CURSOR_AFTER);
    ck_assert_str_eq(c.id, id);
    ck_assert_str_eq(c.name, name);
    /* it passes through the query parser whole */
    snprintf(qs, sizeof(qs), "size=5&cursor=%s", text);
    ck_assert_uint_eq(patient_parse_list_query(qs, &q, errors), 0);
    ck_assert_str_eq(q.cursor.name, name);
    snprintf(qs, sizeof(qs), "page=2&cursor=%s", text);
    ck_assert_uint_eq(patient_parse_list_query(qs, &q, errors), 1);
    free(text);
    text = patient_cursor_encode(PATIENT_CURSOR_BEFORE, id, "Zo\xc3\xab");
    ck_assert_int_eq(patient_cursor_decode(text, &c), 0);
    ck_assert_int_eq(c.dir, PATIENT_CURSOR_BEFORE);
    ck_assert_str_eq(c.name, "Zo\xc3\xab");
    free(text);
    text = patient_cursor_encode(PATIENT_CURSOR_LAST, NULL, NULL);
    ck_assert_int_eq(patient_cursor_decode(text, &c), 0);
    ck_assert_int_eq(c.dir, PATIENT_CURSOR_LAST);
    free(text);
    name = realloc(name, 402);
    memset(name, 'x', 401); /* 401 bytes would not fit */
    name[401] = '\0';
    ck_assert_ptr_null(patient_cursor_encode(PATIENT_CURSOR_AFTER, id, name));
    free(name);
    json_decref(errors);
}
END_TEST

/* Cursors a client made up, or damaged, are refused, never trusted. */
START_TEST(test_cursor_refused)
{
    patient_cursor_t c;

    ck_assert_int_eq(patient_cursor_decode("", &c), -1);
    ck_assert_int_eq(patient_cursor_decode("MWw=", &c), -1); /* padding */
    ck_assert_int_eq(patient_cursor_decode("MWw", &c), 0);   /* "1l" */
    ck_assert_int_eq(patient_cursor_decode("Mmw", &c), -1);  /* "2l" */
    ck_assert_int_eq(patient_cursor_decode("MXg", &c), -1);  /* "1x" */
    ck_assert_int_eq(patient_cursor_decode("MWx4", &c), -1); /* "1lx" */
    ck_assert_int_eq(patient_cursor_decode("MWE", &c), -1);  /* "1a" */
    ck_assert_int_eq(patient_cursor_decode("M", &c), -1);
    ck_assert_int_eq(patient_cursor_decode("MW+w", &c), -1); /* '+' */
    /* "1a" + 36 bytes that are not a UUID */
    ck_assert_int_eq(patient_cursor_decode("MWF4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg",
                         &c),
        -1);
    /* "1a" + a UUID + a name byte 0xff (not UTF-8) */
    ck_assert_int_eq(patient_cursor_decode("MWEwYjllMGM0ZS0zYzZmLTRkMGEtOWY1ZS0yYTdiMWM5ZDhlN2b_",
                         &c),
        -1);
    /* the same with the name "a" is fine */
    ck_assert_int_eq(patient_cursor_decode("MWEwYjllMGM0ZS0zYzZmLTRkMGEtOWY1ZS0yYTdiMWM5ZDhlN2Zh",
                         &c),
        0);
    ck_assert_str_eq(c.name, "a");
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
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(errors, 0), "field")),
        "%FF");
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
    ck_assert_int_eq(patient_parse_path("/patients/abc/history", id,
                         sizeof(id)),
        PATIENT_PATH_HISTORY);
    ck_assert_str_eq(id, "abc");
    ck_assert_int_eq(patient_parse_path("/patients/abc/history/", id,
                         sizeof(id)),
        PATIENT_PATH_NONE);
    ck_assert_int_eq(patient_parse_path("/patients/abc/historyx", id,
                         sizeof(id)),
        PATIENT_PATH_NONE);
}
END_TEST

/* The history's paging parameters, and each bad one reported. */
START_TEST(test_history_query)
{
    json_t *errors = json_array();
    long    size, before;

    ck_assert_uint_eq(patient_parse_history_query("", &size, &before, errors),
        0);
    ck_assert_int_eq(size, PATIENT_PAGE_DEFAULT_SIZE);
    ck_assert_int_eq(before, PATIENT_HISTORY_TOP);
    ck_assert_uint_eq(patient_parse_history_query("size=2&cursor=7", &size,
                          &before, errors),
        0);
    ck_assert_int_eq(size, 2);
    ck_assert_int_eq(before, 7);
    ck_assert_uint_eq(patient_parse_history_query("size=0&cursor=1&q=x&size=3",
                          &size, &before, errors),
        4);
    ck_assert_uint_eq(json_array_size(errors), 4);
    json_decref(errors);
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
    tcase_add_test(query, test_list_query_filters);
    tcase_add_test(query, test_cursor_round_trip);
    tcase_add_test(query, test_cursor_refused);
    tcase_add_test(query, test_errors_always_count);
    tcase_add_test(query, test_like_pattern);
    tcase_add_test(query, test_paths);
    tcase_add_test(query, test_history_query);
    tcase_add_test(query, test_if_match);
    suite_add_tcase(s, model);
    suite_add_tcase(s, query);
    return s;
}

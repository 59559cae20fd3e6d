/*
 * check_problem.c -- RFC 9457 rendering and the status mapping.
 */
#include <string.h>
#include <jansson.h>

#include "check_pms.h"
#include "pms_problem.h"

START_TEST(test_problem_shape)
{
    json_t *p = pms_problem_new(404, "no patient has this id");

    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(json_string_value(json_object_get(p, "type")),
        "/problems/not-found");
    ck_assert_str_eq(json_string_value(json_object_get(p, "title")),
        "Not Found");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 404);
    ck_assert_str_eq(json_string_value(json_object_get(p, "detail")),
        "no patient has this id");
    ck_assert_ptr_null(json_object_get(p, "errors"));
    json_decref(p);
}
END_TEST

START_TEST(test_problem_errors)
{
    json_t *p = pms_problem_new(400, NULL), *errs;

    ck_assert_ptr_null(json_object_get(p, "detail"));
    ck_assert_int_eq(pms_problem_add_error(p, "name", "is required"), 0);
    ck_assert_int_eq(pms_problem_add_error(p, "email", "is required"), 0);
    errs = json_object_get(p, "errors");
    ck_assert_int_eq(json_array_size(errs), 2);
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(errs, 1), "field")),
        "email");
    json_decref(p);
}
END_TEST

START_TEST(test_status_mapping)
{
    ck_assert_int_eq(pms_http_status(PMS_NOT_FOUND), 404);
    ck_assert_int_eq(pms_http_status(PMS_CONFLICT), 409);
    ck_assert_int_eq(pms_http_status(PMS_INVALID), 400);
    ck_assert_int_eq(pms_http_status(PMS_UNAVAILABLE), 503);
    ck_assert_int_eq(pms_http_status(PMS_ERROR), 500);
    ck_assert_str_eq(pms_http_reason(415), "Unsupported Media Type");
    ck_assert_str_eq(pms_http_reason(406), "Not Acceptable");
    ck_assert_str_eq(pms_http_reason(410), "Gone");
    ck_assert_str_eq(pms_http_reason(201), "Created");
}
END_TEST

Suite *
problem_suite(void)
{
    Suite *s = suite_create("problem");
    TCase *tc = tcase_create("render");

    tcase_add_test(tc, test_problem_shape);
    tcase_add_test(tc, test_problem_errors);
    tcase_add_test(tc, test_status_mapping);
    suite_add_tcase(s, tc);
    return s;
}

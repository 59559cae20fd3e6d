/*
 * check_http.c -- response building without a socket: media types,
 * headers and JSON/problem bodies.
 */
#include <string.h>

#include "check_pms.h"
#include "pms_http.h"

START_TEST(test_media_type)
{
    ck_assert(pms_media_type_is("application/json", "application/json"));
    ck_assert(pms_media_type_is("Application/JSON; charset=utf-8",
        "application/json"));
    ck_assert(!pms_media_type_is("application/jsonx", "application/json"));
    ck_assert(!pms_media_type_is("text/plain", "application/json"));
    ck_assert(!pms_media_type_is(NULL, "application/json"));
}
END_TEST

START_TEST(test_resp_bodies)
{
    pms_resp_t resp;

    pms_resp_init(&resp);
    ck_assert_int_eq(pms_resp_problem(&resp, 415, "use JSON"), 415);
    ck_assert_str_eq(resp.content_type, "application/problem+json");
    ck_assert_ptr_nonnull(strstr(resp.body, "\"status\":415"));
    ck_assert_int_eq(pms_resp_header(&resp, "Retry-After", "%d", 1), 0);
    ck_assert_str_eq(resp.headers[0].value, "1");
    pms_resp_reset(&resp);
    ck_assert_int_eq(resp.nheaders, 0);
    ck_assert_ptr_null(resp.body);
}
END_TEST

Suite *
http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("response");

    tcase_add_test(tc, test_media_type);
    tcase_add_test(tc, test_resp_bodies);
    suite_add_tcase(s, tc);
    return s;
}

/*
 * check_http.c -- response building without a socket: media types,
 * headers and JSON/problem bodies.
 */
#include <stdlib.h>
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

/* Header values of any length are kept whole (was: cut at 512 bytes). */
START_TEST(test_long_header_value)
{
    pms_resp_t resp;
    char      *big = malloc(5001);
    int        i;

    ck_assert_ptr_nonnull(big);
    memset(big, 'x', 5000);
    big[5000] = '\0';
    pms_resp_init(&resp);
    for (i = 0; i < PMS_MAX_HEADERS; i++) {
        ck_assert_int_eq(pms_resp_header(&resp, "Link", "<%s>", big), 0);
        ck_assert_uint_eq(strlen(resp.headers[i].value), 5002);
    }
    ck_assert_int_eq(resp.failed, 0);
    /* one header too many fails the response instead of dropping it */
    ck_assert_int_eq(pms_resp_header(&resp, "Link", "%s", big), -1);
    ck_assert_int_eq(resp.failed, 1);
    pms_resp_reset(&resp);
    ck_assert_int_eq(resp.failed, 0);
    free(big);
}
END_TEST

static void
count_release(void *arg)
{
    (*(int *) arg)++;
}

/* Deferred releases grow past any fixed list and all run at reset, in
 * reverse order, never early (was: run at once when 16 were queued). */
START_TEST(test_defer_grows)
{
    pms_req_t req;
    int       runs = 0, i;

    memset(&req, 0, sizeof(req));
    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(pms_req_defer(&req, count_release, &runs), 0);
    }
    ck_assert_int_eq(runs, 0);
    pms_req_reset(&req);
    ck_assert_int_eq(runs, 100);
}
END_TEST

Suite *
http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("response");

    tcase_add_test(tc, test_media_type);
    tcase_add_test(tc, test_resp_bodies);
    tcase_add_test(tc, test_long_header_value);
    tcase_add_test(tc, test_defer_grows);
    suite_add_tcase(s, tc);
    return s;
}

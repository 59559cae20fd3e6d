/*
 * check_relay.c -- the relay's bookkeeping: the in-flight set holds any
 * number of seqs (it once had 65,536 fixed slots, and a batch larger than
 * the free room made an insert probe forever), survives heavy churn, and
 * the acknowledged list renders as a PostgreSQL array.
 */
#include <stdlib.h>
#include <string.h>

#include "check_pms.h"
#include "relay_flight.h"

/* More seqs than the old fixed table had slots: every add returns. */
START_TEST(test_flight_grows)
{
    relay_flight_t f;
    long long      seq;

    memset(&f, 0, sizeof(f));
    for (seq = 1; seq <= 200000; seq++) {
        ck_assert_int_eq(relay_flight_add(&f, seq), 0);
    }
    ck_assert_uint_eq(f.live, 200000);
    ck_assert_uint_le(f.live * 2, f.cap);
    for (seq = 1; seq <= 200000; seq++) {
        ck_assert(relay_flight_has(&f, seq));
    }
    ck_assert(!relay_flight_has(&f, 200001));
    relay_flight_free(&f);
}
END_TEST

/* A sliding window of adds and deletes, as the relay does: deleted marks
 * are reclaimed, the table stays small, lookups stay exact. */
START_TEST(test_flight_churn)
{
    relay_flight_t f;
    long long      seq;

    memset(&f, 0, sizeof(f));
    ck_assert(!relay_flight_has(&f, 1));
    relay_flight_del(&f, 1);
    for (seq = 1; seq <= 500000; seq++) {
        ck_assert_int_eq(relay_flight_add(&f, seq), 0);
        if (seq > 300) {
            relay_flight_del(&f, seq - 300);
        }
    }
    ck_assert_uint_eq(f.live, 300);
    ck_assert_uint_le(f.cap, 4096);
    ck_assert(relay_flight_has(&f, 500000));
    ck_assert(relay_flight_has(&f, 499701));
    ck_assert(!relay_flight_has(&f, 499700));
    ck_assert_int_eq(relay_flight_add(&f, 500000), 0); /* twice: once */
    ck_assert_uint_eq(f.live, 300);
    relay_flight_free(&f);
}
END_TEST

START_TEST(test_seqs_array)
{
    relay_seqs_t l;
    char        *arr;
    long long    i;

    memset(&l, 0, sizeof(l));
    arr = relay_seqs_array(&l);
    ck_assert_str_eq(arr, "{}");
    free(arr);
    for (i = 1; i <= 3000; i++) {
        ck_assert_int_eq(relay_seqs_push(&l, i * 1000000000000LL), 0);
    }
    arr = relay_seqs_array(&l);
    /* 9 x 13 digits + 90 x 14 + 900 x 15 + 2001 x 16, 2999 commas, braces */
    ck_assert_uint_eq(strlen(arr), 117 + 1260 + 13500 + 32016 + 2999 + 2);
    ck_assert(strncmp(arr, "{1000000000000,2000000000000,", 29) == 0);
    ck_assert(strcmp(arr + strlen(arr) - 18, ",3000000000000000}") == 0);
    free(arr);
    relay_seqs_free(&l);
}
END_TEST

Suite *
relay_suite(void)
{
    Suite *s = suite_create("relay");
    TCase *tc = tcase_create("flight");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_flight_grows);
    tcase_add_test(tc, test_flight_churn);
    tcase_add_test(tc, test_seqs_array);
    suite_add_tcase(s, tc);
    return s;
}

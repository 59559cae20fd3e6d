/*
 * check_billing.c -- what a CreateBillingAccount request must hold.
 */
#include <string.h>

#include "billing_account.h"
#include "check_pms.h"

#define PID "123e4567-e89b-12d3-a456-426614174000"

START_TEST(test_valid_request)
{
    ck_assert_ptr_null(
        billing_validate(PID, "John Doe", "john.doe@example.com"));
}
END_TEST

START_TEST(test_patient_id)
{
    ck_assert_str_eq(billing_validate("", "a", "a@example.com"),
        "patientId is required");
    ck_assert_str_eq(billing_validate("12333", "a", "a@example.com"),
        "patientId must be a UUID");
    ck_assert_ptr_nonnull(billing_validate(PID "0", "a", "a@example.com"));
}
END_TEST

START_TEST(test_name_and_email)
{
    char long_name[300];

    ck_assert_ptr_nonnull(billing_validate(PID, "", "a@example.com"));
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    ck_assert_ptr_nonnull(billing_validate(PID, long_name, "a@example.com"));
    ck_assert_ptr_nonnull(billing_validate(PID, "a", ""));
    ck_assert_ptr_nonnull(billing_validate(PID, "a", "joe.doe@"));
}
END_TEST

Suite *
billing_suite(void)
{
    Suite *s = suite_create("billing");
    TCase *tc = tcase_create("validate");

    tcase_add_test(tc, test_valid_request);
    tcase_add_test(tc, test_patient_id);
    tcase_add_test(tc, test_name_and_email);
    suite_add_tcase(s, tc);
    return s;
}

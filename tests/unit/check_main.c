/*
 * check_main.c -- runs every unit-test suite; the closing summary line
 * ("100%: Checks: N, Failures: 0, Errors: 0") is Check's own.
 */
#include <stdlib.h>

#include "check_pms.h"

int
main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int      failed;

    srunner_add_suite(sr, valid_suite());
    srunner_add_suite(sr, problem_suite());
    srunner_add_suite(sr, patient_suite());
    srunner_add_suite(sr, http_suite());
    srunner_add_suite(sr, billing_suite());
    srunner_add_suite(sr, auth_suite());
    srunner_add_suite(sr, relay_suite());
    srunner_add_suite(sr, observe_suite());
    srunner_add_suite(sr, fhir_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * check_pms.h -- the Check suites of the unit tests, one per module,
 * collected by check_main.c into one runner.
 */
#ifndef CHECK_PMS_H
#define CHECK_PMS_H

#include <check.h>

Suite *config_suite(void);
Suite *valid_suite(void);
Suite *problem_suite(void);
Suite *patient_suite(void);
Suite *http_suite(void);
Suite *billing_suite(void);
Suite *auth_suite(void);
Suite *relay_suite(void);
Suite *observe_suite(void);
Suite *fhir_suite(void);

#endif

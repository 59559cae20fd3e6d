/*
 * check_fhir.c -- the FHIR mapping's pure parts: a FHIR Patient becomes
 * the JSON API's body only when nothing in it would be lost (a second
 * name, a phone, an unknown element or extension are refused by path),
 * given/family are joined, the registration-date extension is read, an
 * update's id must match, and API field names map to FHIR paths.
 */
#include <string.h>

#include "check_pms.h"
#include "fhir_map.h"

static json_t *
fhir(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);

    ck_assert_ptr_nonnull(j);
    return j;
}

#define PATIENT_OK                                                             \
    "{\"resourceType\":\"Patient\",\"id\":\"x\","                              \
    "\"name\":[{\"given\":[\"Grace\",\"B.\"],\"family\":\"Hopper\"}],"         \
    "\"telecom\":[{\"system\":\"email\",\"value\":\"g@example.com\"}],"        \
    "\"address\":[{\"text\":\"1 Navy Way\"}],\"birthDate\":\"1906-12-09\","    \
    "\"extension\":[{\"url\":\"" FHIR_EXT_REGISTERED "\","                     \
    "\"valueDate\":\"2020-01-02\"}],"                                          \
    "\"identifier\":[{\"system\":\"" FHIR_SID_BILLING "\",\"value\":\"a\"}],"  \
    "\"meta\":{\"versionId\":\"3\"}}"

START_TEST(test_fhir_to_pms)
{
    json_t *issues = json_array(), *in = fhir(PATIENT_OK), *body;

    body = fhir_patient_to_pms(in, "x", issues);
    ck_assert_ptr_nonnull(body);
    ck_assert_uint_eq(json_array_size(issues), 0);
    ck_assert_str_eq(json_string_value(json_object_get(body, "name")),
        "Grace B. Hopper");
    ck_assert_str_eq(json_string_value(json_object_get(body, "email")),
        "g@example.com");
    ck_assert_str_eq(json_string_value(json_object_get(body, "address")),
        "1 Navy Way");
    ck_assert_str_eq(json_string_value(json_object_get(body, "dateOfBirth")),
        "1906-12-09");
    ck_assert_str_eq(json_string_value(json_object_get(body, "registeredDate")),
        "2020-01-02");
    json_decref(body);
    json_decref(in);
    json_decref(issues);
}
END_TEST

/* Each body is refused, naming the path of what it cannot keep. */
START_TEST(test_fhir_refused)
{
    static const struct {
        const char *body, *path;
    } cases[] = {
        { "{\"resourceType\":\"Observation\"}", "Patient.resourceType" },
        { "[]", "Patient.resourceType" },
        { "{\"resourceType\":\"Patient\",\"gender\":\"female\","
          "\"name\":[{\"text\":\"A\"}],\"telecom\":[{\"system\":\"email\","
          "\"value\":\"a@b.co\"}],\"address\":[{\"text\":\"x\"}]}",
            "Patient.gender" },
        { "{\"resourceType\":\"Patient\",\"name\":[{\"text\":\"A\"},"
          "{\"text\":\"B\"}],\"telecom\":[{\"system\":\"email\","
          "\"value\":\"a@b.co\"}],\"address\":[{\"text\":\"x\"}]}",
            "Patient.name" },
        { "{\"resourceType\":\"Patient\",\"name\":[{\"text\":\"A\"}],"
          "\"telecom\":[{\"system\":\"phone\",\"value\":\"1\"}],"
          "\"address\":[{\"text\":\"x\"}]}",
            "Patient.telecom[0].system" },
        { "{\"resourceType\":\"Patient\",\"name\":[{\"text\":\"A\"}],"
          "\"telecom\":[{\"system\":\"email\",\"value\":\"a@b.co\"}],"
          "\"address\":[{\"text\":\"x\"}],"
          "\"extension\":[{\"url\":\"http://x/y\",\"valueString\":\"z\"}]}",
            "Patient.extension" },
        { "{\"resourceType\":\"Patient\",\"name\":[{\"text\":\"A\"}],"
          "\"telecom\":[{\"system\":\"email\",\"value\":\"a@b.co\"}],"
          "\"address\":[{\"line\":[\"1 Road\"]}]}",
            "Patient.address[0].text" },
        { "{\"resourceType\":\"Patient\",\"name\":[{}],"
          "\"telecom\":[{\"system\":\"email\",\"value\":\"a@b.co\"}],"
          "\"address\":[{\"text\":\"x\"}]}",
            "Patient.name[0]" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t     *issues = json_array(), *in = fhir(cases[i].body);
        json_t     *body = fhir_patient_to_pms(in, NULL, issues);
        const char *path = json_string_value(
            json_array_get(json_object_get(json_array_get(issues, 0),
                               "expression"),
                0));

        ck_assert_msg(body == NULL, "case %zu accepted", i);
        ck_assert_msg(path != NULL && strcmp(path, cases[i].path) == 0,
            "case %zu: %s, want %s", i, path ? path : "(none)", cases[i].path);
        json_decref(in);
        json_decref(issues);
    }
}
END_TEST

START_TEST(test_fhir_update_id_must_match)
{
    json_t *issues = json_array(), *in = fhir(PATIENT_OK);

    ck_assert_ptr_null(fhir_patient_to_pms(in, "other", issues));
    ck_assert_str_eq(json_string_value(
                         json_array_get(json_object_get(json_array_get(issues,
                                                            0),
                                            "expression"),
                             0)),
        "Patient.id");
    json_decref(in);
    json_decref(issues);
}
END_TEST

START_TEST(test_fhir_paths_and_codes)
{
    ck_assert_str_eq(fhir_expression("email"), "Patient.telecom[0].value");
    ck_assert_str_eq(fhir_expression("dateOfBirth"), "Patient.birthDate");
    ck_assert_str_eq(fhir_expression("unknown"), "Patient");
    ck_assert_str_eq(fhir_issue_code(404), "not-found");
    ck_assert_str_eq(fhir_issue_code(410), "deleted");
    ck_assert_str_eq(fhir_issue_code(412), "conflict");
    ck_assert_str_eq(fhir_issue_code(503), "transient");
    ck_assert_str_eq(fhir_issue_code(400), "invalid");
}
END_TEST

Suite *
fhir_suite(void)
{
    Suite *s = suite_create("fhir");
    TCase *tc = tcase_create("map");

    tcase_add_test(tc, test_fhir_to_pms);
    tcase_add_test(tc, test_fhir_refused);
    tcase_add_test(tc, test_fhir_update_id_must_match);
    tcase_add_test(tc, test_fhir_paths_and_codes);
    suite_add_tcase(s, tc);
    return s;
}

/*
 * fuzz_patient_body.c -- fuzz target: a POST/PUT body as the patient
 * service reads it (jansson with the service's flags, then the field-spec
 * validation and cross-field rules), with a fixed "today".
 */
#include <stdint.h>
#include <string.h>
#include <jansson.h>

#include "patient_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t    err;
    json_t         *body, *errors;
    patient_input_t in;
    size_t          n, i;

    body = json_loadb((const char *) data, size,
        JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (body == NULL) {
        return 0;
    }
    errors = json_array();
    memset(&in, 0, sizeof(in));
    n = patient_validate(body, "2026-11-26", &in, errors);
    if (n != json_array_size(errors)) {
        __builtin_trap(); /* the count must match what was reported */
    }
    for (i = 0; i < n; i++) {
        json_t *e = json_array_get(errors, i);

        if (!json_is_string(json_object_get(e, "field"))
            || !json_is_string(json_object_get(e, "message"))) {
            __builtin_trap();
        }
    }
    if (n == 0
        && (in.name == NULL || in.email == NULL || in.address == NULL
            || in.date_of_birth == NULL)) {
        __builtin_trap(); /* valid means every required field is set */
    }
    json_decref(errors);
    json_decref(body);
    return 0;
}

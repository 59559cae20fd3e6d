/*
 * patient_model.c -- the patient field table and the row-to-JSON mapping.
 * The table is the single description of what a patient body may hold;
 * server-owned fields are accepted (so a GET body can be PUT back) and
 * ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "patient_model.h"
#include "pms_problem.h"
#include "pms_valid.h"

static const pms_field_spec_t patient_fields[] = {
    { "name", PMS_FIELD_TEXT, PMS_FIELD_REQUIRED, 1, 100 },
    { "email", PMS_FIELD_EMAIL, PMS_FIELD_REQUIRED, 3, 254 },
    { "address", PMS_FIELD_TEXT, PMS_FIELD_REQUIRED, 1, 255 },
    { "dateOfBirth", PMS_FIELD_DATE, PMS_FIELD_REQUIRED | PMS_FIELD_NOT_FUTURE,
        10, 10 },
    { "registeredDate", PMS_FIELD_DATE, PMS_FIELD_NOT_FUTURE, 10, 10 },
    { "id", PMS_FIELD_TEXT, PMS_FIELD_READONLY, 0, 0 },
    { "billingAccountId", PMS_FIELD_TEXT, PMS_FIELD_READONLY, 0, 0 },
    { "createdAt", PMS_FIELD_TEXT, PMS_FIELD_READONLY, 0, 0 },
    { "updatedAt", PMS_FIELD_TEXT, PMS_FIELD_READONLY, 0, 0 },
    { "createdBy", PMS_FIELD_TEXT, PMS_FIELD_READONLY, 0, 0 },
    { "updatedBy", PMS_FIELD_TEXT, PMS_FIELD_READONLY, 0, 0 },
};

static const char *
model_string(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

size_t
patient_validate(json_t *body, const char *today, patient_input_t *in,
    json_t *errors)
{
    size_t n;

    n = pms_validate(patient_fields,
        sizeof(patient_fields) / sizeof(patient_fields[0]), body, today,
        errors);
    if (!json_is_object(body)) {
        return n;
    }
    in->name = model_string(body, "name");
    in->email = model_string(body, "email");
    in->address = model_string(body, "address");
    in->date_of_birth = model_string(body, "dateOfBirth");
    in->registered_date = model_string(body, "registeredDate");
    return n
        + patient_check_dates(in->date_of_birth, in->registered_date, errors);
}

size_t
patient_check_dates(const char *date_of_birth, const char *registered_date,
    json_t *errors)
{
    if (registered_date == NULL || date_of_birth == NULL
        || !pms_valid_date(registered_date) || !pms_valid_date(date_of_birth)
        || strcmp(registered_date, date_of_birth) >= 0) {
        return 0;
    }
    return pms_errors_add(errors, "registeredDate",
        "must not be before dateOfBirth");
}

/* The API members of a row, in the order they are written. */
static const struct {
    const char *key;
    int         col;
} model_members[] = {
    { "id", PATIENT_COL_ID },
    { "name", PATIENT_COL_NAME },
    { "email", PATIENT_COL_EMAIL },
    { "address", PATIENT_COL_ADDRESS },
    { "dateOfBirth", PATIENT_COL_DOB },
    { "registeredDate", PATIENT_COL_REGISTERED },
    { "billingAccountId", PATIENT_COL_BILLING },
    { "createdAt", PATIENT_COL_CREATED_AT },
    { "updatedAt", PATIENT_COL_UPDATED_AT },
    { "createdBy", PATIENT_COL_CREATED_BY },
    { "updatedBy", PATIENT_COL_UPDATED_BY },
};

/*
 * The keys are ASCII literals and the values come from a UTF8 database,
 * so the UTF-8 checks are skipped (the _nocheck calls): building the JSON
 * of a page of 50 was most of a list request's CPU.  A SQL NULL is null.
 */
json_t *
patient_to_json(const PGresult *res, int r)
{
    json_t *obj = json_object(), *v;
    size_t  i;

    if (obj == NULL) {
        return NULL;
    }
    for (i = 0; i < sizeof(model_members) / sizeof(model_members[0]); i++) {
        int c = model_members[i].col;

        v = PQgetisnull(res, r, c) ? json_null()
                                   : json_stringn_nocheck(PQgetvalue(res, r, c),
                                       (size_t) PQgetlength(res, r, c));
        if (v == NULL
            || json_object_set_new_nocheck(obj, model_members[i].key, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* The text of column c, or JSON null. */
static json_t *
model_text(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? json_null()
                                  : json_string(PQgetvalue(res, r, c));
}

json_t *
patient_history_to_json(const PGresult *res, int r)
{
    int tomb = PQgetisnull(res, r, PATIENT_COL_ID);

    return json_pack("{s:I, s:s, s:s, s:{s:o, s:o}, s:o, s:o}", "version",
        (json_int_t) atoll(PQgetvalue(res, r, PATIENT_HCOL_VERSION)),
        "operation", PQgetvalue(res, r, PATIENT_HCOL_OPERATION), "changedAt",
        PQgetvalue(res, r, PATIENT_HCOL_AT), "actor", "subject",
        model_text(res, r, PATIENT_HCOL_SUBJECT), "client",
        model_text(res, r, PATIENT_HCOL_CLIENT), "requestId",
        model_text(res, r, PATIENT_HCOL_REQUEST_ID), "patient",
        tomb ? json_null() : patient_to_json(res, r));
}

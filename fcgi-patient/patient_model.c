/*
 * patient_model.c -- the patient field table and the row-to-JSON mapping.
 * The table is the single description of what a patient body may hold;
 * server-owned fields are accepted (so a GET body can be PUT back) and
 * ignored.
 */
#include <string.h>

#include "patient_model.h"
#include "pms_problem.h"
#include "pms_valid.h"

static const pms_field_spec_t patient_fields[] = {
    { "name",             PMS_FIELD_TEXT,  PMS_FIELD_REQUIRED, 1, 100 },
    { "email",            PMS_FIELD_EMAIL, PMS_FIELD_REQUIRED, 3, 254 },
    { "address",          PMS_FIELD_TEXT,  PMS_FIELD_REQUIRED, 1, 255 },
    { "dateOfBirth",      PMS_FIELD_DATE,
                          PMS_FIELD_REQUIRED | PMS_FIELD_NOT_FUTURE, 10, 10 },
    { "registeredDate",   PMS_FIELD_DATE,  PMS_FIELD_NOT_FUTURE, 10, 10 },
    { "id",               PMS_FIELD_TEXT,  PMS_FIELD_READONLY, 0, 0 },
    { "billingAccountId", PMS_FIELD_TEXT,  PMS_FIELD_READONLY, 0, 0 },
    { "createdAt",        PMS_FIELD_TEXT,  PMS_FIELD_READONLY, 0, 0 },
    { "updatedAt",        PMS_FIELD_TEXT,  PMS_FIELD_READONLY, 0, 0 },
    { "createdBy",        PMS_FIELD_TEXT,  PMS_FIELD_READONLY, 0, 0 },
    { "updatedBy",        PMS_FIELD_TEXT,  PMS_FIELD_READONLY, 0, 0 },
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
        sizeof(patient_fields) / sizeof(patient_fields[0]), body, today, errors);
    if (!json_is_object(body)) {
        return n;
    }
    in->name = model_string(body, "name");
    in->email = model_string(body, "email");
    in->address = model_string(body, "address");
    in->date_of_birth = model_string(body, "dateOfBirth");
    in->registered_date = model_string(body, "registeredDate");
    return n + patient_check_dates(in->date_of_birth, in->registered_date,
        errors);
}

size_t
patient_check_dates(const char *date_of_birth, const char *registered_date,
    json_t *errors)
{
    if (registered_date == NULL || date_of_birth == NULL
        || !pms_valid_date(registered_date) || !pms_valid_date(date_of_birth)
        || strcmp(registered_date, date_of_birth) >= 0)
    {
        return 0;
    }
    return pms_errors_add(errors, "registeredDate",
        "must not be before dateOfBirth");
}

static json_t *
model_nullable(const PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c)) {
        return json_null();
    }
    return json_string(PQgetvalue(res, r, c));
}

json_t *
patient_to_json(const PGresult *res, int r)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o}",
        "id", PQgetvalue(res, r, PATIENT_COL_ID),
        "name", PQgetvalue(res, r, PATIENT_COL_NAME),
        "email", PQgetvalue(res, r, PATIENT_COL_EMAIL),
        "address", PQgetvalue(res, r, PATIENT_COL_ADDRESS),
        "dateOfBirth", PQgetvalue(res, r, PATIENT_COL_DOB),
        "registeredDate", PQgetvalue(res, r, PATIENT_COL_REGISTERED),
        "billingAccountId", model_nullable(res, r, PATIENT_COL_BILLING),
        "createdAt", PQgetvalue(res, r, PATIENT_COL_CREATED_AT),
        "updatedAt", PQgetvalue(res, r, PATIENT_COL_UPDATED_AT),
        "createdBy", model_nullable(res, r, PATIENT_COL_CREATED_BY),
        "updatedBy", model_nullable(res, r, PATIENT_COL_UPDATED_BY));
}

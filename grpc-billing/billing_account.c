/*
 * billing_account.c -- validation and the SQL of billing.  The upsert
 * returns the existing row on a repeat, so retries by the patient service
 * (after a timeout, say) never create a second account; the delete undoes
 * a creation whose patient was then not stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing_account.h"
#include "pms_valid.h"

const pms_db_stmt_t billing_account_stmts[] = {
    { "billing_create",
        "INSERT INTO billing_account (account_id, patient_id, name, email)"
        " VALUES ($1::uuid, $2::uuid, $3, $4)"
        " ON CONFLICT (patient_id) DO UPDATE SET patient_id = EXCLUDED.patient_id"
        " RETURNING account_id::text, status" },
    { "billing_delete",
        "DELETE FROM billing_account WHERE patient_id = $1::uuid" },
};

const size_t billing_account_nstmts =
    sizeof(billing_account_stmts) / sizeof(billing_account_stmts[0]);

const char *
billing_validate(const char *patient_id, const char *name, const char *email)
{
    if (patient_id[0] == '\0') {
        return "patientId is required";
    }
    if (!pms_uuid_valid(patient_id)) {
        return "patientId must be a UUID";
    }
    if (name[0] == '\0' || pms_utf8_len(name) > 255) {
        return "name is required (at most 255 characters)";
    }
    if (!pms_valid_email(email)) {
        return "email must be a valid email address";
    }
    return NULL;
}

pms_status_t
billing_account_create(pms_db_t *db, const char *patient_id, const char *name,
    const char *email, billing_account_t *out)
{
    char         account_id[PMS_UUID_LEN + 1];
    const char  *params[4] = { account_id, patient_id, name, email };
    PGresult    *res;
    pms_status_t st;

    if (pms_uuid_v4(account_id) != 0) {
        return PMS_ERROR;
    }
    st = pms_db_exec(db, "billing_create", 4, params, &res);
    if (st != PMS_OK) {
        return st;
    }
    snprintf(out->account_id, sizeof(out->account_id), "%s",
        PQgetvalue(res, 0, 0));
    snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return PMS_OK;
}

pms_status_t
billing_account_delete(pms_db_t *db, const char *patient_id, int *deleted)
{
    const char  *params[1] = { patient_id };
    PGresult    *res;
    pms_status_t st;

    st = pms_db_exec(db, "billing_delete", 1, params, &res);
    if (st != PMS_OK) {
        return st;
    }
    *deleted = atoi(PQcmdTuples(res)) > 0;
    PQclear(res);
    return PMS_OK;
}

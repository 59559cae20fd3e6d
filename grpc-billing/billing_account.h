/*
 * billing_account.h -- the billing domain: what a CreateBillingAccount
 * request must hold, the idempotent creation of one account per patient in
 * the billing database, and its undoing.
 */
#ifndef BILLING_ACCOUNT_H
#define BILLING_ACCOUNT_H

#include "pms_db.h"
#include "pms_uuid.h"

typedef struct {
    char account_id[PMS_UUID_LEN + 1];
    char status[16];
} billing_account_t;

extern const pms_db_stmt_t billing_account_stmts[];
extern const size_t        billing_account_nstmts;

/*
 * Checks a request.  Returns NULL when it is acceptable, else a static
 * message for INVALID_ARGUMENT.  Pure: no I/O.
 */
const char *billing_validate(const char *patient_id, const char *name,
    const char *email);

/*
 * Creates the patient's account, or finds the one a previous call made.
 * PMS_OK with out filled, PMS_UNAVAILABLE when the database is down,
 * PMS_ERROR otherwise.
 */
pms_status_t billing_account_create(pms_db_t *db, const char *patient_id,
    const char *name, const char *email, billing_account_t *out);

/*
 * Deletes the patient's account, if there is one (*deleted says).  PMS_OK,
 * PMS_UNAVAILABLE when the database is down, PMS_ERROR otherwise.
 */
pms_status_t billing_account_delete(pms_db_t *db, const char *patient_id,
    int *deleted);

#endif

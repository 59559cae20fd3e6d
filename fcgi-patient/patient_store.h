/*
 * patient_store.h -- the patient SQL, as prepared statements over a
 * pms_db_t.  Each function runs one statement; transactions are opened
 * and closed by the caller (patient_api.c), which also owns the results.
 */
#ifndef PATIENT_STORE_H
#define PATIENT_STORE_H

#include "patient_model.h"
#include "pms_db.h"

extern const pms_db_stmt_t patient_store_stmts[];
extern const size_t patient_store_nstmts;

/* One row or PMS_NOT_FOUND. *res: caller PQclear()s. */
pms_status_t patient_store_get(pms_db_t *db, const char *id, int for_update,
    PGresult **res);

/*
 * A page of rows ordered by name; the last column of each row is the
 * total matching count.  like is an ILIKE pattern or NULL for all.
 */
pms_status_t patient_store_list(pms_db_t *db, const char *like, long limit,
    long offset, PGresult **res);

/* The number of rows matching like (NULL for all). */
pms_status_t patient_store_count(pms_db_t *db, const char *like, long *count);

/* Inserts; PMS_CONFLICT when the email is taken. One row in *res. */
pms_status_t patient_store_insert(pms_db_t *db, const char *id,
    const patient_input_t *in, const char *actor, PGresult **res);

/* Replaces the editable fields; PMS_NOT_FOUND / PMS_CONFLICT. */
pms_status_t patient_store_update(pms_db_t *db, const char *id,
    const patient_input_t *in, const char *actor, PGresult **res);

/* Records the billing account of a patient created in this transaction. */
pms_status_t patient_store_set_billing(pms_db_t *db, const char *id,
    const char *account_id, PGresult **res);

/* Deletes; the deleted row in *res, or PMS_NOT_FOUND. */
pms_status_t patient_store_delete(pms_db_t *db, const char *id,
    PGresult **res);

#endif

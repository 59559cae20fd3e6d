/*
 * patient_store.h -- the patient SQL, as prepared statements over a
 * pms_db_t.  Each function runs one statement; transactions are opened
 * and closed by the caller (patient_api.c), which also owns the results.
 */
#ifndef PATIENT_STORE_H
#define PATIENT_STORE_H

#include "patient_model.h"
#include "patient_outbox.h"
#include "patient_query.h"
#include "pms_db.h"

extern const pms_db_stmt_t patient_store_stmts[];
extern const size_t        patient_store_nstmts;

/* One row or PMS_NOT_FOUND. *res: caller PQclear()s. */
pms_status_t patient_store_get(pms_db_t *db, const char *id, int for_update,
    PGresult **res);

/*
 * Up to limit rows of the list lq describes (its filters, then its page
 * or cursor), in the order (lower(name), id); descending for a BEFORE or
 * LAST cursor, so the caller reads those backwards.  *res: caller
 * PQclear()s.
 */
pms_status_t patient_store_list(pms_db_t *db, const patient_list_query_t *lq,
    long limit, PGresult **res);

/* The number of rows matching lq's filters, at most cap (all when cap <= 0). */
pms_status_t patient_store_count(pms_db_t *db, const patient_list_query_t *lq,
    long cap, long *count);

/* The planner's estimate of the rows matching lq's filters. */
pms_status_t patient_store_estimate(pms_db_t *db,
    const patient_list_query_t *lq, long *count);

/*
 * The number of matches of lq for a page of shown rows (has_next: more
 * follow).  Exact (*exact 1) when that is cheap: the whole answer is on
 * this first page, or the planner expects at most 1,000 matches (then a
 * bounded count checks it), or lq asks for an accurate total; otherwise
 * the planner's estimate.
 */
pms_status_t patient_store_total(pms_db_t *db, const patient_list_query_t *lq,
    int shown, int has_next, long *total, int *exact);

/*
 * Inserts a patient (registered_date and account_id given, account_id may
 * be NULL) and its PATIENT_CREATED event, outside any transaction: one
 * statement, one commit.  PMS_CONFLICT when the email is taken.  *res has
 * the row, or no row when the id was already stored (a resent statement).
 */
pms_status_t patient_store_create(pms_db_t *db, const char *id,
    const patient_input_t *in, const char *registered_date,
    const char *account_id, const patient_actor_t *who,
    const patient_event_t *ev, PGresult **res);

/* Replaces the editable fields; PMS_NOT_FOUND / PMS_CONFLICT. */
pms_status_t patient_store_update(pms_db_t *db, const char *id,
    const patient_input_t *in, const patient_actor_t *who, PGresult **res);

/* Deletes (leaving a tombstone in the history); the deleted row in *res,
 * or PMS_NOT_FOUND. */
pms_status_t patient_store_delete(pms_db_t *db, const char *id,
    const patient_actor_t *who, PGresult **res);

/*
 * Each write above appends its version record to the audit history in
 * the same statement.  The records of a patient, newest first, below
 * version before, at most limit: the patient columns (NULL for a delete's
 * tombstone), then PATIENT_HCOL_*.  No rows: no history.
 */
pms_status_t patient_store_history(pms_db_t *db, const char *id, long before,
    long limit, PGresult **res);

/* One version record, or PMS_NOT_FOUND. */
pms_status_t patient_store_history_version(pms_db_t *db, const char *id,
    long version, PGresult **res);

#endif

/*
 * relay_outbox.h -- the relay's side of the patients database: reading the
 * lowest unpublished outbox rows, marking acknowledged rows published,
 * telling writers whether the relay sleeps (so their trigger notifies it)
 * and recording the analytics consumer's lag for /health.
 */
#ifndef RELAY_OUTBOX_H
#define RELAY_OUTBOX_H

#include <libpq-fe.h>

#include "pms_db.h"
#include "relay_flight.h"

/* Columns of a relay_outbox_pending() result. */
enum { RELAY_COL_SEQ, RELAY_COL_KEY, RELAY_COL_PAYLOAD, RELAY_COL_TRACE };

extern const pms_db_stmt_t relay_outbox_stmts[];
extern const size_t        relay_outbox_nstmts;

/*
 * The lowest `limit` unpublished rows in seq order.  On PMS_OK *res holds
 * them (seq, patient id, payload as bytea text); the caller PQclear()s it.
 */
pms_status_t relay_outbox_pending(pms_db_t *db, long limit, PGresult **res);

/*
 * Marks the rows in done published and empties it.  On failure done is
 * kept, to be marked next time (until then the rows may be re-sent, which
 * consumers dedupe by event id).
 */
pms_status_t relay_outbox_mark(pms_db_t *db, relay_seqs_t *done);

/* Records whether the relay sleeps (1: writers notify) or polls (0). */
pms_status_t relay_outbox_set_waiting(pms_db_t *db, int waiting);

/* How many rows are unpublished, and the age of the oldest in seconds. */
pms_status_t relay_outbox_backlog(pms_db_t *db, long long *rows,
    double *oldest_age);

/* Stores the consumer group's lag, read by the patient service's /health. */
pms_status_t relay_outbox_set_lag(pms_db_t *db, long long lag);

#endif

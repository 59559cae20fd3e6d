/*
 * analytics_store.h -- the analytics database: applying one decoded event
 * (idempotently, aggregates included), recording an undecodable message,
 * and reading the summary.  One pms_db_t per thread.
 */
#ifndef ANALYTICS_STORE_H
#define ANALYTICS_STORE_H

#include <stddef.h>
#include <jansson.h>

#include "pms_db.h"

extern const pms_db_stmt_t analytics_store_stmts[];
extern const size_t        analytics_store_nstmts;

typedef struct {
    const char *event_id;
    const char *patient_id;
    const char *event_type;
    const char *occurred_at;
    const char *registered_date; /* NULL when absent */
    int         partition;
    long long   offset;
} analytics_event_t;

/* Applies ev once: *applied is 1, or 0 when it was seen before. */
pms_status_t analytics_store_apply(pms_db_t *db, const analytics_event_t *ev,
    int *applied);

/*
 * Applies evs[0..n-1] in one statement (one commit), each once: *applied
 * is how many were new.  A data error in any of them fails them all
 * (nothing applied), and the caller goes one at a time.
 */
pms_status_t analytics_store_apply_batch(pms_db_t *db,
    const analytics_event_t *evs, size_t n, int *applied);

pms_status_t analytics_store_undecodable(pms_db_t *db, int partition,
    long long offset, const void *payload, size_t len, const char *error);

/* A new reference to the summary object, or NULL with the failure in *st. */
json_t *analytics_store_summary(pms_db_t *db, pms_status_t *st);

#endif

/*
 * relay_outbox.c -- every statement the relay runs on the patients
 * database.  The outbox table and its notify trigger are created by the
 * patient service's migrations (sql/0002, sql/0004).
 */
#include <stdio.h>
#include <stdlib.h>

#include "pms_log.h"
#include "relay_outbox.h"

const pms_db_stmt_t relay_outbox_stmts[] = {
    { "relay_pending",
        "SELECT seq, patient_id::text, payload, traceparent FROM outbox"
        " WHERE published_at IS NULL ORDER BY seq LIMIT $1::int" },
    { "relay_done",
        "UPDATE outbox SET published_at = now()"
        " WHERE seq = ANY($1::bigint[]) AND published_at IS NULL" },
    { "relay_wait",
        "UPDATE relay_wait SET waiting = $1::boolean WHERE id = 1" },
    { "relay_backlog",
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)),"
        " 0) FROM outbox WHERE published_at IS NULL" },
    { "relay_lag",
        "INSERT INTO relay_status (id, consumer_lag, measured_at)"
        " VALUES (1, $1::bigint, now()) ON CONFLICT (id) DO UPDATE"
        " SET consumer_lag = EXCLUDED.consumer_lag, measured_at = now()" },
};

const size_t relay_outbox_nstmts =
    sizeof(relay_outbox_stmts) / sizeof(relay_outbox_stmts[0]);

/* Runs a statement whose result is not needed. */
static pms_status_t
outbox_exec(pms_db_t *db, const char *stmt, const char *param)
{
    const char  *params[1] = { param };
    PGresult    *res;
    pms_status_t st;

    st = pms_db_exec(db, stmt, 1, params, &res);
    if (st == PMS_OK) {
        PQclear(res);
    }
    return st;
}

pms_status_t
relay_outbox_pending(pms_db_t *db, long limit, PGresult **res)
{
    char        slimit[24];
    const char *params[1] = { slimit };

    snprintf(slimit, sizeof(slimit), "%ld", limit);
    return pms_db_exec(db, "relay_pending", 1, params, res);
}

pms_status_t
relay_outbox_mark(pms_db_t *db, relay_seqs_t *done)
{
    char        *arr;
    pms_status_t st;

    if (done->n == 0) {
        return PMS_OK;
    }
    if ((arr = relay_seqs_array(done)) == NULL) {
        return PMS_ERROR;
    }
    st = outbox_exec(db, "relay_done", arr);
    free(arr);
    if (st == PMS_OK) {
        pms_debug("marked %zu events published", done->n);
        done->n = 0;
    }
    return st;
}

pms_status_t
relay_outbox_set_waiting(pms_db_t *db, int waiting)
{
    pms_status_t st = outbox_exec(db, "relay_wait", waiting ? "true" : "false");

    if (st == PMS_OK) {
        pms_debug("relay %s",
            waiting ? "asleep: writers notify" : "awake: polling");
    }
    return st;
}

pms_status_t
relay_outbox_backlog(pms_db_t *db, long long *rows, double *oldest_age)
{
    PGresult    *res;
    pms_status_t st;

    st = pms_db_exec(db, "relay_backlog", 0, NULL, &res);
    if (st != PMS_OK) {
        return st;
    }
    *rows = atoll(PQgetvalue(res, 0, 0));
    *oldest_age = atof(PQgetvalue(res, 0, 1));
    PQclear(res);
    return PMS_OK;
}

pms_status_t
relay_outbox_set_lag(pms_db_t *db, long long lag)
{
    char slag[24];

    snprintf(slag, sizeof(slag), "%lld", lag);
    return outbox_exec(db, "relay_lag", slag);
}

/*
 * pms_db.c -- connection upkeep for pms_db_t.  It owns the PGconn and
 * re-prepares statements after every reconnect, because a new session
 * has none.  It never retries a statement inside a transaction: the
 * caller decides what a lost transaction means.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pms_db.h"
#include "pms_log.h"
#include "pms_metrics.h"

struct pms_db_s {
    const char          *conninfo;
    const pms_db_stmt_t *stmts;
    size_t               nstmts;
    PGconn              *conn;
    int                  in_tx;
    int                  connected; /* once: later connects are reconnects */
};

static const pms_metric_t m_connects = PMS_COUNTER("db_connects_total",
    "database connections opened (first and reconnects) and failed attempts",
    "result", NULL);

pms_db_t *
pms_db_new(const char *conninfo, const pms_db_stmt_t *stmts, size_t nstmts)
{
    pms_db_t *db = calloc(1, sizeof(*db));

    if (db == NULL) {
        return NULL;
    }
    db->conninfo = conninfo;
    db->stmts = stmts;
    db->nstmts = nstmts;
    return db;
}

void
pms_db_free(pms_db_t *db)
{
    if (db == NULL) {
        return;
    }
    if (db->conn != NULL) {
        PQfinish(db->conn);
    }
    free(db);
}

static void
db_drop(pms_db_t *db)
{
    if (db->conn != NULL) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    db->in_tx = 0;
}

pms_status_t
pms_db_ensure(pms_db_t *db)
{
    size_t    i;
    PGresult *res;

    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
        return PMS_OK;
    }
    db_drop(db);
    db->conn = PQconnectdb(db->conninfo);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        pms_warn("database connection failed: %s", PQerrorMessage(db->conn));
        pms_metric_add(&m_connects, "failed", NULL, 1);
        db_drop(db);
        return PMS_UNAVAILABLE;
    }
    for (i = 0; i < db->nstmts; i++) {
        res = PQprepare(db->conn, db->stmts[i].name, db->stmts[i].sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            pms_error("cannot prepare %s: %s", db->stmts[i].name,
                PQresultErrorMessage(res));
            PQclear(res);
            db_drop(db);
            return PMS_UNAVAILABLE;
        }
        PQclear(res);
    }
    pms_metric_add(&m_connects, db->connected ? "reconnect" : "first", NULL, 1);
    db->connected = 1;
    return PMS_OK;
}

static pms_status_t
db_classify(pms_db_t *db, PGresult *res)
{
    const char *state, *constraint;

    switch (PQresultStatus(res)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
        return PMS_OK;
    default:
        break;
    }
    if (res == NULL || PQstatus(db->conn) != CONNECTION_OK) {
        return PMS_UNAVAILABLE;
    }
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state != NULL && strcmp(state, "23505") == 0) {
        return PMS_CONFLICT;
    }
    if (state != NULL && strcmp(state, "23514") == 0) {
        constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        pms_warn("check constraint %s refused the row",
            constraint != NULL ? constraint : "(unnamed)");
        return PMS_INVALID;
    }
    /* class 57 (operator intervention, e.g. admin shutdown), 08 (connection) */
    if (state != NULL
        && (strncmp(state, "57", 2) == 0 || strncmp(state, "08", 2) == 0)) {
        return PMS_UNAVAILABLE;
    }
    pms_error("statement failed: %s", PQresultErrorMessage(res));
    return PMS_ERROR;
}

/*
 * Runs a prepared statement (stmt) or a text (sql), once more after a
 * reconnect when the connection was lost outside a transaction.
 */
static pms_status_t
db_run(pms_db_t *db, const char *stmt, const char *sql, int nparams,
    const char *const *values, PGresult **res)
{
    pms_status_t st;
    int          attempt;

    *res = NULL;
    for (attempt = 0; attempt < 2; attempt++) {
        if (pms_db_ensure(db) != PMS_OK) {
            return PMS_UNAVAILABLE;
        }
        *res = stmt != NULL
            ? PQexecPrepared(db->conn, stmt, nparams, values, NULL, NULL, 0)
            : PQexecParams(db->conn, sql, nparams, NULL, values, NULL, NULL, 0);
        st = db_classify(db, *res);
        if (st != PMS_UNAVAILABLE) {
            if (st != PMS_OK) {
                PQclear(*res);
                *res = NULL;
            }
            return st;
        }
        PQclear(*res);
        *res = NULL;
        if (db->in_tx) {
            db_drop(db);
            return PMS_UNAVAILABLE;
        }
        pms_warn("database connection lost; reconnecting");
        db_drop(db);
    }
    return PMS_UNAVAILABLE;
}

pms_status_t
pms_db_exec(pms_db_t *db, const char *stmt, int nparams,
    const char *const *values, PGresult **res)
{
    return db_run(db, stmt, NULL, nparams, values, res);
}

pms_status_t
pms_db_query(pms_db_t *db, const char *sql, int nparams,
    const char *const *values, PGresult **res)
{
    return db_run(db, NULL, sql, nparams, values, res);
}

static pms_status_t
db_simple(pms_db_t *db, const char *sql)
{
    PGresult    *res;
    pms_status_t st;

    res = PQexec(db->conn, sql);
    st = db_classify(db, res);
    PQclear(res);
    if (st == PMS_UNAVAILABLE) {
        db_drop(db);
    }
    return st;
}

pms_status_t
pms_db_begin(pms_db_t *db)
{
    pms_status_t st;
    int          attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        if (pms_db_ensure(db) != PMS_OK) {
            return PMS_UNAVAILABLE;
        }
        st = db_simple(db, "BEGIN");
        if (st == PMS_OK) {
            db->in_tx = 1;
            return PMS_OK;
        }
        if (st != PMS_UNAVAILABLE) {
            return st;
        }
        /* BEGIN on a dead session changed nothing: safe to retry once */
    }
    return PMS_UNAVAILABLE;
}

pms_status_t
pms_db_commit(pms_db_t *db)
{
    pms_status_t st;

    if (db->conn == NULL) {
        return PMS_UNAVAILABLE;
    }
    st = db_simple(db, "COMMIT");
    db->in_tx = 0;
    return st;
}

void
pms_db_rollback(pms_db_t *db)
{
    if (db->conn != NULL && db->in_tx) {
        (void) db_simple(db, "ROLLBACK");
    }
    db->in_tx = 0;
}

PGconn *
pms_db_conn(pms_db_t *db)
{
    return db->conn;
}

pms_status_t
pms_db_command(PGconn *conn, const char *sql)
{
    PGresult    *res = PQexec(conn, sql);
    pms_status_t st = PMS_OK;

    if (PQresultStatus(res) != PGRES_COMMAND_OK
        && PQresultStatus(res) != PGRES_TUPLES_OK) {
        pms_error("command failed: %s", PQresultErrorMessage(res));
        st = PMS_ERROR;
    }
    PQclear(res);
    return st;
}

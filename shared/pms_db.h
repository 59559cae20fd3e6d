/*
 * pms_db.h -- a libpq connection with its prepared statements, opened
 * lazily (so after fork) and reopened transparently after the server
 * restarts.  One pms_db_t per process; not thread-safe.
 */
#ifndef PMS_DB_H
#define PMS_DB_H

#include <stddef.h>
#include <libpq-fe.h>

#include "pms_status.h"

typedef struct {
    const char *name; /* statement name, used by pms_db_exec() */
    const char *sql;  /* text with $1..$n */
} pms_db_stmt_t;

typedef struct pms_db_s pms_db_t;

/*
 * Creates a handle; does not connect.  conninfo and stmts are borrowed and
 * must outlive the handle.  NULL when out of memory.
 */
pms_db_t *pms_db_new(const char *conninfo, const pms_db_stmt_t *stmts,
    size_t nstmts);
void      pms_db_free(pms_db_t *db);

/*
 * Makes sure the connection is up and every statement is prepared,
 * reconnecting when it was lost.  PMS_OK or PMS_UNAVAILABLE.
 */
pms_status_t pms_db_ensure(pms_db_t *db);

/*
 * Runs a prepared statement.  On success *res is the result (the caller
 * PQclear()s it) and PMS_OK is returned.  A lost connection outside a
 * transaction is reopened and the statement retried once; inside one the
 * result is PMS_UNAVAILABLE.  SQLSTATE 23505 (unique) gives PMS_CONFLICT,
 * 23514 (check constraint) PMS_INVALID, other server errors PMS_ERROR.
 */
pms_status_t pms_db_exec(pms_db_t *db, const char *stmt, int nparams,
    const char *const *values, PGresult **res);

/*
 * Like pms_db_exec() for SQL built at run time: the text is parsed and
 * planned for these values on every call (a custom plan, so a search is
 * planned for the pattern it has).  sql is borrowed for the call.
 */
pms_status_t pms_db_query(pms_db_t *db, const char *sql, int nparams,
    const char *const *values, PGresult **res);

/* BEGIN / COMMIT / ROLLBACK, tracking whether a transaction is open. */
pms_status_t pms_db_begin(pms_db_t *db);
pms_status_t pms_db_commit(pms_db_t *db);
void         pms_db_rollback(pms_db_t *db);

/* The live connection (NULL when down), e.g. for LISTEN. Borrowed. */
PGconn *pms_db_conn(pms_db_t *db);

/* Runs a plain command on a connection; PMS_OK or PMS_ERROR (logged). */
pms_status_t pms_db_command(PGconn *conn, const char *sql);

#endif

/*
 * pms_migrate.h -- applies a service's numbered SQL migrations
 * (NNNN_description.sql in one folder) in order, each in its own
 * transaction, under a PostgreSQL advisory lock, recording each applied
 * version in schema_migrations.  Safe to run from several processes.
 */
#ifndef PMS_MIGRATE_H
#define PMS_MIGRATE_H

#include <stddef.h>
#include <libpq-fe.h>

/*
 * Applies what is missing.  Returns the number applied (>= 0), or -1 with
 * err filled.  The connection is left outside any transaction.
 */
int pms_migrate_run(PGconn *conn, const char *dir, char *err, size_t errlen);

/*
 * Connects to conninfo, applies what is missing from dir, disconnects
 * (so it is safe before fork).  Logs the outcome.  0 or -1.
 */
int pms_migrate_apply(const char *conninfo, const char *dir);

/* 1 when name looks like a migration file (digits, '_', ..., ".sql"). */
int pms_migrate_is_file(const char *name);

#endif

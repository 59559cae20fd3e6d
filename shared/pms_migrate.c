/*
 * pms_migrate.c -- the migrations runner.  It owns schema_migrations and
 * the advisory lock key; it never edits or reorders a migration that has
 * been applied (versions are compared by name, not by content).
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pms_log.h"
#include "pms_migrate.h"

#define MIGRATE_LOCK_KEY                                                       \
    "7316410201" /* arbitrary, fixed for all pms services */

int
pms_migrate_is_file(const char *name)
{
    size_t len = strlen(name), i = 0;

    while (isdigit((unsigned char) name[i])) {
        i++;
    }
    return i >= 1 && name[i] == '_' && len > 4
        && strcmp(name + len - 4, ".sql") == 0;
}

static int
migrate_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *
migrate_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long  len;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(len + 1)) != NULL) {
        if (fread(buf, 1, len, f) != (size_t) len) {
            free(buf);
            buf = NULL;
        } else {
            buf[len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static int
migrate_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    int       ok = PQresultStatus(res) == PGRES_COMMAND_OK
        || PQresultStatus(res) == PGRES_TUPLES_OK;

    if (!ok) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return ok ? 0 : -1;
}

static int
migrate_applied(PGconn *conn, const char *version)
{
    const char *params[1] = { version };
    PGresult   *res;
    int         found;

    res =
        PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE version = $1",
            1, NULL, params, NULL, NULL, 0);
    found = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) > 0 : -1;
    PQclear(res);
    return found;
}

static int
migrate_one(PGconn *conn, const char *dir, const char *name, char *err,
    size_t errlen)
{
    char        path[4096], version[256];
    const char *params[1] = { version };
    char       *sql;
    PGresult   *res;
    int         rc;

    snprintf(version, sizeof(version), "%.*s", (int) (strlen(name) - 4), name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    sql = migrate_read(path);
    if (sql == NULL) {
        snprintf(err, errlen, "cannot read %s", path);
        return -1;
    }
    if (migrate_exec(conn, "BEGIN", err, errlen) != 0) {
        free(sql);
        return -1;
    }
    rc = migrate_exec(conn, sql, err, errlen);
    free(sql);
    if (rc == 0) {
        res = PQexecParams(conn,
            "INSERT INTO schema_migrations (version) VALUES ($1)", 1, NULL,
            params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "%s", PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
    }
    if (rc != 0) {
        char   ignored[8];
        size_t len = strlen(err);

        snprintf(err + len, errlen - len, " (in %s)", name);
        (void) migrate_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
        return -1;
    }
    if (migrate_exec(conn, "COMMIT", err, errlen) != 0) {
        return -1;
    }
    pms_info("applied migration %s", version);
    return 0;
}

int
pms_migrate_run(PGconn *conn, const char *dir, char *err, size_t errlen)
{
    DIR           *d;
    struct dirent *de;
    char         **names = NULL, **grown, unlock_err[8];
    size_t         n = 0, cap = 0, i;
    int            applied = 0, rc = 0, found;

    d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot open migrations folder %s", dir);
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (!pms_migrate_is_file(de->d_name)) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                rc = -1;
                break;
            }
            names = grown;
        }
        if ((names[n] = strdup(de->d_name)) == NULL) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory listing %s", dir);
        goto done;
    }
    qsort(names, n, sizeof(*names), migrate_cmp);

    if (migrate_exec(conn, "SET client_min_messages = warning", err, errlen)
            != 0
        || migrate_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
               err, errlen)
            != 0
        || migrate_exec(conn,
               "CREATE TABLE IF NOT EXISTS schema_migrations ("
               " version text PRIMARY KEY,"
               " applied_at timestamptz NOT NULL DEFAULT now())",
               err, errlen)
            != 0) {
        rc = -1;
        goto unlock;
    }
    for (i = 0; i < n; i++) {
        char version[256];

        snprintf(version, sizeof(version), "%.*s", (int) (strlen(names[i]) - 4),
            names[i]);
        found = migrate_applied(conn, version);
        if (found < 0) {
            snprintf(err, errlen, "cannot read schema_migrations: %s",
                PQerrorMessage(conn));
            rc = -1;
            break;
        }
        if (found) {
            continue;
        }
        if (migrate_one(conn, dir, names[i], err, errlen) != 0) {
            rc = -1;
            break;
        }
        applied++;
    }
unlock:
    (void) migrate_exec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")",
        unlock_err, sizeof(unlock_err));
done:
    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return rc == 0 ? applied : -1;
}

int
pms_migrate_apply(const char *conninfo, const char *dir)
{
    PGconn *conn = PQconnectdb(conninfo);
    char    err[1024];
    int     applied;

    if (PQstatus(conn) != CONNECTION_OK) {
        pms_error("cannot connect to apply migrations: %s",
            PQerrorMessage(conn));
        PQfinish(conn);
        return -1;
    }
    applied = pms_migrate_run(conn, dir, err, sizeof(err));
    PQfinish(conn);
    if (applied < 0) {
        pms_error("migrations failed: %s", err);
        return -1;
    }
    pms_info("schema up to date (%d migrations applied now)", applied);
    return 0;
}

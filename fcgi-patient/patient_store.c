/*
 * patient_store.c -- every SQL statement the patient service runs, in one
 * place, prepared once per connection.  Dates and timestamps are
 * formatted by PostgreSQL so the API never depends on DateStyle.
 */
#include <stdio.h>
#include <stdlib.h>

#include "patient_store.h"

#define PATIENT_COLS \
    "id::text, name, email, address," \
    " to_char(date_of_birth, 'YYYY-MM-DD')," \
    " to_char(registered_date, 'YYYY-MM-DD')," \
    " billing_account_id," \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')," \
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')," \
    " version::text, created_by, updated_by"

#define PATIENT_MATCH "($1::text IS NULL OR name ILIKE $1 OR email ILIKE $1)"

const pms_db_stmt_t patient_store_stmts[] = {
    { "patient_get",
      "SELECT " PATIENT_COLS " FROM patient WHERE id = $1::uuid" },
    { "patient_get_locked",
      "SELECT " PATIENT_COLS " FROM patient WHERE id = $1::uuid FOR UPDATE" },
    /*
     * The unfiltered page skips rows in an index-only scan of
     * patient_name_order and fetches only the page's rows; the count is a
     * sub-select so the whole answer is one round trip.
     */
    { "patient_list_all",
      "SELECT " PATIENT_COLS ", (SELECT count(*) FROM patient)"
      " FROM patient JOIN (SELECT id FROM patient"
      " ORDER BY lower(name), id LIMIT $1::int OFFSET $2::bigint) page"
      " USING (id) ORDER BY lower(name), id" },
    { "patient_list_match",
      "SELECT " PATIENT_COLS ", count(*) OVER () FROM patient"
      " WHERE " PATIENT_MATCH
      " ORDER BY lower(name), id LIMIT $2::int OFFSET $3::bigint" },
    { "patient_count",
      "SELECT count(*) FROM patient WHERE " PATIENT_MATCH },
    { "patient_insert",
      "INSERT INTO patient (id, name, email, address, date_of_birth,"
      " registered_date, created_by, updated_by)"
      " VALUES ($1::uuid, $2, $3, $4, $5::date,"
      " COALESCE($6::date, (now() AT TIME ZONE 'UTC')::date), $7, $7)"
      " RETURNING " PATIENT_COLS },
    { "patient_update",
      "UPDATE patient SET name = $2, email = $3, address = $4,"
      " date_of_birth = $5::date,"
      " registered_date = COALESCE($6::date, registered_date),"
      " updated_by = $7, version = version + 1, updated_at = now()"
      " WHERE id = $1::uuid RETURNING " PATIENT_COLS },
    { "patient_set_billing",
      "UPDATE patient SET billing_account_id = $2 WHERE id = $1::uuid"
      " RETURNING " PATIENT_COLS },
    { "outbox_insert",
      "INSERT INTO outbox (event_id, patient_id, event_type, payload)"
      " VALUES ($1::uuid, $2::uuid, $3, $4::bytea)" },
    { "outbox_backlog",
      "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL),"
      " (SELECT consumer_lag FROM relay_status WHERE id = 1),"
      " (SELECT extract(epoch FROM now() - measured_at)::int"
      "  FROM relay_status WHERE id = 1)" },
    { "patient_delete",
      "DELETE FROM patient WHERE id = $1::uuid RETURNING " PATIENT_COLS },
};

const size_t patient_store_nstmts =
    sizeof(patient_store_stmts) / sizeof(patient_store_stmts[0]);

static pms_status_t
store_one_row(pms_status_t st, PGresult **res)
{
    if (st == PMS_OK && PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        return PMS_NOT_FOUND;
    }
    return st;
}

pms_status_t
patient_store_get(pms_db_t *db, const char *id, int for_update,
    PGresult **res)
{
    const char *params[1] = { id };

    return store_one_row(pms_db_exec(db,
        for_update ? "patient_get_locked" : "patient_get", 1, params, res), res);
}

pms_status_t
patient_store_list(pms_db_t *db, const char *like, long limit, long offset,
    PGresult **res)
{
    char        slimit[24], soffset[24];
    const char *params[3] = { like, slimit, soffset };

    snprintf(slimit, sizeof(slimit), "%ld", limit);
    snprintf(soffset, sizeof(soffset), "%ld", offset);
    if (like == NULL) {
        return pms_db_exec(db, "patient_list_all", 2, params + 1, res);
    }
    return pms_db_exec(db, "patient_list_match", 3, params, res);
}

pms_status_t
patient_store_count(pms_db_t *db, const char *like, long *count)
{
    const char  *params[1] = { like };
    PGresult    *res;
    pms_status_t st;

    st = pms_db_exec(db, "patient_count", 1, params, &res);
    if (st == PMS_OK) {
        *count = atol(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return st;
}

pms_status_t
patient_store_insert(pms_db_t *db, const char *id, const patient_input_t *in,
    const char *actor, PGresult **res)
{
    const char *params[7] = { id, in->name, in->email, in->address,
                              in->date_of_birth, in->registered_date, actor };

    return pms_db_exec(db, "patient_insert", 7, params, res);
}

pms_status_t
patient_store_update(pms_db_t *db, const char *id, const patient_input_t *in,
    const char *actor, PGresult **res)
{
    const char *params[7] = { id, in->name, in->email, in->address,
                              in->date_of_birth, in->registered_date, actor };

    return store_one_row(pms_db_exec(db, "patient_update", 7, params, res), res);
}

pms_status_t
patient_store_set_billing(pms_db_t *db, const char *id,
    const char *account_id, PGresult **res)
{
    const char *params[2] = { id, account_id };

    return store_one_row(pms_db_exec(db, "patient_set_billing", 2, params,
        res), res);
}

pms_status_t
patient_store_delete(pms_db_t *db, const char *id, PGresult **res)
{
    const char *params[1] = { id };

    return store_one_row(pms_db_exec(db, "patient_delete", 1, params, res), res);
}

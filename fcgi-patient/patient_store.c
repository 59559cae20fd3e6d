/*
 * patient_store.c -- every SQL statement the patient service runs, in one
 * place.  Fixed statements are prepared once per connection; a list is
 * built from fixed fragments for its filters and planned for its values
 * (so a search uses the trigram indexes when its pattern is selective).
 * Dates and timestamps are formatted by PostgreSQL so the API never
 * depends on DateStyle.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "patient_store.h"
#include "pms_log.h"

#define PATIENT_COLS                                                                \
    "id::text, name, email, address,"                                               \
    " to_char(date_of_birth, 'YYYY-MM-DD'),"                                        \
    " to_char(registered_date, 'YYYY-MM-DD'),"                                      \
    " billing_account_id,"                                                          \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')," \
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')," \
    " version::text, created_by, updated_by"

/* The audit history (sql/0008): its insert (the hash is the trigger's),
 * and a version record as the patient columns, then HISTORY_COLS. */
#define HISTORY_INSERT                                                         \
    "INSERT INTO patient_history (patient_id, version, operation, resource,"   \
    " actor_subject, actor_client, request_id, hash)"
#define HISTORY_FROM                                                           \
    "SELECT r.*, h.version AS hv, h.operation AS hop, h.changed_at AS hat,"    \
    " h.actor_subject AS hsub, h.actor_client AS hcli, h.request_id AS hreq"   \
    " FROM patient_history h LEFT JOIN LATERAL"                                \
    " jsonb_populate_record(NULL::patient, h.resource) r ON true"
#define HISTORY_COLS                                                           \
    ", hv::text, hop,"                                                         \
    " to_char(hat AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"   \
    " hsub, hcli, hreq"

const pms_db_stmt_t patient_store_stmts[] = {
    { "patient_get",
        "SELECT " PATIENT_COLS " FROM patient WHERE id = $1::uuid" },
    { "patient_get_locked",
        "SELECT " PATIENT_COLS " FROM patient WHERE id = $1::uuid FOR UPDATE" },
    /*
     * A create in one statement, so one round trip and one commit: the
     * row with its billing account, and its outbox event.  ON CONFLICT
     * (id): when a lost connection makes pms_db_query() send it again
     * after the first one committed, nothing is added twice and no row
     * comes back (the caller then reads it).  An email taken by another
     * patient still fails with 23505.
     */
    { "patient_create",
        "WITH p AS (INSERT INTO patient (id, name, email, address,"
        " date_of_birth, registered_date, billing_account_id, created_by,"
        " updated_by) VALUES ($1::uuid, $2, $3, $4, $5::date, $6::date, $7,"
        " $8, $8) ON CONFLICT (id) DO NOTHING RETURNING patient.*),"
        " o AS (INSERT INTO outbox (event_id, patient_id, event_type, payload,"
        " traceparent) SELECT $9::uuid, $1::uuid, 'PATIENT_CREATED',"
        " $10::bytea, $11 FROM p),"
        " h AS (" HISTORY_INSERT " SELECT p.id, p.version, 'create',"
        " to_jsonb(p) - 'search', $12, $8, $13, ''::bytea FROM p)"
        " SELECT " PATIENT_COLS " FROM p" },
    { "patient_update",
        "WITH u AS (UPDATE patient SET name = $2, email = $3, address = $4,"
        " date_of_birth = $5::date,"
        " registered_date = COALESCE($6::date, registered_date),"
        " updated_by = $7, version = version + 1, updated_at = now()"
        " WHERE id = $1::uuid RETURNING patient.*),"
        " h AS (" HISTORY_INSERT " SELECT u.id, u.version, 'update',"
        " to_jsonb(u) - 'search', $8, $7, $9, ''::bytea FROM u)"
        " SELECT " PATIENT_COLS " FROM u" },
    { "outbox_insert",
        "INSERT INTO outbox (event_id, patient_id, event_type, payload,"
        " traceparent) VALUES ($1::uuid, $2::uuid, $3, $4::bytea, $5)" },
    { "outbox_backlog",
        "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL),"
        " (SELECT consumer_lag FROM relay_status WHERE id = 1),"
        " (SELECT extract(epoch FROM now() - measured_at)::int"
        "  FROM relay_status WHERE id = 1)" },
    { "patient_delete",
        "WITH d AS (DELETE FROM patient WHERE id = $1::uuid RETURNING patient.*),"
        " h AS (" HISTORY_INSERT " SELECT d.id, d.version + 1, 'delete', NULL,"
        " $2, $3, $4, ''::bytea FROM d)"
        " SELECT " PATIENT_COLS " FROM d" },
    /* newest first, below version $2; the patient columns are NULL for a
     * tombstone */
    { "patient_history",
        "SELECT " PATIENT_COLS HISTORY_COLS " FROM (" HISTORY_FROM
        " WHERE h.patient_id = $1::uuid AND h.version < $2::int"
        " ORDER BY h.version DESC LIMIT $3::int) s ORDER BY hv DESC" },
    { "patient_history_version",
        "SELECT " PATIENT_COLS HISTORY_COLS " FROM (" HISTORY_FROM
        " WHERE h.patient_id = $1::uuid AND h.version = $2::int) s" },
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
patient_store_get(pms_db_t *db, const char *id, int for_update, PGresult **res)
{
    const char *params[1] = { id };

    return store_one_row(pms_db_exec(db,
                             for_update ? "patient_get_locked" : "patient_get",
                             1, params, res),
        res);
}

/* A statement built from fragments, and the values of its $n. */
typedef struct {
    char        sql[1536];
    size_t      len;
    const char *values[12];
    int         n;
    char        like[PATIENT_Q_MAX * 4 * 2 + 3];
    char        name_like[PATIENT_Q_MAX * 4 * 2 + 5];
} store_sql_t;

static void
store_add(store_sql_t *q, const char *fmt, ...)
{
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(q->sql + q->len, sizeof(q->sql) - q->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        q->len += (size_t) n; /* fragments are fixed: always fits */
    }
}

/* Binds value to the next $n; returns n. */
static int
store_bind(store_sql_t *q, const char *value)
{
    q->values[q->n++] = value;
    return q->n;
}

/* A substring search lists in id order (see store_order). */
static int
store_by_id(const patient_list_query_t *lq)
{
    return lq->q[0] != '\0' || lq->name[0] != '\0';
}

/*
 * The filters only FHIR search sets: a name substring, a birth date
 * range, an id.  The name is the part of search before its U+001F, so a
 * match in the name is "%fragment%<US>%": one LIKE on the trigram index,
 * planned like the JSON API's q (a second condition on lower(name) made
 * the planner expect few rows and sort a large bitmap instead).
 */
static void
store_where_fhir(store_sql_t *q, const patient_list_query_t *lq,
    const char **sep)
{
    int i;

    if (lq->name[0] != '\0') {
        patient_like_pattern(lq->name, q->name_like);
        strcat(q->name_like, "\x1f%");
        i = store_bind(q, q->name_like);
        store_add(q, "%ssearch LIKE lower($%d)", *sep, i);
        *sep = " AND ";
    }
    if (lq->birth_ge[0] != '\0') {
        store_add(q, "%sdate_of_birth >= $%d::date", *sep,
            store_bind(q, lq->birth_ge));
        *sep = " AND ";
    }
    if (lq->birth_le[0] != '\0') {
        store_add(q, "%sdate_of_birth <= $%d::date", *sep,
            store_bind(q, lq->birth_le));
        *sep = " AND ";
    }
    if (lq->id[0] != '\0') {
        store_add(q, "%spatient.id = $%d::uuid", *sep, store_bind(q, lq->id));
        *sep = " AND ";
    }
}

/*
 * The WHERE clause of lq's filters and, when keyset is set, of its cursor
 * position.  Every value is a parameter; nothing from the client is ever
 * part of the text.
 */
static void
store_where(store_sql_t *q, const patient_list_query_t *lq, int keyset)
{
    const char *sep = " WHERE ";
    int         i;

    if (lq->q[0] != '\0') {
        patient_like_pattern(lq->q, q->like);
        i = store_bind(q, q->like);
        store_add(q, "%ssearch LIKE lower($%d)", sep, i);
        sep = " AND ";
    }
    if (lq->email[0] != '\0') {
        store_add(q, "%slower(email) = lower($%d)", sep,
            store_bind(q, lq->email));
        sep = " AND ";
    }
    if (lq->birth_date[0] != '\0') {
        store_add(q, "%sdate_of_birth = $%d::date", sep,
            store_bind(q, lq->birth_date));
        sep = " AND ";
    }
    store_where_fhir(q, lq, &sep);
    if (keyset
        && (lq->cursor.dir == PATIENT_CURSOR_AFTER
            || lq->cursor.dir == PATIENT_CURSOR_BEFORE)) {
        const char *op = lq->cursor.dir == PATIENT_CURSOR_AFTER ? ">" : "<";

        if (store_by_id(lq)) {
            store_add(q, "%spatient.id %s $%d::uuid", sep, op,
                store_bind(q, lq->cursor.id));
        } else {
            i = store_bind(q, lq->cursor.name);
            store_add(q,
                "%s(lower(patient.name), patient.id) %s"
                " (lower($%d), $%d::uuid)",
                sep, op, i, store_bind(q, lq->cursor.id));
        }
    }
}

/*
 * The list order: by name, or by id for a q search.  A common fragment
 * clusters in name order ("Zoë" sits at the end), so walking the name
 * index to the first matches could pass most of the table; in id order
 * (random UUIDs) the matches are spread evenly, so a page costs about
 * size / density rows at any table size, and a rare fragment is a short
 * trigram-index lookup and sort.  patient.id, not id: that would be the
 * id::text output column.
 */
static void
store_order(store_sql_t *q, const patient_list_query_t *lq)
{
    const char *dir = lq->cursor.dir == PATIENT_CURSOR_BEFORE
            || lq->cursor.dir == PATIENT_CURSOR_LAST
        ? " DESC"
        : "";

    if (store_by_id(lq)) {
        store_add(q, " ORDER BY patient.id%s", dir);
    } else {
        store_add(q, " ORDER BY lower(patient.name)%s, patient.id%s", dir, dir);
    }
}

pms_status_t
patient_store_list(pms_db_t *db, const patient_list_query_t *lq, long limit,
    PGresult **res)
{
    store_sql_t q;
    char        slimit[24], soffset[24];
    int         offset = lq->cursor.dir == PATIENT_CURSOR_NONE && lq->page > 1;

    q.len = 0;
    q.n = 0;
    snprintf(slimit, sizeof(slimit), "%ld", limit);
    store_add(&q, "SELECT " PATIENT_COLS " FROM patient");
    if (offset) {
        /* skip rows in the index alone; fetch only the page's rows */
        store_add(&q, " JOIN (SELECT patient.id FROM patient");
    }
    store_where(&q, lq, 1);
    store_order(&q, lq);
    store_add(&q, " LIMIT $%d::int", store_bind(&q, slimit));
    if (offset) {
        snprintf(soffset, sizeof(soffset), "%ld", (lq->page - 1) * lq->size);
        store_add(&q, " OFFSET $%d::bigint) page USING (id)",
            store_bind(&q, soffset));
        store_order(&q, lq);
    }
    return pms_db_query(db, q.sql, q.n, q.values, res);
}

pms_status_t
patient_store_count(pms_db_t *db, const patient_list_query_t *lq, long cap,
    long *count)
{
    store_sql_t  q;
    char         scap[24];
    PGresult    *res;
    pms_status_t st;

    q.len = 0;
    q.n = 0;
    store_add(&q, "SELECT count(*) FROM (SELECT 1 FROM patient");
    store_where(&q, lq, 0);
    snprintf(scap, sizeof(scap), "%ld", cap);
    store_add(&q, " LIMIT $%d::bigint) m", /* LIMIT NULL: all rows */
        store_bind(&q, cap > 0 ? scap : NULL));
    st = pms_db_query(db, q.sql, q.n, q.values, &res);
    if (st == PMS_OK) {
        *count = atol(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return st;
}

pms_status_t
patient_store_estimate(pms_db_t *db, const patient_list_query_t *lq,
    long *count)
{
    store_sql_t  q;
    PGresult    *res;
    pms_status_t st;
    json_t      *plan;
    double       rows;

    q.len = 0;
    q.n = 0;
    store_add(&q, "EXPLAIN (FORMAT JSON) SELECT 1 FROM patient");
    store_where(&q, lq, 0);
    st = pms_db_query(db, q.sql, q.n, q.values, &res);
    if (st != PMS_OK) {
        return st;
    }
    plan = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    rows = -1;
    if (json_is_number(
            json_object_get(json_object_get(json_array_get(plan, 0), "Plan"),
                "Plan Rows"))) {
        rows = json_number_value(
            json_object_get(json_object_get(json_array_get(plan, 0), "Plan"),
                "Plan Rows"));
    }
    json_decref(plan);
    if (rows < 0 || rows > 1e12) {
        pms_error("EXPLAIN gave no row estimate");
        return PMS_ERROR;
    }
    *count = (long) rows;
    return PMS_OK;
}

#define PATIENT_EXACT_MAX 1000

pms_status_t
patient_store_total(pms_db_t *db, const patient_list_query_t *lq, int shown,
    int has_next, long *total, int *exact)
{
    long         estimate = 0;
    pms_status_t st = PMS_OK;

    *exact = 1;
    if (lq->total == PATIENT_TOTAL_ACCURATE) {
        return patient_store_count(db, lq, -1, total);
    }
    if (lq->cursor.dir == PATIENT_CURSOR_NONE && lq->page == 1 && !has_next) {
        *total = shown;
        return PMS_OK;
    }
    if ((st = patient_store_estimate(db, lq, &estimate)) != PMS_OK) {
        return st;
    }
    *total = estimate;
    *exact = 0;
    if (estimate <= PATIENT_EXACT_MAX) {
        st = patient_store_count(db, lq, PATIENT_EXACT_MAX + 1, total);
        *exact = *total <= PATIENT_EXACT_MAX;
        *total = *exact ? *total : (estimate > *total ? estimate : *total);
    }
    return st;
}

pms_status_t
patient_store_create(pms_db_t *db, const char *id, const patient_input_t *in,
    const char *registered_date, const char *account_id,
    const patient_actor_t *who, const patient_event_t *ev, PGresult **res)
{
    const char *params[13] = { id, in->name, in->email, in->address,
        in->date_of_birth, registered_date, account_id, who->client,
        ev->event_id, ev->payload, patient_event_trace(ev), who->subject,
        who->request_id };

    return pms_db_exec(db, "patient_create", 13, params, res);
}

pms_status_t
patient_store_update(pms_db_t *db, const char *id, const patient_input_t *in,
    const patient_actor_t *who, PGresult **res)
{
    const char *params[9] = { id, in->name, in->email, in->address,
        in->date_of_birth, in->registered_date, who->client, who->subject,
        who->request_id };

    return store_one_row(pms_db_exec(db, "patient_update", 9, params, res),
        res);
}

pms_status_t
patient_store_delete(pms_db_t *db, const char *id, const patient_actor_t *who,
    PGresult **res)
{
    const char *params[4] = { id, who->subject, who->client, who->request_id };

    return store_one_row(pms_db_exec(db, "patient_delete", 4, params, res),
        res);
}

pms_status_t
patient_store_history(pms_db_t *db, const char *id, long before, long limit,
    PGresult **res)
{
    char        sbefore[24], slimit[24];
    const char *params[3] = { id, sbefore, slimit };

    snprintf(sbefore, sizeof(sbefore), "%ld", before);
    snprintf(slimit, sizeof(slimit), "%ld", limit);
    return pms_db_exec(db, "patient_history", 3, params, res);
}

pms_status_t
patient_store_history_version(pms_db_t *db, const char *id, long version,
    PGresult **res)
{
    char        sversion[24];
    const char *params[2] = { id, sversion };

    snprintf(sversion, sizeof(sversion), "%ld", version);
    return store_one_row(pms_db_exec(db, "patient_history_version", 2, params,
                             res),
        res);
}

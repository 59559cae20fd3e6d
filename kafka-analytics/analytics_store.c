/*
 * analytics_store.c -- every SQL statement of pms-analytics.  The apply
 * statement is one INSERT ... ON CONFLICT DO NOTHING whose RETURNING feeds
 * the aggregate updates (data-modifying CTEs): a duplicate delivery
 * inserts nothing and therefore counts nothing.  The batch statement does
 * the same for many events at once, from a JSON array (one commit).
 */
#include <stdio.h>
#include <stdlib.h>

#include "analytics_store.h"

const pms_db_stmt_t analytics_store_stmts[] = {
    { "analytics_apply",
        "WITH ins AS ("
        "  INSERT INTO event (event_id, patient_id, event_type, occurred_at,"
        "   registered_date, kafka_partition, kafka_offset)"
        "  VALUES ($1, $2, $3, $4, $5::date, $6::int, $7::bigint)"
        "  ON CONFLICT (event_id) DO NOTHING"
        "  RETURNING event_type, registered_date, patient_id),"
        " t AS (INSERT INTO events_by_type SELECT event_type, 1 FROM ins"
        "  ON CONFLICT (event_type) DO UPDATE"
        "  SET count = events_by_type.count + 1 RETURNING 1),"
        " d AS (INSERT INTO registrations_by_day SELECT registered_date, 1 FROM ins"
        "  WHERE event_type = 'PATIENT_CREATED' AND registered_date IS NOT NULL"
        "  ON CONFLICT (day) DO UPDATE"
        "  SET count = registrations_by_day.count + 1 RETURNING 1),"
        " r AS (INSERT INTO registered_patient SELECT patient_id FROM ins"
        "  WHERE event_type = 'PATIENT_CREATED' ON CONFLICT DO NOTHING RETURNING 1),"
        " x AS (DELETE FROM registered_patient WHERE patient_id IN"
        "  (SELECT patient_id FROM ins WHERE event_type = 'PATIENT_DELETED')"
        "  RETURNING 1)"
        " SELECT count(*) FROM ins" },
    { "analytics_apply_batch",
        "WITH b AS ("
        "  SELECT DISTINCT ON (event_id) * FROM jsonb_to_recordset($1::jsonb)"
        "  AS x(event_id text, patient_id text, event_type text, occurred_at text,"
        "   registered_date date, kafka_partition int, kafka_offset bigint)"
        "  ORDER BY event_id, kafka_offset),"
        " ins AS ("
        "  INSERT INTO event (event_id, patient_id, event_type, occurred_at,"
        "   registered_date, kafka_partition, kafka_offset)"
        "  SELECT event_id, patient_id, event_type, occurred_at, registered_date,"
        "   kafka_partition, kafka_offset FROM b"
        "  ON CONFLICT (event_id) DO NOTHING"
        "  RETURNING event_type, registered_date, patient_id),"
        " t AS (INSERT INTO events_by_type"
        "  SELECT event_type, count(*) FROM ins GROUP BY event_type"
        "  ON CONFLICT (event_type) DO UPDATE"
        "  SET count = events_by_type.count + excluded.count RETURNING 1),"
        " d AS (INSERT INTO registrations_by_day"
        "  SELECT registered_date, count(*) FROM ins"
        "  WHERE event_type = 'PATIENT_CREATED' AND registered_date IS NOT NULL"
        "  GROUP BY registered_date ON CONFLICT (day) DO UPDATE"
        "  SET count = registrations_by_day.count + excluded.count RETURNING 1),"
        /* sibling CTEs share one snapshot: a patient created and deleted in
       * the same batch is never inserted, so the DELETE need not see it */
        " r AS (INSERT INTO registered_patient SELECT DISTINCT patient_id FROM ins"
        "  WHERE event_type = 'PATIENT_CREATED' AND patient_id NOT IN"
        "  (SELECT patient_id FROM ins WHERE event_type = 'PATIENT_DELETED')"
        "  ON CONFLICT DO NOTHING RETURNING 1),"
        " x AS (DELETE FROM registered_patient WHERE patient_id IN"
        "  (SELECT patient_id FROM ins WHERE event_type = 'PATIENT_DELETED')"
        "  RETURNING 1)"
        " SELECT count(*) FROM ins" },
    { "analytics_undecodable",
        "INSERT INTO undecodable (kafka_partition, kafka_offset, payload, error)"
        " VALUES ($1::int, $2::bigint, $3::bytea, $4) ON CONFLICT DO NOTHING" },
    { "analytics_summary",
        "SELECT (SELECT coalesce(json_object_agg(event_type, count), '{}')"
        "        FROM events_by_type),"
        " (SELECT coalesce(json_object_agg(day, count ORDER BY day), '{}')"
        "        FROM registrations_by_day),"
        " (SELECT count(*) FROM registered_patient),"
        " (SELECT count(*) FROM event),"
        " (SELECT count(*) FROM undecodable)" },
};

const size_t analytics_store_nstmts =
    sizeof(analytics_store_stmts) / sizeof(analytics_store_stmts[0]);

pms_status_t
analytics_store_apply(pms_db_t *db, const analytics_event_t *ev, int *applied)
{
    char         spart[16], soff[24];
    const char  *params[7] = { ev->event_id, ev->patient_id, ev->event_type,
         ev->occurred_at, ev->registered_date, spart, soff };
    PGresult    *res;
    pms_status_t st;

    snprintf(spart, sizeof(spart), "%d", ev->partition);
    snprintf(soff, sizeof(soff), "%lld", ev->offset);
    st = pms_db_exec(db, "analytics_apply", 7, params, &res);
    if (st == PMS_OK) {
        *applied = atoi(PQgetvalue(res, 0, 0)) > 0;
        PQclear(res);
    }
    return st;
}

/* One event as a member of the batch statement's JSON array. */
static json_t *
store_event_json(const analytics_event_t *ev)
{
    return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:i, s:I}", "event_id",
        ev->event_id, "patient_id", ev->patient_id, "event_type",
        ev->event_type, "occurred_at", ev->occurred_at, "registered_date",
        ev->registered_date, "kafka_partition", ev->partition, "kafka_offset",
        (json_int_t) ev->offset);
}

pms_status_t
analytics_store_apply_batch(pms_db_t *db, const analytics_event_t *evs,
    size_t n, int *applied)
{
    json_t      *arr = json_array();
    char        *text = NULL;
    const char  *params[1];
    PGresult    *res;
    pms_status_t st = PMS_ERROR;
    size_t       i;

    for (i = 0; arr != NULL && i < n; i++) {
        if (json_array_append_new(arr, store_event_json(&evs[i])) != 0) {
            break;
        }
    }
    if (arr != NULL && i == n) {
        text = json_dumps(arr, JSON_COMPACT);
    }
    json_decref(arr);
    if (text == NULL) {
        return PMS_ERROR;
    }
    params[0] = text;
    st = pms_db_exec(db, "analytics_apply_batch", 1, params, &res);
    free(text);
    if (st == PMS_OK) {
        *applied = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return st;
}

pms_status_t
analytics_store_undecodable(pms_db_t *db, int partition, long long offset,
    const void *payload, size_t len, const char *error)
{
    char                 spart[16], soff[24], *hex;
    const char          *params[4];
    const unsigned char *p = payload;
    PGresult            *res;
    pms_status_t         st;
    size_t               i;

    hex = malloc(len * 2 + 3);
    if (hex == NULL) {
        return PMS_ERROR;
    }
    hex[0] = '\\';
    hex[1] = 'x';
    for (i = 0; i < len; i++) {
        snprintf(hex + 2 + i * 2, 3, "%02x", p[i]);
    }
    hex[2 + len * 2] = '\0';
    snprintf(spart, sizeof(spart), "%d", partition);
    snprintf(soff, sizeof(soff), "%lld", offset);
    params[0] = spart;
    params[1] = soff;
    params[2] = hex;
    params[3] = error;
    st = pms_db_exec(db, "analytics_undecodable", 4, params, &res);
    free(hex);
    if (st == PMS_OK) {
        PQclear(res);
    }
    return st;
}

json_t *
analytics_store_summary(pms_db_t *db, pms_status_t *st)
{
    PGresult *res;
    json_t   *out;

    *st = pms_db_exec(db, "analytics_summary", 0, NULL, &res);
    if (*st != PMS_OK) {
        return NULL;
    }
    out = json_pack("{s:o, s:o, s:I, s:I, s:I}", "eventsByType",
        json_loads(PQgetvalue(res, 0, 0), 0, NULL), "registrationsPerDay",
        json_loads(PQgetvalue(res, 0, 1), 0, NULL), "patientsRegistered",
        (json_int_t) atoll(PQgetvalue(res, 0, 2)), "eventsProcessed",
        (json_int_t) atoll(PQgetvalue(res, 0, 3)), "undecodableMessages",
        (json_int_t) atoll(PQgetvalue(res, 0, 4)));
    PQclear(res);
    if (out == NULL) {
        *st = PMS_ERROR;
    }
    return out;
}

/*
 * patient_outbox.c -- turns a patient row into its PatientEvent and adds
 * it to the outbox inside the caller's open transaction, so the event
 * exists exactly when the write does.  Publishing is pms-relay's job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patient_model.h"
#include "patient_outbox.h"
#include "patient_event.pb-c.h"
#include "pms_log.h"
#include "pms_uuid.h"

pms_status_t
patient_event_make(patient_event_t *out, const char *type,
    const char *patient_id, const char *name, const char *email,
    const char *registered_date)
{
    Patient__Events__PatientEvent ev = PATIENT__EVENTS__PATIENT_EVENT__INIT;
    char                          now[PMS_TIMESTAMP_LEN];
    uint8_t                       buf[2048];
    size_t                        len, i;

    out->payload = NULL;
    out->traceparent[0] = '\0';
    if (pms_trace_current() != NULL) {
        pms_trace_format(pms_trace_current(), out->traceparent);
    }
    if (pms_uuid_v4(out->event_id) != 0) {
        return PMS_ERROR;
    }
    pms_timestamp(now);
    ev.patientid = (char *) patient_id;
    ev.name = (char *) name;
    ev.email = (char *) email;
    ev.event_type = (char *) type;
    ev.event_id = out->event_id;
    ev.occurred_at = now;
    ev.registered_date = (char *) registered_date;
    len = patient__events__patient_event__get_packed_size(&ev);
    if (len > sizeof(buf)) {
        pms_error("event of %zu bytes does not fit", len);
        return PMS_ERROR;
    }
    patient__events__patient_event__pack(&ev, buf);
    out->payload = malloc(len * 2 + 3); /* bytea text input: \x + hex */
    if (out->payload == NULL) {
        return PMS_ERROR;
    }
    out->payload[0] = '\\';
    out->payload[1] = 'x';
    for (i = 0; i < len; i++) {
        snprintf(out->payload + 2 + i * 2, 3, "%02x", buf[i]);
    }
    return PMS_OK;
}

void
patient_event_free(patient_event_t *ev)
{
    free(ev->payload);
    ev->payload = NULL;
}

pms_status_t
patient_outbox_add(pms_db_t *db, const char *type, const PGresult *row)
{
    patient_event_t ev;
    const char     *params[5];
    PGresult       *res;
    pms_status_t    st;

    st = patient_event_make(&ev, type, PQgetvalue(row, 0, PATIENT_COL_ID),
        PQgetvalue(row, 0, PATIENT_COL_NAME),
        PQgetvalue(row, 0, PATIENT_COL_EMAIL),
        PQgetvalue(row, 0, PATIENT_COL_REGISTERED));
    if (st != PMS_OK) {
        patient_event_free(&ev);
        return st;
    }
    params[0] = ev.event_id;
    params[1] = PQgetvalue(row, 0, PATIENT_COL_ID);
    params[2] = type;
    params[3] = ev.payload;
    params[4] = patient_event_trace(&ev);
    st = pms_db_exec(db, "outbox_insert", 5, params, &res);
    patient_event_free(&ev);
    if (st == PMS_OK) {
        PQclear(res);
    }
    return st;
}

void
patient_outbox_health(pms_db_t *db, json_t *checks)
{
    PGresult *res;
    json_t   *o;

    if (pms_db_exec(db, "outbox_backlog", 0, NULL, &res) != PMS_OK) {
        json_object_set_new(checks, "outbox", json_string("DOWN"));
        return;
    }
    o = json_pack("{s:s, s:I}", "status", "UP", "backlog",
        (json_int_t) atoll(PQgetvalue(res, 0, 0)));
    if (!PQgetisnull(res, 0, 1)) {
        json_object_set_new(o, "consumerLag",
            json_integer(atoll(PQgetvalue(res, 0, 1))));
        json_object_set_new(o, "lagMeasuredSecondsAgo",
            json_integer(atoll(PQgetvalue(res, 0, 2))));
    }
    json_object_set_new(checks, "outbox", o);
    PQclear(res);
}

/*
 * patient_outbox.h -- the transactional outbox: every patient write adds
 * its PatientEvent to the outbox table in the same transaction (for a
 * create, in the same statement), for the relay to publish.
 */
#ifndef PATIENT_OUTBOX_H
#define PATIENT_OUTBOX_H

#include <jansson.h>
#include <libpq-fe.h>

#include "pms_db.h"
#include "pms_trace.h"
#include "pms_uuid.h"

/*
 * A PatientEvent ready for the outbox: its id, its bytes as bytea text,
 * and the traceparent of the request that made it ("" when none).
 */
typedef struct {
    char  event_id[PMS_UUID_LEN + 1];
    char *payload; /* "\\x<hex>"; owned: patient_event_free() */
    char  traceparent[PMS_TRACEPARENT_LEN];
} patient_event_t;

/* ev's traceparent as a query parameter: NULL (SQL NULL) when none. */
static inline const char *
patient_event_trace(const patient_event_t *ev)
{
    return ev->traceparent[0] != '\0' ? ev->traceparent : NULL;
}

/*
 * Builds the event of type for a patient's fields (borrowed).  PMS_OK, or
 * PMS_ERROR when out of memory or the event would not fit.
 */
pms_status_t patient_event_make(patient_event_t *ev, const char *type,
    const char *patient_id, const char *name, const char *email,
    const char *registered_date);
void         patient_event_free(patient_event_t *ev);

/*
 * Adds the event of type (PATIENT_CREATED, PATIENT_UPDATED,
 * PATIENT_DELETED) for row 0 of the patient result row, inside the open
 * transaction.  PMS_OK, or the failure of the insert.
 */
pms_status_t patient_outbox_add(pms_db_t *db, const char *type,
    const PGresult *row);

/* Adds the outbox state (backlog) to the /health checks object. */
void patient_outbox_health(pms_db_t *db, json_t *checks);

#endif

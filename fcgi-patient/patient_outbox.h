/*
 * patient_outbox.h -- the transactional outbox: every patient write adds
 * its PatientEvent to the outbox table in the same transaction, for the
 * relay to publish.
 */
#ifndef PATIENT_OUTBOX_H
#define PATIENT_OUTBOX_H

#include <jansson.h>
#include <libpq-fe.h>

#include "pms_db.h"

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

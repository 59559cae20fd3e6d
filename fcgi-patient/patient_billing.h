/*
 * patient_billing.h -- the patient service's side of billing: creating
 * the billing account of a new patient before it is stored, and deleting
 * it again when the patient then is not.
 * One handle per worker process, made after fork.
 */
#ifndef PATIENT_BILLING_H
#define PATIENT_BILLING_H

#include <stddef.h>
#include <jansson.h>

#include "pms_status.h"

typedef struct patient_billing_s patient_billing_t;

/*
 * Makes the worker's billing client for target ("host:port"; borrowed)
 * with a per-call deadline of timeout_ms.  Initialises gRPC: call it in
 * the worker after fork, never in the master.  NULL when out of memory.
 */
patient_billing_t *patient_billing_new(const char *target, long timeout_ms);
void               patient_billing_free(patient_billing_t *b);

/*
 * Creates (or finds) the account of a patient; writes its id into
 * account_id.  PMS_OK, or PMS_UNAVAILABLE when billing is down, past the
 * deadline or failing (logged with the gRPC status).
 */
pms_status_t patient_billing_create_account(patient_billing_t *b,
    const char *patient_id, const char *name, const char *email,
    char *account_id, size_t len);

/*
 * Deletes the account of a patient that was then not stored (the
 * compensation of create_account).  PMS_OK (also when there was none), or
 * PMS_UNAVAILABLE (logged as an error: the account is left behind).
 */
pms_status_t patient_billing_delete_account(patient_billing_t *b,
    const char                                                *patient_id);

/* Adds this dependency's state to the /health checks object. */
void patient_billing_health(patient_billing_t *b, json_t *checks);

#endif

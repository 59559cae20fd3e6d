/*
 * patient_billing.h -- the patient service's side of billing: creating
 * the billing account of a new patient inside its create transaction.
 * One handle per worker process, made after fork.
 */
#ifndef PATIENT_BILLING_H
#define PATIENT_BILLING_H

#include <stddef.h>
#include <jansson.h>

#include "pms_status.h"

typedef struct patient_billing_s patient_billing_t;

/* Makes the worker's billing handle; NULL when out of memory. */
patient_billing_t *patient_billing_new(void);
void patient_billing_free(patient_billing_t *b);

/*
 * Creates (or finds) the account of a patient; writes its id into
 * account_id (empty when billing is not part of this build).  PMS_OK, or
 * PMS_UNAVAILABLE when billing cannot answer in time.
 */
pms_status_t patient_billing_create_account(patient_billing_t *b,
    const char *patient_id, const char *name, const char *email,
    char *account_id, size_t len);

/* Adds this dependency's state to the /health checks object. */
void patient_billing_health(patient_billing_t *b, json_t *checks);

#endif

/*
 * patient_ops.h -- the writes of a patient, shared by both of its
 * representations (the JSON API in patient_api.c and FHIR in
 * patient_fhir.c): each runs the same rules, the same billing call, the
 * same outbox event and the same audit record, and reports an outcome the
 * caller renders in its own format.
 */
#ifndef PATIENT_OPS_H
#define PATIENT_OPS_H

#include <libpq-fe.h>

#include "patient_billing.h"
#include "patient_model.h"
#include "pms_db.h"
#include "pms_http.h"
#include "pms_uuid.h"

typedef struct {
    pms_db_t          *db;            /* this worker's connection (owned) */
    patient_billing_t *billing;       /* this worker's billing client (owned) */
    const char        *public_prefix; /* "/api": what the gateway strips */
} patient_ctx_t;

typedef enum {
    PATIENT_OP_OK,
    PATIENT_OP_STORE,        /* the store failed: see st */
    PATIENT_OP_BILLING_DOWN, /* create: billing unavailable, nothing stored */
    PATIENT_OP_DATES,        /* update: stored registeredDate > new birth */
    PATIENT_OP_STALE         /* update: If-Match names another version */
} patient_op_result_t;

typedef struct {
    patient_op_result_t result;
    pms_status_t        st;  /* for PATIENT_OP_STORE */
    PGresult           *res; /* the row after the write (for STALE, the
                              * current row); the caller PQclear()s it */
} patient_op_t;

/* Who makes a request's write: the identity the gateway passed. */
patient_actor_t patient_actor_of(pms_req_t *req);

/* Evaluates an If-Match header against the stored version: 1 matches. */
typedef int (*patient_match_fn)(const char *if_match, long version);

/* A create; the new patient's id is written to id. */
void patient_op_create(patient_ctx_t *ctx, const patient_input_t *in,
    const patient_actor_t *who, char id[PMS_UUID_LEN + 1], patient_op_t *op);

/* An update of id, checked against if_match by match. */
void patient_op_update(patient_ctx_t *ctx, const char *id,
    const patient_input_t *in, const char *if_match, patient_match_fn match,
    const patient_actor_t *who, patient_op_t *op);

/* A delete of id, checked against if_match by match when there is one;
 * res is the deleted row. */
void patient_op_delete(patient_ctx_t *ctx, const char *id, const char *if_match,
    patient_match_fn match, const patient_actor_t *who, patient_op_t *op);

#endif

/*
 * patient_fhir.h -- FHIR R4 for the patient service: requests whose path
 * starts with /fhir/ (the gateway's /api/fhir/).  See patient_fhir.c.
 */
#ifndef PATIENT_FHIR_H
#define PATIENT_FHIR_H

#include "patient_ops.h"
#include "pms_http.h"

/* Handles one /fhir/ request; answers FHIR JSON or an OperationOutcome. */
void patient_fhir_handle(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp);

#endif

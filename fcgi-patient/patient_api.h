/*
 * patient_api.h -- the patient HTTP API behind the gateway: routing and
 * one handler per operation.  Handlers return through pms_resp_t; the
 * accept loop (pms_serve) writes the response.
 */
#ifndef PATIENT_API_H
#define PATIENT_API_H

#include "patient_ops.h"
#include "pms_http.h"

/* pms_handler_fn for the patient service; ctx is a patient_ctx_t. */
void patient_api_handle(void *ctx, pms_req_t *req, pms_resp_t *resp);

#endif

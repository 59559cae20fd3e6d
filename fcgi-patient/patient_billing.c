/*
 * patient_billing.c -- the patient worker's gRPC client of pms-billing.
 * Made after fork (gRPC core is not fork-safe), one channel per worker.
 * Calls fail fast with a deadline; a short backup-poll interval and
 * reconnect backoff make the channel notice a restarted billing daemon
 * within about a second, without a watcher thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "billing_service.pb-c.h"
#include "health.pb-c.h"
#include "patient_billing.h"
#include "pms_grpc.h"
#include "pms_log.h"

struct patient_billing_s {
    grpc_channel          *ch;
    grpc_completion_queue *cq;
    long                   timeout_ms;
};

patient_billing_t *
patient_billing_new(const char *target, long timeout_ms)
{
    patient_billing_t        *b;
    grpc_channel_credentials *creds;
    grpc_arg                  args[3];
    grpc_channel_args         chargs;

    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    /* read by grpc_init(): poll for reconnects every 100 ms, not 5 s */
    setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", 0);
    grpc_init();
    memset(args, 0, sizeof(args));
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
    args[0].value.integer = 100;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MIN_RECONNECT_BACKOFF_MS;
    args[1].value.integer = 100;
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
    args[2].value.integer = 500;
    chargs.num_args = 3;
    chargs.args = args;
    creds = grpc_insecure_credentials_create();
    b->ch = grpc_channel_create(target, creds, &chargs);
    grpc_channel_credentials_release(creds); /* the channel keeps a ref */
    b->cq = grpc_completion_queue_create_for_pluck(NULL);
    b->timeout_ms = timeout_ms;
    (void) grpc_channel_check_connectivity_state(b->ch, 1); /* connect now */
    return b;
}

void
patient_billing_free(patient_billing_t *b)
{
    if (b == NULL) {
        return;
    }
    grpc_channel_destroy(b->ch);
    grpc_completion_queue_shutdown(b->cq);
    while (grpc_completion_queue_pluck(b->cq, NULL,
               gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type
        != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(b->cq);
    free(b);
    grpc_shutdown();
}

pms_status_t
patient_billing_create_account(patient_billing_t *b, const char *patient_id,
    const char *name, const char *email, char *account_id, size_t len)
{
    BillingRequest    req = BILLING_REQUEST__INIT;
    BillingResponse  *resp;
    ProtobufCMessage *m;
    grpc_status_code  code;
    char              err[256];

    req.patientid = (char *) patient_id;
    req.name = (char *) name;
    req.email = (char *) email;
    code = pms_grpc_unary(b->ch, b->cq, "/BillingService/CreateBillingAccount",
        &req.base, &billing_response__descriptor, b->timeout_ms, &m, err,
        sizeof(err));
    if (code != GRPC_STATUS_OK) {
        pms_log_fields(PMS_LOG_WARN,
            json_pack("{s:s, s:s}", "patient_id", patient_id, "grpc_status",
                pms_grpc_status_name(code)),
            "billing failed: %s", err);
        return PMS_UNAVAILABLE;
    }
    resp = (BillingResponse *) m;
    if (resp->accountid[0] == '\0' || strlen(resp->accountid) >= len) {
        pms_warn("billing answered without a usable accountId");
        billing_response__free_unpacked(resp, NULL);
        return PMS_UNAVAILABLE;
    }
    snprintf(account_id, len, "%s", resp->accountid);
    billing_response__free_unpacked(resp, NULL);
    return PMS_OK;
}

pms_status_t
patient_billing_delete_account(patient_billing_t *b, const char *patient_id)
{
    DeleteBillingAccountRequest   req = DELETE_BILLING_ACCOUNT_REQUEST__INIT;
    DeleteBillingAccountResponse *resp;
    ProtobufCMessage             *m;
    grpc_status_code              code;
    char                          err[256];

    req.patientid = (char *) patient_id;
    code = pms_grpc_unary(b->ch, b->cq, "/BillingService/DeleteBillingAccount",
        &req.base, &delete_billing_account_response__descriptor, b->timeout_ms,
        &m, err, sizeof(err));
    if (code != GRPC_STATUS_OK) {
        pms_log_fields(PMS_LOG_ERROR,
            json_pack("{s:s, s:s}", "patient_id", patient_id, "grpc_status",
                pms_grpc_status_name(code)),
            "the billing account of a patient that was not stored could not"
            " be deleted: %s",
            err);
        return PMS_UNAVAILABLE;
    }
    resp = (DeleteBillingAccountResponse *) m;
    delete_billing_account_response__free_unpacked(resp, NULL);
    return PMS_OK;
}

void
patient_billing_health(patient_billing_t *b, json_t *checks)
{
    Grpc__Health__V1__HealthCheckRequest req =
        GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Grpc__Health__V1__HealthCheckResponse *resp;
    ProtobufCMessage                      *m;
    grpc_status_code                       code;
    char                                   err[256];
    int                                    up = 0;

    req.service = "BillingService";
    code = pms_grpc_unary(b->ch, b->cq, "/grpc.health.v1.Health/Check",
        &req.base, &grpc__health__v1__health_check_response__descriptor,
        b->timeout_ms < 500 ? b->timeout_ms : 500, &m, err, sizeof(err));
    if (code == GRPC_STATUS_OK) {
        resp = (Grpc__Health__V1__HealthCheckResponse *) m;
        up = resp->status
            == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
    }
    json_object_set_new(checks, "billing", json_string(up ? "UP" : "DOWN"));
}

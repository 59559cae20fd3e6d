/*
 * billing_server.c -- gRPC C core plumbing for pms-billing.  One shared
 * CQ_NEXT queue, N worker threads each keeping request slots posted; a
 * call context (the tag) walks NEW -> READ -> DONE.  Generic slots mean an
 * unknown method is answered UNIMPLEMENTED at once.  Every context is
 * counted so shutdown destroys the queue only after the last one is back.
 * Business rules live in billing_account.c.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "billing_account.h"
#include "billing_server.h"
#include "billing_service.pb-c.h"
#include "health.pb-c.h"
#include "pms_grpc.h"
#include "pms_log.h"
#include "pms_metrics.h"
#include "pms_trace.h"

#define BILLING_SLOTS_PER_THREAD 4
#define M_CREATE                 "/BillingService/CreateBillingAccount"
#define M_DELETE                 "/BillingService/DeleteBillingAccount"
#define M_HEALTH                 "/grpc.health.v1.Health/Check"

typedef enum { CALL_NEW, CALL_READ, CALL_DONE } call_state_t;

struct billing_server_s {
    grpc_server           *server;
    grpc_completion_queue *cq;
    grpc_completion_queue *shutdown_cq;
    pthread_t             *threads;
    int                    nthreads;
    const char            *conninfo;
    atomic_int             contexts; /* live call contexts (slots too) */
    atomic_int             stopping;
};

typedef struct {
    billing_server_t   *srv;
    call_state_t        state;
    grpc_call          *call;
    grpc_call_details   details;
    grpc_metadata_array md;
    grpc_byte_buffer   *req_bb;
    grpc_byte_buffer   *resp_bb;
    int                 cancelled;
    double              started; /* when the call arrived */
} call_ctx_t;

static const pms_metric_t m_calls = PMS_COUNTER("grpc_server_calls_total",
    "gRPC calls answered, by method and status", "method", "code");
static const pms_metric_t m_duration =
    PMS_HISTOGRAM("grpc_server_call_duration_seconds",
        "time from a call's arrival to its status sent, by method", "method",
        NULL);

/* Each worker thread's own database connection. */
static __thread pms_db_t *billing_db;

static void
call_free(call_ctx_t *c)
{
    billing_server_t *srv = c->srv;

    if (c->call != NULL) {
        grpc_call_unref(c->call);
    }
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    if (c->req_bb != NULL) {
        grpc_byte_buffer_destroy(c->req_bb);
    }
    if (c->resp_bb != NULL) {
        grpc_byte_buffer_destroy(c->resp_bb);
    }
    free(c);
    atomic_fetch_sub(&srv->contexts, 1);
}

/* Posts one request slot; the context is counted until call_free(). */
static void
call_post(billing_server_t *srv)
{
    call_ctx_t     *c;
    grpc_call_error e;

    if (atomic_load(&srv->stopping)) {
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        pms_error("out of memory posting a request slot");
        return;
    }
    c->srv = srv;
    c->state = CALL_NEW;
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    atomic_fetch_add(&srv->contexts, 1);
    e = grpc_server_request_call(srv->server, &c->call, &c->details, &c->md,
        srv->cq, srv->cq, c);
    if (e != GRPC_CALL_OK) {
        pms_error("request_call: %s", grpc_call_error_to_string(e));
        call_free(c);
    }
}

static int
call_is(call_ctx_t *c, const char *method)
{
    return grpc_slice_str_cmp(c->details.method, method) == 0;
}

/* The method for the metrics: one of ours, or "unknown". */
static const char *
call_method(call_ctx_t *c)
{
    return call_is(c, M_CREATE) ? M_CREATE
        : call_is(c, M_DELETE)  ? M_DELETE
        : call_is(c, M_HEALTH)  ? M_HEALTH
                                : "unknown";
}

/* The caller's traceparent metadata becomes this thread's context. */
static void
call_trace(call_ctx_t *c)
{
    char   tp[PMS_TRACEPARENT_LEN + 8];
    size_t i, len;

    for (i = 0; i < c->md.count; i++) {
        if (grpc_slice_str_cmp(c->md.metadata[i].key, "traceparent") == 0) {
            len = GRPC_SLICE_LENGTH(c->md.metadata[i].value);
            if (len < sizeof(tp)) {
                memcpy(tp, GRPC_SLICE_START_PTR(c->md.metadata[i].value), len);
                tp[len] = '\0';
                pms_trace_set(tp);
            }
            return;
        }
    }
}

/* Sends the final batch (status, and the response when OK). */
static void
call_finish(call_ctx_t *c, grpc_status_code code, const char *msg)
{
    grpc_op         ops[4], *op = ops;
    grpc_slice      details = grpc_slice_from_copied_string(msg ? msg : "");
    grpc_call_error e;

    pms_metric_add(&m_calls, call_method(c), pms_grpc_status_name(code), 1);
    pms_metric_observe(&m_duration, call_method(c), NULL,
        pms_metrics_now() - c->started);
    memset(ops, 0, sizeof(ops));
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    op++;
    if (code == GRPC_STATUS_OK && c->resp_bb != NULL) {
        op->op = GRPC_OP_SEND_MESSAGE;
        op->data.send_message.send_message = c->resp_bb;
        op++;
    }
    op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op->data.send_status_from_server.status = code;
    op->data.send_status_from_server.status_details =
        (msg != NULL && msg[0] != '\0') ? &details : NULL;
    op++;
    op->op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op->data.recv_close_on_server.cancelled = &c->cancelled;
    op++;
    c->state = CALL_DONE;
    e = grpc_call_start_batch(c->call, ops, (size_t) (op - ops), c, NULL);
    grpc_slice_unref(details); /* not retained past start_batch */
    if (e != GRPC_CALL_OK) {
        pms_error("final batch: %s", grpc_call_error_to_string(e));
        call_free(c);
    }
}

static void
serve_create(call_ctx_t *c)
{
    BillingRequest   *req;
    BillingResponse   resp = BILLING_RESPONSE__INIT;
    billing_account_t acct;
    const char       *bad;
    pms_status_t      st;

    req = (BillingRequest *) pms_grpc_unpack(&billing_request__descriptor,
        c->req_bb);
    if (req == NULL) {
        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT,
            "the request is not a BillingRequest");
        return;
    }
    bad = billing_validate(req->patientid, req->name, req->email);
    if (bad != NULL) {
        billing_request__free_unpacked(req, NULL);
        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, bad);
        return;
    }
    if (gpr_time_cmp(c->details.deadline,
            gpr_now(c->details.deadline.clock_type))
        < 0) {
        billing_request__free_unpacked(req, NULL);
        call_finish(c, GRPC_STATUS_DEADLINE_EXCEEDED,
            "deadline passed in queue");
        return;
    }
    st = billing_account_create(billing_db, req->patientid, req->name,
        req->email, &acct);
    if (st != PMS_OK) {
        pms_log_fields(PMS_LOG_WARN,
            json_pack("{s:s}", "patient_id", req->patientid),
            "account not created: %s", pms_status_name(st));
        billing_request__free_unpacked(req, NULL);
        call_finish(c, pms_grpc_status(st),
            st == PMS_UNAVAILABLE ? "the billing database is unavailable"
                                  : "the account could not be created");
        return;
    }
    pms_log_fields(PMS_LOG_INFO,
        json_pack("{s:s, s:s}", "patient_id", req->patientid, "account_id",
            acct.account_id),
        "account ready");
    billing_request__free_unpacked(req, NULL);
    resp.accountid = acct.account_id;
    resp.status = acct.status;
    c->resp_bb = pms_grpc_pack(&resp.base);
    call_finish(c, GRPC_STATUS_OK, NULL);
}

static void
serve_delete(call_ctx_t *c)
{
    DeleteBillingAccountRequest *req;
    DeleteBillingAccountResponse resp = DELETE_BILLING_ACCOUNT_RESPONSE__INIT;
    pms_status_t                 st;
    int                          deleted = 0;

    req = (DeleteBillingAccountRequest *)
        pms_grpc_unpack(&delete_billing_account_request__descriptor, c->req_bb);
    if (req == NULL) {
        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT,
            "the request is not a DeleteBillingAccountRequest");
        return;
    }
    if (!pms_uuid_valid(req->patientid)) {
        delete_billing_account_request__free_unpacked(req, NULL);
        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT,
            "patientId must be a UUID");
        return;
    }
    st = billing_account_delete(billing_db, req->patientid, &deleted);
    pms_log_fields(st == PMS_OK ? PMS_LOG_INFO : PMS_LOG_WARN,
        json_pack("{s:s, s:b}", "patient_id", req->patientid, "deleted",
            deleted),
        "account delete: %s", pms_status_name(st));
    delete_billing_account_request__free_unpacked(req, NULL);
    if (st != PMS_OK) {
        call_finish(c, pms_grpc_status(st), "the account could not be deleted");
        return;
    }
    resp.deleted = deleted;
    c->resp_bb = pms_grpc_pack(&resp.base);
    call_finish(c, GRPC_STATUS_OK, NULL);
}

static void
serve_health(call_ctx_t *c)
{
    Grpc__Health__V1__HealthCheckRequest *req;
    Grpc__Health__V1__HealthCheckResponse resp =
        GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    int up;

    req = (Grpc__Health__V1__HealthCheckRequest *)
        pms_grpc_unpack(&grpc__health__v1__health_check_request__descriptor,
            c->req_bb);
    if (req == NULL) {
        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "bad HealthCheckRequest");
        return;
    }
    if (req->service[0] != '\0'
        && strcmp(req->service, "BillingService") != 0) {
        grpc__health__v1__health_check_request__free_unpacked(req, NULL);
        call_finish(c, GRPC_STATUS_NOT_FOUND, "unknown service");
        return;
    }
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
    up = !atomic_load(&c->srv->stopping) && pms_db_ensure(billing_db) == PMS_OK;
    resp.status = up
        ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
        : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    c->resp_bb = pms_grpc_pack(&resp.base);
    call_finish(c, GRPC_STATUS_OK, NULL);
}

static void
call_step(call_ctx_t *c, int ok)
{
    grpc_op         op;
    grpc_call_error e;

    switch (c->state) {
    case CALL_NEW:
        if (!ok) { /* the server is shutting down */
            call_free(c);
            return;
        }
        c->started = pms_metrics_now();
        call_post(c->srv); /* keep the slot count up */
        if (!call_is(c, M_CREATE) && !call_is(c, M_DELETE)
            && !call_is(c, M_HEALTH)) {
            call_finish(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method");
            return;
        }
        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &c->req_bb;
        c->state = CALL_READ;
        e = grpc_call_start_batch(c->call, &op, 1, c, NULL);
        if (e != GRPC_CALL_OK) {
            pms_error("read batch: %s", grpc_call_error_to_string(e));
            call_free(c);
        }
        return;
    case CALL_READ:
        if (!ok || c->req_bb == NULL) {
            call_free(c); /* the client went away */
            return;
        }
        call_trace(c);
        if (call_is(c, M_CREATE)) {
            serve_create(c);
        } else if (call_is(c, M_DELETE)) {
            serve_delete(c);
        } else {
            serve_health(c);
        }
        pms_trace_set(NULL);
        return;
    case CALL_DONE:
        if (c->cancelled && call_is(c, M_CREATE)) {
            pms_warn("a CreateBillingAccount answer was not delivered"
                     " (client deadline or cancel)");
        }
        call_free(c);
        return;
    }
}

static void *
billing_worker(void *arg)
{
    billing_server_t *srv = arg;
    grpc_event        ev;
    int               i;

    billing_db = pms_db_new(srv->conninfo, billing_account_stmts,
        billing_account_nstmts);
    if (billing_db == NULL) {
        pms_error("out of memory");
        return NULL;
    }
    (void) pms_db_ensure(billing_db);
    for (i = 0; i < BILLING_SLOTS_PER_THREAD; i++) {
        call_post(srv);
    }
    for (;;) {
        ev = grpc_completion_queue_next(srv->cq,
            gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) {
            break;
        }
        call_step(ev.tag, ev.success);
    }
    pms_db_free(billing_db);
    billing_db = NULL;
    return NULL;
}

billing_server_t *
billing_server_start(const char *listen, int threads, const char *conninfo,
    char *err, size_t errlen)
{
    billing_server_t        *srv;
    grpc_arg                 arg;
    grpc_channel_args        args;
    grpc_server_credentials *creds;
    int                      i, port;

    srv = calloc(1, sizeof(*srv));
    if (srv == NULL
        || (srv->threads = calloc(threads, sizeof(pthread_t))) == NULL) {
        free(srv);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->conninfo = conninfo;
    memset(&arg, 0, sizeof(arg));
    arg.type = GRPC_ARG_INTEGER;
    arg.key = GRPC_ARG_ALLOW_REUSEPORT; /* a second instance must fail */
    arg.value.integer = 0;
    args.num_args = 1;
    args.args = &arg;
    srv->server = grpc_server_create(&args, NULL);
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    srv->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    grpc_server_register_completion_queue(srv->server, srv->shutdown_cq, NULL);
    creds = grpc_insecure_server_credentials_create();
    port = grpc_server_add_http2_port(srv->server, listen, creds);
    grpc_server_credentials_release(creds);
    if (port == 0) {
        snprintf(err, errlen, "cannot listen on %s (in use?)", listen);
        grpc_server_destroy(srv->server);
        grpc_completion_queue_shutdown(srv->cq);
        grpc_completion_queue_destroy(srv->cq);
        grpc_completion_queue_shutdown(srv->shutdown_cq);
        grpc_completion_queue_destroy(srv->shutdown_cq);
        free(srv->threads);
        free(srv);
        return NULL;
    }
    grpc_server_start(srv->server);
    for (i = 0; i < threads; i++) {
        if (pthread_create(&srv->threads[i], NULL, billing_worker, srv) != 0) {
            snprintf(err, errlen, "cannot start worker thread %d", i);
            srv->nthreads = i;
            billing_server_stop(srv, 0);
            return NULL;
        }
    }
    srv->nthreads = threads;
    return srv;
}

void
billing_server_stop(billing_server_t *srv, long grace_ms)
{
    grpc_event ev;
    int        i, tag;

    atomic_store(&srv->stopping, 1);
    grpc_server_shutdown_and_notify(srv->server, srv->shutdown_cq, &tag);
    ev = grpc_completion_queue_next(srv->shutdown_cq,
        pms_grpc_deadline(grace_ms), NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        pms_warn("calls still running after %ld ms; cancelling them", grace_ms);
        grpc_server_cancel_all_calls(srv->server);
        (void) grpc_completion_queue_next(srv->shutdown_cq,
            gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    /* every tag handed out must come back before the queue goes away */
    while (atomic_load(&srv->contexts) > 0) {
        usleep(5000);
    }
    grpc_completion_queue_shutdown(srv->cq);
    for (i = 0; i < srv->nthreads; i++) {
        pthread_join(srv->threads[i], NULL);
    }
    grpc_completion_queue_destroy(srv->cq);
    grpc_server_destroy(srv->server);
    grpc_completion_queue_shutdown(srv->shutdown_cq);
    while (grpc_completion_queue_next(srv->shutdown_cq,
               gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type
        != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(srv->shutdown_cq);
    free(srv->threads);
    free(srv);
}

/*
 * billing_load.c -- the benchmark's billing load: T threads calling
 * CreateBillingAccount (fresh patientIds) on one shared channel for S
 * seconds, each thread with its own pluck queue.  Prints one JSON line:
 * calls, errors, seconds, calls_per_s.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "billing_service.pb-c.h"
#include "pms_grpc.h"
#include "pms_uuid.h"

static grpc_channel *load_ch;
static double        load_until;
static atomic_long   load_calls, load_errors;

static double
load_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
load_thread(void *arg)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    char                   id[PMS_UUID_LEN + 1], err[256];
    BillingRequest         req = BILLING_REQUEST__INIT;
    ProtobufCMessage      *resp;

    (void) arg;
    req.name = "Load Patient";
    req.email = "load@bench.example.com";
    while (load_now() < load_until) {
        if (pms_uuid_v4(id) != 0) {
            break;
        }
        req.patientid = id;
        if (pms_grpc_unary(load_ch, cq, "/BillingService/CreateBillingAccount",
                &req.base, &billing_response__descriptor, 2000, &resp, err,
                sizeof(err))
            == GRPC_STATUS_OK) {
            protobuf_c_message_free_unpacked(resp, NULL);
            atomic_fetch_add(&load_calls, 1);
        } else {
            atomic_fetch_add(&load_errors, 1);
        }
    }
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL,
               gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type
        != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
    return NULL;
}

int
main(int argc, char **argv)
{
    grpc_channel_credentials *creds;
    pthread_t                 threads[64];
    int                       n, i;
    double                    secs, t0;

    if (argc != 4) {
        fprintf(stderr, "usage: %s host:port threads seconds\n", argv[0]);
        return 2;
    }
    n = atoi(argv[2]);
    secs = atof(argv[3]);
    if (n < 1 || n > 64 || secs <= 0) {
        fprintf(stderr, "threads must be 1..64, seconds > 0\n");
        return 2;
    }
    grpc_init();
    creds = grpc_insecure_credentials_create();
    load_ch = grpc_channel_create(argv[1], creds, NULL);
    grpc_channel_credentials_release(creds);
    t0 = load_now();
    load_until = t0 + secs;
    for (i = 0; i < n; i++) {
        pthread_create(&threads[i], NULL, load_thread, NULL);
    }
    for (i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
    }
    secs = load_now() - t0;
    printf("{\"calls\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"calls_per_s\":%.1f}\n",
        atomic_load(&load_calls), atomic_load(&load_errors), secs,
        atomic_load(&load_calls) / secs);
    grpc_channel_destroy(load_ch);
    grpc_shutdown();
    return 0;
}

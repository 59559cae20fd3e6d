/*
 * billing_server.h -- the gRPC server of pms-billing: worker threads on
 * one shared completion queue serving BillingService and
 * grpc.health.v1.Health/Check, and its graceful shutdown.
 */
#ifndef BILLING_SERVER_H
#define BILLING_SERVER_H

#include <stddef.h>

typedef struct billing_server_s billing_server_t;

/*
 * Binds listen (host:port, no port sharing: a second instance fails) and
 * starts threads workers, each with its own connection to conninfo
 * (borrowed; must outlive the server).  NULL with err filled on failure.
 * Call after grpc_init(), with SIGTERM/SIGINT blocked.
 */
billing_server_t *billing_server_start(const char *listen, int threads,
    const char *conninfo, char *err, size_t errlen);

/*
 * Stops accepting, lets in-flight calls finish for up to grace_ms (then
 * cancels them), waits for every call to be released, joins the workers
 * and frees the server.
 */
void billing_server_stop(billing_server_t *srv, long grace_ms);

#endif

/*
 * pms_serve.h -- a worker's FastCGI accept loop on a shared listening
 * socket: one request at a time, stopping between requests when *stop is
 * set, so a drain never cuts a request short.
 */
#ifndef PMS_SERVE_H
#define PMS_SERVE_H

#include <signal.h>

#include "pms_http.h"

/* Handles one request: fills resp; the loop sends it. */
typedef void (*pms_handler_fn)(void *ctx, pms_req_t *req, pms_resp_t *resp);

/*
 * Makes the listening socket non-blocking so workers can share it; call
 * once in the master before forking.  0 or -1.
 */
int pms_serve_prepare(int listen_fd);

/* Serves until *stop. Returns 0, or -1 when the socket is unusable. */
int pms_serve(int listen_fd, pms_handler_fn handler, void *ctx,
    volatile sig_atomic_t *stop);

#endif

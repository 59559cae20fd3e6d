/*
 * fcgi_hello.c -- the FastCGI ceiling for the benchmark: the smallest
 * libfcgi responder that answers a fixed JSON body, run the same way as
 * pms-patient (spawn-fcgi -n, pre-forked by libpms's master), so the
 * benchmark can report pms as a fraction of what nginx -> libfcgi allows.
 */
#include <stdlib.h>

#include "pms_http.h"
#include "pms_log.h"
#include "pms_prefork.h"
#include "pms_serve.h"

static void
hello_handle(void *ctx, pms_req_t *req, pms_resp_t *resp)
{
    (void) ctx;
    (void) req;
    pms_resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static int
hello_worker(void *arg, volatile sig_atomic_t *stop)
{
    (void) arg;
    return pms_serve(0, hello_handle, NULL, stop) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    int workers = argc > 1 ? atoi(argv[1]) : 4;

    pms_log_init("fcgi-hello", PMS_LOG_WARN);
    if (pms_serve_prepare(0) != 0) {
        pms_error("fd 0 is not a listening socket: use spawn-fcgi -n");
        return 1;
    }
    return pms_prefork_run(workers > 0 ? workers : 4, 2000, hello_worker, NULL);
}

/*
 * metrics_cost.c -- what counting costs a request: the updates the
 * shared accept loop makes per request (a counter with route and status,
 * a histogram with route) timed over many requests, by several processes
 * at once sharing one table, as pre-forked workers do.  Prints JSON:
 * {"ns_per_request": ..., "processes": N}.  Usage: metrics-cost [procs].
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pms_metrics.h"

#define COST_ROUNDS 2000000

static const pms_metric_t m_requests = PMS_COUNTER("http_requests_total",
    "requests answered, by route and status", "route", "status");
static const pms_metric_t m_duration =
    PMS_HISTOGRAM("http_request_duration_seconds", "request time, by route",
        "route", NULL);

static void
cost_run(void)
{
    static const char *routes[] = { "GET /patients/{id}", "POST /patients",
        "GET /patients", "PUT /patients/{id}" };
    static const char *statuses[] = { "200", "201", "404", "400" };
    long               i;

    for (i = 0; i < COST_ROUNDS; i++) {
        pms_metric_add(&m_requests, routes[i & 3], statuses[(i >> 2) & 3], 1);
        pms_metric_observe(&m_duration, routes[i & 3], NULL,
            0.0001 * (double) (i & 63));
    }
}

int
main(int argc, char **argv)
{
    int    procs = argc > 1 ? atoi(argv[1]) : 2, i, status;
    double t0, t1;

    if (procs < 1 || procs > 64 || pms_metrics_init("bench", 1024) != 0) {
        fprintf(stderr, "usage: metrics-cost [processes 1..64]\n");
        return 2;
    }
    t0 = pms_metrics_now();
    for (i = 0; i < procs; i++) {
        if (fork() == 0) {
            cost_run();
            _exit(0);
        }
    }
    while (wait(&status) > 0) {
    }
    t1 = pms_metrics_now();
    /* each process did COST_ROUNDS requests in the wall time: per request
     * and process, as a worker sees it */
    printf("{\"ns_per_request\": %.1f, \"processes\": %d}\n",
        (t1 - t0) * 1e9 / COST_ROUNDS, procs);
    return 0;
}

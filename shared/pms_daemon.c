/*
 * pms_daemon.c -- the shared daemon skeleton (see pms_daemon.h).  Signals
 * are blocked before any thread starts and taken with sigwait() by the
 * main thread alone, so no handler runs inside library code (gRPC,
 * librdkafka, libpq) and the stop flag is written by one thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pms_daemon.h"
#include "pms_log.h"
#include "pms_metrics.h"
#include "pms_serve.h"

extern char **environ;

int
pms_daemon_knows(const pms_daemon_t *d, const char *name, size_t len)
{
    size_t t, i;

    for (t = 0; t < d->nconf; t++) {
        for (i = 0; i < d->conf[t].n; i++) {
            if (strlen(d->conf[t].entries[i].name) == len
                && strncmp(d->conf[t].entries[i].name, name, len) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static void
daemon_usage(const pms_daemon_t *d, const char *argv0)
{
    size_t t;

    printf(d->usage, argv0);
    printf("       %s --check-env   (exit 0 when every PMS_* variable set is\n"
           "                        one it reads, with a valid value)\n\n",
        argv0);
    for (t = 0; t < d->nconf; t++) {
        pms_config_usage(stdout, d->conf[t].entries, d->conf[t].n);
    }
}

/* Warns about each PMS_* variable no table names; returns how many. */
static int
daemon_warn_unknown(const pms_daemon_t *d)
{
    char *const *e;
    const char  *eq;
    int          n = 0;

    for (e = environ; e != NULL && *e != NULL; e++) {
        eq = strchr(*e, '=');
        if (strncmp(*e, "PMS_", 4) == 0 && eq != NULL
            && !pms_daemon_knows(d, *e, (size_t) (eq - *e))) {
            pms_warn("%.*s is set but %s does not read it (see --help)",
                (int) (eq - *e), *e, d->prog);
            n++;
        }
    }
    return n;
}

void
pms_daemon_init(const pms_daemon_t *d, int argc, char **argv)
{
    size_t t;
    int    unknown;

    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        daemon_usage(d, argv[0]);
        exit(0);
    }
    for (t = 0; t < d->nconf; t++) {
        pms_config_load_or_exit(d->prog, d->conf[t].entries, d->conf[t].n);
    }
    pms_log_init(d->service, *d->debug ? PMS_LOG_DEBUG : PMS_LOG_INFO);
    (void) pms_metrics_init(d->service, 1024); /* counting is best effort */
    unknown = daemon_warn_unknown(d);
    if (argc > 1 && strcmp(argv[1], "--check-env") == 0) {
        exit(unknown == 0 ? 0 : 1);
    }
}

int
pms_daemon_metrics(const pms_daemon_t *d)
{
    return d->metrics != NULL ? pms_metrics_listen(*d->metrics) : 0;
}

int
pms_daemon_fcgi_socket(void)
{
    struct stat st;

    if (fstat(0, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        pms_error(
            "fd 0 is not a listening socket: start me with spawn-fcgi -n");
        return -1;
    }
    if (pms_serve_prepare(0) != 0) {
        pms_error("cannot prepare the listening socket: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void
pms_daemon_block(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
}

int
pms_daemon_signalled(const sigset_t *sigs)
{
    static const struct timespec now = { 0, 0 };
    static int                   got;
    int                          sig;

    if (!got && (sig = sigtimedwait(sigs, NULL, &now)) > 0) {
        pms_info("signal %d: stopping", sig);
        got = 1;
    }
    return got;
}

int
pms_daemon_wait(const sigset_t *sigs)
{
    int sig;

    if (sigwait(sigs, &sig) != 0) {
        sig = SIGTERM;
    }
    pms_info("signal %d: stopping", sig);
    return sig;
}

int
pms_daemon_threads(pthread_t *threads, int n, void *(*fn)(void *), void *arg,
    volatile sig_atomic_t *stop)
{
    int i, rc;

    for (i = 0; i < n; i++) {
        if ((rc = pthread_create(&threads[i], NULL, fn, arg)) != 0) {
            pms_error("cannot start thread %d of %d: %s", i + 1, n,
                strerror(rc));
            *stop = 1;
            pms_daemon_join(threads, i);
            return -1;
        }
    }
    return 0;
}

void
pms_daemon_join(pthread_t *threads, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
    }
}

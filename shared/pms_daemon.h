/*
 * pms_daemon.h -- the start-up and shutdown every pms daemon shares:
 * --help, configuration tables, logging, the unknown-variable warning, the
 * FastCGI socket on fd 0, signals, and worker threads.  A daemon's main()
 * describes itself in a pms_daemon_t and calls these in order:
 *
 *     pms_daemon_init()        --help, config, logging, the metrics table
 *                              (exits on bad input)
 *     pms_daemon_metrics()     the metrics listener, where it is served
 *     pms_daemon_block()       SIGTERM/SIGINT blocked before any thread
 *     pms_daemon_threads()     start the workers (they inherit the mask)
 *     pms_daemon_wait()        sigwait: the one place a signal arrives
 *     pms_daemon_join()        after the daemon told its threads to stop
 */
#ifndef PMS_DAEMON_H
#define PMS_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "pms_config.h"

/* One configuration table of a daemon. */
typedef struct {
    const pms_conf_entry_t *entries;
    size_t                  n;
} pms_daemon_conf_t;

typedef struct {
    const char              *prog;    /* "pms-billing", for messages */
    const char              *service; /* "billing", the log's service */
    const char              *usage;   /* usage lines; %1$s is argv[0] */
    const pms_daemon_conf_t *conf;    /* its tables ... */
    size_t                   nconf;
    int                     *debug;   /* where PMS_DEBUG was loaded */
    const char             **metrics; /* where its metrics address was */
} pms_daemon_t;

/*
 * --help prints the usage and every table and exits 0; a bad variable
 * prints why and exits 2.  Then logging starts, and every PMS_* variable
 * of the environment that no table names is warned about (a typo, or a
 * setting meant for another daemon).  --check-env stops there: exit 0
 * when every PMS_* variable is known and valid, 1 otherwise.
 */
void pms_daemon_init(const pms_daemon_t *d, int argc, char **argv);

/* Serves the metrics at *d->metrics (nothing when empty).  0 or -1. */
int pms_daemon_metrics(const pms_daemon_t *d);

/* 1 when a table of d names the variable name[0..len), else 0.  Pure. */
int pms_daemon_knows(const pms_daemon_t *d, const char *name, size_t len);

/* Checks that fd 0 is the listening socket spawn-fcgi handed over and
 * makes it ready for pms_serve().  0, or -1 (logged). */
int pms_daemon_fcgi_socket(void);

/* Blocks SIGTERM and SIGINT in the calling thread; sigs receives them. */
void pms_daemon_block(sigset_t *sigs);

/*
 * For a single-threaded loop: 1 once one of sigs (blocked) has arrived,
 * taken without waiting; it stays 1 afterwards.
 */
int pms_daemon_signalled(const sigset_t *sigs);

/* Waits for one of sigs; returns it (SIGTERM when sigwait fails). */
int pms_daemon_wait(const sigset_t *sigs);

/*
 * Starts n threads running fn(arg).  0, or -1 (logged) when one cannot be
 * started: then *stop is set and the ones already running are joined.
 */
int pms_daemon_threads(pthread_t *threads, int n, void *(*fn)(void *),
    void *arg, volatile sig_atomic_t *stop);

void pms_daemon_join(pthread_t *threads, int n);

#endif

/*
 * pms_prefork.h -- a master process that forks N workers, replaces any
 * worker that dies, and on SIGTERM/SIGINT asks every worker to finish
 * its in-flight request and exit, then exits 0 itself.
 */
#ifndef PMS_PREFORK_H
#define PMS_PREFORK_H

#include <signal.h>

/*
 * A worker's body: runs until *stop becomes non-zero, returns the process
 * exit status.  It runs in the child; connect to databases here, never in
 * the master (sockets must not be shared across fork).
 */
typedef int (*pms_worker_fn)(void *arg, volatile sig_atomic_t *stop);

/*
 * Runs the master loop; returns only in the master, with 0 after a clean
 * drain or 1 when workers had to be killed after drain_ms.
 */
int pms_prefork_run(int nworkers, long drain_ms, pms_worker_fn fn, void *arg);

#endif

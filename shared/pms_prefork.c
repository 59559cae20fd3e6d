/*
 * pms_prefork.c -- the pre-fork master.  It owns worker pids and signals;
 * it never touches the listening socket beyond inheriting it, and never
 * opens database or RPC connections (workers do, after fork).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pms_log.h"
#include "pms_prefork.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#define PREFORK_MAX_WORKERS 256

static volatile sig_atomic_t prefork_stop;
static volatile sig_atomic_t worker_stop;

typedef struct {
    pid_t           pid;
    struct timespec started;
} prefork_slot_t;

static void
prefork_on_term(int sig)
{
    (void) sig;
    prefork_stop = 1;
}

static void
prefork_on_chld(int sig)
{
    (void) sig;
}

static void
worker_on_term(int sig)
{
    (void) sig;
    worker_stop = 1;
}

static double
prefork_elapsed(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) + (now.tv_nsec - since->tv_nsec) / 1e9;
}

static pid_t
prefork_spawn(prefork_slot_t *slot, const sigset_t *orig, pms_worker_fn fn,
    void *arg)
{
    struct sigaction sa;
    pid_t            pid;
    int              rc;

    pid = fork();
    if (pid < 0) {
        pms_error("fork failed: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = worker_on_term;
        sa.sa_flags = SA_RESTART; /* in-flight I/O must not see EINTR */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = SIG_DFL;
        sigaction(SIGCHLD, &sa, NULL);
        sigprocmask(SIG_SETMASK, orig, NULL);
        rc = fn(arg, &worker_stop);
#ifdef __SANITIZE_ADDRESS__
        __lsan_do_leak_check(); /* _exit skips the at-exit check */
#endif
        _exit(rc);
    }
    slot->pid = pid;
    clock_gettime(CLOCK_MONOTONIC, &slot->started);
    return pid;
}

int
pms_prefork_run(int nworkers, long drain_ms, pms_worker_fn fn, void *arg)
{
    prefork_slot_t   slots[PREFORK_MAX_WORKERS];
    struct sigaction sa;
    sigset_t         block, orig;
    int              i, status, alive, killed = 0;
    pid_t            pid;
    struct timespec  drain_start;

    if (nworkers < 1 || nworkers > PREFORK_MAX_WORKERS) {
        pms_error("worker count %d outside 1..%d", nworkers,
            PREFORK_MAX_WORKERS);
        return 1;
    }
    memset(slots, 0, sizeof(slots));
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = prefork_on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = prefork_on_chld;
    sigaction(SIGCHLD, &sa, NULL);

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &orig);

    for (i = 0; i < nworkers; i++) {
        prefork_spawn(&slots[i], &orig, fn, arg);
    }
    pms_info("master ready with %d workers", nworkers);

    while (!prefork_stop) {
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (i = 0; i < nworkers; i++) {
                if (slots[i].pid != pid) {
                    continue;
                }
                pms_warn("worker %d exited (%s %d); starting a new one",
                    (int) pid, WIFSIGNALED(status) ? "signal" : "status",
                    WIFSIGNALED(status) ? WTERMSIG(status)
                                        : WEXITSTATUS(status));
                /* a worker dying at birth would make a fork storm */
                if (prefork_elapsed(&slots[i].started) < 1.0) {
                    sleep(1);
                }
                slots[i].pid = 0;
                if (!prefork_stop) {
                    prefork_spawn(&slots[i], &orig, fn, arg);
                }
            }
        }
        if (!prefork_stop) {
            sigsuspend(&orig);
        }
    }

    pms_info("draining %d workers", nworkers);
    for (i = 0; i < nworkers; i++) {
        if (slots[i].pid > 0) {
            kill(slots[i].pid, SIGTERM);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &drain_start);
    for (;;) {
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (i = 0; i < nworkers; i++) {
                if (slots[i].pid == pid) {
                    slots[i].pid = 0;
                }
            }
        }
        alive = 0;
        for (i = 0; i < nworkers; i++) {
            alive += slots[i].pid > 0;
        }
        if (alive == 0) {
            break;
        }
        if (!killed && prefork_elapsed(&drain_start) * 1000 > drain_ms) {
            pms_error("%d workers still busy after %ld ms; killing", alive,
                drain_ms);
            for (i = 0; i < nworkers; i++) {
                if (slots[i].pid > 0) {
                    kill(slots[i].pid, SIGKILL);
                }
            }
            killed = 1;
        }
        usleep(20000);
    }
    pms_info("all workers stopped");
    return killed ? 1 : 0;
}

/*
 * billing_main.c -- pms-billing: the billing gRPC daemon.  Applies the
 * billing migrations, serves BillingService/CreateBillingAccount and
 * grpc.health.v1.Health/Check, and on SIGTERM/SIGINT drains in-flight
 * calls and exits 0.  Signals are blocked before grpc_init() so gRPC's
 * threads inherit the mask and only sigwait() sees them.
 */
#include <signal.h>
#include <string.h>
#include <grpc/grpc.h>

#include "billing_server.h"
#include "pms_config.h"
#include "pms_daemon.h"
#include "pms_log.h"
#include "pms_migrate.h"

#ifndef PMS_DATADIR
#define PMS_DATADIR "/usr/local/share/pms"
#endif

static const char *cfg_listen;
static const char *cfg_db;
static const char *cfg_sql_dir;
static long        cfg_threads;
static long        cfg_grace_ms;
static int         cfg_debug;
static const char *cfg_metrics;

static const pms_conf_entry_t billing_config[] = {
    { "PMS_BILLING_LISTEN", PMS_CONF_STR, "127.0.0.1:9001", 3, 256,
        "host:port the gRPC server binds", &cfg_listen },
    { "PMS_BILLING_DB", PMS_CONF_STR, "dbname=billing", 1, 1024,
        "libpq connection string of the billing database", &cfg_db },
    { "PMS_BILLING_SQL_DIR", PMS_CONF_STR, PMS_DATADIR "/billing/sql", 1, 1024,
        "folder of the numbered SQL migrations", &cfg_sql_dir },
    { "PMS_BILLING_THREADS", PMS_CONF_INT, "4", 1, 64,
        "worker threads (each with its own database connection)",
        &cfg_threads },
    { "PMS_BILLING_GRACE_MS", PMS_CONF_INT, "5000", 0, 600000,
        "on SIGTERM, how long in-flight calls may run before cancellation",
        &cfg_grace_ms },
    { "PMS_BILLING_METRICS", PMS_CONF_STR, "", 0, 256,
        "host:port where its Prometheus metrics are served over FastCGI (empty: not served)",
        &cfg_metrics },
    { "PMS_DEBUG", PMS_CONF_BOOL, "false", 0, 0, "log at debug level",
        &cfg_debug },
};

static const pms_daemon_conf_t billing_conf[] = {
    { billing_config, sizeof(billing_config) / sizeof(billing_config[0]) },
};

static const pms_daemon_t billing_daemon = {
    "pms-billing",
    "billing",
    "usage: %1$s [--migrate]\n",
    billing_conf,
    1,
    &cfg_debug,
    &cfg_metrics,
};

int
main(int argc, char **argv)
{
    billing_server_t *srv;
    sigset_t          sigs;
    char              err[256];

    pms_daemon_init(&billing_daemon, argc, argv);
    if (pms_migrate_apply(cfg_db, cfg_sql_dir) != 0) {
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "--migrate") == 0) {
        return 0;
    }
    if (pms_daemon_metrics(&billing_daemon) != 0) {
        return 1;
    }
    pms_daemon_block(&sigs); /* before grpc_init: its threads inherit */
    grpc_init();
    srv = billing_server_start(cfg_listen, (int) cfg_threads, cfg_db, err,
        sizeof(err));
    if (srv == NULL) {
        pms_error("%s", err);
        grpc_shutdown();
        return 1;
    }
    pms_info("serving on %s with %ld threads", cfg_listen, cfg_threads);
    pms_daemon_wait(&sigs);
    billing_server_stop(srv, cfg_grace_ms);
    grpc_shutdown();
    pms_info("stopped");
    return 0;
}

/*
 * patient_main.c -- pms-patient: the patient FastCGI service.  spawn-fcgi
 * (-n) hands it the listening socket on fd 0; the master applies the
 * migrations, then pre-forks workers that each open their own database
 * connection.  Configuration is the table below, from the environment.
 */
#include <string.h>

#include "patient_api.h"
#include "patient_store.h"
#include "pms_config.h"
#include "pms_daemon.h"
#include "pms_log.h"
#include "pms_migrate.h"
#include "pms_prefork.h"
#include "pms_serve.h"

#ifndef PMS_DATADIR
#define PMS_DATADIR "/usr/local/share/pms"
#endif

static long        cfg_workers;
static long        cfg_drain_ms;
static const char *cfg_db;
static const char *cfg_sql_dir;
static const char *cfg_prefix;
static const char *cfg_billing_target;
static long        cfg_billing_timeout_ms;
static int         cfg_debug;

static const pms_conf_entry_t patient_config[] = {
    { "PMS_PATIENT_WORKERS", PMS_CONF_INT, "4", 1, 64,
        "worker processes serving requests", &cfg_workers },
    { "PMS_PATIENT_DB", PMS_CONF_STR, "dbname=patients", 1, 1024,
        "libpq connection string of the patients database", &cfg_db },
    { "PMS_PATIENT_SQL_DIR", PMS_CONF_STR, PMS_DATADIR "/patient/sql", 1, 1024,
        "folder of the numbered SQL migrations", &cfg_sql_dir },
    { "PMS_PUBLIC_PREFIX", PMS_CONF_STR, "/api", 0, 64,
        "path prefix the gateway strips, used in Location and Link",
        &cfg_prefix },
    { "PMS_BILLING_TARGET", PMS_CONF_STR, "127.0.0.1:9001", 3, 256,
        "host:port of pms-billing", &cfg_billing_target },
    { "PMS_BILLING_TIMEOUT_MS", PMS_CONF_INT, "2000", 10, 8000,
        "deadline of the CreateBillingAccount call on create (below nginx's 10 s)",
        &cfg_billing_timeout_ms },
    { "PMS_DRAIN_MS", PMS_CONF_INT, "10000", 0, 600000,
        "on SIGTERM, how long in-flight requests may take before a kill",
        &cfg_drain_ms },
    { "PMS_DEBUG", PMS_CONF_BOOL, "false", 0, 0, "log at debug level",
        &cfg_debug },
};

static const pms_daemon_conf_t patient_conf[] = {
    { patient_config, sizeof(patient_config) / sizeof(patient_config[0]) },
};

static const pms_daemon_t patient_daemon = {
    "pms-patient", "patient",
    "usage: spawn-fcgi -n -a ADDR -p PORT -- %1$s\n       %1$s --migrate\n",
    patient_conf, 1, &cfg_debug,
    NULL, /* metrics: answered on its FastCGI socket */
};

static int
patient_worker(void *arg, volatile sig_atomic_t *stop)
{
    patient_ctx_t ctx;
    int           rc;

    (void) arg;
    ctx.public_prefix = cfg_prefix;
    ctx.db = pms_db_new(cfg_db, patient_store_stmts, patient_store_nstmts);
    if (ctx.db == NULL) {
        pms_error("out of memory");
        return 1;
    }
    ctx.billing =
        patient_billing_new(cfg_billing_target, cfg_billing_timeout_ms);
    if (ctx.billing == NULL) {
        pms_error("cannot set up the billing client");
        pms_db_free(ctx.db);
        return 1;
    }
    (void) pms_db_ensure(ctx.db); /* failures are retried per request */
    rc = pms_serve(0, patient_api_handle, &ctx, stop);
    patient_billing_free(ctx.billing);
    pms_db_free(ctx.db);
    return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    pms_daemon_init(&patient_daemon, argc, argv);
    if (pms_migrate_apply(cfg_db, cfg_sql_dir) != 0) {
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "--migrate") == 0) {
        return 0;
    }
    if (pms_daemon_fcgi_socket() != 0) {
        return 1;
    }
    /* the master's signals and the workers' drain belong to pms_prefork */
    return pms_prefork_run((int) cfg_workers, cfg_drain_ms, patient_worker,
        NULL);
}

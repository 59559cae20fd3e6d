/*
 * analytics_main.c -- pms-analytics: consumes the "patient" topic in group
 * analytics-service and serves GET /analytics/summary over FastCGI
 * (spawn-fcgi -n hands the socket on fd 0).  One consumer thread applies
 * what has arrived (up to 256 events) in one database statement and
 * stores their offsets only after that statement committed; FastCGI
 * threads read the aggregates.  A batch the database refuses, or with a
 * message that does not decode, goes one message at a time: a message
 * that does not decode is recorded and skipped.  SIGTERM: stop
 * serving, commit the stored offsets, leave the group, exit 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>

#include "analytics_decode.h"
#include "analytics_store.h"
#include "pms_config.h"
#include "pms_daemon.h"
#include "pms_kafka.h"
#include "pms_log.h"
#include "pms_metrics.h"
#include "pms_trace.h"
#include "pms_migrate.h"
#include "pms_serve.h"

#ifndef PMS_DATADIR
#define PMS_DATADIR "/usr/local/share/pms"
#endif

static const char *cfg_db;
static const char *cfg_sql_dir;
static long        cfg_threads;
static int         cfg_debug;

static const pms_conf_entry_t analytics_config[] = {
    { "PMS_ANALYTICS_DB", PMS_CONF_STR, "dbname=analytics", 1, 1024,
        "libpq connection string of the analytics database", &cfg_db },
    { "PMS_ANALYTICS_SQL_DIR", PMS_CONF_STR, PMS_DATADIR "/analytics/sql", 1,
        1024, "folder of the numbered SQL migrations", &cfg_sql_dir },
    { "PMS_ANALYTICS_THREADS", PMS_CONF_INT, "2", 1, 32,
        "threads answering FastCGI requests", &cfg_threads },
    { "PMS_DEBUG", PMS_CONF_BOOL, "false", 0, 0, "log at debug level",
        &cfg_debug },
};

static const pms_daemon_conf_t analytics_conf[] = {
    { analytics_config,
        sizeof(analytics_config) / sizeof(analytics_config[0]) },
    { pms_kafka_config, PMS_KAFKA_NCONFIG },
};

static const pms_daemon_t analytics_daemon = {
    "pms-analytics", "analytics",
    "usage: spawn-fcgi -n -a 127.0.0.1 -p 4002 -- %1$s\n       %1$s --migrate\n",
    analytics_conf, 2, &cfg_debug,
    NULL, /* metrics: answered on its FastCGI socket */
};

static const pms_metric_t m_consumed = PMS_COUNTER("events_consumed_total",
    "events applied or found to be duplicates, by type", "type", NULL);
static const pms_metric_t m_undecodable =
    PMS_COUNTER("events_undecodable_total",
        "messages recorded as undecodable (or refused by the database) and"
        " skipped",
        NULL, NULL);
static const pms_metric_t m_batches = PMS_COUNTER("batches_total",
    "statements that applied what had arrived, by how they went", "result",
    NULL);
static const pms_metric_t m_lag = PMS_GAUGE("consumer_lag",
    "messages behind the partition's end (every 2 s)", "partition", NULL);

static volatile sig_atomic_t analytics_stop;
static __thread pms_db_t    *analytics_db; /* each thread's connection */

static pms_db_t *
analytics_thread_db(void)
{
    if (analytics_db == NULL) {
        analytics_db =
            pms_db_new(cfg_db, analytics_store_stmts, analytics_store_nstmts);
    }
    return analytics_db;
}

/*
 * Stores, per partition, the offset after the last of ms[0..n-1] (they come
 * in poll order): called only once their events are committed, so a crash
 * delivers them again and never skips one.
 */
static void
analytics_store_offsets(rd_kafka_t *rk, const rd_kafka_message_t *const *ms,
    size_t n)
{
    rd_kafka_topic_partition_list_t *offs;
    rd_kafka_topic_partition_t      *tp;
    size_t                           i;

    offs = rd_kafka_topic_partition_list_new((int) n);
    for (i = 0; i < n; i++) {
        const char *topic = rd_kafka_topic_name(ms[i]->rkt);

        tp = rd_kafka_topic_partition_list_find(offs, topic, ms[i]->partition);
        if (tp == NULL) {
            tp = rd_kafka_topic_partition_list_add(offs, topic,
                ms[i]->partition);
        }
        tp->offset = ms[i]->offset + 1;
    }
    if (rd_kafka_offsets_store(rk, offs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        pms_warn("could not store the offsets of %zu messages", n);
    }
    rd_kafka_topic_partition_list_destroy(offs);
}

/*
 * Counts an applied event; when its message carries a sampled trace, logs
 * it (with the trace id) so one request can be followed to here.
 */
static void
analytics_counted(const rd_kafka_message_t *m, const analytics_event_t *ev)
{
    pms_metric_add(&m_consumed, ev->event_type, NULL, 1);
    if (pms_kafka_trace(m) == 0 && pms_trace_sampled()) {
        pms_log_fields(PMS_LOG_INFO,
            json_pack("{s:s, s:s, s:i, s:I}", "event_id", ev->event_id,
                "event_type", ev->event_type, "partition", (int) m->partition,
                "offset", (json_int_t) m->offset),
            "event applied");
    }
    pms_trace_set(NULL);
}

/* Applies or records one message; retries while the database is down. */
static int
analytics_handle(rd_kafka_t *rk, const rd_kafka_message_t *m)
{
    analytics_event_t              ev;
    Patient__Events__PatientEvent *pe;
    char                           idbuf[64], why[128];
    pms_status_t                   st;
    pms_db_t                      *db;
    int                            applied = 0;

    pe = analytics_decode(m->payload, m->len, m->partition, m->offset, &ev,
        idbuf, sizeof(idbuf), why, sizeof(why));
    for (;;) {
        if ((db = analytics_thread_db()) == NULL) {
            st = PMS_UNAVAILABLE; /* no memory for the handle yet */
        } else if (pe != NULL) {
            st = analytics_store_apply(db, &ev, &applied);
            if (st != PMS_OK && st != PMS_UNAVAILABLE) {
                /* the database refuses this event itself, so a retry
                 * cannot help: record it as undecodable and go on */
                snprintf(why, sizeof(why),
                    "the analytics database refused the event (%s)",
                    pms_status_name(st));
                patient__events__patient_event__free_unpacked(pe, NULL);
                pe = NULL;
                continue;
            }
        } else {
            st = analytics_store_undecodable(db, m->partition, m->offset,
                m->payload ? m->payload : "", m->len, why);
        }
        if (st == PMS_OK || analytics_stop) {
            break;
        }
        pms_warn("analytics database unavailable; retrying the same event");
        sleep(1);
    }
    if (pe != NULL) {
        if (st == PMS_OK) {
            analytics_counted(m, &ev);
        }
        patient__events__patient_event__free_unpacked(pe, NULL);
    } else if (st == PMS_OK) {
        pms_metric_add(&m_undecodable, NULL, NULL, 1);
        pms_log_fields(PMS_LOG_WARN,
            json_pack("{s:i, s:I}", "partition", (int) m->partition, "offset",
                (json_int_t) m->offset),
            "undecodable message recorded and skipped: %s", why);
    }
    if (st != PMS_OK) {
        return -1; /* not stored: it will be delivered again */
    }
    if (!applied && pe != NULL) {
        pms_debug("duplicate event ignored");
    }
    analytics_store_offsets(rk, &m, 1);
    return 0;
}

/*
 * A batch: one consumer thread owns these.  Events borrow from their
 * unpacked messages (pe) and ids written into idbuf.
 */
#define ANALYTICS_BATCH_MAX 256

typedef struct {
    Patient__Events__PatientEvent *pe;
    char                           idbuf[64];
} analytics_item_t;

static analytics_item_t  analytics_items[ANALYTICS_BATCH_MAX];
static analytics_event_t analytics_evs[ANALYTICS_BATCH_MAX];

/*
 * Applies ms[0..n-1] in one statement and stores their offsets after it
 * committed.  0, or -1 when nothing was applied and the batch must go one
 * message at a time: a message that does not decode, a statement the
 * database refused (some event in it is bad) or could not run.
 */
static int
analytics_apply_batch(rd_kafka_t *rk, rd_kafka_message_t **ms, size_t n)
{
    char         why[128];
    size_t       i, ok;
    int          applied = 0;
    pms_status_t st = PMS_ERROR;
    pms_db_t    *db;

    for (ok = 0; ok < n; ok++) {
        analytics_items[ok].pe =
            analytics_decode(ms[ok]->payload, ms[ok]->len, ms[ok]->partition,
                ms[ok]->offset, &analytics_evs[ok], analytics_items[ok].idbuf,
                sizeof(analytics_items[ok].idbuf), why, sizeof(why));
        if (analytics_items[ok].pe == NULL) {
            break;
        }
    }
    if (ok == n && (db = analytics_thread_db()) != NULL) {
        st = analytics_store_apply_batch(db, analytics_evs, n, &applied);
    }
    pms_metric_add(&m_batches, st == PMS_OK ? "applied" : "one by one", NULL,
        1);
    for (i = 0; i < ok; i++) {
        if (st == PMS_OK) {
            analytics_counted(ms[i], &analytics_evs[i]);
        }
        patient__events__patient_event__free_unpacked(analytics_items[i].pe,
            NULL);
    }
    if (st != PMS_OK) {
        return -1;
    }
    pms_debug("%d of %zu events applied in one statement", applied, n);
    analytics_store_offsets(rk, (const rd_kafka_message_t *const *) ms, n);
    return 0;
}

/*
 * Waits up to 200 ms for a message, then takes what is already there, up
 * to max: a batch of what arrived while the last one was applied.  Error
 * events are logged and dropped.  Returns how many are in ms.
 */
static size_t
analytics_poll_batch(rd_kafka_t *rk, rd_kafka_message_t **ms, size_t max)
{
    rd_kafka_message_t *m;
    size_t              n = 0;

    while (
        n < max && (m = rd_kafka_consumer_poll(rk, n == 0 ? 200 : 0)) != NULL) {
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                pms_debug("consumer: %s", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        ms[n++] = m;
    }
    return n;
}

/* The lag of each assigned partition: its end (as last fetched) minus the
 * position; nothing for a partition without both. */
static void
analytics_lag(rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *parts;
    int64_t                          lo, hi;
    char                             label[16];
    int                              i;

    if (rd_kafka_assignment(rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return;
    }
    if (rd_kafka_position(rk, parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (i = 0; i < parts->cnt; i++) {
            if (parts->elems[i].offset >= 0
                && rd_kafka_get_watermark_offsets(rk, parts->elems[i].topic,
                       parts->elems[i].partition, &lo, &hi)
                    == RD_KAFKA_RESP_ERR_NO_ERROR
                && hi >= 0) {
                snprintf(label, sizeof(label), "%d",
                    (int) parts->elems[i].partition);
                pms_metric_set(&m_lag, label, NULL,
                    (double) (hi > parts->elems[i].offset
                            ? hi - parts->elems[i].offset
                            : 0));
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

static void *
analytics_consume(void *arg)
{
    rd_kafka_t                      *rk = arg;
    rd_kafka_topic_partition_list_t *topics;
    rd_kafka_message_t              *ms[ANALYTICS_BATCH_MAX];
    size_t                           n, i;
    double                           next_lag = 0;

    topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, pms_kafka.topic,
        RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(rk, topics) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        pms_error("cannot subscribe to %s", pms_kafka.topic);
    }
    rd_kafka_topic_partition_list_destroy(topics);
    while (!analytics_stop) {
        if (pms_metrics_now() >= next_lag) {
            next_lag = pms_metrics_now() + 2;
            analytics_lag(rk);
        }
        n = analytics_poll_batch(rk, ms, ANALYTICS_BATCH_MAX);
        if (n > 0 && analytics_apply_batch(rk, ms, n) != 0) {
            /* in order, and none stored after one that was not (which
             * happens only when stopping): those come again */
            i = 0;
            while (i < n && analytics_handle(rk, ms[i]) == 0) {
                i++;
            }
        }
        for (i = 0; i < n; i++) {
            rd_kafka_message_destroy(ms[i]);
        }
    }
    /* commits the stored offsets and leaves the group */
    rd_kafka_consumer_close(rk);
    pms_db_free(analytics_db);
    analytics_db = NULL;
    return NULL;
}

static void
analytics_http(void *ctx, pms_req_t *req, pms_resp_t *resp)
{
    json_t      *summary;
    pms_db_t    *db;
    pms_status_t st;

    (void) ctx;
    if (strcmp(req->path, "/analytics/summary") != 0) {
        pms_resp_problem(resp, 404, "no such resource");
        return;
    }
    resp->route = "GET /analytics/summary";
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        pms_resp_header(resp, "Allow", "GET, HEAD");
        pms_resp_problem(resp, 405,
            "this method is not supported on this resource");
        return;
    }
    db = analytics_thread_db();
    summary = db != NULL ? analytics_store_summary(db, &st) : NULL;
    if (summary == NULL) {
        pms_resp_header(resp, "Retry-After", "1");
        pms_resp_problem(resp, 503, "the analytics database is unavailable");
        return;
    }
    pms_resp_json(resp, 200, summary);
}

static void *
analytics_serve(void *arg)
{
    (void) arg;
    (void) pms_serve(0, analytics_http, NULL, &analytics_stop);
    pms_db_free(analytics_db);
    analytics_db = NULL;
    return NULL;
}

static rd_kafka_t *
analytics_consumer(void)
{
    static const pms_kafka_setting_t consumer[] = {
        { "auto.offset.reset", "earliest" },
        { "enable.auto.offset.store",
            "false" }, /* stored after the DB commit */
        { "enable.auto.commit", "true" },
        { "auto.commit.interval.ms", "1000" },
        /* prefetch at most 2 MB per partition (librdkafka's default is
         * 64 MB): events are small and the store is the pace, so a
         * bigger local queue only costs resident memory */
        { "queued.max.messages.kbytes", "2048" },
        { NULL, NULL },
    };
    rd_kafka_conf_t *conf;
    rd_kafka_t      *rk;
    char             err[512];

    if ((conf = pms_kafka_conf(RD_KAFKA_CONSUMER, consumer, err, sizeof(err)))
        == NULL) {
        pms_error("kafka configuration: %s", err);
        return NULL;
    }
    if ((rk = pms_kafka_new(RD_KAFKA_CONSUMER, conf)) == NULL) {
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

int
main(int argc, char **argv)
{
    pthread_t   consumer, threads[32];
    rd_kafka_t *rk;
    sigset_t    sigs;
    int         sig;

    pms_daemon_init(&analytics_daemon, argc, argv);
    if (pms_migrate_apply(cfg_db, cfg_sql_dir) != 0) {
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "--migrate") == 0) {
        return 0;
    }
    if (pms_daemon_fcgi_socket() != 0) {
        return 1;
    }
    pms_daemon_block(&sigs); /* threads inherit the mask */
    if ((rk = analytics_consumer()) == NULL) {
        return 1;
    }
    if (pms_daemon_threads(&consumer, 1, analytics_consume, rk, &analytics_stop)
        != 0) {
        rd_kafka_destroy(rk);
        return 1;
    }
    if (pms_daemon_threads(threads, (int) cfg_threads, analytics_serve, NULL,
            &analytics_stop)
        != 0) {
        pms_daemon_join(&consumer, 1);
        rd_kafka_destroy(rk);
        return 1;
    }
    pms_info("consuming %s as %s from %s (%s); serving the summary",
        pms_kafka.topic, pms_kafka.group, pms_kafka.brokers,
        pms_kafka.security_protocol);
    sig = pms_daemon_wait(&sigs);
    analytics_stop = 1;
    pms_daemon_join(threads, (int) cfg_threads);
    pms_daemon_join(&consumer, 1);
    rd_kafka_destroy(rk);
    pms_info("stopped on signal %d", sig);
    return 0;
}

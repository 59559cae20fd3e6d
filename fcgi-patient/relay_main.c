/*
 * relay_main.c -- pms-relay: publishes the patient outbox to Kafka.
 * While there is work it stays awake and polls the outbox every few
 * milliseconds; after a quiet spell it records in relay_wait that it is
 * asleep, so writers' triggers NOTIFY it (only then: a NOTIFY per commit
 * serialises all commits), and a periodic sweep is the fallback.  Every
 * read starts at the lowest unpublished row and skips only rows in flight
 * (never "after the last seq seen"), which keeps a row whose transaction
 * committed late ahead of that patient's later events.  Rows are marked
 * published only after Kafka acknowledged them; a crash in between
 * re-sends them, and consumers dedupe by event_id.  A fatal producer error
 * exits non-zero; supervisord restarts.
 *
 * The parts: relay_outbox.c (the database), relay_producer.c (Kafka),
 * relay_flight.c (which rows are where).  This file is the loop.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pms_config.h"
#include "pms_daemon.h"
#include "pms_kafka.h"
#include "pms_log.h"
#include "pms_metrics.h"
#include "relay_outbox.h"
#include "relay_producer.h"

static const char *cfg_db;
static long        cfg_partitions;
static long        cfg_batch;
static long        cfg_sweep_ms;
static long        cfg_max_inflight;
static long        cfg_poll_ms;
static long        cfg_idle_ms;
static int         cfg_debug;
static const char *cfg_metrics;

static const pms_conf_entry_t relay_config[] = {
    { "PMS_RELAY_DB", PMS_CONF_STR, "dbname=patients", 1, 1024,
        "libpq connection string of the patients database", &cfg_db },
    { "PMS_KAFKA_PARTITIONS", PMS_CONF_INT, "3", 1, 1000,
        "partitions of the topic when the relay creates it", &cfg_partitions },
    { "PMS_RELAY_BATCH", PMS_CONF_INT, "500", 1, 100000,
        "rows read from the outbox per query", &cfg_batch },
    { "PMS_RELAY_SWEEP_MS", PMS_CONF_INT, "1000", 50, 600000,
        "sweep interval when no notification arrives", &cfg_sweep_ms },
    { "PMS_RELAY_POLL_MS", PMS_CONF_INT, "5", 1, 1000,
        "outbox poll interval while awake", &cfg_poll_ms },
    { "PMS_RELAY_IDLE_MS", PMS_CONF_INT, "200", 1, 600000,
        "quiet time before it sleeps and asks writers to notify it",
        &cfg_idle_ms },
    { "PMS_RELAY_MAX_INFLIGHT", PMS_CONF_INT, "20000", 1, 1000000,
        "events handed to Kafka but not yet acknowledged, at most",
        &cfg_max_inflight },
    { "PMS_RELAY_METRICS", PMS_CONF_STR, "", 0, 256,
        "host:port where its Prometheus metrics are served over FastCGI (empty: not served)",
        &cfg_metrics },
    { "PMS_DEBUG", PMS_CONF_BOOL, "false", 0, 0, "log at debug level",
        &cfg_debug },
};

static const pms_daemon_conf_t relay_conf[] = {
    { relay_config, sizeof(relay_config) / sizeof(relay_config[0]) },
    { pms_kafka_config, PMS_KAFKA_NCONFIG },
};

static const pms_daemon_t relay_daemon = {
    "pms-relay",
    "relay",
    "usage: %1$s\n",
    relay_conf,
    2,
    &cfg_debug,
    &cfg_metrics,
};

/* Everything the loop keeps between rounds. */
typedef struct {
    pms_db_t        *db;
    PGconn          *listening; /* the connection that LISTENs, or NULL */
    relay_producer_t out;
    double           next_sweep;
    double           next_lag;
    double           next_backlog;
    double           last_work;
    int              woken; /* a notification (or a hunch) arrived */
    int              awake; /* polling; writers do not notify */
    int              have_topic;
} relay_t;

static const pms_metric_t m_backlog = PMS_GAUGE("outbox_backlog",
    "outbox rows not yet published (measured every second)", NULL, NULL);
static const pms_metric_t m_oldest =
    PMS_GAUGE("outbox_oldest_unpublished_age_seconds",
        "age of the oldest unpublished outbox row (0 when none)", NULL, NULL);
static const pms_metric_t m_in_flight = PMS_GAUGE("events_in_flight",
    "events handed to Kafka and not yet acknowledged", NULL, NULL);
static const pms_metric_t m_consumer_lag = PMS_GAUGE("consumer_lag",
    "the analytics group's lag summed over the topic (every 5 s)", NULL, NULL);

/* The outbox gauges, from one query. */
static void
relay_gauges(relay_t *r)
{
    long long rows;
    double    age;

    pms_metric_set(&m_in_flight, NULL, NULL, (double) r->out.flight.live);
    if (relay_outbox_backlog(r->db, &rows, &age) == PMS_OK) {
        pms_metric_set(&m_backlog, NULL, NULL, (double) rows);
        pms_metric_set(&m_oldest, NULL, NULL, age);
    }
}

static double
relay_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* (Re)connects and LISTENs; a new connection means rows may be waiting. */
static void
relay_listen(relay_t *r)
{
    if (pms_db_ensure(r->db) != PMS_OK || pms_db_conn(r->db) == r->listening) {
        return;
    }
    r->listening = pms_db_conn(r->db);
    if (pms_db_command(r->listening, "LISTEN outbox") != PMS_OK) {
        r->listening = NULL;
    }
    r->woken = 1;
    r->awake = 1; /* the stored state is unknown: poll, then sleep */
    r->last_work = relay_now();
}

/* Reads the lowest unpublished rows and produces those not in flight. */
static void
relay_round(relay_t *r, double now)
{
    PGresult *rows;
    int       got;

    r->woken = 0;
    r->next_sweep = now + cfg_sweep_ms / 1000.0;
    if (relay_outbox_pending(r->db, cfg_batch + (long) r->out.flight.live,
            &rows)
        != PMS_OK) {
        return;
    }
    got = relay_producer_send(&r->out, rows);
    PQclear(rows);
    if (got < 0) {
        relay_producer_poll(&r->out, 100); /* queue full: let it drain */
        r->woken = 1;
        return;
    }
    if (got >= cfg_batch) {
        r->woken = 1; /* more waiting: go again */
    }
    if (got > 0) {
        r->last_work = now;
        if (!r->awake && relay_outbox_set_waiting(r->db, 0) == PMS_OK) {
            r->awake = 1; /* busy: writers stop notifying */
        }
    }
}

/* Waits for a notification, briefly while there is work. */
static void
relay_wait(relay_t *r)
{
    struct pollfd pfd;
    PGnotify     *n;
    int           busy = r->awake || r->out.flight.live > 0 || r->woken;

    if (r->listening == NULL) {
        usleep(200000);
        return;
    }
    pfd.fd = PQsocket(r->listening);
    pfd.events = POLLIN;
    if (poll(&pfd, 1, busy ? (int) cfg_poll_ms : 100) <= 0
        || !PQconsumeInput(r->listening)) {
        return; /* a lost connection is reopened next round */
    }
    while ((n = PQnotifies(r->listening)) != NULL) {
        r->woken = 1;
        PQfreemem(n);
    }
}

static void
relay_step(relay_t *r)
{
    double    now;
    long long lag;

    relay_listen(r);
    relay_producer_poll(&r->out, 0);
    relay_outbox_mark(r->db, &r->out.acked);
    now = relay_now();
    if ((r->woken || r->awake || now >= r->next_sweep) && r->listening != NULL
        && (long) r->out.flight.live < cfg_max_inflight) {
        relay_round(r, now);
    }
    if (r->awake && r->out.flight.live == 0
        && now - r->last_work >= cfg_idle_ms / 1000.0
        && relay_outbox_set_waiting(r->db, 1) == PMS_OK) {
        r->awake = 0;
        r->woken = 1; /* one more look: a write may have just missed it */
    }
    if (now >= r->next_lag) {
        r->next_lag = now + 5;
        if (relay_producer_lag(&r->out, &lag) == 0) {
            relay_outbox_set_lag(r->db, lag);
            pms_metric_set(&m_consumer_lag, NULL, NULL, (double) lag);
        }
    }
    if (now >= r->next_backlog) {
        r->next_backlog = now + 1;
        relay_gauges(r);
    }
    relay_wait(r);
}

int
main(int argc, char **argv)
{
    relay_t  r;
    sigset_t sigs;
    int      queued;

    pms_daemon_init(&relay_daemon, argc, argv);
    if (pms_daemon_metrics(&relay_daemon) != 0) {
        return 1;
    }
    pms_daemon_block(&sigs); /* taken between rounds, never mid-call */
    memset(&r, 0, sizeof(r));
    r.woken = 1;
    r.db = pms_db_new(cfg_db, relay_outbox_stmts, relay_outbox_nstmts);
    if (r.db == NULL || relay_producer_open(&r.out) != 0) {
        relay_producer_close(&r.out);
        pms_db_free(r.db);
        return 1;
    }
    pms_info("relaying outbox to topic %s at %s (%s)", pms_kafka.topic,
        pms_kafka.brokers, pms_kafka.security_protocol);
    while (!pms_daemon_signalled(&sigs) && !r.out.fatal) {
        if (!r.have_topic) {
            r.have_topic =
                relay_producer_create_topic(&r.out, (int) cfg_partitions) == 0;
            if (!r.have_topic) {
                usleep(500000); /* Kafka not there yet */
                continue;
            }
            pms_info("topic %s ready", pms_kafka.topic);
        }
        relay_step(&r);
    }
    pms_info("flushing %zu in-flight events", r.out.flight.live);
    queued = relay_producer_flush(&r.out, 10000);
    relay_outbox_mark(r.db, &r.out.acked);
    relay_producer_close(&r.out);
    if (queued > 0) {
        pms_warn("%d events stayed queued; they stay in the outbox and go out"
                 " on the next start",
            queued);
    }
    pms_db_free(r.db);
    pms_info("stopped");
    return r.out.fatal ? 1 : 0;
}

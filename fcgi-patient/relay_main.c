/*
 * relay_main.c -- pms-relay: publishes the patient outbox to Kafka.
 * While there is work it stays awake and polls the outbox every few
 * milliseconds; after a quiet spell it records in relay_wait that it is
 * asleep, so writers' triggers NOTIFY it (only then: a NOTIFY per commit
 * serialises all commits), and a periodic sweep is the fallback.  It reads
 * unpublished rows in seq order, produces them with an idempotent
 * producer (acks=all, key = patientId, no local timeout, so nothing is
 * dropped while Kafka is away and per-partition order holds), and sets
 * published_at only for rows whose delivery report succeeded.  A crash
 * between delivery and marking re-sends those rows: consumers dedupe by
 * event_id.  It also measures the analytics consumer group's lag for
 * /health.  A fatal producer error exits non-zero; supervisord restarts.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>

#include "pms_config.h"
#include "pms_db.h"
#include "pms_log.h"

static const char *cfg_db;
static const char *cfg_brokers;
static const char *cfg_topic;
static const char *cfg_group;
static long        cfg_partitions;
static long        cfg_batch;
static long        cfg_sweep_ms;
static long        cfg_max_inflight;
static long        cfg_poll_ms;
static long        cfg_idle_ms;
static int         cfg_debug;

static const pms_conf_entry_t relay_config[] = {
    { "PMS_RELAY_DB", PMS_CONF_STR, "dbname=patients", 1, 1024,
      "libpq connection string of the patients database", &cfg_db },
    { "PMS_KAFKA_BROKERS", PMS_CONF_STR, "127.0.0.1:9092", 3, 512,
      "Kafka bootstrap servers", &cfg_brokers },
    { "PMS_KAFKA_TOPIC", PMS_CONF_STR, "patient", 1, 249,
      "topic the events go to", &cfg_topic },
    { "PMS_ANALYTICS_GROUP", PMS_CONF_STR, "analytics-service", 1, 255,
      "consumer group whose lag /health reports", &cfg_group },
    { "PMS_KAFKA_PARTITIONS", PMS_CONF_INT, "3", 1, 1000,
      "partitions of the topic when the relay creates it", &cfg_partitions },
    { "PMS_RELAY_BATCH", PMS_CONF_INT, "500", 1, 100000,
      "rows read from the outbox per query", &cfg_batch },
    { "PMS_RELAY_SWEEP_MS", PMS_CONF_INT, "1000", 50, 600000,
      "sweep interval when no notification arrives", &cfg_sweep_ms },
    { "PMS_RELAY_POLL_MS", PMS_CONF_INT, "5", 1, 1000,
      "outbox poll interval while awake", &cfg_poll_ms },
    { "PMS_RELAY_IDLE_MS", PMS_CONF_INT, "200", 1, 600000,
      "quiet time before it sleeps and asks writers to notify it", &cfg_idle_ms },
    { "PMS_RELAY_MAX_INFLIGHT", PMS_CONF_INT, "20000", 1, 20000,
      "events handed to Kafka but not yet acknowledged, at most", &cfg_max_inflight },
    { "PMS_DEBUG", PMS_CONF_BOOL, "false", 0, 0, "log at debug level", &cfg_debug },
};

#define RELAY_NCONFIG (sizeof(relay_config) / sizeof(relay_config[0]))

static const pms_db_stmt_t relay_stmts[] = {
    { "relay_pending",
      "SELECT seq, patient_id::text, payload FROM outbox"
      " WHERE published_at IS NULL ORDER BY seq LIMIT $1::int" },
    { "relay_done",
      "UPDATE outbox SET published_at = now()"
      " WHERE seq = ANY($1::bigint[]) AND published_at IS NULL" },
    { "relay_wait",
      "UPDATE relay_wait SET waiting = $1::boolean WHERE id = 1" },
    { "relay_lag",
      "INSERT INTO relay_status (id, consumer_lag, measured_at)"
      " VALUES (1, $1::bigint, now()) ON CONFLICT (id) DO UPDATE"
      " SET consumer_lag = EXCLUDED.consumer_lag, measured_at = now()" },
};

static volatile sig_atomic_t relay_stop;
static int                   relay_fatal;
static long long            *delivered;      /* seqs acknowledged by Kafka */
static size_t                ndelivered, cap_delivered;
static long                  inflight;

/*
 * The seqs handed to Kafka that have no delivery report yet: an
 * open-addressing set (0 = empty, -1 = deleted), so every read can start
 * at the lowest unpublished row and skip only what is in flight.  Reading
 * from the lowest row (never "after the last seq seen") is what keeps a
 * row whose transaction committed late ahead of that patient's later
 * events.
 */
#define RELAY_FLIGHT_SLOTS 65536        /* > 3 x the largest in-flight cap */
static long long             flight[RELAY_FLIGHT_SLOTS];
static long                  flight_deleted;

static size_t
flight_slot(long long seq)
{
    return (size_t) ((unsigned long long) seq * 11400714819323198485ull
                     >> 48) % RELAY_FLIGHT_SLOTS;
}

static int
flight_has(long long seq)
{
    size_t i = flight_slot(seq);

    while (flight[i] != 0) {
        if (flight[i] == seq) {
            return 1;
        }
        i = (i + 1) % RELAY_FLIGHT_SLOTS;
    }
    return 0;
}

static void
flight_rebuild(void)
{
    static long long live[RELAY_FLIGHT_SLOTS];
    size_t           i, n = 0;

    for (i = 0; i < RELAY_FLIGHT_SLOTS; i++) {
        if (flight[i] > 0) {
            live[n++] = flight[i];
        }
    }
    memset(flight, 0, sizeof(flight));
    flight_deleted = 0;
    while (n > 0) {
        long long seq = live[--n];

        i = flight_slot(seq);
        while (flight[i] != 0) {
            i = (i + 1) % RELAY_FLIGHT_SLOTS;
        }
        flight[i] = seq;
    }
}

static void
flight_add(long long seq)
{
    size_t i = flight_slot(seq);

    while (flight[i] > 0) {
        i = (i + 1) % RELAY_FLIGHT_SLOTS;
    }
    if (flight[i] < 0) {
        flight_deleted--;
    }
    flight[i] = seq;
}

static void
flight_del(long long seq)
{
    size_t i = flight_slot(seq);

    while (flight[i] != 0) {
        if (flight[i] == seq) {
            flight[i] = -1;
            if (++flight_deleted > RELAY_FLIGHT_SLOTS / 4) {
                flight_rebuild();
            }
            return;
        }
        i = (i + 1) % RELAY_FLIGHT_SLOTS;
    }
}

static void
relay_on_signal(int sig)
{
    (void) sig;
    relay_stop = 1;
}

static double
relay_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Delivery report: runs inside rd_kafka_poll() on this thread. */
static void
relay_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    long long seq = (long long) (intptr_t) m->_private;

    (void) rk;
    (void) opaque;
    inflight--;
    flight_del(seq);
    if (m->err) {
        /* still unpublished in the outbox: the next read sends it again */
        pms_warn("event seq %lld not delivered: %s", seq, rd_kafka_err2str(m->err));
        return;
    }
    if (ndelivered == cap_delivered) {
        size_t     cap = cap_delivered ? cap_delivered * 2 : 1024;
        long long *grown = realloc(delivered, cap * sizeof(*grown));

        if (grown == NULL) {
            pms_error("out of memory recording a delivery; it will be re-sent");
            return;
        }
        delivered = grown;
        cap_delivered = cap;
    }
    delivered[ndelivered++] = seq;
}

static void
relay_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    char fatal[512];

    (void) opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        pms_error("fatal producer error: %s; restarting", fatal);
        relay_fatal = 1;
        return;
    }
    pms_debug("kafka: %s: %s", rd_kafka_err2name(err), reason);
}

/* Marks acknowledged rows published; keeps them for later if the DB fails. */
static void
relay_mark(pms_db_t *db)
{
    char        *arr, *p;
    const char  *params[1];
    PGresult    *res;
    size_t       i;

    if (ndelivered == 0) {
        return;
    }
    arr = malloc(ndelivered * 21 + 3);
    if (arr == NULL) {
        return;
    }
    p = arr;
    *p++ = '{';
    for (i = 0; i < ndelivered; i++) {
        p += sprintf(p, "%s%lld", i ? "," : "", delivered[i]);
    }
    *p++ = '}';
    *p = '\0';
    params[0] = arr;
    if (pms_db_exec(db, "relay_done", 1, params, &res, NULL) == PMS_OK) {
        pms_debug("marked %zu events published", ndelivered);
        PQclear(res);
        ndelivered = 0;
    }
    free(arr);
}

/*
 * Reads the lowest unpublished rows and hands to Kafka those not already
 * in flight.  Returns the number of new events produced, or -1.
 */
static int
relay_produce(pms_db_t *db, rd_kafka_t *rk)
{
    char          slimit[24];
    const char   *params[1] = { slimit };
    PGresult     *res;
    int           i, n, produced = 0;

    snprintf(slimit, sizeof(slimit), "%ld", cfg_batch + inflight);
    if (pms_db_exec(db, "relay_pending", 1, params, &res, NULL) != PMS_OK) {
        return -1;
    }
    n = PQntuples(res);
    for (i = 0; i < n; i++) {
        long long       seq = atoll(PQgetvalue(res, i, 0));
        const char     *key = PQgetvalue(res, i, 1);
        size_t          len;
        unsigned char  *value;
        rd_kafka_resp_err_t err;

        if (flight_has(seq)) {
            continue;
        }
        value = PQunescapeBytea((const unsigned char *) PQgetvalue(res, i, 2),
            &len);
        if (value == NULL) {
            break;
        }
        err = rd_kafka_producev(rk,
            RD_KAFKA_V_TOPIC(cfg_topic),
            RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE(value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *) (intptr_t) seq),
            RD_KAFKA_V_END);
        PQfreemem(value);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 100);
            break;
        }
        if (err) {
            pms_error("produce seq %lld: %s", seq, rd_kafka_err2str(err));
            break;
        }
        flight_add(seq);
        inflight++;
        produced++;
    }
    PQclear(res);
    return produced;
}

/* Sums high watermark minus committed offset over the topic's partitions. */
static void
relay_measure_lag(rd_kafka_t *producer, rd_kafka_t *probe, pms_db_t *db)
{
    const rd_kafka_metadata_t       *md;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_topic_t                *t;
    long long                        lag = 0;
    int                              i;
    char                             slag[24];
    const char                      *params[1] = { slag };
    PGresult                        *res;

    t = rd_kafka_topic_new(producer, cfg_topic, NULL);
    if (t == NULL) {
        return;
    }
    if (rd_kafka_metadata(producer, 0, t, &md, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_destroy(t);
        return;
    }
    parts = rd_kafka_topic_partition_list_new(8);
    if (md->topic_cnt == 1) {
        for (i = 0; i < md->topics[0].partition_cnt; i++) {
            rd_kafka_topic_partition_list_add(parts, cfg_topic,
                md->topics[0].partitions[i].id);
        }
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    if (parts->cnt > 0
        && rd_kafka_committed(probe, parts, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR)
    {
        for (i = 0; i < parts->cnt; i++) {
            int64_t low, high;

            if (rd_kafka_query_watermark_offsets(producer, cfg_topic,
                    parts->elems[i].partition, &low, &high, 2000) != 0)
            {
                rd_kafka_topic_partition_list_destroy(parts);
                return;
            }
            lag += high - (parts->elems[i].offset >= 0 ? parts->elems[i].offset : low);
        }
        snprintf(slag, sizeof(slag), "%lld", lag);
        if (pms_db_exec(db, "relay_lag", 1, params, &res, NULL) == PMS_OK) {
            PQclear(res);
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

/*
 * Creates the topic with its partitions (replication 1: one broker).
 * Returns 0 when it exists afterwards, -1 to try again later.
 */
static int
relay_create_topic(rd_kafka_t *rk)
{
    rd_kafka_NewTopic_t           *nt;
    rd_kafka_queue_t              *q;
    rd_kafka_event_t              *ev;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **results;
    size_t                         n;
    char                           err[256];
    int                            rc = -1;

    nt = rd_kafka_NewTopic_new(cfg_topic, (int) cfg_partitions, 1, err, sizeof(err));
    if (nt == NULL) {
        pms_error("topic %s: %s", cfg_topic, err);
        return -1;
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 10000);
    if (ev != NULL && (res = rd_kafka_event_CreateTopics_result(ev)) != NULL) {
        results = rd_kafka_CreateTopics_result_topics(res, &n);
        if (n == 1 && (rd_kafka_topic_result_error(results[0]) == RD_KAFKA_RESP_ERR_NO_ERROR
                       || rd_kafka_topic_result_error(results[0])
                          == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS))
        {
            rc = 0;
        } else if (n == 1) {
            pms_warn("creating topic %s: %s", cfg_topic,
                rd_kafka_err2str(rd_kafka_topic_result_error(results[0])));
        }
    }
    if (ev != NULL) {
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

/* librdkafka's own log lines, as JSON lines like ours. */
static void
relay_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void) rk;
    pms_log_syslog(level, fac, buf);
}

static rd_kafka_t *
relay_kafka(rd_kafka_type_t type)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t      *rk;
    char             err[512];
    const char      *producer_settings[][2] = {
        { "enable.idempotence", "true" },
        { "acks", "all" },
        { "message.timeout.ms", "0" },      /* never drop: wait for Kafka */
        { "linger.ms", "5" },
        { NULL, NULL },
    };
    int              i;

    rd_kafka_conf_set_log_cb(conf, relay_kafka_log);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg_brokers, err,
            sizeof(err)) != RD_KAFKA_CONF_OK)
    {
        goto fail;
    }
    if (type == RD_KAFKA_PRODUCER) {
        for (i = 0; producer_settings[i][0] != NULL; i++) {
            if (rd_kafka_conf_set(conf, producer_settings[i][0],
                    producer_settings[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
            {
                goto fail;
            }
        }
        rd_kafka_conf_set_dr_msg_cb(conf, relay_dr);
        rd_kafka_conf_set_error_cb(conf, relay_error);
    } else if (rd_kafka_conf_set(conf, "group.id", cfg_group, err,
                   sizeof(err)) != RD_KAFKA_CONF_OK)
    {
        goto fail;
    }
    rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (rk == NULL) {
        goto fail;
    }
    return rk;      /* conf is now owned (and freed) by rk */
fail:
    pms_error("kafka configuration: %s", err);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/*
 * Records whether the relay sleeps (writers then NOTIFY) or polls.  0 once
 * the database holds the new state, -1 when it could not be written (the
 * caller keeps its old state and tries again next round).
 */
static int
relay_set_waiting(pms_db_t *db, int waiting)
{
    const char *params[1] = { waiting ? "true" : "false" };
    PGresult   *res;

    if (pms_db_exec(db, "relay_wait", 1, params, &res, NULL) != PMS_OK) {
        return -1;
    }
    PQclear(res);
    pms_debug("relay %s", waiting ? "asleep: writers notify" : "awake: polling");
    return 0;
}

int
main(int argc, char **argv)
{
    rd_kafka_t      *rk, *probe;
    pms_db_t        *db;
    PGconn          *listening = NULL;
    struct sigaction sa;
    double           next_sweep = 0, next_lag = 0, last_work = 0;
    int              woken = 1, have_topic = 0, awake = 0;

    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: %s\n\n", argv[0]);
        pms_config_usage(stdout, relay_config, RELAY_NCONFIG);
        return 0;
    }
    pms_config_load_or_exit("pms-relay", relay_config, RELAY_NCONFIG);
    pms_log_init("relay", cfg_debug ? PMS_LOG_DEBUG : PMS_LOG_INFO);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = relay_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    db = pms_db_new(cfg_db, relay_stmts, sizeof(relay_stmts) / sizeof(relay_stmts[0]));
    rk = relay_kafka(RD_KAFKA_PRODUCER);
    probe = relay_kafka(RD_KAFKA_CONSUMER);
    if (db == NULL || rk == NULL || probe == NULL) {
        return 1;
    }
    pms_info("relaying outbox to %s topic %s", cfg_brokers, cfg_topic);
    while (!relay_stop && !relay_fatal) {
        struct pollfd pfd;
        PGnotify     *n;
        double        now;
        int           got;

        if (pms_db_ensure(db) == PMS_OK && pms_db_conn(db) != listening) {
            listening = pms_db_conn(db);
            if (pms_db_command(listening, "LISTEN outbox") != PMS_OK) {
                listening = NULL;
            }
            woken = 1;      /* rows may have arrived while we were away */
            awake = 1;      /* the stored state is unknown: poll, then sleep */
            last_work = relay_now();
        }
        if (!have_topic) {
            have_topic = relay_create_topic(rk) == 0;
            if (!have_topic) {
                usleep(500000);
                continue;       /* Kafka not there yet: nothing to publish to */
            }
            pms_info("topic %s ready", cfg_topic);
        }
        rd_kafka_poll(rk, 0);
        relay_mark(db);
        now = relay_now();
        if ((woken || awake || now >= next_sweep) && inflight < cfg_max_inflight
            && listening != NULL)
        {
            woken = 0;
            next_sweep = now + cfg_sweep_ms / 1000.0;
            got = relay_produce(db, rk);
            if (got >= cfg_batch) {
                woken = 1;              /* more waiting: go again at once */
            }
            if (got > 0) {
                last_work = now;
                if (!awake && relay_set_waiting(db, 0) == 0) {
                    awake = 1;          /* busy: poll, writers stop notifying */
                }
            }
        }
        if (awake && inflight == 0 && now - last_work >= cfg_idle_ms / 1000.0
            && relay_set_waiting(db, 1) == 0)
        {
            awake = 0;
            woken = 1;      /* one more look: a write may have just missed it */
        }
        if (now >= next_lag) {
            next_lag = now + 5;
            relay_measure_lag(rk, probe, db);
        }
        if (listening == NULL) {
            usleep(200000);
            continue;
        }
        pfd.fd = PQsocket(listening);
        pfd.events = POLLIN;
        if (poll(&pfd, 1, awake || inflight > 0 || woken ? (int) cfg_poll_ms : 100) > 0) {
            if (!PQconsumeInput(listening)) {
                continue;       /* pms_db_ensure reconnects next round */
            }
            while ((n = PQnotifies(listening)) != NULL) {
                woken = 1;
                PQfreemem(n);
            }
        }
    }
    pms_info("flushing %ld in-flight events", inflight);
    rd_kafka_flush(rk, 10000);
    rd_kafka_poll(rk, 0);
    relay_mark(db);
    rd_kafka_destroy(probe);
    rd_kafka_destroy(rk);
    pms_db_free(db);
    free(delivered);
    pms_info("stopped");
    return relay_fatal ? 1 : 0;
}

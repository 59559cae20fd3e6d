/*
 * relay_producer.c -- producing outbox rows to Kafka and reading the
 * consumer group's lag.  Delivery reports run inside rd_kafka_poll() on
 * the relay's one thread, so the flight set needs no lock.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pms_kafka.h"
#include "pms_log.h"
#include "pms_metrics.h"
#include "pms_trace.h"
#include "relay_outbox.h"
#include "relay_producer.h"

static const pms_metric_t m_delivered = PMS_COUNTER("events_delivered_total",
    "events Kafka acknowledged", NULL, NULL);
static const pms_metric_t m_failed = PMS_COUNTER("events_delivery_failed_total",
    "deliveries that failed (the row stays unpublished and is sent again)",
    NULL, NULL);

/* Delivery report: the seq leaves the flight set; on success it is acked. */
static void
producer_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    relay_producer_t *p = opaque;
    long long         seq = (long long) (intptr_t) m->_private;

    (void) rk;
    relay_flight_del(&p->flight, seq);
    pms_kafka_trace(m);
    if (m->err) {
        /* still unpublished in the outbox: the next read sends it again */
        pms_warn("event seq %lld not delivered: %s", seq,
            rd_kafka_err2str(m->err));
        pms_metric_add(&m_failed, NULL, NULL, 1);
        pms_trace_set(NULL);
        return;
    }
    pms_metric_add(&m_delivered, NULL, NULL, 1);
    if (pms_trace_sampled()) {
        pms_log_fields(PMS_LOG_INFO,
            json_pack("{s:I, s:i, s:I}", "seq", (json_int_t) seq, "partition",
                (int) m->partition, "offset", (json_int_t) m->offset),
            "event delivered");
    }
    pms_trace_set(NULL);
    if (relay_seqs_push(&p->acked, seq) != 0) {
        pms_error("out of memory recording a delivery; seq %lld will be re-sent",
            seq);
    }
}

static void
producer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    relay_producer_t *p = opaque;
    char              fatal[512];

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        pms_error("fatal producer error: %s; restarting", fatal);
        p->fatal = 1;
        return;
    }
    pms_debug("kafka: %s: %s", rd_kafka_err2name(err), reason);
}

int
relay_producer_open(relay_producer_t *p)
{
    static const pms_kafka_setting_t producer[] = {
        { "enable.idempotence", "true" },
        { "acks", "all" },
        { "message.timeout.ms", "0" }, /* never drop: wait for Kafka */
        { "linger.ms", "5" },
        { NULL, NULL },
    };
    rd_kafka_conf_t *conf;
    char             err[512];

    memset(p, 0, sizeof(*p));
    if ((conf = pms_kafka_conf(RD_KAFKA_PRODUCER, producer, err, sizeof(err)))
        == NULL) {
        pms_error("kafka producer configuration: %s", err);
        return -1;
    }
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, producer_dr);
    rd_kafka_conf_set_error_cb(conf, producer_error);
    if ((p->rk = pms_kafka_new(RD_KAFKA_PRODUCER, conf)) == NULL) {
        return -1;
    }
    if ((conf = pms_kafka_conf(RD_KAFKA_CONSUMER, NULL, err, sizeof(err)))
        == NULL) {
        pms_error("kafka consumer configuration: %s", err);
        return -1;
    }
    if ((p->probe = pms_kafka_new(RD_KAFKA_CONSUMER, conf)) == NULL) {
        return -1;
    }
    return 0;
}

int
relay_producer_flush(relay_producer_t *p, int flush_ms)
{
    rd_kafka_flush(p->rk, flush_ms);
    rd_kafka_poll(p->rk, 0);
    return rd_kafka_outq_len(p->rk);
}

void
relay_producer_close(relay_producer_t *p)
{
    if (p->rk != NULL) {
        rd_kafka_destroy(p->rk);
    }
    if (p->probe != NULL) {
        rd_kafka_destroy(p->probe);
    }
    relay_flight_free(&p->flight);
    relay_seqs_free(&p->acked);
    p->rk = p->probe = NULL;
}

int
relay_producer_create_topic(relay_producer_t *p, int partitions)
{
    rd_kafka_NewTopic_t                  *nt;
    rd_kafka_queue_t                     *q;
    rd_kafka_event_t                     *ev;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t       **results;
    rd_kafka_resp_err_t                   code;
    size_t                                n;
    char                                  err[256];
    int                                   rc = -1;

    nt =
        rd_kafka_NewTopic_new(pms_kafka.topic, partitions, 1, err, sizeof(err));
    if (nt == NULL) {
        pms_error("topic %s: %s", pms_kafka.topic, err);
        return -1;
    }
    if ((q = rd_kafka_queue_new(p->rk)) == NULL) {
        rd_kafka_NewTopic_destroy(nt);
        return -1;
    }
    rd_kafka_CreateTopics(p->rk, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 10000);
    if (ev != NULL && (res = rd_kafka_event_CreateTopics_result(ev)) != NULL) {
        results = rd_kafka_CreateTopics_result_topics(res, &n);
        code = n == 1 ? rd_kafka_topic_result_error(results[0])
                      : RD_KAFKA_RESP_ERR__FAIL;
        if (code == RD_KAFKA_RESP_ERR_NO_ERROR
            || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            rc = 0;
        } else {
            pms_warn("creating topic %s: %s", pms_kafka.topic,
                rd_kafka_err2str(code));
        }
    }
    if (ev != NULL) {
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

/*
 * The headers of an event whose row has a traceparent: this relay's span
 * of that trace.  NULL when the row has none (or out of memory).
 */
static rd_kafka_headers_t *
producer_headers(const char *traceparent)
{
    rd_kafka_headers_t *hdrs;
    char                tp[PMS_TRACEPARENT_LEN];

    if (pms_trace_set(traceparent) != 0) {
        return NULL;
    }
    pms_trace_format(pms_trace_current(), tp);
    pms_trace_set(NULL);
    if ((hdrs = rd_kafka_headers_new(1)) != NULL) {
        rd_kafka_header_add(hdrs, "traceparent", -1, tp, -1);
    }
    return hdrs;
}

/* Hands one row to librdkafka (which copies it).  0, or librdkafka's error. */
static rd_kafka_resp_err_t
producer_one(relay_producer_t *p, long long seq, const char *key,
    const char *payload_text, const char *traceparent)
{
    rd_kafka_resp_err_t err;
    rd_kafka_headers_t *hdrs;
    unsigned char      *value;
    size_t              len;

    value = PQunescapeBytea((const unsigned char *) payload_text, &len);
    if (value == NULL) {
        return RD_KAFKA_RESP_ERR__FAIL; /* out of memory: retried later */
    }
    hdrs = producer_headers(traceparent);
    err = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(pms_kafka.topic),
        RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE((void *) (intptr_t) seq), RD_KAFKA_V_END);
    PQfreemem(value);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != NULL) {
        rd_kafka_headers_destroy(
            hdrs); /* owned by librdkafka only on success */
    }
    return err;
}

int
relay_producer_send(relay_producer_t *p, const PGresult *rows)
{
    rd_kafka_resp_err_t err;
    long long           seq;
    int                 i, produced = 0;

    for (i = 0; i < PQntuples(rows); i++) {
        seq = atoll(PQgetvalue(rows, i, RELAY_COL_SEQ));
        if (relay_flight_has(&p->flight, seq)) {
            continue;
        }
        /* room first: a row in flight must always be findable */
        if (relay_flight_add(&p->flight, seq) != 0) {
            pms_error("out of memory tracking seq %lld; retried later", seq);
            break;
        }
        err = producer_one(p, seq, PQgetvalue(rows, i, RELAY_COL_KEY),
            PQgetvalue(rows, i, RELAY_COL_PAYLOAD),
            PQgetisnull(rows, i, RELAY_COL_TRACE)
                ? NULL
                : PQgetvalue(rows, i, RELAY_COL_TRACE));
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            relay_flight_del(&p->flight, seq);
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                pms_error("produce seq %lld: %s", seq, rd_kafka_err2str(err));
            }
            return produced > 0 ? produced : -1;
        }
        produced++;
    }
    return produced;
}

void
relay_producer_poll(relay_producer_t *p, int timeout_ms)
{
    rd_kafka_poll(p->rk, timeout_ms);
}

/* The topic's partitions, as a list for rd_kafka_committed().  NULL: -1. */
static rd_kafka_topic_partition_list_t *
producer_partitions(relay_producer_t *p)
{
    const rd_kafka_metadata_t       *md;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_topic_t                *t;
    int                              i;

    if ((t = rd_kafka_topic_new(p->rk, pms_kafka.topic, NULL)) == NULL) {
        return NULL;
    }
    if (rd_kafka_metadata(p->rk, 0, t, &md, 2000)
        == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && md->topics[0].partition_cnt > 0) {
            parts =
                rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
            for (i = 0; i < md->topics[0].partition_cnt; i++) {
                rd_kafka_topic_partition_list_add(parts, pms_kafka.topic,
                    md->topics[0].partitions[i].id);
            }
        }
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(t);
    return parts;
}

int
relay_producer_lag(relay_producer_t *p, long long *lag)
{
    rd_kafka_topic_partition_list_t *parts = producer_partitions(p);
    int64_t                          low, high;
    int                              i, rc = -1;

    if (parts == NULL) {
        return -1;
    }
    *lag = 0;
    if (rd_kafka_committed(p->probe, parts, 2000)
        == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = 0;
        for (i = 0; i < parts->cnt && rc == 0; i++) {
            if (rd_kafka_query_watermark_offsets(p->rk, pms_kafka.topic,
                    parts->elems[i].partition, &low, &high, 2000)
                != 0) {
                rc = -1;
            } else {
                *lag += high
                    - (parts->elems[i].offset >= 0 ? parts->elems[i].offset
                                                   : low);
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

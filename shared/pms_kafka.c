/*
 * pms_kafka.c -- the Kafka settings shared by every pms Kafka client and
 * the code that turns them into librdkafka configuration.
 */
#include <stdio.h>
#include <string.h>

#include "pms_kafka.h"
#include "pms_log.h"
#include "pms_trace.h"

pms_kafka_settings_t pms_kafka;

const pms_conf_entry_t pms_kafka_config[PMS_KAFKA_NCONFIG] = {
    { "PMS_KAFKA_BROKERS", PMS_CONF_STR, "127.0.0.1:9092", 3, 512,
        "Kafka bootstrap servers", &pms_kafka.brokers },
    { "PMS_KAFKA_TOPIC", PMS_CONF_STR, "patient", 1, 249,
        "topic of the patient events", &pms_kafka.topic },
    { "PMS_KAFKA_GROUP", PMS_CONF_STR, "analytics-service", 1, 255,
        "consumer group of pms-analytics (the relay reports its lag)",
        &pms_kafka.group },
    { "PMS_KAFKA_SECURITY_PROTOCOL", PMS_CONF_STR, "plaintext", 3, 32,
        "plaintext, ssl, sasl_plaintext or sasl_ssl",
        &pms_kafka.security_protocol },
    { "PMS_KAFKA_CA_LOCATION", PMS_CONF_STR, "", 0, 1024,
        "PEM file of the CAs that sign the brokers' certificates (empty: the"
        " system's)",
        &pms_kafka.ca_location },
    { "PMS_KAFKA_SASL_MECHANISM", PMS_CONF_STR, "", 0, 32,
        "SASL mechanism, e.g. SCRAM-SHA-512 (empty: no SASL)",
        &pms_kafka.sasl_mechanism },
    { "PMS_KAFKA_SASL_USERNAME", PMS_CONF_STR, "", 0, 255, "SASL user name",
        &pms_kafka.sasl_username },
    { "PMS_KAFKA_SASL_PASSWORD", PMS_CONF_STR, "", 0, 1024, "SASL password",
        &pms_kafka.sasl_password },
};

_Static_assert(sizeof(pms_kafka_config) / sizeof(pms_kafka_config[0])
        == PMS_KAFKA_NCONFIG,
    "PMS_KAFKA_NCONFIG counts pms_kafka_config");

/* librdkafka's own log lines, as JSON lines like ours. */
static void
kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void) rk;
    pms_log_syslog(level, fac, buf);
}

static int
kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
    size_t errlen)
{
    if (value == NULL || value[0] == '\0') {
        return 0; /* unset: librdkafka's default */
    }
    return rd_kafka_conf_set(conf, name, value, err, errlen) == RD_KAFKA_CONF_OK
        ? 0
        : -1;
}

rd_kafka_conf_t *
pms_kafka_conf(rd_kafka_type_t type, const pms_kafka_setting_t *extra,
    char *err, size_t errlen)
{
    rd_kafka_conf_t          *conf = rd_kafka_conf_new();
    const pms_kafka_setting_t common[] = {
        { "bootstrap.servers", pms_kafka.brokers },
        { "security.protocol", pms_kafka.security_protocol },
        { "ssl.ca.location", pms_kafka.ca_location },
        { "sasl.mechanism", pms_kafka.sasl_mechanism },
        { "sasl.username", pms_kafka.sasl_username },
        { "sasl.password", pms_kafka.sasl_password },
        { "group.id", type == RD_KAFKA_CONSUMER ? pms_kafka.group : NULL },
        { NULL, NULL },
    };
    const pms_kafka_setting_t *s;

    if (conf == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (s = common; s->name != NULL; s++) {
        if (kafka_set(conf, s->name, s->value, err, errlen) != 0) {
            goto fail;
        }
    }
    for (s = extra; s != NULL && s->name != NULL; s++) {
        if (kafka_set(conf, s->name, s->value, err, errlen) != 0) {
            goto fail;
        }
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_t *
pms_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    rd_kafka_t *rk;
    char        err[512];

    rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (rk == NULL) {
        pms_error("kafka %s: %s",
            type == RD_KAFKA_PRODUCER ? "producer" : "consumer", err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

int
pms_kafka_trace(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs;
    const void         *v;
    char                tp[PMS_TRACEPARENT_LEN];
    size_t              len;

    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR
        || rd_kafka_header_get_last(hdrs, "traceparent", &v, &len)
            != RD_KAFKA_RESP_ERR_NO_ERROR
        || v == NULL || len >= sizeof(tp)) {
        return pms_trace_set(NULL);
    }
    memcpy(tp, v, len);
    tp[len] = '\0';
    return pms_trace_set(tp);
}

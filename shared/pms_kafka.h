/*
 * pms_kafka.h -- the one Kafka client setup of pms-relay and
 * pms-analytics: where the brokers are, the topic, the consumer group, and
 * how to reach the brokers (plaintext locally; TLS, optionally with SASL,
 * on MSK).  Both daemons load pms_kafka_config beside their own table and
 * build every client through pms_kafka_new(), so a setting means the same
 * in each and librdkafka's log lines come out as pms JSON lines.
 */
#ifndef PMS_KAFKA_H
#define PMS_KAFKA_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "pms_config.h"

typedef struct {
    const char *brokers;           /* PMS_KAFKA_BROKERS */
    const char *topic;             /* PMS_KAFKA_TOPIC */
    const char *group;             /* PMS_KAFKA_GROUP: analytics' group */
    const char *security_protocol; /* plaintext, ssl, sasl_plaintext, sasl_ssl */
    const char *ca_location;       /* PEM file of CAs for TLS; "" = system */
    const char *sasl_mechanism;    /* "" = none */
    const char *sasl_username;
    const char *sasl_password;
} pms_kafka_settings_t;

/* Filled by pms_config_load*() from pms_kafka_config. */
#define PMS_KAFKA_NCONFIG 8
extern pms_kafka_settings_t   pms_kafka;
extern const pms_conf_entry_t pms_kafka_config[PMS_KAFKA_NCONFIG];

/* A key/value pair of librdkafka configuration; lists end with NULL. */
typedef struct {
    const char *name;
    const char *value;
} pms_kafka_setting_t;

/*
 * Builds a configuration from pms_kafka (brokers, security, group.id for a
 * consumer) plus the daemon's own extra settings (may be NULL).  Returns
 * a conf the caller passes to rd_kafka_new() or destroys, or NULL with err
 * set when librdkafka refuses a setting (its message names it).
 */
rd_kafka_conf_t *pms_kafka_conf(rd_kafka_type_t type,
    const pms_kafka_setting_t *extra, char *err, size_t errlen);

/*
 * rd_kafka_new() on conf (after the caller set its callbacks).  conf's
 * ownership passes here: to the new handle, or destroyed when creation
 * fails.  NULL (logged) on failure.
 */
rd_kafka_t *pms_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);

/*
 * The W3C traceparent header of m becomes the thread's trace context
 * (pms_trace_set); without one the context is cleared.  0 when set.
 */
int pms_kafka_trace(const rd_kafka_message_t *m);

#endif

/*
 * relay_producer.h -- the relay's side of Kafka: an idempotent producer
 * (acks=all, key = patientId, no local timeout, so nothing is dropped
 * while Kafka is away and per-partition order holds), the topic's
 * creation, and the analytics group's lag.  It tracks which outbox rows
 * are in flight and which Kafka acknowledged; the caller marks those.
 */
#ifndef RELAY_PRODUCER_H
#define RELAY_PRODUCER_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "relay_flight.h"

typedef struct {
    rd_kafka_t    *rk;     /* the producer */
    rd_kafka_t    *probe;  /* reads the consumer group's offsets */
    relay_flight_t flight; /* seqs produced, no delivery report yet */
    relay_seqs_t   acked;  /* seqs delivered, not yet marked published */
    int            fatal;  /* a fatal producer error: exit, restart */
} relay_producer_t;

/* Creates both Kafka handles from pms_kafka.  0, or -1 (logged). */
int relay_producer_open(relay_producer_t *p);

/*
 * Waits up to flush_ms for outstanding deliveries (their reports fill
 * acked).  Returns how many events are still queued: they stay unpublished
 * in the outbox and go out on the next start.
 */
int relay_producer_flush(relay_producer_t *p, int flush_ms);

/* Destroys both handles and the bookkeeping. */
void relay_producer_close(relay_producer_t *p);

/* Creates the topic (replication 1).  0 when it exists afterwards, else -1. */
int relay_producer_create_topic(relay_producer_t *p, int partitions);

/*
 * Produces the rows of rows (relay_outbox_pending()'s columns) that are
 * not in flight.  Returns how many were produced, or -1 when the first one
 * could not be (queue full: try again after relay_producer_poll()).
 */
int relay_producer_send(relay_producer_t *p, const PGresult *rows);

/* Serves delivery reports (moving seqs from flight to acked). */
void relay_producer_poll(relay_producer_t *p, int timeout_ms);

/* The group's lag summed over the topic's partitions.  0, or -1. */
int relay_producer_lag(relay_producer_t *p, long long *lag);

#endif

/*
 * relay_flight.h -- the relay's bookkeeping of outbox rows by seq: the set
 * of rows handed to Kafka that have no delivery report yet (so every read
 * can start at the lowest unpublished row and skip only what is in
 * flight), and the list of rows Kafka acknowledged that are not yet marked
 * published.  Pure data structures, no I/O; both grow as needed, so no
 * batch size can outrun them.
 */
#ifndef RELAY_FLIGHT_H
#define RELAY_FLIGHT_H

#include <stddef.h>

/* An open-addressing set of positive seqs (0 = empty, -1 = deleted). */
typedef struct {
    long long *slots;
    size_t     cap; /* a power of two, or 0 before the first add */
    size_t     live;
    size_t     deleted;
} relay_flight_t;

/* Adds seq (> 0).  0, or -1 when memory for a larger table runs out. */
int relay_flight_add(relay_flight_t *f, long long seq);

/* 1 when seq is in the set. */
int relay_flight_has(const relay_flight_t *f, long long seq);

/* Removes seq if present. */
void relay_flight_del(relay_flight_t *f, long long seq);

void relay_flight_free(relay_flight_t *f);

/* A growable list of seqs. */
typedef struct {
    long long *seq;
    size_t     n;
    size_t     cap;
} relay_seqs_t;

/* Appends seq.  0, or -1 when out of memory (the list is unchanged). */
int relay_seqs_push(relay_seqs_t *l, long long seq);

/*
 * The list as a PostgreSQL array literal, "{1,2,3}".  Returns a string the
 * caller frees, or NULL when out of memory.
 */
char *relay_seqs_array(const relay_seqs_t *l);

void relay_seqs_free(relay_seqs_t *l);

#endif

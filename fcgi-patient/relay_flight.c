/*
 * relay_flight.c -- the in-flight set and the acknowledged list.  The set
 * keeps its load (live and deleted slots) at most half of its capacity by
 * growing before an insert, so a probe always ends at a free slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay_flight.h"

#define FLIGHT_MIN_CAP 1024

static size_t
flight_slot(const relay_flight_t *f, long long seq)
{
    /* Fibonacci hashing: seqs are consecutive, so spread them */
    return (size_t) (((unsigned long long) seq * 11400714819323198485ull) >> 32)
        & (f->cap - 1);
}

static void
flight_put(relay_flight_t *f, long long seq)
{
    size_t i = flight_slot(f, seq);

    while (f->slots[i] > 0) {
        i = (i + 1) & (f->cap - 1);
    }
    if (f->slots[i] < 0) {
        f->deleted--;
    }
    f->slots[i] = seq;
    f->live++;
}

/* Rehashes into a table of cap slots, dropping deleted marks. */
static int
flight_resize(relay_flight_t *f, size_t cap)
{
    relay_flight_t grown = { NULL, cap, 0, 0 };
    size_t         i;

    grown.slots = calloc(cap, sizeof(*grown.slots));
    if (grown.slots == NULL) {
        return -1;
    }
    for (i = 0; i < f->cap; i++) {
        if (f->slots[i] > 0) {
            flight_put(&grown, f->slots[i]);
        }
    }
    free(f->slots);
    *f = grown;
    return 0;
}

int
relay_flight_add(relay_flight_t *f, long long seq)
{
    size_t cap = f->cap ? f->cap : FLIGHT_MIN_CAP;

    if (relay_flight_has(f, seq)) {
        return 0;
    }
    while ((f->live + 1) * 2 > cap) {
        cap *= 2;
    }
    if ((cap != f->cap || (f->live + f->deleted + 1) * 2 > cap)
        && flight_resize(f, cap) != 0) {
        return -1;
    }
    flight_put(f, seq);
    return 0;
}

int
relay_flight_has(const relay_flight_t *f, long long seq)
{
    size_t i;

    if (f->cap == 0) {
        return 0;
    }
    for (i = flight_slot(f, seq); f->slots[i] != 0;
         i = (i + 1) & (f->cap - 1)) {
        if (f->slots[i] == seq) {
            return 1;
        }
    }
    return 0;
}

void
relay_flight_del(relay_flight_t *f, long long seq)
{
    size_t i;

    if (f->cap == 0) {
        return;
    }
    for (i = flight_slot(f, seq); f->slots[i] != 0;
         i = (i + 1) & (f->cap - 1)) {
        if (f->slots[i] == seq) {
            f->slots[i] = -1;
            f->live--;
            f->deleted++;
            return;
        }
    }
}

void
relay_flight_free(relay_flight_t *f)
{
    free(f->slots);
    memset(f, 0, sizeof(*f));
}

int
relay_seqs_push(relay_seqs_t *l, long long seq)
{
    size_t     cap;
    long long *grown;

    if (l->n == l->cap) {
        cap = l->cap ? l->cap * 2 : 1024;
        grown = realloc(l->seq, cap * sizeof(*grown));
        if (grown == NULL) {
            return -1;
        }
        l->seq = grown;
        l->cap = cap;
    }
    l->seq[l->n++] = seq;
    return 0;
}

char *
relay_seqs_array(const relay_seqs_t *l)
{
    char  *arr = malloc(l->n * 21 + 3), *p;
    size_t i;

    if (arr == NULL) {
        return NULL;
    }
    p = arr;
    *p++ = '{';
    for (i = 0; i < l->n; i++) {
        p += sprintf(p, "%s%lld", i ? "," : "", l->seq[i]);
    }
    *p++ = '}';
    *p = '\0';
    return arr;
}

void
relay_seqs_free(relay_seqs_t *l)
{
    free(l->seq);
    memset(l, 0, sizeof(*l));
}

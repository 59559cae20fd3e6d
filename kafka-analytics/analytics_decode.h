/*
 * analytics_decode.h -- turning a Kafka message value into an event the
 * store can apply, or a reason why it cannot be one.  Pure; fuzzed.
 */
#ifndef ANALYTICS_DECODE_H
#define ANALYTICS_DECODE_H

#include <stddef.h>

#include "analytics_store.h"
#include "patient_event.pb-c.h"

/*
 * Decodes data as a PatientEvent and checks it (patientId present, a
 * known event_type, a real registered_date when given).  On success
 * returns the unpacked message (free it with
 * patient__events__patient_event__free_unpacked) and fills ev, which
 * borrows from it; an event without event_id gets "kafka:<p>:<o>" written
 * into idbuf.  On failure returns NULL with why filled.
 */
Patient__Events__PatientEvent *analytics_decode(const void *data, size_t len,
    int partition, long long offset, analytics_event_t *ev, char *idbuf,
    size_t idlen, char *why, size_t whylen);

#endif

/*
 * analytics_decode.c -- validation of incoming PatientEvents.  Anything
 * that protobuf-c cannot unpack, or that unpacks into an event analytics
 * could not count correctly, is refused with a reason for the
 * undecodable table.
 */
#include <stdio.h>
#include <string.h>

#include "analytics_decode.h"
#include "pms_valid.h"

#define ANALYTICS_MAX_ID 128 /* longest patientId, event_id, occurred_at */

static const char *analytics_types[] = {
    "PATIENT_CREATED",
    "PATIENT_UPDATED",
    "PATIENT_DELETED",
};

Patient__Events__PatientEvent *
analytics_decode(const void *data, size_t len, int partition, long long offset,
    analytics_event_t *ev, char *idbuf, size_t idlen, char *why, size_t whylen)
{
    Patient__Events__PatientEvent *m;
    size_t                         i;
    int                            known = 0;

    m = patient__events__patient_event__unpack(NULL, len, data);
    if (m == NULL) {
        snprintf(why, whylen, "not a PatientEvent");
        return NULL;
    }
    for (i = 0; i < sizeof(analytics_types) / sizeof(analytics_types[0]); i++) {
        known |= strcmp(m->event_type, analytics_types[i]) == 0;
    }
    if (m->patientid[0] == '\0' || !known
        || (m->registered_date[0] != '\0'
            && !pms_valid_date(m->registered_date))) {
        snprintf(why, whylen,
            "invalid PatientEvent (patientId, event_type or registered_date)");
        patient__events__patient_event__free_unpacked(m, NULL);
        return NULL;
    }
    /* (protobuf-c >= 1.4 already refuses strings that are not UTF-8) */
    if (strlen(m->patientid) > ANALYTICS_MAX_ID
        || strlen(m->event_id) > ANALYTICS_MAX_ID
        || strlen(m->occurred_at) > ANALYTICS_MAX_ID) {
        snprintf(why, whylen,
            "invalid PatientEvent (patientId, event_id or occurred_at too long)");
        patient__events__patient_event__free_unpacked(m, NULL);
        return NULL;
    }
    if (m->event_id[0] != '\0') {
        ev->event_id = m->event_id;
    } else {
        snprintf(idbuf, idlen, "kafka:%d:%lld", partition, offset);
        ev->event_id = idbuf;
    }
    ev->patient_id = m->patientid;
    ev->event_type = m->event_type;
    ev->occurred_at = m->occurred_at[0] != '\0' ? m->occurred_at : NULL;
    ev->registered_date =
        m->registered_date[0] != '\0' ? m->registered_date : NULL;
    ev->partition = partition;
    ev->offset = offset;
    return m;
}

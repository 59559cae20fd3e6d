/*
 * fuzz_event_decode.c -- fuzz target: the analytics daemon's PatientEvent
 * decoder (kafka-analytics/analytics_decode.c), which sees every Kafka
 * message value, including ones no producer of ours wrote.  An accepted
 * event must carry what the store relies on; anything else traps.
 */
#include <stdint.h>
#include <string.h>

#include "analytics_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Patient__Events__PatientEvent *m;
    analytics_event_t              ev;
    char                           idbuf[64], why[128];

    m = analytics_decode(data, size, 2, 1234567LL, &ev, idbuf, sizeof(idbuf),
        why, sizeof(why));
    if (m == NULL) {
        if (why[0] == '\0') {
            __builtin_trap(); /* a refusal always says why */
        }
        return 0;
    }
    if (ev.event_id == NULL || ev.event_id[0] == '\0' || ev.patient_id == NULL
        || ev.patient_id[0] == '\0' || ev.event_type == NULL
        || strncmp(ev.event_type, "PATIENT_", 8) != 0) {
        __builtin_trap();
    }
    patient__events__patient_event__free_unpacked(m, NULL);
    return 0;
}

/*
 * patient_outbox.c -- placeholder until events exist: writes record no
 * event.
 */
#include "patient_outbox.h"

pms_status_t
patient_outbox_add(pms_db_t *db, const char *type, const PGresult *row)
{
    (void) db; (void) type; (void) row;
    return PMS_OK;
}

void
patient_outbox_health(pms_db_t *db, json_t *checks)
{
    (void) db; (void) checks;
}

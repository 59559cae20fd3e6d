/*
 * patient_billing.c -- placeholder until the billing daemon exists: no
 * account is created and the create path stores none.
 */
#include <stdlib.h>

#include "patient_billing.h"

struct patient_billing_s {
    int unused;
};

patient_billing_t *
patient_billing_new(void)
{
    return calloc(1, sizeof(patient_billing_t));
}

void
patient_billing_free(patient_billing_t *b)
{
    free(b);
}

pms_status_t
patient_billing_create_account(patient_billing_t *b, const char *patient_id,
    const char *name, const char *email, char *account_id, size_t len)
{
    (void) b; (void) patient_id; (void) name; (void) email;
    if (len > 0) {
        account_id[0] = '\0';
    }
    return PMS_OK;
}

void
patient_billing_health(patient_billing_t *b, json_t *checks)
{
    (void) b; (void) checks;
}

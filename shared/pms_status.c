/*
 * pms_status.c -- names for pms_status_t, for logs and messages.
 */
#include "pms_status.h"

const char *
pms_status_name(pms_status_t st)
{
    switch (st) {
    case PMS_OK:
        return "ok";
    case PMS_ERROR:
        return "error";
    case PMS_NOT_FOUND:
        return "not found";
    case PMS_CONFLICT:
        return "conflict";
    case PMS_INVALID:
        return "invalid";
    case PMS_UNAVAILABLE:
        return "unavailable";
    }
    return "unknown";
}

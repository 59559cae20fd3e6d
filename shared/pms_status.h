/*
 * pms_status.h -- the small fixed set of return codes every pms module
 * uses.  Functions return one of these; mapping to an HTTP status happens
 * in pms_http_status() (pms_problem.c) and to a gRPC status in the billing
 * daemon, each in exactly one place.
 */
#ifndef PMS_STATUS_H
#define PMS_STATUS_H

typedef enum {
    PMS_OK = 0,
    PMS_ERROR = -1,      /* unexpected failure: a bug or the OS */
    PMS_NOT_FOUND = -2,  /* the addressed row does not exist */
    PMS_CONFLICT = -3,   /* a uniqueness rule was violated */
    PMS_INVALID = -4,    /* the input broke a validation rule */
    PMS_UNAVAILABLE = -5 /* a dependency is down; retrying may help */
} pms_status_t;

const char *pms_status_name(pms_status_t st);

#endif

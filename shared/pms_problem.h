/*
 * pms_problem.h -- RFC 9457 problem details (application/problem+json):
 * type, title, status, detail, and an "errors" array of {field, message}
 * listing every bad field at once.
 */
#ifndef PMS_PROBLEM_H
#define PMS_PROBLEM_H

#include <jansson.h>

#include "pms_status.h"

#define PMS_PROBLEM_CONTENT_TYPE "application/problem+json"

/*
 * Returns a new reference to a problem object for the HTTP status.  type is
 * derived from the status ("/problems/<slug>") and title from the standard
 * reason phrase; detail may be NULL.  NULL only when out of memory.
 */
json_t *pms_problem_new(int status, const char *detail);

/*
 * Appends {field, message} to errors, a JSON array (may be NULL).  Returns
 * 1, the problem's count, whether or not its entry could be built (out of
 * memory), so an error that cannot be described still counts as an error.
 * A field name that is not UTF-8 is shown with those bytes percent-encoded.
 */
size_t pms_errors_add(json_t *errors, const char *field, const char *message);

/* Appends {field, message} to problem.errors (created on first use). */
int pms_problem_add_error(json_t *problem, const char *field,
    const char *message);

/* The standard reason phrase for an HTTP status, "Unknown" otherwise. */
const char *pms_http_reason(int status);

/* The one place pms_status_t becomes an HTTP status. */
int pms_http_status(pms_status_t st);

#endif

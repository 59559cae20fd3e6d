/*
 * patient_query.h -- parsing what arrives beside the body: the list query
 * string (filters, paging, total), the resource path, and If-Match.  Pure
 * functions, unit-tested without a server.
 */
#ifndef PATIENT_QUERY_H
#define PATIENT_QUERY_H

#include <stddef.h>
#include <jansson.h>

#include "patient_cursor.h"

#define PATIENT_PAGE_DEFAULT_SIZE 50
#define PATIENT_PAGE_MAX_SIZE     500
#define PATIENT_Q_MAX             100
#define PATIENT_OFFSET_MAX        10000 /* deeper: follow a cursor */

/* What X-Total-Count tells (the total= parameter). */
typedef enum {
    PATIENT_TOTAL_ESTIMATE, /* default: exact when cheap, else estimated */
    PATIENT_TOTAL_ACCURATE, /* always counted: costs a scan of the matches */
    PATIENT_TOTAL_NONE      /* no count at all */
} patient_total_t;

typedef struct {
    long page; /* 1-based */
    long size;
    char q[PATIENT_Q_MAX * 4 + 1]; /* substring, "" when none */
    char email[255];               /* exact email, "" when none */
    char birth_date[11];           /* YYYY-MM-DD, "" when none */
    /* set by FHIR search only (patient_fhir.c) */
    char             name[PATIENT_Q_MAX * 4 + 1]; /* name substring */
    char             birth_ge[11], birth_le[11];  /* date range ends */
    char             id[37];                      /* one patient id */
    patient_total_t  total;
    patient_cursor_t cursor; /* dir NONE without cursor= */
} patient_list_query_t;

/*
 * Parses "q=smith&size=20&cursor=...".  Parameters: page, size, q, email,
 * birthDate, cursor, total.  Unknown parameters are errors, as are
 * repeated ones, values out of range, page with cursor, and a page whose
 * offset passes PATIENT_OFFSET_MAX; each problem is appended to errors as
 * {field, message}.  Returns the number of problems.
 */
size_t patient_parse_list_query(const char *qs, patient_list_query_t *out,
    json_t *errors);

/* One decoded parameter; returns the problems it appended to errors. */
typedef size_t (*patient_param_fn)(const char *key, const char *val, void *arg,
    json_t *errors);

/*
 * Splits a query string into name=value pairs, decodes each (valid UTF-8,
 * at most 1 KiB) and hands it to fn; a pair that does not decode is a
 * problem.  Returns the number of problems.
 */
size_t patient_query_each(const char *qs, patient_param_fn fn, void *arg,
    json_t *errors);

/* The history's cursor before any page: above every version. */
#define PATIENT_HISTORY_TOP 2147483647L

/*
 * Parses "size=20&cursor=7" of a history request: *size 1..500 (default
 * 50), *before the cursor (default PATIENT_HISTORY_TOP).  Returns the
 * number of problems appended to errors.
 */
size_t patient_parse_history_query(const char *qs, long *size, long *before,
    json_t *errors);

/*
 * Escapes q for ILIKE (\, % and _ taken literally) and wraps it in %...%.
 * out must hold 2 * strlen(q) + 3 bytes.
 */
void patient_like_pattern(const char *q, char *out);

/*
 * Decodes %XX and '+' of in[0..len) into out (NUL-terminated).  -1 on a
 * bad or truncated escape, an encoded NUL, or when out is too small.
 */
int patient_url_decode(const char *in, size_t len, char *out, size_t outlen);

typedef enum {
    PATIENT_PATH_NONE,       /* not a patient path */
    PATIENT_PATH_COLLECTION, /* /patients */
    PATIENT_PATH_ITEM,       /* /patients/{id}; id copied out */
    PATIENT_PATH_HISTORY     /* /patients/{id}/history; id copied out */
} patient_path_t;

/* Classifies a path; for an item, copies the raw id ("" when it does not
 * fit in idlen). */
patient_path_t patient_parse_path(const char *path, char *id, size_t idlen);

/*
 * Evaluates If-Match against the current version.  NULL header: 1.  "*":
 * 1.  Otherwise 1 when one listed entity tag equals "\"<version>\"" by
 * strong comparison, else 0.
 */
int patient_if_match(const char *header, long version);

#endif

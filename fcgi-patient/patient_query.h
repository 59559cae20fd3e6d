/*
 * patient_query.h -- parsing what arrives beside the body: the list query
 * string (page, size, q), the resource path, and If-Match.  Pure
 * functions, unit-tested without a server.
 */
#ifndef PATIENT_QUERY_H
#define PATIENT_QUERY_H

#include <stddef.h>
#include <jansson.h>

#define PATIENT_PAGE_DEFAULT_SIZE 50
#define PATIENT_PAGE_MAX_SIZE     500
#define PATIENT_Q_MAX             100

typedef struct {
    long page;               /* 1-based */
    long size;
    char q[PATIENT_Q_MAX * 4 + 1];   /* decoded search text, "" when none */
} patient_list_query_t;

/*
 * Parses "page=2&size=20&q=smith".  Unknown parameters are errors, as are
 * repeated ones and values out of range; each problem is appended to
 * errors as {field, message}.  Returns the number of problems.
 */
size_t patient_parse_list_query(const char *qs, patient_list_query_t *out,
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
    PATIENT_PATH_ITEM        /* /patients/{id}; id copied out */
} patient_path_t;

/* Classifies a path; for an item, copies the raw id (<= 63 bytes). */
patient_path_t patient_parse_path(const char *path, char *id, size_t idlen);

/*
 * Evaluates If-Match against the current version.  NULL header: 1.  "*":
 * 1.  Otherwise 1 when one listed entity tag equals "\"<version>\"" by
 * strong comparison, else 0.
 */
int patient_if_match(const char *header, long version);

#endif

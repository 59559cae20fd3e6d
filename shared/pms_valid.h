/*
 * pms_valid.h -- field-spec validation of JSON request bodies.  One table
 * describes a resource's fields (name, kind, flags, length bounds); one
 * call checks a body against it and appends every problem it finds, so a
 * client learns about all bad fields at once.
 */
#ifndef PMS_VALID_H
#define PMS_VALID_H

#include <stddef.h>
#include <jansson.h>

typedef enum {
    PMS_FIELD_TEXT,  /* a string, trimmed length within bounds */
    PMS_FIELD_EMAIL, /* a string shaped like an address */
    PMS_FIELD_DATE   /* an ISO 8601 calendar date YYYY-MM-DD */
} pms_field_kind_t;

#define PMS_FIELD_REQUIRED   0x01 /* must be present and not blank */
#define PMS_FIELD_NOT_FUTURE 0x02 /* dates: not after today */
#define PMS_FIELD_READONLY   0x04 /* server-owned: accepted and ignored */

typedef struct {
    const char      *name;
    pms_field_kind_t kind;
    unsigned         flags;
    size_t           min_len; /* in characters (code points) */
    size_t           max_len;
} pms_field_spec_t;

/*
 * Checks body against the spec.  today is "YYYY-MM-DD" (injected so tests
 * are deterministic).  Each problem is appended to errors (a JSON array)
 * as {field, message}; a body that is not an object yields one error with
 * field "$".  Unknown members are errors.  Returns the number of problems.
 */
size_t pms_validate(const pms_field_spec_t *spec, size_t n, json_t *body,
    const char *today, json_t *errors);

/* 1 when s is a real calendar date written YYYY-MM-DD, else 0. */
int pms_valid_date(const char *s);

/* 1 when s looks like a deliverable address (see pms_valid.c), else 0. */
int pms_valid_email(const char *s);

/* 1 when s is valid UTF-8 (no overlongs, no surrogates), else 0. */
int pms_utf8_valid(const char *s);

/* Number of UTF-8 code points in s (s is valid UTF-8: jansson checks). */
size_t pms_utf8_len(const char *s);

/* Writes today's UTC date as YYYY-MM-DD into out[11]. */
void pms_today(char out[11]);

/* 1 when s holds a C0 control character or DEL (a tab passes when
 * allow_tab is set).  Pure. */
int pms_has_control(const char *s, int allow_tab);

#endif

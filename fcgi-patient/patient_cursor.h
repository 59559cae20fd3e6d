/*
 * patient_cursor.h -- the opaque cursor of keyset paging.  A cursor names
 * a position in the list order (lower(name), id): after a row, before a
 * row, or the last page.  It carries the row's name and id, not an
 * offset, so a walk stays exact while rows are added and removed, and a
 * page costs the same however deep it is.  Pure functions.
 */
#ifndef PATIENT_CURSOR_H
#define PATIENT_CURSOR_H

#include "pms_uuid.h"

#define PATIENT_CURSOR_NAME_MAX 400 /* 100 characters of UTF-8 */

typedef enum {
    PATIENT_CURSOR_NONE,   /* no cursor: the first page (or page=) */
    PATIENT_CURSOR_AFTER,  /* the rows after (name, id) */
    PATIENT_CURSOR_BEFORE, /* the rows before (name, id) */
    PATIENT_CURSOR_LAST    /* the last page */
} patient_cursor_dir_t;

typedef struct {
    patient_cursor_dir_t dir;
    char                 id[PMS_UUID_LEN + 1];
    char                 name[PATIENT_CURSOR_NAME_MAX + 1];
} patient_cursor_t;

/*
 * The cursor text (base64url, no padding) of a position; name and id are
 * ignored for PATIENT_CURSOR_LAST.  Returns a malloc()ed string the caller
 * frees, or NULL when out of memory or name is too long.
 */
char *patient_cursor_encode(patient_cursor_dir_t dir, const char *id,
    const char *name);

/*
 * Decodes a cursor this service made.  -1 for anything else: bad base64,
 * an unknown version or direction, an id that is not a UUID, a name that
 * is not UTF-8 or too long.
 */
int patient_cursor_decode(const char *text, patient_cursor_t *out);

#endif

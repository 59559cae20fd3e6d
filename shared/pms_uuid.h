/*
 * pms_uuid.h -- random (version 4) UUIDs and strict parsing of the
 * canonical 8-4-4-4-12 lowercase/uppercase hex form.
 */
#ifndef PMS_UUID_H
#define PMS_UUID_H

#define PMS_UUID_LEN 36

/* Writes a new v4 UUID and a NUL into out[37].  Returns 0 or -1. */
int pms_uuid_v4(char out[PMS_UUID_LEN + 1]);

/* 1 when s is exactly a canonical UUID, else 0. */
int pms_uuid_valid(const char *s);

#endif

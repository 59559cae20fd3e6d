/*
 * pms_uuid.c -- UUID generation from getrandom(2) and validation.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "pms_uuid.h"

int
pms_uuid_v4(char out[PMS_UUID_LEN + 1])
{
    uint8_t b[16];

    if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b)) {
        return -1;
    }
    b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
    b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
    snprintf(out, PMS_UUID_LEN + 1,
        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
        "%02x%02x%02x%02x%02x%02x",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
        b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

int
pms_uuid_valid(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != PMS_UUID_LEN) {
        return 0;
    }
    for (i = 0; i < PMS_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        } else if (!isxdigit((unsigned char) s[i])) {
            return 0;
        }
    }
    return 1;
}

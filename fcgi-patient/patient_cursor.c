/*
 * patient_cursor.c -- cursor text <-> position.  The payload is
 * "1" (format version), a direction letter (a, b, l), then for a and b
 * the 36-character id and the name; base64url keeps it one URL-safe
 * token.  OpenSSL does the base64; this file maps its alphabet.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "patient_cursor.h"
#include "pms_valid.h"

#define CURSOR_PAYLOAD_MAX (2 + PMS_UUID_LEN + PATIENT_CURSOR_NAME_MAX)
#define CURSOR_TEXT_MAX    ((CURSOR_PAYLOAD_MAX + 2) / 3 * 4)

static const char cursor_dirs[] = " abl"; /* indexed by the enum */

char *
patient_cursor_encode(patient_cursor_dir_t dir, const char *id,
    const char *name)
{
    unsigned char payload[CURSOR_PAYLOAD_MAX];
    size_t        len = 0, nlen;
    char         *text, *p;
    int           n;

    if (dir == PATIENT_CURSOR_NONE) {
        return NULL;
    }
    payload[len++] = '1';
    payload[len++] = (unsigned char) cursor_dirs[dir];
    if (dir != PATIENT_CURSOR_LAST) {
        nlen = strlen(name);
        if (strlen(id) != PMS_UUID_LEN || nlen > PATIENT_CURSOR_NAME_MAX) {
            return NULL;
        }
        memcpy(payload + len, id, PMS_UUID_LEN);
        len += PMS_UUID_LEN;
        memcpy(payload + len, name, nlen);
        len += nlen;
    }
    text = malloc(CURSOR_TEXT_MAX + 1);
    if (text == NULL) {
        return NULL;
    }
    n = EVP_EncodeBlock((unsigned char *) text, payload, (int) len);
    while (n > 0 && text[n - 1] == '=') {
        n--;
    }
    text[n] = '\0';
    for (p = text; *p != '\0'; p++) {
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
    return text;
}

/* Standard base64 of a base64url text, padded; -1 when not base64url. */
static int
cursor_std_base64(const char *text, char *out, size_t *outlen)
{
    size_t len = strlen(text), i;

    if (len == 0 || len > CURSOR_TEXT_MAX || len % 4 == 1) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = text[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            return -1;
        }
        out[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (i % 4 != 0) {
        out[i++] = '=';
    }
    out[i] = '\0';
    *outlen = i;
    return (int) (i - len); /* padding added */
}

int
patient_cursor_decode(const char *text, patient_cursor_t *out)
{
    char          std[CURSOR_TEXT_MAX + 4];
    unsigned char payload[CURSOR_PAYLOAD_MAX + 3];
    size_t        stdlen, nlen;
    int           pad, n;
    const char   *d;

    pad = cursor_std_base64(text, std, &stdlen);
    if (pad < 0) {
        return -1;
    }
    n = EVP_DecodeBlock(payload, (unsigned char *) std, (int) stdlen);
    if (n < pad + 2) {
        return -1;
    }
    n -= pad;
    if (payload[0] != '1' || memchr(payload, '\0', n) != NULL) {
        return -1;
    }
    d = strchr(cursor_dirs + 1, payload[1]); /* NUL excluded above */
    if (d == NULL) {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->dir = (patient_cursor_dir_t) (d - cursor_dirs);
    if (out->dir == PATIENT_CURSOR_LAST) {
        return n == 2 ? 0 : -1;
    }
    if (n < 2 + PMS_UUID_LEN) {
        return -1;
    }
    nlen = (size_t) n - 2 - PMS_UUID_LEN;
    if (nlen > PATIENT_CURSOR_NAME_MAX) {
        return -1;
    }
    memcpy(out->id, payload + 2, PMS_UUID_LEN);
    memcpy(out->name, payload + 2 + PMS_UUID_LEN, nlen);
    out->name[nlen] = '\0';
    if (!pms_uuid_valid(out->id) || !pms_utf8_valid(out->name)) {
        return -1;
    }
    return 0;
}

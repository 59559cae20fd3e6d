/*
 * fuzz_patient_query.c -- fuzz target: everything the patient service
 * parses beside the body: the list query string, the path id, If-Match,
 * percent-decoding and the LIKE pattern built from q.  The input is split
 * on the first two NUL bytes into query, path and If-Match.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "patient_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An accepted cursor encodes back to one that decodes to the same. */
static void
fuzz_cursor_round_trip(const patient_cursor_t *c)
{
    patient_cursor_t again;
    char            *text;

    if (c->dir == PATIENT_CURSOR_NONE) {
        return;
    }
    text = patient_cursor_encode(c->dir, c->id, c->name);
    if (text == NULL || patient_cursor_decode(text, &again) != 0
        || again.dir != c->dir || strcmp(again.id, c->id) != 0
        || strcmp(again.name, c->name) != 0) {
        __builtin_trap();
    }
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                *buf, *path, *ifm, id[64], dec[256];
    char                 like[PATIENT_Q_MAX * 4 * 2 + 3];
    patient_list_query_t q;
    json_t              *errors;

    buf = malloc(size + 3);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    path = buf + strlen(buf) + 1;
    if (path > buf + size) {
        path = buf + size + 1;
    }
    ifm = path + strlen(path) + 1;
    if (ifm > buf + size + 1) {
        ifm = buf + size + 2;
    }

    errors = json_array();
    if (patient_parse_list_query(buf, &q, errors) == 0) {
        if (q.page < 1 || q.size < 1 || q.size > PATIENT_PAGE_MAX_SIZE
            || (q.page - 1) * q.size > PATIENT_OFFSET_MAX) {
            __builtin_trap();
        }
        patient_like_pattern(q.q, like);
        fuzz_cursor_round_trip(&q.cursor);
    }
    json_decref(errors);
    (void) patient_parse_path(path, id, sizeof(id));
    (void) patient_if_match(ifm, 3);
    (void) patient_url_decode(buf, strlen(buf), dec, sizeof(dec));
    free(buf);
    return 0;
}

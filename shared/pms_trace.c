/*
 * pms_trace.c -- traceparent parsing and the per-thread current context
 * (see pms_trace.h).  Span ids come from getrandom(2).
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "pms_trace.h"

static __thread pms_trace_t trace_cur;
static __thread int         trace_set;

/* 1 when s[0..n) is lowercase hex. */
static int
trace_is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* 1 when s[0..n) is lowercase hex and not all zeros. */
static int
trace_is_id(const char *s, size_t n)
{
    size_t i;

    if (!trace_is_hex(s, n)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] != '0') {
            return 1;
        }
    }
    return 0;
}

static int
trace_byte(const char *s)
{
    int hi = s[0] <= '9' ? s[0] - '0' : s[0] - 'a' + 10;
    int lo = s[1] <= '9' ? s[1] - '0' : s[1] - 'a' + 10;

    return hi * 16 + lo;
}

int
pms_trace_parse(const char *h, pms_trace_t *out)
{
    size_t len;
    int    version;

    if (h == NULL || (len = strlen(h)) < 55 || h[2] != '-' || h[35] != '-'
        || h[52] != '-' || !trace_is_hex(h, 2) || !trace_is_hex(h + 53, 2)) {
        return -1;
    }
    version = trace_byte(h);
    if (version == 0xff || (version == 0 && len != 55)
        || (len > 55 && h[55] != '-')) {
        return -1;
    }
    if (!trace_is_id(h + 3, 32) || !trace_is_id(h + 36, 16)) {
        return -1;
    }
    memcpy(out->trace_id, h + 3, 32);
    out->trace_id[32] = '\0';
    memcpy(out->span_id, h + 36, 16);
    out->span_id[16] = '\0';
    out->flags = (unsigned char) trace_byte(h + 53);
    return 0;
}

void
pms_trace_format(const pms_trace_t *t, char out[PMS_TRACEPARENT_LEN])
{
    /* version 00 knows only the sampled flag; the others go out as 0 */
    snprintf(out, PMS_TRACEPARENT_LEN, "00-%s-%s-%02x", t->trace_id, t->span_id,
        t->flags & 0x01);
}

/* A random span id; never all zeros. */
static void
trace_new_span(char out[17])
{
    unsigned char b[8];
    size_t        i;

    if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b)) {
        memset(b, 0, sizeof(b));
    }
    for (i = 0; i < sizeof(b); i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
    if (!trace_is_id(out, 16)) {
        out[15] = '1';
    }
}

int
pms_trace_set(const char *header)
{
    trace_set = pms_trace_parse(header, &trace_cur) == 0;
    if (!trace_set) {
        return -1;
    }
    trace_new_span(trace_cur.span_id);
    return 0;
}

const pms_trace_t *
pms_trace_current(void)
{
    return trace_set ? &trace_cur : NULL;
}

int
pms_trace_sampled(void)
{
    return trace_set && (trace_cur.flags & 0x01);
}

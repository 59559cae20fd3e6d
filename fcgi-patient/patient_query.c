/*
 * patient_query.c -- query-string, path and If-Match parsing for the
 * patient API.  It copies and decodes; it never trusts lengths from the
 * client and never writes past the fixed buffers it is given.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patient_query.h"
#include "pms_problem.h"
#include "pms_valid.h"

static int
query_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int
patient_url_decode(const char *in, size_t len, char *out, size_t outlen)
{
    size_t i, o = 0;
    int    hi, lo;

    for (i = 0; i < len; i++) {
        char c = in[i];

        if (o + 1 >= outlen) {
            return -1;
        }
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= len) {
                return -1;      /* a truncated escape */
            }
            hi = query_hex((unsigned char) in[i + 1]);
            lo = query_hex((unsigned char) in[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            c = (char) (hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            return -1;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int
query_long(const char *s, long min, long max, long *out)
{
    char *end;
    long  v;

    if (*s == '\0' || !isdigit((unsigned char) *s)) {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* 1 when s is valid UTF-8 (no overlongs, no surrogates). */
static int
query_utf8_ok(const unsigned char *s)
{
    while (*s) {
        int n;
        unsigned cp;

        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xe0) == 0xc0) {
            n = 1; cp = *s & 0x1f;
        } else if ((*s & 0xf0) == 0xe0) {
            n = 2; cp = *s & 0x0f;
        } else if ((*s & 0xf8) == 0xf0) {
            n = 3; cp = *s & 0x07;
        } else {
            return 0;
        }
        s++;
        while (n-- > 0) {
            if ((*s & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (*s & 0x3f);
            s++;
        }
        if (cp < 0x80 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            return 0;
        }
    }
    return 1;
}

size_t
patient_parse_list_query(const char *qs, patient_list_query_t *out,
    json_t *errors)
{
    size_t      count = 0;
    const char *p = qs;
    int         seen_page = 0, seen_size = 0, seen_q = 0;
    char        key[32], val[PATIENT_Q_MAX * 4 + 1];

    out->page = 1;
    out->size = PATIENT_PAGE_DEFAULT_SIZE;
    out->q[0] = '\0';

    while (*p != '\0') {
        const char *amp = strchr(p, '&'), *eq;
        size_t      plen = amp ? (size_t) (amp - p) : strlen(p);

        eq = memchr(p, '=', plen);
        if (plen == 0) {
            p += amp ? 1 : 0;
            continue;
        }
        if (eq == NULL
            || patient_url_decode(p, eq - p, key, sizeof(key)) != 0)
        {
            count += pms_errors_add(errors, "query",
                "parameters must be name=value");
        } else if (patient_url_decode(eq + 1, plen - (eq - p) - 1, val,
                       sizeof(val)) != 0 || !query_utf8_ok((unsigned char *) val))
        {
            count += pms_errors_add(errors, key,
                "is not a valid value or is too long");
        } else if (strcmp(key, "page") == 0) {
            if (seen_page++ || query_long(val, 1, 1000000, &out->page) != 0) {
                count += pms_errors_add(errors, "page",
                    "must be an integer from 1 to 1000000");
            }
        } else if (strcmp(key, "size") == 0) {
            if (seen_size++ || query_long(val, 1, PATIENT_PAGE_MAX_SIZE,
                                   &out->size) != 0)
            {
                count += pms_errors_add(errors, "size",
                    "must be an integer from 1 to 500");
            }
        } else if (strcmp(key, "q") == 0) {
            if (seen_q++ || pms_utf8_len(val) > PATIENT_Q_MAX) {
                count += pms_errors_add(errors, "q",
                    "must be given once, at most 100 characters");
            } else {
                snprintf(out->q, sizeof(out->q), "%s", val);
            }
        } else {
            count += pms_errors_add(errors, key,
                "is not a known parameter (page, size, q)");
        }
        p += plen + (amp ? 1 : 0);
    }
    return count;
}

void
patient_like_pattern(const char *q, char *out)
{
    *out++ = '%';
    for (; *q != '\0'; q++) {
        if (*q == '\\' || *q == '%' || *q == '_') {
            *out++ = '\\';
        }
        *out++ = *q;
    }
    *out++ = '%';
    *out = '\0';
}

patient_path_t
patient_parse_path(const char *path, char *id, size_t idlen)
{
    static const char prefix[] = "/patients";
    const char       *rest;

    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0) {
        return PATIENT_PATH_NONE;
    }
    rest = path + sizeof(prefix) - 1;
    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        return PATIENT_PATH_COLLECTION;
    }
    if (*rest != '/' || strchr(rest + 1, '/') != NULL
        || strlen(rest + 1) >= idlen)
    {
        return PATIENT_PATH_NONE;
    }
    snprintf(id, idlen, "%s", rest + 1);
    return PATIENT_PATH_ITEM;
}

int
patient_if_match(const char *header, long version)
{
    char        want[32];
    const char *p;
    size_t      wlen;

    if (header == NULL) {
        return 1;
    }
    snprintf(want, sizeof(want), "\"%ld\"", version);
    wlen = strlen(want);
    p = header;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            return 0;
        }
        if (*p == '*') {
            return 1;
        }
        if (strncmp(p, want, wlen) == 0
            && (p[wlen] == '\0' || p[wlen] == ',' || p[wlen] == ' '
                || p[wlen] == '\t'))
        {
            return 1;
        }
        while (*p != '\0' && *p != ',') {
            p++;
        }
    }
}

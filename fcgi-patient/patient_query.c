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
                return -1; /* a truncated escape */
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

#define QUERY_VALUE_MAX 1024

/* Checks one decoded parameter into out; returns the problems added. */
static size_t
query_param(const char *key, const char *val, patient_list_query_t *out,
    unsigned *seen, json_t *errors)
{
    static const char *const names[] = { "page", "size", "q", "email",
        "birthDate", "cursor", "total" };
    size_t                   i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(key, names[i]) == 0) {
            break;
        }
    }
    if (i == sizeof(names) / sizeof(names[0])) {
        return pms_errors_add(errors, key,
            "is not a known parameter (page,"
            " size, q, email, birthDate, cursor, total)");
    }
    if (*seen & (1u << i)) {
        return pms_errors_add(errors, key, "must be given once");
    }
    *seen |= 1u << i;
    switch (i) {
    case 0:
        return query_long(val, 1, 1000000, &out->page) == 0
            ? 0
            : pms_errors_add(errors, key,
                "must be an integer from 1 to 1000000");
    case 1:
        return query_long(val, 1, PATIENT_PAGE_MAX_SIZE, &out->size) == 0
            ? 0
            : pms_errors_add(errors, key, "must be an integer from 1 to 500");
    case 2:
        if (pms_utf8_len(val) > PATIENT_Q_MAX || pms_has_control(val, 0)) {
            return pms_errors_add(errors, key,
                "must be at most 100 characters,"
                " none of them control characters");
        }
        snprintf(out->q, sizeof(out->q), "%s", val);
        return 0;
    case 3:
        if (strlen(val) >= sizeof(out->email) || !pms_valid_email(val)) {
            return pms_errors_add(errors, key, "must be an email address");
        }
        memcpy(out->email, val, strlen(val) + 1);
        return 0;
    case 4:
        if (!pms_valid_date(val)) {
            return pms_errors_add(errors, key, "must be a date YYYY-MM-DD");
        }
        memcpy(out->birth_date, val, sizeof(out->birth_date)); /* 10 + NUL */
        return 0;
    case 5:
        return patient_cursor_decode(val, &out->cursor) == 0
            ? 0
            : pms_errors_add(errors, key,
                "is not a cursor this service made;"
                " follow the Link header's URLs");
    default:
        if (strcmp(val, "estimate") == 0) {
            out->total = PATIENT_TOTAL_ESTIMATE;
        } else if (strcmp(val, "accurate") == 0) {
            out->total = PATIENT_TOTAL_ACCURATE;
        } else if (strcmp(val, "none") == 0) {
            out->total = PATIENT_TOTAL_NONE;
        } else {
            return pms_errors_add(errors, key,
                "must be accurate, estimate or none");
        }
        return 0;
    }
}

/* The rules between parameters: page or cursor, and the offset bound. */
static size_t
query_paging(const patient_list_query_t *out, unsigned seen, json_t *errors)
{
    if ((seen & 1u) && out->cursor.dir != PATIENT_CURSOR_NONE) {
        return pms_errors_add(errors, "page", "cannot be combined with cursor");
    }
    if ((out->page - 1) * out->size > PATIENT_OFFSET_MAX) {
        return pms_errors_add(errors, "page",
            "reaches past the first 10000"
            " rows; follow the Link header's rel=\"next\" cursor instead");
    }
    return 0;
}

size_t
patient_query_each(const char *qs, patient_param_fn fn, void *arg,
    json_t *errors)
{
    size_t      count = 0;
    const char *p = qs;
    char        key[32], val[QUERY_VALUE_MAX];

    while (*p != '\0') {
        const char *amp = strchr(p, '&'), *eq;
        size_t      plen = amp ? (size_t) (amp - p) : strlen(p);

        eq = memchr(p, '=', plen);
        if (plen == 0) {
            p += amp ? 1 : 0;
            continue;
        }
        if (eq == NULL
            || patient_url_decode(p, eq - p, key, sizeof(key)) != 0) {
            count += pms_errors_add(errors, "query",
                "parameters must be name=value");
        } else if (patient_url_decode(eq + 1, plen - (eq - p) - 1, val,
                       sizeof(val))
                != 0
            || !pms_utf8_valid(val)) {
            count += pms_errors_add(errors, key,
                "is not a valid value or is too long");
        } else {
            count += fn(key, val, arg, errors);
        }
        p += plen + (amp ? 1 : 0);
    }
    return count;
}

/* What the list parser keeps between parameters. */
typedef struct {
    patient_list_query_t *out;
    unsigned              seen;
} query_list_t;

static size_t
query_list_param(const char *key, const char *val, void *arg, json_t *errors)
{
    query_list_t *l = arg;

    return query_param(key, val, l->out, &l->seen, errors);
}

size_t
patient_parse_list_query(const char *qs, patient_list_query_t *out,
    json_t *errors)
{
    query_list_t l = { out, 0 };
    size_t       count;

    memset(out, 0, sizeof(*out));
    out->page = 1;
    out->size = PATIENT_PAGE_DEFAULT_SIZE;
    count = patient_query_each(qs, query_list_param, &l, errors);
    if (count == 0) {
        count += query_paging(out, l.seen, errors);
    }
    return count;
}

/* What the history parser fills. */
typedef struct {
    long    *size, *before;
    unsigned seen;
} query_history_t;

static size_t
query_history_param(const char *key, const char *val, void *arg, json_t *errors)
{
    query_history_t *h = arg;
    unsigned         bit = strcmp(key, "size") == 0 ? 1u
                : strcmp(key, "cursor") == 0        ? 2u
                                                    : 0u;

    if (bit == 0) {
        return pms_errors_add(errors, key,
            "is not a known parameter (size, cursor)");
    }
    if (h->seen & bit) {
        return pms_errors_add(errors, key, "must be given once");
    }
    h->seen |= bit;
    if (bit == 1u) {
        return query_long(val, 1, PATIENT_PAGE_MAX_SIZE, h->size) == 0
            ? 0
            : pms_errors_add(errors, key, "must be an integer from 1 to 500");
    }
    return query_long(val, 2, PATIENT_HISTORY_TOP, h->before) == 0
        ? 0
        : pms_errors_add(errors, key,
            "is not a cursor this service made; follow the Link header");
}

size_t
patient_parse_history_query(const char *qs, long *size, long *before,
    json_t *errors)
{
    query_history_t h = { size, before, 0 };

    *size = PATIENT_PAGE_DEFAULT_SIZE;
    *before = PATIENT_HISTORY_TOP;
    return patient_query_each(qs, query_history_param, &h, errors);
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
    const char *slash;
    size_t      len;

    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        return PATIENT_PATH_COLLECTION;
    }
    if (*rest != '/') {
        return PATIENT_PATH_NONE;
    }
    slash = strchr(rest + 1, '/');
    len = slash != NULL ? (size_t) (slash - rest - 1) : strlen(rest + 1);
    if (slash != NULL && strcmp(slash, "/history") != 0) {
        return PATIENT_PATH_NONE;
    }
    /* an id too long for id is no UUID: left empty, the caller says 400 */
    snprintf(id, idlen, "%.*s", len < idlen ? (int) len : 0, rest + 1);
    return slash != NULL ? PATIENT_PATH_HISTORY : PATIENT_PATH_ITEM;
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
                || p[wlen] == '\t')) {
            return 1;
        }
        while (*p != '\0' && *p != ',') {
            p++;
        }
    }
}

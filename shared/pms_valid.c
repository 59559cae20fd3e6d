/*
 * pms_valid.c -- the generic field checks behind pms_validate().  It knows
 * nothing about patients: rules that span fields (a registration date not
 * before the birth date) belong to the resource's own model code.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pms_problem.h"
#include "pms_valid.h"

int
pms_utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *) str;

    static const unsigned least[4] = { 0, 0x80, 0x800, 0x10000 };

    while (*s) {
        int      n, len;
        unsigned cp;

        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xe0) == 0xc0) {
            n = 1;
            cp = *s & 0x1f;
        } else if ((*s & 0xf0) == 0xe0) {
            n = 2;
            cp = *s & 0x0f;
        } else if ((*s & 0xf8) == 0xf0) {
            n = 3;
            cp = *s & 0x07;
        } else {
            return 0;
        }
        s++;
        len = n;
        while (n-- > 0) {
            if ((*s & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (*s & 0x3f);
            s++;
        }
        if (cp < least[len] || (cp >= 0xd800 && cp <= 0xdfff)
            || cp > 0x10ffff) {
            return 0;
        }
    }
    return 1;
}

size_t
pms_utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        if (((unsigned char) *s & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}

static int
valid_blank(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!isspace((unsigned char) *s)) {
            return 0;
        }
    }
    return 1;
}

int
pms_valid_date(const char *s)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
        31 };
    int              y, m, d, i, leap;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    for (i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && !isdigit((unsigned char) s[i])) {
            return 0;
        }
    }
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10
        + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1) {
        return 0;
    }
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/*
 * A pragmatic address check, not RFC 5322: one '@'; a local part of 1-64
 * characters from the dot-atom set, no leading, trailing or double dots; a
 * domain of at least two dot-separated labels of letters, digits and
 * hyphens (not at a label's ends), 1-63 each; at most 254 in total.
 * Non-ASCII addresses are refused.
 */
int
pms_valid_email(const char *s)
{
    const char *at = strchr(s, '@'), *p, *label;
    size_t      len = strlen(s);
    int         labels = 0;

    if (at == NULL || strchr(at + 1, '@') != NULL || len > 254) {
        return 0;
    }
    if (at == s || at - s > 64 || s[0] == '.' || at[-1] == '.') {
        return 0;
    }
    for (p = s; p < at; p++) {
        if (!isalnum((unsigned char) *p)
            && strchr("!#$%&'*+-/=?^_`{|}~.", *p) == NULL) {
            return 0;
        }
        if (*p == '.' && p[1] == '.') {
            return 0;
        }
    }
    label = at + 1;
    for (p = label;; p++) {
        if (*p == '.' || *p == '\0') {
            if (p == label || p - label > 63 || label[0] == '-'
                || p[-1] == '-') {
                return 0;
            }
            labels++;
            if (*p == '\0') {
                break;
            }
            label = p + 1;
        } else if (!isalnum((unsigned char) *p) && *p != '-') {
            return 0;
        }
    }
    return labels >= 2;
}

void
pms_today(char out[11])
{
    time_t    now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static const pms_field_spec_t *
valid_find(const pms_field_spec_t *spec, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(spec[i].name, name) == 0) {
            return &spec[i];
        }
    }
    return NULL;
}

/* Checks one field; returns its number of problems (0 or 1). */
static size_t
valid_field(const pms_field_spec_t *f, json_t *v, const char *today,
    json_t *errors)
{
    const char *s;
    size_t      len;
    char        msg[128];

    if (v == NULL || json_is_null(v)) {
        if (f->flags & PMS_FIELD_REQUIRED) {
            return pms_errors_add(errors, f->name, "is required");
        }
        return 0;
    }
    if (!json_is_string(v)) {
        return pms_errors_add(errors, f->name, "must be a string");
    }
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        return pms_errors_add(errors, f->name,
            "must not contain NUL characters");
    }
    if (valid_blank(s)) {
        return pms_errors_add(errors, f->name,
            (f->flags & PMS_FIELD_REQUIRED) ? "is required"
                                            : "must not be blank");
    }
    switch (f->kind) {
    case PMS_FIELD_TEXT:
        len = pms_utf8_len(s);
        if (len < f->min_len || len > f->max_len) {
            snprintf(msg, sizeof(msg), "must be %zu to %zu characters long",
                f->min_len, f->max_len);
            return pms_errors_add(errors, f->name, msg);
        }
        if (pms_has_control(s, 1)) { /* a tab is kept as sent */
            return pms_errors_add(errors, f->name,
                "must not contain control characters");
        }
        break;
    case PMS_FIELD_EMAIL:
        if (!pms_valid_email(s)) {
            return pms_errors_add(errors, f->name,
                "must be a valid email address");
        }
        break;
    case PMS_FIELD_DATE:
        if (!pms_valid_date(s)) {
            return pms_errors_add(errors, f->name,
                "must be a real date written YYYY-MM-DD");
        }
        if ((f->flags & PMS_FIELD_NOT_FUTURE) && strcmp(s, today) > 0) {
            return pms_errors_add(errors, f->name, "must not be in the future");
        }
        break;
    }
    return 0;
}

size_t
pms_validate(const pms_field_spec_t *spec, size_t n, json_t *body,
    const char *today, json_t *errors)
{
    size_t      count = 0, i;
    const char *key;
    json_t     *value;

    if (!json_is_object(body)) {
        return pms_errors_add(errors, "$", "the body must be a JSON object");
    }
    json_object_foreach(body, key, value)
    {
        if (valid_find(spec, n, key) == NULL) {
            count += pms_errors_add(errors, key, "is not a known field");
        }
    }
    for (i = 0; i < n; i++) {
        if (!(spec[i].flags & PMS_FIELD_READONLY)) {
            count += valid_field(&spec[i], json_object_get(body, spec[i].name),
                today, errors);
        }
    }
    return count;
}

int
pms_has_control(const char *s, int allow_tab)
{
    for (; *s != '\0'; s++) {
        if (((unsigned char) *s < 0x20 && !(allow_tab && *s == '\t'))
            || *s == 0x7f) {
            return 1;
        }
    }
    return 0;
}

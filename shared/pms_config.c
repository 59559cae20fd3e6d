/*
 * pms_config.c -- loads a daemon's configuration table from the
 * environment.  Owns parsing and bounds checks only; what the values mean
 * belongs to each daemon.  Every bad variable is reported, not just the
 * first, so one restart fixes them all.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pms_config.h"

static void
conf_append(char *err, size_t errlen, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int     n;

    if (*used >= errlen) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(err + *used, errlen - *used, fmt, ap);
    va_end(ap);
    if (n > 0) {
        *used += (size_t) n < errlen - *used ? (size_t) n : errlen - *used - 1;
    }
}

static int
conf_parse_bool(const char *v, int *out)
{
    if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0
        || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0
        || strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

int
pms_config_load(const pms_conf_entry_t *table, size_t n, pms_conf_getter_t get,
    char *err, size_t errlen)
{
    size_t i, used = 0;
    int    bad = 0;

    if (errlen > 0) {
        err[0] = '\0';
    }
    for (i = 0; i < n; i++) {
        const pms_conf_entry_t *e = &table[i];
        const char             *v = get(e->name);
        char                   *end;
        long                    l;

        if (v == NULL) {
            v = e->def;
        }
        switch (e->type) {
        case PMS_CONF_INT:
            errno = 0;
            l = v != NULL ? strtol(v, &end, 10) : 0;
            if (v == NULL || *v == '\0' || *end != '\0' || errno != 0) {
                conf_append(err, errlen, &used,
                    "%s: \"%s\" is not an integer\n", e->name, v ? v : "");
                bad = 1;
            } else if (l < e->min || l > e->max) {
                conf_append(err, errlen, &used, "%s: %ld is outside %ld..%ld\n",
                    e->name, l, e->min, e->max);
                bad = 1;
            } else {
                *(long *) e->dst = l;
            }
            break;
        case PMS_CONF_STR:
            if (v == NULL) {
                v = "";
            }
            if ((long) strlen(v) < e->min || (long) strlen(v) > e->max) {
                conf_append(err, errlen, &used,
                    "%s: length %zu is outside %ld..%ld\n", e->name, strlen(v),
                    e->min, e->max);
                bad = 1;
            } else {
                *(const char **) e->dst = v;
            }
            break;
        case PMS_CONF_BOOL:
            if (v == NULL || conf_parse_bool(v, (int *) e->dst) != 0) {
                conf_append(err, errlen, &used,
                    "%s: \"%s\" is not a boolean (true/false)\n", e->name,
                    v ? v : "");
                bad = 1;
            }
            break;
        }
    }
    return bad ? -1 : 0;
}

static const char *
conf_getenv(const char *name)
{
    return getenv(name);
}

void
pms_config_load_or_exit(const char *prog, const pms_conf_entry_t *table,
    size_t n)
{
    char err[2048];

    if (pms_config_load(table, n, conf_getenv, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: bad configuration:\n%s\n", prog, err);
        pms_config_usage(stderr, table, n);
        exit(2);
    }
}

void
pms_config_usage(FILE *out, const pms_conf_entry_t *table, size_t n)
{
    size_t i;

    fprintf(out, "Environment variables:\n");
    for (i = 0; i < n; i++) {
        fprintf(out, "  %-28s %s (default: %s)\n", table[i].name, table[i].help,
            table[i].def ? table[i].def : "none");
    }
}

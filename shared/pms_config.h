/*
 * pms_config.h -- configuration from environment variables, described by
 * one table per daemon (name, type, default, bounds, help).  The whole
 * table is validated at start; a bad value is reported naming the
 * variable so the daemon can exit non-zero and supervisord shows why.
 */
#ifndef PMS_CONFIG_H
#define PMS_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    PMS_CONF_INT, /* dst is a long *, checked against min/max */
    PMS_CONF_STR, /* dst is a const char **, borrowed from env */
    PMS_CONF_BOOL /* dst is an int *: 0/1, true/false, yes/no */
} pms_conf_type_t;

typedef struct {
    const char     *name; /* environment variable, e.g. PMS_PATIENT_WORKERS */
    pms_conf_type_t type;
    const char     *def; /* default, as the text the variable would hold */
    long            min; /* PMS_CONF_INT bounds (inclusive); */
    long            max; /*   for PMS_CONF_STR: min/max length */
    const char     *help;
    void           *dst;
} pms_conf_entry_t;

/* Looks up a variable; getenv() in daemons, a fake table in unit tests. */
typedef const char *(*pms_conf_getter_t)(const char *name);

/*
 * Fills every entry's dst from the getter (or its default).  Returns 0, or
 * -1 with err holding one line per bad variable.  String values are
 * borrowed from the getter's storage (the environment) and must outlive use.
 */
int pms_config_load(const pms_conf_entry_t *table, size_t n,
    pms_conf_getter_t get, char *err, size_t errlen);

/* Loads from the environment; on error prints it and the help, exit(2). */
void pms_config_load_or_exit(const char *prog, const pms_conf_entry_t *table,
    size_t n);

/* Writes "NAME (default D): help" lines, for --help. */
void pms_config_usage(FILE *out, const pms_conf_entry_t *table, size_t n);

#endif

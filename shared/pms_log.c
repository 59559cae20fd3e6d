/*
 * pms_log.c -- JSON-lines logger.  Each call renders one complete object
 * and writes it with a single write(2), so lines from pre-forked workers
 * sharing stderr never interleave (lines stay below PIPE_BUF in practice).
 * It must not allocate per request beyond the line it writes.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pms_log.h"
#include "pms_trace.h"

static const char     *log_service = "pms";
static pms_log_level_t log_min = PMS_LOG_INFO;
static __thread char
    log_request_id[65]; /* per thread: the auth helper is threaded */

static const char *log_level_names[] = { "debug", "info", "warn", "error" };

void
pms_log_init(const char *service, pms_log_level_t min_level)
{
    log_service = service;
    log_min = min_level;
}

void
pms_log_set_request_id(const char *request_id)
{
    if (request_id == NULL) {
        log_request_id[0] = '\0';
        return;
    }
    snprintf(log_request_id, sizeof(log_request_id), "%s", request_id);
}

const char *
pms_log_request_id(void)
{
    return log_request_id;
}

void
pms_timestamp(char out[PMS_TIMESTAMP_LEN])
{
    struct timeval tv;
    struct tm      tm;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(out, PMS_TIMESTAMP_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, (long) tv.tv_usec / 1000);
}

static void
log_emit(pms_log_level_t level, json_t *fields, const char *fmt, va_list ap)
{
    char               msg[1024], ts[PMS_TIMESTAMP_LEN];
    const pms_trace_t *trace;
    json_t            *line;
    char              *text;
    size_t             len;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    pms_timestamp(ts);

    line = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ts", ts, "level",
        log_level_names[level], "service", log_service, "pid", (int) getpid(),
        "msg", msg);
    if (line == NULL) {
        json_decref(fields);
        return;
    }
    if (log_request_id[0] != '\0') {
        json_object_set_new(line, "request_id", json_string(log_request_id));
    }
    if ((trace = pms_trace_current()) != NULL) {
        json_object_set_new(line, "trace_id", json_string(trace->trace_id));
    }
    if (fields != NULL) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(line);
    if (text == NULL) {
        return;
    }
    len = strlen(text);
    text[len] = '\n'; /* replace the NUL: one write for the line */
    if (write(STDERR_FILENO, text, len + 1) < 0) {
        /* nothing sensible to do when stderr is gone */
    }
    free(text);
}

void
pms_log(pms_log_level_t level, const char *fmt, ...)
{
    va_list ap;

    if (level < log_min) {
        return;
    }
    va_start(ap, fmt);
    log_emit(level, NULL, fmt, ap);
    va_end(ap);
}

void
pms_log_fields(pms_log_level_t level, json_t *fields, const char *fmt, ...)
{
    va_list ap;

    if (level < log_min) {
        json_decref(fields);
        return;
    }
    va_start(ap, fmt);
    log_emit(level, fields, fmt, ap);
    va_end(ap);
}

void
pms_log_syslog(int level, const char *facility, const char *msg)
{
    pms_log_level_t l = level <= 3 ? PMS_LOG_ERROR
        : level == 4               ? PMS_LOG_WARN
        : level <= 6               ? PMS_LOG_INFO
                                   : PMS_LOG_DEBUG;

    pms_log_fields(l, json_pack("{s:s}", "facility", facility), "%s", msg);
}

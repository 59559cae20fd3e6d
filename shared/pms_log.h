/*
 * pms_log.h -- JSON-lines logging to stderr (which supervisord captures).
 * One object per line: ts, level, service, pid, request_id (when a request
 * is being served), trace_id (while a trace context is set, pms_trace.h),
 * msg, plus optional fields.  Never log secrets, tokens
 * or patient PII here.
 */
#ifndef PMS_LOG_H
#define PMS_LOG_H

#include <jansson.h>

typedef enum {
    PMS_LOG_DEBUG,
    PMS_LOG_INFO,
    PMS_LOG_WARN,
    PMS_LOG_ERROR
} pms_log_level_t;

void pms_log_init(const char *service, pms_log_level_t min_level);

/* Sets (copies, truncated to 64 bytes) or clears (NULL) the request id. */
void        pms_log_set_request_id(const char *request_id);
const char *pms_log_request_id(void);

void pms_log(pms_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like pms_log with extra fields; steals the reference to fields. */
void pms_log_fields(pms_log_level_t level, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logs a line from a library that reports syslog levels (0..7). */
void pms_log_syslog(int level, const char *facility, const char *msg);

#define PMS_TIMESTAMP_LEN 64

/* The current UTC time as RFC 3339 with milliseconds ("...T20:48:50.999Z"). */
void pms_timestamp(char out[PMS_TIMESTAMP_LEN]);

#define pms_debug(...) pms_log(PMS_LOG_DEBUG, __VA_ARGS__)
#define pms_info(...)  pms_log(PMS_LOG_INFO, __VA_ARGS__)
#define pms_warn(...)  pms_log(PMS_LOG_WARN, __VA_ARGS__)
#define pms_error(...) pms_log(PMS_LOG_ERROR, __VA_ARGS__)

#endif

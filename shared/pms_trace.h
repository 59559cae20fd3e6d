/*
 * pms_trace.h -- W3C Trace Context (traceparent) for logs and for the
 * calls and events a request causes.  Each thread has a current context:
 * the request or event it is handling.  Setting it from a received
 * traceparent keeps the trace id and flags and starts a span of this
 * process (a new random parent id), so what it passes on names this hop
 * as the parent.  The logger adds the trace id to every line while a
 * context is set.
 */
#ifndef PMS_TRACE_H
#define PMS_TRACE_H

/* "00-" 32 hex "-" 16 hex "-" 2 hex, and the NUL. */
#define PMS_TRACEPARENT_LEN 56

typedef struct {
    char          trace_id[33]; /* lowercase hex, never all zeros */
    char          span_id[17];  /* lowercase hex, never all zeros */
    unsigned char flags;        /* bit 0: sampled */
} pms_trace_t;

/*
 * Parses a traceparent header as the W3C rules ask: version 00 exactly,
 * a later version (never ff) with what follows its four fields ignored;
 * lowercase hex; trace id and parent id not all zeros.  0, or -1 (out
 * untouched).  Pure.
 */
int pms_trace_parse(const char *header, pms_trace_t *out);

/* "00-<trace id>-<span id>-<flags>" into out.  Pure. */
void pms_trace_format(const pms_trace_t *t, char out[PMS_TRACEPARENT_LEN]);

/*
 * Makes the thread's current context the one header names, with a new
 * span id of this process; NULL or an invalid header clears it.  Returns
 * 0 when a context is set, -1 when cleared.
 */
int pms_trace_set(const char *header);

/* The thread's current context, or NULL. */
const pms_trace_t *pms_trace_current(void);

/* 1 when the current context is set and sampled (worth an info line). */
int pms_trace_sampled(void);

#endif

/*
 * pms_metrics.h -- Prometheus metrics every daemon keeps: counters,
 * gauges and histograms with up to two labels, in one table of shared
 * memory, so the pre-forked workers of a service count into the same
 * series and the process serving the exposition sees them all.  An update
 * is a hash lookup and an atomic add, without a lock; a series is created
 * on its first update.  A family is a static pms_metric_t of the module
 * that counts (its address is the same in every forked process); the
 * rendered name gets the daemon's prefix, "pms_<service>_".
 *
 *     static const pms_metric_t m_calls = PMS_COUNTER("calls_total",
 *         "calls answered, by code", "code", NULL);
 *     pms_metric_add(&m_calls, "OK", NULL, 1);
 *
 * pms_metrics_init() (done by pms_daemon_init) must come before any fork
 * or thread.  The exposition is text format 0.0.4: a FastCGI daemon
 * answers it on its own socket (pms_serve, when the gateway passes
 * PMS_METRICS=1); the others serve it with pms_metrics_listen().
 */
#ifndef PMS_METRICS_H
#define PMS_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PMS_METRIC_COUNTER,
    PMS_METRIC_GAUGE,
    PMS_METRIC_HISTOGRAM
} pms_metric_type_t;

/* Upper bounds of the histogram buckets, in seconds (+Inf is implied). */
#define PMS_METRICS_NBUCKETS 12
extern const double pms_metrics_buckets[PMS_METRICS_NBUCKETS];

typedef struct {
    const char       *name;     /* after the daemon prefix */
    const char       *help;     /* one line */
    pms_metric_type_t type;     /* fixed */
    const char       *label[2]; /* label names, NULL when unused */
} pms_metric_t;

#define PMS_COUNTER(name, help, l1, l2)                                        \
    {                                                                          \
        name, help, PMS_METRIC_COUNTER,                                        \
        {                                                                      \
            l1, l2                                                             \
        }                                                                      \
    }
#define PMS_GAUGE(name, help, l1, l2)                                          \
    {                                                                          \
        name, help, PMS_METRIC_GAUGE,                                          \
        {                                                                      \
            l1, l2                                                             \
        }                                                                      \
    }
#define PMS_HISTOGRAM(name, help, l1, l2)                                      \
    {                                                                          \
        name, help, PMS_METRIC_HISTOGRAM,                                      \
        {                                                                      \
            l1, l2                                                             \
        }                                                                      \
    }

#define PMS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Longest label value kept (longer ones are cut). */
#define PMS_METRICS_LABEL_MAX 47

/*
 * Maps the shared table (room for slots series) and sets the prefix from
 * the service ("patient" gives "pms_patient_"); records the process start
 * time.  0, or -1 when the memory cannot be mapped (every update is then
 * a no-op and the exposition is empty).
 */
int pms_metrics_init(const char *service, size_t slots);

/*
 * The updates.  l1/l2 are the label values, NULL where the family has no
 * such label.  They never fail: with the table full an update is dropped
 * and counted in pms_<service>_metrics_dropped_total.
 */
void pms_metric_add(const pms_metric_t *m, const char *l1, const char *l2,
    uint64_t n);
void pms_metric_set(const pms_metric_t *m, const char *l1, const char *l2,
    double v);
void pms_metric_observe(const pms_metric_t *m, const char *l1, const char *l2,
    double seconds);

/* Seconds on the monotonic clock, for timing what is observed. */
double pms_metrics_now(void);

/*
 * The exposition of every series, families sorted by name and series by
 * label values: a malloc'ed string the caller frees (*len its length), or
 * NULL when out of memory.
 */
char *pms_metrics_render(size_t *len);

/*
 * Serves the exposition over FastCGI on addr ("host:port") from a thread
 * of its own that blocks every signal.  Empty addr: nothing.  0, or -1
 * (logged) when it cannot listen.
 */
int pms_metrics_listen(const char *addr);

#endif

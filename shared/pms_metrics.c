/*
 * pms_metrics.c -- the shared series table and its exposition (see
 * pms_metrics.h).  The table is open addressing over an anonymous
 * MAP_SHARED mapping; a slot is claimed with a compare-and-swap on its
 * state (free -> filling -> ready) and never freed, so readers need no
 * lock.  Histogram buckets are kept per bucket and summed when rendered;
 * a histogram's sum is kept in microseconds so it can be added
 * atomically.
 */
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <fcgiapp.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pms_log.h"
#include "pms_metrics.h"

const double pms_metrics_buckets[PMS_METRICS_NBUCKETS] = { 0.0005, 0.001,
    0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY };

/* v[]: a counter's value, a gauge's double bits, or a histogram's
 * buckets, then its +Inf count, then its sum in microseconds. */
#define SLOT_COUNT (PMS_METRICS_NBUCKETS)
#define SLOT_SUM   (PMS_METRICS_NBUCKETS + 1)

typedef struct {
    int                 state;
    const pms_metric_t *m;
    char                l1[PMS_METRICS_LABEL_MAX + 1];
    char                l2[PMS_METRICS_LABEL_MAX + 1];
    uint64_t            v[PMS_METRICS_NBUCKETS + 2];
} metrics_slot_t;

typedef struct {
    uint64_t       dropped;
    double         start_time;
    size_t         nslots;
    metrics_slot_t slots[];
} metrics_table_t;

static metrics_table_t *metrics;
static char             metrics_prefix[64] = "pms_";
static int              metrics_fd = -1;

int
pms_metrics_init(const char *service, size_t slots)
{
    size_t size = sizeof(metrics_table_t) + slots * sizeof(metrics_slot_t);
    struct timespec now;
    void           *p;

    snprintf(metrics_prefix, sizeof(metrics_prefix), "pms_%s_", service);
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
        0);
    if (p == MAP_FAILED) {
        pms_warn("no memory for metrics: %s", strerror(errno));
        return -1;
    }
    metrics = p; /* zeroed by the kernel: every slot free */
    metrics->nslots = slots;
    clock_gettime(CLOCK_REALTIME, &now);
    metrics->start_time = now.tv_sec + now.tv_nsec / 1e9;
    return 0;
}

double
pms_metrics_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* FNV-1a over the family's address and the label values. */
static size_t
metrics_hash(const pms_metric_t *m, const char *l1, const char *l2)
{
    uint64_t    h = 1469598103934665603ULL ^ (uint64_t) (uintptr_t) m;
    const char *s;

    for (s = l1; s != NULL && *s != '\0'; s++) {
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    }
    h = (h ^ 0xff) * 1099511628211ULL;
    for (s = l2; s != NULL && *s != '\0'; s++) {
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    }
    return (size_t) h;
}

static int
metrics_label_eq(const char *kept, const char *l)
{
    return strncmp(kept, l != NULL ? l : "", PMS_METRICS_LABEL_MAX) == 0;
}

/* The series of (m, l1, l2), created when absent; NULL when full. */
static metrics_slot_t *
metrics_slot(const pms_metric_t *m, const char *l1, const char *l2)
{
    size_t          i, n, probe;
    metrics_slot_t *s;
    int             expect;

    if (metrics == NULL) {
        return NULL;
    }
    n = metrics->nslots;
    i = metrics_hash(m, l1, l2) % n;
    for (probe = 0; probe < n; probe++, i = (i + 1) % n) {
        s = &metrics->slots[i];
        expect = SLOT_FREE;
        if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == SLOT_FREE
            && __atomic_compare_exchange_n(&s->state, &expect, SLOT_FILLING, 0,
                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            s->m = m;
            snprintf(s->l1, sizeof(s->l1), "%s", l1 != NULL ? l1 : "");
            snprintf(s->l2, sizeof(s->l2), "%s", l2 != NULL ? l2 : "");
            __atomic_store_n(&s->state, SLOT_READY, __ATOMIC_RELEASE);
            return s;
        }
        while (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == SLOT_FILLING) {
            /* another process is writing the key: a few stores away */
        }
        if (s->m == m && metrics_label_eq(s->l1, l1)
            && metrics_label_eq(s->l2, l2)) {
            return s;
        }
    }
    __atomic_add_fetch(&metrics->dropped, 1, __ATOMIC_RELAXED);
    return NULL;
}

void
pms_metric_add(const pms_metric_t *m, const char *l1, const char *l2,
    uint64_t n)
{
    metrics_slot_t *s = metrics_slot(m, l1, l2);

    if (s != NULL) {
        __atomic_add_fetch(&s->v[0], n, __ATOMIC_RELAXED);
    }
}

void
pms_metric_set(const pms_metric_t *m, const char *l1, const char *l2, double v)
{
    metrics_slot_t *s = metrics_slot(m, l1, l2);
    uint64_t        bits;

    if (s != NULL) {
        memcpy(&bits, &v, sizeof(bits));
        __atomic_store_n(&s->v[0], bits, __ATOMIC_RELAXED);
    }
}

void
pms_metric_observe(const pms_metric_t *m, const char *l1, const char *l2,
    double seconds)
{
    metrics_slot_t *s = metrics_slot(m, l1, l2);
    int             b;

    if (s == NULL) {
        return;
    }
    for (b = 0; b < PMS_METRICS_NBUCKETS && seconds > pms_metrics_buckets[b];
         b++) {
    }
    if (b < PMS_METRICS_NBUCKETS) {
        __atomic_add_fetch(&s->v[b], 1, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&s->v[SLOT_SUM],
        (uint64_t) (seconds > 0 ? seconds * 1e6 + 0.5 : 0), __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->v[SLOT_COUNT], 1, __ATOMIC_RELAXED);
}

/* --- the exposition ------------------------------------------------------ */

static int
metrics_cmp(const void *a, const void *b)
{
    const metrics_slot_t *x = *(const metrics_slot_t *const *) a;
    const metrics_slot_t *y = *(const metrics_slot_t *const *) b;
    int                   c;

    if ((c = strcmp(x->m->name, y->m->name)) != 0) {
        return c;
    }
    if ((c = strcmp(x->l1, y->l1)) != 0) {
        return c;
    }
    return strcmp(x->l2, y->l2);
}

/* A label value with \, " and newline escaped, as the format asks. */
static void
metrics_put_value(FILE *f, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"') {
            fputc('\\', f);
            fputc(*v, f);
        } else if (*v == '\n') {
            fputs("\\n", f);
        } else {
            fputc(*v, f);
        }
    }
}

/* {l1="..",l2="..",le=".."} or nothing; le may be NULL. */
static void
metrics_put_labels(FILE *f, const metrics_slot_t *s, const char *le)
{
    const char *vals[2] = { s->l1, s->l2 };
    int         i, first = 1;

    for (i = 0; i < 2; i++) {
        if (s->m->label[i] != NULL) {
            fprintf(f, "%s%s=\"", first ? "{" : ",", s->m->label[i]);
            metrics_put_value(f, vals[i]);
            fputc('"', f);
            first = 0;
        }
    }
    if (le != NULL) {
        fprintf(f, "%sle=\"%s\"", first ? "{" : ",", le);
        first = 0;
    }
    if (!first) {
        fputc('}', f);
    }
}

static void
metrics_put_histogram(FILE *f, const metrics_slot_t *s)
{
    uint64_t cum = 0, count;
    char     le[32];
    int      b;

    count = __atomic_load_n(&s->v[SLOT_COUNT], __ATOMIC_RELAXED);
    for (b = 0; b < PMS_METRICS_NBUCKETS; b++) {
        cum += __atomic_load_n(&s->v[b], __ATOMIC_RELAXED);
        snprintf(le, sizeof(le), "%g", pms_metrics_buckets[b]);
        fprintf(f, "%s%s_bucket", metrics_prefix, s->m->name);
        metrics_put_labels(f, s, le);
        fprintf(f, " %llu\n", (unsigned long long) cum);
    }
    if (count < cum) {
        count = cum; /* an observation between its bucket and its count */
    }
    fprintf(f, "%s%s_bucket", metrics_prefix, s->m->name);
    metrics_put_labels(f, s, "+Inf");
    fprintf(f, " %llu\n%s%s_sum", (unsigned long long) count, metrics_prefix,
        s->m->name);
    metrics_put_labels(f, s, NULL);
    fprintf(f, " %.6f\n%s%s_count",
        __atomic_load_n(&s->v[SLOT_SUM], __ATOMIC_RELAXED) / 1e6,
        metrics_prefix, s->m->name);
    metrics_put_labels(f, s, NULL);
    fprintf(f, " %llu\n", (unsigned long long) count);
}

static void
metrics_put_series(FILE *f, const metrics_slot_t *s)
{
    uint64_t bits;
    double   d;

    if (s->m->type == PMS_METRIC_HISTOGRAM) {
        metrics_put_histogram(f, s);
        return;
    }
    bits = __atomic_load_n(&s->v[0], __ATOMIC_RELAXED);
    fprintf(f, "%s%s", metrics_prefix, s->m->name);
    metrics_put_labels(f, s, NULL);
    if (s->m->type == PMS_METRIC_COUNTER) {
        fprintf(f, " %llu\n", (unsigned long long) bits);
    } else {
        memcpy(&d, &bits, sizeof(d));
        fprintf(f, " %.17g\n", isfinite(d) ? d : 0.0);
    }
}

static void
metrics_put_family(FILE *f, const pms_metric_t *m)
{
    static const char *types[] = { "counter", "gauge", "histogram" };

    fprintf(f, "# HELP %s%s %s\n# TYPE %s%s %s\n", metrics_prefix, m->name,
        m->help, metrics_prefix, m->name, types[m->type]);
}

/* The series every daemon has, kept outside the table. */
static void
metrics_put_own(FILE *f)
{
    fprintf(f,
        "# HELP %1$sprocess_start_time_seconds when the process started, in"
        " seconds since the epoch\n"
        "# TYPE %1$sprocess_start_time_seconds gauge\n"
        "%1$sprocess_start_time_seconds %2$.3f\n"
        "# HELP %1$sup 1: the daemon answered this scrape\n"
        "# TYPE %1$sup gauge\n"
        "%1$sup 1\n"
        "# HELP %1$smetrics_dropped_total updates dropped because the series"
        " table was full\n"
        "# TYPE %1$smetrics_dropped_total counter\n"
        "%1$smetrics_dropped_total %3$llu\n",
        metrics_prefix, metrics != NULL ? metrics->start_time : 0.0,
        metrics != NULL
            ? (unsigned long long) __atomic_load_n(&metrics->dropped,
                __ATOMIC_RELAXED)
            : 0ULL);
}

char *
pms_metrics_render(size_t *len)
{
    const metrics_slot_t **ready = NULL;
    size_t                 i, n = 0;
    char                  *out = NULL;
    FILE                  *f;

    if (metrics != NULL
        && (ready = calloc(metrics->nslots, sizeof(*ready))) == NULL) {
        return NULL;
    }
    for (i = 0; metrics != NULL && i < metrics->nslots; i++) {
        if (__atomic_load_n(&metrics->slots[i].state, __ATOMIC_ACQUIRE)
            == SLOT_READY) {
            ready[n++] = &metrics->slots[i];
        }
    }
    qsort(ready, n, sizeof(*ready), metrics_cmp);
    if ((f = open_memstream(&out, len)) == NULL) {
        free(ready);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (i == 0 || ready[i]->m != ready[i - 1]->m) {
            metrics_put_family(f, ready[i]->m);
        }
        metrics_put_series(f, ready[i]);
    }
    metrics_put_own(f);
    free(ready);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* --- serving it ---------------------------------------------------------- */

/* A listening TCP socket on "host:port" (libfcgi's own exits on error). */
static int
metrics_open(const char *addr)
{
    struct addrinfo hints, *ai;
    char            host[256];
    const char     *colon = strrchr(addr, ':');
    int             fd = -1, one = 1, rc;

    if (colon == NULL || (size_t) (colon - addr) >= sizeof(host)) {
        errno = EINVAL;
        return -1;
    }
    snprintf(host, sizeof(host), "%.*s", (int) (colon - addr), addr);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai))
        != 0) {
        errno = EINVAL;
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd >= 0
        && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
            || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0
            || listen(fd, 16) != 0)) {
        rc = errno;
        close(fd);
        fd = -1;
        errno = rc;
    }
    freeaddrinfo(ai);
    return fd;
}

static void *
metrics_serve(void *arg)
{
    FCGX_Request req;
    char        *body;
    size_t       len;

    (void) arg;
    if (FCGX_InitRequest(&req, metrics_fd, 0) != 0) {
        pms_error("metrics: FCGX_InitRequest failed");
        return NULL;
    }
    while (FCGX_Accept_r(&req) >= 0) {
        if ((body = pms_metrics_render(&len)) == NULL) {
            FCGX_PutS("Status: 503 Service Unavailable\r\n"
                      "Content-Type: text/plain\r\n\r\nout of memory\n",
                req.out);
        } else {
            FCGX_PutS("Content-Type: " PMS_METRICS_CONTENT_TYPE
                      "\r\nCache-Control: no-store\r\n\r\n",
                req.out);
            FCGX_PutStr(body, (int) len, req.out);
            free(body);
        }
        FCGX_Finish_r(&req);
    }
    return NULL;
}

int
pms_metrics_listen(const char *addr)
{
    sigset_t  all, old;
    pthread_t t;
    int       rc;

    if (addr == NULL || addr[0] == '\0') {
        return 0;
    }
    if (FCGX_Init() != 0 || (metrics_fd = metrics_open(addr)) < 0) {
        pms_error("metrics: cannot listen on %s: %s", addr, strerror(errno));
        return -1;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits it */
    rc = pthread_create(&t, NULL, metrics_serve, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pms_error("metrics: cannot start the thread: %s", strerror(rc));
        close(metrics_fd);
        metrics_fd = -1;
        return -1;
    }
    pthread_detach(t); /* it ends with the process */
    pms_info("metrics on %s", addr);
    return 0;
}

/*
 * check_observe.c -- the pure parts of tracing and metrics: traceparent
 * parsing by the W3C rules (every malformed kind refused, later versions
 * accepted with their extra fields ignored), what is passed on (a new
 * span, only the sampled flag), and the exposition text: families sorted
 * and declared once, label values escaped, histogram buckets cumulative
 * with +Inf equal to the count, series of a forked child counted in the
 * parent's table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_pms.h"
#include "pms_metrics.h"
#include "pms_trace.h"

#define TP_OK "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

START_TEST(test_trace_parse_valid)
{
    pms_trace_t t;

    ck_assert_int_eq(pms_trace_parse(TP_OK, &t), 0);
    ck_assert_str_eq(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    ck_assert_str_eq(t.span_id, "00f067aa0ba902b7");
    ck_assert_int_eq(t.flags, 1);
    /* a later version may carry more fields after its four */
    ck_assert_int_eq(pms_trace_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-"
                                     "00f067aa0ba902b7-00-extra",
                         &t),
        0);
    ck_assert_int_eq(t.flags, 0);
}
END_TEST

START_TEST(test_trace_parse_invalid)
{
    static const char *bad[] = {
        NULL,
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        /* version 00 has exactly four fields */
        TP_OK "-x",
        /* uppercase hex */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        /* all-zero trace id, all-zero parent id */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* version ff is forbidden */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* wrong separators, short fields, non-hex flags */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        /* a later version whose extra part does not start with - */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    };
    pms_trace_t t;
    size_t      i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(pms_trace_parse(bad[i], &t) == -1, "accepted %s",
            bad[i] ? bad[i] : "NULL");
    }
}
END_TEST

/* Setting the context keeps trace id and flags and starts a new span. */
START_TEST(test_trace_set_new_span)
{
    char               out[PMS_TRACEPARENT_LEN];
    const pms_trace_t *t;

    ck_assert_int_eq(pms_trace_set(TP_OK), 0);
    t = pms_trace_current();
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    ck_assert_str_ne(t->span_id, "00f067aa0ba902b7");
    ck_assert(pms_trace_sampled());
    pms_trace_format(t, out);
    ck_assert_int_eq(strlen(out), 55);
    ck_assert(strncmp(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36) == 0);
    ck_assert_str_eq(out + 52, "-01");
    /* a version-01 header with unknown flag bits goes out as 00 / sampled */
    ck_assert_int_eq(pms_trace_set("01-4bf92f3577b34da6a3ce929d0e0e4736-"
                                   "00f067aa0ba902b7-ff-more"),
        0);
    pms_trace_format(pms_trace_current(), out);
    ck_assert_str_eq(out + 52, "-01");
    ck_assert_int_eq(pms_trace_set("garbage"), -1);
    ck_assert_ptr_null(pms_trace_current());
    ck_assert(!pms_trace_sampled());
}
END_TEST

static const pms_metric_t m_req = PMS_COUNTER("requests_total",
    "requests, by route and status", "route", "status");
static const pms_metric_t m_lat =
    PMS_HISTOGRAM("latency_seconds", "latency", "route", NULL);
static const pms_metric_t m_gauge = PMS_GAUGE("backlog", "rows", NULL, NULL);

START_TEST(test_metrics_render)
{
    char  *text;
    size_t len;

    ck_assert_int_eq(pms_metrics_init("unit", 64), 0);
    pms_metric_add(&m_req, "GET /x", "200", 2);
    pms_metric_add(&m_req, "GET /x", "200", 1);
    pms_metric_add(&m_req, "a\"b\\c\nd", "500", 1);
    pms_metric_set(&m_gauge, NULL, NULL, 42.5);
    pms_metric_observe(&m_lat, "r", NULL, 0.0007); /* bucket 0.001 */
    pms_metric_observe(&m_lat, "r", NULL, 0.2);    /* bucket 0.25 */
    pms_metric_observe(&m_lat, "r", NULL, 9);      /* +Inf only */
    text = pms_metrics_render(&len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), len);
    ck_assert_ptr_nonnull(strstr(text,
        "# TYPE pms_unit_requests_total counter\n"
        "pms_unit_requests_total{route=\"GET /x\",status=\"200\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(text,
        "pms_unit_requests_total{route=\"a\\\"b\\\\c\\nd\",status=\"500\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "pms_unit_backlog 42.5\n"));
    ck_assert_ptr_nonnull(strstr(text,
        "pms_unit_latency_seconds_bucket{route=\"r\",le=\"0.0005\"} 0\n"
        "pms_unit_latency_seconds_bucket{route=\"r\",le=\"0.001\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text,
        "pms_unit_latency_seconds_bucket{route=\"r\",le=\"0.25\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(text,
        "pms_unit_latency_seconds_bucket{route=\"r\",le=\"2.5\"} 2\n"
        "pms_unit_latency_seconds_bucket{route=\"r\",le=\"+Inf\"} 3\n"
        "pms_unit_latency_seconds_sum{route=\"r\"} 9.200700\n"
        "pms_unit_latency_seconds_count{route=\"r\"} 3\n"));
    /* each family declared once, in name order */
    ck_assert(strstr(text, "# TYPE pms_unit_backlog")
        < strstr(text, "# TYPE pms_unit_latency_seconds"));
    ck_assert(strstr(text, "# TYPE pms_unit_latency_seconds")
        < strstr(text, "# TYPE pms_unit_requests_total"));
    ck_assert_ptr_null(
        strstr(strstr(text, "# TYPE pms_unit_requests_total") + 1,
            "# TYPE pms_unit_requests_total"));
    ck_assert_ptr_nonnull(strstr(text, "pms_unit_up 1\n"));
    free(text);
}
END_TEST

/* A forked child's updates land in the table the parent renders. */
START_TEST(test_metrics_shared_with_children)
{
    char  *text;
    size_t len;
    pid_t  pid;
    int    status, i;

    ck_assert_int_eq(pms_metrics_init("fork", 64), 0);
    for (i = 0; i < 3; i++) {
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            pms_metric_add(&m_req, "child", "201", 5);
            _exit(0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    }
    text = pms_metrics_render(&len);
    ck_assert_ptr_nonnull(strstr(text,
        "pms_fork_requests_total{route=\"child\",status=\"201\"} 15\n"));
    free(text);
}
END_TEST

/* A full table drops updates and says how many. */
START_TEST(test_metrics_full_table)
{
    char   label[16], *text;
    size_t len;
    int    i;

    ck_assert_int_eq(pms_metrics_init("full", 8), 0);
    for (i = 0; i < 10; i++) {
        snprintf(label, sizeof(label), "%d", i);
        pms_metric_add(&m_req, label, NULL, 1);
    }
    text = pms_metrics_render(&len);
    ck_assert_ptr_nonnull(strstr(text, "pms_full_metrics_dropped_total 2\n"));
    free(text);
}
END_TEST

Suite *
observe_suite(void)
{
    Suite *s = suite_create("observe");
    TCase *tc = tcase_create("trace");
    TCase *tm = tcase_create("metrics");

    tcase_add_test(tc, test_trace_parse_valid);
    tcase_add_test(tc, test_trace_parse_invalid);
    tcase_add_test(tc, test_trace_set_new_span);
    suite_add_tcase(s, tc);
    tcase_add_test(tm, test_metrics_render);
    tcase_add_test(tm, test_metrics_shared_with_children);
    tcase_add_test(tm, test_metrics_full_table);
    suite_add_tcase(s, tm);
    return s;
}

/*
 * pms_serve.c -- the accept loop shared by every FastCGI daemon.  Workers
 * wait in epoll with EPOLLEXCLUSIVE (one is woken per connection) and
 * accept on a non-blocking socket, so a worker that loses the race gets
 * EAGAIN instead of blocking, and the stop flag is seen within 250 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "pms_log.h"
#include "pms_metrics.h"
#include "pms_serve.h"
#include "pms_trace.h"

static const pms_metric_t m_requests = PMS_COUNTER("http_requests_total",
    "requests answered, by route and status", "route", "status");
static const pms_metric_t m_duration =
    PMS_HISTOGRAM("http_request_duration_seconds",
        "time from accepting a request to its response sent, by route", "route",
        NULL);

static void
serve_count(const pms_resp_t *resp, double started)
{
    const char *route = resp->route != NULL ? resp->route : "other";
    char        status[8];

    snprintf(status, sizeof(status), "%d", resp->failed ? 503 : resp->status);
    pms_metric_add(&m_requests, route, status, 1);
    pms_metric_observe(&m_duration, route, NULL, pms_metrics_now() - started);
}

int
pms_serve_prepare(int listen_fd)
{
    int flags = fcntl(listen_fd, F_GETFL);

    if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return -1;
    }
    return FCGX_Init();
}

/*
 * The gateway's metrics listener asks a FastCGI daemon for its exposition
 * on the daemon's own socket with the parameter PMS_METRICS=1 (a client
 * cannot set a FastCGI parameter; its headers arrive as HTTP_*).  1 when
 * this request was that, with resp filled.
 */
static int
serve_metrics(pms_req_t *req, pms_resp_t *resp)
{
    const char *asked = pms_req_param(req, "PMS_METRICS");
    size_t      len;

    if (asked == NULL || strcmp(asked, "1") != 0) {
        return 0;
    }
    resp->body = pms_metrics_render(&len);
    resp->body_len = len;
    resp->status = resp->body != NULL ? 200 : 503;
    resp->content_type = resp->body != NULL ? PMS_METRICS_CONTENT_TYPE : NULL;
    resp->failed = resp->body == NULL;
    return 1;
}

static void
serve_one(FCGX_Request *fcgi, pms_handler_fn handler, void *ctx)
{
    pms_req_t  req;
    pms_resp_t resp;
    int        early;
    double     started = pms_metrics_now();

    pms_resp_init(&resp);
    early = pms_req_init(&req, fcgi);
    pms_log_set_request_id(pms_req_param(&req, "HTTP_X_REQUEST_ID"));
    pms_trace_set(pms_req_param(&req, "HTTP_TRACEPARENT"));
    if (early == 413) {
        pms_resp_problem(&resp, 413, "the body exceeds 64 KiB");
    } else if (early != 0) {
        pms_resp_problem(&resp, early, "the request body could not be read");
    } else if (serve_metrics(&req, &resp)) {
        started = -1; /* a scrape is not a request of the service */
    } else {
        handler(ctx, &req, &resp);
    }
    if (pms_resp_send(&resp, fcgi) != 0) {
        pms_warn("client went away before the response was sent");
    }
    if (started >= 0) {
        serve_count(&resp, started);
    }
    pms_req_reset(&req);
    pms_resp_reset(&resp);
    pms_log_set_request_id(NULL);
    pms_trace_set(NULL);
}

int
pms_serve(int listen_fd, pms_handler_fn handler, void *ctx,
    volatile sig_atomic_t *stop)
{
    FCGX_Request       fcgi;
    struct epoll_event ev;
    int                ep, n, rc = 0;

    if (FCGX_InitRequest(&fcgi, listen_fd, 0) != 0) {
        pms_error("FCGX_InitRequest failed");
        return -1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
        pms_error("epoll on the listening socket failed: %s", strerror(errno));
        if (ep >= 0) {
            close(ep);
        }
        return -1;
    }
    while (!*stop) {
        n = epoll_wait(ep, &ev, 1, 250);
        if (n < 0 && errno != EINTR) {
            pms_error("epoll_wait failed: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (n <= 0) {
            continue;
        }
        if (FCGX_Accept_r(&fcgi) < 0) {
            continue; /* another worker took it (EAGAIN) */
        }
        serve_one(&fcgi, handler, ctx);
        FCGX_Finish_r(&fcgi);
    }
    close(ep);
    FCGX_Free(&fcgi, 0);
    return rc;
}

/*
 * pms_http.c -- reading FastCGI requests and writing responses.  It owns
 * the wire format (CGI "Status:" line, headers, body) and the body-size
 * limit; routing and meaning belong to the services.
 */
#define _GNU_SOURCE /* vasprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pms_http.h"
#include "pms_log.h"
#include "pms_problem.h"

const char *
pms_req_param(pms_req_t *req, const char *name)
{
    return FCGX_GetParam(name, req->fcgi->envp);
}

int
pms_req_init(pms_req_t *req, FCGX_Request *fcgi)
{
    const char *cl;
    char       *end;
    long        len;
    int         got;

    memset(req, 0, sizeof(*req));
    req->fcgi = fcgi;
    req->method = pms_req_param(req, "REQUEST_METHOD");
    req->path = pms_req_param(req, "DOCUMENT_URI");
    req->query = pms_req_param(req, "QUERY_STRING");
    req->content_type = pms_req_param(req, "CONTENT_TYPE");
    if (req->method == NULL) {
        req->method = "GET";
    }
    if (req->path == NULL) {
        req->path = "/";
    }
    if (req->query == NULL) {
        req->query = "";
    }
    if (req->content_type != NULL && req->content_type[0] == '\0') {
        req->content_type = NULL;
    }
    cl = pms_req_param(req, "CONTENT_LENGTH");
    if (cl == NULL || cl[0] == '\0') {
        return 0;
    }
    len = strtol(cl, &end, 10);
    if (*end != '\0' || len < 0) {
        return 400;
    }
    if (len > PMS_MAX_BODY) {
        return 413;
    }
    if (len == 0) {
        return 0;
    }
    req->body = malloc(len + 1);
    if (req->body == NULL) {
        return 503;
    }
    got = FCGX_GetStr(req->body, (int) len, fcgi->in);
    if (got != len) {
        return 400;
    }
    req->body[len] = '\0';
    req->body_len = (size_t) len;
    return 0;
}

int
pms_req_defer(pms_req_t *req, pms_defer_fn fn, void *arg)
{
    struct pms_defer_s *grown;
    int                 cap;

    if (req->ndefers == req->cap_defers) {
        cap = req->cap_defers ? req->cap_defers * 2 : 8;
        grown = realloc(req->defers, (size_t) cap * sizeof(*grown));
        if (grown == NULL) {
            pms_error("out of memory registering a release; aborting");
            abort();
        }
        req->defers = grown;
        req->cap_defers = cap;
    }
    req->defers[req->ndefers].fn = fn;
    req->defers[req->ndefers].arg = arg;
    req->ndefers++;
    return 0;
}

void
pms_req_reset(pms_req_t *req)
{
    while (req->ndefers > 0) {
        req->ndefers--;
        req->defers[req->ndefers].fn(req->defers[req->ndefers].arg);
    }
    free(req->defers);
    req->defers = NULL;
    req->cap_defers = 0;
    free(req->body);
    req->body = NULL;
    req->body_len = 0;
}

void
pms_resp_init(pms_resp_t *resp)
{
    resp->status = 200;
    resp->content_type = NULL;
    resp->body = NULL;
    resp->body_len = 0;
    resp->nheaders = 0;
    resp->failed = 0;
    resp->route = NULL;
}

void
pms_resp_reset(pms_resp_t *resp)
{
    int i;

    for (i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i].value);
    }
    free(resp->body);
    pms_resp_init(resp);
}

int
pms_resp_header(pms_resp_t *resp, const char *name, const char *fmt, ...)
{
    va_list ap;
    char   *value;
    int     n;

    if (resp->nheaders == PMS_MAX_HEADERS) {
        pms_error("header %s dropped: the response already has %d", name,
            PMS_MAX_HEADERS);
        resp->failed = 1;
        return -1;
    }
    va_start(ap, fmt);
    n = vasprintf(&value, fmt, ap);
    va_end(ap);
    if (n < 0) {
        resp->failed = 1;
        return -1;
    }
    resp->headers[resp->nheaders].name = name;
    resp->headers[resp->nheaders].value = value;
    resp->nheaders++;
    return 0;
}

int
pms_resp_json_as(pms_resp_t *resp, int status, json_t *json, const char *ctype)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = status;
    resp->content_type = ctype;
    if (json != NULL) {
        resp->body = json_dumps(json, JSON_COMPACT);
        json_decref(json);
    }
    if (resp->body == NULL) {
        /* out of memory while rendering: a bodiless 503 is still true */
        resp->status = 503;
        resp->content_type = NULL;
        return resp->status;
    }
    resp->body_len = strlen(resp->body);
    return status;
}

int
pms_resp_json(pms_resp_t *resp, int status, json_t *json)
{
    return pms_resp_json_as(resp, status, json, "application/json");
}

int
pms_resp_problem_json(pms_resp_t *resp, json_t *problem)
{
    int status = (int) json_integer_value(json_object_get(problem, "status"));

    return pms_resp_json_as(resp, status ? status : 500, problem,
        PMS_PROBLEM_CONTENT_TYPE);
}

int
pms_resp_problem(pms_resp_t *resp, int status, const char *detail)
{
    return pms_resp_problem_json(resp, pms_problem_new(status, detail));
}

int
pms_resp_send(pms_resp_t *resp, FCGX_Request *fcgi)
{
    int i;

    if (resp->failed) {
        return FCGX_PutS("Status: 503 Service Unavailable\r\n\r\n", fcgi->out)
                < 0
            ? -1
            : 0;
    }
    if (FCGX_FPrintF(fcgi->out, "Status: %d %s\r\n", resp->status,
            pms_http_reason(resp->status))
        < 0) {
        return -1;
    }
    if (resp->content_type != NULL) {
        FCGX_FPrintF(fcgi->out, "Content-Type: %s\r\n", resp->content_type);
    }
    for (i = 0; i < resp->nheaders; i++) {
        FCGX_FPrintF(fcgi->out, "%s: %s\r\n", resp->headers[i].name,
            resp->headers[i].value);
    }
    if (FCGX_PutS("\r\n", fcgi->out) < 0) {
        return -1;
    }
    if (resp->body_len > 0
        && FCGX_PutStr(resp->body, (int) resp->body_len, fcgi->out) < 0) {
        return -1;
    }
    return 0;
}

int
pms_media_type_is(const char *content_type, const char *want)
{
    size_t n = strlen(want);

    if (content_type == NULL) {
        return 0;
    }
    while (*content_type == ' ') {
        content_type++;
    }
    if (strncasecmp(content_type, want, n) != 0) {
        return 0;
    }
    content_type += n;
    while (*content_type == ' ') {
        content_type++;
    }
    return *content_type == '\0' || *content_type == ';';
}

void
pms_url_encode(FILE *out, const char *in)
{
    for (; *in != '\0'; in++) {
        unsigned char c = (unsigned char) *in;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~') {
            fputc(c, out);
        } else {
            fprintf(out, "%%%02X", c);
        }
    }
}

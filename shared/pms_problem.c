/*
 * pms_problem.c -- builds RFC 9457 problem objects.  It renders nothing
 * itself: callers serialise the object with the rest of the response.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pms_problem.h"

typedef struct {
    int         status;
    const char *reason;
    const char *slug;
} problem_kind_t;

static const problem_kind_t problem_kinds[] = {
    { 400, "Bad Request", "bad-request" },
    { 401, "Unauthorized", "unauthorized" },
    { 403, "Forbidden", "forbidden" },
    { 404, "Not Found", "not-found" },
    { 405, "Method Not Allowed", "method-not-allowed" },
    { 406, "Not Acceptable", "not-acceptable" },
    { 409, "Conflict", "conflict" },
    { 410, "Gone", "gone" },
    { 412, "Precondition Failed", "precondition-failed" },
    { 413, "Content Too Large", "content-too-large" },
    { 415, "Unsupported Media Type", "unsupported-media-type" },
    { 428, "Precondition Required", "precondition-required" },
    { 429, "Too Many Requests", "too-many-requests" },
    { 500, "Internal Server Error", "internal-error" },
    { 502, "Bad Gateway", "bad-gateway" },
    { 503, "Service Unavailable", "service-unavailable" },
    { 504, "Gateway Timeout", "gateway-timeout" },
};

static const problem_kind_t *
problem_kind(int status)
{
    size_t i;

    for (i = 0; i < sizeof(problem_kinds) / sizeof(problem_kinds[0]); i++) {
        if (problem_kinds[i].status == status) {
            return &problem_kinds[i];
        }
    }
    return NULL;
}

const char *
pms_http_reason(int status)
{
    const problem_kind_t *k;

    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    }
    k = problem_kind(status);
    return k != NULL ? k->reason : "Unknown";
}

json_t *
pms_problem_new(int status, const char *detail)
{
    const problem_kind_t *k = problem_kind(status);
    char                  type[64];
    json_t               *p;

    snprintf(type, sizeof(type), "/problems/%s", k ? k->slug : "error");
    p = json_pack("{s:s, s:s, s:i}", "type", type, "title",
        k ? k->reason : "Error", "status", status);
    if (p != NULL && detail != NULL) {
        json_object_set_new(p, "detail", json_string(detail));
    }
    return p;
}

/* field as a JSON string: itself when UTF-8, else bytes >= 0x80 as %XX. */
static json_t *
problem_field(const char *field)
{
    json_t *s = json_string(field);
    char   *esc, *o;

    if (s != NULL || (esc = malloc(strlen(field) * 3 + 1)) == NULL) {
        return s;
    }
    for (o = esc; *field != '\0'; field++) {
        unsigned char c = (unsigned char) *field;

        if (c < 0x80) {
            *o++ = (char) c;
        } else {
            o += sprintf(o, "%%%02X", c);
        }
    }
    *o = '\0';
    s = json_string(esc);
    free(esc);
    return s;
}

size_t
pms_errors_add(json_t *errors, const char *field, const char *message)
{
    json_t *entry = json_pack("{s:o, s:s}", "field", problem_field(field),
        "message", message);

    if (entry != NULL) {
        json_array_append_new(errors, entry);
    }
    return 1;
}

int
pms_problem_add_error(json_t *problem, const char *field, const char *message)
{
    json_t *errors = json_object_get(problem, "errors");

    if (errors == NULL) {
        errors = json_array();
        if (errors == NULL || json_object_set_new(problem, "errors", errors)) {
            return -1;
        }
    }
    pms_errors_add(errors, field, message);
    return 0;
}

int
pms_http_status(pms_status_t st)
{
    switch (st) {
    case PMS_OK:
        return 200;
    case PMS_NOT_FOUND:
        return 404;
    case PMS_CONFLICT:
        return 409;
    case PMS_INVALID:
        return 400;
    case PMS_UNAVAILABLE:
        return 503;
    case PMS_ERROR:
        return 500;
    }
    return 500;
}

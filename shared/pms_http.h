/*
 * pms_http.h -- the request and response of one FastCGI exchange, as the
 * handlers see them.  A handler reads pms_req_t, fills pms_resp_t and
 * returns; it never writes status lines or headers itself.  Everything a
 * request allocates is released together by pms_req_reset().
 */
#ifndef PMS_HTTP_H
#define PMS_HTTP_H

#include <stddef.h>
#include <stdio.h>
#include <fcgiapp.h>
#include <jansson.h>

#define PMS_MAX_BODY    (64 * 1024)
#define PMS_MAX_HEADERS 8

typedef void (*pms_defer_fn)(void *);

typedef struct {
    FCGX_Request *fcgi;
    const char   *method; /* REQUEST_METHOD */
    const char   *path;   /* DOCUMENT_URI: path after the gateway's strip */
    const char   *query;  /* QUERY_STRING, "" when absent */
    const char   *content_type; /* CONTENT_TYPE or NULL */
    char         *body;         /* NUL-terminated, NULL when empty */
    size_t        body_len;
    struct pms_defer_s {
        pms_defer_fn fn;
        void        *arg;
    } * defers;
    int ndefers;
    int cap_defers;
} pms_req_t;

typedef struct {
    int         status;
    const char *content_type; /* static string */
    char       *body;         /* owned; freed by pms_resp_reset() */
    size_t      body_len;
    struct {
        const char *name;
        char       *value;
    } headers[PMS_MAX_HEADERS];
    int         nheaders; /* names are static strings; values owned */
    int         failed;   /* out of memory while building: send 503 */
    const char *route;    /* static name for the metrics, NULL: "other" */
} pms_resp_t;

/* A FastCGI parameter, or NULL. Borrowed from the request. */
const char *pms_req_param(pms_req_t *req, const char *name);

/*
 * Prepares req from an accepted FastCGI request and reads the body.
 * Returns 0, or an HTTP status (413 body too large, 400 unreadable).
 */
int pms_req_init(pms_req_t *req, FCGX_Request *fcgi);

/*
 * Registers fn(arg) to run when the request ends (PQclear, json_decref,
 * free...).  Ownership of arg passes to the request; arg stays valid until
 * pms_req_reset().  The list grows as needed; when memory for it runs out
 * the process aborts, since every caller goes on to use arg.
 */
int pms_req_defer(pms_req_t *req, pms_defer_fn fn, void *arg);

/* Runs the deferred releases and frees the body. */
void pms_req_reset(pms_req_t *req);

void pms_resp_init(pms_resp_t *resp);
void pms_resp_reset(pms_resp_t *resp);

/*
 * Adds a header.  name must be a static string; the value is formatted
 * into memory of its own, of any length.  Returns 0, or -1 (and marks the
 * response failed, so a bare 503 is sent) when the value cannot be kept.
 */
int pms_resp_header(pms_resp_t *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets status and a JSON body; steals json. Returns status. */
int pms_resp_json(pms_resp_t *resp, int status, json_t *json);

/* The same with another JSON media type (a static string). */
int pms_resp_json_as(pms_resp_t *resp, int status, json_t *json,
    const char *content_type);

/* Sets a problem+json body; steals problem. Returns its status. */
int pms_resp_problem_json(pms_resp_t *resp, json_t *problem);

/* Shorthand: a problem with status and detail. Returns status. */
int pms_resp_problem(pms_resp_t *resp, int status, const char *detail);

/* Writes status, headers and body to the FastCGI stream. 0 or -1. */
int pms_resp_send(pms_resp_t *resp, FCGX_Request *fcgi);

/* 1 when the media type (params ignored) equals want, case-insensitively. */
/* Writes in percent-encoded (RFC 3986 unreserved characters kept). */
void pms_url_encode(FILE *out, const char *in);

int pms_media_type_is(const char *content_type, const char *want);

#endif

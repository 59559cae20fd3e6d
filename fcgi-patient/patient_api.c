/*
 * patient_api.c -- routes a request to its handler and turns store
 * results into HTTP: status, headers (Location, ETag, X-Total-Count,
 * Link) and JSON bodies.  Every write runs in one transaction; nothing is
 * left half-done when a step fails.  SQL lives in patient_store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patient_api.h"
#include "patient_fhir.h"
#include "patient_model.h"
#include "patient_ops.h"
#include "patient_outbox.h"
#include "patient_query.h"
#include "patient_store.h"
#include "pms_log.h"
#include "pms_problem.h"
#include "pms_uuid.h"
#include "pms_valid.h"

static void
api_pqclear(void *res)
{
    PQclear(res);
}

static void
api_decref(void *json)
{
    json_decref(json);
}

/* What a failed store call means for a patient request. */
static const char *
api_fail_detail(pms_status_t st)
{
    switch (st) {
    case PMS_NOT_FOUND:
        return "no patient has this id";
    case PMS_CONFLICT:
        return "a patient with this email already exists";
    case PMS_INVALID:
        return "the database refused the patient: registeredDate must not"
               " be before dateOfBirth";
    case PMS_UNAVAILABLE:
        return "the patient database is unavailable; retry shortly";
    default:
        return "an unexpected error occurred";
    }
}

/*
 * Maps a failed store call to a response; returns the status.  The HTTP
 * status comes from pms_http_status(), the one mapping.
 */
static int
api_fail(pms_resp_t *resp, pms_status_t st, const char *what)
{
    int     status = pms_http_status(st);
    json_t *problem = pms_problem_new(status, api_fail_detail(st));

    if (st == PMS_CONFLICT) {
        pms_problem_add_error(problem, "email", "is already registered");
    } else if (st == PMS_INVALID) {
        pms_problem_add_error(problem, "registeredDate",
            "must not be before dateOfBirth");
    } else if (st == PMS_UNAVAILABLE) {
        pms_resp_header(resp, "Retry-After", "1");
    } else if (status >= 500) {
        pms_error("%s failed: %s", what, pms_status_name(st));
    }
    return pms_resp_problem_json(resp, problem);
}

static void
api_etag(pms_resp_t *resp, const PGresult *res)
{
    pms_resp_header(resp, "ETag", "\"%s\"",
        PQgetvalue(res, 0, PATIENT_COL_VERSION));
}

/*
 * Parses and validates a JSON body into in.  Returns 0, or the status of
 * the error response it prepared.  The parsed document is released when
 * the request ends.
 */
static int
api_read_body(pms_req_t *req, pms_resp_t *resp, patient_input_t *in)
{
    json_t      *body, *problem, *errors;
    json_error_t jerr;
    char         today[11], detail[256];

    if (!pms_media_type_is(req->content_type, "application/json")) {
        return pms_resp_problem(resp, 415,
            "the body must be sent as Content-Type: application/json");
    }
    if (req->body == NULL) {
        return pms_resp_problem(resp, 400, "the request has no body");
    }
    body = json_loadb(req->body, req->body_len,
        JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (body == NULL) {
        snprintf(detail, sizeof(detail),
            "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
            jerr.text);
        return pms_resp_problem(resp, 400, detail);
    }
    pms_req_defer(req, api_decref, body);

    errors = json_array();
    pms_today(today);
    memset(in, 0, sizeof(*in));
    if (patient_validate(body, today, in, errors) > 0) {
        problem = pms_problem_new(400, "the patient has invalid fields");
        json_object_set_new(problem, "errors", errors);
        return pms_resp_problem_json(resp, problem);
    }
    json_decref(errors);
    return 0;
}

static int
api_id_or_fail(pms_resp_t *resp, const char *id)
{
    json_t *p;

    if (pms_uuid_valid(id)) {
        return 0;
    }
    p = pms_problem_new(400, "the patient id in the path is not a UUID");
    pms_problem_add_error(p, "id", "must be a UUID");
    return pms_resp_problem_json(resp, p);
}

/* Writes the list URL of lq's filters, without paging. */
static void
api_list_url(FILE *out, patient_ctx_t *ctx, const patient_list_query_t *lq)
{
    static const char *const totals[] = { NULL, "accurate", "none" };

    fprintf(out, "%s/patients?size=%ld", ctx->public_prefix, lq->size);
    if (lq->q[0] != '\0') {
        fputs("&q=", out);
        pms_url_encode(out, lq->q);
    }
    if (lq->email[0] != '\0') {
        fputs("&email=", out);
        pms_url_encode(out, lq->email);
    }
    if (lq->birth_date[0] != '\0') {
        fprintf(out, "&birthDate=%s", lq->birth_date);
    }
    if (totals[lq->total] != NULL) {
        fprintf(out, "&total=%s", totals[lq->total]);
    }
}

/*
 * One Link entry: the list URL, with a cursor unless dir is NONE; AFTER
 * and BEFORE name row of res.
 */
static int
api_link_one(FILE *out, patient_ctx_t *ctx, const patient_list_query_t *lq,
    patient_cursor_dir_t dir, const PGresult *res, int row, const char *rel)
{
    char *cursor = NULL;
    int   keyed = dir == PATIENT_CURSOR_AFTER || dir == PATIENT_CURSOR_BEFORE;

    if (dir != PATIENT_CURSOR_NONE) {
        cursor = patient_cursor_encode(dir,
            keyed ? PQgetvalue(res, row, PATIENT_COL_ID) : "",
            keyed ? PQgetvalue(res, row, PATIENT_COL_NAME) : "");
        if (cursor == NULL) {
            return -1;
        }
    }
    if (ftell(out) > 0) {
        fputs(", ", out);
    }
    fputc('<', out);
    api_list_url(out, ctx, lq);
    if (cursor != NULL) {
        fprintf(out, "&cursor=%s", cursor);
        free(cursor);
    }
    fprintf(out, ">; rel=\"%s\"", rel);
    return 0;
}

/* What a list page holds and where it sits; rows are res's, read in order. */
typedef struct {
    const PGresult *res;
    int             shown;       /* rows on the page */
    int             first, last; /* res rows of the page's ends */
    int             has_prev, has_next;
} api_page_t;

static void
api_page(const patient_list_query_t *lq, const PGresult *res, api_page_t *pg)
{
    int n = PQntuples(res), more = n > lq->size;
    int backward = lq->cursor.dir == PATIENT_CURSOR_BEFORE
        || lq->cursor.dir == PATIENT_CURSOR_LAST;

    pg->res = res;
    pg->shown = more ? (int) lq->size : n;
    pg->first = backward ? pg->shown - 1 : 0;
    pg->last = backward ? 0 : pg->shown - 1;
    pg->has_prev = backward
        ? more
        : lq->cursor.dir == PATIENT_CURSOR_AFTER || lq->page > 1;
    pg->has_next = backward ? lq->cursor.dir == PATIENT_CURSOR_BEFORE : more;
}

/*
 * The RFC 8288 Link header of a list page: first, prev, next, last.  prev
 * and next carry a cursor next to the page's end rows, last a cursor to
 * the end.  An empty page after a cursor has nothing after it, so its
 * prev is the last page; an empty page before one has nothing before it,
 * so its next is the first page.  It is built in memory that grows, so a
 * long q is never cut.
 */
static void
api_link(patient_ctx_t *ctx, pms_resp_t *resp, const patient_list_query_t *lq,
    const api_page_t *pg)
{
    char  *link = NULL;
    size_t len = 0;
    FILE  *out = open_memstream(&link, &len);
    int    bad = 0,
        keyed = lq->cursor.dir == PATIENT_CURSOR_AFTER
        || lq->cursor.dir == PATIENT_CURSOR_BEFORE;
    const PGresult *at = pg->shown > 0 ? pg->res : NULL;

    if (out == NULL) {
        resp->failed = 1;
        return;
    }
    bad |= api_link_one(out, ctx, lq, PATIENT_CURSOR_NONE, NULL, 0, "first");
    if (pg->has_prev && (at != NULL || keyed)) {
        bad |= api_link_one(out, ctx, lq,
            at != NULL ? PATIENT_CURSOR_BEFORE : PATIENT_CURSOR_LAST, at,
            pg->first, "prev");
    }
    if (pg->has_next && (at != NULL || keyed)) {
        bad |= api_link_one(out, ctx, lq,
            at != NULL ? PATIENT_CURSOR_AFTER : PATIENT_CURSOR_NONE, at,
            pg->last, "next");
    }
    bad |= api_link_one(out, ctx, lq, PATIENT_CURSOR_LAST, NULL, 0, "last");
    bad |= ferror(out);
    if (fclose(out) != 0 || bad) {
        resp->failed = 1;
    } else {
        pms_resp_header(resp, "Link", "%s", link);
    }
    free(link);
}

/* X-Total-Count and X-Total-Accuracy (see patient_store_total). */
static pms_status_t
api_total(patient_ctx_t *ctx, pms_resp_t *resp, const patient_list_query_t *lq,
    const api_page_t *pg)
{
    long         total = 0;
    int          exact = 1;
    pms_status_t st;

    if (lq->total == PATIENT_TOTAL_NONE) {
        pms_resp_header(resp, "X-Total-Accuracy", "none");
        return PMS_OK;
    }
    st = patient_store_total(ctx->db, lq, pg->shown, pg->has_next, &total,
        &exact);
    if (st == PMS_OK) {
        pms_resp_header(resp, "X-Total-Count", "%ld", total);
        pms_resp_header(resp, "X-Total-Accuracy",
            exact ? "accurate" : "estimate");
    }
    return st;
}

static int
api_list(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp)
{
    patient_list_query_t lq;
    json_t              *errors = json_array(), *problem, *arr;
    PGresult            *res;
    pms_status_t         st;
    api_page_t           pg;
    int                  i, step;

    if (errors == NULL) {
        return api_fail(resp, PMS_ERROR, "list");
    }
    if (patient_parse_list_query(req->query, &lq, errors) > 0) {
        problem = pms_problem_new(400, "the query string is invalid");
        json_object_set_new(problem, "errors", errors);
        return pms_resp_problem_json(resp, problem);
    }
    json_decref(errors);
    st = patient_store_list(ctx->db, &lq, lq.size + 1, &res);
    if (st != PMS_OK) {
        return api_fail(resp, st, "list");
    }
    pms_req_defer(req, api_pqclear, res);
    api_page(&lq, res, &pg);
    if ((st = api_total(ctx, resp, &lq, &pg)) != PMS_OK) {
        return api_fail(resp, st, "count");
    }
    arr = json_array();
    step = pg.first <= pg.last ? 1 : -1;
    for (i = 0; arr != NULL && i < pg.shown; i++) {
        if (json_array_append_new(arr,
                patient_to_json(res, pg.first + i * step))
            != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (arr == NULL) {
        return api_fail(resp, PMS_ERROR, "list json");
    }
    api_link(ctx, resp, &lq, &pg);
    return pms_resp_json(resp, 200, arr);
}

static int
api_get(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp, const char *id)
{
    PGresult    *res;
    pms_status_t st;

    st = patient_store_get(ctx->db, id, 0, &res);
    if (st != PMS_OK) {
        return api_fail(resp, st, "get");
    }
    pms_req_defer(req, api_pqclear, res);
    api_etag(resp, res);
    return pms_resp_json(resp, 200, patient_to_json(res, 0));
}

/*
 * Renders a write's outcome: the row (with its ETag) as JSON in status on
 * success, or the problem that says why not.
 */
static int
api_write_done(pms_req_t *req, pms_resp_t *resp, patient_op_t *op, int status,
    const char *what)
{
    json_t *problem;

    if (op->res != NULL) {
        pms_req_defer(req, api_pqclear, op->res);
    }
    switch (op->result) {
    case PATIENT_OP_OK:
        break;
    case PATIENT_OP_STORE:
        return api_fail(resp, op->st, what);
    case PATIENT_OP_BILLING_DOWN:
        pms_resp_header(resp, "Retry-After", "1");
        return pms_resp_problem(resp, 503,
            "billing is unavailable, so nothing was stored; retry shortly");
    case PATIENT_OP_DATES:
        problem = pms_problem_new(400, "the patient has invalid fields");
        pms_problem_add_error(problem, "registeredDate",
            "the stored registeredDate would be before the new dateOfBirth;"
            " send a registeredDate too");
        return pms_resp_problem_json(resp, problem);
    case PATIENT_OP_STALE:
        api_etag(resp, op->res);
        return pms_resp_problem(resp, 412,
            "the patient has changed since the given ETag; GET it again");
    }
    if (status == 204) {
        resp->status = 204;
        return 204;
    }
    api_etag(resp, op->res);
    return pms_resp_json(resp, status, patient_to_json(op->res, 0));
}

static int
api_create(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp)
{
    patient_input_t in;
    patient_actor_t who = patient_actor_of(req);
    patient_op_t    op;
    char            id[PMS_UUID_LEN + 1];
    int             status;

    if ((status = api_read_body(req, resp, &in)) != 0) {
        return status;
    }
    patient_op_create(ctx, &in, &who, id, &op);
    if (op.result == PATIENT_OP_OK) {
        pms_resp_header(resp, "Location", "%s/patients/%s", ctx->public_prefix,
            id);
    }
    return api_write_done(req, resp, &op, 201, "create");
}

static int
api_update(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp, const char *id)
{
    patient_input_t in;
    patient_actor_t who = patient_actor_of(req);
    patient_op_t    op;
    int             status;

    if ((status = api_read_body(req, resp, &in)) != 0) {
        return status;
    }
    patient_op_update(ctx, id, &in, pms_req_param(req, "HTTP_IF_MATCH"),
        patient_if_match, &who, &op);
    return api_write_done(req, resp, &op, 200, "update");
}

static int
api_delete(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp, const char *id)
{
    patient_actor_t who = patient_actor_of(req);
    patient_op_t    op;

    patient_op_delete(ctx, id, pms_req_param(req, "HTTP_IF_MATCH"),
        patient_if_match, &who, &op);
    return api_write_done(req, resp, &op, 204, "delete");
}

/*
 * GET /patients/{id}/history: the audit records, newest first, also of a
 * deleted patient; size (1..500, default 50) and cursor (the version the
 * next page starts below, from the Link header).
 */
static int
api_history(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp,
    const char *id)
{
    json_t      *errors = json_array(), *problem, *arr;
    PGresult    *res;
    pms_status_t st;
    long         size, before;
    int          i, shown;

    if (errors == NULL) {
        return api_fail(resp, PMS_ERROR, "history");
    }
    if (patient_parse_history_query(req->query, &size, &before, errors) > 0) {
        problem = pms_problem_new(400, "the query string is invalid");
        json_object_set_new(problem, "errors", errors);
        return pms_resp_problem_json(resp, problem);
    }
    json_decref(errors);
    if ((st = patient_store_history(ctx->db, id, before, size + 1, &res))
        != PMS_OK) {
        return api_fail(resp, st, "history");
    }
    pms_req_defer(req, api_pqclear, res);
    if (PQntuples(res) == 0 && before == PATIENT_HISTORY_TOP) {
        return pms_resp_problem(resp, 404, "no patient ever had this id");
    }
    shown = PQntuples(res) > size ? (int) size : PQntuples(res);
    arr = json_array();
    for (i = 0; arr != NULL && i < shown; i++) {
        if (json_array_append_new(arr, patient_history_to_json(res, i)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (arr == NULL) {
        return api_fail(resp, PMS_ERROR, "history json");
    }
    if (PQntuples(res) > size) {
        pms_resp_header(resp, "Link",
            "<%s/patients/%s/history?size=%ld&cursor=%s>; rel=\"next\"",
            ctx->public_prefix, id, size,
            PQgetvalue(res, shown - 1, PATIENT_HCOL_VERSION));
    }
    return pms_resp_json(resp, 200, arr);
}

/*
 * /health: one check per dependency, each "UP" or "DOWN" (or an object
 * whose "status" is).  The service is UP only when every check is.
 */
static int
api_health(patient_ctx_t *ctx, pms_resp_t *resp)
{
    json_t     *checks = json_object(), *v;
    const char *name, *state;
    int         up = 1;

    json_object_set_new(checks, "database",
        json_string(pms_db_ensure(ctx->db) == PMS_OK ? "UP" : "DOWN"));
    patient_billing_health(ctx->billing, checks);
    patient_outbox_health(ctx->db, checks);
    json_object_foreach(checks, name, v)
    {
        state = json_is_object(v)
            ? json_string_value(json_object_get(v, "status"))
            : json_string_value(v);
        if (state == NULL || strcmp(state, "UP") != 0) {
            up = 0;
        }
    }
    return pms_resp_json(resp, up ? 200 : 503,
        json_pack("{s:s, s:o}", "status", up ? "UP" : "DOWN", "checks",
            checks));
}

static int
api_not_allowed(pms_resp_t *resp, const char *allow)
{
    pms_resp_header(resp, "Allow", "%s", allow);
    return pms_resp_problem(resp, 405,
        "this method is not supported on this resource");
}

void
patient_api_handle(void *vctx, pms_req_t *req, pms_resp_t *resp)
{
    patient_ctx_t *ctx = vctx;
    char           id[64];
    const char    *m = req->method;
    int            read = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;

    if (strncmp(req->path, "/fhir/", 6) == 0) {
        patient_fhir_handle(ctx, req, resp);
        return;
    }
    if (strcmp(req->path, "/health") == 0) {
        resp->route = "/health";
        if (!read) {
            api_not_allowed(resp, "GET, HEAD");
            return;
        }
        api_health(ctx, resp);
        return;
    }
    switch (patient_parse_path(req->path, id, sizeof(id))) {
    case PATIENT_PATH_COLLECTION:
        if (read) {
            resp->route = "GET /patients";
            api_list(ctx, req, resp);
        } else if (strcmp(m, "POST") == 0) {
            resp->route = "POST /patients";
            api_create(ctx, req, resp);
        } else {
            api_not_allowed(resp, "GET, HEAD, POST");
        }
        return;
    case PATIENT_PATH_ITEM:
        if (!read && strcmp(m, "PUT") != 0 && strcmp(m, "DELETE") != 0) {
            api_not_allowed(resp, "GET, HEAD, PUT, DELETE");
            return;
        }
        resp->route = read          ? "GET /patients/{id}"
            : strcmp(m, "PUT") == 0 ? "PUT /patients/{id}"
                                    : "DELETE /patients/{id}";
        if (api_id_or_fail(resp, id) != 0) {
            return;
        } else if (read) {
            api_get(ctx, req, resp, id);
        } else if (strcmp(m, "PUT") == 0) {
            api_update(ctx, req, resp, id);
        } else {
            api_delete(ctx, req, resp, id);
        }
        return;
    case PATIENT_PATH_HISTORY:
        resp->route = "GET /patients/{id}/history";
        if (!read) {
            api_not_allowed(resp, "GET, HEAD");
        } else if (api_id_or_fail(resp, id) == 0) {
            api_history(ctx, req, resp, id);
        }
        return;
    case PATIENT_PATH_NONE:
        break;
    }
    pms_resp_problem(resp, 404, "no such resource");
}

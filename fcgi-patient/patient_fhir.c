/*
 * patient_fhir.c -- FHIR R4 at /fhir (the gateway's /api/fhir): the
 * CapabilityStatement, and Patient read, vread, history, search, create,
 * update and delete.  The writes are patient_ops.c's, the reads the
 * store's and the audit history's: this file only maps requests and
 * answers to FHIR (fhir_map.c).  Errors are OperationOutcomes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir_map.h"
#include "patient_fhir.h"
#include "patient_ops.h"
#include "patient_query.h"
#include "patient_store.h"
#include "pms_log.h"
#include "pms_problem.h"
#include "pms_uuid.h"
#include "pms_valid.h"

#define FHIR_COUNT_DEFAULT 50

static void
fhir_pqclear(void *res)
{
    PQclear(res);
}

static void
fhir_decref(void *json)
{
    json_decref(json);
}

static int
fhir_reply(pms_resp_t *resp, int status, json_t *body)
{
    return pms_resp_json_as(resp, status, body, FHIR_CONTENT_TYPE);
}

/* An OperationOutcome of one issue; its code follows the status. */
static int
fhir_error(pms_resp_t *resp, int status, const char *expression,
    const char *diagnostics)
{
    json_t *issues = json_array();

    fhir_issue_add(issues, fhir_issue_code(status), expression, diagnostics);
    return fhir_reply(resp, status, fhir_outcome(issues));
}

/* A failed store call, as the JSON API maps it (pms_http_status). */
static int
fhir_store_failed(pms_resp_t *resp, pms_status_t st)
{
    int status = pms_http_status(st);

    switch (st) {
    case PMS_NOT_FOUND:
        return fhir_error(resp, status, NULL, "no patient has this id");
    case PMS_CONFLICT:
        return fhir_error(resp, status, "Patient.telecom[0].value",
            "a patient with this email already exists");
    case PMS_INVALID:
        return fhir_error(resp, status, "Patient.extension[0].valueDate",
            "the registration date must not be before the birth date");
    case PMS_UNAVAILABLE:
        pms_resp_header(resp, "Retry-After", "1");
        return fhir_error(resp, status, NULL,
            "the patient database is unavailable; retry shortly");
    default:
        pms_error("fhir: store failed: %s", pms_status_name(st));
        return fhir_error(resp, status, NULL, "an unexpected error occurred");
    }
}

/*
 * "<scheme>://<host><prefix>/fhir", where links and fullUrls start: the
 * host and port the client named (the gateway checks them), and the
 * scheme a load balancer in front says it was reached by.
 */
static void
fhir_base(patient_ctx_t *ctx, pms_req_t *req, char *out, size_t len)
{
    const char *scheme = pms_req_param(req, "HTTP_X_FORWARDED_PROTO");
    const char *host = pms_req_param(req, "PMS_PUBLIC_HOST");

    if (scheme == NULL
        || (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
        scheme = pms_req_param(req, "REQUEST_SCHEME");
    }
    snprintf(out, len, "%s://%s%s/fhir", scheme ? scheme : "http",
        host ? host : "localhost", ctx->public_prefix);
}

/* The ETag and Last-Modified of a resource version. */
static void
fhir_version_headers(pms_resp_t *resp, json_t *patient)
{
    json_t *meta = json_object_get(patient, "meta");

    pms_resp_header(resp, "ETag", "W/\"%s\"",
        json_string_value(json_object_get(meta, "versionId")));
}

/* If-Match for FHIR: W/"n" (or "n", or *) names the stored version. */
static int
fhir_if_match(const char *header, long version)
{
    char want[32];

    if (header == NULL || strcmp(header, "*") == 0) {
        return 1;
    }
    if (strncmp(header, "W/", 2) == 0) {
        header += 2;
    }
    snprintf(want, sizeof(want), "\"%ld\"", version);
    return strcmp(header, want) == 0;
}

/* _format and the Accept header: only JSON is served. */
static int
fhir_format_ok(pms_req_t *req, const char *format)
{
    const char *accept = pms_req_param(req, "HTTP_ACCEPT");

    if (format != NULL && strcmp(format, "json") != 0
        && strcmp(format, "application/json") != 0
        && strcmp(format, "application/fhir+json") != 0) {
        return 0;
    }
    return accept == NULL || strstr(accept, "json") != NULL
        || strstr(accept, "*/*") != NULL || strstr(accept, "xml") == NULL;
}

/* --- reads --------------------------------------------------------------- */

/* What a read finds when the row is gone: 410 when history says deleted. */
static int
fhir_gone_or_missing(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp,
    const char *id)
{
    PGresult *h;

    if (patient_store_history(ctx->db, id, PATIENT_HISTORY_TOP, 1, &h)
        != PMS_OK) {
        return fhir_store_failed(resp, PMS_UNAVAILABLE);
    }
    pms_req_defer(req, fhir_pqclear, h);
    if (PQntuples(h) == 1
        && strcmp(PQgetvalue(h, 0, PATIENT_HCOL_OPERATION), "delete") == 0) {
        return fhir_error(resp, 410, NULL, "this patient was deleted");
    }
    return fhir_error(resp, 404, NULL, "no patient has this id");
}

static int
fhir_read(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp, const char *id)
{
    PGresult    *res;
    json_t      *p;
    pms_status_t st = patient_store_get(ctx->db, id, 0, &res);

    if (st == PMS_NOT_FOUND) {
        return fhir_gone_or_missing(ctx, req, resp, id);
    }
    if (st != PMS_OK) {
        return fhir_store_failed(resp, st);
    }
    pms_req_defer(req, fhir_pqclear, res);
    p = fhir_patient(res, 0, NULL, NULL);
    fhir_version_headers(resp, p);
    return fhir_reply(resp, 200, p);
}

/* A history row as a version of the resource (NULL for a tombstone). */
static json_t *
fhir_history_resource(const PGresult *res, int r)
{
    if (PQgetisnull(res, r, PATIENT_COL_ID)) {
        return NULL;
    }
    return fhir_patient(res, r, PQgetvalue(res, r, PATIENT_HCOL_VERSION),
        PQgetvalue(res, r, PATIENT_HCOL_AT));
}

static int
fhir_vread(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp, const char *id,
    const char *vid)
{
    PGresult    *res;
    json_t      *p;
    long         version;
    char        *end;
    pms_status_t st;

    version = strtol(vid, &end, 10);
    if (*vid == '\0' || *end != '\0' || version < 1 || version > 2147483647L) {
        return fhir_error(resp, 404, NULL, "no such version");
    }
    st = patient_store_history_version(ctx->db, id, version, &res);
    if (st != PMS_OK) {
        return st == PMS_NOT_FOUND
            ? fhir_error(resp, 404, NULL, "no such version")
            : fhir_store_failed(resp, st);
    }
    pms_req_defer(req, fhir_pqclear, res);
    if ((p = fhir_history_resource(res, 0)) == NULL) {
        return fhir_error(resp, 410, NULL,
            "this version is the patient's deletion");
    }
    fhir_version_headers(resp, p);
    return fhir_reply(resp, 200, p);
}

/* One entry of a history Bundle: the version, and what made it. */
static json_t *
fhir_history_entry(const PGresult *res, int r, const char *base, const char *id)
{
    static const struct {
        const char *op, *method, *status;
    } ops[] = {
        { "create", "POST", "201" },
        { "update", "PUT", "200" },
        { "delete", "DELETE", "204" },
    };
    const char *op = PQgetvalue(res, r, PATIENT_HCOL_OPERATION);
    json_t     *e, *resource = fhir_history_resource(res, r);
    char        url[400], etag[40];
    size_t      i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]) - 1; i++) {
        if (strcmp(ops[i].op, op) == 0) {
            break; /* else the last: delete */
        }
    }
    snprintf(url, sizeof(url), "%s/Patient/%s", base, id);
    snprintf(etag, sizeof(etag), "W/\"%s\"",
        PQgetvalue(res, r, PATIENT_HCOL_VERSION));
    e = json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "fullUrl", url,
        "request", "method", ops[i].method, "url",
        i == 0 ? "Patient" : url + strlen(base) + 1, "response", "status",
        ops[i].status, "etag", etag, "lastModified",
        PQgetvalue(res, r, PATIENT_HCOL_AT));
    if (e != NULL && resource != NULL) {
        json_object_set_new(e, "resource", resource);
    }
    return e;
}

/* Sets a Bundle's entries (stolen); an empty array is left out, as FHIR
 * allows no empty arrays. */
static void
fhir_bundle_entries(json_t *bundle, json_t *entries)
{
    if (bundle != NULL && json_array_size(entries) > 0) {
        json_object_set_new(bundle, "entry", entries);
    } else {
        json_decref(entries);
    }
}

/* What the history and search parsers fill from the query string. */
typedef struct {
    pms_req_t            *req;
    patient_list_query_t *lq; /* search only */
    long                  count;
    long                  before; /* history only */
    const char           *format;
    char                  format_buf[64];
    int                   history;
} fhir_params_t;

static size_t
fhir_bad_param(json_t *issues, const char *key, const char *why)
{
    char path[64];

    snprintf(path, sizeof(path), "%.40s", key);
    fhir_issue_add(issues, "invalid", path, why);
    return 1;
}

/* The parameters every FHIR read takes: _format, and _count/_cursor. */
static size_t
fhir_common_param(const char *key, const char *val, fhir_params_t *fp,
    json_t *issues)
{
    char *end;
    long  v;

    if (strcmp(key, "_format") == 0) {
        snprintf(fp->format_buf, sizeof(fp->format_buf), "%s", val);
        fp->format = fp->format_buf;
        return 0;
    }
    if (strcmp(key, "_count") == 0) {
        v = strtol(val, &end, 10);
        if (*val == '\0' || *end != '\0' || v < 1
            || v > PATIENT_PAGE_MAX_SIZE) {
            return fhir_bad_param(issues, key,
                "_count must be an integer from 1 to 500");
        }
        fp->count = v;
        return 0;
    }
    return fhir_bad_param(issues, key,
        fp->history ? "is not a parameter of history (_count, _format)"
                    : "is not a supported parameter (_id, name, email,"
                      " birthdate, _count, _total, _format)");
}

static size_t
fhir_history_param(const char *key, const char *val, void *arg, json_t *issues)
{
    fhir_params_t *fp = arg;
    char          *end;

    if (strcmp(key, "_cursor") == 0) {
        fp->before = strtol(val, &end, 10);
        return *val != '\0' && *end == '\0' && fp->before >= 2
                && fp->before <= PATIENT_HISTORY_TOP
            ? 0
            : fhir_bad_param(issues, key, "is not a cursor this server made");
    }
    return fhir_common_param(key, val, fp, issues);
}

/*
 * patient_query_each() for FHIR: a pair it cannot decode is reported in
 * the JSON API's {field, message}; those become OperationOutcome issues.
 */
static size_t
fhir_query_each(const char *qs, patient_param_fn fn, fhir_params_t *fp,
    json_t *issues)
{
    size_t  n = patient_query_each(qs, fn, fp, issues), i;
    json_t *e;
    char    why[300];

    json_array_foreach(issues, i, e)
    {
        if (json_object_get(e, "severity") == NULL) {
            snprintf(why, sizeof(why), "%s: %s",
                json_string_value(json_object_get(e, "field")),
                json_string_value(json_object_get(e, "message")));
            json_array_set_new(issues, i,
                json_pack("{s:s, s:s, s:s}", "severity", "error", "code",
                    "invalid", "diagnostics", why));
        }
    }
    return n;
}

/* A read takes _format only. */
static size_t
fhir_read_param(const char *key, const char *val, void *arg, json_t *issues)
{
    fhir_params_t *fp = arg;

    if (strcmp(key, "_format") != 0) {
        return fhir_bad_param(issues, key,
            "is not a parameter of read (_format)");
    }
    return fhir_common_param(key, val, fp, issues);
}

/* 0 when the query string and Accept of a read allow an answer, else the
 * status of the OperationOutcome it prepared. */
static int
fhir_read_query_ok(pms_req_t *req, pms_resp_t *resp)
{
    fhir_params_t fp = { req, NULL, 0, 0, NULL, "", 0 };
    json_t       *issues = json_array();

    if (fhir_query_each(req->query, fhir_read_param, &fp, issues) > 0) {
        return fhir_reply(resp, 400, fhir_outcome(issues));
    }
    json_decref(issues);
    return fhir_format_ok(req, fp.format)
        ? 0
        : fhir_error(resp, 406, NULL, "only JSON is served");
}

static int
fhir_history(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp,
    const char *id)
{
    fhir_params_t fp = { req, NULL, FHIR_COUNT_DEFAULT, PATIENT_HISTORY_TOP,
        NULL, "", 1 };
    json_t       *issues = json_array(), *entries, *bundle;
    PGresult     *res;
    pms_status_t  st;
    char          base[300], self[400], next[400];
    int           i, shown;

    if (fhir_query_each(req->query, fhir_history_param, &fp, issues) > 0) {
        return fhir_reply(resp, 400, fhir_outcome(issues));
    }
    json_decref(issues);
    if (!fhir_format_ok(req, fp.format)) {
        return fhir_error(resp, 406, NULL, "only JSON is served");
    }
    st = patient_store_history(ctx->db, id, fp.before, fp.count + 1, &res);
    if (st != PMS_OK) {
        return fhir_store_failed(resp, st);
    }
    pms_req_defer(req, fhir_pqclear, res);
    if (PQntuples(res) == 0 && fp.before == PATIENT_HISTORY_TOP) {
        return fhir_error(resp, 404, NULL, "no patient ever had this id");
    }
    fhir_base(ctx, req, base, sizeof(base));
    shown = PQntuples(res) > fp.count ? (int) fp.count : PQntuples(res);
    entries = json_array();
    for (i = 0; i < shown; i++) {
        json_array_append_new(entries, fhir_history_entry(res, i, base, id));
    }
    snprintf(self, sizeof(self), "%s/Patient/%s/_history", base, id);
    bundle = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "resourceType", "Bundle",
        "type", "history", "link", "relation", "self", "url", self);
    fhir_bundle_entries(bundle, entries);
    if (bundle != NULL && PQntuples(res) > fp.count) {
        snprintf(next, sizeof(next),
            "%s/Patient/%s/_history?_count=%ld&_cursor=%s", base, id, fp.count,
            PQgetvalue(res, shown - 1, PATIENT_HCOL_VERSION));
        json_array_append_new(json_object_get(bundle, "link"),
            json_pack("{s:s, s:s}", "relation", "next", "url", next));
    }
    return fhir_reply(resp, 200, bundle);
}

/* --- search ---------------------------------------------------------------- */

/* birthdate=[eq|ge|le]YYYY-MM-DD, repeatable. */
static size_t
fhir_birthdate(const char *val, patient_list_query_t *lq, json_t *issues)
{
    const char *date = val;
    char       *dst = lq->birth_date;

    if (strncmp(val, "eq", 2) == 0 || strncmp(val, "ge", 2) == 0
        || strncmp(val, "le", 2) == 0) {
        date = val + 2;
        dst = val[0] == 'g' ? lq->birth_ge
            : val[0] == 'l' ? lq->birth_le
                            : lq->birth_date;
    }
    if (!pms_valid_date(date)) {
        return fhir_bad_param(issues, "birthdate",
            "must be YYYY-MM-DD with an optional eq, ge or le prefix");
    }
    memcpy(dst, date, 11);
    return 0;
}

static size_t
fhir_search_param(const char *key, const char *val, void *arg, json_t *issues)
{
    fhir_params_t        *fp = arg;
    patient_list_query_t *lq = fp->lq;

    if (strcmp(key, "_id") == 0) {
        if (!pms_uuid_valid(val)) {
            return fhir_bad_param(issues, key, "must be a patient id (a UUID)");
        }
        snprintf(lq->id, sizeof(lq->id), "%s", val);
    } else if (strcmp(key, "name") == 0 || strcmp(key, "name:contains") == 0) {
        if (val[0] == '\0' || pms_utf8_len(val) > PATIENT_Q_MAX
            || pms_has_control(val, 0)) {
            return fhir_bad_param(issues, key,
                "must be 1 to 100 characters, none of them control"
                " characters");
        }
        snprintf(lq->name, sizeof(lq->name), "%s", val);
    } else if (strcmp(key, "email") == 0) {
        if (strlen(val) >= sizeof(lq->email) || !pms_valid_email(val)) {
            return fhir_bad_param(issues, key, "must be an email address");
        }
        snprintf(lq->email, sizeof(lq->email), "%s", val);
    } else if (strcmp(key, "birthdate") == 0) {
        return fhir_birthdate(val, lq, issues);
    } else if (strcmp(key, "_total") == 0) {
        lq->total = strcmp(val, "accurate") == 0 ? PATIENT_TOTAL_ACCURATE
            : strcmp(val, "none") == 0           ? PATIENT_TOTAL_NONE
                                                 : PATIENT_TOTAL_ESTIMATE;
        if (strcmp(val, "accurate") != 0 && strcmp(val, "none") != 0
            && strcmp(val, "estimate") != 0) {
            return fhir_bad_param(issues, key,
                "must be none, estimate or accurate");
        }
    } else if (strcmp(key, "_cursor") == 0) {
        if (patient_cursor_decode(val, &lq->cursor) != 0
            || lq->cursor.dir != PATIENT_CURSOR_AFTER) {
            return fhir_bad_param(issues, key,
                "is not a cursor this server made");
        }
    } else {
        return fhir_common_param(key, val, fp, issues);
    }
    return 0;
}

/* The search URL of lq's filters (a cursor appended by the caller). */
static void
fhir_search_url(FILE *out, const char *base, const patient_list_query_t *lq,
    long count)
{
    static const char *const totals[] = { "estimate", "accurate", "none" };

    fprintf(out, "%s/Patient?_count=%ld&_total=%s", base, count,
        totals[lq->total]);
    if (lq->id[0] != '\0') {
        fprintf(out, "&_id=%s", lq->id);
    }
    if (lq->name[0] != '\0') {
        fputs("&name=", out);
        pms_url_encode(out, lq->name);
    }
    if (lq->email[0] != '\0') {
        fputs("&email=", out);
        pms_url_encode(out, lq->email);
    }
    if (lq->birth_date[0] != '\0') {
        fprintf(out, "&birthdate=eq%s", lq->birth_date);
    }
    if (lq->birth_ge[0] != '\0') {
        fprintf(out, "&birthdate=ge%s", lq->birth_ge);
    }
    if (lq->birth_le[0] != '\0') {
        fprintf(out, "&birthdate=le%s", lq->birth_le);
    }
}

/* Bundle.link: self, and next (a cursor after the page's last row). */
static json_t *
fhir_search_links(const char *base, const patient_list_query_t *lq, long count,
    const PGresult *res, int shown, int more)
{
    char   *url = NULL, *cursor;
    size_t  len = 0;
    FILE   *out;
    json_t *links = json_array();
    int     i;

    for (i = 0; i < (more ? 2 : 1); i++) {
        if ((out = open_memstream(&url, &len)) == NULL) {
            break;
        }
        fhir_search_url(out, base, lq, count);
        if (i == 1) {
            cursor = patient_cursor_encode(PATIENT_CURSOR_AFTER,
                PQgetvalue(res, shown - 1, PATIENT_COL_ID),
                PQgetvalue(res, shown - 1, PATIENT_COL_NAME));
            fprintf(out, "&_cursor=%s", cursor != NULL ? cursor : "");
            free(cursor);
        }
        if (fclose(out) == 0) {
            json_array_append_new(links,
                json_pack("{s:s, s:s}", "relation", i == 0 ? "self" : "next",
                    "url", url));
        }
        free(url);
        url = NULL;
    }
    return links;
}

static int
fhir_search(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp)
{
    patient_list_query_t lq;
    fhir_params_t        fp = { req, &lq, FHIR_COUNT_DEFAULT, 0, NULL, "", 0 };
    json_t              *issues = json_array(), *entries, *bundle, *p;
    PGresult            *res;
    pms_status_t         st;
    char                 base[300], url[400];
    long                 total = 0;
    int                  i, shown, more, exact = 0;

    memset(&lq, 0, sizeof(lq));
    lq.page = 1;
    if (fhir_query_each(req->query, fhir_search_param, &fp, issues) > 0) {
        return fhir_reply(resp, 400, fhir_outcome(issues));
    }
    json_decref(issues);
    if (!fhir_format_ok(req, fp.format)) {
        return fhir_error(resp, 406, NULL, "only JSON is served");
    }
    lq.size = fp.count;
    if ((st = patient_store_list(ctx->db, &lq, lq.size + 1, &res)) != PMS_OK) {
        return fhir_store_failed(resp, st);
    }
    pms_req_defer(req, fhir_pqclear, res);
    more = PQntuples(res) > lq.size;
    shown = more ? (int) lq.size : PQntuples(res);
    if (lq.total != PATIENT_TOTAL_NONE
        && (st = patient_store_total(ctx->db, &lq, shown, more, &total, &exact))
            != PMS_OK) {
        return fhir_store_failed(resp, st);
    }
    fhir_base(ctx, req, base, sizeof(base));
    entries = json_array();
    for (i = 0; i < shown; i++) {
        p = fhir_patient(res, i, NULL, NULL);
        snprintf(url, sizeof(url), "%s/Patient/%s", base,
            PQgetvalue(res, i, PATIENT_COL_ID));
        json_array_append_new(entries,
            json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", url, "resource", p,
                "search", "mode", "match"));
    }
    bundle = json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle", "type",
        "searchset", "link",
        fhir_search_links(base, &lq, fp.count, res, shown, more));
    fhir_bundle_entries(bundle, entries);
    if (bundle != NULL && exact) {
        json_object_set_new(bundle, "total", json_integer(total));
    }
    return fhir_reply(resp, 200, bundle);
}

/* --- writes ------------------------------------------------------------------ */

/*
 * Parses a FHIR Patient body into in, through the JSON API's validation.
 * Returns 0, or the status of the OperationOutcome it prepared.
 */
static int
fhir_read_body(pms_req_t *req, pms_resp_t *resp, const char *want_id,
    patient_input_t *in)
{
    json_t      *fhir, *body, *issues, *errors, *e;
    json_error_t jerr;
    char         today[11], why[300];
    size_t       i;

    if (!pms_media_type_is(req->content_type, "application/fhir+json")
        && !pms_media_type_is(req->content_type, "application/json")) {
        return fhir_error(resp, 415, NULL,
            "the body must be sent as application/fhir+json");
    }
    fhir = req->body != NULL
        ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr)
        : NULL;
    if (fhir == NULL) {
        snprintf(why, sizeof(why), "the body is not a JSON object: %s",
            req->body != NULL ? jerr.text : "no body");
        return fhir_error(resp, 400, NULL, why);
    }
    pms_req_defer(req, fhir_decref, fhir);
    issues = json_array();
    if ((body = fhir_patient_to_pms(fhir, want_id, issues)) == NULL) {
        return fhir_reply(resp, 400, fhir_outcome(issues));
    }
    pms_req_defer(req, fhir_decref, body); /* in borrows from it */
    errors = json_array();
    pms_today(today);
    memset(in, 0, sizeof(*in));
    if (patient_validate(body, today, in, errors) > 0) {
        json_array_foreach(errors, i, e)
        {
            snprintf(why, sizeof(why), "%s",
                json_string_value(json_object_get(e, "message")));
            fhir_issue_add(issues, "invalid",
                fhir_expression(json_string_value(json_object_get(e, "field"))),
                why);
        }
        json_decref(errors);
        return fhir_reply(resp, 400, fhir_outcome(issues));
    }
    json_decref(errors);
    json_decref(issues);
    return 0;
}

/* A write's outcome as FHIR: the resource in status, or an OperationOutcome. */
static int
fhir_write_done(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp,
    patient_op_t *op, int status)
{
    json_t *p;
    char    base[300];

    if (op->res != NULL) {
        pms_req_defer(req, fhir_pqclear, op->res);
    }
    switch (op->result) {
    case PATIENT_OP_OK:
        break;
    case PATIENT_OP_STORE:
        return fhir_store_failed(resp, op->st);
    case PATIENT_OP_BILLING_DOWN:
        pms_resp_header(resp, "Retry-After", "1");
        return fhir_error(resp, 503, NULL,
            "billing is unavailable, so nothing was stored; retry shortly");
    case PATIENT_OP_DATES:
        return fhir_error(resp, 400, "Patient.birthDate",
            "the stored registration date would be before the new birth date;"
            " send the registration date extension too");
    case PATIENT_OP_STALE:
        pms_resp_header(resp, "ETag", "W/\"%s\"",
            PQgetvalue(op->res, 0, PATIENT_COL_VERSION));
        return fhir_error(resp, 412, NULL,
            "the patient has changed since the version in If-Match; read it"
            " again");
    }
    if (status == 204) {
        resp->status = 204;
        return 204;
    }
    p = fhir_patient(op->res, 0, NULL, NULL);
    fhir_version_headers(resp, p);
    if (status == 201) {
        fhir_base(ctx, req, base, sizeof(base));
        pms_resp_header(resp, "Location", "%s/Patient/%s/_history/%s", base,
            PQgetvalue(op->res, 0, PATIENT_COL_ID),
            PQgetvalue(op->res, 0, PATIENT_COL_VERSION));
    }
    return fhir_reply(resp, status, p);
}

static int
fhir_create(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp)
{
    patient_input_t in;
    patient_actor_t who = patient_actor_of(req);
    patient_op_t    op;
    char            id[PMS_UUID_LEN + 1];
    int             status;

    if ((status = fhir_read_body(req, resp, NULL, &in)) != 0) {
        return status;
    }
    patient_op_create(ctx, &in, &who, id, &op);
    return fhir_write_done(ctx, req, resp, &op, 201);
}

static int
fhir_update(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp,
    const char *id)
{
    patient_input_t in;
    patient_actor_t who = patient_actor_of(req);
    patient_op_t    op;
    int             status;

    if ((status = fhir_read_body(req, resp, id, &in)) != 0) {
        return status;
    }
    patient_op_update(ctx, id, &in, pms_req_param(req, "HTTP_IF_MATCH"),
        fhir_if_match, &who, &op);
    if (op.result == PATIENT_OP_STORE && op.st == PMS_NOT_FOUND) {
        return fhir_error(resp, 404, NULL,
            "no patient has this id (pms assigns ids: create with POST)");
    }
    return fhir_write_done(ctx, req, resp, &op, 200);
}

static int
fhir_delete(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp,
    const char *id)
{
    patient_actor_t who = patient_actor_of(req);
    patient_op_t    op;

    patient_op_delete(ctx, id, pms_req_param(req, "HTTP_IF_MATCH"),
        fhir_if_match, &who, &op);
    return fhir_write_done(ctx, req, resp, &op, 204);
}

/* --- routing ------------------------------------------------------------------ */

static const char fhir_capability[] =
    "{\"resourceType\":\"CapabilityStatement\",\"status\":\"active\","
    "\"date\":\"2026-12-07\",\"publisher\":\"pms\",\"kind\":\"instance\","
    "\"software\":{\"name\":\"pms\"},"
    "\"implementation\":{\"description\":\"pms patient registry\"},"
    "\"fhirVersion\":\"4.0.1\",\"format\":[\"json\"],"
    "\"rest\":[{\"mode\":\"server\","
    "\"security\":{\"description\":\"OAuth2 bearer token from the realm's"
    " Keycloak; reads need realm role patient-reader, writes"
    " patient-writer\"},"
    "\"resource\":[{\"type\":\"Patient\","
    "\"interaction\":[{\"code\":\"read\"},{\"code\":\"vread\"},"
    "{\"code\":\"update\"},{\"code\":\"delete\"},"
    "{\"code\":\"history-instance\"},{\"code\":\"create\"},"
    "{\"code\":\"search-type\"}],"
    "\"versioning\":\"versioned-update\",\"readHistory\":true,"
    "\"updateCreate\":false,\"conditionalCreate\":false,"
    "\"conditionalRead\":\"not-supported\",\"conditionalUpdate\":false,"
    "\"conditionalDelete\":\"not-supported\","
    "\"searchParam\":[{\"name\":\"_id\",\"type\":\"token\"},"
    "{\"name\":\"name\",\"type\":\"string\",\"documentation\":\"substring of"
    " the name, case-insensitive\"},"
    "{\"name\":\"email\",\"type\":\"token\",\"documentation\":\"the whole"
    " address, case-insensitive\"},"
    "{\"name\":\"birthdate\",\"type\":\"date\",\"documentation\":\"YYYY-MM-DD"
    " with eq, ge or le\"}]}]}]}";

/* Splits "/Patient/{id}[/_history[/{vid}]]" after /fhir; 0 when it is. */
static int
fhir_parse_path(const char *path, char *id, size_t idlen, int *history,
    char *vid, size_t vidlen)
{
    const char *rest = path + strlen("/Patient/"), *slash;
    size_t      len;

    *history = 0;
    slash = strchr(rest, '/');
    len = slash != NULL ? (size_t) (slash - rest) : strlen(rest);
    if (len == 0 || len >= idlen) {
        return -1;
    }
    snprintf(id, idlen, "%.*s", (int) len, rest);
    if (slash == NULL) {
        return 0;
    }
    if (strcmp(slash, "/_history") == 0) {
        *history = 1;
        return 0;
    }
    if (strncmp(slash, "/_history/", 10) == 0 && slash[10] != '\0'
        && strchr(slash + 10, '/') == NULL && strlen(slash + 10) < vidlen) {
        *history = 2;
        snprintf(vid, vidlen, "%s", slash + 10);
        return 0;
    }
    return -1;
}

static int
fhir_instance(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp,
    const char *path, int read)
{
    char        id[64], vid[16];
    int         history, status;
    const char *m = req->method;

    if (fhir_parse_path(path, id, sizeof(id), &history, vid, sizeof(vid))
        != 0) {
        return fhir_error(resp, 404, NULL, "no such resource");
    }
    if (!pms_uuid_valid(id)) {
        return fhir_error(resp, 404, NULL, "no patient has this id");
    }
    if (history != 0 && !read) {
        pms_resp_header(resp, "Allow", "GET, HEAD");
        return fhir_error(resp, 405, NULL, "history is read-only");
    }
    if (history == 1) {
        resp->route = "GET /fhir/Patient/{id}/_history";
        return fhir_history(ctx, req, resp, id);
    }
    if (read && (status = fhir_read_query_ok(req, resp)) != 0) {
        return status;
    }
    if (history == 2) {
        resp->route = "GET /fhir/Patient/{id}/_history/{vid}";
        return fhir_vread(ctx, req, resp, id, vid);
    }
    if (read) {
        resp->route = "GET /fhir/Patient/{id}";
        return fhir_read(ctx, req, resp, id);
    }
    if (strcmp(m, "PUT") == 0) {
        resp->route = "PUT /fhir/Patient/{id}";
        return fhir_update(ctx, req, resp, id);
    }
    if (strcmp(m, "DELETE") == 0) {
        resp->route = "DELETE /fhir/Patient/{id}";
        return fhir_delete(ctx, req, resp, id);
    }
    pms_resp_header(resp, "Allow", "GET, HEAD, PUT, DELETE");
    return fhir_error(resp, 405, NULL, "this method is not supported here");
}

void
patient_fhir_handle(patient_ctx_t *ctx, pms_req_t *req, pms_resp_t *resp)
{
    const char *path = req->path + strlen("/fhir");
    int         read =
        strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

    if (strcmp(path, "/metadata") == 0) {
        resp->route = "GET /fhir/metadata";
        if (!read) {
            pms_resp_header(resp, "Allow", "GET, HEAD");
            fhir_error(resp, 405, NULL, "metadata is read-only");
            return;
        }
        fhir_reply(resp, 200, json_loads(fhir_capability, 0, NULL));
        return;
    }
    if (strcmp(path, "/Patient") == 0) {
        if (read) {
            resp->route = "GET /fhir/Patient";
            fhir_search(ctx, req, resp);
        } else if (strcmp(req->method, "POST") == 0) {
            resp->route = "POST /fhir/Patient";
            fhir_create(ctx, req, resp);
        } else {
            pms_resp_header(resp, "Allow", "GET, HEAD, POST");
            fhir_error(resp, 405, NULL, "this method is not supported here");
        }
        return;
    }
    if (strncmp(path, "/Patient/", 9) == 0) {
        fhir_instance(ctx, req, resp, path, read);
        return;
    }
    fhir_error(resp, 404, NULL,
        "pms serves the Patient resource and metadata only");
}

/*
 * fhir_map.c -- the mapping of fhir_map.h.  A FHIR body is accepted only
 * when everything in it can be stored: pms keeps one name, one email, one
 * address, the birth date and its own registration-date extension, so any
 * other element is refused by name rather than silently dropped.
 */
#include <stdio.h>
#include <string.h>

#include "fhir_map.h"
#include "patient_model.h"

/* The text of column c of row r, or NULL when SQL NULL. */
static const char *
map_col(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

/* HumanName: the text, and given/family when it is exactly two words. */
static json_t *
map_name(const char *name)
{
    json_t     *hn = json_pack("{s:s}", "text", name);
    const char *sp = strchr(name, ' ');
    char        given[101];

    if (hn != NULL && sp != NULL && sp > name && sp[1] != '\0'
        && strchr(sp + 1, ' ') == NULL
        && (size_t) (sp - name) < sizeof(given)) {
        snprintf(given, sizeof(given), "%.*s", (int) (sp - name), name);
        json_object_set_new(hn, "family", json_string(sp + 1));
        json_object_set_new(hn, "given", json_pack("[s]", given));
    }
    return hn;
}

json_t *
fhir_patient(const PGresult *res, int r, const char *version,
    const char *last_updated)
{
    const char *billing = map_col(res, r, PATIENT_COL_BILLING);
    json_t     *p;

    p = json_pack("{s:s, s:s, s:{s:s, s:s}, s:[o], s:[{s:s, s:s}],"
                  " s:[{s:s}], s:s, s:[{s:s, s:s}]}",
        "resourceType", "Patient", "id", PQgetvalue(res, r, PATIENT_COL_ID),
        "meta", "versionId",
        version != NULL ? version : PQgetvalue(res, r, PATIENT_COL_VERSION),
        "lastUpdated",
        last_updated != NULL ? last_updated
                             : PQgetvalue(res, r, PATIENT_COL_UPDATED_AT),
        "name", map_name(PQgetvalue(res, r, PATIENT_COL_NAME)), "telecom",
        "system", "email", "value", PQgetvalue(res, r, PATIENT_COL_EMAIL),
        "address", "text", PQgetvalue(res, r, PATIENT_COL_ADDRESS), "birthDate",
        PQgetvalue(res, r, PATIENT_COL_DOB), "extension", "url",
        FHIR_EXT_REGISTERED, "valueDate",
        PQgetvalue(res, r, PATIENT_COL_REGISTERED));
    if (p != NULL && billing != NULL) {
        json_object_set_new(p, "identifier",
            json_pack("[{s:s, s:s}]", "system", FHIR_SID_BILLING, "value",
                billing));
    }
    return p;
}

void
fhir_issue_add(json_t *issues, const char *code, const char *expression,
    const char *diagnostics)
{
    json_t *issue = json_pack("{s:s, s:s, s:s}", "severity", "error", "code",
        code, "diagnostics", diagnostics);

    if (issue != NULL && expression != NULL) {
        json_object_set_new(issue, "expression", json_pack("[s]", expression));
    }
    json_array_append_new(issues, issue);
}

const char *
fhir_expression(const char *field)
{
    static const struct {
        const char *pms, *fhir;
    } paths[] = {
        { "name", "Patient.name[0]" },
        { "email", "Patient.telecom[0].value" },
        { "address", "Patient.address[0]" },
        { "dateOfBirth", "Patient.birthDate" },
        { "registeredDate", "Patient.extension[0].valueDate" },
    };
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (strcmp(field, paths[i].pms) == 0) {
            return paths[i].fhir;
        }
    }
    return "Patient";
}

json_t *
fhir_outcome(json_t *issues)
{
    return json_pack("{s:s, s:o}", "resourceType", "OperationOutcome", "issue",
        issues);
}

const char *
fhir_issue_code(int status)
{
    switch (status) {
    case 404:
        return "not-found";
    case 405:
    case 406:
    case 415:
        return "not-supported";
    case 409:
        return "duplicate";
    case 410:
        return "deleted";
    case 412:
        return "conflict";
    case 503:
        return "transient";
    default:
        return status >= 500 ? "exception" : "invalid";
    }
}

/* The only element of an array member, or NULL (an issue added). */
static json_t *
map_one(json_t *fhir, const char *key, int required, json_t *issues)
{
    json_t *a = json_object_get(fhir, key);
    char    path[64], why[128];

    snprintf(path, sizeof(path), "Patient.%s", key);
    if (a == NULL && !required) {
        return NULL;
    }
    if (!json_is_array(a) || json_array_size(a) != 1
        || !json_is_object(json_array_get(a, 0))) {
        snprintf(why, sizeof(why),
            "%s must be an array of exactly one object: pms keeps one", key);
        fhir_issue_add(issues, a == NULL ? "required" : "not-supported", path,
            why);
        return NULL;
    }
    return json_array_get(a, 0);
}

/* name[0]: its text, or its given names and family joined by spaces. */
static json_t *
map_name_in(json_t *hn, json_t *issues)
{
    json_t     *text = json_object_get(hn, "text"), *given, *v;
    const char *family;
    char        buf[512];
    size_t      i, len = 0;

    if (text != NULL) {
        return json_incref(text); /* validated as the name field */
    }
    given = json_object_get(hn, "given");
    family = json_string_value(json_object_get(hn, "family"));
    buf[0] = '\0';
    json_array_foreach(given, i, v)
    {
        if (json_is_string(v) && len < sizeof(buf)) {
            len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%s",
                len > 0 ? " " : "", json_string_value(v));
        }
    }
    if (family != NULL && len < sizeof(buf)) {
        snprintf(buf + len, sizeof(buf) - len, "%s%s", len > 0 ? " " : "",
            family);
    }
    if (buf[0] == '\0') {
        fhir_issue_add(issues, "required", "Patient.name[0]",
            "name needs text, or given and family");
        return NULL;
    }
    return json_string(buf);
}

/* The members of a Patient pms reads; anything else is refused. */
static int
map_known(const char *key)
{
    static const char *const known[] = { "resourceType", "id", "meta",
        "identifier", "name", "telecom", "address", "birthDate", "extension" };
    size_t                   i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(key, known[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* identifier: only the billing account's, which the server assigns. */
static void
map_identifiers(json_t *fhir, json_t *issues)
{
    json_t *v;
    size_t  i;

    json_array_foreach(json_object_get(fhir, "identifier"), i, v)
    {
        if (!json_is_string(json_object_get(v, "system"))
            || strcmp(json_string_value(json_object_get(v, "system")),
                   FHIR_SID_BILLING)
                != 0) {
            fhir_issue_add(issues, "not-supported", "Patient.identifier",
                "pms keeps no identifier but its billing account's");
        }
    }
}

/* extension: only the registration date; copies its value into body. */
static void
map_extensions(json_t *fhir, json_t *body, json_t *issues)
{
    json_t     *v, *date;
    const char *url;
    size_t      i;

    json_array_foreach(json_object_get(fhir, "extension"), i, v)
    {
        url = json_string_value(json_object_get(v, "url"));
        if (url == NULL || strcmp(url, FHIR_EXT_REGISTERED) != 0) {
            fhir_issue_add(issues, "not-supported", "Patient.extension",
                "pms keeps no extension but " FHIR_EXT_REGISTERED);
            continue;
        }
        date = json_object_get(v, "valueDate");
        json_object_set(body, "registeredDate", date ? date : json_null());
    }
}

/* telecom[0] must be the email address. */
static void
map_email(json_t *fhir, json_t *body, json_t *issues)
{
    json_t     *cp = map_one(fhir, "telecom", 1, issues);
    const char *system;

    if (cp == NULL) {
        return;
    }
    system = json_string_value(json_object_get(cp, "system"));
    if (system == NULL || strcmp(system, "email") != 0) {
        fhir_issue_add(issues, "not-supported", "Patient.telecom[0].system",
            "the one telecom pms keeps is the email address (system email)");
        return;
    }
    if (json_object_get(cp, "value") != NULL) {
        json_object_set(body, "email", json_object_get(cp, "value"));
    }
}

json_t *
fhir_patient_to_pms(json_t *fhir, const char *want_id, json_t *issues)
{
    json_t     *body, *hn, *addr, *v;
    const char *key, *type, *id;
    size_t      before = json_array_size(issues);

    type = json_string_value(json_object_get(fhir, "resourceType"));
    if (!json_is_object(fhir) || type == NULL || strcmp(type, "Patient") != 0) {
        fhir_issue_add(issues, "invalid", "Patient.resourceType",
            "the body must be a FHIR Patient resource");
        return NULL;
    }
    id = json_string_value(json_object_get(fhir, "id"));
    if (want_id != NULL && (id == NULL || strcmp(id, want_id) != 0)) {
        fhir_issue_add(issues, "invalid", "Patient.id",
            "an update's body must carry the id of the URL");
    }
    json_object_foreach(fhir, key, v)
    {
        if (!map_known(key)) {
            char path[96];

            snprintf(path, sizeof(path), "Patient.%.80s", key);
            fhir_issue_add(issues, "not-supported", path,
                "pms does not keep this element");
        }
    }
    body = json_object();
    if ((hn = map_one(fhir, "name", 1, issues)) != NULL) {
        json_object_set_new(body, "name", map_name_in(hn, issues));
    }
    map_email(fhir, body, issues);
    if ((addr = map_one(fhir, "address", 1, issues)) != NULL) {
        if (json_object_get(addr, "text") != NULL) {
            json_object_set(body, "address", json_object_get(addr, "text"));
        } else {
            fhir_issue_add(issues, "required", "Patient.address[0].text",
                "the address is kept as its text");
        }
    }
    if ((v = json_object_get(fhir, "birthDate")) != NULL) {
        json_object_set(body, "dateOfBirth", v);
    }
    map_identifiers(fhir, issues);
    map_extensions(fhir, body, issues);
    if (json_array_size(issues) > before) {
        json_decref(body);
        return NULL;
    }
    return body;
}

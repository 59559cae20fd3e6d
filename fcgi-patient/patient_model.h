/*
 * patient_model.h -- the patient resource: its field spec, validation of
 * request bodies, and the JSON shape of a stored row.  Pure functions, no
 * I/O, so the unit tests exercise them directly.
 */
#ifndef PATIENT_MODEL_H
#define PATIENT_MODEL_H

#include <jansson.h>
#include <libpq-fe.h>

/* Column order every patient SELECT/RETURNING uses (see patient_store.c). */
enum {
    PATIENT_COL_ID,
    PATIENT_COL_NAME,
    PATIENT_COL_EMAIL,
    PATIENT_COL_ADDRESS,
    PATIENT_COL_DOB,
    PATIENT_COL_REGISTERED,
    PATIENT_COL_BILLING,
    PATIENT_COL_CREATED_AT,
    PATIENT_COL_UPDATED_AT,
    PATIENT_COL_VERSION,
    PATIENT_COL_CREATED_BY,
    PATIENT_COL_UPDATED_BY,
    PATIENT_NCOLS
};

/* The columns after PATIENT_NCOLS of an audit history row. */
enum {
    PATIENT_HCOL_VERSION = PATIENT_NCOLS,
    PATIENT_HCOL_OPERATION, /* create, update, delete */
    PATIENT_HCOL_AT,
    PATIENT_HCOL_SUBJECT,
    PATIENT_HCOL_CLIENT,
    PATIENT_HCOL_REQUEST_ID
};

/* Who makes a write, as the gateway passed it (any may be NULL). */
typedef struct {
    const char *subject;    /* the token's sub */
    const char *client;     /* its azp */
    const char *request_id; /* X-Request-Id */
} patient_actor_t;

/* A validated request body.  Strings are borrowed from the JSON body. */
typedef struct {
    const char *name;
    const char *email;
    const char *address;
    const char *date_of_birth;
    const char *registered_date; /* NULL when absent */
} patient_input_t;

/*
 * Validates a body (already parsed) against the patient spec and the
 * cross-field rules; fills in on success.  Every problem is appended to
 * errors as {field, message}.  Returns the number of problems.
 */
size_t patient_validate(json_t *body, const char *today, patient_input_t *in,
    json_t *errors);

/*
 * The cross-field rule: a registration date is not before the birth date.
 * Both are YYYY-MM-DD; a NULL or malformed one is left to the field checks.
 * An update without registeredDate passes the stored one.  Returns the
 * number of problems appended to errors (0 or 1).
 */
size_t patient_check_dates(const char *date_of_birth,
    const char *registered_date, json_t *errors);

/* Returns a new reference: the API JSON of row r of res. */
json_t *patient_to_json(const PGresult *res, int r);

/* Returns a new reference: the API JSON of audit history row r of res
 * (version, operation, changedAt, actor, requestId, patient or null). */
json_t *patient_history_to_json(const PGresult *res, int r);

#endif

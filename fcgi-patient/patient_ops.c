/*
 * patient_ops.c -- creates, updates and deletes, each in one transaction
 * with its outbox event and its audit record (see patient_ops.h).  A
 * create calls billing first (idempotent by patient id): when billing is
 * down nothing is stored, and when the statement fails the account is
 * deleted again, so no account outlives a patient that was not stored.
 */
#include <stdlib.h>

#include "patient_ops.h"
#include "patient_outbox.h"
#include "patient_store.h"
#include "pms_log.h"
#include "pms_valid.h"

static void
ops_store_failed(patient_op_t *op, pms_status_t st)
{
    op->result = PATIENT_OP_STORE;
    op->st = st;
}

static void
ops_logged(const char *what, const char *id, const patient_actor_t *who)
{
    pms_log_fields(PMS_LOG_INFO,
        json_pack("{s:s, s:s?}", "patient_id", id, "client", who->client),
        "patient %s", what);
}

/*
 * The end of an update or delete whose statement returned st: its event
 * into the outbox and the commit, or a rollback and the failure.
 */
static void
ops_finish(patient_ctx_t *ctx, patient_op_t *op, pms_status_t st,
    const char *event, const char *what, const char *id,
    const patient_actor_t *who)
{
    if (st == PMS_OK) {
        st = patient_outbox_add(ctx->db, event, op->res);
    }
    if (st == PMS_OK) {
        st = pms_db_commit(ctx->db);
    }
    if (st != PMS_OK) {
        pms_db_rollback(ctx->db);
        PQclear(op->res); /* PQclear(NULL) is a no-op */
        op->res = NULL;
        ops_store_failed(op, st);
        return;
    }
    ops_logged(what, id, who);
}

patient_actor_t
patient_actor_of(pms_req_t *req)
{
    patient_actor_t who;
    const char     *subject = pms_req_param(req, "HTTP_X_AUTH_SUBJECT");
    const char     *client = pms_req_param(req, "HTTP_X_AUTH_CLIENT");

    who.subject = subject != NULL && subject[0] != '\0' ? subject : NULL;
    who.client = client != NULL && client[0] != '\0' ? client : NULL;
    who.request_id = pms_req_param(req, "HTTP_X_REQUEST_ID");
    return who;
}

/*
 * After the create statement failed: undo the billing account, unless the
 * failure was a lost connection and the patient may have been stored.
 * Then the row decides: found, it is the answer (*res, st PMS_OK); gone,
 * the account is undone; unknowable (the database stays down), the
 * account is kept and logged, since deleting it could orphan a patient.
 */
static pms_status_t
ops_create_failed(patient_ctx_t *ctx, const char *id, pms_status_t st,
    PGresult **res)
{
    pms_status_t found = PMS_NOT_FOUND;

    if (st == PMS_UNAVAILABLE) {
        found = patient_store_get(ctx->db, id, 0, res);
        if (found == PMS_OK) {
            return PMS_OK;
        }
        if (found != PMS_NOT_FOUND) {
            pms_log_fields(PMS_LOG_ERROR, json_pack("{s:s}", "patient_id", id),
                "the database went away during a create: its billing account"
                " is kept, to be reconciled");
            return st;
        }
    }
    (void) patient_billing_delete_account(ctx->billing, id);
    return st;
}

void
patient_op_create(patient_ctx_t *ctx, const patient_input_t *in,
    const patient_actor_t *who, char id[PMS_UUID_LEN + 1], patient_op_t *op)
{
    patient_event_t ev;
    char            account[128], today[11];
    const char     *registered;
    pms_status_t    st;

    op->result = PATIENT_OP_OK;
    op->res = NULL;
    if (pms_uuid_v4(id) != 0) {
        ops_store_failed(op, PMS_ERROR);
        return;
    }
    pms_today(today);
    registered = in->registered_date != NULL ? in->registered_date : today;
    if (patient_billing_create_account(ctx->billing, id, in->name, in->email,
            account, sizeof(account))
        != PMS_OK) {
        op->result = PATIENT_OP_BILLING_DOWN;
        return;
    }
    st = patient_event_make(&ev, "PATIENT_CREATED", id, in->name, in->email,
        registered);
    if (st == PMS_OK) {
        st = patient_store_create(ctx->db, id, in, registered,
            account[0] != '\0' ? account : NULL, who, &ev, &op->res);
    }
    patient_event_free(&ev);
    if (st == PMS_OK && PQntuples(op->res) == 0) { /* resent after a commit */
        PQclear(op->res);
        op->res = NULL;
        st = patient_store_get(ctx->db, id, 0, &op->res);
    }
    if (st != PMS_OK) {
        st = ops_create_failed(ctx, id, st, &op->res);
    }
    if (st != PMS_OK) {
        ops_store_failed(op, st);
        return;
    }
    ops_logged("created", id, who);
}

void
patient_op_update(patient_ctx_t *ctx, const char *id, const patient_input_t *in,
    const char *if_match, patient_match_fn match, const patient_actor_t *who,
    patient_op_t *op)
{
    PGresult    *cur;
    pms_status_t st;

    op->result = PATIENT_OP_OK;
    op->res = NULL;
    if ((st = pms_db_begin(ctx->db)) != PMS_OK) {
        ops_store_failed(op, st);
        return;
    }
    if ((st = patient_store_get(ctx->db, id, 1, &cur)) != PMS_OK) {
        pms_db_rollback(ctx->db);
        ops_store_failed(op, st);
        return;
    }
    if (in->registered_date == NULL
        && patient_check_dates(in->date_of_birth,
               PQgetvalue(cur, 0, PATIENT_COL_REGISTERED), NULL)
            != 0) {
        op->result = PATIENT_OP_DATES;
    } else if (!match(if_match,
                   atol(PQgetvalue(cur, 0, PATIENT_COL_VERSION)))) {
        op->result = PATIENT_OP_STALE;
    }
    if (op->result != PATIENT_OP_OK) {
        pms_db_rollback(ctx->db);
        op->res = cur; /* the current row, for its ETag */
        return;
    }
    PQclear(cur);
    st = patient_store_update(ctx->db, id, in, who, &op->res);
    ops_finish(ctx, op, st, "PATIENT_UPDATED", "updated", id, who);
}

/* With an If-Match, the row is locked and its version checked first:
 * 0 to go on, or -1 with op filled (and the transaction rolled back). */
static int
ops_delete_match(patient_ctx_t *ctx, const char *id, const char *if_match,
    patient_match_fn match, patient_op_t *op)
{
    PGresult    *cur;
    pms_status_t st;

    if (if_match == NULL) {
        return 0;
    }
    if ((st = patient_store_get(ctx->db, id, 1, &cur)) != PMS_OK) {
        pms_db_rollback(ctx->db);
        ops_store_failed(op, st);
        return -1;
    }
    if (!match(if_match, atol(PQgetvalue(cur, 0, PATIENT_COL_VERSION)))) {
        pms_db_rollback(ctx->db);
        op->result = PATIENT_OP_STALE;
        op->res = cur;
        return -1;
    }
    PQclear(cur);
    return 0;
}

void
patient_op_delete(patient_ctx_t *ctx, const char *id, const char *if_match,
    patient_match_fn match, const patient_actor_t *who, patient_op_t *op)
{
    pms_status_t st;

    op->result = PATIENT_OP_OK;
    op->res = NULL;
    if ((st = pms_db_begin(ctx->db)) != PMS_OK) {
        ops_store_failed(op, st);
        return;
    }
    if (ops_delete_match(ctx, id, if_match, match, op) != 0) {
        return;
    }
    st = patient_store_delete(ctx->db, id, who, &op->res);
    ops_finish(ctx, op, st, "PATIENT_DELETED", "deleted", id, who);
}

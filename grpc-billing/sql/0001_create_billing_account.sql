-- 0001: one billing account per patient.  The unique patient_id makes
-- CreateBillingAccount idempotent: a repeated request finds the same row.
CREATE TABLE billing_account (
    account_id  uuid        PRIMARY KEY,
    patient_id  uuid        NOT NULL UNIQUE,
    name        text        NOT NULL,
    email       text        NOT NULL,
    status      text        NOT NULL DEFAULT 'ACTIVE',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- 0001: the patient table.  Email uniqueness is case-insensitive and
-- enforced by a unique index, so concurrent creates cannot both win.
CREATE TABLE patient (
    id                 uuid         PRIMARY KEY,
    name               varchar(100) NOT NULL,
    email              varchar(254) NOT NULL,
    address            varchar(255) NOT NULL,
    date_of_birth      date         NOT NULL,
    registered_date    date         NOT NULL,
    billing_account_id text,
    version            integer      NOT NULL DEFAULT 1,
    created_at         timestamptz  NOT NULL DEFAULT now(),
    updated_at         timestamptz  NOT NULL DEFAULT now(),
    created_by         text,
    updated_by         text
);

CREATE UNIQUE INDEX patient_email_lower_key ON patient (lower(email));
CREATE INDEX patient_name_order ON patient (lower(name), id);

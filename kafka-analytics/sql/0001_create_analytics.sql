-- 0001: what pms-analytics keeps.  event holds each PatientEvent once
-- (deduplicated by event_id); the aggregate tables are updated in the
-- same statement as the insert, so they count each event exactly once.
CREATE TABLE event (
    event_id         text        PRIMARY KEY,
    patient_id       text        NOT NULL,
    event_type       text        NOT NULL,
    occurred_at      text,
    registered_date  date,
    kafka_partition  integer     NOT NULL,
    kafka_offset     bigint      NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_patient ON event (patient_id);

CREATE TABLE events_by_type (
    event_type text   PRIMARY KEY,
    count      bigint NOT NULL
);

CREATE TABLE registrations_by_day (
    day   date   PRIMARY KEY,
    count bigint NOT NULL
);

CREATE TABLE registered_patient (
    patient_id text PRIMARY KEY
);

-- Messages that did not decode as a PatientEvent: kept, never retried.
CREATE TABLE undecodable (
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    payload         bytea       NOT NULL,
    error           text        NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kafka_partition, kafka_offset)
);

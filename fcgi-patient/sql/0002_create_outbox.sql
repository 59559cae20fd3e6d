-- 0002: the transactional outbox.  Each patient write adds its serialized
-- PatientEvent here in the same transaction; pms-relay publishes rows in
-- seq order and sets published_at only after Kafka acknowledged them.
CREATE TABLE outbox (
    seq          bigserial    PRIMARY KEY,
    event_id     uuid         NOT NULL UNIQUE,
    patient_id   uuid         NOT NULL,
    event_type   text         NOT NULL,
    payload      bytea        NOT NULL,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    published_at timestamptz
);

CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;

-- Wake the relay when a transaction with new rows commits.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- What the relay last measured on the Kafka side, for /health.
CREATE TABLE relay_status (
    id           integer      PRIMARY KEY CHECK (id = 1),
    consumer_lag bigint,
    measured_at  timestamptz  NOT NULL
);

-- 0008: the audit history.  Every create, update and delete of a patient
-- appends, in the same statement as the write, one version record: the
-- stored row after the change (NULL for a delete: a tombstone), when, who
-- (the token's subject and client as the gateway passed them) and which
-- request.  Records are chained: each one's hash covers its content and
-- the hash of the version before it, so an edit made behind the service's
-- back (by a superuser) shows in patient_history_verify().  The service
-- may only append: UPDATE, DELETE and TRUNCATE are refused by triggers.
CREATE TABLE patient_history (
    patient_id    uuid         NOT NULL,
    version       integer      NOT NULL CHECK (version >= 1),
    operation     text         NOT NULL
                               CHECK (operation IN ('create', 'update', 'delete')),
    resource      jsonb        CHECK ((resource IS NULL) = (operation = 'delete')),
    changed_at    timestamptz  NOT NULL DEFAULT now(),
    actor_subject text,
    actor_client  text,
    request_id    text,
    hash          bytea        NOT NULL,
    PRIMARY KEY (patient_id, version)
);

-- What a record's hash covers, given the hash of the record before it.
CREATE FUNCTION patient_history_digest(prev bytea, h patient_history)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(coalesce(prev, ''::bytea) || convert_to(concat_ws(E'\x1f',
        h.patient_id::text, h.version::text, h.operation, h.resource::text,
        to_char(h.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        h.actor_subject, h.actor_client, h.request_id), 'UTF8'))
$$;

-- Patients stored before this migration get their current state as their
-- first record (at their current version), so every patient has a history.
INSERT INTO patient_history (patient_id, version, operation, resource,
        changed_at, actor_client, hash)
    SELECT p.id, p.version, CASE WHEN p.version = 1 THEN 'create' ELSE 'update' END,
           to_jsonb(p) - 'search', p.updated_at, p.updated_by, ''::bytea
    FROM patient p;
UPDATE patient_history h SET hash = patient_history_digest(NULL, h);

-- On append: versions follow each other without a gap, and the hash is
-- computed here, never taken from the writer.
CREATE FUNCTION patient_history_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev patient_history;
BEGIN
    SELECT * INTO prev FROM patient_history
        WHERE patient_id = NEW.patient_id ORDER BY version DESC LIMIT 1;
    -- a patient's first record may have any version (a row written by SQL,
    -- not through the service, has none before its first change)
    IF prev.version IS NOT NULL AND NEW.version <> prev.version + 1 THEN
        RAISE EXCEPTION 'patient_history: version % of % does not follow %',
            NEW.version, NEW.patient_id, prev.version;
    END IF;
    NEW.hash := patient_history_digest(prev.hash, NEW);
    RETURN NEW;
END $$;

CREATE TRIGGER patient_history_append BEFORE INSERT ON patient_history
    FOR EACH ROW EXECUTE FUNCTION patient_history_append();

CREATE FUNCTION patient_history_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'patient_history is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER patient_history_no_update BEFORE UPDATE OR DELETE ON patient_history
    FOR EACH ROW EXECUTE FUNCTION patient_history_refuse();
CREATE TRIGGER patient_history_no_truncate BEFORE TRUNCATE ON patient_history
    FOR EACH STATEMENT EXECUTE FUNCTION patient_history_refuse();

-- true when every record of the patient hashes to what is stored.
CREATE FUNCTION patient_history_verify(pid uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    h    patient_history;
    prev bytea;
BEGIN
    FOR h IN SELECT * FROM patient_history WHERE patient_id = pid ORDER BY version LOOP
        IF h.hash <> patient_history_digest(prev, h) THEN
            RETURN false;
        END IF;
        prev := h.hash;
    END LOOP;
    RETURN true;
END $$;


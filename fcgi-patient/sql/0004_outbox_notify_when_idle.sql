-- 0004: notify the relay only while it is asleep.  pg_notify makes each
-- committing transaction queue for one database-wide lock, so a NOTIFY
-- per patient write serialised every commit behind the previous one's
-- WAL flush (no group commit).  pms-relay now records whether it waits
-- for a notification; while it is awake it polls the outbox itself, and
-- writers skip the NOTIFY.  A write that races with the relay falling
-- asleep is still found by the relay's re-check or its periodic sweep.
CREATE TABLE relay_wait (
    id      integer PRIMARY KEY CHECK (id = 1),
    waiting boolean NOT NULL
);
INSERT INTO relay_wait VALUES (1, true);

CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT waiting FROM relay_wait WHERE id = 1) THEN
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN NULL;
END $$;

-- 0005: the database itself refuses a registration date before the birth
-- date.  NOT VALID: rows stored before this rule do not block the upgrade,
-- but every insert and update from now on is checked.
ALTER TABLE patient ADD CONSTRAINT patient_registered_after_birth
    CHECK (registered_date >= date_of_birth) NOT VALID;

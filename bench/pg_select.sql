-- pgbench baseline: the primary-key select of GET /api/patients/{id},
-- same columns and formatting (pms_iso() is the service's to_char(),
-- wrapped because pgbench would read its ":MI" as a variable).
\set n random(1, 10000)
SELECT id::text, name, email, address, to_char(date_of_birth, 'YYYY-MM-DD'),
    to_char(registered_date, 'YYYY-MM-DD'), billing_account_id,
    pms_iso(created_at), pms_iso(updated_at),
    version::text, created_by, updated_by
FROM patient WHERE id = md5('pms-bench-' || :n)::uuid;

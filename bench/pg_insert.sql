-- pgbench baseline: the single-row insert pms-patient performs on create.
INSERT INTO patient (id, name, email, address, date_of_birth,
    registered_date, created_by, updated_by)
VALUES (gen_random_uuid(), 'Bench Patient', gen_random_uuid()::text || '@pg.example.com',
    '1 Load Street', '1980-01-02', (now() AT TIME ZONE 'UTC')::date, 'bench', 'bench');

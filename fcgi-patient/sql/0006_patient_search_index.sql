-- 0006: search that does not scan the table.  "search" holds the lower-
-- cased name and email, separated by U+001F (which a search text may not
-- contain, so no match spans the two); a trigram GIN index serves
-- substring search on it with a plain LIKE, and the name-order index
-- carries it too, so a common fragment is found by walking that index
-- alone, in list order.  Exact email uses patient_email_lower_key;
-- birthDate has its own index.  pg_trgm is a trusted extension: the
-- database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE patient ADD COLUMN search text
    GENERATED ALWAYS AS (lower(name) || E'\x1f' || lower(email)) STORED;
CREATE INDEX patient_search_trgm ON patient USING gin (search gin_trgm_ops);
DROP INDEX patient_name_order;
CREATE INDEX patient_name_order ON patient (lower(name), id)
    INCLUDE (name, search);
CREATE INDEX patient_birth_date ON patient (date_of_birth);

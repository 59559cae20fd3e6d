-- 0003: let the unfiltered list skip rows in an index-only scan: the
-- ordering index also carries name, so no heap visit is needed for the
-- rows before the requested page.
DROP INDEX patient_name_order;
CREATE INDEX patient_name_order ON patient (lower(name), id) INCLUDE (name);

-- Row-level security (issue 20) is a PostgreSQL feature: PostgreSQL's 0008 enables it on
-- every Paddock table. SQLite has no roles; this migration keeps the two ledgers' numbers
-- in step and changes nothing.
SELECT 1;

-- Row-level security on every table Paddock has created (issue 20). Managed PostgreSQL
-- (Supabase above all) exposes every table of an exposed schema to its `anon` and
-- `authenticated` roles; with RLS enabled and no policy those roles read and write nothing.
-- Paddock connects as the tables' owner, which RLS does not restrict (no FORCE). Readers are
-- let in by `paddock grants --reader ROLE` (a SELECT grant and a read policy per table).
--
-- By pattern rather than a list, so the legacy (`ra_*`) and archived (`ra_old_*`) names of a
-- database part-way through the rename are covered too; tables created later by Paddock get
-- it from the store (`ToolDialect::enable_row_level_security_sql`).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.relname
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = current_schema()::regnamespace
           AND c.relkind IN ('r', 'p')
           AND NOT c.relrowsecurity
           AND (c.relname LIKE 'ra\_%' OR c.relname LIKE 'paddock\_%'
                OR c.relname = '_sqlx_migrations')
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.relname);
    END LOOP;
END
$$;

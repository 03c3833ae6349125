//! The full rebuild's staging on PostgreSQL: each table is filled as a new table without
//! indexes or constraints, then gets them all at once (an index built by one sort, a foreign key
//! checked by one join: no per-row index maintenance or key check), and is swapped in for the
//! live table by the rebuild's own transaction. The staged tables are created, filled, indexed
//! ([`index`]) and dressed by jobs on connections of their own (`super::together`), each
//! committed: they are
//! created with row-level security on and no policy, so no role but their owner reads them
//! before [`dress`] gives them the live table's security and exactly its privileges. Readers
//! keep reading the old rows until the rebuild's commit and are blocked only by the swap itself
//! (the `DROP`/`RENAME` at the end), never for the length of the rebuild: the swap takes the
//! live table with `NOWAIT` (a few tries), and while a reader's transaction still holds it the
//! table is refilled in place instead.
//!
//! The swap carries what the live table has: its indexes and constraints (under their own
//! names), row-level security and its policies, its privileges, its comment and its
//! publications (Supabase's realtime). A table something else depends on (a reader's view, a
//! trigger of its own, a rule, another table's foreign key) cannot be dropped without breaking
//! it: that table is refilled in place instead, from the staged rows, in the same transaction
//! (readers still see the old rows until the commit).
//!
//! SQLite needs no staging: a write transaction's changes are invisible to readers (WAL) until
//! the commit. Its rebuild drops each table and creates it again from its own definition
//! ([`Recreated`], read from `sqlite_master`: the table, then after the load its indexes and
//! triggers), because a `DELETE` of every row goes row by row through every index on a table
//! with foreign keys (measured: 6.8 s for the combinations at 1.3 M runners).

use std::collections::BTreeMap;

/// What a staged table's name ends with.
const STAGED_SUFFIX: &str = "__rebuild";

/// The name a table is staged under while the rebuild fills it.
pub(super) fn staged_name(physical: &str) -> String {
    format!("{physical}{STAGED_SUFFIX}")
}

/// The staged copy of `physical`: its columns and defaults, nothing else. Row-level security
/// is on from the start, with no policy: the staged table is committed while other connections
/// fill it, and a role that new tables give privileges to (Supabase's `anon`, through its
/// default privileges) must not read it before [`dress`] gives it the live table's own.
pub(super) fn create_staged(physical: &str) -> [String; 3] {
    let staged = staged_name(physical);
    [
        drop_staged(physical),
        format!("CREATE TABLE {staged} (LIKE {physical} INCLUDING DEFAULTS)"),
        format!("ALTER TABLE {staged} ENABLE ROW LEVEL SECURITY"),
    ]
}

/// Drops `physical`'s staged copy, if any (one a failed or killed rebuild left).
pub(super) fn drop_staged(physical: &str) -> String {
    format!("DROP TABLE IF EXISTS {}", staged_name(physical))
}

/// Counts the live rows the swap replaces (the ledger's "deleted"; a `SELECT`).
pub(super) fn count_replaced(physical: &str) -> String {
    format!("SELECT COUNT(*) FROM {physical}")
}

/// The block that builds part `part` of `parts` of the loaded staged table's indexes: each of
/// the live table's indexes, those of its primary key and unique constraints included, built
/// once over the loaded rows under a temporary name (`paddock_rebuild_<kind><oid>`, from the
/// live object's OID, until [`swap_in`] renames it: index names are unique per schema).
/// `CREATE INDEX` takes a lock that lets readers and other index builds of the same table go
/// on, so the parts run side by side, and the bookkeeping's indexes are built while the
/// groups are counted from it. Nothing when something depends on the live table ([`swap_in`]
/// then refills it in place).
pub(super) fn index(physical: &str, part: usize, parts: usize) -> String {
    with_part(INDEX_BLOCK, physical, part, parts)
}

/// The block that adds part `part` of `parts` of the live table's foreign keys to the loaded
/// staged table, each checked by one join. Adding one locks the table it references against
/// writes until the job commits: one key per job lets the keys of different tables to
/// different masters be checked side by side. Nothing when something depends on the live
/// table.
pub(super) fn foreign_key(physical: &str, part: usize, parts: usize) -> String {
    with_part(FOREIGN_KEY_BLOCK, physical, part, parts)
}

/// The block that gives the indexed staged table ([`index`]) everything else the live one
/// has but its foreign keys ([`foreign_key`]): its primary key and unique constraints (on the
/// indexes built for them), exclusion and check constraints, row-level security and its
/// policies, exactly its privileges, its comment and its publications. Nothing when something
/// depends on the live table.
pub(super) fn dress(physical: &str) -> String {
    with_names(DRESS_BLOCK, physical)
}

/// The block that swaps the dressed staged table in for the live one, or, when something
/// depends on the live table or a reader holds it, refills the live table from it.
pub(super) fn swap_in(physical: &str) -> String {
    with_names(SWAP_BLOCK, physical)
}

fn with_names(block: &str, physical: &str) -> String {
    let staged = staged_name(physical);
    (block.replace("{guarded}", GUARDED))
        .replace("{depends}", DEPENDS)
        .replace("{live}", physical)
        .replace("{staged}", &staged)
}

/// A block that does part `part` of `parts` of a table's work (its `n`-th item when
/// `(n - 1) % parts = part`).
fn with_part(block: &str, physical: &str, part: usize, parts: usize) -> String {
    with_names(block, physical)
        .replace("{part}", &part.to_string())
        .replace("{parts}", &parts.to_string())
}

/// The start of the index, foreign-key and dress blocks: the live and staged tables, and
/// nothing done when something depends on the live table ([`swap_in`] then refills it in
/// place).
const GUARDED: &str = "DECLARE
  live regclass := '{live}'::regclass;
  staged regclass := '{staged}'::regclass;
  r record;
BEGIN
  IF {depends} THEN
    RETURN;
  END IF;";

/// Whether something depends on the live table that dropping it would break: a view or rule,
/// another table's foreign key, a trigger of its own, inheritance.
const DEPENDS: &str = "EXISTS (SELECT 1 FROM pg_depend d WHERE d.refobjid = live
               AND d.classid = 'pg_rewrite'::regclass AND d.deptype = 'n')
     OR EXISTS (SELECT 1 FROM pg_rewrite w WHERE w.ev_class = live)
     OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.confrelid = live)
     OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = live AND NOT t.tgisinternal)
     OR EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhparent = live OR h.inhrelid = live)";

const INDEX_BLOCK: &str = r#"DO $index$
{guarded}
  FOR r IN SELECT i.name, i.def, i.is_unique FROM (
             SELECT CASE WHEN c.oid IS NULL THEN 'paddock_rebuild_i' || x.indexrelid
                         ELSE 'paddock_rebuild_c' || c.oid END AS name,
                    pg_get_indexdef(x.indexrelid) AS def, x.indisunique AS is_unique,
                    c.contype, row_number() OVER (ORDER BY x.indexrelid) AS n
             FROM pg_index x
             LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = live
               AND c.contype IN ('p', 'u', 'x')
             WHERE x.indrelid = live) i
           WHERE (i.contype IS NULL OR i.contype IN ('p', 'u')) AND (i.n - 1) % {parts} = {part} LOOP
    EXECUTE format('CREATE %sINDEX %I ON %s USING %s',
                   CASE WHEN r.is_unique THEN 'UNIQUE ' ELSE '' END, r.name, staged,
                   substring(r.def FROM ' USING (.*)$'));
  END LOOP;
END
$index$"#;

const FOREIGN_KEY_BLOCK: &str = r#"DO $foreign_key$
{guarded}
  FOR r IN SELECT k.name, k.def FROM (
             SELECT c.conname::text AS name, pg_get_constraintdef(c.oid) AS def,
                    row_number() OVER (ORDER BY c.conname) AS n
             FROM pg_constraint c WHERE c.conrelid = live AND c.contype = 'f') k
           WHERE (k.n - 1) % {parts} = {part} LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', staged, r.name, r.def);
  END LOOP;
END
$foreign_key$"#;

const DRESS_BLOCK: &str = r#"DO $dress$
{guarded}
  -- The table's lock before its catalogue row is touched (by a grant below): autovacuum,
  -- analysing the committed staged table, holds a weaker lock and then updates that row, and
  -- the other order would leave each waiting for the other.
  EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', staged);
  -- Primary key and unique constraints on the indexes built for them (a moment each);
  -- exclusion constraints, which cannot take an index, built here.
  FOR r IN SELECT c.oid, c.contype, c.condeferrable, c.condeferred,
                  pg_get_constraintdef(c.oid) AS def
           FROM pg_constraint c WHERE c.conrelid = live AND c.contype IN ('p', 'u', 'x') LOOP
    IF r.contype = 'x' THEN
      EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', staged,
                     'paddock_rebuild_c' || r.oid, r.def);
    ELSE
      EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s USING INDEX %I%s', staged,
                     'paddock_rebuild_c' || r.oid,
                     CASE r.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END,
                     'paddock_rebuild_c' || r.oid,
                     CASE WHEN NOT r.condeferrable THEN ''
                          WHEN r.condeferred THEN ' DEFERRABLE INITIALLY DEFERRED'
                          ELSE ' DEFERRABLE INITIALLY IMMEDIATE' END);
    END IF;
  END LOOP;
  -- Check constraints, each checked once (names are per table: kept).
  FOR r IN SELECT c.conname::text AS name, pg_get_constraintdef(c.oid) AS def
           FROM pg_constraint c WHERE c.conrelid = live AND c.contype = 'c'
           ORDER BY c.conname LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', staged, r.name, r.def);
  END LOOP;
  -- Row-level security and its policies (on since the staged table was created).
  IF NOT (SELECT relrowsecurity FROM pg_class WHERE oid = live) THEN
    EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', staged);
  END IF;
  IF (SELECT relforcerowsecurity FROM pg_class WHERE oid = live) THEN
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', staged);
  END IF;
  FOR r IN SELECT p.polname::text AS name, p.polpermissive AS permissive,
                  CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                    WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
                  CASE WHEN p.polroles = '{0}' THEN 'PUBLIC' ELSE array_to_string(ARRAY(
                    SELECT quote_ident(a.rolname) FROM pg_roles a
                    WHERE a.oid = ANY (p.polroles) ORDER BY 1), ', ') END AS roles,
                  pg_get_expr(p.polqual, p.polrelid) AS qual,
                  pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
           FROM pg_policy p WHERE p.polrelid = live LOOP
    EXECUTE format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', r.name, staged,
                   CASE WHEN r.permissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, r.cmd,
                   r.roles,
                   CASE WHEN r.qual IS NULL THEN '' ELSE ' USING (' || r.qual || ')' END,
                   CASE WHEN r.with_check IS NULL THEN ''
                        ELSE ' WITH CHECK (' || r.with_check || ')' END);
  END LOOP;
  -- Exactly the live table's privileges: none of those a new table got by default privileges.
  FOR r IN SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
           WHERE c.oid = staged AND a.grantee <> c.relowner LOOP
    EXECUTE format('REVOKE ALL ON %s FROM %s', staged,
                   CASE WHEN r.grantee = 0 THEN 'PUBLIC'
                        ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
  END LOOP;
  FOR r IN SELECT a.privilege_type, a.grantee, a.is_grantable
           FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = live LOOP
    EXECUTE format('GRANT %s ON %s TO %s%s', r.privilege_type, staged,
                   CASE WHEN r.grantee = 0 THEN 'PUBLIC'
                        ELSE quote_ident(pg_get_userbyid(r.grantee)) END,
                   CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  IF obj_description(live, 'pg_class') IS NOT NULL THEN
    EXECUTE format('COMMENT ON TABLE %s IS %L', staged, obj_description(live, 'pg_class'));
  END IF;
  FOR r IN SELECT pub.pubname::text AS name FROM pg_publication_rel pr
           JOIN pg_publication pub ON pub.oid = pr.prpubid WHERE pr.prrelid = live LOOP
    EXECUTE format('ALTER PUBLICATION %I ADD TABLE %s', r.name, staged);
  END LOOP;
END
$dress$"#;

const SWAP_BLOCK: &str = r#"DO $swap$
DECLARE
  live regclass := '{live}'::regclass;
  staged regclass := '{staged}'::regclass;
  r record;
  renames text[] := '{}';
  i int;
  in_place boolean := {depends};
BEGIN
  -- The temporary names the dressing gave (from the live objects' OIDs), to take back.
  FOR r IN SELECT 'paddock_rebuild_c' || c.oid AS temporary, c.conname::text AS name
           FROM pg_constraint c WHERE c.conrelid = live AND c.contype IN ('p', 'u', 'x') LOOP
    renames := renames || ARRAY[r.temporary, r.name, 'constraint'];
  END LOOP;
  FOR r IN SELECT 'paddock_rebuild_i' || x.indexrelid AS temporary, ic.relname::text AS name
           FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
           WHERE x.indrelid = live
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid
                               AND c.conrelid = live) LOOP
    renames := renames || ARRAY[r.temporary, r.name, 'index'];
  END LOOP;
  -- A staged table left bare (something depended on the live table when it was dressed) or
  -- dressed for other indexes or constraints than the live table has now is refilled from,
  -- not swapped in.
  i := 1;
  WHILE i <= coalesce(array_length(renames, 1), 0) LOOP
    IF renames[i + 2] = 'constraint' THEN
      IF NOT EXISTS (SELECT 1 FROM pg_constraint c
                     WHERE c.conrelid = staged AND c.conname = renames[i]) THEN
        in_place := true;
      END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
                      WHERE x.indrelid = staged AND ic.relname = renames[i]) THEN
      in_place := true;
    END IF;
    i := i + 3;
  END LOOP;
  -- …or lacking one of the live table's constraints (a foreign key, a check).
  IF (SELECT COUNT(*) FROM pg_constraint WHERE conrelid = staged)
     <> (SELECT COUNT(*) FROM pg_constraint WHERE conrelid = live) THEN
    in_place := true;
  END IF;
  IF NOT in_place THEN
  -- The swap needs the live table to itself for a moment. Never queue for it (readers would
  -- queue behind): a few quick tries, then, if a reader still holds it, refill in place.
  FOR attempt IN 1..10 LOOP
    BEGIN
      EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', live);
      EXIT;
    EXCEPTION WHEN lock_not_available THEN
      IF attempt = 10 THEN
        in_place := true;
      ELSE
        PERFORM pg_sleep(0.1);
      END IF;
    END;
  END LOOP;
  END IF;
  IF in_place THEN
    -- Something depends on the table, or a reader holds it: refill it in place (still one
    -- transaction; readers see the old rows until the commit).
    EXECUTE format('DELETE FROM %s', live);
    EXECUTE format('INSERT INTO %s SELECT * FROM %s', live, staged);
    EXECUTE format('DROP TABLE %s', staged);
    -- The next incremental update's plans need the refilled table's statistics.
    EXECUTE format('ANALYZE %s', live);
    RETURN;
  END IF;
  EXECUTE format('DROP TABLE %s', live);
  EXECUTE format('ALTER TABLE %s RENAME TO %I', staged, '{live}');
  i := 1;
  WHILE i <= coalesce(array_length(renames, 1), 0) LOOP
    IF renames[i + 2] = 'constraint' THEN
      EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', '{live}', renames[i],
                     renames[i + 1]);
    ELSE
      EXECUTE format('ALTER INDEX %I RENAME TO %I', renames[i], renames[i + 1]);
    END IF;
    i := i + 3;
  END LOOP;
END
$swap$"#;

/// SQLite: how to drop and create again each table the full rebuild refills, read from
/// `sqlite_master` before the plan is made ([`Recreated::query`]). A table absent from it (one
/// another table's foreign key references: dropping it would delete row by row and check that
/// key) is emptied with `DELETE` instead.
#[derive(Debug, Clone, Default)]
pub struct Recreated(BTreeMap<String, Definition>);

/// One table's definition: its `CREATE TABLE`, then its indexes' and triggers' statements.
#[derive(Debug, Clone)]
struct Definition {
    create_table: String,
    after_load: Vec<String>,
}

impl Recreated {
    /// The `sqlite_master` rows (`type`, `sql`) of `table`, for [`Recreated::add`], or none when
    /// another table's foreign key references it; the parameter is the table's name.
    pub(super) fn query() -> &'static str {
        "SELECT m.type, m.sql FROM sqlite_master m WHERE m.tbl_name = ?1 AND m.sql IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM sqlite_master o, pragma_foreign_key_list(o.name) f \
         WHERE o.type = 'table' AND f.\"table\" = ?1) \
         ORDER BY CASE m.type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, m.name"
    }

    /// Records `table`'s definition from the rows [`Recreated::query`] gave (`type`, `sql`).
    pub(super) fn add(&mut self, table: &str, rows: Vec<(String, String)>) {
        let mut rows = rows.into_iter();
        if let Some((kind, create)) = rows.next() {
            if kind == "table" {
                let after_load = rows.map(|(_, sql)| sql).collect();
                let definition = Definition {
                    create_table: create,
                    after_load,
                };
                self.0.insert(table.to_string(), definition);
            }
        }
    }

    /// The statements that empty `table` before the load: dropped and created bare, or (not
    /// recorded) a `DELETE`.
    pub(super) fn before_load(&self, table: &str) -> Vec<String> {
        match self.0.get(table) {
            Some(d) => vec![format!("DROP TABLE {table}"), d.create_table.clone()],
            None => vec![format!("DELETE FROM {table}")],
        }
    }

    /// The statements that give `table` its indexes and triggers back after the load.
    pub(super) fn after_load(&self, table: &str) -> Vec<String> {
        (self.0.get(table)).map_or_else(Vec::new, |d| d.after_load.clone())
    }
}

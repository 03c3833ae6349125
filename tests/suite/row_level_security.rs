//! Row-level security and reader roles on PostgreSQL (issue 20): after `migrate` every table
//! Paddock created has RLS on, and so do the tables the rename creates later; a role without
//! grants — or with Supabase's blanket grants — reads and writes nothing; `paddock grants
//! --reader` lets a role read the data tables (and the rename's new tables) but not write,
//! `--revoke` takes it back, `--dry-run` changes nothing; Supabase's linter checks
//! (`rls_disabled_in_public`, `policy_exists_rls_disabled`, `security_definer_view`), written
//! here as queries of our own, find nothing on a database walked to the rename's deprecate
//! phase with compatibility views. SQLite refuses `grants` clearly.

use crate::support::{fresh_postgres_database, test_options, Backend, PgTestDatabase, TestDb};
use chrono::Utc;
use paddock::grants::{self, GrantRequest, ReaderRole};
use paddock::rename;
use paddock::store::{AnyStore, PgStore};
use sqlx::{Connection, PgConnection};
use std::sync::atomic::{AtomicUsize, Ordering};

static ROLE_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A role name of this test's own: roles belong to the whole cluster, which tests share.
fn unique_role(prefix: &str) -> String {
    let seq = ROLE_SEQ.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}_{}_{seq}", std::process::id())
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.expect("connect as owner")
}

async fn exec(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Creates NOLOGIN role `name` unless it exists (tests creating it at once included).
async fn ensure_role(conn: &mut PgConnection, name: &str, options: &str) {
    exec(
        conn,
        &format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN \
                 CREATE ROLE \"{name}\" NOLOGIN {options}; \
               END IF; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ),
    )
    .await;
}

/// Drops the role's privileges in this database, then the role (best effort).
async fn drop_role(conn: &mut PgConnection, name: &str) {
    let _ = sqlx::raw_sql(&format!("DROP OWNED BY \"{name}\"; DROP ROLE \"{name}\""))
        .execute(&mut *conn)
        .await;
}

/// Runs `sql` as `role` (`SET LOCAL ROLE` in a transaction that is rolled back); the first
/// column of the first row as an integer, if any.
async fn as_role(url: &str, role: &str, sql: &str) -> Result<Option<i64>, sqlx::Error> {
    let mut conn = connect(url).await;
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(&format!("SET LOCAL ROLE \"{role}\""))
        .execute(&mut *tx)
        .await?;
    let outcome = sqlx::query_scalar::<_, i64>(sql)
        .fetch_optional(&mut *tx)
        .await;
    tx.rollback().await?;
    outcome
}

/// Whether `sql` run as `role` is refused for lack of a privilege or by a policy.
async fn refused(url: &str, role: &str, sql: &str) -> bool {
    match as_role(url, role, sql).await {
        Ok(_) => false,
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains("permission denied") || text.contains("row-level security"),
                "{sql} as {role} failed for another reason: {text}"
            );
            true
        }
    }
}

/// Every table of the current schema without row-level security.
async fn unsecured_tables(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') \
         AND NOT c.relrowsecurity ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

async fn table_count(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_class c \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

/// A migrated PostgreSQL database with one region written by the owner.
async fn migrated_with_a_row() -> (AnyStore, PgTestDatabase) {
    let database = fresh_postgres_database().await;
    let store = PgStore::connect(&database.url, &test_options())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mut owner = connect(&database.url).await;
    exec(
        &mut owner,
        "INSERT INTO ra_regions (code, name, created_at, updated_at) \
         VALUES ('gb', 'Great Britain', now(), now())",
    )
    .await;
    (AnyStore::Postgres(store), database)
}

fn request(role: &str, revoke: bool) -> GrantRequest {
    GrantRequest {
        reader: ReaderRole::parse(role).unwrap(),
        revoke,
        include_internal: false,
    }
}

/// Every table's ACL, the policies and the default privileges: what `grants` changes.
async fn privileges_snapshot(conn: &mut PgConnection) -> String {
    sqlx::query_scalar(
        "SELECT concat_ws(' | ', \
           (SELECT string_agg(relname || '=' || coalesce(relacl::text, '-'), ',' ORDER BY relname) \
              FROM pg_class WHERE relnamespace = current_schema()::regnamespace), \
           (SELECT string_agg(polname || '@' || polrelid::regclass::text, ',' ORDER BY 1) \
              FROM pg_policy), \
           (SELECT string_agg(defaclacl::text, ',' ORDER BY 1) FROM pg_default_acl), \
           (SELECT coalesce(nspacl::text, '-') FROM pg_namespace \
              WHERE oid = current_schema()::regnamespace))",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_table_has_row_level_security_after_migrate() {
    let db = TestDb::new(Backend::Postgres).await;
    let mut owner = connect(&db.url()).await;
    assert!(
        table_count(&mut owner).await >= 25,
        "the migrations' tables"
    );
    assert_eq!(unsecured_tables(&mut owner).await, Vec::<String>::new());
    let forced: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace \
         AND relforcerowsecurity",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        forced, 0,
        "the owner (Paddock) stays unrestricted: no FORCE"
    );
}

#[tokio::test]
async fn the_renames_new_tables_get_row_level_security_and_the_readers_policies() {
    let database = fresh_postgres_database().await;
    let store = AnyStore::Postgres(
        PgStore::connect(&database.url, &test_options())
            .await
            .unwrap(),
    );
    rename::migrate_legacy_names(&store, Utc::now())
        .await
        .unwrap();
    let mut owner = connect(&database.url).await;
    let reader = unique_role("rls_reader");
    ensure_role(&mut owner, &reader, "").await;
    grants::grants(&store, &request(&reader, false), false)
        .await
        .unwrap();
    rename::begin(&store, Utc::now()).await.unwrap();
    assert_eq!(
        rename::stored_phase(&store).await.unwrap(),
        Some(rename::Phase::DualWrite)
    );
    assert_eq!(unsecured_tables(&mut owner).await, Vec::<String>::new());
    exec(
        &mut owner,
        "INSERT INTO ra_mst_courses (id, name, created_at, updated_at) \
         VALUES ('crs_1', 'Ascot', now(), now())",
    )
    .await;
    let sql = "SELECT COUNT(*) FROM ra_mst_courses";
    assert_eq!(as_role(&database.url, &reader, sql).await.unwrap(), Some(1));
    drop_role(&mut owner, &reader).await;
}

#[tokio::test]
async fn a_role_without_grants_reads_nothing_even_with_blanket_table_privileges() {
    let (_store, database) = migrated_with_a_row().await;
    let mut owner = connect(&database.url).await;
    let (bare, blanket) = (unique_role("rls_bare"), unique_role("rls_blanket"));
    ensure_role(&mut owner, &bare, "").await;
    ensure_role(&mut owner, &blanket, "").await;
    exec(
        &mut owner,
        &format!(
            "GRANT USAGE ON SCHEMA public TO \"{bare}\", \"{blanket}\"; \
             GRANT ALL ON ALL TABLES IN SCHEMA public TO \"{blanket}\""
        ),
    )
    .await;
    assert!(refused(&database.url, &bare, "SELECT COUNT(*) FROM ra_regions").await);
    let count = as_role(&database.url, &blanket, "SELECT COUNT(*) FROM ra_regions").await;
    assert_eq!(
        count.unwrap(),
        Some(0),
        "row-level security hides every row"
    );
    let insert = "INSERT INTO ra_regions (code, created_at, updated_at) \
                  VALUES ('ire', now(), now()) RETURNING 1::int8";
    assert!(refused(&database.url, &blanket, insert).await);
    drop_role(&mut owner, &bare).await;
    drop_role(&mut owner, &blanket).await;
}

#[tokio::test]
async fn a_granted_reader_reads_the_data_tables_cannot_write_and_loses_it_on_revoke() {
    let (store, database) = migrated_with_a_row().await;
    let url = database.url.as_str();
    let mut owner = connect(url).await;
    let reader = unique_role("rls_reader");
    ensure_role(&mut owner, &reader, "").await;
    let select = "SELECT COUNT(*) FROM ra_regions";
    assert!(refused(url, &reader, select).await);

    for _ in 0..2 {
        // Twice: granting again is harmless.
        grants::grants(&store, &request(&reader, false), false)
            .await
            .unwrap();
    }
    assert_eq!(as_role(url, &reader, select).await.unwrap(), Some(1));
    let select_runners = "SELECT COUNT(*) FROM ra_runners";
    assert_eq!(
        as_role(url, &reader, select_runners).await.unwrap(),
        Some(0)
    );
    for write in [
        "INSERT INTO ra_regions (code, created_at, updated_at) \
         VALUES ('ire', now(), now()) RETURNING 1::int8",
        "UPDATE ra_regions SET name = 'GB' RETURNING 1::int8",
        "DELETE FROM ra_regions RETURNING 1::int8",
        "SELECT COUNT(*) FROM paddock_runs",
    ] {
        assert!(refused(url, &reader, write).await, "{write} was allowed");
    }

    for _ in 0..2 {
        grants::grants(&store, &request(&reader, true), false)
            .await
            .unwrap();
    }
    assert!(refused(url, &reader, select).await, "revoked");
    let policies: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_policy")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(policies, 0, "--revoke drops the read policies");
    drop_role(&mut owner, &reader).await;
}

/// Autovacuum holds a table's `SHARE UPDATE EXCLUSIVE` lock while it analyses it, then updates
/// the table's `pg_class` row. `grants` must take the lock it needs on a table before it
/// updates that row (by `GRANT`), or the two wait for each other: a deadlock CI once hit.
/// Here another session plays autovacuum: it holds the lock, waits until `grants` waits for
/// it, then updates the row itself.
#[tokio::test]
async fn grants_wait_for_a_table_held_by_autovacuum_instead_of_deadlocking_with_it() {
    let (store, database) = migrated_with_a_row().await;
    let mut owner = connect(&database.url).await;
    let (reader, other) = (unique_role("vacuum_reader"), unique_role("vacuum_other"));
    ensure_role(&mut owner, &reader, "").await;
    ensure_role(&mut owner, &other, "").await;
    let mut vacuum = connect(&database.url).await;
    exec(
        &mut vacuum,
        "BEGIN; LOCK TABLE ra_runners IN SHARE UPDATE EXCLUSIVE MODE",
    )
    .await;
    let granting = tokio::spawn({
        let (store, reader) = (store.clone(), reader.clone());
        async move { grants::grants(&store, &request(&reader, false), false).await }
    });
    let watcher = sqlx::PgPool::connect(&database.url).await.unwrap();
    crate::support::wait::wait_until("grants to wait for ra_runners", String::new, || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks \
                 WHERE relation = 'ra_runners'::regclass AND NOT granted",
        )
        .fetch_one(&watcher)
        .await
        .unwrap();
        (waiting > 0).then_some(())
    })
    .await;
    let row_update = sqlx::raw_sql(&format!(
        "GRANT SELECT ON ra_runners TO \"{other}\"; COMMIT"
    ))
    .execute(&mut vacuum)
    .await;
    let granted = granting.await.unwrap();
    assert!(row_update.is_ok(), "the other session: {row_update:?}");
    assert!(granted.is_ok(), "grants: {granted:?}");
    assert_eq!(
        as_role(&database.url, &reader, "SELECT COUNT(*) FROM ra_regions")
            .await
            .unwrap(),
        Some(1)
    );
    drop_role(&mut owner, &reader).await;
    drop_role(&mut owner, &other).await;
}

#[tokio::test]
async fn include_internal_lets_the_reader_see_the_ledger() {
    let (store, database) = migrated_with_a_row().await;
    let mut owner = connect(&database.url).await;
    let reader = unique_role("rls_internal");
    ensure_role(&mut owner, &reader, "").await;
    let mut asked = request(&reader, false);
    asked.include_internal = true;
    grants::grants(&store, &asked, false).await.unwrap();
    let runs = as_role(&database.url, &reader, "SELECT COUNT(*) FROM paddock_runs").await;
    assert_eq!(runs.unwrap(), Some(0));
    grants::grants(&store, &request(&reader, true), false)
        .await
        .unwrap();
    assert!(refused(&database.url, &reader, "SELECT COUNT(*) FROM paddock_runs").await);
    drop_role(&mut owner, &reader).await;
}

#[tokio::test]
async fn grants_dry_run_prints_the_sql_and_changes_nothing() {
    let (_store, database) = migrated_with_a_row().await;
    let mut owner = connect(&database.url).await;
    let reader = unique_role("rls_dry");
    ensure_role(&mut owner, &reader, "").await;
    let before = privileges_snapshot(&mut owner).await;
    let output = crate::support::bin::paddock()
        .args([
            "--database-url",
            &database.url,
            "grants",
            "--reader",
            &reader,
        ])
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains(&format!(
        "CREATE POLICY \"paddock_read_{reader}\" ON \"public\".\"ra_runners\" FOR SELECT"
    )));
    assert!(printed.contains("ALTER DEFAULT PRIVILEGES"));
    assert!(
        !printed.contains("paddock_runs"),
        "internal tables only when asked"
    );
    assert_eq!(privileges_snapshot(&mut owner).await, before);
    assert!(refused(&database.url, &reader, "SELECT COUNT(*) FROM ra_regions").await);
    drop_role(&mut owner, &reader).await;
}

#[tokio::test]
async fn grants_refuses_a_role_name_that_is_not_an_identifier_and_a_missing_role() {
    let (store, _database) = migrated_with_a_row().await;
    assert!(ReaderRole::parse("x\"; DROP TABLE ra_runners; --").is_err());
    let missing = request(&unique_role("rls_missing"), false);
    let error = grants::grants(&store, &missing, true).await.unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error:#}");
}

#[tokio::test]
async fn grants_on_sqlite_say_they_are_a_postgresql_feature() {
    let db = TestDb::new(Backend::Sqlite).await;
    let error = grants::grants(&db.store, &request("analyst", false), false)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("grants are a PostgreSQL feature"),
        "{error:#}"
    );
}

/// Supabase's `rls_disabled_in_public` (ERROR): a table in an exposed schema the API roles
/// can select from, without RLS.
const RLS_DISABLED_IN_PUBLIC: &str = "\
    SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relrowsecurity \
    AND (has_table_privilege('anon', c.oid, 'SELECT') \
         OR has_table_privilege('authenticated', c.oid, 'SELECT'))";

/// Supabase's `policy_exists_rls_disabled` (ERROR): policies on a table without RLS.
const POLICY_EXISTS_RLS_DISABLED: &str = "\
    SELECT DISTINCT c.relname::text FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = 'public' AND NOT c.relrowsecurity";

/// Supabase's `security_definer_view` (ERROR): a view the API roles can select from that runs
/// with its owner's privileges (no `security_invoker`).
const SECURITY_DEFINER_VIEW: &str = "\
    SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = 'public' AND c.relkind = 'v' \
    AND (has_table_privilege('anon', c.oid, 'SELECT') \
         OR has_table_privilege('authenticated', c.oid, 'SELECT')) \
    AND NOT (lower(coalesce(c.reloptions::text, '{}'))::text[] \
             && ARRAY['security_invoker=1', 'security_invoker=true', \
                      'security_invoker=yes', 'security_invoker=on'])";

/// Supabase's `unindexed_foreign_keys` (INFO, which the derived tables' 26 foreign keys used to
/// raise): a foreign key of a `public` table whose columns no valid index starts with.
const UNINDEXED_FOREIGN_KEYS: &str = "\
    WITH fks AS (SELECT c.oid AS table_oid, c.relname::text AS table_name, \
                        k.conname::text AS fk_name, k.conkey AS columns \
                 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE k.contype = 'f' AND n.nspname = 'public'), \
         idx AS (SELECT i.indrelid AS table_oid, \
                        string_to_array(i.indkey::text, ' ')::smallint[] AS columns \
                 FROM pg_index i WHERE i.indisvalid) \
    SELECT fks.table_name || '.' || fks.fk_name FROM fks \
    WHERE NOT EXISTS (SELECT 1 FROM idx WHERE idx.table_oid = fks.table_oid \
          AND idx.columns[1:array_length(fks.columns, 1)] = fks.columns) \
    ORDER BY 1";

#[tokio::test]
async fn supabase_lints_find_nothing_with_supabases_default_grants() {
    let database = fresh_postgres_database().await;
    let mut owner = connect(&database.url).await;
    ensure_role(&mut owner, "anon", "").await;
    ensure_role(&mut owner, "authenticated", "").await;
    ensure_role(&mut owner, "service_role", "BYPASSRLS").await;
    exec(
        &mut owner,
        "GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role; \
         ALTER DEFAULT PRIVILEGES IN SCHEMA public \
           GRANT ALL ON TABLES TO anon, authenticated, service_role; \
         ALTER DEFAULT PRIVILEGES IN SCHEMA public \
           GRANT ALL ON SEQUENCES TO anon, authenticated, service_role",
    )
    .await;
    let store = AnyStore::Postgres(
        PgStore::connect(&database.url, &test_options())
            .await
            .unwrap(),
    );
    // Every runtime path that creates tables and views: the rename to its deprecate phase,
    // with the legacy names kept as compatibility views.
    let now = Utc::now();
    rename::migrate_legacy_names(&store, now).await.unwrap();
    rename::begin(&store, now).await.unwrap();
    rename::backfill(&store, 100, now).await.unwrap();
    rename::advance(&store, false, now).await.unwrap();
    let phase = rename::advance(&store, true, now).await.unwrap();
    assert_eq!(phase, rename::Phase::Deprecate);
    exec(
        &mut owner,
        "GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated",
    )
    .await;
    let views: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_class WHERE relkind = 'v' \
         AND relnamespace = 'public'::regnamespace",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert!(
        views > 0,
        "the compatibility views exist, so the view lint looks at some"
    );
    for (lint, sql) in [
        ("rls_disabled_in_public", RLS_DISABLED_IN_PUBLIC),
        ("policy_exists_rls_disabled", POLICY_EXISTS_RLS_DISABLED),
        ("security_definer_view", SECURITY_DEFINER_VIEW),
        ("unindexed_foreign_keys", UNINDEXED_FOREIGN_KEYS),
    ] {
        let findings: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut owner).await.unwrap();
        assert_eq!(findings, Vec::<String>::new(), "{lint}");
    }
    let mut through_api = connect(&database.url).await;
    exec(
        &mut through_api,
        "INSERT INTO ra_regions (code, created_at, updated_at) VALUES ('gb', now(), now())",
    )
    .await;
    for role in ["anon", "authenticated"] {
        let count = as_role(&database.url, role, "SELECT COUNT(*) FROM ra_regions").await;
        assert_eq!(count.unwrap(), Some(0), "{role} reads nothing");
        let view = as_role(&database.url, role, "SELECT COUNT(*) FROM ra_horses").await;
        assert_eq!(
            view.unwrap(),
            Some(0),
            "{role} reads nothing through a view"
        );
    }
}

//! The full rebuild's staging on PostgreSQL (`src/derive/staged.rs`): each table is filled as a
//! new table and swapped in, keeping everything the live table had (indexes and keys under
//! their names, row-level security, policies, privileges, comment, publications), while a
//! reader sees the old rows, never an empty or half-built table; a table a reader's view
//! depends on is refilled in place instead, and the view keeps working. On SQLite each table is
//! dropped and created again from its own definition, with its indexes and triggers, a user's
//! own included; a table another table's foreign key references is emptied in place instead.
//! A rebuild that fails after its jobs committed staged tables drops them and leaves the live
//! tables as they were; one the server refuses connections of its own runs its jobs in its own
//! transaction.

use super::*;
use crate::support::Backend;

/// Everything about `table` the swap must keep, as one text (privileges as they apply: a table
/// never granted anything has the owner's default ones).
async fn shape(db: &TestDb, table: &str) -> String {
    let sql = format!(
        "SELECT concat_ws(' | ', \
           (SELECT string_agg(ic.relname || '=' || pg_get_indexdef(x.indexrelid), ',' \
              ORDER BY ic.relname) FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid \
              WHERE x.indrelid = '{table}'::regclass), \
           (SELECT string_agg(conname || '=' || pg_get_constraintdef(oid), ',' ORDER BY conname) \
              FROM pg_constraint WHERE conrelid = '{table}'::regclass), \
           (SELECT relrowsecurity::text || ' ' \
              || coalesce(relacl, acldefault('r', relowner))::text FROM pg_class \
              WHERE oid = '{table}'::regclass), \
           (SELECT string_agg(polname || ':' || polroles::regrole[]::text || ':' \
              || coalesce(pg_get_expr(polqual, polrelid), ''), ',' ORDER BY polname) \
              FROM pg_policy WHERE polrelid = '{table}'::regclass), \
           coalesce(obj_description('{table}'::regclass, 'pg_class'), '-'), \
           (SELECT string_agg(pubname, ',' ORDER BY pubname) FROM pg_publication_tables \
              WHERE tablename = '{table}'))"
    );
    db.scalar_text(&sql).await.expect("a shape")
}

async fn oid(db: &TestDb, table: &str) -> i64 {
    db.scalar_i64(&format!("SELECT CAST('{table}'::regclass::oid AS BIGINT)"))
        .await
}

/// A role of this test's own (roles belong to the whole cluster).
fn reader_role() -> String {
    format!("derive_reader_{}", std::process::id())
}

#[tokio::test]
async fn a_full_rebuild_swaps_in_tables_that_keep_their_indexes_keys_security_and_readers() {
    let db = TestDb::new(Backend::Postgres).await;
    let server = simulator(SEED, Faults::default()).await;
    results_run(&db, &client_for(&server), day(30), day(27)).await;
    let reader = reader_role();
    let statistics = "ra_runner_statistics";
    db.execute(&format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{reader}') THEN \
         CREATE ROLE {reader} NOLOGIN; END IF; END $$"
    ))
    .await;
    db.execute(&format!("GRANT SELECT ON {statistics} TO {reader}"))
        .await;
    // New tables give the reader privileges by default (as Supabase's do to `anon`): a swapped
    // in table still has exactly the live table's.
    db.execute(&format!(
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {reader}"
    ))
    .await;
    db.execute(&format!(
        "CREATE POLICY paddock_read_{reader} ON {statistics} FOR SELECT TO {reader} USING (true)"
    ))
    .await;
    db.execute(&format!(
        "COMMENT ON TABLE {statistics} IS 'figures per entity'"
    ))
    .await;
    db.execute("CREATE PUBLICATION derive_staged_test FOR TABLE ra_performance_by_venue")
        .await;
    // A user's own constraints: unique ones (one deferrable) go onto indexes built for them
    // beside the aggregations' reads; a check comes along as it is.
    for constraint in [
        "ra_performance_by_venue ADD CONSTRAINT my_venue_once UNIQUE (course_id, entity_id, \
         entity_type)",
        "ra_runner_statistics ADD CONSTRAINT my_deferred_once UNIQUE (entity_type, entity_id, \
         horse_id) DEFERRABLE INITIALLY DEFERRED",
        "ra_entity_combinations ADD CONSTRAINT my_runs_counted CHECK (runs >= 0)",
    ] {
        db.execute(&format!("ALTER TABLE {constraint}")).await;
    }
    let mut tables: Vec<&str> = TABLES.to_vec();
    tables.push("paddock_derived_counted");
    let mut before = BTreeMap::new();
    for table in &tables {
        before.insert(*table, (shape(&db, table).await, oid(&db, table).await));
    }
    let rows_before = db
        .scalar_i64(&format!("SELECT COUNT(*) FROM {statistics}"))
        .await;
    assert!(rows_before > 0);

    // A reader counting the rows all through the rebuild.
    let url = db.url();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reading = {
        let done = done.clone();
        tokio::spawn(async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut seen = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) || seen.is_empty() {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ra_runner_statistics")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                seen.push(n);
            }
            seen
        })
    };
    full_rebuild(&db).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reading.await.unwrap();
    assert!(
        seen.iter().all(|n| *n == rows_before),
        "a reader saw another count than the old (and new) {rows_before}: {seen:?}"
    );

    for table in &tables {
        let (shape_before, oid_before) = &before[table];
        assert_eq!(
            &shape(&db, table).await,
            shape_before,
            "{table} kept its shape"
        );
        assert_ne!(oid(&db, table).await, *oid_before, "{table} was swapped in");
    }
    assert_tables_equal_naive(&db, "after a staged rebuild").await;
    assert_entity_columns_match_keys(&db).await;
    // The reader still reads, through its grant and policy.
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&db.url()).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::raw_sql(&format!("SET LOCAL ROLE {reader}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {statistics}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, rows_before, "the reader's grant and policy came along");
        tx.rollback().await.unwrap();
    }
    // The next incremental update works on the swapped-in tables.
    results_run(&db, &client_for(&server), day(26), day(26)).await;
    assert_tables_equal_naive(&db, "after an update of the swapped-in tables").await;

    db.execute("DROP PUBLICATION derive_staged_test").await;
    db.execute(&format!("DROP OWNED BY {reader}")).await;
    let _ = db.execute(&format!("DROP ROLE IF EXISTS {reader}")).await;
}

#[tokio::test]
async fn a_derived_table_a_readers_view_depends_on_is_refilled_in_place() {
    let db = TestDb::new(Backend::Postgres).await;
    let server = simulator(SEED, Faults::default()).await;
    results_run(&db, &client_for(&server), day(30), day(28)).await;
    db.execute(
        "CREATE VIEW busiest_jockeys AS SELECT entity_id, runs FROM ra_runner_statistics \
         WHERE entity_type = 'jockey'",
    )
    .await;
    let viewed = db.scalar_i64("SELECT COUNT(*) FROM busiest_jockeys").await;
    assert!(viewed > 0);
    let statistics_oid = oid(&db, "ra_runner_statistics").await;
    let venue_oid = oid(&db, "ra_performance_by_venue").await;

    full_rebuild(&db).await;

    assert_eq!(
        oid(&db, "ra_runner_statistics").await,
        statistics_oid,
        "refilled in place, not swapped: the view depends on it"
    );
    assert_ne!(oid(&db, "ra_performance_by_venue").await, venue_oid);
    assert_eq!(
        db.scalar_i64("SELECT COUNT(*) FROM busiest_jockeys").await,
        viewed
    );
    assert_tables_equal_naive(&db, "after a rebuild around a view").await;
}

#[tokio::test]
async fn a_reader_holding_a_derived_table_gets_it_refilled_in_place_not_waited_for() {
    use sqlx::Connection;
    let db = TestDb::new(Backend::Postgres).await;
    let server = simulator(SEED, Faults::default()).await;
    results_run(&db, &client_for(&server), day(30), day(29)).await;
    let statistics_oid = oid(&db, "ra_runner_statistics").await;
    // A long report: its transaction read the table and is still open.
    let mut report = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let mut open = report.begin().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ra_runner_statistics")
        .fetch_one(&mut *open)
        .await
        .unwrap();

    full_rebuild(&db).await;

    assert_eq!(oid(&db, "ra_runner_statistics").await, statistics_oid);
    // The report still reads its snapshot's table.
    let again: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ra_runner_statistics")
        .fetch_one(&mut *open)
        .await
        .unwrap();
    assert_eq!(again, rows);
    open.rollback().await.unwrap();
    assert_tables_equal_naive(&db, "after a rebuild beside a long report").await;
}

#[tokio::test]
async fn a_rebuild_that_fails_after_its_jobs_committed_drops_its_staged_tables() {
    let db = TestDb::new(Backend::Postgres).await;
    let server = simulator(SEED, Faults::default()).await;
    results_run(&db, &client_for(&server), day(30), day(28)).await;
    let venue = "ra_performance_by_venue";
    let mut tables: Vec<&str> = TABLES.to_vec();
    tables.push("paddock_derived_counted");
    let mut before = BTreeMap::new();
    for table in &tables {
        let count = db
            .scalar_i64(&format!("SELECT COUNT(*) FROM {table}"))
            .await;
        before.insert(*table, (count, oid(&db, table).await));
    }
    // Something already holds the temporary name the venues' first index is built under, so
    // dressing that staged table fails once every group is counted and committed.
    let index_oid = db
        .scalar_i64(&format!(
            "SELECT CAST(MIN(x.indexrelid) AS BIGINT) FROM pg_index x WHERE x.indrelid = \
             '{venue}'::regclass AND NOT x.indisprimary"
        ))
        .await;
    let squatter = format!("paddock_rebuild_i{index_oid}");
    db.execute(&format!("CREATE TABLE {squatter} (x INT)"))
        .await;

    let result =
        paddock::run::run_full_rebuild(&db.store, &DistanceBands::default(), RunTrigger::Manual)
            .await
            .unwrap();

    assert_eq!(result.status, RunStatus::Failed);
    let error = result.error.unwrap_or_default();
    assert!(error.contains(&squatter), "{error}");
    let staged = db
        .scalar_i64(
            "SELECT COUNT(*) FROM pg_class WHERE relkind = 'r' AND relname LIKE '%\\_\\_rebuild'",
        )
        .await;
    assert_eq!(staged, 0, "the staged tables were dropped");
    for table in &tables {
        let count = db
            .scalar_i64(&format!("SELECT COUNT(*) FROM {table}"))
            .await;
        assert_eq!(
            (count, oid(&db, table).await),
            before[table],
            "{table} untouched"
        );
    }
    db.execute(&format!("DROP TABLE {squatter}")).await;
    full_rebuild(&db).await;
    assert_tables_equal_naive(&db, "after a failed rebuild and a good one").await;
}

#[tokio::test]
async fn a_rebuild_refused_connections_of_its_own_runs_its_jobs_in_its_transaction() {
    use sqlx::Connection;
    let db = TestDb::new(Backend::Postgres).await;
    let server = simulator(SEED, Faults::default()).await;
    results_run(&db, &client_for(&server), day(30), day(28)).await;
    // The database stops taking connections (set from another database: not its own). The
    // pool keeps those it has; any new one is refused, the rebuild's own too.
    let name = db.scalar_text("SELECT current_database()").await.unwrap();
    let mut admin_url = url::Url::parse(&db.url()).unwrap();
    admin_url.set_path("/postgres");
    let mut admin = sqlx::PgConnection::connect(admin_url.as_str())
        .await
        .unwrap();
    let allow = |on: bool| format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {on}");
    // Every connection the pool may have is opened first (then idle in it), so that only the
    // rebuild's connections of its own are new.
    let paddock::store::AnyStore::Postgres(store) = &db.store else {
        unreachable!("a PostgreSQL test")
    };
    let pool = store.pool_for_tests();
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        held.push(pool.acquire().await.unwrap());
    }
    drop(held);
    sqlx::raw_sql(&allow(false))
        .execute(&mut admin)
        .await
        .unwrap();
    let result =
        paddock::run::run_full_rebuild(&db.store, &DistanceBands::default(), RunTrigger::Manual)
            .await
            .unwrap();
    sqlx::raw_sql(&allow(true))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
    assert_tables_equal_naive(&db, "after a rebuild in one transaction").await;
    assert_entity_columns_match_keys(&db).await;
}

/// Every `sqlite_master` definition of the derived tables and the bookkeeping (`type name: sql`).
async fn sqlite_definitions(db: &TestDb) -> String {
    let mut tables: Vec<String> = TABLES.iter().map(|t| format!("'{t}'")).collect();
    tables.push("'paddock_derived_counted'".into());
    db.scalar_text(&format!(
        "SELECT group_concat(type || ' ' || name || ': ' || sql, char(10)) FROM \
         (SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ({}) AND sql IS NOT NULL \
         ORDER BY type, name)",
        tables.join(", ")
    ))
    .await
    .expect("definitions")
}

#[tokio::test]
async fn a_sqlite_rebuild_creates_each_table_again_with_its_indexes_and_triggers() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = simulator(SEED, Faults::default()).await;
    results_run(&db, &client_for(&server), day(30), day(28)).await;
    // A user's own index and trigger, and a table whose foreign key references a derived one
    // (dropping that one would check the key row by row: it is emptied in place).
    db.execute("CREATE INDEX my_best_jockeys ON ra_runner_statistics (entity_type, win_rate)")
        .await;
    db.execute("CREATE TABLE my_venue_changes (entity_id TEXT, course_id TEXT)")
        .await;
    db.execute(
        "CREATE TRIGGER my_venue_log AFTER UPDATE ON ra_performance_by_venue BEGIN \
         INSERT INTO my_venue_changes VALUES (new.entity_id, new.course_id); END",
    )
    .await;
    db.execute(
        "CREATE TABLE my_pair_notes (pair_type TEXT, first_id TEXT, second_id TEXT, note TEXT, \
         FOREIGN KEY (pair_type, first_id, second_id) \
         REFERENCES ra_entity_combinations (pair_type, first_id, second_id))",
    )
    .await;
    let before = sqlite_definitions(&db).await;
    assert!(before.contains("my_best_jockeys") && before.contains("my_venue_log"));

    let rebuild = full_rebuild(&db).await;

    assert_eq!(
        sqlite_definitions(&db).await,
        before,
        "every definition kept"
    );
    assert_tables_equal_naive(&db, "after tables created again").await;
    assert_entity_columns_match_keys(&db).await;
    // The ledger counts the rows replaced as before: every row updated, none new.
    let statistics = rebuild.report.counts.table(TABLES[0]);
    assert!(
        statistics.updated > 0 && statistics.inserted == 0,
        "{statistics:?}"
    );
    // The trigger still fires.
    db.execute(
        "UPDATE ra_performance_by_venue SET runs = runs WHERE rowid IN \
                (SELECT rowid FROM ra_performance_by_venue LIMIT 1)",
    )
    .await;
    assert_eq!(
        db.scalar_i64("SELECT COUNT(*) FROM my_venue_changes").await,
        1
    );
    // The next incremental update works on the tables created again.
    results_run(&db, &client_for(&server), day(27), day(27)).await;
    assert_tables_equal_naive(&db, "after an update of the tables created again").await;
}

//! Connecting to the store and the kinds of failure: SQLite files and memory, PostgreSQL
//! timeouts, passwords kept out of errors, and which database errors are transient.

use super::*;

// ---- connecting ----

#[tokio::test]
async fn connect_creates_a_sqlite_file_and_its_directory_from_a_url_or_a_path() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("nested").join("paddock.db");
    let by_url = paddock::store::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect by URL");
    paddock::store::migrate(&by_url).await.expect("migrate");
    assert!(path.exists());
    by_url.close().await;

    let by_path = paddock::store::connect(&path.display().to_string())
        .await
        .expect("connect by path");
    assert_eq!(by_path.backend(), paddock::store::BackendKind::Sqlite);
    assert_eq!(by_path.count_rows("ra_mst_horses").await.unwrap(), 0);
}

#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_data_between_calls() {
    let store = paddock::store::connect("sqlite::memory:")
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let run = store
        .start_run("test", RunTrigger::Manual, json!({}))
        .await
        .unwrap();
    store
        .apply(run, &unit(vec![horse("hrs_1", "Alpha")]), ApplyMode::Commit)
        .await
        .unwrap();
    assert_eq!(store.count_rows("ra_mst_horses").await.unwrap(), 1);
}

#[tokio::test]
async fn connection_errors_never_show_the_database_password() {
    let options = paddock::store::StoreOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    // Nothing listens on port 1.
    let err =
        paddock::store::connect_with("postgres://paddock:s3cret-pw@127.0.0.1:1/racing", &options)
            .await
            .expect_err("no server there");
    let shown = format!("{err:#} {err:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("paddock:***@127.0.0.1:1/racing"), "{shown}");
}

#[tokio::test]
async fn postgres_connections_carry_explicit_statement_and_lock_timeouts() {
    let (store, _db) = support::postgres_store().await;
    let statement: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap();
    let lock: String = sqlx::query_scalar("SHOW lock_timeout")
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap();
    assert_eq!(statement, "5min");
    assert_eq!(lock, "1min");
}

// ---- transient and permanent errors ----

/// The database error of `sql` on `store`'s pool (which must fail).
async fn error_of(store: &paddock::store::AnyStore, sql: &str) -> sqlx::Error {
    let result = match store {
        paddock::store::AnyStore::Sqlite(s) => sqlx::query(sql)
            .execute(s.pool_for_tests())
            .await
            .map(|_| ()),
        paddock::store::AnyStore::Postgres(s) => sqlx::query(sql)
            .execute(s.pool_for_tests())
            .await
            .map(|_| ()),
    };
    result.expect_err(sql)
}

backend_test!(
    constraint_violations_are_permanent_errors,
    |db| async move {
        db.execute("INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('gb', 'a', '2024-05-01T00:00:00Z')")
            .await;
        let duplicate = error_of(
            &db.store,
            "INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('gb', 'b', '2024-05-01T00:00:00Z')",
        )
        .await;
        assert!(
            !paddock::store::transient::is_transient(&duplicate),
            "{duplicate}"
        );
        let stored = paddock::store::diagnose::database_error(None, &duplicate);
        assert!(!stored.is_transient(), "{stored}");

        // Through the store: a runner whose race exists nowhere.
        let run = new_run(&db).await;
        let orphan = unit(vec![
            card_runner("rac_missing", "hrs_1"),
            horse("hrs_1", "Alpha"),
        ]);
        let failed = db.apply(run, &orphan, ApplyMode::Commit).await.unwrap_err();
        assert!(matches!(failed, StoreError::Constraint { .. }), "{failed}");
        assert!(!failed.is_transient(), "{failed}");
    }
);

#[tokio::test]
async fn a_busy_sqlite_database_is_a_transient_error() {
    let (store, _dir) = support::sqlite_store().await;
    let mut holder = store
        .pool_for_tests()
        .begin_with("BEGIN IMMEDIATE")
        .await
        .unwrap();
    sqlx::query("INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('gb', 'a', '2024-05-01T00:00:00Z')")
        .execute(&mut *holder)
        .await
        .unwrap();
    let mut other = store.pool_for_tests().acquire().await.unwrap();
    sqlx::query("PRAGMA busy_timeout = 0")
        .execute(&mut *other)
        .await
        .unwrap();
    let busy = sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *other)
        .await
        .expect_err("the write lock is held");
    assert!(paddock::store::transient::is_transient(&busy), "{busy}");
    assert!(paddock::store::diagnose::database_error(None, &busy).is_transient());
    holder.rollback().await.unwrap();
}

#[tokio::test]
async fn postgres_lock_serialization_and_deadlock_failures_are_transient() {
    use paddock::store::transient::is_transient;
    let (store, _db) = support::postgres_store().await;
    let pool = store.pool_for_tests();
    sqlx::query("INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('gb', 'a', now()), ('ire', 'b', now())")
        .execute(pool)
        .await
        .unwrap();

    // A row lock another transaction holds, asked for with NOWAIT: 55P03.
    let mut a = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM paddock_state WHERE \"key\" = 'gb' FOR UPDATE")
        .execute(&mut *a)
        .await
        .unwrap();
    let locked = sqlx::query("SELECT 1 FROM paddock_state WHERE \"key\" = 'gb' FOR UPDATE NOWAIT")
        .execute(pool)
        .await
        .expect_err("row is locked");
    assert!(is_transient(&locked), "{locked}");
    a.rollback().await.unwrap();

    // Two serializable transactions that read what the other writes: 40001.
    let mut a = pool.begin().await.unwrap();
    let mut b = pool.begin().await.unwrap();
    for tx in [&mut a, &mut b] {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            .execute(&mut **tx)
            .await
            .unwrap();
        sqlx::query("SELECT COUNT(*) FROM paddock_state")
            .execute(&mut **tx)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('fr', 'c', now())")
        .execute(&mut *a)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('usa', 'd', now())",
    )
    .execute(&mut *b)
    .await
    .unwrap();
    a.commit().await.unwrap();
    let serialization = b.commit().await.expect_err("serialization failure");
    assert!(is_transient(&serialization), "{serialization}");

    // Two transactions each waiting for the other's row: 40P01.
    let mut a = pool.begin().await.unwrap();
    let mut b = pool.begin().await.unwrap();
    let lock = |code: &'static str| {
        format!("UPDATE paddock_state SET value = value WHERE \"key\" = '{code}'")
    };
    sqlx::query(&lock("gb")).execute(&mut *a).await.unwrap();
    sqlx::query(&lock("ire")).execute(&mut *b).await.unwrap();
    let waiter = tokio::spawn(async move {
        let result = sqlx::query(&lock("ire")).execute(&mut *a).await.map(|_| ());
        (a, result)
    });
    let second = sqlx::query(&lock("gb")).execute(&mut *b).await.map(|_| ());
    let (_a, first) = waiter.await.unwrap();
    let deadlock = first
        .err()
        .or(second.err())
        .expect("one side is the deadlock victim");
    assert!(is_transient(&deadlock), "{deadlock}");
    assert_eq!(
        deadlock
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("40P01")
    );
}

#[tokio::test]
async fn a_refused_connection_and_a_pool_timeout_are_transient_errors() {
    use paddock::store::transient::is_transient;
    // Nothing listens on port 1.
    let refused = sqlx::PgPool::connect("postgres://paddock@127.0.0.1:1/none")
        .await
        .expect_err("nothing listens");
    assert!(is_transient(&refused), "{refused}");

    let (store, _dir) = support::sqlite_store().await;
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_millis(50))
        .connect_with(store.pool_for_tests().connect_options().as_ref().clone())
        .await
        .unwrap();
    let _held = pool.acquire().await.unwrap();
    let timeout = pool
        .acquire()
        .await
        .expect_err("the only connection is held");
    assert!(is_transient(&timeout), "{timeout}");
}

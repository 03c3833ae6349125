//! The store test harness and the backend matrix, shared by every integration test binary.
//!
//! - [`sqlite_store`]: a migrated SQLite file database in a temporary directory.
//! - [`postgres_store`]: a migrated, fresh PostgreSQL database per call: on the server named by
//!   `TEST_DATABASE_URL` if set (dropped again afterwards), otherwise on one throwaway cluster
//!   per test process ([`pg_cluster`]). Without either, PostgreSQL tests panic with what to
//!   install: they never skip.
//! - [`TestDb`] and [`backend_test!`]: write a store test once, run it on both backends, and
//!   check the database with raw SQL that both dialects accept.

use super::pg_cluster;
use paddock::store::{AnyStore, PgStore, SqliteStore, StoreOptions};
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Small pools: tests run in parallel against one cluster.
pub fn test_options() -> StoreOptions {
    StoreOptions {
        max_connections: 4,
        ..StoreOptions::default()
    }
}

/// A migrated SQLite database in a fresh temporary directory (kept while the `TempDir` lives).
pub async fn sqlite_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("paddock.db");
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()), &test_options())
        .await
        .expect("open SQLite test database");
    store.migrate().await.expect("migrate SQLite test database");
    (store, dir)
}

/// A fresh PostgreSQL database for one test; dropped on drop when it lives on an external
/// server (`TEST_DATABASE_URL`). The throwaway cluster is removed with the process instead.
pub struct PgTestDatabase {
    pub url: String,
    pub name: String,
    admin_url: Option<String>,
}

impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        let Some(admin_url) = self.admin_url.take() else {
            return;
        };
        let name = self.name.clone();
        // Drop may run inside a runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .execute(&mut admin)
                        .await;
                    }
                });
            }
        })
        .join();
    }
}

static DATABASE_SEQ: AtomicUsize = AtomicUsize::new(0);

/// The server tests use: `TEST_DATABASE_URL`, or this process's throwaway cluster.
fn admin_url() -> (String, bool) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => (url, true),
        _ => (pg_cluster::cluster().admin_url(), false),
    }
}

/// Creates an empty database `paddock_t_<pid>_<seq>` and returns its URL.
pub async fn fresh_postgres_database() -> PgTestDatabase {
    use sqlx::Connection;
    let (admin, external) = admin_url();
    let name = format!(
        "paddock_t_{}_{}",
        std::process::id(),
        DATABASE_SEQ.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "connecting to the PostgreSQL test server {}: {e}",
                paddock::store::mask_url(&admin)
            )
        });
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("drop a leftover test database");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    let _ = conn.close().await;
    let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    PgTestDatabase {
        url: url.to_string(),
        name,
        admin_url: external.then_some(admin),
    }
}

/// A migrated PostgreSQL store on a fresh database.
pub async fn postgres_store() -> (PgStore, PgTestDatabase) {
    let database = fresh_postgres_database().await;
    let store = PgStore::connect(&database.url, &test_options())
        .await
        .expect("connect to the PostgreSQL test database");
    store
        .migrate()
        .await
        .expect("migrate PostgreSQL test database");
    (store, database)
}

/// What keeps a test database alive.
enum Keep {
    Directory(tempfile::TempDir),
    Database(PgTestDatabase),
}

/// A migrated store of either backend, with raw-SQL helpers for checks.
pub struct TestDb {
    pub store: AnyStore,
    backend: Backend,
    _keep: Keep,
}

impl Deref for TestDb {
    type Target = AnyStore;
    fn deref(&self) -> &AnyStore {
        &self.store
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let (store, dir) = sqlite_store().await;
                TestDb {
                    store: AnyStore::Sqlite(store),
                    backend,
                    _keep: Keep::Directory(dir),
                }
            }
            Backend::Postgres => {
                let (store, database) = postgres_store().await;
                TestDb {
                    store: AnyStore::Postgres(store),
                    backend,
                    _keep: Keep::Database(database),
                }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database's URL (for a `paddock` process under test).
    pub fn url(&self) -> String {
        match &self._keep {
            Keep::Directory(dir) => format!("sqlite://{}", dir.path().join("paddock.db").display()),
            Keep::Database(database) => database.url.clone(),
        }
    }

    /// One integer from `sql` (e.g. `SELECT COUNT(*) FROM …`).
    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        let result = match &self.store {
            AnyStore::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool_for_tests()).await,
            AnyStore::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool_for_tests()).await,
        };
        result.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// One nullable text value from `sql`; write `CAST(x AS TEXT)` for non-text columns (valid
    /// on both backends). `None` also when there is no row.
    pub async fn scalar_text(&self, sql: &str) -> Option<String> {
        let result: Result<Option<Option<String>>, sqlx::Error> = match &self.store {
            AnyStore::Sqlite(s) => {
                sqlx::query_scalar(sql)
                    .fetch_optional(s.pool_for_tests())
                    .await
            }
            AnyStore::Postgres(s) => {
                sqlx::query_scalar(sql)
                    .fetch_optional(s.pool_for_tests())
                    .await
            }
        };
        result.unwrap_or_else(|e| panic!("{sql}: {e}")).flatten()
    }

    /// Runs a statement.
    pub async fn execute(&self, sql: &str) {
        let result = match &self.store {
            AnyStore::Sqlite(s) => sqlx::query(sql)
                .execute(s.pool_for_tests())
                .await
                .map(|_| ()),
            AnyStore::Postgres(s) => sqlx::query(sql)
                .execute(s.pool_for_tests())
                .await
                .map(|_| ()),
        };
        result.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Runs `test` on a fresh database of `backend` (used by [`backend_test!`]).
pub async fn run_backend_test<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    test(TestDb::new(backend).await).await;
}

/// Writes a store test once and runs it on both backends:
///
/// ```ignore
/// backend_test!(reapplying_a_unit_writes_nothing, |db| async move { … });
/// ```
///
/// expands to `mod reapplying_a_unit_writes_nothing { #[tokio::test] async fn sqlite() …
/// #[tokio::test] async fn postgres() … }`.
#[macro_export]
macro_rules! backend_test {
    ($(#[$meta:meta])* $name:ident, $test:expr) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                $crate::support::run_backend_test($crate::support::Backend::Sqlite, $test).await;
            }

            #[tokio::test]
            async fn postgres() {
                $crate::support::run_backend_test($crate::support::Backend::Postgres, $test).await;
            }
        }
    };
}

//! The storage layer: [`fetchers::store::Store`] implemented for SQLite ([`SqliteStore`]) and
//! PostgreSQL ([`PgStore`]), chosen by URL with [`connect`], with the embedded migrations run
//! by [`migrate`].
//!
//! There is one implementation, [`SqlStore`], generic over a [`dialect::Dialect`]: the write
//! plan ([`plan`]), the upsert SQL generator ([`upsert_sql`]), the apply flow ([`apply`]), the
//! ledger ([`ledger`]), the read queries ([`read_sql`]) and the constraint diagnosis
//! ([`diagnose`]) are written once; `postgres/` and `sqlite/` supply only their dialect.
//! Table names reach SQL through [`PhysicalNames`]. [`AnyStore`] only chooses the backend:
//! code outside the `Store` trait is written once over `SqlStore<D>` and reached from an
//! `AnyStore` through [`with_backend!`]. Everything beside the fetchers' write path (the rename
//! tooling, `paddock query`, the demo, the audit) comes in through one door, [`tools`]: text
//! rows with bound parameters, write transactions, the catalog and the dialect's schema changes.
//! The connection pool never leaves the store.

pub mod alert_outbox;
pub mod alerts;
pub mod apply;
pub mod archive;
pub mod archive_bytes;
pub mod catalog;
pub mod checkpoints;
pub mod connection;
pub mod database_url;
pub mod diagnose;
pub mod dialect;
pub mod job_status;
pub mod ledger;
pub mod locks;
pub mod mirror;
pub mod names;
pub mod odds;
pub mod options;
pub mod phase_follow;
pub mod physical;
pub mod plan;
pub mod postgres;
pub mod read_sql;
pub mod retention;
pub mod sql_store;
pub mod sqlite;
pub mod tools;
pub mod transient;
pub mod upsert_sql;

pub use connection::{ConnectError, ConnectFailure};
pub use database_url::{mask_url, BackendKind};
pub use options::StoreOptions;
pub use phase_follow::{PhaseFollower, PHASE_STATE_KEY};
pub use physical::PhysicalNames;
pub use postgres::{PgDialect, PgStore};
pub use sql_store::SqlStore;
pub use sqlite::{SqliteDialect, SqliteStore};
pub use tools::TextRow;
pub use upsert_sql::{postgres_upsert_sql, sqlite_upsert_sql};

use async_trait::async_trait;
use fetchers::rows::{Counts, UnitOfWork};
use fetchers::store::{
    ApplyMode, RunFinish, RunId, RunRecord, RunTrigger, StateKey, Store, StoreError,
};
use std::collections::HashSet;

/// Evaluates `$body` with `$s` bound to the [`SqlStore`] behind the [`AnyStore`] `$store`:
/// how code written once over `SqlStore<D>` is reached from an `AnyStore`. The one place that
/// matches on the backend.
macro_rules! with_backend {
    ($store:expr, |$s:ident| $body:expr) => {
        match $store {
            $crate::store::AnyStore::Sqlite($s) => $body,
            $crate::store::AnyStore::Postgres($s) => $body,
        }
    };
}
pub(crate) use with_backend;

/// A store of either backend.
#[derive(Debug, Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Connects to `database_url` with default [`StoreOptions`]: `postgres://` and
/// `postgresql://` URLs open PostgreSQL; `sqlite://path`, `sqlite::memory:` and plain paths
/// open SQLite (creating the file if missing). Errors never contain the password.
pub async fn connect(database_url: &str) -> anyhow::Result<AnyStore> {
    connect_with(database_url, &StoreOptions::default()).await
}

/// [`connect`] with explicit options.
pub async fn connect_with(database_url: &str, options: &StoreOptions) -> anyhow::Result<AnyStore> {
    match BackendKind::of_url(database_url) {
        BackendKind::Postgres => Ok(AnyStore::Postgres(
            PgStore::connect(database_url, options).await?,
        )),
        BackendKind::Sqlite => Ok(AnyStore::Sqlite(
            SqliteStore::open(database_url, options).await?,
        )),
    }
}

/// Runs the backend's pending embedded migrations; running it again is a no-op.
pub async fn migrate(store: &AnyStore) -> anyhow::Result<()> {
    with_backend!(store, |s| s.migrate().await)
}

impl AnyStore {
    pub fn backend(&self) -> BackendKind {
        match self {
            AnyStore::Sqlite(_) => BackendKind::Sqlite,
            AnyStore::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Runs the pending embedded migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        migrate(self).await
    }

    /// Closes the pool.
    pub async fn close(&self) {
        with_backend!(self, |s| s.close().await)
    }

    /// The same store writing and reading registry tables under `physical` names.
    pub fn with_physical_names(self, physical: PhysicalNames) -> Self {
        match self {
            AnyStore::Sqlite(s) => AnyStore::Sqlite(s.with_physical_names(physical)),
            AnyStore::Postgres(s) => AnyStore::Postgres(s.with_physical_names(physical)),
        }
    }

    /// The same store evaluating the alert `rules` in every unit's transaction (`alerts`).
    pub fn with_alert_rules(self, rules: &[crate::config::AlertRule]) -> Self {
        match self {
            AnyStore::Sqlite(s) => AnyStore::Sqlite(s.with_alert_rules(rules)),
            AnyStore::Postgres(s) => AnyStore::Postgres(s.with_alert_rules(rules)),
        }
    }

    /// The same store following the database's rename phase (see `phase_follow`).
    pub fn following_phase(self, follower: PhaseFollower) -> Self {
        match self {
            AnyStore::Sqlite(s) => AnyStore::Sqlite(s.following_phase(follower)),
            AnyStore::Postgres(s) => AnyStore::Postgres(s.following_phase(follower)),
        }
    }

    /// The SQLite store, for what only SQLite does (the analytics copy's online backup);
    /// `None` on PostgreSQL.
    pub fn as_sqlite(&self) -> Option<&SqliteStore> {
        match self {
            AnyStore::Sqlite(s) => Some(s),
            AnyStore::Postgres(_) => None,
        }
    }

    /// The same store naming each write transaction's session `name` while it runs
    /// (`SqlStore::naming_transactions`).
    pub fn naming_transactions(self, name: &str) -> Self {
        match self {
            AnyStore::Sqlite(s) => AnyStore::Sqlite(s.naming_transactions(name)),
            AnyStore::Postgres(s) => AnyStore::Postgres(s.naming_transactions(name)),
        }
    }

    /// The physical names to read with now (the phase read again when the store follows it).
    pub async fn current_physical_names(
        &self,
    ) -> Result<std::sync::Arc<PhysicalNames>, StoreError> {
        with_backend!(self, |s| s.current_physical_names().await)
    }

    fn inner(&self) -> &dyn Store {
        with_backend!(self, |s| s)
    }
}

#[async_trait]
impl Store for AnyStore {
    async fn apply(
        &self,
        run_id: RunId,
        unit: &UnitOfWork,
        mode: ApplyMode,
    ) -> Result<Counts, StoreError> {
        self.inner().apply(run_id, unit, mode).await
    }

    async fn existing_keys(
        &self,
        table: &str,
        column: &str,
        keys: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        self.inner().existing_keys(table, column, keys).await
    }

    async fn start_run(
        &self,
        job: &str,
        trigger: RunTrigger,
        params: serde_json::Value,
    ) -> Result<RunId, StoreError> {
        self.inner().start_run(job, trigger, params).await
    }

    async fn finish_run(&self, run_id: RunId, finish: &RunFinish) -> Result<(), StoreError> {
        self.inner().finish_run(run_id, finish).await
    }

    async fn run_counts(&self, run_id: RunId) -> Result<Counts, StoreError> {
        self.inner().run_counts(run_id).await
    }

    async fn recent_runs(&self, limit: i64) -> Result<Vec<RunRecord>, StoreError> {
        self.inner().recent_runs(limit).await
    }

    async fn horses_without_profile(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        self.inner().horses_without_profile(limit).await
    }

    async fn unlinked_pedigree_ids(&self, table: &str) -> Result<Vec<String>, StoreError> {
        self.inner().unlinked_pedigree_ids(table).await
    }

    async fn get_state(&self, key: &StateKey) -> Result<Option<String>, StoreError> {
        self.inner().get_state(key).await
    }

    async fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        self.inner().count_rows(table).await
    }

    async fn runner_names(
        &self,
        race_ids: &[String],
    ) -> Result<Vec<fetchers::store::RunnerName>, StoreError> {
        self.inner().runner_names(race_ids).await
    }

    async fn horses_with_profile_older_than(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        self.inner()
            .horses_with_profile_older_than(cutoff, limit)
            .await
    }
}

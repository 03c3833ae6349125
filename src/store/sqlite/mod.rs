//! The SQLite store: one database file (or `sqlite::memory:`) with foreign keys enforced on
//! every connection, WAL journaling and a busy timeout. Writes run in `BEGIN IMMEDIATE`
//! transactions so concurrent writers queue on the busy timeout instead of failing on a lock
//! upgrade.

mod binding;
mod ledger;
mod upsert;

use crate::store::apply::{apply_planned, unit_timestamp, BookkeepingError, UnitTransaction};
use crate::store::database_url::mask_url;
use crate::store::diagnose::{database_error, TupleLookup};
use crate::store::names::{pedigree_master, registered_columns, registered_table};
use crate::store::options::StoreOptions;
use crate::store::plan::{plan_unit, WriteGroup};
use crate::store::read_sql;
use crate::store::upsert_sql::quote_ident;
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fetchers::rows::{Counts, TableCounts, UnitOfWork};
use fetchers::store::{ApplyMode, RunFinish, RunId, RunRecord, RunTrigger, Store, StoreError};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row as _, Sqlite, Transaction};
use std::collections::HashSet;
use std::str::FromStr;

pub use binding::date_text;

/// The SQLite migrations, embedded at build time (ordered and checksummed).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Keys per lookup statement (below SQLite's historical 999-parameter limit).
const LOOKUP_PARAMS: usize = 900;

/// A Paddock database in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// Whether a SQLite URL names an in-memory database (which lives as long as a connection).
fn is_in_memory(database_url: &str) -> bool {
    database_url.contains(":memory:") || database_url.contains("mode=memory")
}

/// Connect options for `sqlite://path`, `sqlite:path`, `sqlite::memory:` or a plain path.
pub fn connect_options(
    database_url: &str,
    options: &StoreOptions,
) -> anyhow::Result<SqliteConnectOptions> {
    let url = database_url.trim();
    let base = if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid SQLite URL {}", mask_url(url)))?
    } else if url == ":memory:" {
        SqliteConnectOptions::from_str("sqlite::memory:")?
    } else {
        SqliteConnectOptions::new().filename(url)
    };
    Ok(base
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(options.busy_timeout))
}

impl SqliteStore {
    /// Opens (creating if missing, with its parent directory) the database at `database_url`.
    pub async fn open(database_url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        let connect = connect_options(database_url, options)?;
        let in_memory = is_in_memory(database_url);
        if !in_memory {
            if let Some(parent) = connect.get_filename().parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).with_context(|| {
                        format!("creating the directory of {}", mask_url(database_url))
                    })?;
                }
            }
        }
        let pool_options = if in_memory {
            // One connection that never closes: the in-memory database lives with it.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(options.max_connections.max(1))
        };
        let pool = pool_options
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .with_context(|| format!("opening SQLite database {}", mask_url(database_url)))?;
        Ok(SqliteStore { pool })
    }

    /// A store over an existing pool (whose connections must enforce foreign keys).
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteStore { pool }
    }

    /// The connection pool, for tools and tests.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Runs the pending embedded migrations (a no-op on an up-to-date database).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .context("migrating the SQLite database")
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// One unit's SQLite write transaction.
struct SqliteUnit(Transaction<'static, Sqlite>);

#[async_trait]
impl UnitTransaction for SqliteUnit {
    async fn upsert_group(
        &mut self,
        group: &WriteGroup,
        physical_name: &str,
        run_id: RunId,
        now: DateTime<Utc>,
    ) -> Result<TableCounts, sqlx::Error> {
        upsert::upsert_group(&mut self.0, group, physical_name, run_id, now).await
    }

    async fn record_unit(
        &mut self,
        run_id: RunId,
        unit: &UnitOfWork,
        counts: &Counts,
        now: DateTime<Utc>,
    ) -> Result<(), BookkeepingError> {
        ledger::record_unit(&mut self.0, run_id, unit, counts, now).await
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        self.0.commit().await
    }

    async fn rollback(self) -> Result<(), sqlx::Error> {
        self.0.rollback().await
    }
}

#[async_trait]
impl TupleLookup for SqliteStore {
    async fn existing_tuples(
        &self,
        table: &str,
        columns: &[&str],
        tuples: &[Vec<String>],
    ) -> Result<HashSet<Vec<String>>, StoreError> {
        let (table, _) = registered_columns(table, columns)?;
        let selected: Vec<String> = columns
            .iter()
            .map(|c| format!("CAST(t.{} AS TEXT)", quote_ident(c)))
            .collect();
        let per_chunk = (LOOKUP_PARAMS / columns.len()).max(1);
        let mut found = HashSet::new();
        for chunk in tuples.chunks(per_chunk) {
            let sql =
                upsert::key_membership_sql(&selected.join(", "), columns, table.name, chunk.len());
            let mut query = sqlx::query(&sql);
            for tuple in chunk {
                for value in tuple {
                    query = query.bind(value.as_str());
                }
            }
            let rows = query
                .fetch_all(&self.pool)
                .await
                .map_err(|e| database_error(Some(table.name), &e))?;
            for row in rows {
                let tuple = (0..columns.len())
                    .map(|i| row.try_get::<String, _>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| database_error(Some(table.name), &e))?;
                found.insert(tuple);
            }
        }
        Ok(found)
    }
}

fn read_error(table: Option<&str>) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| database_error(table, &e)
}

#[async_trait]
impl Store for SqliteStore {
    async fn apply(
        &self,
        run_id: RunId,
        unit: &UnitOfWork,
        mode: ApplyMode,
    ) -> Result<Counts, StoreError> {
        let groups = plan_unit(&unit.rows)?;
        let now = unit_timestamp();
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(read_error(None))?;
        apply_planned(self, SqliteUnit(tx), groups, run_id, unit, mode, now).await
    }

    async fn existing_keys(
        &self,
        table: &str,
        column: &str,
        keys: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let tuples: Vec<Vec<String>> = keys.iter().map(|k| vec![k.clone()]).collect();
        let found = self.existing_tuples(table, &[column], &tuples).await?;
        Ok(found.into_iter().filter_map(|mut t| t.pop()).collect())
    }

    async fn start_run(
        &self,
        job: &str,
        trigger: RunTrigger,
        params: serde_json::Value,
    ) -> Result<RunId, StoreError> {
        ledger::start_run(&self.pool, job, trigger, &params)
            .await
            .map_err(read_error(Some("paddock_runs")))
    }

    async fn finish_run(&self, run_id: RunId, finish: &RunFinish) -> Result<(), StoreError> {
        let found = ledger::finish_run(&self.pool, run_id, finish)
            .await
            .map_err(read_error(Some("paddock_runs")))?;
        if !found {
            return Err(StoreError::Database {
                table: Some("paddock_runs".into()),
                message: format!("no run {run_id}"),
            });
        }
        Ok(())
    }

    async fn run_counts(&self, run_id: RunId) -> Result<Counts, StoreError> {
        ledger::run_counts(&self.pool, run_id)
            .await
            .map_err(read_error(Some("paddock_run_tables")))
    }

    async fn recent_runs(&self, limit: i64) -> Result<Vec<RunRecord>, StoreError> {
        ledger::recent_runs(&self.pool, limit)
            .await
            .map_err(read_error(Some("paddock_runs")))
    }

    async fn horses_without_profile(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(&read_sql::horses_without_profile_sql("?"))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(read_error(Some("ra_mst_horses")))
    }

    async fn unlinked_pedigree_ids(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let table = pedigree_master(table)?;
        sqlx::query_scalar(&read_sql::unlinked_pedigree_ids_sql(table))
            .fetch_all(&self.pool)
            .await
            .map_err(read_error(Some(table.name)))
    }

    async fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        ledger::get_state(&self.pool, key)
            .await
            .map_err(read_error(Some("paddock_state")))
    }

    async fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        let table = registered_table(table)?;
        sqlx::query_scalar(&read_sql::count_rows_sql(table))
            .fetch_one(&self.pool)
            .await
            .map_err(read_error(Some(table.name)))
    }

    async fn runner_names(
        &self,
        race_ids: &[String],
    ) -> Result<Vec<fetchers::store::RunnerName>, StoreError> {
        crate::store::runner_names::sqlite(&self.pool, race_ids).await
    }

    async fn horses_with_profile_older_than(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        crate::store::profile_refresh::sqlite(&self.pool, cutoff, limit).await
    }
}

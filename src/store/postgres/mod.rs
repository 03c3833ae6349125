//! The PostgreSQL store: a connection pool whose every connection carries an explicit
//! `statement_timeout` and `lock_timeout`, bulk upserts bound as arrays (`UNNEST`), and set
//! lookups with `= ANY($1)`.

mod arrays;
mod ledger;
mod upsert;

use crate::store::apply::{apply_planned, unit_timestamp, BookkeepingError, UnitTransaction};
use crate::store::database_url::mask_url;
use crate::store::diagnose::{database_error, TupleLookup};
use crate::store::names::{pedigree_master, registered_columns, registered_table};
use crate::store::options::{postgres_duration, StoreOptions};
use crate::store::plan::{plan_unit, WriteGroup};
use crate::store::read_sql;
use crate::store::upsert_sql::quote_ident;
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType;
use fetchers::rows::{Counts, TableCounts, UnitOfWork};
use fetchers::schema::Dialect;
use fetchers::store::{ApplyMode, RunFinish, RunId, RunRecord, RunTrigger, Store, StoreError};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row as _, Transaction};
use std::collections::HashSet;
use std::str::FromStr;

/// The PostgreSQL migrations, embedded at build time (ordered and checksummed).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Keys per lookup statement.
const LOOKUP_CHUNK: usize = 10_000;

/// A Paddock database in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// Connect options for a `postgres://` URL, with the timeouts of `options` set on every
/// connection.
pub fn connect_options(
    database_url: &str,
    options: &StoreOptions,
) -> anyhow::Result<PgConnectOptions> {
    let connect = PgConnectOptions::from_str(database_url.trim())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("invalid PostgreSQL URL {}", mask_url(database_url)))?;
    Ok(connect.application_name("paddock").options([
        (
            "statement_timeout",
            postgres_duration(options.statement_timeout),
        ),
        ("lock_timeout", postgres_duration(options.lock_timeout)),
    ]))
}

impl PgStore {
    /// Connects a pool to `database_url`.
    pub async fn connect(database_url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        let connect = connect_options(database_url, options)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("connecting to PostgreSQL at {}", mask_url(database_url)))?;
        Ok(PgStore { pool })
    }

    /// A store over an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        PgStore { pool }
    }

    /// The connection pool, for tools and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs the pending embedded migrations (a no-op on an up-to-date database).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .context("migrating the PostgreSQL database")
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// One unit's PostgreSQL write transaction.
struct PgUnit(Transaction<'static, Postgres>);

#[async_trait]
impl UnitTransaction for PgUnit {
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

/// The SQL type a text key is cast to for comparison with a column of type `ty`.
fn cast_for(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Serial => "BIGINT",
        other => Dialect::Postgres.column_type(other),
    }
}

#[async_trait]
impl TupleLookup for PgStore {
    async fn existing_tuples(
        &self,
        table: &str,
        columns: &[&str],
        tuples: &[Vec<String>],
    ) -> Result<HashSet<Vec<String>>, StoreError> {
        let (table, declared) = registered_columns(table, columns)?;
        let target = quote_ident(table.name);
        let sql = if let [only] = declared.as_slice() {
            if only.ty == ColumnType::Text {
                // The common case: one text key column, an index lookup with = ANY.
                format!(
                    "SELECT {col} FROM {target} WHERE {col} = ANY($1::text[])",
                    col = quote_ident(only.name)
                )
            } else {
                format!(
                    "SELECT k.c0 FROM UNNEST($1::text[]) AS k(c0) WHERE EXISTS \
                     (SELECT 1 FROM {target} AS t WHERE t.{} = k.c0::{})",
                    quote_ident(only.name),
                    cast_for(only.ty)
                )
            }
        } else {
            let arrays: Vec<String> = (1..=declared.len())
                .map(|i| format!("${i}::text[]"))
                .collect();
            let aliases: Vec<String> = (0..declared.len()).map(|i| format!("c{i}")).collect();
            let matches: Vec<String> = declared
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let cast = if c.ty == ColumnType::Text {
                        String::new()
                    } else {
                        format!("::{}", cast_for(c.ty))
                    };
                    format!("t.{} = k.c{i}{cast}", quote_ident(c.name))
                })
                .collect();
            format!(
                "SELECT k.* FROM UNNEST({}) AS k({}) WHERE EXISTS \
                 (SELECT 1 FROM {target} AS t WHERE {})",
                arrays.join(", "),
                aliases.join(", "),
                matches.join(" AND ")
            )
        };
        let mut found = HashSet::new();
        for chunk in tuples.chunks(LOOKUP_CHUNK) {
            let mut query = sqlx::query(&sql);
            for position in 0..declared.len() {
                let array: Vec<&str> = chunk
                    .iter()
                    .map(|t| t.get(position).map_or("", String::as_str))
                    .collect();
                query = query.bind(array);
            }
            let rows = query
                .fetch_all(&self.pool)
                .await
                .map_err(|e| database_error(Some(table.name), &e))?;
            for row in rows {
                let tuple = (0..declared.len())
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
impl Store for PgStore {
    async fn apply(
        &self,
        run_id: RunId,
        unit: &UnitOfWork,
        mode: ApplyMode,
    ) -> Result<Counts, StoreError> {
        let groups = plan_unit(&unit.rows)?;
        let now = unit_timestamp();
        let tx = self.pool.begin().await.map_err(read_error(None))?;
        apply_planned(self, PgUnit(tx), groups, run_id, unit, mode, now).await
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
        sqlx::query_scalar(&read_sql::horses_without_profile_sql("$1"))
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
        crate::store::runner_names::postgres(&self.pool, race_ids).await
    }

    async fn horses_with_profile_older_than(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        crate::store::profile_refresh::postgres(&self.pool, cutoff, limit).await
    }
}

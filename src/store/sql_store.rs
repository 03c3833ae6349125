//! The one store implementation: [`SqlStore`] implements [`Store`] for any [`Dialect`], so
//! the `Store` glue, the ledger, the read queries and the diagnosis exist once.
//! [`crate::store::PgStore`] and [`crate::store::SqliteStore`] are this type with the
//! PostgreSQL and SQLite dialects.
//!
//! Physical table names come from a [`NameSource`]: fixed, or the database's rename phase,
//! read inside every unit's transaction ([`SqlStore::begin_unit`]) and at the start of every
//! read ([`SqlStore::current_physical_names`]); see `phase_follow`.

use crate::config::AlertRule;
use crate::store::apply::{apply_unit, PlannedUnit, UnitTransaction};
use crate::store::diagnose::{database_error, TupleLookup};
use crate::store::dialect::{self, Conn, Dialect, KeyLookup, Params};
use crate::store::ledger;
use crate::store::names::{pedigree_master, registered_columns, registered_table};
use crate::store::phase_follow::{read_stored_phase, NameSource, PhaseFollower};
use crate::store::physical::PhysicalNames;
use crate::store::plan::plan_unit;
use crate::store::read_sql;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType;
use fetchers::rows::{Counts, UnitOfWork, Value};
use fetchers::store::{
    ApplyMode, RunFinish, RunId, RunRecord, RunTrigger, RunnerName, StateKey, Store, StoreError,
};
use sqlx::pool::PoolConnection;
use sqlx::{Pool, Transaction};
use std::collections::HashSet;
use std::sync::Arc;

/// A Paddock database of one backend: a pool and where its physical table names come from.
#[derive(Debug)]
pub struct SqlStore<D: Dialect> {
    pool: Pool<D::Db>,
    names: NameSource,
    /// The session name each write transaction carries while it runs (PostgreSQL's
    /// `application_name`, set local to the transaction): the daemon's jobs share one pool,
    /// and `pg_stat_activity` still shows which job a busy session works for.
    transaction_name: Option<Arc<str>>,
    /// The alert rules each unit evaluates in its transaction (`store::alerts`).
    alert_rules: Arc<[AlertRule]>,
}

impl<D: Dialect> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
            names: self.names.clone(),
            transaction_name: self.transaction_name.clone(),
            alert_rules: self.alert_rules.clone(),
        }
    }
}

fn read_error(table: Option<&str>) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| database_error(table, &e)
}

impl<D: Dialect> SqlStore<D> {
    /// A store over an existing pool, every table under its registry name.
    pub fn from_pool(pool: Pool<D::Db>) -> Self {
        SqlStore {
            pool,
            names: NameSource::Fixed(Arc::new(PhysicalNames::registry())),
            transaction_name: None,
            alert_rules: Arc::from(Vec::new()),
        }
    }

    /// The same store evaluating `rules` in every unit's transaction (`store::alerts`).
    pub fn with_alert_rules(mut self, rules: &[AlertRule]) -> Self {
        self.alert_rules = Arc::from(rules.to_vec());
        self
    }

    /// The same store naming each write transaction's session `name` while it runs
    /// ([`Dialect::NAME_TRANSACTION`]; the connection's own name returns at the commit).
    pub fn naming_transactions(mut self, name: &str) -> Self {
        self.transaction_name = Some(Arc::from(name));
        self
    }

    /// The same store writing and reading registry tables under fixed `physical` names.
    pub fn with_physical_names(mut self, physical: PhysicalNames) -> Self {
        self.names = NameSource::Fixed(Arc::new(physical));
        self
    }

    /// The same store following the database's rename phase: every unit and every read uses
    /// the names of the phase current at its start.
    pub fn following_phase(mut self, follower: PhaseFollower) -> Self {
        self.names = NameSource::Phase(Arc::new(follower));
        self
    }

    /// The physical table names last decided (fixed, or of the phase last read); use
    /// [`Self::current_physical_names`] to read with.
    pub fn physical_names(&self) -> Arc<PhysicalNames> {
        self.names.last()
    }

    /// The physical table names to read with now: the phase read again when the store
    /// follows it (one single-row read), else the fixed names.
    pub async fn current_physical_names(&self) -> Result<Arc<PhysicalNames>, StoreError> {
        match &self.names {
            NameSource::Fixed(names) => Ok(names.clone()),
            NameSource::Phase(follower) => {
                let mut conn = self.connection(Some("paddock_state")).await?;
                let stored = read_stored_phase::<D>(&mut conn, false)
                    .await
                    .map_err(read_error(Some("paddock_state")))?;
                follower.names(stored.as_deref())
            }
        }
    }

    /// Opens a unit's write transaction and decides, inside it, the names the unit writes:
    /// the phase read with a share lock when the store follows it (a transition waits for
    /// the unit; see `phase_follow`).
    pub async fn begin_unit(&self) -> Result<UnitTransaction<D>, StoreError> {
        let mut tx = self.begin_write().await.map_err(read_error(None))?;
        let names = match &self.names {
            NameSource::Fixed(names) => names.clone(),
            NameSource::Phase(follower) => {
                // On an error the dropped transaction rolls back.
                let stored = read_stored_phase::<D>(&mut *tx, true)
                    .await
                    .map_err(read_error(Some("paddock_state")))?;
                follower.names(stored.as_deref())?
            }
        };
        Ok((tx, names))
    }

    /// Opens a write transaction ([`Dialect::BEGIN_WRITE`]: on SQLite it holds the write lock
    /// from the start).
    pub async fn begin_write(&self) -> Result<Transaction<'static, D::Db>, sqlx::Error> {
        let mut tx = self.pool.begin_with(D::BEGIN_WRITE).await?;
        if let (Some(name), Some(sql)) = (&self.transaction_name, D::NAME_TRANSACTION) {
            D::execute(&mut tx, sql, &[Value::Text(name.to_string())]).await?;
        }
        Ok(tx)
    }

    /// The connection pool, for tests and benches that check the database behind the store's
    /// back. Not for production code: it reaches the database through the store's operations
    /// (the tools through `tools.rs`), and the pool stays inside this type.
    #[doc(hidden)]
    pub fn pool_for_tests(&self) -> &Pool<D::Db> {
        &self.pool
    }

    /// Runs the pending embedded migrations (a no-op on an up-to-date database).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        D::migrate(&self.pool).await?;
        // Migration 0014 on SQLite leaves the archive's base64 bodies for Rust to decode.
        super::archive_bytes::convert_text_bodies::<D>(&self.pool, 500).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A pooled connection; `table` names what the caller is about to read or write, for
    /// the error.
    pub async fn connection(
        &self,
        table: Option<&str>,
    ) -> Result<PoolConnection<D::Db>, StoreError> {
        self.pool.acquire().await.map_err(read_error(table))
    }

    /// A connection of its own, beside the pool, with the pool's settings (for work that runs
    /// at the same time as a transaction holding one of the pool's: the derived rebuild's jobs).
    /// The caller closes it.
    pub async fn separate_connection(&self) -> Result<Conn<D>, sqlx::Error> {
        <Conn<D> as sqlx::Connection>::connect_with(&self.pool.connect_options()).await
    }

    /// A single-column text query with at most one integer parameter.
    async fn fetch_texts(
        &self,
        table: &str,
        sql: &str,
        params: &[Value],
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.connection(Some(table)).await?;
        let rows = dialect::fetch::<D>(&mut conn, sql, params, &[ColumnType::Text])
            .await
            .map_err(read_error(Some(table)))?;
        Ok(rows
            .into_iter()
            .filter_map(|row| row.into_iter().next())
            .map(|v| v.key_text())
            .collect())
    }
}

#[async_trait]
impl<D: Dialect> TupleLookup for SqlStore<D> {
    async fn existing_tuples(
        &self,
        table: &str,
        columns: &[&str],
        tuples: &[Vec<String>],
    ) -> Result<HashSet<Vec<String>>, StoreError> {
        let (table, declared) = registered_columns(table, columns)?;
        let names = self.current_physical_names().await?;
        let physical = names.read(table);
        let mut conn = self.connection(Some(physical)).await?;
        let per_chunk = (D::LOOKUP_CHUNK / declared.len()).max(1);
        let held: Vec<&str> = (declared.iter())
            .map(|c| names.column(table, physical, c.name))
            .collect();
        let mut found = HashSet::new();
        for chunk in tuples.chunks(per_chunk) {
            let lookup = KeyLookup {
                physical_name: physical,
                columns: &declared,
                names: &held,
                tuples: chunk,
            };
            let rows = D::lookup_tuples(&mut conn, &lookup)
                .await
                .map_err(read_error(Some(physical)))?;
            found.extend(rows);
        }
        Ok(found)
    }
}

#[async_trait]
impl<D: Dialect> Store for SqlStore<D> {
    async fn apply(
        &self,
        run_id: RunId,
        unit: &UnitOfWork,
        mode: ApplyMode,
    ) -> Result<Counts, StoreError> {
        let groups = plan_unit(&unit.rows)?;
        let write = PlannedUnit {
            groups: &groups,
            rules: &self.alert_rules,
            run_id,
            unit,
        };
        apply_unit::<D, _, _>(|| self.begin_unit(), self, &write, mode).await
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
        let mut conn = self.connection(Some("paddock_runs")).await?;
        ledger::start_run::<D>(&mut conn, job, trigger, &params)
            .await
            .map_err(read_error(Some("paddock_runs")))
    }

    async fn finish_run(&self, run_id: RunId, finish: &RunFinish) -> Result<(), StoreError> {
        let mut conn = self.connection(Some("paddock_runs")).await?;
        let found = ledger::finish_run::<D>(&mut conn, run_id, finish)
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
        let mut conn = self.connection(Some("paddock_run_tables")).await?;
        ledger::run_counts::<D>(&mut conn, run_id)
            .await
            .map_err(read_error(Some("paddock_run_tables")))
    }

    async fn recent_runs(&self, limit: i64) -> Result<Vec<RunRecord>, StoreError> {
        let mut conn = self.connection(Some("paddock_runs")).await?;
        ledger::recent_runs::<D>(&mut conn, limit)
            .await
            .map_err(read_error(Some("paddock_runs")))
    }

    async fn horses_without_profile(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        let mut p = Params::<D>::new();
        let placeholder = p.add(Value::Integer(limit), ColumnType::Integer);
        let physical = self.current_physical_names().await?;
        let sql = read_sql::horses_without_profile_sql(&physical, &placeholder)?;
        let horses = fetchers::registry::TableName::HORSES.table();
        self.fetch_texts(physical.read(horses), &sql, p.values())
            .await
    }

    async fn unlinked_pedigree_ids(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let table = pedigree_master(table)?;
        let physical = self.current_physical_names().await?;
        let sql = read_sql::unlinked_pedigree_ids_sql(&physical, table);
        self.fetch_texts(physical.read(table), &sql, &[]).await
    }

    async fn runner_names(&self, race_ids: &[String]) -> Result<Vec<RunnerName>, StoreError> {
        /// Race ids per statement (well under SQLite's parameter limit).
        const CHUNK: usize = 500;
        let runners = fetchers::registry::TableName::RUNNERS.table();
        let physical = self.current_physical_names().await?;
        let table = physical.read(runners);
        let mut conn = self.connection(Some(table)).await?;
        let mut out = Vec::new();
        for chunk in race_ids.chunks(CHUNK) {
            let mut p = Params::<D>::new();
            let list: Vec<String> = chunk
                .iter()
                .map(|id| p.add(Value::Text(id.clone()), ColumnType::Text))
                .collect();
            let sql = read_sql::runner_names_sql(&physical, &list.join(", "))?;
            let columns = [ColumnType::Text; 4];
            let rows = dialect::fetch::<D>(&mut conn, &sql, p.values(), &columns)
                .await
                .map_err(read_error(Some(table)))?;
            out.extend(rows.into_iter().map(|row| {
                let mut cells = row.into_iter().map(|v| match v {
                    Value::Null => None,
                    v => Some(v.key_text()),
                });
                let mut next = || cells.next().flatten();
                RunnerName {
                    race_id: next().unwrap_or_default(),
                    horse_id: next().unwrap_or_default(),
                    name: next().unwrap_or_default(),
                    name_with_suffix: next(),
                }
            }));
        }
        Ok(out)
    }

    async fn horses_with_profile_older_than(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut p = Params::<D>::new();
        let cutoff = p.add(Value::Timestamp(cutoff), ColumnType::Timestamp);
        let limit = p.add(Value::Integer(limit), ColumnType::Integer);
        let physical = self.current_physical_names().await?;
        let sql = read_sql::horses_with_profile_older_than_sql(&physical, &cutoff, &limit)?;
        let horses = fetchers::registry::TableName::HORSES.table();
        self.fetch_texts(physical.read(horses), &sql, p.values())
            .await
    }

    async fn get_state(&self, key: &StateKey) -> Result<Option<String>, StoreError> {
        let mut conn = self.connection(Some("paddock_state")).await?;
        ledger::get_state::<D>(&mut conn, key)
            .await
            .map_err(read_error(Some("paddock_state")))
    }

    async fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        let table = registered_table(table)?;
        let names = self.current_physical_names().await?;
        let physical = names.read(table);
        let sql = read_sql::count_rows_sql(&names, table);
        let mut conn = self.connection(Some(physical)).await?;
        let rows = dialect::fetch::<D>(&mut conn, &sql, &[], &[ColumnType::Integer])
            .await
            .map_err(read_error(Some(physical)))?;
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Integer(n)) => Ok(*n),
            _ => Ok(0),
        }
    }
}

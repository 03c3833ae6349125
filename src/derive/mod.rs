//! The derived tables (`ra_runner_statistics`, `ra_entity_combinations`,
//! `ra_performance_by_distance`, `ra_performance_by_venue`): computed in set-based SQL from
//! `ra_runners` and the masters, never from API payloads, never with an API request.
//!
//! - [`update_touched`]: after a results run, recompute only the groups the run's races name,
//!   in one transaction right after the run (called by `app::run_job`).
//! - [`rebuild_full`]: recompute everything in one transaction; [`run_full_rebuild`] does it
//!   as its own ledger job ([`FULL_REBUILD_JOB`], `paddock derive --full`), which the daemon
//!   schedules weekly ([`FULL_REBUILD_DEFAULT_CRON`]).
//! - [`query`]: the reads behind `paddock query`.
//!
//! What each figure means is defined once, in [`sql`]. Rows written are counted in the ledger
//! (`paddock_run_tables`) under the run that caused them: a recomputed group counts as
//! `updated`, a group new to the table as `inserted`.

pub mod query;
pub mod sql;

use crate::app::RunResult;
use crate::store::AnyStore;
use fetchers::derived::DistanceBands;
use fetchers::jobs::JobReport;
use fetchers::rows::{format_timestamp, Counts, TableCounts};
use fetchers::schema::Dialect;
use fetchers::store::{RunId, RunTrigger, StoreError};
use sql::{Effect, Scope, Statement};
use std::collections::BTreeMap;
use std::time::Instant;

/// The ledger's name for the full rebuild job.
pub const FULL_REBUILD_JOB: &str = "derive_full";

/// When the daemon runs the full rebuild by default: 04:00 every Sunday. The seam for the
/// scheduler: a `JobKind` entry named [`FULL_REBUILD_JOB`] with this cron, whose run is
/// [`run_full_rebuild`] with [`RunTrigger::Schedule`].
pub const FULL_REBUILD_DEFAULT_CRON: &str = "0 4 * * SUN";

/// Recomputes the derived groups named by the races run `run_id` wrote (see [`sql`] for the
/// scope), in one transaction, and adds the rows written to that run's ledger counters.
pub async fn update_touched(
    store: &AnyStore,
    bands: &DistanceBands,
    run_id: RunId,
) -> Result<Counts, StoreError> {
    execute(store, bands, Scope::Touched(run_id), run_id).await
}

/// Recomputes every derived table from scratch in one transaction, marking the rows and the
/// ledger counters with `run_id`.
pub async fn rebuild_full(
    store: &AnyStore,
    bands: &DistanceBands,
    run_id: RunId,
) -> Result<Counts, StoreError> {
    execute(store, bands, Scope::Full, run_id).await
}

/// The full rebuild as its own ledger job: opens a run, rebuilds, closes the run with its
/// status and counts. Makes no API request.
pub async fn run_full_rebuild(
    store: &AnyStore,
    bands: &DistanceBands,
    trigger: RunTrigger,
) -> anyhow::Result<RunResult> {
    let params = serde_json::json!({ "distance_bands": bands.bounds() });
    crate::app::run_recorded(
        store,
        FULL_REBUILD_JOB,
        trigger,
        params,
        |run_id| async move {
            let mut report = JobReport::default();
            let outcome = rebuild_full(store, bands, run_id)
                .await
                .map(|counts| report.counts = counts)
                .map_err(|e| e.to_string());
            (outcome, report)
        },
    )
    .await
}

fn dialect(store: &AnyStore) -> Dialect {
    match store {
        AnyStore::Sqlite(_) => Dialect::Sqlite,
        AnyStore::Postgres(_) => Dialect::Postgres,
    }
}

/// Per-table written and deleted row counts, turned into ledger counts.
#[derive(Default)]
struct Tally(BTreeMap<&'static str, (u64, u64)>);

impl Tally {
    fn record(&mut self, effect: Effect, rows: u64) {
        match effect {
            Effect::None => {}
            Effect::Deleted(t) => self.0.entry(t).or_default().1 += rows,
            Effect::Written(t) => self.0.entry(t).or_default().0 += rows,
        }
    }

    fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for table in sql::DERIVED_TABLES {
            let (written, deleted) = self.0.get(table).copied().unwrap_or_default();
            let replaced = written.min(deleted);
            *counts.entry(table) = TableCounts {
                inserted: written - replaced,
                updated: replaced,
                ..TableCounts::default()
            };
        }
        counts
    }
}

/// The ledger statement adding `counts` to run `run_id`'s per-table counters.
fn ledger_sql(run_id: RunId, table: &str, c: &TableCounts) -> String {
    format!(
        "INSERT INTO paddock_run_tables (run_id, table_name, inserted, updated, unchanged, \
         rejected) VALUES ({run_id}, '{table}', {}, {}, 0, 0) ON CONFLICT (run_id, table_name) \
         DO UPDATE SET inserted = paddock_run_tables.inserted + excluded.inserted, \
         updated = paddock_run_tables.updated + excluded.updated",
        c.inserted, c.updated
    )
}

fn database_error(e: sqlx::Error, statement: &Statement) -> StoreError {
    let table = match statement.effect {
        Effect::Deleted(t) | Effect::Written(t) => Some(t.to_string()),
        Effect::None => Some("derived scratch tables".to_string()),
    };
    StoreError::Database {
        table,
        message: e.to_string(),
    }
}

/// Runs a plan in one transaction on either backend (the transaction types differ, the steps
/// do not).
macro_rules! run_plan {
    ($pool:expr, $plan:expr, $run_id:expr) => {{
        let plan: &[Statement] = $plan;
        let mut tx = $pool.begin().await.map_err(|e| StoreError::Database {
            table: None,
            message: e.to_string(),
        })?;
        let mut tally = Tally::default();
        for statement in plan {
            let t = Instant::now();
            let done = sqlx::query(&statement.sql)
                .persistent(false)
                .execute(&mut *tx)
                .await
                .map_err(|e| database_error(e, statement))?;
            tracing::debug!(
                elapsed_ms = t.elapsed().as_millis() as u64,
                rows = done.rows_affected(),
                statement = %statement.sql.chars().take(100).collect::<String>(),
                "derive statement"
            );
            tally.record(statement.effect, done.rows_affected());
        }
        let counts = tally.counts();
        for (table, c) in &counts.0 {
            sqlx::query(&ledger_sql($run_id, table, c))
                .persistent(false)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Database {
                    table: Some("paddock_run_tables".into()),
                    message: e.to_string(),
                })?;
        }
        tx.commit().await.map_err(|e| StoreError::Database {
            table: None,
            message: e.to_string(),
        })?;
        Ok(counts)
    }};
}

async fn execute(
    store: &AnyStore,
    bands: &DistanceBands,
    scope: Scope,
    run_id: RunId,
) -> Result<Counts, StoreError> {
    let now = format_timestamp(&chrono::Utc::now());
    let mut plan = sql::plan(dialect(store), bands, scope, run_id, &now);
    // The plan names the registry's tables; a database in a rename phase keeps some masters
    // under their legacy names (see `tables`), so read each under its physical name, of the
    // phase current now (`store::phase_follow`).
    let physical = store.current_physical_names().await?;
    for table in fetchers::registry::TABLES {
        let read = physical.read(table);
        if read != table.name {
            for statement in &mut plan {
                statement.sql = statement.sql.replace(table.name, read);
            }
        }
    }
    let started = Instant::now();
    let counts: Result<Counts, StoreError> = match store {
        AnyStore::Sqlite(s) => run_plan!(s.pool(), &plan, run_id),
        AnyStore::Postgres(s) => run_plan!(s.pool(), &plan, run_id),
    };
    let counts = counts?;
    let written: u64 = counts.0.values().map(|c| c.inserted + c.updated).sum();
    tracing::info!(
        run_id = run_id.get(),
        scope = ?scope,
        rows_written = written,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "derived tables recomputed"
    );
    Ok(counts)
}

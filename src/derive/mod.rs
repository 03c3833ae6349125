//! The derived tables (`ra_runner_statistics`, `ra_entity_combinations`,
//! `ra_performance_by_distance`, `ra_performance_by_venue`): computed in set-based SQL from
//! `ra_runners` and the masters, never from API payloads, never with an API request.
//!
//! - [`update_touched`]: after every writer (results run, import, backfill, replay), bring the
//!   groups of the races marked pending up to date by running totals (`totals`), in one
//!   transaction: its cost is the races', not the groups' history. A database without the
//!   bookkeeping of what was counted (just migrated) gets a full rebuild instead.
//! - [`rebuild_full`]: recompute everything in one transaction; `run::run_full_rebuild` does
//!   it as its own ledger job ([`FULL_REBUILD_JOB`], `paddock derive --full`), which the daemon
//!   schedules weekly ([`FULL_REBUILD_DEFAULT_CRON`]).
//! - [`query`]: the reads behind `paddock query`.
//!
//! What each figure means is defined once, in [`sql`]. Rows written are counted in the ledger
//! (`paddock_run_tables`) under the run that caused them: a recomputed group counts as
//! `updated`, a group new to the table as `inserted`.

pub mod plan;
pub mod query;
pub mod sql;
mod staged;
pub mod steps;
mod together;
mod totals;

pub use sql::is_staged;
pub use staged::Recreated;

use crate::store::dialect::Dialect;
use crate::store::{ledger, with_backend, AnyStore, SqlStore};
use fetchers::derived::DistanceBands;
use fetchers::rows::{format_timestamp, Counts, TableCounts, Value};
use fetchers::schema::Dialect as SchemaDialect;
use fetchers::store::{RunId, StateKey, Store, StoreError};
use plan::Scope;
use std::collections::BTreeMap;
use std::time::Instant;
use steps::{Effect, Plan, Step};

/// The ledger's name for the full rebuild job (its `JobKind`'s name).
pub const FULL_REBUILD_JOB: &str = crate::config::JobKind::DeriveFull.name();

/// When the daemon runs the full rebuild by default: 04:00 every Sunday. The seam for the
/// scheduler: a `JobKind` entry named [`FULL_REBUILD_JOB`] with this cron, whose run is
/// `run::run_full_rebuild` with `RunTrigger::Schedule`.
pub const FULL_REBUILD_DEFAULT_CRON: &str = crate::config::JobKind::DeriveFull.spec().default_cron;

/// Recomputes the derived groups named by the races run `run_id` wrote (see [`sql`] for the
/// scope), in one transaction, and adds the rows written to that run's ledger counters.
pub async fn update_touched(
    store: &AnyStore,
    bands: &DistanceBands,
    run_id: RunId,
) -> Result<Counts, StoreError> {
    with_backend!(store, |s| update_touched_in(s, bands, run_id).await)
}

/// [`update_touched`] on one backend.
pub async fn update_touched_in<D: Dialect>(
    store: &SqlStore<D>,
    bands: &DistanceBands,
    run_id: RunId,
) -> Result<Counts, StoreError> {
    execute(store, bands, Scope::Touched, run_id).await
}

/// Recomputes every derived table from scratch in one transaction, marking the rows and the
/// ledger counters with `run_id`.
pub async fn rebuild_full(
    store: &AnyStore,
    bands: &DistanceBands,
    run_id: RunId,
) -> Result<Counts, StoreError> {
    with_backend!(store, |s| execute(s, bands, Scope::Full, run_id).await)
}

/// The prefix of the `paddock_state` key recording a derived table Paddock does not keep
/// (`derived_skipped:ra_entity_combinations`): on an adopted database another system's table
/// holds its name (written by `paddock adopt`, removed by `paddock adopt --move-aside`).
pub const SKIPPED_PREFIX: &str = "derived_skipped:";

/// The `paddock_state` key recording that derived table `table` is skipped.
pub fn skipped_key(table: &str) -> StateKey {
    StateKey::Named(format!("{SKIPPED_PREFIX}{table}"))
}

/// The derived tables skipped, each with why (registry name → the stored reason).
pub async fn skipped(store: &AnyStore) -> Result<BTreeMap<&'static str, String>, StoreError> {
    with_backend!(store, |s| skipped_in(s).await)
}

/// [`skipped`] on one backend.
pub async fn skipped_in<D: Dialect>(
    store: &SqlStore<D>,
) -> Result<BTreeMap<&'static str, String>, StoreError> {
    let mut out = BTreeMap::new();
    for table in sql::DERIVED_TABLES {
        if let Some(why) = store.get_state(&skipped_key(table)).await? {
            out.insert(table, why);
        }
    }
    Ok(out)
}

/// The `paddock_state` key recording what the derived tables were last rebuilt for (the
/// distance bands and the tables kept, [`basis`]). Running totals are right only on top of rows
/// counted the same way: an update finding another basis — `[derive] distance_bands` changed,
/// a table brought back by `paddock adopt --move-aside`, a database whose rows predate the
/// record — rebuilds everything instead.
pub const BASIS_KEY: &str = "derived_basis";

/// What the derived rows are computed for, as recorded under [`BASIS_KEY`].
fn basis(bands: &DistanceBands, kept: &[&str]) -> String {
    let bounds: Vec<String> = bands.bounds().iter().map(u32::to_string).collect();
    format!(
        "bands {}; tables {}; counted v{COUNTED_VERSION}",
        bounds.join(","),
        kept.join(",")
    )
}

/// The version of what [`sql::COUNTED`] records of each run, in the basis: raised when it
/// gains a column the running totals read (2: `sp_inverse`, migration 0017), since rows
/// counted before lack it and the next update must count every run again.
const COUNTED_VERSION: u32 = 2;

/// Per-table written and deleted row counts, turned into ledger counts.
#[derive(Default)]
struct Tally(BTreeMap<&'static str, (u64, u64)>);

impl Tally {
    fn record(&mut self, effect: Effect, rows: u64) {
        match effect {
            Effect::None => {}
            Effect::Deleted(t) | Effect::Replaced(t) => self.0.entry(t).or_default().1 += rows,
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

/// A database error on `table`, for the plan's transaction and the ledger.
fn failed(table: Option<&'static str>) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::Database {
        table: table.map(str::to_string),
        message: e.to_string(),
    }
}

/// Runs a plan: its own statements in one transaction, its jobs on connections of their own
/// ([`together::Workers`]) or, without any, in that transaction; adds the rows it wrote to run
/// `run_id`'s ledger counters in the same transaction. After a failure the transaction rolls
/// back and the plan's `on_failure` undoes what its jobs committed.
async fn run_plan<D: Dialect>(
    store: &SqlStore<D>,
    plan: &Plan,
    run_id: RunId,
    rebuilt_for: Option<&str>,
) -> Result<Counts, StoreError> {
    let mut tx = store.begin_write().await.map_err(failed(None))?;
    let mut workers = together::Workers::new(store);
    let result = match run_steps(&mut tx, &mut workers, plan, run_id, rebuilt_for).await {
        Ok(counts) => tx.commit().await.map(|()| counts).map_err(failed(None)),
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    };
    let undo: &[String] = if result.is_err() {
        &plan.on_failure
    } else {
        &[]
    };
    workers.finish(undo).await;
    result
}

/// The steps of [`run_plan`] in `tx`, then the basis and the ledger counts.
async fn run_steps<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D::Db>,
    workers: &mut together::Workers<'_, D>,
    plan: &Plan,
    run_id: RunId,
    rebuilt_for: Option<&str>,
) -> Result<Counts, StoreError> {
    let mut tally = Tally::default();
    for step in &plan.steps {
        match step {
            Step::Main(statement) => {
                let rows = together::run_statement::<D>(tx, statement).await?;
                tally.record(statement.effect, rows);
            }
            Step::Together(jobs) => match workers.run(jobs).await? {
                Some(done) => done.into_iter().for_each(|(e, rows)| tally.record(e, rows)),
                None => {
                    for statement in jobs.iter().flatten() {
                        let rows = together::run_statement::<D>(tx, statement).await?;
                        tally.record(statement.effect, rows);
                    }
                }
            },
        }
    }
    if let Some(basis) = rebuilt_for {
        let key = StateKey::Named(BASIS_KEY.into());
        let (sql, params) = ledger::set_state_sql::<D>(&key, basis, chrono::Utc::now());
        D::execute(tx, &sql, params.values())
            .await
            .map_err(failed(Some("paddock_state")))?;
    }
    let counts = tally.counts();
    ledger::add_run_counts::<D>(tx, run_id, &counts)
        .await
        .map_err(failed(Some("paddock_run_tables")))?;
    Ok(counts)
}

/// Whether [`sql::COUNTED`] holds any run (a full rebuild fills it).
async fn has_bookkeeping<D: Dialect>(store: &SqlStore<D>) -> Result<bool, StoreError> {
    let mut conn = store.connection(Some(sql::COUNTED)).await?;
    let sql = format!("SELECT 1 FROM {} LIMIT 1", sql::COUNTED);
    let rows = D::fetch_text(&mut conn, &sql, &[])
        .await
        .map_err(failed(Some(sql::COUNTED)))?;
    Ok(!rows.is_empty())
}

/// How SQLite's full rebuild drops and creates each of `tables` again ([`Recreated`]), read
/// from `sqlite_master`.
async fn recreated_tables<D: Dialect>(
    store: &SqlStore<D>,
    tables: &[&str],
) -> Result<Recreated, StoreError> {
    let mut conn = store.connection(None).await?;
    let mut out = Recreated::default();
    for table in tables {
        let params = [Value::Text(table.to_string())];
        let rows = D::fetch_text(&mut conn, Recreated::query(), &params)
            .await
            .map_err(failed(None))?;
        let definitions = (rows.into_iter())
            .filter_map(|row| Some((row.first()?.clone()?, row.get(1)?.clone()?)))
            .collect();
        out.add(table, definitions);
    }
    Ok(out)
}

async fn execute<D: Dialect>(
    store: &SqlStore<D>,
    bands: &DistanceBands,
    scope: Scope,
    run_id: RunId,
) -> Result<Counts, StoreError> {
    let now = format_timestamp(&chrono::Utc::now());
    // A database in a rename phase keeps some masters under their legacy names (see
    // `tables`): the plan names every table by its physical name, of the phase current now
    // (`store::phase_follow`).
    let physical = store.current_physical_names().await?;
    let dialect = D::KIND.schema_dialect();
    let skipped: Vec<&str> = skipped_in(store).await?.into_keys().collect();
    let kept: Vec<&str> = (sql::DERIVED_TABLES.iter().copied())
        .filter(|t| !skipped.contains(t))
        .collect();
    let basis = basis(bands, &kept);
    // Running totals need the bookkeeping of what was counted, counted for the same bands and
    // tables: without it (just migrated to 0016, no run yet, another basis) the update is a
    // full rebuild.
    let scope = match scope {
        Scope::Touched if !has_bookkeeping(store).await? => Scope::Full,
        Scope::Touched
            if store
                .get_state(&StateKey::Named(BASIS_KEY.into()))
                .await?
                .as_deref()
                != Some(basis.as_str()) =>
        {
            Scope::Full
        }
        scope => scope,
    };
    let recreated = match (dialect, scope) {
        (SchemaDialect::Sqlite, Scope::Full) => {
            let mut tables = vec![sql::COUNTED];
            tables.extend(kept.iter().map(|t| sql::physical_name(&physical, t)));
            recreated_tables(store, &tables).await?
        }
        _ => Recreated::default(),
    };
    let plan = plan::plan(
        dialect, &physical, &recreated, bands, scope, run_id, &now, &skipped,
    );
    let started = Instant::now();
    let rebuilt_for = (scope == Scope::Full).then_some(basis.as_str());
    let counts = run_plan(store, &plan, run_id, rebuilt_for).await?;
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

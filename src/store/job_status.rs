//! What the daemon and `paddock status` ask the run ledger per job — the latest run and the
//! last success — and a database liveness check. Written once over [`SqlStore`]; the
//! [`AnyStore`] functions choose the backend.

use super::dialect::{self, text, Cells, Dialect, Params};
use super::{with_backend, AnyStore, SqlStore};
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType::{Integer, Text, Timestamp};
use fetchers::store::RunId;

/// A job's latest run, as the per-job status shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestRun {
    pub run_id: RunId,
    pub trigger: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error_text: Option<String>,
}

/// Statuses that count as a completed run for catch-up and health: `partial` finished too (its
/// rejects are recorded), so it is not run again at start.
const COMPLETED: &str = "('succeeded', 'partial')";

/// When `job` last finished successfully (`succeeded` or `partial`).
pub async fn last_success(store: &AnyStore, job: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
    with_backend!(store, |s| last_success_in(s, job).await)
}

async fn last_success_in<D: Dialect>(
    store: &SqlStore<D>,
    job: &str,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "SELECT MAX(finished_at) FROM paddock_runs WHERE job = {} AND status IN {COMPLETED}",
        p.add(text(Some(job)), Text)
    );
    let mut conn = store.connection(Some("paddock_runs")).await?;
    let rows = dialect::fetch::<D>(&mut conn, &sql, p.values(), &[Timestamp]).await?;
    Ok(rows.first().and_then(|row| Cells(row).timestamp(0)))
}

/// `job`'s latest run, if it ever ran.
pub async fn latest_run(store: &AnyStore, job: &str) -> anyhow::Result<Option<LatestRun>> {
    with_backend!(store, |s| latest_run_in(s, job).await)
}

async fn latest_run_in<D: Dialect>(
    store: &SqlStore<D>,
    job: &str,
) -> anyhow::Result<Option<LatestRun>> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "SELECT run_id, run_trigger, status, started_at, finished_at, error_text \
         FROM paddock_runs WHERE job = {} ORDER BY run_id DESC LIMIT 1",
        p.add(text(Some(job)), Text)
    );
    let columns = [Integer, Text, Text, Timestamp, Timestamp, Text];
    let mut conn = store.connection(Some("paddock_runs")).await?;
    let rows = dialect::fetch::<D>(&mut conn, &sql, p.values(), &columns).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let cells = Cells(row);
    Ok(Some(LatestRun {
        run_id: RunId(cells.integer(0).unwrap_or_default()),
        trigger: cells.text(1).unwrap_or_default(),
        status: cells.text(2).unwrap_or_default(),
        started_at: (cells.timestamp(3)).ok_or_else(|| anyhow::anyhow!("a run without a start"))?,
        finished_at: cells.timestamp(4),
        error_text: cells.text(5),
    }))
}

/// What an interrupted run's ledger row says once [`close_interrupted_runs`] closed it.
pub const INTERRUPTED: &str =
    "interrupted: the daemon running it stopped before it finished (closed by its next run)";

/// Closes `job`'s ledger rows still `running` that a daemon started (trigger `schedule` or
/// `catch-up`) as `failed`, with [`INTERRUPTED`]. Only for a caller that holds `job`'s lock
/// and runs nothing of it: then no daemon can still be running them (their process was killed
/// or lost the database before it could record the end). Manual runs and backfills take no
/// job lock and are left alone. Returns how many rows it closed.
pub async fn close_interrupted_runs(store: &AnyStore, job: &str) -> anyhow::Result<u64> {
    with_backend!(store, |s| close_interrupted_runs_in(s, job).await)
}

async fn close_interrupted_runs_in<D: Dialect>(
    store: &SqlStore<D>,
    job: &str,
) -> anyhow::Result<u64> {
    use fetchers::store::{RunStatus, RunTrigger};
    let mut p = Params::<D>::new();
    let sql = format!(
        "UPDATE paddock_runs SET status = {}, finished_at = {}, error_text = {} \
         WHERE job = {} AND status = {} AND run_trigger IN ({}, {})",
        p.add(text(Some(RunStatus::Failed.name())), Text),
        p.add(fetchers::rows::Value::Timestamp(Utc::now()), Timestamp),
        p.add(text(Some(INTERRUPTED)), Text),
        p.add(text(Some(job)), Text),
        p.add(text(Some(RunStatus::Running.name())), Text),
        p.add(text(Some(RunTrigger::Schedule.name())), Text),
        p.add(text(Some(RunTrigger::CatchUp.name())), Text),
    );
    let mut conn = store.connection(Some("paddock_runs")).await?;
    Ok(D::execute(&mut conn, &sql, p.values()).await?)
}

/// Whether the database answers (`SELECT 1`).
pub async fn ping(store: &AnyStore) -> anyhow::Result<()> {
    with_backend!(store, |s| ping_in(s).await)
}

async fn ping_in<D: Dialect>(store: &SqlStore<D>) -> anyhow::Result<()> {
    let mut conn = store.connection(None).await?;
    D::execute(&mut conn, "SELECT 1", &[]).await?;
    Ok(())
}

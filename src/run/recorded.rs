//! [`run_recorded`], the one run wrapper that every recorded run shares (the scheduled jobs,
//! `paddock import`, backfill, replay, the derived tables' full rebuild and the audit): it
//! opens the ledger row, runs the body with the run's id, judges how it ended, closes the row
//! with the status and request totals, logs the outcome, and returns the [`RunResult`] with
//! the counts the ledger holds.

use super::error::RunError;
use super::name::JobName;
use super::result::RunResult;
use super::verdict::judge;
use fetchers::jobs::JobReport;
use fetchers::store::{RunFinish, RunId, RunStatus, RunTrigger, Store};
use std::future::Future;
use std::time::Instant;

/// How a run body ended: whether it stopped on an error, what it requested and wrote, the
/// problems it found, and its job-specific detail.
#[derive(Debug)]
pub struct Ended<D = ()> {
    pub outcome: Result<(), RunError>,
    pub report: JobReport,
    /// Problems the body found that make a run that ended well `partial` (the audit's
    /// violations), named first in its error text.
    pub findings: Vec<String>,
    pub detail: D,
}

impl Ended {
    /// A body's end without findings or detail.
    pub fn new(outcome: Result<(), RunError>, report: JobReport) -> Self {
        Ended {
            outcome,
            report,
            findings: Vec::new(),
            detail: (),
        }
    }
}

impl<D> Ended<D> {
    /// The same end carrying `detail`.
    pub fn with_detail<E>(self, detail: E) -> Ended<E> {
        Ended {
            outcome: self.outcome,
            report: self.report,
            findings: self.findings,
            detail,
        }
    }
}

/// Records one run of `job` around `body` (see the module doc). Fails only when the ledger
/// itself cannot be written; a body that failed is a `failed` result.
pub async fn run_recorded<D, F, Fut>(
    store: &dyn Store,
    job: JobName,
    trigger: RunTrigger,
    params: serde_json::Value,
    body: F,
) -> anyhow::Result<RunResult<D>>
where
    F: FnOnce(RunId) -> Fut,
    Fut: Future<Output = Ended<D>>,
{
    let started = Instant::now();
    let name = job.as_str();
    let run_id = store.start_run(name, trigger, params).await?;
    let id = run_id.get();
    tracing::info!(
        run_id = id,
        job = name,
        trigger = trigger.name(),
        "run started"
    );
    let ended = body(run_id).await;
    let (status, error) = judge(&ended.outcome, &ended.report, ended.findings);
    store
        .finish_run(
            run_id,
            &RunFinish {
                status,
                requests_by_endpoint: ended.report.requests.clone(),
                error_text: error.clone(),
            },
        )
        .await?;
    match &error {
        Some(e) if status == RunStatus::Failed => {
            tracing::error!(run_id = id, job = name, error = %e, "run failed")
        }
        Some(e) => {
            tracing::warn!(run_id = id, job = name, warning = %e, "run finished with problems")
        }
        None => tracing::info!(run_id = id, job = name, "run succeeded"),
    }
    let ledger_counts = store.run_counts(run_id).await?;
    Ok(RunResult {
        run_id,
        job,
        status,
        report: ended.report,
        error,
        elapsed: started.elapsed(),
        ledger_counts,
        detail: ended.detail,
    })
}

//! Running one job once: opens the ledger row, runs the grouped fetcher (or, for the jobs that
//! make no API request, the full rebuild of the derived tables or the audit), closes the row
//! with its status and figures, and renders the summary table. Used by `paddock run`, `paddock
//! demo`, `paddock import` and the daemon.

use crate::config::{Config, JobKind};
use crate::store::AnyStore;
use chrono::NaiveDate;
use fetchers::api::ApiSource;
use fetchers::jobs::{
    self, JobContext, JobError, JobReport, MasterEntitiesOptions, RacesAndRunnersPlan,
};
use fetchers::rows::Counts;
use fetchers::store::{ApplyMode, RunFinish, RunId, RunStatus, RunTrigger, Store};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

tokio::task_local! {
    /// The cancellation token of a run started by [`run_job_cancellable`] (the daemon's).
    static RUN_CANCEL: CancellationToken;
}

/// [`run_any`] whose fetch jobs stop between pages once `cancel` is cancelled (the daemon's
/// shutdown): the page in progress commits or rolls back whole, and the run is recorded
/// failed. The jobs without API requests are one transaction (the rebuild) or read-only (the
/// audit), and run to their end.
pub async fn run_job_cancellable(
    cancel: CancellationToken,
    config: &Config,
    api: &dyn ApiSource,
    store: &AnyStore,
    request: &JobRequest,
    trigger: RunTrigger,
    mode: ApplyMode,
) -> anyhow::Result<RunResult> {
    RUN_CANCEL
        .scope(cancel, run_any(config, api, store, request, trigger, mode))
        .await
}

/// Runs any job once and records it in the ledger: the fetch jobs through [`run_job`]; the
/// full rebuild of the derived tables ([`crate::derive::run_full_rebuild`]) and the audit
/// ([`crate::audit::job::run_recorded_audit`]) on the store alone, without an API request.
/// Those two have no dry run.
pub async fn run_any(
    config: &Config,
    api: &dyn ApiSource,
    store: &AnyStore,
    request: &JobRequest,
    trigger: RunTrigger,
    mode: ApplyMode,
) -> anyhow::Result<RunResult> {
    if !request.uses_api() {
        anyhow::ensure!(
            mode == ApplyMode::Commit,
            "{} has no dry run (it makes no API request; `paddock audit` only reads)",
            request.job_name()
        );
    }
    match request {
        JobRequest::DeriveFull => {
            crate::derive::run_full_rebuild(store, &config.distance_bands, trigger).await
        }
        JobRequest::Audit => crate::audit::job::run_recorded_audit(store, config, trigger).await,
        _ => run_job(config, api, store, request, trigger, mode).await,
    }
}

/// Exit status of a run that finished with rejected records or missing resources.
pub const EXIT_PARTIAL: i32 = 3;
/// Exit status of a run that failed.
pub const EXIT_FAILED: i32 = 1;

/// What to run.
#[derive(Debug, Clone)]
pub enum JobRequest {
    MasterReference,
    MasterEntities {
        weekly: bool,
    },
    RacesAndRunners(RacesAndRunnersPlan),
    /// MasterEntities asked to re-fetch profiles on purpose (`--horse`, `--refresh-older-than`).
    RefreshProfiles(jobs::ProfileRefresh),
    /// The full rebuild of the derived tables (no API request; see [`run_any`]).
    DeriveFull,
    /// The audit, recorded as a run (no API request; see [`run_any`]).
    Audit,
}

impl JobRequest {
    /// The job kind this request runs as.
    pub fn kind(&self) -> JobKind {
        match self {
            JobRequest::MasterReference => JobKind::MasterReference,
            JobRequest::MasterEntities { weekly: false } => JobKind::MasterEntitiesDaily,
            JobRequest::MasterEntities { weekly: true } => JobKind::MasterEntitiesWeekly,
            JobRequest::RacesAndRunners(_) => JobKind::RacesAndRunners,
            JobRequest::RefreshProfiles(_) => JobKind::MasterEntitiesDaily,
            JobRequest::DeriveFull => JobKind::DeriveFull,
            JobRequest::Audit => JobKind::Audit,
        }
    }

    /// The ledger's job name.
    pub fn job_name(&self) -> &'static str {
        self.kind().name()
    }

    /// Whether the run asks the API ([`run_job`]) or works on the stored data alone.
    pub fn uses_api(&self) -> bool {
        self.kind().uses_api()
    }

    /// The scheduled form of a job: its window computed from `today`.
    pub fn scheduled(kind: JobKind, config: &Config, today: NaiveDate) -> JobRequest {
        match kind {
            JobKind::MasterReference => JobRequest::MasterReference,
            JobKind::MasterEntitiesDaily => JobRequest::MasterEntities { weekly: false },
            JobKind::MasterEntitiesWeekly => JobRequest::MasterEntities { weekly: true },
            JobKind::RacesAndRunners => {
                let job = config.job(kind);
                JobRequest::RacesAndRunners(RacesAndRunnersPlan::window(
                    today,
                    job.racecard_days_ahead,
                    job.result_days_back,
                ))
            }
            JobKind::DeriveFull => JobRequest::DeriveFull,
            JobKind::Audit => JobRequest::Audit,
        }
    }

    fn params(&self) -> serde_json::Value {
        match self {
            JobRequest::RacesAndRunners(plan) => serde_json::json!({
                "racecard_dates": plan.racecard_dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                "results": plan.results.map(|(a, b)| [a.to_string(), b.to_string()]),
            }),
            JobRequest::MasterEntities { weekly } => serde_json::json!({ "weekly": weekly }),
            JobRequest::MasterReference => serde_json::json!({}),
            JobRequest::RefreshProfiles(r) => serde_json::json!({
                "horses": r.horses,
                "refresh_older_than_days": r.older_than_days,
            }),
            // Recorded by their own functions, with their own parameters.
            JobRequest::DeriveFull | JobRequest::Audit => serde_json::json!({}),
        }
    }
}

/// The outcome of one run.
#[derive(Debug)]
pub struct RunResult {
    pub run_id: RunId,
    pub job: &'static str,
    pub status: RunStatus,
    pub report: JobReport,
    pub error: Option<String>,
    pub elapsed: Duration,
    /// Counts as stored in the ledger (equal to `report.counts` unless the run was a dry run).
    pub ledger_counts: Counts,
    /// What an audit run found (a run of the audit job that completed its checks; `None`
    /// otherwise): the daemon exports it as metrics.
    pub audit: Option<crate::audit::job::AuditCounts>,
}

impl RunResult {
    /// The process exit status for this run.
    pub fn exit_code(&self) -> i32 {
        exit_code(self.status)
    }
}

/// The process exit status for a run's outcome: the one mapping every command uses.
pub fn exit_code(status: RunStatus) -> i32 {
    match status {
        RunStatus::Succeeded | RunStatus::Running | RunStatus::Skipped => 0,
        RunStatus::Partial => EXIT_PARTIAL,
        RunStatus::Failed => EXIT_FAILED,
    }
}

/// Runs one fetch job once and records it in the ledger. A job without API requests is refused
/// here, before the ledger: [`run_any`] runs it.
pub async fn run_job(
    config: &Config,
    api: &dyn ApiSource,
    store: &dyn Store,
    request: &JobRequest,
    trigger: RunTrigger,
    mode: ApplyMode,
) -> anyhow::Result<RunResult> {
    let job = request.job_name();
    anyhow::ensure!(
        request.uses_api(),
        "{job} makes no API request: it runs through app::run_any"
    );
    run_recorded(store, job, trigger, request.params(), |run_id| async move {
        let mut ctx = JobContext::new(api, store, run_id, mode, config.api.regions.clone());
        if let Ok(cancel) = RUN_CANCEL.try_with(CancellationToken::clone) {
            ctx.cancel = cancel;
        }
        let outcome: Result<(), JobError> = match request {
            JobRequest::MasterReference => {
                jobs::master_reference(&mut ctx, &config.bookmakers).await
            }
            JobRequest::MasterEntities { weekly } => {
                let kind = if *weekly {
                    JobKind::MasterEntitiesWeekly
                } else {
                    JobKind::MasterEntitiesDaily
                };
                let settings = config.job(kind);
                jobs::master_entities(
                    &mut ctx,
                    MasterEntitiesOptions {
                        profile_budget: settings.profile_budget,
                        include_pedigree_horses: settings.include_pedigree_horses,
                        link_pedigree: *weekly,
                    },
                )
                .await
            }
            JobRequest::RacesAndRunners(plan) => jobs::races_and_runners(&mut ctx, plan).await,
            JobRequest::RefreshProfiles(refresh) => {
                let budget = config.job(JobKind::MasterEntitiesDaily).profile_budget;
                jobs::refresh_profiles(&mut ctx, refresh, budget, chrono::Utc::now()).await
            }
            JobRequest::DeriveFull | JobRequest::Audit => unreachable!("refused above"),
        };
        let mut report = ctx.report;
        // Results change the derived tables: recompute the groups this run touched
        // (src/derive/), after the run's pages committed.
        let outcome = match (outcome, request) {
            (Ok(()), JobRequest::RacesAndRunners(_)) if mode == ApplyMode::Commit => store
                .update_derived(run_id, &config.distance_bands)
                .await
                .map(|derived| report.counts.add(&derived))
                .map_err(JobError::from),
            (outcome, _) => outcome,
        };
        (outcome.map_err(|e| e.to_string()), report)
    })
    .await
}

/// The one run wrapper (fetch jobs, `paddock import`, the derived-table rebuild): opens a
/// ledger row, runs `body` with the run's id, judges how it ended ([`judge`]), closes the row
/// with the status and request totals, logs the outcome, and returns the run's result with the
/// counts the ledger holds.
pub async fn run_recorded<F, Fut>(
    store: &dyn Store,
    job: &'static str,
    trigger: RunTrigger,
    params: serde_json::Value,
    body: F,
) -> anyhow::Result<RunResult>
where
    F: FnOnce(RunId) -> Fut,
    Fut: std::future::Future<Output = (Result<(), String>, JobReport)>,
{
    run_recorded_with_findings(store, job, trigger, params, |run_id| async move {
        let (outcome, report) = body(run_id).await;
        (outcome, report, Vec::new())
    })
    .await
}

/// [`run_recorded`] for a body that also reports findings (the audit's violations): a run
/// that ended without an error but with findings is `partial`, its error text naming them.
pub async fn run_recorded_with_findings<F, Fut>(
    store: &dyn Store,
    job: &'static str,
    trigger: RunTrigger,
    params: serde_json::Value,
    body: F,
) -> anyhow::Result<RunResult>
where
    F: FnOnce(RunId) -> Fut,
    Fut: std::future::Future<Output = (Result<(), String>, JobReport, Vec<String>)>,
{
    let started = Instant::now();
    let run_id = store.start_run(job, trigger, params).await?;
    let id = run_id.get();
    tracing::info!(run_id = id, job, trigger = trigger.name(), "run started");
    let (outcome, report, findings) = body(run_id).await;
    let (status, error) = judge_with_findings(outcome, &report, findings);
    store
        .finish_run(
            run_id,
            &RunFinish {
                status,
                requests_by_endpoint: report.requests.clone(),
                error_text: error.clone(),
            },
        )
        .await?;
    match &error {
        Some(e) if status == RunStatus::Failed => {
            tracing::error!(run_id = id, job, error = %e, "run failed")
        }
        Some(e) => tracing::warn!(run_id = id, job, warning = %e, "run finished with problems"),
        None => tracing::info!(run_id = id, job, "run succeeded"),
    }
    let ledger_counts = store.run_counts(run_id).await?;
    Ok(RunResult {
        run_id,
        job,
        status,
        report,
        error,
        elapsed: started.elapsed(),
        ledger_counts,
        audit: None,
    })
}

/// A run's status and error text from how it ended and what it saw: failed if it stopped on an
/// error; partial if records were rejected or resources missing; succeeded otherwise.
pub fn judge(outcome: Result<(), String>, report: &JobReport) -> (RunStatus, Option<String>) {
    judge_with_findings(outcome, report, Vec::new())
}

/// [`judge`], where `findings` (problems the body found, e.g. audit violations) also make a
/// run that ended well `partial`.
fn judge_with_findings(
    outcome: Result<(), String>,
    report: &JobReport,
    findings: Vec<String>,
) -> (RunStatus, Option<String>) {
    if let Err(e) = outcome {
        return (RunStatus::Failed, Some(e));
    }
    let mut problems = findings;
    if report.counts.rejected() > 0 {
        problems.push(format!(
            "{} records rejected (see paddock_rejects)",
            report.counts.rejected()
        ));
    }
    if !report.missing.is_empty() {
        problems.push(format!(
            "{} resources not found: {}",
            report.missing.len(),
            report.missing.join(", ")
        ));
    }
    if problems.is_empty() {
        (RunStatus::Succeeded, None)
    } else {
        (RunStatus::Partial, Some(problems.join("; ")))
    }
}

/// The summary table printed after a run.
pub fn render_summary(result: &RunResult, dry_run: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "run {} {} — {}{} in {:.1} s\n",
        result.run_id,
        result.job,
        result.status.name(),
        if dry_run {
            " (dry run: rolled back)"
        } else {
            ""
        },
        result.elapsed.as_secs_f64()
    ));
    out.push_str("\nrequests by endpoint\n");
    if result.report.requests.is_empty() {
        out.push_str("  (none)\n");
    }
    for (endpoint, n) in &result.report.requests {
        out.push_str(&format!("  {endpoint:<28} {n:>8}\n"));
    }
    out.push_str(&format!(
        "  {:<28} {:>8}\n",
        "total",
        result.report.total_requests()
    ));
    out.push_str(&format!(
        "\n{:<22} {:>9} {:>9} {:>9} {:>9}\n",
        "table", "inserted", "updated", "unchanged", "rejected"
    ));
    for (table, c) in &result.report.counts.0 {
        out.push_str(&format!(
            "{table:<22} {:>9} {:>9} {:>9} {:>9}\n",
            c.inserted, c.updated, c.unchanged, c.rejected
        ));
    }
    if result.report.unknown_fields > 0 {
        out.push_str(&format!(
            "\nunknown fields tolerated in payloads: {}\n",
            result.report.unknown_fields
        ));
    }
    if let Some(e) = &result.error {
        out.push_str(&format!("\n{}: {e}\n", result.status.name()));
    }
    out
}

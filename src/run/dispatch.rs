//! What to run ([`JobRequest`]) and running it once: [`run_any`] for every job kind,
//! [`run_job`] for the fetch jobs (the grouped fetcher in a recorded run, then the derived
//! tables for what a results run touched, then the alerts' delivery). Used by `paddock run`, `paddock demo` and the
//! daemon.

use super::context::RunContext;
use super::error::RunError;
use super::recorded::{run_recorded, Ended};
use super::result::{JobDetail, RunResult};
use super::store_jobs::{run_full_rebuild, run_publish, run_recorded_audit, run_retention};
use crate::config::{Config, JobKind};
use crate::store::AnyStore;
use chrono::NaiveDate;
use fetchers::api::ApiSource;
use fetchers::jobs::{self, JobContext, JobError, MasterEntitiesOptions, RacesAndRunnersPlan};
use fetchers::store::ApplyMode;

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
    /// The SQLite analytics copy, recorded as a run (no API request; see [`run_any`]).
    Publish,
    /// Retention, recorded as a run (no API request; the one of them with a dry run).
    Retention,
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
            JobRequest::Publish => JobKind::Publish,
            JobRequest::Retention => JobKind::Retention,
        }
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
            JobKind::Publish => JobRequest::Publish,
            JobKind::Retention => JobRequest::Retention,
        }
    }

    /// The run's parameters in the ledger.
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
            JobRequest::DeriveFull
            | JobRequest::Audit
            | JobRequest::Publish
            | JobRequest::Retention => serde_json::json!({}),
        }
    }
}

/// Runs any job once and records it in the ledger: the fetch jobs through [`run_job`]; the
/// full rebuild of the derived tables, the audit and the publish on the store alone, without
/// an API request ([`super::store_jobs`]). Those have no dry run but retention (which counts
/// instead of deleting), and run to their end whatever `run.cancel` says (one transaction, or
/// read-only) but retention (which stops between two batches).
pub async fn run_any(
    config: &Config,
    api: &dyn ApiSource,
    store: &AnyStore,
    request: &JobRequest,
    run: &RunContext,
) -> anyhow::Result<RunResult> {
    if !request.uses_api() && !matches!(request, JobRequest::Retention) {
        anyhow::ensure!(
            run.mode == ApplyMode::Commit,
            "{} has no dry run (it makes no API request; `paddock audit` only reads)",
            request.kind().name()
        );
    }
    match request {
        JobRequest::DeriveFull => {
            run_full_rebuild(store, &config.distance_bands, run.trigger).await
        }
        JobRequest::Audit => run_recorded_audit(store, config, run.trigger).await,
        JobRequest::Publish => run_publish(store, config, run.trigger).await,
        JobRequest::Retention => run_retention(store, config, run).await,
        _ => run_job(config, api, store, request, run).await,
    }
}

/// Runs one fetch job once and records it in the ledger; it stops between pages once
/// `run.cancel` is cancelled. A job without API requests is refused here, before the ledger:
/// [`run_any`] runs it.
pub async fn run_job(
    config: &Config,
    api: &dyn ApiSource,
    store: &AnyStore,
    request: &JobRequest,
    run: &RunContext,
) -> anyhow::Result<RunResult> {
    let kind = request.kind();
    anyhow::ensure!(
        request.uses_api(),
        "{} makes no API request: it runs through run::run_any",
        kind.name()
    );
    let mode = run.mode;
    let body = |run_id| async move {
        let mut ctx = JobContext::new(api, store, run_id, mode, config.api.regions.clone());
        ctx.cancel = run.cancel.clone();
        let mut outcome = fetch(&mut ctx, config, request)
            .await
            .map_err(RunError::from);
        let mut report = ctx.report;
        // Results change the derived tables: recompute the groups this run touched
        // (src/derive/), after the run's pages committed, also when it stopped early (what it
        // committed counts).
        // A shutdown stops the update too (its transaction rolls back, the races stay marked
        // for the next run), so SIGTERM never waits for it.
        let results = matches!(request, JobRequest::RacesAndRunners(_));
        if results && mode == ApplyMode::Commit {
            let update = crate::derive::update_touched(store, &config.distance_bands, run_id);
            match run.cancel.run_until_cancelled(update).await {
                Some(Ok(derived)) => report.counts.add(&derived),
                Some(Err(e)) if outcome.is_ok() => outcome = Err(RunError::from(e)),
                Some(Err(e)) => {
                    tracing::error!(error = %e, "the derived tables were not brought up to date")
                }
                None if outcome.is_ok() => outcome = Err(RunError::Cancelled("the derived update")),
                None => {}
            }
        }
        // The alerts' outbox, after the run's units committed (also when it stopped early):
        // what this run triggered, and whatever an earlier process left unsent.
        if mode == ApplyMode::Commit {
            let delivery = crate::alerts::delivery::deliver_unsent(store, &config.alerts);
            if let Some(Err(e)) = run.cancel.run_until_cancelled(delivery).await {
                tracing::warn!(error = %format!("{e:#}"), "delivering the alerts failed");
            }
        }
        Ended::new(outcome, report).with_detail(JobDetail::default())
    };
    run_recorded(store, kind.into(), run.trigger, request.params(), body).await
}

/// The grouped fetcher a fetch request runs.
async fn fetch(
    ctx: &mut JobContext<'_>,
    config: &Config,
    request: &JobRequest,
) -> Result<(), JobError> {
    match request {
        JobRequest::MasterReference => jobs::master_reference(ctx, &config.bookmakers).await,
        JobRequest::MasterEntities { weekly } => {
            let settings = config.job(request.kind());
            let options = MasterEntitiesOptions {
                profile_budget: settings.profile_budget,
                include_pedigree_horses: settings.include_pedigree_horses,
                link_pedigree: *weekly,
            };
            jobs::master_entities(ctx, options).await
        }
        JobRequest::RacesAndRunners(plan) => jobs::races_and_runners(ctx, plan).await,
        JobRequest::RefreshProfiles(refresh) => {
            let budget = config.job(JobKind::MasterEntitiesDaily).profile_budget;
            jobs::refresh_profiles(ctx, refresh, budget, chrono::Utc::now()).await
        }
        JobRequest::DeriveFull
        | JobRequest::Audit
        | JobRequest::Publish
        | JobRequest::Retention => unreachable!("refused by run_job: no API request"),
    }
}

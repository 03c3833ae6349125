//! Starting the daemon's runs: one task per run through [`crate::run::run_any`], with a
//! [`RunContext`] cancelled at shutdown (every job kind, the fetch jobs and those without API
//! requests alike), at most one run per
//! job at a time (a tick that fires while its job still runs is recorded in
//! the ledger as `skipped`), and a shutdown that stops every run between pages.

use crate::config::{Config, JobKind, Window};
use crate::run::{self, JobRequest, RunContext, RunResult};
use crate::store::{job_status, AnyStore};
use chrono::{DateTime, NaiveDate, Utc};
use fetchers::api::ApiSource;
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunFinish, RunId, RunStatus, RunTrigger, Store};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A run to start.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub job: JobKind,
    pub trigger: RunTrigger,
    pub window: Window,
    /// The fire time the run is for (recorded in logs and skipped rows).
    pub fire_time: DateTime<Utc>,
}

/// What [`Runner::dispatch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatched {
    Started,
    /// The job was still running; this ledger row records the skipped tick.
    Skipped(RunId),
}

/// A run that ended: its job, how long it took, and the result (an error if even the ledger
/// could not be written).
#[derive(Debug)]
pub struct Finished {
    pub job: JobKind,
    pub elapsed: Duration,
    pub result: anyhow::Result<RunResult>,
}

/// The daemon's running jobs.
pub struct Runner {
    store: AnyStore,
    api: Arc<dyn ApiSource>,
    running: Arc<Mutex<BTreeSet<JobKind>>>,
    tasks: JoinSet<Finished>,
    shutdown: CancellationToken,
}

impl Runner {
    pub fn new(store: AnyStore, api: Arc<dyn ApiSource>) -> Self {
        Runner {
            store,
            api,
            running: Arc::default(),
            tasks: JoinSet::new(),
            shutdown: CancellationToken::new(),
        }
    }

    /// Whether `job` has a run in progress.
    pub fn is_running(&self, job: JobKind) -> bool {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&job)
    }

    /// Starts a run of `what.job` with `config`, unless the job is still running, in which
    /// case the tick is recorded in the ledger as skipped.
    pub async fn dispatch(
        &mut self,
        config: Arc<Config>,
        what: Dispatch,
        today: NaiveDate,
    ) -> anyhow::Result<Dispatched> {
        let job = what.job;
        let newly_marked = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(job);
        if !newly_marked {
            let run_id = self.record_skipped(&what).await?;
            tracing::warn!(
                job = job.name(),
                run_id = run_id.get(),
                fire_time = %what.fire_time,
                "tick skipped: the previous run of this job is still running"
            );
            return Ok(Dispatched::Skipped(run_id));
        }
        // This instance holds the job's lock and runs nothing of it: a `running` row a daemon
        // left is from a process that was killed or lost the database before it could record
        // how the run ended.
        match job_status::close_interrupted_runs(&self.store, job.name()).await {
            Ok(0) => {}
            Ok(closed) => tracing::warn!(
                job = job.name(),
                closed,
                "closed runs left `running` by a daemon that stopped before they finished"
            ),
            Err(e) => tracing::warn!(
                job = job.name(),
                error = %format!("{e:#}"),
                "could not close runs left `running` by an earlier daemon"
            ),
        }
        let request = request_for(&config, job, what.window, today);
        // The job's write transactions name their session after it (`paddock:daemon:<job>`
        // in pg_stat_activity while they run).
        let store =
            (self.store.clone()).naming_transactions(&format!("paddock:daemon:{}", job.name()));
        let (api, running) = (self.api.clone(), self.running.clone());
        let context = RunContext::new(what.trigger, ApplyMode::Commit)
            .cancelled_by(self.shutdown.child_token());
        tracing::info!(job = job.name(), trigger = what.trigger.name(), fire_time = %what.fire_time, "tick");
        self.tasks.spawn(async move {
            let started = std::time::Instant::now();
            let result = run::run_any(&config, api.as_ref(), &store, &request, &context).await;
            running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&job);
            Finished {
                job,
                elapsed: started.elapsed(),
                result,
            }
        });
        Ok(Dispatched::Started)
    }

    /// The next run to end (`None` when none is running). Pending forever while runs go on,
    /// so it can sit in a `select!`.
    pub async fn next_finished(&mut self) -> Option<Finished> {
        loop {
            match self.tasks.join_next().await? {
                Ok(finished) => return Some(finished),
                Err(e) if e.is_cancelled() => continue,
                Err(e) => {
                    tracing::error!(error = %e, "a run task panicked");
                    continue;
                }
            }
        }
    }

    /// How many runs are in progress.
    pub fn in_progress(&self) -> usize {
        self.tasks.len()
    }

    /// Stops every run between pages and waits up to `grace` for them to record how they
    /// ended; runs still going after that are abandoned (their open transaction rolls back
    /// when dropped). Returns what ended in time.
    pub async fn shut_down(&mut self, grace: Duration) -> Vec<Finished> {
        self.shutdown.cancel();
        let mut ended = Vec::new();
        let deadline = tokio::time::Instant::now() + grace;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.next_finished()).await {
                Ok(Some(finished)) => ended.push(finished),
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        runs = self.tasks.len(),
                        "grace period over: abandoning runs still in progress"
                    );
                    self.tasks.abort_all();
                    break;
                }
            }
        }
        ended
    }

    async fn record_skipped(&self, what: &Dispatch) -> anyhow::Result<RunId> {
        let params = serde_json::json!({ "fire_time": what.fire_time.to_rfc3339() });
        let run_id = self
            .store
            .start_run(what.job.name(), what.trigger, params)
            .await?;
        self.store
            .finish_run(
                run_id,
                &RunFinish {
                    status: RunStatus::Skipped,
                    requests_by_endpoint: Default::default(),
                    error_text: Some(format!(
                        "skipped the {} tick: the previous run of this job was still running",
                        what.fire_time.to_rfc3339()
                    )),
                },
            )
            .await?;
        Ok(run_id)
    }
}

/// The request a tick runs: the job's scheduled form, with the schedule's window (where it has
/// one) in place of the job's.
pub fn request_for(config: &Config, job: JobKind, window: Window, today: NaiveDate) -> JobRequest {
    match job {
        JobKind::RacesAndRunners => {
            let settings = config.job(job);
            JobRequest::RacesAndRunners(RacesAndRunnersPlan::window(
                today,
                window
                    .racecard_days_ahead
                    .unwrap_or(settings.racecard_days_ahead),
                window.result_days_back.unwrap_or(settings.result_days_back),
            ))
        }
        other => JobRequest::scheduled(other, config, today),
    }
}

//! `paddock daemon`: runs every enabled job on its cron schedules in the configured time zone,
//! through [`crate::run::run_any`] — the same path as `paddock run`: the API jobs, the weekly
//! full rebuild of the derived tables (`derive_full`) and, when enabled, the audit (`audit`,
//! whose violation counts `/metrics` exports).
//!
//! - `timing.rs`: when a cron expression fires, right across DST changes (pure).
//! - `timetable.rs`: next fire times of every schedule; due ticks; catch-up (pure).
//! - `clock.rs`: the injectable clock.
//! - `runner.rs`: one task per run, no overlap (skipped ticks in the ledger), shutdown.
//! - `notify.rs`: systemd `Type=notify` messages.
//! - `http.rs`, `metrics.rs`: the optional `/healthz` and `/metrics` listener.
//!
//! One active instance per job: before running a job the daemon must hold its lock
//! ([`crate::store::locks`]); an instance that cannot take it is a hot standby for that job
//! and tries again every `[daemon] standby_poll_secs`. Taking a lock over (at start, or when
//! the active instance died) first checks for a missed run (catch-up).

pub mod clock;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod runner;
pub mod status;
pub mod timetable;
pub mod timing;

use crate::config::{Config, JobKind};
use crate::store::{job_status, locks::JobLocks, AnyStore};
use chrono::{DateTime, Utc};
use clock::Clock;
use fetchers::store::RunTrigger;
use runner::{Dispatch, Finished, Runner};
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use timetable::Timetable;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Reads the configuration afresh (at start and on every reload).
pub type ConfigLoader = Arc<dyn Fn() -> anyhow::Result<Config> + Send + Sync>;

/// How the daemon is told to stop or reload: by signals in production, directly in tests.
pub struct Controls {
    pub shutdown: CancellationToken,
    pub reload: mpsc::UnboundedReceiver<()>,
}

/// The longest the scheduler loop sleeps, so a changed wall clock is noticed soon.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// The longest a job-lock check may take (an unreachable database must not stall the loop
/// past the systemd watchdog).
const LOCK_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Controls wired to signals: SIGTERM and SIGINT stop, SIGHUP reloads.
pub fn signal_controls() -> anyhow::Result<Controls> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let shutdown = CancellationToken::new();
    let (reload_tx, reload) = mpsc::unbounded_channel();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); stop.cancel(); }
                _ = int.recv() => { tracing::info!("SIGINT: shutting down"); stop.cancel(); }
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    if reload_tx.send(()).is_err() { break; }
                }
            }
        }
    });
    Ok(Controls { shutdown, reload })
}

/// The daemon's running state.
struct Daemon {
    load: ConfigLoader,
    clock: Arc<dyn Clock>,
    store: AnyStore,
    locks: JobLocks,
    runner: Runner,
    timetable: Timetable,
    shared: Arc<http::Shared>,
    limiter: Arc<crate::client::SharedLimiter>,
    notifier: notify::Notifier,
    /// When the standby last tried to take the locks it lacks, in monotonic time: the poll is
    /// about elapsed time, not the schedule clock (which tests and a stepped system clock move).
    last_lock_poll: Option<tokio::time::Instant>,
    /// The time due ticks were last taken at: a reload's new timetable starts from here, so a
    /// tick that fell due just before the reload is not lost.
    last_checked: DateTime<Utc>,
}

/// Runs the daemon until `controls.shutdown` is cancelled; returns after the running jobs
/// stopped (or the grace period ran out). Errors only if it cannot start.
pub async fn run(
    load: ConfigLoader,
    clock: Arc<dyn Clock>,
    controls: Controls,
) -> anyhow::Result<()> {
    let Controls {
        shutdown,
        mut reload,
    } = controls;
    let config = Arc::new(load()?);
    // Jobs that fetch need the API's credentials: say so at start, before any request.
    if JobKind::ALL
        .into_iter()
        .any(|kind| kind.uses_api() && config.job(kind).enabled)
    {
        config.api.require_credentials()?;
    }
    let locks =
        JobLocks::for_database(config.database_url.expose(), &crate::store_options(&config))?;
    let store = crate::open_store_retrying(&config).await?;
    job_status::ping(&store).await?;
    // A configuration pinned to a rename phase refuses a database in another one.
    crate::rename::check_pinned_phase(&store, config.expected_rename_phase).await?;
    let client = crate::api_client(&config)?;
    let limiter = crate::process_limiter(config.api.rate_limit_per_second);
    let counts_client = client.clone();
    let metrics = metrics::Metrics::new(
        limiter.clone(),
        Box::new(move || counts_client.retry_counts()),
    )?;
    // The analytics copy's age is exported from the last publication the ledger knows.
    match crate::publish::last_publication(&store).await {
        Ok(Some(publication)) => metrics.set_analytics_copy(&publication),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot read the last publication"),
    }
    deliver_left_unsent(&store, &config);
    let mut client = client.with_hook(Arc::new(metrics::ResponseCounter(metrics.clone())));
    // Every response of every scheduled run goes into the raw archive too (on by default), so
    // `paddock replay` can rebuild what the daemon fetched without asking the API again.
    let archive = if config.archive.enabled {
        let target = crate::archive::ArchiveTarget::from_settings(&config.archive, &store);
        let archive = crate::archive::Archive::start(target);
        client = client.with_hook(archive.clone());
        Some(archive)
    } else {
        None
    };
    let shared = Arc::new(http::Shared {
        config: std::sync::RwLock::new(config.clone()),
        store: store.clone(),
        metrics,
        started: clock.now(),
    });
    let listener_stop = CancellationToken::new();
    if let Some(addr) = config.daemon.listen {
        http::serve(addr, shared.clone(), listener_stop.clone()).await?;
    }
    let now = clock.now();
    let mut daemon = Daemon {
        timetable: Timetable::new(&config, now),
        runner: Runner::new(store.clone(), Arc::new(client)),
        load,
        clock,
        store,
        locks,
        shared,
        limiter,
        notifier: notify::Notifier::new(),
        last_lock_poll: None,
        last_checked: now,
    };
    tracing::info!(
        database = %config.database_url,
        time_zone = config.time_zone.name(),
        "daemon started"
    );
    daemon.take_locks_and_catch_up().await;
    daemon.notifier.ready(&daemon.status_line());

    loop {
        let sleep = daemon.sleep_before_next_tick();
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(()) = reload.recv() => daemon.reload().await,
            Some(finished) = daemon.runner.next_finished() => daemon.finished(finished).await,
            _ = tokio::time::sleep(sleep) => {}
        }
        daemon.notifier.watchdog();
        daemon.take_locks_and_catch_up().await;
        daemon.fire_due_ticks().await;
    }

    daemon.notifier.stopping();
    let grace = daemon.config().daemon.grace;
    tracing::info!(
        runs = daemon.runner.in_progress(),
        grace_secs = grace.as_secs(),
        "stopping: running jobs stop after their current page"
    );
    for finished in daemon.runner.shut_down(grace).await {
        daemon.finished(finished).await;
    }
    daemon.locks.release_all().await;
    if let Some(archive) = archive {
        match archive.close().await {
            Ok(archived) => tracing::info!(archived, "raw archive closed"),
            Err(error) => tracing::error!(error = %error, "raw archive: responses were not kept"),
        }
    }
    listener_stop.cancel();
    daemon.store.close().await;
    tracing::info!("daemon stopped");
    Ok(())
}

impl Daemon {
    fn config(&self) -> Arc<Config> {
        self.shared.config()
    }

    fn sleep_before_next_tick(&self) -> Duration {
        let now = self.clock.now();
        let until_tick = self
            .timetable
            .next_due()
            .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(MAX_SLEEP);
        let mut sleep = until_tick.min(MAX_SLEEP);
        if let Some(watchdog) = self.notifier.max_sleep() {
            sleep = sleep.min(watchdog);
        }
        sleep
    }

    /// Starts every due tick of a job whose lock this instance holds.
    async fn fire_due_ticks(&mut self) {
        let now = self.clock.now();
        let ticks = self.timetable.take_due(now);
        self.last_checked = now;
        if ticks.is_empty() {
            return;
        }
        let config = self.config();
        for tick in ticks {
            let job = tick.job.name();
            match self.try_hold(job).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(job, "standby: another instance runs this job");
                    continue;
                }
                Err(e) => {
                    tracing::error!(job, error = %format!("{e:#}"), "tick not run: the job lock cannot be checked");
                    continue;
                }
            }
            let dispatch = Dispatch {
                job: tick.job,
                trigger: RunTrigger::Schedule,
                window: tick.window,
                fire_time: tick.fire_time,
            };
            self.dispatch(&config, dispatch).await;
        }
        self.notifier.status(&self.status_line());
    }

    /// [`JobLocks::try_hold`] within [`LOCK_CHECK_TIMEOUT`].
    async fn try_hold(&self, job: &str) -> anyhow::Result<bool> {
        tokio::time::timeout(LOCK_CHECK_TIMEOUT, self.locks.try_hold(job))
            .await
            .map_err(|_| {
                anyhow::anyhow!("no answer from the database within {LOCK_CHECK_TIMEOUT:?}")
            })?
    }

    async fn dispatch(&mut self, config: &Arc<Config>, dispatch: Dispatch) {
        let job = dispatch.job.name();
        let today = self
            .clock
            .now()
            .with_timezone(&config.time_zone)
            .date_naive();
        if let Err(e) = self.runner.dispatch(config.clone(), dispatch, today).await {
            tracing::error!(job, error = %format!("{e:#}"), "the run could not be started or recorded");
        }
    }

    /// Tries to take the locks of enabled jobs this instance lacks (at most every
    /// `standby_poll`), and runs a catch-up for each job it newly holds that missed a run.
    async fn take_locks_and_catch_up(&mut self) {
        let config = self.config();
        let now = self.clock.now();
        let polled_at = tokio::time::Instant::now();
        if self
            .last_lock_poll
            .is_some_and(|t| polled_at.duration_since(t) < config.daemon.standby_poll)
        {
            return;
        }
        self.last_lock_poll = Some(polled_at);
        for job in config.jobs.values().filter(|j| j.enabled) {
            let name = job.kind.name();
            if self.locks.holds(name).await {
                continue;
            }
            match self.try_hold(name).await {
                Ok(true) => tracing::info!(job = name, "this instance is now active for the job"),
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(job = name, error = %format!("{e:#}"), "cannot take the job lock");
                    continue;
                }
            }
            self.catch_up(&config, job.kind, now).await;
        }
    }

    /// Runs `job` once (trigger `catch-up`) if its last success predates its latest fire time.
    async fn catch_up(&mut self, config: &Arc<Config>, job: JobKind, now: DateTime<Utc>) {
        let name = job.name();
        let last = match job_status::last_success(&self.store, name).await {
            Ok(last) => last,
            Err(e) => {
                tracing::error!(job = name, error = %format!("{e:#}"), "cannot read the ledger for catch-up");
                return;
            }
        };
        if let Some(t) = last {
            self.shared.metrics.set_last_success(name, t);
        }
        let settings = config.job(job);
        let Some(missed) = timetable::needs_catch_up(config, settings, last, now) else {
            return;
        };
        tracing::info!(job = name, missed = %missed, last_success = ?last, "catching up a missed run");
        let window = settings
            .schedules
            .iter()
            .filter_map(|s| Some((s.previous_at_or_before(config.time_zone, now)?, s.window)))
            .max_by_key(|(t, _)| *t)
            .map(|(_, w)| w)
            .unwrap_or_default();
        let dispatch = Dispatch {
            job,
            trigger: RunTrigger::CatchUp,
            window,
            fire_time: missed,
        };
        self.dispatch(config, dispatch).await;
    }

    /// Logs and counts a run that ended.
    async fn finished(&mut self, finished: Finished) {
        let job = finished.job.name();
        match &finished.result {
            Ok(result) => {
                self.shared.metrics.record_run(job, result);
                if matches!(
                    result.status,
                    fetchers::store::RunStatus::Succeeded | fetchers::store::RunStatus::Partial
                ) {
                    self.shared.metrics.set_last_success(job, Utc::now());
                }
            }
            Err(e) => {
                // The ledger itself could not be written (the database is away): say so here.
                self.shared.metrics.record_unrecorded_failure(job);
                tracing::error!(
                    job,
                    elapsed_secs = finished.elapsed.as_secs_f64(),
                    error = %format!("{e:#}"),
                    "run failed and could not be recorded in the ledger"
                );
            }
        }
        self.notifier.status(&self.status_line());
    }

    /// Re-reads the configuration; a bad file is refused and the running one stays.
    async fn reload(&mut self) {
        self.notifier.reloading();
        match (self.load)() {
            Ok(new) => {
                let old = self.config();
                if new.database_url != old.database_url {
                    tracing::warn!(
                        "database.url changed: the new database is used after a restart"
                    );
                }
                if new.api.base_url != old.api.base_url
                    || new.api.timeout_secs != old.api.timeout_secs
                    || new.api.max_attempts != old.api.max_attempts
                {
                    tracing::warn!(
                        "api base_url, timeout_secs and max_attempts take effect after a restart"
                    );
                }
                self.limiter.set_rate(new.api.rate_limit_per_second);
                let new = Arc::new(new);
                self.timetable = Timetable::new(&new, self.last_checked);
                *self
                    .shared
                    .config
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = new.clone();
                // Jobs enabled by the reload may need their lock; poll now.
                self.last_lock_poll = None;
                tracing::info!(next = %self.status_line(), "configuration reloaded");
            }
            Err(e) => tracing::error!(
                error = %format!("{e:#}"),
                "configuration reload refused; the running configuration stays"
            ),
        }
        self.notifier.ready(&self.status_line());
    }

    /// "next: races_and_runners 18:00 BST, …" for systemd's STATUS.
    fn status_line(&self) -> String {
        let config = self.config();
        let next: Vec<String> = self
            .timetable
            .next_per_job()
            .into_iter()
            .take(3)
            .map(|(job, t)| {
                format!(
                    "{} {}",
                    job.name(),
                    t.with_timezone(&config.time_zone)
                        .format("%Y-%m-%d %H:%M:%S %Z")
                )
            })
            .collect();
        let running = self.runner.in_progress();
        format!("{running} running; next: {}", next.join(", "))
    }
}

/// Delivers, in the background, the alerts a killed process committed but never delivered
/// (the outbox; `alerts::delivery`).
fn deliver_left_unsent(store: &AnyStore, config: &Config) {
    let (outbox, settings) = (store.clone(), config.alerts.clone());
    tokio::spawn(async move {
        if let Err(e) = crate::alerts::delivery::deliver_unsent(&outbox, &settings).await {
            tracing::warn!(error = %format!("{e:#}"), "delivering the unsent alerts failed");
        }
    });
}

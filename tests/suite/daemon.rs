//! The daemon against the in-process simulator, on SQLite and PostgreSQL: scheduled runs land
//! in the ledger, SIGHUP swaps schedules (and refuses a bad file), SIGTERM mid-run stops between
//! pages and exits 0, overlapping ticks are recorded as skipped, missed runs are caught up
//! once, and two daemons on one database run each tick once with a hot standby; `/healthz` and
//! the systemd notifications. The jobs without API requests are in [`jobs_without_api`].
//!
//! Waiting is by polling the ledger until a condition holds (with a generous deadline that
//! only turns a hang into a failure); nothing asserts on elapsed time.

use crate::support::bin::paddock;
use crate::support::sim::{start_simulator, PASSWORD, USER};
use crate::support::wait::{wait_until, DEADLINE};
use crate::support::TestDb;
use paddock::config::{Config, JobKind};
use paddock::daemon::clock::ManualClock;
use paddock::daemon::runner::{Dispatch, Dispatched, Runner};
use paddock::simulator::{Faults, SimConfig, SimServer};
use paddock::store::AnyStore;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

mod jobs_without_api;

/// A simulator of seed 11 answering each request after `latency_ms`, on the real today: the
/// daemon's schedules run on the real clock.
async fn daemon_simulator(latency_ms: u64) -> SimServer {
    start_simulator(SimConfig {
        faults: Faults {
            latency_ms,
            ..Faults::default()
        },
        ..SimConfig::new(11, USER, PASSWORD)
    })
    .await
}

/// A configuration running only the given `[jobs.*]` sections (every other job disabled).
fn config_text(base_url: &str, database_url: &str, jobs: &str) -> String {
    let mut text = format!(
        "[api]\nbase_url = \"{base_url}\"\nrate_limit_per_second = 50\n\
         [database]\nurl = \"{database_url}\"\n\
         [daemon]\ngrace_secs = 20\nstandby_poll_secs = 1\n{jobs}\n"
    );
    for job in JobKind::ALL.map(JobKind::name) {
        if !jobs.contains(&format!("[jobs.{job}]")) {
            text.push_str(&format!("[jobs.{job}]\nenabled = false\n"));
        }
    }
    text
}

/// The daemon binary, its stderr kept in a file.
struct DaemonProcess {
    child: Child,
    stderr: PathBuf,
}

impl DaemonProcess {
    fn start(config: &Path, extra_args: &[&str]) -> DaemonProcess {
        Self::start_with_env(config, extra_args, &[])
    }

    fn start_with_env(config: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> DaemonProcess {
        let stderr = config.with_extension(format!("{}.log", rand_suffix()));
        let child = paddock()
            .arg("--config")
            .arg(config)
            .args(extra_args)
            .arg("daemon")
            .env("RACING_API_USERNAME", USER)
            .env("RACING_API_PASSWORD", PASSWORD)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start the daemon");
        DaemonProcess { child, stderr }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: signalling the child this test started.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill {signal}");
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the process to exit; its exit code.
    async fn exit_code(&mut self) -> Option<i32> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the daemon did not exit:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.scalar_i64(sql).await
}

backend_test!(
    the_daemon_runs_its_schedules_swaps_them_on_sighup_and_stops_between_pages_on_sigterm,
    |db| async move {
        let sim = daemon_simulator(250).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paddock.toml");
        let url = db.url();
        let write =
            |jobs: &str| std::fs::write(&file, config_text(&sim.base_url, &url, jobs)).unwrap();
        write("[jobs.master_reference]\ncron = \"*/2 * * * * *\"\n");
        let mut daemon = DaemonProcess::start(&file, &["--log-format", "json"]);

        // Scheduled runs land in the ledger.
        wait_until(
            "two scheduled master_reference runs",
            || daemon.log(),
            || async {
                (count(
                    &db,
                    "SELECT COUNT(*) FROM paddock_runs WHERE job = 'master_reference' \
                AND run_trigger = 'schedule' AND status = 'succeeded'",
                )
                .await
                    >= 2)
                    .then_some(())
            },
        )
        .await;

        // An invalid file is refused and the running configuration stays.
        write("[jobs.master_reference]\ncron = \"61 * * * *\"\n");
        daemon.signal(libc::SIGHUP);
        wait_until(
            "the refused reload",
            || daemon.log(),
            || async {
                daemon
                    .log()
                    .contains("configuration reload refused")
                    .then_some(())
            },
        )
        .await;
        assert!(
            daemon.log().contains("jobs.master_reference.cron"),
            "{}",
            daemon.log()
        );
        let before = count(&db, "SELECT COALESCE(MAX(run_id), 0) FROM paddock_runs").await;
        wait_until(
            "a run on the old schedule after the refused reload",
            || daemon.log(),
            || async {
                (count(
                    &db,
                    &format!(
                        "SELECT COUNT(*) FROM paddock_runs WHERE job = 'master_reference' \
                AND run_trigger = 'schedule' AND run_id > {before}"
                    ),
                )
                .await
                    >= 1)
                    .then_some(())
            },
        )
        .await;

        // A valid file swaps the schedules: races_and_runners instead of master_reference.
        write("[jobs.races_and_runners]\ncron = \"*/2 * * * * *\"\nracecard_days_ahead = 0\nresult_days_back = 2\n");
        daemon.signal(libc::SIGHUP);
        wait_until(
            "the reload",
            || daemon.log(),
            || async {
                daemon
                    .log()
                    .contains("configuration reloaded")
                    .then_some(())
            },
        )
        .await;
        let first_new: i64 = wait_until(
            "two scheduled races_and_runners runs",
            || daemon.log(),
            || async {
                let sql = "SELECT COUNT(*) FROM paddock_runs WHERE job = 'races_and_runners' \
                AND run_trigger = 'schedule'";
                if count(&db, sql).await < 2 {
                    return None;
                }
                Some(
                    count(
                        &db,
                        "SELECT MIN(run_id) FROM paddock_runs WHERE job = 'races_and_runners' \
                AND run_trigger = 'schedule'",
                    )
                    .await,
                )
            },
        )
        .await;
        assert_eq!(
            count(
                &db,
                &format!(
                    "SELECT COUNT(*) FROM paddock_runs WHERE job = 'master_reference' \
                AND run_id > {first_new}"
                )
            )
            .await,
            0,
            "the old schedule still fired after the reload"
        );

        // SIGTERM while a run is between pages: it stops, is recorded, and the daemon exits 0.
        let running: i64 = wait_until(
            "a races_and_runners run in progress",
            || daemon.log(),
            || async {
                let id = count(
                    &db,
                    "SELECT COALESCE(MAX(run_id), 0) FROM paddock_runs \
                WHERE job = 'races_and_runners' AND status = 'running'",
                )
                .await;
                (id > 0).then_some(id)
            },
        )
        .await;
        daemon.signal(libc::SIGTERM);
        assert_eq!(daemon.exit_code().await, Some(0), "{}", daemon.log());
        let status = db
            .scalar_text(&format!(
                "SELECT status FROM paddock_runs WHERE run_id = {running}"
            ))
            .await;
        let error = db
            .scalar_text(&format!(
                "SELECT error_text FROM paddock_runs WHERE run_id = {running}"
            ))
            .await
            .unwrap_or_default();
        assert_eq!(status.as_deref(), Some("failed"), "{error}");
        assert!(error.contains("cancelled"), "{error}");
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM paddock_runs WHERE status = 'running'"
            )
            .await,
            0,
            "every run was closed"
        );
        // No half-written page: every race that was stored has its runners.
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM ra_mst_races r \
                WHERE NOT EXISTS (SELECT 1 FROM ra_runners x WHERE x.race_id = r.id)"
            )
            .await,
            0
        );
        assert!(count(&db, "SELECT COUNT(*) FROM ra_mst_races").await > 0);
        // Under --log-format json every log line is a JSON object.
        for line in daemon.log().lines() {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(v.get("level").is_some(), "{line}");
        }
        sim.shutdown().await;
    }
);

fn library_config(sim: &SimServer, db: &TestDb, jobs: &str) -> Config {
    let env: BTreeMap<String, String> = [
        ("RACING_API_USERNAME", USER),
        ("RACING_API_PASSWORD", PASSWORD),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Config::from_toml(&config_text(&sim.base_url, &db.url(), jobs), &env).unwrap()
}

backend_test!(
    a_tick_that_fires_while_its_job_runs_is_recorded_as_skipped,
    |db| async move {
        let sim = daemon_simulator(300).await;
        let config = Arc::new(library_config(&sim, &db, "[jobs.master_reference]\n"));
        let api = Arc::new(paddock::api_client(&config).unwrap());
        let mut runner = Runner::new(db.store.clone(), api);
        let tick = |second: u32| Dispatch {
            job: paddock::config::JobKind::MasterReference,
            trigger: fetchers::store::RunTrigger::Schedule,
            window: Default::default(),
            fire_time: chrono::DateTime::from_timestamp(1_800_000_000 + i64::from(second), 0)
                .unwrap(),
        };
        let today = paddock::today(&config);
        assert_eq!(
            runner
                .dispatch(config.clone(), tick(0), today)
                .await
                .unwrap(),
            Dispatched::Started
        );
        let Dispatched::Skipped(skipped) = runner
            .dispatch(config.clone(), tick(1), today)
            .await
            .unwrap()
        else {
            panic!("the second tick was not skipped");
        };
        assert_eq!(
            db.scalar_text(&format!(
                "SELECT status FROM paddock_runs WHERE run_id = {skipped}"
            ))
            .await
            .as_deref(),
            Some("skipped")
        );
        assert_eq!(
            db.scalar_text(&format!(
                "SELECT run_trigger FROM paddock_runs WHERE run_id = {skipped}"
            ))
            .await
            .as_deref(),
            Some("schedule")
        );
        let finished = runner.next_finished().await.unwrap();
        assert_eq!(finished.result.unwrap().status.name(), "succeeded");
        assert_eq!(
            runner
                .dispatch(config.clone(), tick(2), today)
                .await
                .unwrap(),
            Dispatched::Started
        );
        runner.next_finished().await.unwrap().result.unwrap();
        assert_eq!(count(&db, "SELECT COUNT(*) FROM paddock_runs").await, 3);
        sim.shutdown().await;
    }
);

backend_test!(
    a_job_that_missed_many_ticks_runs_once_at_start_as_catch_up,
    |db| async move {
        use fetchers::store::{RunFinish, RunStatus, RunTrigger, Store};
        let sim = daemon_simulator(0).await;
        // Daily at 03:00; the last success was ten days ago: ten ticks missed.
        let text = "[jobs.master_reference]\ncron = \"0 3 * * *\"\n";
        let config = library_config(&sim, &db, text);
        let run = db
            .start_run(
                "master_reference",
                RunTrigger::Schedule,
                serde_json::json!({}),
            )
            .await
            .unwrap();
        db.finish_run(
            run,
            &RunFinish {
                status: RunStatus::Succeeded,
                requests_by_endpoint: Default::default(),
                error_text: None,
            },
        )
        .await
        .unwrap();
        let now = chrono::Utc::now();
        let long_ago = (now - chrono::Duration::days(10)).format("%Y-%m-%dT%H:%M:%SZ");
        db.execute(&format!("UPDATE paddock_runs SET started_at = '{long_ago}', finished_at = '{long_ago}' WHERE run_id = {run}")).await;

        let clock = Arc::new(ManualClock::at(now));
        let loader_config = config.clone();
        let load: paddock::daemon::ConfigLoader = Arc::new(move || Ok(loader_config.clone()));
        let shutdown = tokio_util::sync::CancellationToken::new();
        let (_reload_tx, reload) = tokio::sync::mpsc::unbounded_channel();
        let controls = paddock::daemon::Controls {
            shutdown: shutdown.clone(),
            reload,
        };
        let daemon = tokio::spawn(paddock::daemon::run(load, clock, controls));
        wait_until("the catch-up run", String::new, || async {
            (count(
                &db,
                "SELECT COUNT(*) FROM paddock_runs WHERE run_trigger = 'catch-up' \
            AND status = 'succeeded'",
            )
            .await
                == 1)
                .then_some(())
        })
        .await;
        shutdown.cancel();
        daemon.await.unwrap().unwrap();
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM paddock_runs").await,
            2,
            "one catch-up, not ten"
        );
        assert_eq!(
            db.scalar_text("SELECT run_trigger FROM paddock_runs ORDER BY run_id DESC LIMIT 1")
                .await
                .as_deref(),
            Some(RunTrigger::CatchUp.name())
        );
        // Caught up: a restart now would not run it again.
        let last = paddock::store::job_status::last_success(&db, "master_reference")
            .await
            .unwrap();
        let job = config.job(paddock::config::JobKind::MasterReference);
        assert_eq!(
            paddock::daemon::timetable::needs_catch_up(&config, job, last, now),
            None
        );
        sim.shutdown().await;
    }
);

// Two daemons on one database: the first is active, the second a hot standby (PostgreSQL
// advisory locks; SQLite file locks beside the database); no tick runs twice; killing the
// active one lets the standby take over.
backend_test!(
    two_daemons_on_one_database_run_each_tick_once_and_the_standby_takes_over,
    |db| async move {
        let sim = daemon_simulator(0).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paddock.toml");
        std::fs::write(
            &file,
            config_text(
                &sim.base_url,
                &db.url(),
                "[jobs.master_reference]\ncron = \"*/2 * * * * *\"\n",
            ),
        )
        .unwrap();
        let scheduled =
        "SELECT COUNT(*) FROM paddock_runs WHERE run_trigger = 'schedule' AND status = 'succeeded'";
        let mut active = DaemonProcess::start(&file, &[]);
        wait_until(
            "the first daemon's first run",
            || active.log(),
            || async { (count(&db, scheduled).await >= 1).then_some(()) },
        )
        .await;
        let mut standby = DaemonProcess::start(&file, &[]);
        let both = || format!("active:\n{}\nstandby:\n{}", active.log(), standby.log());
        let at_start = count(&db, scheduled).await;
        wait_until("four more ticks with both daemons up", both, || async {
            (count(&db, scheduled).await >= at_start + 4).then_some(())
        })
        .await;
        assert!(
            !standby.log().contains("run started"),
            "the standby ran a job:\n{}",
            standby.log()
        );

        active.signal(libc::SIGKILL);
        let _ = active.exit_code().await;
        let at_kill = count(&db, "SELECT COALESCE(MAX(run_id), 0) FROM paddock_runs").await;
        wait_until(
            "the standby's runs",
            || standby.log(),
            || async {
                (count(
                    &db,
                    &format!(
                        "SELECT COUNT(*) FROM paddock_runs WHERE run_trigger = 'schedule' \
            AND status = 'succeeded' AND run_id > {at_kill}"
                    ),
                )
                .await
                    >= 3)
                    .then_some(())
            },
        )
        .await;
        assert!(
            standby.log().contains("now active for the job"),
            "{}",
            standby.log()
        );
        assert!(standby.is_running());
        standby.signal(libc::SIGTERM);
        assert_eq!(standby.exit_code().await, Some(0));

        // Each tick ran once: scheduled runs start one tick (2 s) apart, never twice in one tick.
        let starts: Vec<String> = match &db.store {
        AnyStore::Postgres(s) => sqlx::query_scalar(
            "SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
             FROM paddock_runs WHERE run_trigger = 'schedule' ORDER BY started_at",
        )
        .fetch_all(s.pool_for_tests())
        .await
        .unwrap(),
        AnyStore::Sqlite(s) => sqlx::query_scalar(
            "SELECT started_at FROM paddock_runs WHERE run_trigger = 'schedule' ORDER BY started_at",
        )
        .fetch_all(s.pool_for_tests())
        .await
        .unwrap(),
    };
        let times: Vec<chrono::DateTime<chrono::Utc>> = starts
            .iter()
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc())
            .collect();
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= chrono::Duration::milliseconds(1000),
                "two scheduled runs in one tick: {pair:?}"
            );
        }
        // A tick may be skipped when a run outlasts the 2 s interval on a loaded machine, but
        // only by the instance running the job, never because the other instance held it.
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM paddock_runs WHERE status = 'skipped' \
                 AND error_text NOT LIKE '%the previous run of this job was still running'"
            )
            .await,
            0
        );
        sim.shutdown().await;
    }
);

backend_test!(
    healthz_is_503_until_each_job_has_succeeded_in_time_and_when_the_database_is_gone,
    |db| async move {
        use fetchers::store::{RunFinish, RunStatus, RunTrigger, Store};
        use paddock::daemon::http::{serve, Shared};
        let sim = daemon_simulator(0).await;
        let config = library_config(
            &sim,
            &db,
            "[jobs.master_reference]\ncron = \"*/30 * * * * *\"\n",
        );
        let metrics = paddock::daemon::metrics::Metrics::new(
            paddock::client::SharedLimiter::new(2.0),
            Box::new(BTreeMap::new),
        )
        .unwrap();
        let shared = Arc::new(Shared {
            config: std::sync::RwLock::new(Arc::new(config)),
            store: db.store.clone(),
            metrics,
            // Up for five minutes: a job on a 30-second schedule should have succeeded by now.
            started: chrono::Utc::now() - chrono::Duration::minutes(5),
        });
        let stop = tokio_util::sync::CancellationToken::new();
        let addr = serve("127.0.0.1:0".parse().unwrap(), shared.clone(), stop.clone())
            .await
            .unwrap();
        let get = |path: &'static str| async move {
            let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        };
        let (status, body) = get("/healthz").await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body.contains("master_reference") && body.contains("never"),
            "{body}"
        );

        let run = db
            .start_run(
                "master_reference",
                RunTrigger::Schedule,
                serde_json::json!({}),
            )
            .await
            .unwrap();
        db.finish_run(
            run,
            &RunFinish {
                status: RunStatus::Succeeded,
                requests_by_endpoint: Default::default(),
                error_text: None,
            },
        )
        .await
        .unwrap();
        let (status, body) = get("/healthz").await;
        assert_eq!(status, 200, "{body}");
        let (status, metrics) = get("/metrics").await;
        assert_eq!(status, 200);
        assert!(
            metrics.contains("paddock_limiter_wait_seconds_total"),
            "{metrics}"
        );

        db.store.close().await;
        let (status, body) = get("/healthz").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("database unreachable"), "{body}");
        stop.cancel();
        sim.shutdown().await;
    }
);

backend_test!(
    the_daemon_tells_systemd_ready_watchdog_status_reloading_and_stopping,
    |db| async move {
        let sim = daemon_simulator(0).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paddock.toml");
        std::fs::write(
            &file,
            config_text(
                &sim.base_url,
                &db.url(),
                "[jobs.master_reference]\ncron = \"0 3 1 1 *\"\n",
            ),
        )
        .unwrap();
        let socket_path = dir.path().join("notify.sock");
        let socket = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
        let socket_env = socket_path.to_str().unwrap().to_string();
        let mut daemon = DaemonProcess::start_with_env(
            &file,
            &[],
            &[("NOTIFY_SOCKET", &socket_env), ("WATCHDOG_USEC", "2000000")],
        );
        let mut seen = String::new();
        expect_notification(&socket, &mut seen, "READY=1").await;
        expect_notification(&socket, &mut seen, "STATUS=").await;
        expect_notification(&socket, &mut seen, "WATCHDOG=1").await;
        daemon.signal(libc::SIGHUP);
        expect_notification(&socket, &mut seen, "RELOADING=1").await;
        expect_notification(&socket, &mut seen, "MONOTONIC_USEC=").await;
        daemon.signal(libc::SIGTERM);
        expect_notification(&socket, &mut seen, "STOPPING=1").await;
        assert_eq!(daemon.exit_code().await, Some(0), "{}", daemon.log());
        assert!(
            seen.contains("master_reference"),
            "STATUS names the next run: {seen}"
        );
        sim.shutdown().await;
    }
);

/// Reads systemd notifications into `seen` until one contains `wanted`.
async fn expect_notification(socket: &tokio::net::UnixDatagram, seen: &mut String, wanted: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut buf = vec![0u8; 4096];
    while !seen.contains(wanted) {
        let n = tokio::time::timeout_at(deadline, socket.recv(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {wanted} from the daemon; got:\n{seen}"))
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// A clock set `lead` before `job`'s next fire time after the real now (in the configured time
/// zone), and that fire time.
fn clock_before_next_tick(
    config: &Config,
    job: JobKind,
    lead: chrono::Duration,
) -> (Arc<ManualClock>, chrono::DateTime<chrono::Utc>) {
    let now = chrono::Utc::now().with_timezone(&config.time_zone);
    let fire = config.job(job).next_fire_times(now, 1)[0].to_utc();
    (Arc::new(ManualClock::at(fire - lead)), fire)
}

/// Records a successful run of `job` now, so that the daemon sees no missed tick to catch up.
async fn record_success(db: &TestDb, job: JobKind) {
    use fetchers::store::{RunFinish, RunStatus, RunTrigger, Store};
    let run = db
        .start_run(job.name(), RunTrigger::Manual, serde_json::json!({}))
        .await
        .unwrap();
    db.finish_run(
        run,
        &RunFinish {
            status: RunStatus::Succeeded,
            requests_by_endpoint: Default::default(),
            error_text: None,
        },
    )
    .await
    .unwrap();
}

/// The library daemon on `config` and `clock`; cancel the token to stop it.
fn start_library_daemon(
    config: &Config,
    clock: Arc<ManualClock>,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let loader_config = config.clone();
    let load: paddock::daemon::ConfigLoader = Arc::new(move || Ok(loader_config.clone()));
    let shutdown = tokio_util::sync::CancellationToken::new();
    // No reloads: the sender goes at once (a closed channel just never fires).
    let (_, reload) = tokio::sync::mpsc::unbounded_channel();
    let controls = paddock::daemon::Controls {
        shutdown: shutdown.clone(),
        reload,
    };
    let handle = tokio::spawn(paddock::daemon::run(load, clock, controls));
    (shutdown, handle)
}

/// Waits until a daemon holds `job`'s lock, i.e. it has built its timetable and is active for
/// the job: from then on, moving its clock over a fire time makes a scheduled tick.
async fn wait_until_active(db: &TestDb, job: JobKind) {
    let locks =
        paddock::store::locks::JobLocks::for_database(&db.url(), &Default::default()).unwrap();
    wait_until("the daemon to hold the job lock", String::new, || async {
        if locks.try_hold(job.name()).await.unwrap() {
            // Not started yet: let go so the daemon can take it.
            locks.release_all().await;
            None
        } else {
            Some(())
        }
    })
    .await;
}

/// The latest run of `job`: (trigger, status, api_requests, error_text), once it has finished.
async fn finished_run_after(
    db: &TestDb,
    job: JobKind,
    after_run_id: i64,
) -> (String, String, i64, String) {
    let id = wait_until(
        &format!("a finished {} run", job.name()),
        String::new,
        || async {
            let id = count(
                db,
                &format!(
                    "SELECT COALESCE(MAX(run_id), 0) FROM paddock_runs WHERE job = '{}' \
                 AND run_id > {after_run_id} AND status <> 'running'",
                    job.name()
                ),
            )
            .await;
            (id > 0).then_some(id)
        },
    )
    .await;
    let text = |column: &'static str| async move {
        db.scalar_text(&format!(
            "SELECT {column} FROM paddock_runs WHERE run_id = {id}"
        ))
        .await
        .unwrap_or_default()
    };
    (
        text("run_trigger").await,
        text("status").await,
        count(
            db,
            &format!("SELECT api_requests FROM paddock_runs WHERE run_id = {id}"),
        )
        .await,
        text("error_text").await,
    )
}

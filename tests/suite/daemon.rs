//! The daemon against the in-process simulator, on SQLite and PostgreSQL: scheduled runs land
//! in the ledger, SIGHUP swaps schedules (and refuses a bad file), SIGTERM mid-run stops between
//! pages and exits 0, overlapping ticks are recorded as skipped, missed runs are caught up
//! once, and two daemons on one database run each tick once with a hot standby. The jobs
//! without API requests: the weekly full rebuild of the derived tables runs at its tick and asks
//! the API nothing; the audit job, when enabled, runs at its tick and `/metrics` exports its
//! violation counts.
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
        .fetch_all(s.pool())
        .await
        .unwrap(),
        AnyStore::Sqlite(s) => sqlx::query_scalar(
            "SELECT started_at FROM paddock_runs WHERE run_trigger = 'schedule' ORDER BY started_at",
        )
        .fetch_all(s.pool())
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
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM paddock_runs WHERE status = 'skipped'"
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
    let locks = paddock::store::locks::JobLocks::for_database(&db.url()).unwrap();
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

async fn derived_rows(db: &TestDb) -> Vec<i64> {
    let mut out = Vec::new();
    for table in paddock::derive::sql::DERIVED_TABLES {
        out.push(count(db, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    out
}

backend_test!(
    the_daemon_rebuilds_the_derived_tables_at_the_weekly_tick_without_an_api_request,
    |db| async move {
        use fetchers::store::{ApplyMode, RunTrigger};
        let sim = daemon_simulator(0).await;
        // Only derive_full, on its default schedule (04:00 every Sunday).
        let config = library_config(&sim, &db, "[jobs.derive_full]\n");
        assert!(config.job(JobKind::DeriveFull).enabled);
        assert_eq!(
            config.job(JobKind::DeriveFull).schedules[0].cron,
            "0 4 * * SUN"
        );

        // Races and results through the pipeline, then the derived tables emptied.
        let api = paddock::api_client(&config).unwrap();
        let today = paddock::today(&config);
        let plan = fetchers::jobs::RacesAndRunnersPlan::window(today, 0, 2);
        let loaded = paddock::app::run_job(
            &config,
            &api,
            &db.store,
            &paddock::app::JobRequest::RacesAndRunners(plan),
            RunTrigger::Manual,
            ApplyMode::Commit,
        )
        .await
        .unwrap();
        assert_eq!(loaded.status.name(), "succeeded", "{:?}", loaded.error);
        let incremental = derived_rows(&db).await;
        assert!(incremental.iter().all(|n| *n > 0), "{incremental:?}");
        for table in paddock::derive::sql::DERIVED_TABLES {
            db.execute(&format!("DELETE FROM {table}")).await;
        }
        record_success(&db, JobKind::DeriveFull).await;
        let last_run = count(&db, "SELECT MAX(run_id) FROM paddock_runs").await;
        let requests_before = sim.stats().total;

        let (clock, fire) =
            clock_before_next_tick(&config, JobKind::DeriveFull, chrono::Duration::seconds(2));
        let (shutdown, daemon) = start_library_daemon(&config, clock.clone());
        wait_until_active(&db, JobKind::DeriveFull).await;
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM paddock_runs WHERE run_id > {last_run}")
            )
            .await,
            0,
            "nothing runs before the tick (no catch-up: it succeeded since its last fire time)"
        );
        clock.set(fire + chrono::Duration::seconds(1));
        let (trigger, status, api_requests, error) =
            finished_run_after(&db, JobKind::DeriveFull, last_run).await;
        assert_eq!(trigger, "schedule");
        assert_eq!(status, "succeeded", "{error}");
        assert_eq!(api_requests, 0);
        assert_eq!(
            derived_rows(&db).await,
            incremental,
            "the rebuild refilled every table"
        );
        let counted = count(
            &db,
            &format!(
                "SELECT CAST(COALESCE(SUM(inserted + updated), 0) AS BIGINT) FROM paddock_run_tables \
                 WHERE run_id = (SELECT MAX(run_id) FROM paddock_runs WHERE job = '{}')",
                JobKind::DeriveFull.name()
            ),
        )
        .await;
        assert_eq!(
            counted,
            incremental.iter().sum::<i64>(),
            "rows written, in the ledger"
        );
        shutdown.cancel();
        daemon.await.unwrap().unwrap();
        assert_eq!(
            sim.stats().total,
            requests_before,
            "the rebuild asked the API nothing"
        );
        sim.shutdown().await;
    }
);

/// Runs `statements` with foreign keys unenforced on one connection (SQLite's switch;
/// PostgreSQL's replica role, which skips the foreign-key triggers without a schema change).
async fn without_foreign_keys(db: &TestDb, statements: &[String]) {
    async fn run<'c, E>(conn: E, sql: &str)
    where
        E: sqlx::Executor<'c>,
    {
        conn.execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    match &db.store {
        AnyStore::Sqlite(s) => {
            let mut conn = s.pool().acquire().await.unwrap();
            run(&mut *conn, "PRAGMA foreign_keys = OFF").await;
            for sql in statements {
                run(&mut *conn, sql).await;
            }
            run(&mut *conn, "PRAGMA foreign_keys = ON").await;
        }
        AnyStore::Postgres(s) => {
            let mut conn = s.pool().acquire().await.unwrap();
            run(&mut *conn, "SET session_replication_role = replica").await;
            for sql in statements {
                run(&mut *conn, sql).await;
            }
            run(&mut *conn, "SET session_replication_role = DEFAULT").await;
        }
    }
}

/// `/metrics`' value of `paddock_audit_violations{check="SECTION"}` (None: not exported).
fn audit_gauge(metrics: &str, section: &str) -> Option<i64> {
    let prefix = format!("paddock_audit_violations{{check=\"{section}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().unwrap())
}

backend_test!(
    the_enabled_audit_job_runs_at_its_tick_and_metrics_export_its_violation_counts,
    |db| async move {
        let sim = daemon_simulator(0).await;
        let mut config = library_config(&sim, &db, "[jobs.audit]\nenabled = true\n");
        assert_eq!(config.job(JobKind::Audit).schedules[0].cron, "0 5 * * *");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        config.daemon.listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
        let metrics = || async move {
            reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };
        record_success(&db, JobKind::Audit).await;
        let last_run = count(&db, "SELECT MAX(run_id) FROM paddock_runs").await;
        let (clock, fire) =
            clock_before_next_tick(&config, JobKind::Audit, chrono::Duration::seconds(2));
        let (shutdown, daemon) = start_library_daemon(&config, clock.clone());
        wait_until_active(&db, JobKind::Audit).await;
        assert!(
            !metrics().await.contains("paddock_audit"),
            "nothing is exported for the audit before its first run"
        );

        // A clean database: the run succeeds and every section's gauge is 0.
        clock.set(fire + chrono::Duration::seconds(1));
        let (trigger, status, api_requests, error) =
            finished_run_after(&db, JobKind::Audit, last_run).await;
        assert_eq!(
            (trigger.as_str(), status.as_str()),
            ("schedule", "succeeded"),
            "{error}"
        );
        assert_eq!(api_requests, 0);
        let text = wait_until("the audit metrics", String::new, || async {
            let text = metrics().await;
            text.contains("paddock_audit_last_run_timestamp_seconds")
                .then_some(text)
        })
        .await;
        for section in paddock::audit::report::SECTIONS {
            assert_eq!(audit_gauge(&text, section), Some(0), "{section}: {text}");
        }

        // A runner whose horse does not exist: the next day's tick finds one orphan relation.
        let t = "2030-01-01T00:00:00Z";
        let race_date = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
        db.execute(&format!(
            "INSERT INTO ra_mst_courses (id, name, created_at, updated_at) \
             VALUES ('crs_1', 'Ascot', '{t}', '{t}')"
        ))
        .await;
        db.execute(&format!(
            "INSERT INTO ra_mst_races (id, course_id, race_date, race_name, has_result, \
             is_abandoned, created_at, updated_at) VALUES ('rac_1', 'crs_1', '{race_date}', \
             'Race 1', FALSE, FALSE, '{t}', '{t}')"
        ))
        .await;
        without_foreign_keys(
            &db,
            &[format!(
                "INSERT INTO ra_runners (race_id, horse_id, created_at, updated_at) \
                 VALUES ('rac_1', 'hrs_ghost', '{t}', '{t}')"
            )],
        )
        .await;
        let first_audit = count(&db, "SELECT MAX(run_id) FROM paddock_runs").await;
        clock.set(fire + chrono::Duration::days(1) + chrono::Duration::seconds(1));
        let (trigger, status, _, error) =
            finished_run_after(&db, JobKind::Audit, first_audit).await;
        assert_eq!(
            (trigger.as_str(), status.as_str()),
            ("schedule", "partial"),
            "{error}"
        );
        assert!(error.contains("orphans 1"), "{error}");
        let text = wait_until("the second audit's metrics", String::new, || async {
            let text = metrics().await;
            (audit_gauge(&text, "orphans") == Some(1)).then_some(text)
        })
        .await;
        for section in paddock::audit::report::SECTIONS
            .iter()
            .filter(|s| **s != "orphans")
        {
            assert_eq!(audit_gauge(&text, section), Some(0), "{section}: {text}");
        }
        assert!(
            text.contains("paddock_runs_total{job=\"audit\",status=\"partial\"} 1"),
            "{text}"
        );
        shutdown.cancel();
        daemon.await.unwrap().unwrap();
        assert_eq!(sim.stats().total, 0, "the audit asked the API nothing");
        sim.shutdown().await;
    }
);

backend_test!(
    the_audit_checks_derive_full_against_its_schedule_and_never_calls_a_disabled_audit_stale,
    |db| async move {
        use fetchers::store::RunTrigger;
        // The default jobs: derive_full weekly, the audit job off.
        let config = Config::from_toml(
            &format!("[database]\nurl = \"{}\"\n", db.url()),
            &BTreeMap::new(),
        )
        .unwrap();
        let now = chrono::Utc::now();
        let jobs =
            |report: &paddock::audit::AuditReport| report.freshness.as_ref().unwrap().jobs.clone();
        let options = paddock::audit::AuditOptions::from_config(&config, now);
        let before = jobs(
            &paddock::audit::run_audit(&db.store, &options)
                .await
                .unwrap(),
        );
        let find = |jobs: &[paddock::audit::report::JobFreshness], kind: JobKind| {
            jobs.iter()
                .find(|j| j.job == kind.name())
                .unwrap_or_else(|| panic!("{} not in {jobs:#?}", kind.name()))
                .clone()
        };
        let derive = find(&before, JobKind::DeriveFull);
        assert!(
            derive.enabled && derive.overdue,
            "never rebuilt: {derive:#?}"
        );
        assert_eq!(derive.cron, "0 4 * * SUN");
        let audit = find(&before, JobKind::Audit);
        assert!(!audit.enabled && !audit.overdue, "{audit:#?}");

        let rebuilt = paddock::derive::run_full_rebuild(
            &db.store,
            &config.distance_bands,
            RunTrigger::Manual,
        )
        .await
        .unwrap();
        assert_eq!(rebuilt.status.name(), "succeeded");
        let options = paddock::audit::AuditOptions::from_config(&config, chrono::Utc::now());
        let after = jobs(
            &paddock::audit::run_audit(&db.store, &options)
                .await
                .unwrap(),
        );
        assert!(!find(&after, JobKind::DeriveFull).overdue);
        assert!(!find(&after, JobKind::Audit).overdue);
    }
);

backend_test!(
    paddock_run_derive_full_and_audit_record_manual_runs_and_refuse_a_dry_run,
    |db| async move {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            paddock()
                .current_dir(dir.path())
                .args(["--database-url", &db.url()])
                .args(args)
                .output()
                .unwrap()
        };
        let out = run(&["run", "derive-full"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let out = run(&["run", "audit"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        // A fresh database: derive_full just ran, the API jobs never did, so the audit finds
        // them overdue: a partial run, exit 3.
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        assert!(stdout.contains("audit violation"), "{stdout}");
        let out = run(&["run", "derive-full", "--dry-run"]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no dry run"),
            "{out:?}"
        );
        let mut runs: Vec<(String, String, String)> = Vec::new();
        for id in 1..=count(&db, "SELECT COUNT(*) FROM paddock_runs").await {
            let mut fields = Vec::new();
            for column in ["job", "run_trigger", "status"] {
                let sql = format!("SELECT {column} FROM paddock_runs WHERE run_id = {id}");
                fields.push(db.scalar_text(&sql).await.unwrap_or_default());
            }
            let [job, trigger, status]: [String; 3] = fields.try_into().unwrap();
            runs.push((job, trigger, status));
        }
        let expected = |job: JobKind, status: &str| {
            (
                job.name().to_string(),
                "manual".to_string(),
                status.to_string(),
            )
        };
        assert_eq!(
            runs,
            vec![
                expected(JobKind::DeriveFull, "succeeded"),
                expected(JobKind::Audit, "partial"),
            ]
        );
        // `paddock status` lists both jobs with their last run and schedule.
        let out = run(&["status"]);
        let listing = String::from_utf8_lossy(&out.stdout);
        let line = |job: JobKind| {
            listing
                .lines()
                .find(|l| l.starts_with(&format!("{} ", job.name())))
                .unwrap_or_else(|| panic!("no {} line: {listing}", job.name()))
                .to_string()
        };
        let derive = line(JobKind::DeriveFull);
        assert!(
            derive.contains("manual") && derive.contains("succeeded"),
            "{derive}"
        );
        assert!(!derive.contains("disabled"), "{derive}");
        let audit = line(JobKind::Audit);
        assert!(
            audit.contains("partial") && audit.contains("disabled"),
            "{audit}"
        );
        assert!(listing.contains("audit violations: freshness"), "{listing}");
    }
);

backend_test!(
    a_run_a_killed_daemon_left_running_is_closed_as_interrupted_by_the_jobs_next_run,
    |db| async move {
        use fetchers::store::{RunTrigger, Store};
        let sim = daemon_simulator(0).await;
        // derive_full alone: a run that makes no API request, quick on an empty database.
        let config = library_config(&sim, &db, "[jobs.derive_full]\n");
        record_success(&db, JobKind::DeriveFull).await;
        // Rows a daemon killed mid-run leaves behind (it could not record the end), and a
        // manual run of the same job that may still be going in another process.
        let left_running = |job: JobKind, trigger: RunTrigger| {
            let db = &db;
            async move {
                db.start_run(job.name(), trigger, serde_json::json!({}))
                    .await
                    .unwrap()
            }
        };
        let killed = left_running(JobKind::DeriveFull, RunTrigger::Schedule).await;
        let killed_catch_up = left_running(JobKind::DeriveFull, RunTrigger::CatchUp).await;
        let manual = left_running(JobKind::DeriveFull, RunTrigger::Manual).await;
        let other_job = left_running(JobKind::MasterReference, RunTrigger::Schedule).await;
        let last_run = count(&db, "SELECT MAX(run_id) FROM paddock_runs").await;
        let status_of = |run: fetchers::store::RunId| {
            format!(
                "SELECT CAST(CASE WHEN status = 'failed' AND error_text = '{}' THEN 1 \
                 WHEN status = 'running' THEN 0 ELSE 2 END AS BIGINT) FROM paddock_runs \
                 WHERE run_id = {}",
                paddock::store::job_status::INTERRUPTED,
                run.get()
            )
        };
        for run in [killed, killed_catch_up, manual, other_job] {
            assert_eq!(
                count(&db, &status_of(run)).await,
                0,
                "running before the tick"
            );
        }

        let (clock, fire) =
            clock_before_next_tick(&config, JobKind::DeriveFull, chrono::Duration::seconds(2));
        let (shutdown, daemon) = start_library_daemon(&config, clock.clone());
        wait_until_active(&db, JobKind::DeriveFull).await;
        clock.set(fire + chrono::Duration::seconds(1));
        let (_, status, _, error) = finished_run_after(&db, JobKind::DeriveFull, last_run).await;
        assert_eq!(status, "succeeded", "{error}");
        shutdown.cancel();
        daemon.await.unwrap().unwrap();

        assert_eq!(
            count(&db, &status_of(killed)).await,
            1,
            "closed as interrupted"
        );
        assert_eq!(count(&db, &status_of(killed_catch_up)).await, 1);
        assert_eq!(
            count(&db, &status_of(manual)).await,
            0,
            "a manual run is left alone"
        );
        assert_eq!(
            count(&db, &status_of(other_job)).await,
            0,
            "another job's run is left to that job"
        );
        assert_eq!(
            count(
                &db,
                &format!(
                    "SELECT COUNT(*) FROM paddock_runs WHERE run_id IN ({}, {}) \
                     AND finished_at IS NOT NULL",
                    killed.get(),
                    killed_catch_up.get()
                )
            )
            .await,
            2
        );
        sim.shutdown().await;
    }
);

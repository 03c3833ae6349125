//! The database going away under a running daemon: the harness stops its own PostgreSQL
//! cluster while the daemon runs a job every two seconds, starts it again, and the daemon —
//! still up — reconnects (pool and job-lock session) and records successful runs again.
//! A file of its own, because it stops the cluster that every test of its process shares.

mod support;

use std::process::Stdio;
use std::time::Duration;
use support::bin::paddock;
use support::pg_cluster;
use support::sim::start_simulator;
use support::wait::DEADLINE;

#[tokio::test]
async fn the_daemon_survives_a_postgres_restart_and_a_later_run_succeeds() {
    use sqlx::Connection;
    // Always the harness's own cluster: this test must be able to stop the server.
    let admin = pg_cluster::cluster().admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query("CREATE DATABASE paddock_restart")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path("/paddock_restart");
    let url = url.to_string();

    let mut sim_config = paddock::simulator::SimConfig::new(5, "u", "p");
    sim_config.today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let sim = start_simulator(sim_config).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paddock.toml");
    std::fs::write(
        &file,
        format!(
            "[api]\nbase_url = \"{}\"\nrate_limit_per_second = 50\n[database]\nurl = \"{url}\"\n\
             [daemon]\nstandby_poll_secs = 1\n\
             [jobs.master_reference]\ncron = \"*/2 * * * * *\"\n\
             [jobs.master_entities_daily]\nenabled = false\n\
             [jobs.master_entities_weekly]\nenabled = false\n\
             [jobs.races_and_runners]\nenabled = false\n",
            sim.base_url
        ),
    )
    .unwrap();
    let log_path = dir.path().join("daemon.log");
    let mut daemon = paddock()
        .arg("--config")
        .arg(&file)
        .arg("daemon")
        .env("RACING_API_USERNAME", "u")
        .env("RACING_API_PASSWORD", "p")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    let succeeded = |url: String| async move {
        let Ok(mut c) = sqlx::PgConnection::connect(&url).await else {
            return 0;
        };
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM paddock_runs WHERE status = 'succeeded' AND run_trigger = 'schedule'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap_or(0);
        let _ = c.close().await;
        n
    };
    let wait_for_runs = |at_least: i64| {
        let url = url.clone();
        let log = &log;
        async move {
            let deadline = tokio::time::Instant::now() + DEADLINE;
            loop {
                if succeeded(url.clone()).await >= at_least {
                    return;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no runs; log:\n{}",
                    log()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for_runs(2).await;

    // The database goes away for a few ticks.
    tokio::task::spawn_blocking(pg_cluster::stop).await.unwrap();
    let before_restart = log().len();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let failed_tick =
        |text: &str| text.contains("tick not run") || text.contains("could not be recorded");
    while !failed_tick(&log()[before_restart..]) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed tick logged:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "the daemon died:\n{}",
        log()
    );
    tokio::task::spawn_blocking(pg_cluster::start_again)
        .await
        .unwrap();

    // It stays up, reconnects, and later runs succeed.
    let after = succeeded(url.clone()).await;
    wait_for_runs(after + 2).await;
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "the daemon died:\n{}",
        log()
    );
    // SAFETY: signalling the child this test started.
    unsafe {
        libc::kill(daemon.id() as i32, libc::SIGTERM);
    }
    let status = tokio::task::spawn_blocking(move || daemon.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "{}", log());
    sim.shutdown().await;
}

//! The jobs that make no API request, under the daemon and the binary: the weekly full rebuild
//! of the derived tables at its tick, the audit job at its tick with `/metrics` exporting its
//! violation counts, the audit's view of those jobs' schedules, `paddock run derive-full` and
//! `paddock run audit`; a run a killed daemon left `running`, closed as interrupted by the
//! job's next run; and the analytics copy published at its tick (SQLite), its age in `/metrics`
//! and `paddock status`.

use super::*;

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
        let loaded = paddock::run::run_job(
            &config,
            &api,
            &db.store,
            &paddock::run::JobRequest::RacesAndRunners(plan),
            &paddock::run::RunContext::new(RunTrigger::Manual, ApplyMode::Commit),
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
            let mut conn = s.pool_for_tests().acquire().await.unwrap();
            run(&mut *conn, "PRAGMA foreign_keys = OFF").await;
            for sql in statements {
                run(&mut *conn, sql).await;
            }
            run(&mut *conn, "PRAGMA foreign_keys = ON").await;
        }
        AnyStore::Postgres(s) => {
            let mut conn = s.pool_for_tests().acquire().await.unwrap();
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

        let rebuilt =
            paddock::run::run_full_rebuild(&db.store, &config.distance_bands, RunTrigger::Manual)
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

/// `/metrics`' value of the unlabelled gauge `name` (None: not exported).
fn gauge(metrics: &str, name: &str) -> Option<f64> {
    let prefix = format!("{name} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn the_daemon_publishes_the_analytics_copy_at_its_tick_and_status_and_metrics_show_its_age() {
    let db = TestDb::new(crate::support::Backend::Sqlite).await;
    let sim = daemon_simulator(0).await;
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("analytics.db");
    let jobs = format!(
        "[jobs.publish]\n[publish]\npath = \"{}\"\n",
        target.display()
    );
    let mut config = library_config(&sim, &db, &jobs);
    assert!(config.job(JobKind::Publish).enabled, "on with a path");
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
    record_success(&db, JobKind::Publish).await;
    let last_run = count(&db, "SELECT MAX(run_id) FROM paddock_runs").await;
    let (clock, fire) =
        clock_before_next_tick(&config, JobKind::Publish, chrono::Duration::seconds(2));
    let (shutdown, daemon) = start_library_daemon(&config, clock.clone());
    wait_until_active(&db, JobKind::Publish).await;
    assert!(
        !metrics().await.contains("paddock_analytics_copy"),
        "nothing is exported before the first publication"
    );
    assert!(!target.exists());

    clock.set(fire + chrono::Duration::seconds(1));
    let (trigger, status, api_requests, error) =
        finished_run_after(&db, JobKind::Publish, last_run).await;
    assert_eq!(
        (trigger.as_str(), status.as_str()),
        ("schedule", "succeeded"),
        "{error}"
    );
    assert_eq!(api_requests, 0);
    let publication = paddock::publish::last_publication(&db.store)
        .await
        .unwrap()
        .expect("the tick's publication is recorded");
    assert_eq!(publication.path, target);
    assert_eq!(publication.bytes, std::fs::metadata(&target).unwrap().len());
    let text = wait_until("the analytics copy metrics", String::new, || async {
        let text = metrics().await;
        text.contains("paddock_analytics_copy_age_seconds")
            .then_some(text)
    })
    .await;
    assert_eq!(
        gauge(&text, "paddock_analytics_copy_size_bytes"),
        Some(publication.bytes as f64),
        "{text}"
    );
    assert_eq!(
        gauge(&text, "paddock_analytics_copy_published_timestamp_seconds"),
        Some(publication.published_at.timestamp_millis() as f64 / 1000.0),
        "{text}"
    );
    let age = gauge(&text, "paddock_analytics_copy_age_seconds").unwrap();
    assert!(age >= 0.0, "{text}");
    // `paddock status` at a chosen instant: the copy's path, age and size.
    let later = publication.published_at + chrono::Duration::seconds(90);
    let shown = paddock::daemon::status::render_job_status(&config, &db.store, later)
        .await
        .unwrap();
    let line = format!(
        "analytics copy: {}, published {} (age 90 s), {} bytes",
        target.display(),
        publication.published_at.format("%Y-%m-%dT%H:%M:%SZ"),
        publication.bytes
    );
    assert!(shown.contains(&line), "{shown}");
    shutdown.cancel();
    daemon.await.unwrap().unwrap();
    assert_eq!(sim.stats().total, 0, "the publish asked the API nothing");
    sim.shutdown().await;
}

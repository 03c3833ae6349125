//! `paddock audit` on both backends: a clean database passes `--strict`; each kind of problem
//! injected into it (an orphaned runner, a foreign key re-pointed at the wrong table, a
//! duplicated key where the constraint is gone, a dropped and an extra column, a column that
//! stops filling, a race past its start without a result, an overdue job, a row naming an
//! unknown run) is reported and makes `--strict` exit 1. The JSON output is parsed.

use crate::support::bin::paddock;
use crate::support::jobs::default_config;
use crate::support::{Backend, TestDb};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use fetchers::rows::format_timestamp;
use fetchers::schema::{create_table, Dialect};
use paddock::audit::{run_audit, AuditOptions};
use paddock::store::AnyStore;
use serde_json::Value as Json;

/// The fixture's clock: everything is placed relative to the real "now", so the binary (which
/// reads the real clock) and the library (given `now`) see the same clean database.
fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The three race dates of the fixture, oldest first, each in a different month, the latest
/// yesterday.
fn race_dates(now: DateTime<Utc>) -> [NaiveDate; 3] {
    let latest = (now - Duration::days(1)).date_naive();
    [
        latest - Duration::days(70),
        latest - Duration::days(35),
        latest,
    ]
}

fn ts(t: DateTime<Utc>) -> String {
    format!("'{}'", format_timestamp(&t))
}

/// A small, consistent database: one course, three resulted races in three months, two runners
/// each, and a successful run of every job five minutes ago.
async fn load_clean_fixture(db: &TestDb, now: DateTime<Utc>) {
    let t = ts(now - Duration::minutes(5));
    let started = ts(now - Duration::minutes(6));
    let mut sql = vec![
        format!("INSERT INTO ra_regions (code, name, created_at, updated_at, last_run_id) VALUES ('gb', 'Great Britain', {t}, {t}, 1)"),
        format!("INSERT INTO ra_mst_courses (id, name, region_code, created_at, updated_at, last_run_id) VALUES ('crs_1', 'Ascot', 'gb', {t}, {t}, 1)"),
        format!("INSERT INTO ra_mst_jockeys (id, name, created_at, updated_at, last_run_id) VALUES ('jky_1', 'A Rider', {t}, {t}, 4)"),
        format!("INSERT INTO ra_mst_trainers (id, name, location, created_at, updated_at, last_run_id) VALUES ('trn_1', 'A Trainer', 'Lambourn', {t}, {t}, 4)"),
        format!("INSERT INTO ra_mst_bookmakers (id, name, created_at, updated_at, last_run_id) VALUES ('bk_1', 'Bet', {t}, {t}, 1)"),
    ];
    for h in 1..=2 {
        sql.push(format!(
            "INSERT INTO ra_mst_horses (id, name, created_at, updated_at, last_run_id) \
             VALUES ('hrs_{h}', 'Horse {h}', {t}, {t}, 4)"
        ));
    }
    for (i, date) in race_dates(now).iter().enumerate() {
        let race = i + 1;
        let off = date.and_hms_opt(14, 0, 0).unwrap().and_utc();
        sql.push(format!(
            "INSERT INTO ra_mst_races (id, course_id, race_date, off_dt, race_name, has_result, \
             is_abandoned, created_at, updated_at, last_run_id) VALUES ('rac_{race}', 'crs_1', \
             '{date}', {}, 'Race {race}', TRUE, FALSE, {t}, {t}, 4)",
            ts(off)
        ));
        for h in 1..=2 {
            sql.push(format!(
                "INSERT INTO ra_runners (race_id, horse_id, jockey_id, trainer_id, number, \
                 position, created_at, updated_at, last_run_id) VALUES ('rac_{race}', 'hrs_{h}', \
                 'jky_1', 'trn_1', {h}, {h}, {t}, {t}, 4)"
            ));
        }
    }
    // Every job, in `JobKind::ALL` order (races_and_runners is run 4, named by the rows above).
    let jobs = paddock::config::JobKind::ALL.map(paddock::config::JobKind::name);
    for (i, job) in jobs.iter().enumerate() {
        sql.push(format!(
            "INSERT INTO paddock_runs (run_id, job, run_trigger, params, started_at, finished_at, \
             status, api_requests, rows_rejected) VALUES ({}, '{job}', 'scheduled', \
             '{{\"fixture\": {}}}', {started}, {t}, 'succeeded', 3, 0)",
            i + 1,
            i + 1
        ));
    }
    sql.push(
        "INSERT INTO paddock_run_tables (run_id, table_name, inserted, updated, unchanged, \
         rejected) VALUES (4, 'ra_runners', 6, 0, 0, 0)"
            .to_string(),
    );
    for statement in sql {
        db.execute(&statement).await;
    }
}

/// Runs statements on one connection with foreign keys unenforced (SQLite's per-connection
/// switch; on PostgreSQL the statements themselves must take care of it).
async fn unenforced(db: &TestDb, statements: &[String]) {
    match &db.store {
        AnyStore::Sqlite(s) => {
            let mut conn = s.pool_for_tests().acquire().await.unwrap();
            sqlx::query("PRAGMA foreign_keys = OFF")
                .execute(&mut *conn)
                .await
                .unwrap();
            for statement in statements {
                sqlx::query(statement)
                    .execute(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e}"));
            }
            sqlx::query("PRAGMA foreign_keys = ON")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        AnyStore::Postgres(_) => {
            for statement in statements {
                db.execute(statement).await;
            }
        }
    }
}

fn dialect(db: &TestDb) -> Dialect {
    match db.backend() {
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Postgres => Dialect::Postgres,
    }
}

/// `paddock audit --format json ARGS` against `db`: (exit code, parsed report).
fn audit_cli(db: &TestDb, args: &[&str]) -> (i32, Json) {
    let dir = tempfile::tempdir().unwrap();
    let out = paddock()
        .current_dir(dir.path())
        .args(["--database-url", &db.url(), "audit", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("audit JSON does not parse: {e}\n{stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), report)
}

/// Runs the strict audit and expects a violation in `section`; returns the report.
fn expect_strict_failure(db: &TestDb, section: &str) -> Json {
    let (code, report) = audit_cli(db, &["--strict"]);
    assert_eq!(code, 1, "strict audit should fail: {report:#}");
    assert!(
        report["violations"][section].as_u64().unwrap() > 0,
        "no {section} violation: {:#}",
        report["violations"]
    );
    report
}

fn entries<'a>(report: &'a Json, section: &str) -> &'a Vec<Json> {
    report[section]
        .as_array()
        .unwrap_or_else(|| panic!("{section} is not a list: {report:#}"))
}

async fn options(now: DateTime<Utc>) -> AuditOptions {
    AuditOptions::from_config(&default_config(), now)
}

backend_test!(
    a_clean_database_passes_the_strict_audit_and_its_json_has_the_documented_shape,
    |db| async move {
        load_clean_fixture(&db, now()).await;
        let (code, report) = audit_cli(&db, &["--strict"]);
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(report["format_version"], 1);
        assert_eq!(report["total_violations"], 0);
        let backend = match db.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(report["backend"], backend);
        for section in [
            "orphans",
            "duplicates",
            "wrong_targets",
            "drift",
            "coverage",
            "freshness",
            "trail",
        ] {
            assert_eq!(report["violations"][section], 0, "{section}");
            assert!(!report[section].is_null(), "{section} ran");
        }
        // Every registry relation was checked with one anti-join each.
        let relations: usize = fetchers::registry::TABLES
            .iter()
            .map(|t| t.foreign_keys.len())
            .sum();
        assert_eq!(entries(&report, "orphans").len(), relations);
        // Coverage: position filled in every month, grouped by its owner.
        let position = entries(&report, "coverage")
            .iter()
            .find(|c| c["table"] == "ra_runners" && c["column"] == "position")
            .unwrap();
        assert_eq!(position["source"], "result");
        assert_eq!(position["status"], "ok");
        assert_eq!(position["months"].as_array().unwrap().len(), 3);
        assert_eq!(report["freshness"]["races_without_result"], 0);
        assert_eq!(
            report["freshness"]["jobs"].as_array().unwrap().len(),
            paddock::config::JobKind::ALL.len()
        );
        // The write trail shows the run's figures and every row traces to a run.
        let runs = report["trail"]["runs"].as_array().unwrap();
        let races = runs.iter().find(|r| r["run_id"] == 4).unwrap();
        assert_eq!(races["job"], "races_and_runners");
        assert_eq!(races["rows_changed"], 6);
        // --only runs just the named checks.
        let (code, only) = audit_cli(&db, &["--only", "drift"]);
        assert_eq!(code, 0);
        assert_eq!(only["checks"], serde_json::json!(["drift"]));
        assert!(only["coverage"].is_null());
    }
);

backend_test!(
    an_orphaned_runner_is_reported_with_its_key_even_where_the_foreign_key_is_not_enforced,
    |db| async move {
        load_clean_fixture(&db, now()).await;
        let t = ts(now());
        let insert = format!(
            "INSERT INTO ra_runners (race_id, horse_id, created_at, updated_at) \
         VALUES ('rac_1', 'hrs_ghost', {t}, {t})"
        );
        match db.backend() {
            Backend::Sqlite => unenforced(&db, &[insert]).await,
            // A constraint re-added NOT VALID, as other tools leave them.
            Backend::Postgres => {
                unenforced(
                    &db,
                    &[
                        "ALTER TABLE ra_runners DROP CONSTRAINT ra_runners_horse_id_fkey".into(),
                        insert,
                        "ALTER TABLE ra_runners ADD CONSTRAINT ra_runners_horse_id_fkey \
             FOREIGN KEY (horse_id) REFERENCES ra_mst_horses (id) NOT VALID"
                            .into(),
                    ],
                )
                .await
            }
        }
        let report = expect_strict_failure(&db, "orphans");
        let found: Vec<&Json> = entries(&report, "orphans")
            .iter()
            .filter(|o| o["orphans"].as_u64().unwrap() > 0)
            .collect();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0]["table"], "ra_runners");
        assert_eq!(found[0]["columns"], serde_json::json!(["horse_id"]));
        assert_eq!(found[0]["ref_table"], "ra_mst_horses");
        assert_eq!(found[0]["orphans"], 1);
        assert_eq!(
            found[0]["samples"],
            serde_json::json!([["rac_1", "hrs_ghost"]])
        );
        if db.backend() == Backend::Postgres {
            assert_eq!(found[0]["enforced"], false);
            assert!(entries(&report, "drift")
                .iter()
                .any(|d| d["kind"] == "foreign_key_not_valid"));
        }
    }
);

backend_test!(
    a_foreign_key_re_pointed_at_the_legacy_table_is_a_wrong_target,
    |db| async move {
        load_clean_fixture(&db, now()).await;
        let legacy = [
            "CREATE TABLE ra_horses (id TEXT NOT NULL PRIMARY KEY)".to_string(),
            "INSERT INTO ra_horses (id) SELECT id FROM ra_mst_horses".to_string(),
        ];
        match db.backend() {
            Backend::Postgres => {
                let mut statements = legacy.to_vec();
                statements
                    .push("ALTER TABLE ra_runners DROP CONSTRAINT ra_runners_horse_id_fkey".into());
                statements.push(
                    "ALTER TABLE ra_runners ADD CONSTRAINT ra_runners_horse_id_fkey \
                 FOREIGN KEY (horse_id) REFERENCES ra_horses (id)"
                        .into(),
                );
                unenforced(&db, &statements).await;
            }
            Backend::Sqlite => {
                // SQLite cannot alter a constraint: rebuild the table with the wrong target.
                let runners = fetchers::registry::table("ra_runners").unwrap();
                let ddl = create_table(Dialect::Sqlite, runners, "ra_runners")
                    .replace("REFERENCES ra_mst_horses", "REFERENCES ra_horses");
                let columns = runners
                    .all_columns()
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut statements = legacy.to_vec();
                statements.extend([
                    "CREATE TABLE runners_copy AS SELECT * FROM ra_runners".to_string(),
                    "DROP TABLE ra_runners".to_string(),
                    ddl,
                    // By name: columns added by later migrations sit at the live table's end.
                    format!(
                        "INSERT INTO ra_runners ({columns}) SELECT {columns} FROM runners_copy"
                    ),
                    "DROP TABLE runners_copy".to_string(),
                ]);
                for column in [
                    "horse_id",
                    "jockey_id",
                    "trainer_id",
                    "owner_id",
                    "sire_id",
                    "dam_id",
                    "damsire_id",
                ] {
                    statements.push(format!(
                        "CREATE INDEX idx_ra_runners_{column} ON ra_runners ({column})"
                    ));
                }
                unenforced(&db, &statements).await;
            }
        }
        let report = expect_strict_failure(&db, "wrong_targets");
        let wrong = entries(&report, "wrong_targets");
        assert_eq!(wrong.len(), 1, "{wrong:#?}");
        assert_eq!(wrong[0]["table"], "ra_runners");
        assert_eq!(wrong[0]["columns"], serde_json::json!(["horse_id"]));
        assert_eq!(wrong[0]["expected"], "ra_mst_horses");
        assert_eq!(wrong[0]["actual"], "ra_horses");
        // The legacy table itself is shown, but is no violation.
        let legacy = entries(&report, "drift")
            .iter()
            .find(|d| d["table"] == "ra_horses")
            .unwrap();
        assert_eq!(legacy["kind"], "legacy_table");
        assert_eq!(legacy["violation"], false);
    }
);

backend_test!(
    a_duplicated_key_in_a_table_without_its_constraint_is_reported,
    |db| async move {
        load_clean_fixture(&db, now()).await;
        let odds = fetchers::registry::table("ra_runner_odds").unwrap();
        let without_key: String = create_table(dialect(&db), odds, "ra_runner_odds")
            .lines()
            .filter(|l| !l.contains("PRIMARY KEY"))
            .collect::<Vec<_>>()
            .join("\n");
        let t = ts(now());
        let row = format!(
        "INSERT INTO ra_runner_odds (race_id, horse_id, bookmaker_id, observed_at, fractional, \
         created_at, updated_at) VALUES ('rac_1', 'hrs_1', 'bk_1', {t}, '5/1', {t}, {t})"
    );
        unenforced(
            &db,
            &[
                "DROP TABLE ra_runner_odds".into(),
                without_key,
                "CREATE INDEX idx_ra_runner_odds_bookmaker_id ON ra_runner_odds (bookmaker_id)"
                    .into(),
                row.clone(),
                row,
            ],
        )
        .await;
        let report = expect_strict_failure(&db, "duplicates");
        let dups = entries(&report, "duplicates");
        assert_eq!(dups.len(), 1, "{dups:#?}");
        assert_eq!(dups[0]["table"], "ra_runner_odds");
        assert_eq!(dups[0]["duplicated_keys"], 1);
        assert_eq!(dups[0]["extra_rows"], 1);
        assert_eq!(dups[0]["samples"][0][0], "rac_1");
        assert!(entries(&report, "drift")
            .iter()
            .any(|d| d["kind"] == "primary_key_mismatch" && d["table"] == "ra_runner_odds"));
    }
);

backend_test!(
    a_dropped_column_and_an_extra_column_are_schema_drift,
    |db| async move {
        load_clean_fixture(&db, now()).await;
        db.execute("ALTER TABLE ra_mst_trainers DROP COLUMN location")
            .await;
        db.execute("ALTER TABLE ra_mst_jockeys ADD COLUMN nickname TEXT")
            .await;
        let report = expect_strict_failure(&db, "drift");
        let drift = entries(&report, "drift");
        let has = |kind: &str, table: &str, column: &str| {
            drift
                .iter()
                .any(|d| d["kind"] == kind && d["table"] == table && d["column"] == column)
        };
        assert!(
            has("missing_column", "ra_mst_trainers", "location"),
            "{drift:#?}"
        );
        assert!(
            has("extra_column", "ra_mst_jockeys", "nickname"),
            "{drift:#?}"
        );
        assert_eq!(report["violations"]["drift"], 2, "{drift:#?}");
    }
);

backend_test!(
    a_column_that_stops_filling_after_a_month_shows_as_a_cliff,
    |db| async move {
        let now = now();
        load_clean_fixture(&db, now).await;
        db.execute("UPDATE ra_runners SET position = NULL WHERE race_id = 'rac_3'")
            .await;
        let report = expect_strict_failure(&db, "coverage");
        let cliffs: Vec<&Json> = entries(&report, "coverage")
            .iter()
            .filter(|c| c["violation"] == true)
            .collect();
        assert_eq!(cliffs.len(), 1, "{cliffs:#?}");
        assert_eq!(cliffs[0]["table"], "ra_runners");
        assert_eq!(cliffs[0]["column"], "position");
        assert_eq!(cliffs[0]["status"], "cliff");
        let last_month = race_dates(now)[2].format("%Y-%m").to_string();
        assert_eq!(cliffs[0]["cliff_month"], last_month.as_str());
    }
);

backend_test!(
    a_race_past_its_start_without_a_result_is_late_unless_abandoned,
    |db| async move {
        let now = now();
        load_clean_fixture(&db, now).await;
        let t = ts(now);
        let off = ts(now - Duration::hours(3));
        let today = now.date_naive();
        for (id, abandoned) in [("rac_late", "FALSE"), ("rac_off", "TRUE")] {
            db.execute(&format!(
            "INSERT INTO ra_mst_races (id, course_id, race_date, off_dt, is_abandoned, \
             created_at, updated_at) VALUES ('{id}', 'crs_1', '{today}', {off}, {abandoned}, {t}, {t})"
        ))
        .await;
        }
        // Not yet past the delay: no violation.
        db.execute(&format!(
            "INSERT INTO ra_mst_races (id, course_id, race_date, off_dt, created_at, updated_at) \
         VALUES ('rac_soon', 'crs_1', '{today}', {}, {t}, {t})",
            ts(now - Duration::minutes(30))
        ))
        .await;
        let report = expect_strict_failure(&db, "freshness");
        assert_eq!(report["freshness"]["races_without_result"], 1);
        assert_eq!(report["freshness"]["samples"][0]["race_id"], "rac_late");
    }
);

backend_test!(
    a_job_that_has_not_succeeded_for_longer_than_its_schedule_is_overdue,
    |db| async move {
        let now = now();
        load_clean_fixture(&db, now).await;
        // The library with an injected clock: still fine now, overdue once two days pass.
        let fine = run_audit(&db.store, &options(now).await).await.unwrap();
        assert_eq!(fine.total_violations, 0, "{:#?}", fine.violations);
        let later = run_audit(&db.store, &options(now + Duration::days(2)).await)
            .await
            .unwrap();
        let overdue: Vec<&str> = later
            .freshness
            .as_ref()
            .unwrap()
            .jobs
            .iter()
            .filter(|j| j.overdue)
            .map(|j| j.job.as_str())
            .collect();
        assert!(overdue.contains(&"races_and_runners"), "{overdue:?}");
        assert!(overdue.contains(&"master_entities_daily"), "{overdue:?}");
        assert!(
            !overdue.contains(&"master_reference"),
            "monthly job is not due yet: {overdue:?}"
        );
        // The binary: the races job last succeeded three days ago.
        let old = ts(now - Duration::days(3));
        db.execute(&format!(
        "UPDATE paddock_runs SET started_at = {old}, finished_at = {old} WHERE job = 'races_and_runners'"
    ))
    .await;
        let report = expect_strict_failure(&db, "freshness");
        let job = report["freshness"]["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["job"] == "races_and_runners")
            .unwrap();
        assert_eq!(job["overdue"], true);
        assert_eq!(report["violations"]["freshness"], 1);
    }
);

backend_test!(
    every_row_traces_to_the_run_that_last_wrote_it_and_unknown_runs_are_violations,
    |db| async move {
        load_clean_fixture(&db, now()).await;
        let traced = paddock::audit::trace_row(
            &db.store,
            "public",
            "ra_runners",
            &["rac_2".into(), "hrs_1".into()],
        )
        .await
        .unwrap()
        .expect("the row exists");
        assert_eq!(traced.last_run_id, Some(4));
        let run = traced.run.expect("run 4 is in the ledger");
        assert_eq!(run.job, "races_and_runners");
        assert_eq!(run.params, Some(serde_json::json!({"fixture": 4})));
        assert_eq!(run.rows_changed, 6);
        // The same through the binary.
        let (code, traced) = audit_cli(&db, &["--trace", "ra_runners=rac_2/hrs_1"]);
        assert_eq!(code, 0);
        assert_eq!(traced["last_run_id"], 4);
        assert_eq!(traced["run"]["job"], "races_and_runners");
        db.execute("UPDATE ra_mst_horses SET last_run_id = 999 WHERE id = 'hrs_2'")
            .await;
        let report = expect_strict_failure(&db, "trail");
        let horses = report["trail"]["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "ra_mst_horses")
            .unwrap();
        assert_eq!(horses["rows_with_unknown_run"], 1);
    }
);

#[tokio::test]
async fn on_postgresql_the_audit_reads_the_configured_schema() {
    let db = TestDb::new(Backend::Postgres).await;
    let now = now();
    load_clean_fixture(&db, now).await;
    db.execute("CREATE SCHEMA racing").await;
    for table in fetchers::registry::TABLES
        .iter()
        .map(|t| t.name)
        .chain(["_sqlx_migrations"])
    {
        db.execute(&format!("ALTER TABLE {table} SET SCHEMA racing"))
            .await;
    }
    let mut opts = options(now).await;
    opts.schema = "racing".into();
    let report = run_audit(&db.store, &opts).await.unwrap();
    assert_eq!(report.schema.as_deref(), Some("racing"));
    assert_eq!(report.total_violations, 0, "{:#?}", report.violations);
    opts.schema = "public".into();
    let report = run_audit(&db.store, &opts).await.unwrap();
    let missing = report
        .drift
        .unwrap()
        .iter()
        .filter(|d| d.kind == "missing_table")
        .count();
    assert_eq!(missing, fetchers::registry::TABLES.len());
}

//! The rename of the masters to `ra_mst_*` on a live database, on SQLite and PostgreSQL: a
//! legacy database with data walked through every phase and back, the fetchers run against the
//! simulator between the steps; dual writes atomic (a real failure injected into the second
//! write); advance refused on a difference; drop-archived refused within the grace period.

mod common;

use chrono::{Duration, NaiveDate, Utc};
use common::{Backend, TestDb};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::registry::Source;
use fetchers::rows::{Row, UnitOfWork};
use fetchers::store::{ApplyMode, RunStatus, RunTrigger, Store};
use paddock::app::{self, JobRequest};
use paddock::client::{ClientConfig, Credentials, RacingApiClient, SharedLimiter};
use paddock::config::Config;
use paddock::simulator::{SimConfig, SimServer};
use paddock::store::AnyStore;
use paddock::tables::{self, phase::legacy_name, phase::renamed_tables, Phase};
use serde_json::json;
use std::collections::BTreeMap;

fn sim_today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
}

async fn simulator() -> SimServer {
    let mut config = SimConfig::new(11, "tester", "secret");
    config.today = sim_today();
    SimServer::start(config).await.unwrap()
}

fn client_for(server: &SimServer) -> RacingApiClient {
    let config = ClientConfig {
        base_url: server.base_url.clone(),
        credentials: Some(Credentials::new("tester", "secret")),
        requests_per_second: 500.0,
        ..ClientConfig::default()
    };
    RacingApiClient::new(config, SharedLimiter::new(500.0)).unwrap()
}

fn config() -> Config {
    Config::from_toml("", &BTreeMap::<String, String>::new()).unwrap()
}

/// The store as the application opens it: following the database's phase.
async fn phased(db: &TestDb) -> AnyStore {
    tables::for_current_phase(db.store.clone()).await.unwrap()
}

/// Runs a job through the phase-following store; it must succeed.
async fn run_job(db: &TestDb, api: &RacingApiClient, request: JobRequest) {
    let store = phased(db).await;
    let result = app::run_job(
        &config(),
        api,
        &store,
        &request,
        RunTrigger::Manual,
        ApplyMode::Commit,
    )
    .await
    .unwrap();
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
}

/// Results of one past day (`days_ago` before the simulator's today).
async fn fetch_day(db: &TestDb, api: &RacingApiClient, days_ago: i64) {
    let day = sim_today() - Duration::days(days_ago);
    let plan = RacesAndRunnersPlan::dates(day, day, sim_today());
    run_job(db, api, JobRequest::RacesAndRunners(plan)).await;
}

/// The project's store fixture: a course, a race, two horses and their runners.
fn fixture_unit() -> UnitOfWork {
    let day = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    let rows = vec![
        Row::new("ra_mst_courses", Source::Racecard)
            .set("id", "crs_fixture")
            .set("name", "Course fixture"),
        Row::new("ra_mst_races", Source::Racecard)
            .set("id", "rac_fixture")
            .set("course_id", "crs_fixture")
            .set("race_date", day)
            .set("race_name", "Race fixture"),
        Row::new("ra_mst_horses", Source::Racecard)
            .set("id", "hrs_fixture_1")
            .set("name", "Alpha"),
        Row::new("ra_mst_horses", Source::Racecard)
            .set("id", "hrs_fixture_2")
            .set("name", "Bravo"),
        Row::new("ra_runners", Source::Racecard)
            .set("race_id", "rac_fixture")
            .set("horse_id", "hrs_fixture_1")
            .set("number", 1i64),
        Row::new("ra_runners", Source::Racecard)
            .set("race_id", "rac_fixture")
            .set("horse_id", "hrs_fixture_2")
            .set("number", 2i64),
    ];
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

async fn apply(store: &AnyStore, unit: &UnitOfWork) -> Result<(), String> {
    let run = store
        .start_run("test", RunTrigger::Manual, json!({"case": "dual-write"}))
        .await
        .unwrap();
    store
        .apply(run, unit, ApplyMode::Commit)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A legacy database (registry migrations moved to the legacy names) with an `ra_odds_*`
/// table of another system holding rows.
async fn legacy_database(db: &TestDb) {
    tables::migrate_legacy_names(db, Utc::now()).await.unwrap();
    assert_eq!(tables::current_phase(db).await.unwrap(), Phase::Legacy);
    db.execute("CREATE TABLE ra_odds_feed (id TEXT PRIMARY KEY, horse TEXT, price TEXT)")
        .await;
    for i in 0..25 {
        db.execute(&format!(
            "INSERT INTO ra_odds_feed (id, horse, price) VALUES ('o{i:03}', 'h{i}', '{}/1')",
            i + 2
        ))
        .await;
    }
}

async fn texts(db: &TestDb, sql: &str) -> Vec<String> {
    paddock::tables::sql::fetch_texts(db, sql)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// The `ra_odds_*` table's content and definition, to compare before and after each step.
async fn odds_checksum(db: &TestDb) -> Vec<String> {
    let mut out = texts(db, "SELECT id, horse, price FROM ra_odds_feed ORDER BY id").await;
    let definition = match db.backend() {
        Backend::Sqlite => "SELECT sql FROM sqlite_master WHERE name = 'ra_odds_feed'",
        Backend::Postgres => {
            "SELECT column_name::text || ' ' || data_type::text FROM information_schema.columns \
             WHERE table_name = 'ra_odds_feed' ORDER BY ordinal_position"
        }
    };
    out.extend(texts(db, definition).await);
    out
}

/// The table the runners' horse foreign key points at.
async fn runner_horse_reference(db: &TestDb) -> String {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT \"table\" FROM pragma_foreign_key_list('ra_runners') WHERE \"from\" = 'horse_id'"
        }
        Backend::Postgres => {
            "SELECT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' \
             AND conrelid = 'ra_runners'::regclass AND conkey = ARRAY[(SELECT attnum FROM \
             pg_attribute WHERE attrelid = 'ra_runners'::regclass AND attname = 'horse_id')]"
        }
    };
    texts(db, sql).await.join(",")
}

/// Every declared foreign key holds (SQLite: `foreign_key_check`; PostgreSQL: every key is
/// validated, so enforced for all rows).
async fn assert_foreign_keys_valid(db: &TestDb) {
    let broken =
        match db.backend() {
            Backend::Sqlite => texts(db, "SELECT \"table\" FROM pragma_foreign_key_check").await,
            Backend::Postgres => texts(
                db,
                "SELECT conname::text FROM pg_constraint WHERE contype = 'f' AND NOT convalidated",
            )
            .await,
        };
    assert!(broken.is_empty(), "foreign keys not valid: {broken:?}");
}

/// What every step checks: nothing lost, legacy == new while dual-writing, the odds table
/// untouched, foreign keys valid and pointing where the phase says.
async fn check_step(db: &TestDb, seen: &mut BTreeMap<&'static str, i64>, odds: &[String]) {
    let phase = tables::current_phase(db).await.unwrap();
    let physical = phase.physical_names();
    let mut tables_read: Vec<_> = renamed_tables();
    tables_read.push(fetchers::registry::table("ra_runners").unwrap());
    for table in tables_read {
        let read = physical.read(table);
        let rows = db.scalar_i64(&format!("SELECT COUNT(*) FROM {read}")).await;
        let before = seen.get(table.name).copied().unwrap_or(0);
        assert!(
            rows >= before,
            "{phase}: {read} has {rows} rows, had {before}"
        );
        seen.insert(table.name, rows);
    }
    assert!(seen["ra_runners"] > 0 && seen["ra_mst_horses"] > 0);
    match phase {
        Phase::Backfill | Phase::SwitchReaders => {
            let report = tables::verify(db).await.unwrap();
            assert!(report.is_clean(), "{phase}: {:?}", report.differences);
        }
        Phase::DualWrite => {
            // Before the backfill, new holds the rows written since begin: each one in legacy.
            for table in renamed_tables() {
                let strays = db
                    .scalar_i64(&format!(
                        "SELECT COUNT(*) FROM {} n WHERE NOT EXISTS (SELECT 1 FROM {} l WHERE l.id = n.id)",
                        table.name,
                        legacy_name(table)
                    ))
                    .await;
                assert_eq!(strays, 0, "{}", table.name);
            }
            let written = db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await;
            assert!(
                written > 0,
                "the unit after begin wrote no ra_mst_horses row"
            );
        }
        _ => {}
    }
    assert_eq!(
        odds_checksum(db).await,
        odds,
        "{phase}: ra_odds_feed changed"
    );
    assert_foreign_keys_valid(db).await;
    let expected = match phase {
        Phase::Legacy | Phase::DualWrite | Phase::Backfill => "ra_horses",
        _ => "ra_mst_horses",
    };
    assert_eq!(runner_horse_reference(db).await, expected, "{phase}");
}

backend_test!(
    a_legacy_database_walks_through_every_phase_and_back_with_nothing_lost,
    |db| async move {
        let server = simulator().await;
        let api = client_for(&server);
        legacy_database(&db).await;
        let odds = odds_checksum(&db).await;
        let mut seen = BTreeMap::new();

        apply(&phased(&db).await, &fixture_unit()).await.unwrap();
        run_job(&db, &api, JobRequest::MasterReference).await;
        fetch_day(&db, &api, 20).await;
        check_step(&db, &mut seen, &odds).await;
        let status = tables::cli::status(&db).await.unwrap();
        assert!(status.contains("phase: legacy"), "{status}");

        let now = Utc::now();
        tables::begin(&db, now).await.unwrap();
        fetch_day(&db, &api, 19).await;
        check_step(&db, &mut seen, &odds).await;

        tables::backfill(&db, 7, now).await.unwrap();
        fetch_day(&db, &api, 18).await;
        check_step(&db, &mut seen, &odds).await;
        tables::backfill(&db, 1000, now).await.unwrap();
        check_step(&db, &mut seen, &odds).await;

        assert_eq!(
            tables::advance(&db, false, now).await.unwrap(),
            Phase::SwitchReaders
        );
        fetch_day(&db, &api, 17).await;
        check_step(&db, &mut seen, &odds).await;

        assert_eq!(
            tables::advance(&db, true, now).await.unwrap(),
            Phase::Deprecate
        );
        fetch_day(&db, &api, 16).await;
        check_step(&db, &mut seen, &odds).await;
        // The compatibility view serves the legacy name.
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_horses").await,
            db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await
        );

        // Rollback from each phase leaves a database the fetchers work with.
        for (expected, days_ago) in [
            (Phase::SwitchReaders, 15),
            (Phase::Backfill, 14),
            (Phase::DualWrite, 13),
            (Phase::Legacy, 12),
        ] {
            assert_eq!(tables::rollback(&db, now).await.unwrap(), expected);
            fetch_day(&db, &api, days_ago).await;
            check_step(&db, &mut seen, &odds).await;
        }

        tables::begin(&db, now).await.unwrap();
        tables::backfill(&db, 500, now).await.unwrap();
        tables::advance(&db, false, now).await.unwrap();
        tables::advance(&db, false, now).await.unwrap();
        let refused =
            tables::drop_archived(&db, Duration::days(30), false, now + Duration::days(29))
                .await
                .unwrap_err()
                .to_string();
        assert!(refused.contains("grace period"), "{refused}");
        assert_eq!(tables::current_phase(&db).await.unwrap(), Phase::Deprecate);
        let dropped =
            tables::drop_archived(&db, Duration::days(30), false, now + Duration::days(31))
                .await
                .unwrap();
        assert!(
            dropped.contains(&"ra_old_horses".to_string()),
            "{dropped:?}"
        );
        fetch_day(&db, &api, 11).await;
        check_step(&db, &mut seen, &odds).await;

        let history = tables::history(&db).await.unwrap();
        assert!(history.iter().any(|t| t.outcome.starts_with("refused")));
        assert_eq!(history.last().unwrap().to, Phase::Dropped);
    }
);

backend_test!(
    drop_archived_within_the_grace_period_needs_force,
    |db| async move {
        legacy_database(&db).await;
        apply(&phased(&db).await, &fixture_unit()).await.unwrap();
        let now = Utc::now();
        tables::begin(&db, now).await.unwrap();
        tables::backfill(&db, 100, now).await.unwrap();
        tables::advance(&db, false, now).await.unwrap();
        tables::advance(&db, false, now).await.unwrap();
        assert!(tables::drop_archived(&db, Duration::days(30), false, now)
            .await
            .is_err());
        let dropped = tables::drop_archived(&db, Duration::days(30), true, now)
            .await
            .unwrap();
        assert_eq!(dropped.len(), 10);
        assert_eq!(tables::current_phase(&db).await.unwrap(), Phase::Dropped);
        assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await, 2);
    }
);

backend_test!(
    a_failure_in_the_second_write_of_a_dual_write_rolls_back_both,
    |db| async move {
        legacy_database(&db).await;
        tables::begin(&db, Utc::now()).await.unwrap();
        // A real rejection by the new table of a marker row (the legacy write comes first).
        match db.backend() {
            Backend::Sqlite => {
                db.execute(
                    "CREATE TRIGGER reject_marker BEFORE INSERT ON ra_mst_horses \
                     WHEN NEW.name = 'MARKER' BEGIN SELECT RAISE(ABORT, 'marker rejected'); END",
                )
                .await
            }
            Backend::Postgres => {
                db.execute(
                    "ALTER TABLE ra_mst_horses ADD CONSTRAINT reject_marker CHECK (name <> 'MARKER')",
                )
                .await
            }
        }
        let store = phased(&db).await;
        let mut unit = fixture_unit();
        unit.rows.push(
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", "hrs_marker")
                .set("name", "MARKER"),
        );
        let error = apply(&store, &unit).await.unwrap_err();
        assert!(error.contains("ra_mst_horses"), "{error}");
        for table in [
            "ra_horses",
            "ra_mst_horses",
            "ra_courses",
            "ra_mst_courses",
            "ra_runners",
        ] {
            assert_eq!(
                db.scalar_i64(&format!("SELECT COUNT(*) FROM {table}"))
                    .await,
                0,
                "{table}"
            );
        }
        apply(&store, &fixture_unit()).await.unwrap();
        assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_horses").await, 2);
        assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await, 2);
    }
);

backend_test!(
    advance_is_refused_while_verify_finds_a_difference_and_names_it,
    |db| async move {
        legacy_database(&db).await;
        apply(&phased(&db).await, &fixture_unit()).await.unwrap();
        let now = Utc::now();
        tables::begin(&db, now).await.unwrap();
        tables::backfill(&db, 1, now).await.unwrap();
        db.execute("UPDATE ra_mst_horses SET name = 'Tampered' WHERE id = 'hrs_fixture_1'")
            .await;
        db.execute("DELETE FROM ra_mst_horses WHERE id = 'hrs_fixture_2'")
            .await;
        let refused = tables::advance(&db, false, now)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("ra_mst_horses: key hrs_fixture_1 column name differs"),
            "{refused}"
        );
        assert!(
            refused.contains("ra_mst_horses: key hrs_fixture_2 of ra_horses is missing"),
            "{refused}"
        );
        assert_eq!(tables::current_phase(&db).await.unwrap(), Phase::Backfill);
        let history = tables::history(&db).await.unwrap();
        assert!(history.last().unwrap().outcome.contains("hrs_fixture_1"));

        // A second backfill repairs the copy; then advance goes ahead.
        tables::backfill(&db, 1, now).await.unwrap();
        assert_eq!(
            tables::advance(&db, false, now).await.unwrap(),
            Phase::SwitchReaders
        );
    }
);

backend_test!(
    a_pinned_phase_other_than_the_databases_is_refused_by_name,
    |db| async move {
        legacy_database(&db).await;
        let env = BTreeMap::<String, String>::new();
        let pinned = Config::from_toml("[database]\nexpected_rename_phase = \"dual-write\"", &env)
            .unwrap()
            .expected_rename_phase;
        assert_eq!(pinned, Some(Phase::DualWrite));
        assert!(Config::from_toml("[database]\nexpected_rename_phase = \"soon\"", &env).is_err());
        tables::check_pinned_phase(&db, Some(Phase::Legacy))
            .await
            .unwrap();
        tables::check_pinned_phase(&db, None).await.unwrap();
        let error = tables::check_pinned_phase(&db, pinned)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("dual-write") && error.contains("legacy"),
            "{error}"
        );
    }
);

//! The rename of the masters to `ra_mst_*` on a live database, on SQLite and PostgreSQL: a
//! legacy database with data walked through every phase and back, the fetchers run against the
//! simulator between the steps; dual writes atomic (a real failure injected into the second
//! write); advance refused on a difference; drop-archived refused within the grace period; a
//! store that keeps running follows every transition another connection makes, and a
//! transition waits for a unit in flight; the transition ledger numbers each attempt once.

use crate::support::jobs::{config_from_toml, default_config};
use crate::support::sim::{client_for, sim_today, simulator};
use crate::support::{Backend, TestDb};
use chrono::{Duration, NaiveDate, Utc};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::registry::Source;
use fetchers::rows::{Row, UnitOfWork};
use fetchers::store::{ApplyMode, RunStatus, RunTrigger, Store};
use paddock::client::RacingApiClient;
use paddock::config::Config;
use paddock::rename::{self, phase::legacy_name, phase::renamed_tables, Phase, TransitionOutcome};
use paddock::run::{self, JobRequest, RunContext};
use paddock::simulator::Faults;
use paddock::store::AnyStore;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

/// The simulator's seed in these tests.
const SEED: u64 = 11;

/// The store as the application opens it: following the database's phase.
async fn phased(db: &TestDb) -> AnyStore {
    rename::for_current_phase(db.store.clone()).await.unwrap()
}

/// Runs a job through the phase-following store; it must succeed.
async fn run_job(db: &TestDb, api: &RacingApiClient, request: JobRequest) {
    let store = phased(db).await;
    let result = run::run_job(
        &default_config(),
        api,
        &store,
        &request,
        &RunContext::new(RunTrigger::Manual, ApplyMode::Commit),
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
    rename::migrate_legacy_names(db, Utc::now()).await.unwrap();
    assert_eq!(rename::current_phase(db).await.unwrap(), Phase::Legacy);
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
    db.text_rows(sql)
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

/// Rows of physical table `from` (every registry column of `table`, as text) that `to` does
/// not hold identically.
async fn rows_not_in(db: &TestDb, table: &fetchers::registry::Table, from: &str, to: &str) -> i64 {
    let columns = table
        .all_columns()
        .iter()
        .map(|c| format!("CAST({} AS TEXT)", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    db.scalar_i64(&format!(
        "SELECT COUNT(*) FROM (SELECT {columns} FROM {from} EXCEPT SELECT {columns} FROM {to}) d"
    ))
    .await
}

/// What every step checks: nothing lost, legacy == new while dual-writing, the odds table
/// untouched, foreign keys valid and pointing where the phase says.
async fn check_step(db: &TestDb, seen: &mut BTreeMap<&'static str, i64>, odds: &[String]) {
    let phase = rename::current_phase(db).await.unwrap();
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
            // From the backfill on, legacy and new are identical, row for row, every column.
            for table in renamed_tables() {
                let (legacy, new) = (legacy_name(table), table.name);
                assert_eq!(
                    rows_not_in(db, table, new, legacy).await,
                    0,
                    "{phase}: {new}"
                );
                assert_eq!(
                    rows_not_in(db, table, legacy, new).await,
                    0,
                    "{phase}: {legacy}"
                );
            }
            let report = rename::verify(db).await.unwrap();
            assert!(report.is_clean(), "{phase}: {:?}", report.differences);
        }
        Phase::DualWrite => {
            // Before the backfill, new holds the rows written since begin: each one equal, in
            // every column, to the legacy row with its key.
            for table in renamed_tables() {
                let (legacy, new) = (legacy_name(table), table.name);
                assert_eq!(
                    rows_not_in(db, table, new, legacy).await,
                    0,
                    "{phase}: {new}"
                );
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
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        legacy_database(&db).await;
        let odds = odds_checksum(&db).await;
        let mut seen = BTreeMap::new();

        apply(&phased(&db).await, &fixture_unit()).await.unwrap();
        run_job(&db, &api, JobRequest::MasterReference).await;
        fetch_day(&db, &api, 20).await;
        check_step(&db, &mut seen, &odds).await;
        let status = rename::cli::status(&db).await.unwrap();
        assert!(status.contains("phase: legacy"), "{status}");

        let now = Utc::now();
        rename::begin(&db, now).await.unwrap();
        fetch_day(&db, &api, 19).await;
        check_step(&db, &mut seen, &odds).await;

        rename::backfill(&db, 7, now).await.unwrap();
        fetch_day(&db, &api, 18).await;
        check_step(&db, &mut seen, &odds).await;
        rename::backfill(&db, 1000, now).await.unwrap();
        check_step(&db, &mut seen, &odds).await;

        assert_eq!(
            rename::advance(&db, false, now).await.unwrap(),
            Phase::SwitchReaders
        );
        fetch_day(&db, &api, 17).await;
        check_step(&db, &mut seen, &odds).await;

        assert_eq!(
            rename::advance(&db, true, now).await.unwrap(),
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
            assert_eq!(rename::rollback(&db, now).await.unwrap(), expected);
            fetch_day(&db, &api, days_ago).await;
            check_step(&db, &mut seen, &odds).await;
        }

        rename::begin(&db, now).await.unwrap();
        rename::backfill(&db, 500, now).await.unwrap();
        rename::advance(&db, false, now).await.unwrap();
        rename::advance(&db, false, now).await.unwrap();
        let refused =
            rename::drop_archived(&db, Duration::days(30), false, now + Duration::days(29))
                .await
                .unwrap_err()
                .to_string();
        assert!(refused.contains("grace period"), "{refused}");
        assert_eq!(rename::current_phase(&db).await.unwrap(), Phase::Deprecate);
        let dropped =
            rename::drop_archived(&db, Duration::days(30), false, now + Duration::days(31))
                .await
                .unwrap();
        assert!(
            dropped.contains(&"ra_old_horses".to_string()),
            "{dropped:?}"
        );
        fetch_day(&db, &api, 11).await;
        check_step(&db, &mut seen, &odds).await;

        let history = rename::history(&db).await.unwrap();
        assert!(history
            .iter()
            .any(|t| t.outcome == TransitionOutcome::Refused));
        assert_eq!(history.last().unwrap().to, Phase::Dropped);
    }
);

backend_test!(
    drop_archived_within_the_grace_period_needs_force,
    |db| async move {
        legacy_database(&db).await;
        apply(&phased(&db).await, &fixture_unit()).await.unwrap();
        let now = Utc::now();
        rename::begin(&db, now).await.unwrap();
        rename::backfill(&db, 100, now).await.unwrap();
        rename::advance(&db, false, now).await.unwrap();
        rename::advance(&db, false, now).await.unwrap();
        assert!(rename::drop_archived(&db, Duration::days(30), false, now)
            .await
            .is_err());
        let dropped = rename::drop_archived(&db, Duration::days(30), true, now)
            .await
            .unwrap();
        assert_eq!(dropped.len(), 10);
        assert_eq!(rename::current_phase(&db).await.unwrap(), Phase::Dropped);
        assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await, 2);
    }
);

backend_test!(
    a_failure_in_the_second_write_of_a_dual_write_rolls_back_both,
    |db| async move {
        legacy_database(&db).await;
        rename::begin(&db, Utc::now()).await.unwrap();
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
        rename::begin(&db, now).await.unwrap();
        rename::backfill(&db, 1, now).await.unwrap();
        db.execute("UPDATE ra_mst_horses SET name = 'Tampered' WHERE id = 'hrs_fixture_1'")
            .await;
        db.execute("DELETE FROM ra_mst_horses WHERE id = 'hrs_fixture_2'")
            .await;
        let refused = rename::advance(&db, false, now)
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
        assert_eq!(rename::current_phase(&db).await.unwrap(), Phase::Backfill);
        let history = rename::history(&db).await.unwrap();
        let last = history.last().unwrap();
        assert_eq!(last.outcome, TransitionOutcome::Refused);
        assert!(last.detail.as_deref().unwrap().contains("hrs_fixture_1"));

        // A second backfill repairs the copy; then advance goes ahead.
        rename::backfill(&db, 1, now).await.unwrap();
        assert_eq!(
            rename::advance(&db, false, now).await.unwrap(),
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
        rename::check_pinned_phase(&db, Some(Phase::Legacy))
            .await
            .unwrap();
        rename::check_pinned_phase(&db, None).await.unwrap();
        let error = rename::check_pinned_phase(&db, pinned)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("dual-write") && error.contains("legacy"),
            "{error}"
        );
    }
);

/// The binary's configuration for this test database.
fn config_for(db: &TestDb) -> Config {
    config_from_toml(&format!("[database]\nurl = \"{}\"\n", db.url()))
}

/// A unit of work of its own (course, race, horse, runner) numbered `n`.
fn numbered_unit(n: usize) -> UnitOfWork {
    let day = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap() + Duration::days(n as i64);
    let rows = vec![
        Row::new("ra_mst_courses", Source::Racecard)
            .set("id", format!("crs_live_{n}"))
            .set("name", format!("Course {n}")),
        Row::new("ra_mst_races", Source::Racecard)
            .set("id", format!("rac_live_{n}"))
            .set("course_id", format!("crs_live_{n}"))
            .set("race_date", day)
            .set("race_name", format!("Race {n}")),
        Row::new("ra_mst_horses", Source::Racecard)
            .set("id", format!("hrs_live_{n}"))
            .set("name", format!("Horse {n}")),
        Row::new("ra_runners", Source::Racecard)
            .set("race_id", format!("rac_live_{n}"))
            .set("horse_id", format!("hrs_live_{n}"))
            .set("number", 1i64),
    ];
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

/// Every registry column of the row with key `id` in physical table `physical` of `table`, as
/// text; `None` if there is no such row.
async fn row_of(db: &TestDb, table: &str, physical: &str, id: &str) -> Option<String> {
    let table = fetchers::registry::table(table).unwrap();
    let columns = table
        .all_columns()
        .iter()
        .map(|c| format!("COALESCE(CAST({} AS TEXT), 'NULL')", c.name))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let sql = format!("SELECT {columns} FROM {physical} WHERE id = '{id}'");
    texts(db, &sql).await.into_iter().next()
}

/// Where unit `n`'s masters landed: (in legacy, in new), asserting that a row in both is
/// identical in every column.
async fn landed(db: &TestDb, n: usize, legacy_table: &str) -> (bool, bool) {
    let mut found = Vec::new();
    for (table, id) in [
        ("ra_mst_courses", format!("crs_live_{n}")),
        ("ra_mst_races", format!("rac_live_{n}")),
        ("ra_mst_horses", format!("hrs_live_{n}")),
    ] {
        let registry = fetchers::registry::table(table).unwrap();
        let legacy = if legacy_table == "ra_old" {
            paddock::rename::phase::archived_name(registry)
        } else {
            legacy_name(registry).to_string()
        };
        let old = if db.table_exists(&legacy).await.unwrap() {
            row_of(db, table, &legacy, &id).await
        } else {
            None
        };
        let new = if db.table_exists(table).await.unwrap() {
            row_of(db, table, table, &id).await
        } else {
            None
        };
        if let (Some(o), Some(n)) = (&old, &new) {
            assert_eq!(o, n, "{table} {id}: legacy and new differ");
        }
        found.push((old.is_some(), new.is_some()));
    }
    assert!(
        found.windows(2).all(|w| w[0] == w[1]),
        "unit {n} landed unevenly: {found:?}"
    );
    found[0]
}

backend_test!(
    a_running_store_follows_every_transition_another_connection_makes,
    |db| async move {
        legacy_database(&db).await;
        // The daemon's store: opened once, in phase legacy, and kept across every transition
        // that `db` (another pool, as another process would) makes.
        let daemon = paddock::open_store(&config_for(&db)).await.unwrap();
        let now = Utc::now();
        let count = std::cell::Cell::new(0);
        let unit = |expected: (bool, bool)| {
            count.set(count.get() + 1);
            let (daemon, db, n) = (daemon.clone(), &db, count.get());
            async move {
                apply(&daemon, &numbered_unit(n)).await.unwrap();
                assert_eq!(landed(db, n, "ra").await, expected, "unit {n}");
            }
        };
        const LEGACY_ONLY: (bool, bool) = (true, false);
        const BOTH: (bool, bool) = (true, true);
        const NEW_ONLY: (bool, bool) = (false, true);

        unit(LEGACY_ONLY).await;
        let race = |id: &'static str| {
            let daemon = daemon.clone();
            async move {
                let report = paddock::derive::query::race_report(&daemon, id)
                    .await
                    .unwrap();
                report.map(|r| r.race_name).unwrap_or_default()
            }
        };
        assert_eq!(race("rac_live_1").await.as_deref(), Some("Race 1"));
        rename::begin(&db, now).await.unwrap();
        unit(BOTH).await;
        // Reads still use legacy, which holds the race written before begin.
        assert_eq!(race("rac_live_1").await.as_deref(), Some("Race 1"));
        rename::backfill(&db, 3, now).await.unwrap();
        unit(BOTH).await;
        rename::advance(&db, false, now).await.unwrap();
        unit(BOTH).await;
        // Reads follow too: after switch-readers they read the new tables.
        assert_eq!(
            daemon.count_rows("ra_mst_horses").await.unwrap(),
            db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await
        );

        rename::advance(&db, false, now).await.unwrap();
        let archived = db.scalar_i64("SELECT COUNT(*) FROM ra_old_horses").await;
        unit(NEW_ONLY).await;
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_old_horses").await,
            archived,
            "the archived legacy table is not written"
        );
        assert_eq!(landed(&db, count.get(), "ra_old").await, NEW_ONLY);
        // No legacy table and no view by that name: a stale read would fail.
        assert_eq!(
            daemon.count_rows("ra_mst_horses").await.unwrap(),
            db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await
        );
        daemon.horses_without_profile(10).await.unwrap();

        for expected in [Phase::SwitchReaders, Phase::Backfill, Phase::DualWrite] {
            assert_eq!(rename::rollback(&db, now).await.unwrap(), expected);
            unit(BOTH).await;
        }
        assert_eq!(rename::rollback(&db, now).await.unwrap(), Phase::Legacy);
        unit(LEGACY_ONLY).await;
        assert_eq!(
            daemon.count_rows("ra_mst_horses").await.unwrap(),
            db.scalar_i64("SELECT COUNT(*) FROM ra_horses").await
        );
    }
);

/// Opens a unit's transaction on `store` exactly as `apply` does (`begin_unit`: the phase read
/// inside it) and holds it open until `release` fires; sends the tables the unit would write
/// `ra_mst_horses` to once it holds the transaction.
fn hold_unit(
    store: AnyStore,
    holding: tokio::sync::oneshot::Sender<Vec<String>>,
    release: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<()> {
    let horses = fetchers::registry::table("ra_mst_horses").unwrap();
    let written = |names: &paddock::store::PhysicalNames| {
        names
            .written(horses)
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    tokio::spawn(async move {
        match store {
            AnyStore::Postgres(s) => {
                let (tx, names) = s.begin_unit().await.unwrap();
                holding.send(written(&names)).unwrap();
                release.await.unwrap();
                tx.commit().await.unwrap();
            }
            AnyStore::Sqlite(s) => {
                let (tx, names) = s.begin_unit().await.unwrap();
                holding.send(written(&names)).unwrap();
                release.await.unwrap();
                tx.commit().await.unwrap();
            }
        }
    })
}

backend_test!(
    a_transition_waits_for_the_unit_in_flight_and_later_units_see_the_new_phase,
    |db| async move {
        legacy_database(&db).await;
        let daemon = paddock::open_store(&config_for(&db)).await.unwrap();
        let (holding_tx, holding) = tokio::sync::oneshot::channel();
        let (release, release_rx) = tokio::sync::oneshot::channel();
        let unit = hold_unit(daemon.clone(), holding_tx, release_rx);
        assert_eq!(holding.await.unwrap(), ["ra_horses"]);

        let other = db.store.clone();
        let transition =
            tokio::spawn(async move { rename::begin(&other, Utc::now()).await.unwrap() });
        tokio::time::sleep(StdDuration::from_millis(700)).await;
        assert!(
            !transition.is_finished(),
            "begin went ahead while a unit that read phase legacy was still open"
        );
        assert_eq!(rename::current_phase(&db).await.unwrap(), Phase::Legacy);

        // PostgreSQL queues a unit that starts now behind the waiting transition; it then reads
        // the new phase. (SQLite's writers take the lock in no set order: not asserted there.)
        let queued = (db.backend() == Backend::Postgres).then(|| {
            let daemon = daemon.clone();
            tokio::spawn(async move { apply(&daemon, &numbered_unit(1)).await.unwrap() })
        });
        if let Some(queued) = &queued {
            tokio::time::sleep(StdDuration::from_millis(300)).await;
            assert!(!queued.is_finished(), "the unit jumped the queue");
        }

        release.send(()).unwrap();
        unit.await.unwrap();
        tokio::time::timeout(StdDuration::from_secs(30), transition)
            .await
            .expect("begin finishes once the unit committed")
            .unwrap();
        assert_eq!(rename::current_phase(&db).await.unwrap(), Phase::DualWrite);
        if let Some(queued) = queued {
            queued.await.unwrap();
            assert_eq!(landed(&db, 1, "ra").await, (true, true));
        }
        apply(&daemon, &numbered_unit(2)).await.unwrap();
        assert_eq!(landed(&db, 2, "ra").await, (true, true));
    }
);

mod history;

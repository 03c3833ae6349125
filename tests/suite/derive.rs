//! The derived tables on both backends: every figure equals a naive recomputation written here
//! in plain Rust (over rows read back from `ra_runners` and `ra_mst_races`, independent of the
//! production SQL), the incremental update after a results run equals a full rebuild and writes
//! only the touched groups, and hand-made races pin down non-runners, non-finishers, dead heats,
//! big-field handicaps and euro prizes.

use crate::support::jobs::run;
use crate::support::sim::{client_for, sim_today, simulator};
use crate::support::TestDb;
use chrono::NaiveDate;
use fetchers::derived::DistanceBands;
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::registry::Source;
use fetchers::rows::{Row, UnitOfWork};
use fetchers::store::{ApplyMode, RunId, RunStatus, RunTrigger, Store};
use paddock::app::{self, JobRequest};
use paddock::client::RacingApiClient;
use paddock::simulator::Faults;
use paddock::store::AnyStore;
use std::collections::{BTreeMap, BTreeSet};

// ---- reading rows back ----

/// Every row of `sql` as text values (write `CAST(x AS TEXT)` for non-text columns).
async fn rows(db: &TestDb, sql: &str) -> Vec<Vec<Option<String>>> {
    use sqlx::Row as _;
    let result: Result<Vec<Vec<Option<String>>>, sqlx::Error> = match &db.store {
        AnyStore::Sqlite(s) => sqlx::query(sql).fetch_all(s.pool()).await.map(|rs| {
            rs.iter()
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .collect()
        }),
        AnyStore::Postgres(s) => sqlx::query(sql).fetch_all(s.pool()).await.map(|rs| {
            rs.iter()
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .collect()
        }),
    };
    result.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn truthy(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true"))
}

fn num(v: &Option<String>) -> Option<f64> {
    v.as_deref()
        .map(|s| s.parse().unwrap_or_else(|_| panic!("number {s}")))
}

fn int(v: &Option<String>) -> i64 {
    v.as_deref().map_or(0, |s| s.parse().unwrap())
}

fn date(v: &Option<String>) -> Option<NaiveDate> {
    v.as_deref().map(|s| s[..10].parse().unwrap())
}

/// A runner row joined with its race, as stored.
#[derive(Debug, Clone)]
struct StoredRunner {
    race_id: String,
    /// horse, jockey, trainer, owner, sire, dam, damsire ids.
    entities: [Option<String>; 7],
    non_runner: bool,
    finish_status: Option<String>,
    position: Option<i64>,
    prize: Option<(f64, String)>,
    sp: Option<f64>,
    has_result: bool,
    race_name: String,
    course_id: String,
    race_date: NaiveDate,
    furlongs: Option<f64>,
}

const ENTITY_TYPES: [&str; 7] = [
    "horse", "jockey", "trainer", "owner", "sire", "dam", "damsire",
];

async fn stored_runners(db: &TestDb) -> Vec<StoredRunner> {
    rows(
        db,
        "SELECT r.race_id, r.horse_id, r.jockey_id, r.trainer_id, r.owner_id, r.sire_id, \
         r.dam_id, r.damsire_id, CAST(r.is_non_runner AS TEXT), r.finish_status, \
         CAST(r.position AS TEXT), CAST(r.prize_amount AS TEXT), r.prize_currency, \
         CAST(r.sp_decimal AS TEXT), CAST(x.has_result AS TEXT), x.race_name, x.course_id, \
         CAST(x.race_date AS TEXT), CAST(x.distance_furlongs AS TEXT) \
         FROM ra_runners r JOIN ra_mst_races x ON x.id = r.race_id",
    )
    .await
    .into_iter()
    .map(|r| StoredRunner {
        race_id: r[0].clone().unwrap(),
        entities: std::array::from_fn(|i| r[1 + i].clone()),
        non_runner: truthy(&r[8]),
        finish_status: r[9].clone(),
        position: r[10].as_deref().map(|s| s.parse().unwrap()),
        prize: num(&r[11]).zip(r[12].clone()),
        sp: num(&r[13]),
        has_result: truthy(&r[14]),
        race_name: r[15].clone().unwrap_or_default(),
        course_id: r[16].clone().unwrap(),
        race_date: date(&r[17]).unwrap(),
        furlongs: num(&r[18]),
    })
    .collect()
}

// ---- the naive recomputation ----

/// The figures of one group, computed naively.
#[derive(Debug, Clone, Default, PartialEq)]
struct Naive {
    runs: i64,
    wins: i64,
    places: i64,
    prize_gbp: f64,
    prize_eur: f64,
    last_run: Option<NaiveDate>,
    last_win: Option<NaiveDate>,
    runs_14d: i64,
    wins_14d: i64,
    runs_30d: i64,
    wins_30d: i64,
    sp_runs: i64,
    sp_wins: i64,
    expected_wins: Option<f64>,
}

/// One counted run: its date and outcome.
struct Run {
    date: NaiveDate,
    win: bool,
    place: bool,
    prize: Option<(f64, String)>,
    sp: Option<f64>,
}

fn band_of(furlongs: f64) -> &'static str {
    if furlongs >= 16.0 {
        "16f+"
    } else if furlongs >= 12.0 {
        "12-15f"
    } else if furlongs >= 9.0 {
        "9-11f"
    } else if furlongs >= 7.0 {
        "7-8f"
    } else {
        "5-6f"
    }
}

/// Table name → group key (type, ids…, extra) → figures.
type Tables = BTreeMap<&'static str, BTreeMap<Vec<String>, Naive>>;

fn naive_tables(stored: &[StoredRunner]) -> Tables {
    let counts_as_run =
        |r: &StoredRunner| r.has_result && !r.non_runner && r.finish_status.is_some();
    let mut field: BTreeMap<&str, usize> = BTreeMap::new();
    for r in stored.iter().filter(|r| counts_as_run(r)) {
        *field.entry(&r.race_id).or_default() += 1;
    }
    let mut groups: BTreeMap<&'static str, BTreeMap<Vec<String>, Vec<Run>>> = BTreeMap::new();
    for r in stored.iter().filter(|r| counts_as_run(r)) {
        let handicap = r.race_name.to_lowercase().contains("handicap");
        let place_limit = if handicap && field[r.race_id.as_str()] >= 16 {
            4
        } else {
            3
        };
        let run = || Run {
            date: r.race_date,
            win: r.position == Some(1),
            place: r.position.is_some_and(|p| (1..=place_limit).contains(&p)),
            prize: r.prize.clone(),
            sp: r.sp,
        };
        let mut add = |table: &'static str, key: Vec<String>| {
            groups
                .entry(table)
                .or_default()
                .entry(key)
                .or_default()
                .push(run())
        };
        for (i, kind) in ENTITY_TYPES.iter().enumerate() {
            let Some(id) = &r.entities[i] else { continue };
            add("ra_runner_statistics", vec![kind.to_string(), id.clone()]);
            add(
                "ra_performance_by_venue",
                vec![kind.to_string(), id.clone(), r.course_id.clone()],
            );
            if let Some(f) = r.furlongs {
                add(
                    "ra_performance_by_distance",
                    vec![kind.to_string(), id.clone(), band_of(f).to_string()],
                );
            }
        }
        for (name, a, b) in [
            ("trainer_jockey", 2, 1),
            ("horse_jockey", 0, 1),
            ("owner_trainer", 3, 2),
        ] {
            if let (Some(x), Some(y)) = (&r.entities[a], &r.entities[b]) {
                add(
                    "ra_entity_combinations",
                    vec![name.to_string(), x.clone(), y.clone()],
                );
            }
        }
    }
    groups
        .into_iter()
        .map(|(table, g)| {
            let figures = g
                .into_iter()
                .map(|(key, runs)| (key, summarise(&runs)))
                .collect();
            (table, figures)
        })
        .collect()
}

fn summarise(runs: &[Run]) -> Naive {
    let last = runs.iter().map(|r| r.date).max();
    let mut n = Naive {
        last_run: last,
        ..Naive::default()
    };
    for r in runs {
        n.runs += 1;
        n.wins += i64::from(r.win);
        n.places += i64::from(r.place);
        match &r.prize {
            Some((amount, c)) if c == "GBP" => n.prize_gbp += amount,
            Some((amount, c)) if c == "EUR" => n.prize_eur += amount,
            _ => {}
        }
        if r.win && n.last_win.is_none_or(|d| r.date > d) {
            n.last_win = Some(r.date);
        }
        let age = (last.unwrap() - r.date).num_days();
        if age < 14 {
            n.runs_14d += 1;
            n.wins_14d += i64::from(r.win);
        }
        if age < 30 {
            n.runs_30d += 1;
            n.wins_30d += i64::from(r.win);
        }
        if let Some(sp) = r.sp.filter(|s| *s > 0.0) {
            n.sp_runs += 1;
            n.sp_wins += i64::from(r.win);
            *n.expected_wins.get_or_insert(0.0) += 1.0 / sp;
        }
    }
    n
}

// ---- reading the derived tables ----

/// Each derived table's key columns.
fn key_columns(table: &str) -> &'static [&'static str] {
    match table {
        "ra_runner_statistics" => &["entity_type", "entity_id"],
        "ra_entity_combinations" => &["pair_type", "first_id", "second_id"],
        "ra_performance_by_distance" => &["entity_type", "entity_id", "distance_band"],
        "ra_performance_by_venue" => &["entity_type", "entity_id", "course_id"],
        _ => unreachable!(),
    }
}

const TABLES: [&str; 4] = [
    "ra_runner_statistics",
    "ra_entity_combinations",
    "ra_performance_by_distance",
    "ra_performance_by_venue",
];

/// A stored group: its figures plus the rates and ratio the table stores beside them.
#[derive(Debug, Clone)]
struct Stored {
    naive: Naive,
    win_rate: f64,
    place_rate: f64,
    actual_over_expected: Option<f64>,
    last_run_id: i64,
}

async fn stored_table(db: &TestDb, table: &str) -> BTreeMap<Vec<String>, Stored> {
    let keys = key_columns(table);
    let sql = format!(
        "SELECT {}, CAST(runs AS TEXT), CAST(wins AS TEXT), CAST(places AS TEXT), \
         CAST(prize_gbp AS TEXT), CAST(prize_eur AS TEXT), CAST(last_run_date AS TEXT), \
         CAST(last_win_date AS TEXT), CAST(runs_14d AS TEXT), CAST(wins_14d AS TEXT), \
         CAST(runs_30d AS TEXT), CAST(wins_30d AS TEXT), CAST(sp_runs AS TEXT), \
         CAST(sp_wins AS TEXT), CAST(expected_wins AS TEXT), CAST(win_rate AS TEXT), \
         CAST(place_rate AS TEXT), CAST(actual_over_expected AS TEXT), \
         CAST(last_run_id AS TEXT) FROM {table}",
        keys.join(", ")
    );
    rows(db, &sql)
        .await
        .into_iter()
        .map(|r| {
            let k = keys.len();
            let key: Vec<String> = r[..k].iter().map(|v| v.clone().unwrap()).collect();
            let f = &r[k..];
            let naive = Naive {
                runs: int(&f[0]),
                wins: int(&f[1]),
                places: int(&f[2]),
                prize_gbp: num(&f[3]).unwrap(),
                prize_eur: num(&f[4]).unwrap(),
                last_run: date(&f[5]),
                last_win: date(&f[6]),
                runs_14d: int(&f[7]),
                wins_14d: int(&f[8]),
                runs_30d: int(&f[9]),
                wins_30d: int(&f[10]),
                sp_runs: int(&f[11]),
                sp_wins: int(&f[12]),
                expected_wins: num(&f[13]),
            };
            let stored = Stored {
                naive,
                win_rate: num(&f[14]).unwrap(),
                place_rate: num(&f[15]).unwrap(),
                actual_over_expected: num(&f[16]),
                last_run_id: int(&f[17]),
            };
            (key, stored)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn close_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => close(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Whether a stored group equals the naive figures (floats within rounding).
fn same(stored: &Stored, naive: &Naive) -> bool {
    let s = &stored.naive;
    let exact = Naive {
        prize_gbp: 0.0,
        prize_eur: 0.0,
        expected_wins: None,
        ..s.clone()
    } == Naive {
        prize_gbp: 0.0,
        prize_eur: 0.0,
        expected_wins: None,
        ..naive.clone()
    };
    let runs = naive.runs as f64;
    exact
        && close(s.prize_gbp, naive.prize_gbp)
        && close(s.prize_eur, naive.prize_eur)
        && close_opt(s.expected_wins, naive.expected_wins)
        && close(stored.win_rate, naive.wins as f64 / runs)
        && close(stored.place_rate, naive.places as f64 / runs)
        && close_opt(
            stored.actual_over_expected,
            naive
                .expected_wins
                .filter(|e| *e > 0.0)
                .map(|e| naive.sp_wins as f64 / e),
        )
}

/// Asserts every derived table equals the naive recomputation, group for group.
async fn assert_tables_equal_naive(db: &TestDb, context: &str) {
    let expected = naive_tables(&stored_runners(db).await);
    for table in TABLES {
        let actual = stored_table(db, table).await;
        let empty = BTreeMap::new();
        let wanted = expected.get(table).unwrap_or(&empty);
        assert!(!wanted.is_empty(), "{context}: no {table} groups at all");
        let actual_keys: BTreeSet<&Vec<String>> = actual.keys().collect();
        let wanted_keys: BTreeSet<&Vec<String>> = wanted.keys().collect();
        assert_eq!(
            actual_keys.len(),
            wanted_keys.len(),
            "{context}: {table} group count; missing {:?}, extra {:?}",
            wanted_keys
                .difference(&actual_keys)
                .take(3)
                .collect::<Vec<_>>(),
            actual_keys
                .difference(&wanted_keys)
                .take(3)
                .collect::<Vec<_>>()
        );
        assert_eq!(actual_keys, wanted_keys, "{context}: {table} groups");
        for (key, naive) in wanted {
            assert!(
                same(&actual[key], naive),
                "{context}: {table} {key:?}\n stored {:?}\n naive  {naive:?}",
                actual[key]
            );
        }
    }
}

/// Every entity column of every derived row names exactly the row's entity (or pair).
async fn assert_entity_columns_match_keys(db: &TestDb) {
    for table in [
        "ra_runner_statistics",
        "ra_performance_by_distance",
        "ra_performance_by_venue",
    ] {
        let sql = format!(
            "SELECT entity_type, entity_id, horse_id, jockey_id, trainer_id, owner_id, sire_id, \
             dam_id, damsire_id FROM {table}"
        );
        for r in rows(db, &sql).await {
            let kind = r[0].as_deref().unwrap();
            for (i, t) in ENTITY_TYPES.iter().enumerate() {
                let want = (*t == kind).then(|| r[1].clone().unwrap());
                assert_eq!(r[2 + i], want, "{table} {kind} {:?}: {t}_id", r[1]);
            }
        }
    }
}

// ---- the pipeline ----

/// The simulator's seed in these tests.
const SEED: u64 = 5;

/// A races-and-runners run for `from..=to` (racecards and results), which also updates the
/// derived tables for the races it wrote.
async fn results_run(
    db: &TestDb,
    api: &RacingApiClient,
    from: NaiveDate,
    to: NaiveDate,
) -> app::RunResult {
    let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(from, to, sim_today()));
    let result = run(db, api, request).await;
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
    result
}

async fn full_rebuild(db: &TestDb) -> app::RunResult {
    let result =
        paddock::derive::run_full_rebuild(&db.store, &DistanceBands::default(), RunTrigger::Manual)
            .await
            .unwrap();
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
    result
}

fn day(n: i64) -> NaiveDate {
    sim_today() - chrono::Duration::days(n)
}

backend_test!(
    every_derived_figure_equals_a_naive_recomputation_over_ten_simulated_days,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        // Ten days of racecards and results, ending well before the simulator's today.
        results_run(&db, &api, day(30), day(21)).await;
        // The results run's own incremental update, from empty tables.
        assert_tables_equal_naive(&db, "after the results run").await;
        let requests_before = server.stats().total;
        let rebuild = full_rebuild(&db).await;
        // The rebuild asks the API nothing.
        assert_eq!(rebuild.report.total_requests(), 0);
        assert_eq!(server.stats().total, requests_before);
        assert_tables_equal_naive(&db, "after a full rebuild").await;
        assert_entity_columns_match_keys(&db).await;
        // The full rebuild is its own ledger job, counting every row it wrote.
        let runs = db.recent_runs(1).await.unwrap();
        assert_eq!(runs[0].job, "derive_full");
        assert_eq!(runs[0].status, fetchers::store::RunStatus::Succeeded);
        for table in TABLES {
            let total = db.count_rows(table).await.unwrap() as u64;
            let c = rebuild.ledger_counts.table(table);
            assert_eq!(c.inserted + c.updated, total, "{table}");
        }
    }
);

backend_test!(
    two_derived_writers_at_once_wait_for_each_other_and_both_succeed,
    |db| async move {
        // The daemon's weekly rebuild may start while a results run updates the derived
        // tables: both delete and re-insert groups, so without serializing one of them would
        // insert keys the other just committed.
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        results_run(&db, &api, day(30), day(24)).await;
        let bands = DistanceBands::default();
        let (a, b, c) = tokio::join!(
            paddock::derive::run_full_rebuild(&db.store, &bands, RunTrigger::Manual),
            paddock::derive::run_full_rebuild(&db.store, &bands, RunTrigger::Schedule),
            paddock::derive::run_full_rebuild(&db.store, &bands, RunTrigger::Manual),
        );
        for result in [a, b, c] {
            let result = result.unwrap();
            assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
        }
        assert_tables_equal_naive(&db, "after three rebuilds at once").await;
    }
);

backend_test!(
    an_incremental_update_equals_a_full_rebuild_and_writes_only_the_touched_groups,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        results_run(&db, &api, day(22), day(17)).await;
        let requests_before = server.stats().total;
        let further = results_run(&db, &api, day(16), day(15)).await;
        assert!(server.stats().total > requests_before);

        // The groups the further run's races name, from the simulator's own race list.
        let touched_races: BTreeSet<String> = [day(16), day(15)]
            .iter()
            .flat_map(|d| server.data().races_on(*d))
            .map(|r| r.race_id)
            .collect();
        let stored = stored_runners(&db).await;
        let touched_rows: Vec<StoredRunner> = stored
            .iter()
            .filter(|r| touched_races.contains(&r.race_id))
            .cloned()
            .collect();
        assert!(!touched_rows.is_empty());
        // Keys named by the touched rows (runs or not), restricted to groups that have runs.
        let named: Tables = naive_tables(
            &touched_rows
                .iter()
                .map(|r| StoredRunner {
                    has_result: true,
                    non_runner: false,
                    finish_status: Some("named".into()),
                    ..r.clone()
                })
                .collect::<Vec<_>>(),
        );
        let everything = naive_tables(&stored);
        let incremental: BTreeMap<&str, BTreeMap<Vec<String>, Stored>> = {
            let mut m = BTreeMap::new();
            for table in TABLES {
                m.insert(table, stored_table(&db, table).await);
            }
            m
        };
        for table in TABLES {
            let written: BTreeSet<&Vec<String>> = incremental[table]
                .iter()
                .filter(|(_, s)| s.last_run_id == further.run_id.get())
                .map(|(k, _)| k)
                .collect();
            let expected: BTreeSet<&Vec<String>> = named[table]
                .keys()
                .filter(|k| everything[table].contains_key(*k))
                .collect();
            assert_eq!(written, expected, "{table}: rows the further run wrote");
            assert!(
                written.len() < incremental[table].len(),
                "{table}: the update rewrote every row"
            );
            // The ledger counts exactly those rows under the results run.
            let c = further.ledger_counts.table(table);
            assert_eq!(c.inserted + c.updated, written.len() as u64, "{table}");
        }
        assert_tables_equal_naive(&db, "after the incremental update").await;

        full_rebuild(&db).await;
        for table in TABLES {
            let rebuilt = stored_table(&db, table).await;
            let before = &incremental[table];
            assert_eq!(
                rebuilt.keys().collect::<Vec<_>>(),
                before.keys().collect::<Vec<_>>(),
                "{table}: groups"
            );
            for (key, s) in &rebuilt {
                assert!(
                    same(&before[key], &s.naive)
                        && close(before[key].win_rate, s.win_rate)
                        && close_opt(before[key].actual_over_expected, s.actual_over_expected),
                    "{table} {key:?}: incremental {:?} != rebuild {s:?}",
                    before[key]
                );
            }
        }
    }
);

// ---- hand-made races ----

/// One declared runner of a hand-made race.
struct Entry {
    horse: &'static str,
    jockey: &'static str,
    trainer: &'static str,
    /// `None`: a non-runner (declared on the card only).
    result: Option<Outcome>,
}

/// What the result says about a runner: `None` position for a non-finisher; `listed: false`
/// for a late non-runner the result leaves out.
struct Outcome {
    position: Option<i64>,
    status: &'static str,
    prize: Option<(f64, &'static str)>,
    sp: Option<f64>,
    listed: bool,
}

fn ran(position: i64, prize: Option<(f64, &'static str)>, sp: Option<f64>) -> Option<Outcome> {
    Some(Outcome {
        position: Some(position),
        status: "finished",
        prize,
        sp,
        listed: true,
    })
}

fn entry(horse: &'static str, jockey: &'static str, result: Option<Outcome>) -> Entry {
    Entry {
        horse,
        jockey,
        trainer: "trn_1",
        result,
    }
}

/// A race's rows: its card (course, race, people, runners) and, if `resulted`, its result.
#[allow(clippy::too_many_arguments)]
fn race_rows(
    id: &'static str,
    course: &'static str,
    date: (i32, u32, u32),
    name: &str,
    furlongs: f64,
    resulted: bool,
    entries: Vec<Entry>,
) -> Vec<Row> {
    let race_date = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
    let mut rows = vec![
        Row::new("ra_mst_courses", Source::Reference)
            .set("id", course)
            .set("name", format!("Course {course}")),
        Row::new("ra_mst_races", Source::Racecard)
            .set("id", id)
            .set("course_id", course)
            .set("race_date", race_date)
            .set("race_name", name.to_string())
            .set("distance_furlongs", furlongs),
    ];
    if resulted {
        rows.push(
            Row::new("ra_mst_races", Source::Result)
                .set("id", id)
                .set("course_id", course)
                .set("race_date", race_date)
                .set("has_result", true),
        );
    }
    for (i, e) in entries.into_iter().enumerate() {
        rows.push(
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", e.horse)
                .set("name", format!("Horse {}", e.horse)),
        );
        rows.push(
            Row::new("ra_mst_jockeys", Source::Result)
                .set("id", e.jockey)
                .set("name", format!("Jockey {}", e.jockey)),
        );
        rows.push(
            Row::new("ra_mst_trainers", Source::Result)
                .set("id", e.trainer)
                .set("name", "Trainer"),
        );
        rows.push(
            Row::new("ra_runners", Source::Racecard)
                .set("race_id", id)
                .set("horse_id", e.horse)
                .set("jockey_id", e.jockey)
                .set("trainer_id", e.trainer)
                .set("number", i as i64 + 1)
                .set("is_non_runner", e.result.is_none()),
        );
        if let Some(o) = e.result.filter(|o| o.listed && resulted) {
            let mut row = Row::new("ra_runners", Source::Result)
                .set("race_id", id)
                .set("horse_id", e.horse)
                .set("jockey_id", e.jockey)
                .set("finish_status", o.status)
                .set("position", o.position)
                .set("sp_decimal", o.sp);
            if let Some((amount, currency)) = o.prize {
                row = row
                    .set(
                        "prize_amount",
                        fetchers::rows::Decimal::try_from(amount).unwrap(),
                    )
                    .set("prize_currency", currency);
            }
            rows.push(row);
        }
    }
    rows
}

/// A field of `n` finishers in which `jockey` rides the 4th, for the place-terms races.
fn field_with_fourth(jockey: &'static str, prefix: &str, n: i64) -> Vec<Entry> {
    (1..=n)
        .map(|p| {
            let horse: &'static str = Box::leak(format!("hrs_{prefix}{p}").into_boxed_str());
            let rider = if p == 4 { jockey } else { "jky_field" };
            entry(horse, rider, ran(p, None, None))
        })
        .collect()
}

fn hand_made_races() -> UnitOfWork {
    let mut rows = Vec::new();
    // r1: a winner, a pulled-up non-finisher, a declared non-runner, and a late non-runner the
    // result leaves out.
    rows.extend(race_rows(
        "rac_1",
        "crs_gb",
        (2025, 5, 6),
        "Maiden Stakes",
        8.0,
        true,
        vec![
            entry("hrs_1", "jky_a", ran(1, Some((1000.0, "GBP")), Some(3.0))),
            entry(
                "hrs_2",
                "jky_b",
                Some(Outcome {
                    position: None,
                    status: "pulled_up",
                    prize: None,
                    sp: Some(5.0),
                    listed: true,
                }),
            ),
            entry("hrs_3", "jky_nr", None),
            entry(
                "hrs_4",
                "jky_late",
                Some(Outcome {
                    position: None,
                    status: "finished",
                    prize: None,
                    sp: None,
                    listed: false,
                }),
            ),
        ],
    ));
    // r2: a dead heat for first.
    rows.extend(race_rows(
        "rac_2",
        "crs_gb",
        (2025, 5, 7),
        "Novice Stakes",
        5.0,
        true,
        vec![
            entry("hrs_1", "jky_a", ran(1, Some((500.0, "GBP")), Some(2.0))),
            entry("hrs_2", "jky_b", ran(1, Some((500.0, "GBP")), Some(4.0))),
            entry("hrs_5", "jky_c", ran(3, Some((100.0, "GBP")), Some(6.0))),
        ],
    ));
    // r3: Irish, prizes in euros; the winner has no starting price.
    rows.extend(race_rows(
        "rac_3",
        "crs_ire",
        (2025, 5, 20),
        "Irish Stakes",
        16.0,
        true,
        vec![
            entry("hrs_1", "jky_a", ran(2, Some((2000.0, "EUR")), Some(2.5))),
            entry("hrs_5", "jky_c", ran(1, Some((5000.0, "EUR")), None)),
        ],
    ));
    // Form windows end on the last run (05-20): 04-21 is inside 30 days, 04-20 is not; 05-07
    // is inside 14 days, 05-06 is not.
    for (id, date) in [("rac_0a", (2025, 4, 20)), ("rac_0b", (2025, 4, 21))] {
        rows.extend(race_rows(
            id,
            "crs_gb",
            date,
            "Maiden Stakes",
            6.0,
            true,
            vec![entry("hrs_6", "jky_c", ran(4, None, None))],
        ));
    }
    // r4: declared but without a result: counts for nobody.
    rows.extend(race_rows(
        "rac_4",
        "crs_gb",
        (2025, 5, 25),
        "Maiden Stakes",
        6.0,
        false,
        vec![entry("hrs_1", "jky_a", ran(1, None, Some(2.0)))],
    ));
    // Place terms: 4th places only in a handicap with 16 or more runs.
    rows.extend(race_rows(
        "rac_h16",
        "crs_gb",
        (2025, 5, 2),
        "Class 4 Handicap",
        7.0,
        true,
        field_with_fourth("jky_d", "h", 16),
    ));
    rows.extend(race_rows(
        "rac_s16",
        "crs_gb",
        (2025, 5, 3),
        "Maiden Stakes",
        7.0,
        true,
        field_with_fourth("jky_e", "s", 16),
    ));
    let mut fifteen_and_a_non_runner = field_with_fourth("jky_f", "n", 15);
    fifteen_and_a_non_runner.push(entry("hrs_n16", "jky_field", None));
    rows.extend(race_rows(
        "rac_h15",
        "crs_gb",
        (2025, 5, 4),
        "Nursery Handicap",
        7.0,
        true,
        fifteen_and_a_non_runner,
    ));
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

/// Writes the hand-made races in a run of their own; returns that run.
async fn load_hand_made_races(db: &TestDb) -> RunId {
    let run = db
        .start_run("test", RunTrigger::Manual, serde_json::json!({}))
        .await
        .unwrap();
    db.apply(run, &hand_made_races(), ApplyMode::Commit)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    run
}

async fn load_and_rebuild(db: &TestDb) -> RunId {
    load_hand_made_races(db).await;
    full_rebuild(db).await.run_id
}

async fn figures(db: &TestDb, table: &str, key: &[&str]) -> Option<Stored> {
    let key: Vec<String> = key.iter().map(|s| s.to_string()).collect();
    stored_table(db, table).await.remove(&key)
}

backend_test!(
    hand_made_races_count_non_runners_non_finishers_dead_heats_place_terms_and_euro_prizes,
    |db| async move {
        load_and_rebuild(&db).await;
        let d = |m, d| NaiveDate::from_ymd_opt(2025, m, d);

        // jky_a: won r1 (05-06, just outside 14 days of the last run), dead-heated r2 (05-07,
        // just inside), 2nd in Ireland (05-20); the unresulted r4 does not count.
        let a = figures(&db, "ra_runner_statistics", &["jockey", "jky_a"])
            .await
            .expect("jky_a has figures");
        assert_eq!(
            a.naive,
            Naive {
                runs: 3,
                wins: 2,
                places: 3,
                prize_gbp: 1500.0,
                prize_eur: 2000.0,
                last_run: d(5, 20),
                last_win: d(5, 7),
                runs_14d: 2,
                wins_14d: 1,
                runs_30d: 3,
                wins_30d: 2,
                sp_runs: 3,
                sp_wins: 2,
                expected_wins: a.naive.expected_wins,
            }
        );
        let expected = 1.0 / 3.0 + 1.0 / 2.0 + 1.0 / 2.5;
        assert!(close(a.naive.expected_wins.unwrap(), expected));
        assert!(close(a.actual_over_expected.unwrap(), 2.0 / expected));
        assert!(close(a.win_rate, 2.0 / 3.0));

        // jky_b: pulled up in r1 (a run, not a place), dead-heated r2 (a win).
        let b = figures(&db, "ra_runner_statistics", &["jockey", "jky_b"])
            .await
            .unwrap();
        assert_eq!(
            (b.naive.runs, b.naive.wins, b.naive.places),
            (2, 1, 1),
            "{b:?}"
        );
        assert_eq!(b.naive.prize_gbp, 500.0);
        // Both dead-heaters won the same race.
        for horse in ["hrs_1", "hrs_2"] {
            let v = figures(&db, "ra_performance_by_distance", &["horse", horse, "5-6f"])
                .await
                .unwrap();
            assert_eq!((v.naive.runs, v.naive.wins), (1, 1), "{horse}");
        }
        // Non-runners, declared or late, have no runs and so no rows.
        for (kind, id) in [
            ("jockey", "jky_nr"),
            ("horse", "hrs_3"),
            ("jockey", "jky_late"),
            ("horse", "hrs_4"),
        ] {
            assert!(
                figures(&db, "ra_runner_statistics", &[kind, id])
                    .await
                    .is_none(),
                "{kind} {id}"
            );
        }
        // jky_c: euros from Ireland without a starting price, pounds from r2 with one.
        let c = figures(&db, "ra_runner_statistics", &["jockey", "jky_c"])
            .await
            .unwrap();
        assert_eq!((c.naive.runs, c.naive.wins, c.naive.places), (4, 1, 2));
        assert_eq!((c.naive.runs_30d, c.naive.runs_14d), (3, 2));
        assert_eq!((c.naive.prize_gbp, c.naive.prize_eur), (100.0, 5000.0));
        assert_eq!((c.naive.sp_runs, c.naive.sp_wins), (1, 0));
        assert_eq!(c.actual_over_expected, Some(0.0));
        let ire = figures(
            &db,
            "ra_performance_by_venue",
            &["jockey", "jky_c", "crs_ire"],
        )
        .await
        .unwrap();
        assert_eq!((ire.naive.prize_gbp, ire.naive.prize_eur), (0.0, 5000.0));
        assert_eq!(ire.naive.sp_runs, 0);
        assert_eq!(ire.naive.expected_wins, None);
        assert_eq!(ire.actual_over_expected, None);

        // Place terms: 4th of 16 in a handicap places; in a stakes race, or in a handicap of
        // 15 runs plus a non-runner, it does not.
        for (jockey, places) in [("jky_d", 1), ("jky_e", 0), ("jky_f", 0)] {
            let s = figures(&db, "ra_runner_statistics", &["jockey", jockey])
                .await
                .unwrap();
            assert_eq!((s.naive.runs, s.naive.places), (1, places), "{jockey}");
        }

        // Pairs and bands.
        let pair = figures(
            &db,
            "ra_entity_combinations",
            &["trainer_jockey", "trn_1", "jky_a"],
        )
        .await
        .unwrap();
        assert_eq!((pair.naive.runs, pair.naive.wins), (3, 2));
        let long = figures(
            &db,
            "ra_performance_by_distance",
            &["jockey", "jky_a", "16f+"],
        )
        .await
        .unwrap();
        assert_eq!((long.naive.runs, long.naive.wins), (1, 0));

        // And the whole lot agrees with the naive recomputation.
        assert_tables_equal_naive(&db, "hand-made races").await;
    }
);

backend_test!(
    derived_tables_are_never_written_from_payload_rows,
    |db| async move {
        let run = db
            .start_run("test", RunTrigger::Manual, serde_json::json!({}))
            .await
            .unwrap();
        let unit = UnitOfWork {
            rows: vec![Row::new("ra_runner_statistics", Source::Derived)
                .set("entity_type", "jockey")
                .set("entity_id", "jky_x")
                .set("runs", 1i64)],
            ..UnitOfWork::default()
        };
        let err = db.apply(run, &unit, ApplyMode::Commit).await.unwrap_err();
        assert!(err.to_string().contains("ra_runner_statistics"), "{err}");
        assert_eq!(db.count_rows("ra_runner_statistics").await.unwrap(), 0);
    }
);

backend_test!(
    query_reports_an_entitys_best_courses_and_bands_and_a_races_card,
    |db| async move {
        use paddock::derive::query::{entity_report, race_report};
        load_and_rebuild(&db).await;
        let jockey = fetchers::derived::entity_kind("jockey").unwrap();
        let a = entity_report(&db.store, jockey, "jky_a", &DistanceBands::default())
            .await
            .unwrap()
            .expect("jky_a has a report");
        assert_eq!(a.name.as_deref(), Some("Jockey jky_a"));
        assert_eq!((a.overall.runs, a.overall.wins), (3, 2));
        let courses: Vec<&str> = a
            .best_courses
            .iter()
            .map(|c| c.course_id.as_str())
            .collect();
        assert_eq!(courses, vec!["crs_gb", "crs_ire"]);
        let bands: Vec<&str> = a
            .distances
            .iter()
            .map(|b| b.distance_band.as_str())
            .collect();
        assert_eq!(bands, vec!["5-6f", "7-8f", "16f+"]);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["overall"]["wins"], 2);
        assert_eq!(json["best_courses"][0]["runs"], 2);
        assert!(a.render().contains("best courses"));
        assert!(
            entity_report(&db.store, jockey, "jky_nr", &DistanceBands::default())
                .await
                .unwrap()
                .is_none()
        );

        let card = race_report(&db.store, "rac_1").await.unwrap().unwrap();
        assert!(card.has_result);
        assert_eq!(card.runners.len(), 4);
        let nr = card.runners.iter().find(|r| r.horse_id == "hrs_3").unwrap();
        assert!(nr.non_runner);
        let winner = card.runners.iter().find(|r| r.horse_id == "hrs_1").unwrap();
        let form = winner.horse_form.as_ref().expect("the winner's form");
        assert_eq!((form.runs, form.wins), (3, 2));
        assert_eq!(winner.jockey_14d, Some((2, 1)));
        assert!(card.render().contains("Horse hrs_1"));
        assert!(race_report(&db.store, "rac_none").await.unwrap().is_none());
    }
);

backend_test!(
    each_backends_sql_store_updates_the_derived_tables_itself,
    |db| async move {
        let run = load_hand_made_races(&db).await;
        // The backend's own store, not `AnyStore`'s forwarding.
        let inner: &dyn Store = match &db.store {
            AnyStore::Sqlite(s) => s,
            AnyStore::Postgres(s) => s,
        };
        let counts = inner
            .update_derived(run, &DistanceBands::default())
            .await
            .unwrap_or_else(|e| panic!("update_derived: {e}"));
        let written = counts.table("ra_runner_statistics").inserted;
        assert!(written > 0, "{counts:?}");
        assert_eq!(
            db.count_rows("ra_runner_statistics").await.unwrap() as u64,
            written
        );
        // Counted under the run that wrote the races.
        let ledger = db.run_counts(run).await.unwrap();
        assert_eq!(ledger.table("ra_runner_statistics").inserted, written);
        assert_tables_equal_naive(&db, "SqlStore::update_derived").await;
    }
);

//! The derived tables on both backends: every figure equals a naive recomputation written here
//! in plain Rust (over rows read back from `ra_runners` and `ra_mst_races`, independent of the
//! production SQL), the incremental update after a results run equals a full rebuild and writes
//! only the touched groups; hand-made races pin down non-runners, non-finishers, dead heats,
//! big-field handicaps and euro prizes ([`hand_made`]); the full rebuild's staging and swap on
//! PostgreSQL ([`staged`]).

use crate::support::jobs::run;
use crate::support::sim::{client_for, sim_today, simulator};
use crate::support::TestDb;
use chrono::NaiveDate;
use fetchers::derived::DistanceBands;
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::registry::Source;
use fetchers::rows::{Row, UnitOfWork};
use fetchers::store::{ApplyMode, RunId, RunStatus, RunTrigger, Store};
use paddock::client::RacingApiClient;
use paddock::run::{self, JobRequest};
use paddock::simulator::Faults;
use paddock::store::AnyStore;
use std::collections::{BTreeMap, BTreeSet};

mod every_writer;
mod hand_made;
mod season;
mod staged;

// ---- reading rows back ----

/// Every row of `sql` as text values (write `CAST(x AS TEXT)` for non-text columns).
async fn rows(db: &TestDb, sql: &str) -> Vec<Vec<Option<String>>> {
    use sqlx::Row as _;
    let result: Result<Vec<Vec<Option<String>>>, sqlx::Error> = match &db.store {
        AnyStore::Sqlite(s) => sqlx::query(sql)
            .fetch_all(s.pool_for_tests())
            .await
            .map(|rs| {
                rs.iter()
                    .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                    .collect()
            }),
        AnyStore::Postgres(s) => sqlx::query(sql)
            .fetch_all(s.pool_for_tests())
            .await
            .map(|rs| {
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
) -> run::RunResult {
    let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(from, to, sim_today()));
    let result = run(db, api, request).await;
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
    result
}

async fn full_rebuild(db: &TestDb) -> run::RunResult {
    let result =
        paddock::run::run_full_rebuild(&db.store, &DistanceBands::default(), RunTrigger::Manual)
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
            paddock::run::run_full_rebuild(&db.store, &bands, RunTrigger::Manual),
            paddock::run::run_full_rebuild(&db.store, &bands, RunTrigger::Schedule),
            paddock::run::run_full_rebuild(&db.store, &bands, RunTrigger::Manual),
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
        // Keys named by the touched races' runs: the running totals change those groups only.
        let named: Tables = naive_tables(&touched_rows);
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
            let expected: BTreeSet<&Vec<String>> = named[table].keys().collect();
            assert!(expected.iter().all(|k| everything[table].contains_key(*k)));
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

//! Retention (issue 22) on both backends: `paddock run retention` keeps exactly what
//! `[retention]` says — the price history thinned to each old history's first and last rows and
//! its moves (computed again here, independently), the raw archive, rejects and ledger runs by
//! age — never a race, runner, current price or a job's newest run; the deletions are in the
//! ledger per table; a dry run changes nothing and counts what a run deletes; history stored on
//! change still holds after thinning; sent alerts go once their table exists.
//! `retention/archive_bytes.rs`: base64 archive rows from before migration 0014 converted to
//! bytes, replayed. `retention/kill.rs`: `kill -9` during retention (SQLite, child process).

mod archive_bytes;
mod kill;

use crate::support::jobs::config_from_toml;
use crate::support::{Backend, TestDb};
use chrono::{DateTime, Duration, TimeZone, Utc};
use fetchers::registry::Source;
use fetchers::rows::{Counts, Row, UnitOfWork};
use fetchers::store::{ApplyMode, RunId, RunStatus, RunTrigger, Store};
use paddock::run::{run_retention, RunContext};
use serde_json::json;

/// The policy every test here applies: 30 days for everything, 10 % moves kept, batches of 3
/// (so every deletion takes several transactions and a history is longer than a batch).
pub const POLICY: &str = "[retention]\nraw_days = 30\nodds_days = 30\n\
    odds_keep_move_percent = 10\nruns_days = 30\nrejects_days = 30\nalerts_days = 30\nbatch_size = 3\n";

/// The old race's day, long before any cutoff.
fn old_time(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 11, minute, 0).unwrap()
}

/// A time an hour ago, inside every retention window.
fn recent_time(minute: u32) -> DateTime<Utc> {
    let base = Utc::now() - Duration::hours(2);
    base + Duration::minutes(i64::from(minute))
}

/// An instant as both engines take it in a literal.
pub fn literal(t: DateTime<Utc>) -> String {
    fetchers::rows::format_timestamp(&t)
}

const HORSES: [&str; 2] = ["hrs_1", "hrs_2"];
const BOOKS: [&str; 2] = ["bet365", "coral"];
/// Prices per old history.
const OLD_PRICES: u32 = 12;

/// The decimal price number `i` of a history: a walk with small and large steps, never the
/// same twice in a row (so history stored on change keeps every one).
fn decimal(seed: u32, i: u32) -> f64 {
    let steps = [
        0.1, -0.2, 1.5, 0.05, -1.0, 0.3, 2.0, -0.1, -0.4, 0.7, 0.02, -2.5,
    ];
    let mut d = 4.0 + f64::from(seed);
    for k in 0..i {
        d += steps[((k + seed) % 12) as usize];
    }
    (d * 100.0).round() / 100.0
}

fn card() -> Vec<Row> {
    let mut rows = vec![Row::new("ra_mst_courses", Source::Racecard)
        .set("id", "crs_1")
        .set("name", "Course 1")];
    for (race, day) in [
        ("rac_old", old_time(0).date_naive()),
        ("rac_new", Utc::now().date_naive()),
    ] {
        rows.push(
            Row::new("ra_mst_races", Source::Racecard)
                .set("id", race)
                .set("course_id", "crs_1")
                .set("race_date", day)
                .set("race_name", race),
        );
        for (n, horse) in HORSES.iter().enumerate() {
            rows.push(
                Row::new("ra_runners", Source::Racecard)
                    .set("race_id", race)
                    .set("horse_id", *horse)
                    .set("number", n as i64 + 1),
            );
        }
    }
    for horse in HORSES {
        rows.push(
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", horse)
                .set("name", format!("Horse {horse}")),
        );
    }
    for book in BOOKS {
        rows.push(
            Row::new("ra_mst_bookmakers", Source::Odds)
                .set("id", book)
                .set("name", book.to_uppercase()),
        );
    }
    rows
}

fn price(race: &str, horse: &str, book: &str, at: DateTime<Utc>, decimal: f64) -> Row {
    Row::new("ra_runner_odds", Source::Odds)
        .set("race_id", race)
        .set("horse_id", horse)
        .set("bookmaker_id", book)
        .set("observed_at", at)
        .set("fractional", format!("{:.2}/1", decimal - 1.0))
        .set("decimal", decimal)
}

/// A history's (race, horse, bookmaker).
type HistoryKey = (&'static str, &'static str, &'static str);

/// Each (race, horse, bookmaker) history and the decimals stored, oldest first.
fn histories() -> Vec<(HistoryKey, Vec<f64>)> {
    let mut out = Vec::new();
    for (h, horse) in HORSES.iter().enumerate() {
        for (b, book) in BOOKS.iter().enumerate() {
            let seed = (h * 2 + b) as u32;
            let old = (0..OLD_PRICES).map(|i| decimal(seed, i)).collect();
            out.push((("rac_old", *horse, *book), old));
            let new = (0..6).map(|i| decimal(seed + 5, i)).collect();
            out.push((("rac_new", *horse, *book), new));
        }
    }
    out
}

/// What the policy keeps of an old history, computed here on its own: the first, the last, and
/// each price whose implied probability moved at least 10 % from the last one kept.
fn expected_kept(decimals: &[f64]) -> Vec<f64> {
    let mut kept = vec![decimals[0]];
    for (i, d) in decimals.iter().enumerate().skip(1) {
        let last_kept = *kept.last().unwrap();
        let (before, after) = (1.0 / last_kept, 1.0 / d);
        if i == decimals.len() - 1 || ((after - before) / before).abs() >= 0.10 {
            kept.push(*d);
        }
    }
    kept
}

/// The rows retention is to judge: the card, every history, archive rows, runs and rejects.
/// Returns the fixture's own run.
pub async fn fixture(db: &TestDb) -> RunId {
    let run = db
        .start_run("fixture", RunTrigger::Manual, json!({}))
        .await
        .unwrap();
    let mut rows = card();
    for ((race, horse, book), decimals) in histories() {
        for (i, d) in decimals.iter().enumerate() {
            let at = if race == "rac_old" {
                old_time(i as u32)
            } else {
                recent_time(i as u32)
            };
            rows.push(price(race, horse, book, at, *d));
        }
    }
    let unit = UnitOfWork {
        rows,
        ..UnitOfWork::default()
    };
    db.apply(run, &unit, ApplyMode::Commit).await.unwrap();

    let old = Utc::now() - Duration::days(400);
    let recent = Utc::now() - Duration::days(1);
    let responses: Vec<_> = [old, old, old, recent, recent]
        .iter()
        .enumerate()
        .map(|(i, at)| paddock::store::archive::StoredResponse {
            response_id: 0,
            endpoint: "/racecards/pro".into(),
            query: format!("/racecards/pro?page={i}"),
            status: 200,
            fetched_at: *at,
            body_bytes: 4,
            body_zstd: paddock::archive::codec::encode_body("{}{}").unwrap(),
        })
        .collect();
    paddock::store::archive::insert(db, &responses)
        .await
        .unwrap();

    // Runs: (job, finished, a reject's time). The newest run of each job stays whatever its age.
    let runs = [
        ("races_and_runners", old, Some(old)), // its reject goes, then it goes
        ("races_and_runners", old, Some(recent)), // its reject stays: so does it
        ("races_and_runners", recent, None),   // young
        ("master_reference", old, None),       // older than the next: goes
        ("master_reference", old, None),       // the job's newest: stays
    ];
    for (job, finished, reject) in runs {
        let id = db
            .start_run(job, RunTrigger::Schedule, json!({}))
            .await
            .unwrap();
        let id = id.get();
        db.execute(&format!(
            "UPDATE paddock_runs SET status = 'succeeded', started_at = '{t}', \
             finished_at = '{t}' WHERE run_id = {id}",
            t = literal(finished)
        ))
        .await;
        db.execute(&format!(
            "INSERT INTO paddock_run_tables (run_id, table_name, inserted, updated, unchanged, \
             rejected) VALUES ({id}, 'ra_runners', 1, 0, 0, 0), ({id}, 'ra_mst_races', 1, 0, 0, 0)"
        ))
        .await;
        if let Some(at) = reject {
            db.execute(&format!(
                "INSERT INTO paddock_rejects (run_id, endpoint, entity, reason, created_at) \
                 VALUES ({id}, '/results', 'runner', 'test', '{}')",
                literal(at)
            ))
            .await;
        }
    }
    run
}

/// A history's decimals as stored, oldest first.
async fn stored(db: &TestDb, (race, horse, book): (&str, &str, &str)) -> Vec<f64> {
    let filter = format!(
        "FROM ra_runner_odds WHERE race_id = '{race}' AND horse_id = '{horse}' \
         AND bookmaker_id = '{book}'"
    );
    let n = db.scalar_i64(&format!("SELECT COUNT(*) {filter}")).await;
    let mut out = Vec::new();
    for i in 0..n {
        let text = db
            .scalar_text(&format!(
                "SELECT CAST(decimal AS TEXT) {filter} ORDER BY observed_at LIMIT 1 OFFSET {i}"
            ))
            .await
            .unwrap();
        out.push(text.parse::<f64>().unwrap());
    }
    out
}

/// Row counts of every table retention must leave alone, and of those it prunes.
pub async fn row_counts(db: &TestDb) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "ra_mst_courses",
        "ra_mst_races",
        "ra_mst_horses",
        "ra_mst_bookmakers",
        "ra_runners",
        "ra_runner_odds",
        "ra_runner_odds_latest",
        "ra_runner_statistics",
        "paddock_raw_responses",
        "paddock_rejects",
    ] {
        out.push((
            table,
            db.scalar_i64(&format!("SELECT COUNT(*) FROM {table}"))
                .await,
        ));
    }
    // The retention runs' own counts aside.
    let run_tables = db
        .scalar_i64(
            "SELECT COUNT(*) FROM paddock_run_tables WHERE run_id NOT IN \
             (SELECT run_id FROM paddock_runs WHERE job = 'retention')",
        )
        .await;
    out.push(("paddock_run_tables", run_tables));
    let runs = db
        .scalar_i64("SELECT COUNT(*) FROM paddock_runs WHERE job <> 'retention'")
        .await;
    out.push(("paddock_runs", runs));
    out
}

/// The current prices, as one text.
async fn latest_prices(db: &TestDb) -> Vec<String> {
    let n = db
        .scalar_i64("SELECT COUNT(*) FROM ra_runner_odds_latest")
        .await;
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            db.scalar_text(&format!(
                "SELECT race_id || horse_id || bookmaker_id || fractional \
                 FROM ra_runner_odds_latest ORDER BY race_id, horse_id, bookmaker_id \
                 LIMIT 1 OFFSET {i}"
            ))
            .await
            .unwrap(),
        );
    }
    out
}

async fn retention(db: &TestDb, policy: &str, mode: ApplyMode) -> paddock::run::RunResult {
    let config = config_from_toml(policy);
    let result = run_retention(db, &config, &RunContext::new(RunTrigger::Manual, mode))
        .await
        .unwrap();
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
    result
}

fn deleted(counts: &Counts) -> Vec<(String, u64)> {
    counts
        .0
        .iter()
        .filter(|(_, c)| c.deleted > 0)
        .map(|(t, c)| (t.clone(), c.deleted))
        .collect()
}

/// What the fixture's deletions are: (table, rows).
fn expected_deletions() -> Vec<(String, u64)> {
    let thinned: u64 = histories()
        .iter()
        .filter(|((race, _, _), _)| *race == "rac_old")
        .map(|(_, d)| (d.len() - expected_kept(d).len()) as u64)
        .sum();
    let mut out = vec![
        ("paddock_raw_responses".to_string(), 3),
        ("paddock_rejects".to_string(), 1),
        // Two runs, two count rows each.
        ("paddock_run_tables".to_string(), 4),
        ("paddock_runs".to_string(), 2),
        ("ra_runner_odds".to_string(), thinned),
    ];
    out.sort();
    out
}

backend_test!(
    retention_keeps_exactly_what_the_policy_says_and_records_what_it_deleted,
    |db| async move {
        let fixture_run = fixture(&db).await;
        let before = row_counts(&db).await;
        let latest_before = latest_prices(&db).await;
        assert!(expected_deletions().iter().all(|(_, n)| *n > 0));

        let result = retention(&db, POLICY, ApplyMode::Commit).await;
        assert_eq!(deleted(&result.report.counts), expected_deletions());
        // The ledger holds the same, per table, under the retention run.
        assert_eq!(deleted(&result.ledger_counts), expected_deletions());

        for (key, decimals) in histories() {
            let want = if key.0 == "rac_old" {
                expected_kept(&decimals)
            } else {
                decimals
            };
            assert_eq!(stored(&db, key).await, want, "{key:?}");
        }
        // Nothing else lost a row but what was counted.
        let after = row_counts(&db).await;
        for ((table, b), (_, a)) in before.iter().zip(&after) {
            let gone = expected_deletions()
                .iter()
                .find(|(t, _)| t == table)
                .map_or(0, |(_, n)| *n as i64);
            assert_eq!(b - a, gone, "{table}");
        }
        assert_eq!(latest_prices(&db).await, latest_before);
        // The young archive rows and reject stay; the runs kept are the right ones.
        let young = literal(Utc::now() - Duration::days(30));
        let old_archive = db
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM paddock_raw_responses WHERE fetched_at < '{young}'"
            ))
            .await;
        assert_eq!(old_archive, 0);
        let kept_runs = db
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM paddock_runs WHERE job IN ('fixture', 'races_and_runners', \
                 'master_reference') AND run_id >= {}",
                fixture_run.get()
            ))
            .await;
        assert_eq!(kept_runs, 4);

        // A second run finds nothing more to delete.
        let again = retention(&db, POLICY, ApplyMode::Commit).await;
        assert_eq!(deleted(&again.report.counts), vec![]);

        // History stored on change still holds for later writes on a thinned history: the
        // last price again adds nothing, a new price one row, and it is the current price.
        let key = ("rac_old", "hrs_1", "bet365");
        let last = *stored(&db, key).await.last().unwrap();
        let run = db
            .start_run("fixture", RunTrigger::Manual, json!({}))
            .await
            .unwrap();
        let thinned_len = stored(&db, key).await.len();
        assert_eq!(thinned_len, expected_kept(&histories()[0].1).len());
        for (minute, d, len) in [(40, last, thinned_len), (41, last + 1.0, thinned_len + 1)] {
            let unit = UnitOfWork {
                rows: vec![price(key.0, key.1, key.2, old_time(minute), d)],
                ..UnitOfWork::default()
            };
            db.apply(run, &unit, ApplyMode::Commit).await.unwrap();
            assert_eq!(
                stored(&db, key).await.len(),
                len,
                "after {d} at minute {minute}"
            );
        }
        let current = db
            .scalar_text(
                "SELECT CAST(decimal AS TEXT) FROM ra_runner_odds_latest \
                 WHERE race_id = 'rac_old' AND horse_id = 'hrs_1' AND bookmaker_id = 'bet365'",
            )
            .await
            .unwrap();
        assert_eq!(current.parse::<f64>().unwrap(), last + 1.0);
    }
);

backend_test!(
    a_dry_run_deletes_nothing_and_counts_what_the_run_then_deletes,
    |db| async move {
        fixture(&db).await;
        let before = row_counts(&db).await;
        let dry = retention(&db, POLICY, ApplyMode::DryRun).await;
        assert_eq!(row_counts(&db).await, before);
        assert_eq!(deleted(&dry.report.counts), expected_deletions());
        assert_eq!(deleted(&dry.ledger_counts), vec![]);
        let run = retention(&db, POLICY, ApplyMode::Commit).await;
        assert_eq!(deleted(&run.ledger_counts), deleted(&dry.report.counts));
    }
);

backend_test!(
    without_a_retention_setting_nothing_is_deleted_and_the_job_is_off,
    |db| async move {
        fixture(&db).await;
        let before = row_counts(&db).await;
        let config = config_from_toml("");
        assert!(!config.job(paddock::config::JobKind::Retention).enabled);
        assert!(
            config_from_toml(POLICY)
                .job(paddock::config::JobKind::Retention)
                .enabled
        );
        let result = retention(&db, "", ApplyMode::Commit).await;
        assert_eq!(deleted(&result.report.counts), vec![]);
        assert_eq!(row_counts(&db).await, before);
    }
);

backend_test!(
    sent_alerts_older_than_alerts_days_go_and_unsent_ones_stay,
    |db| async move {
        let (old, recent) = (
            literal(Utc::now() - Duration::days(90)),
            literal(Utc::now() - Duration::days(1)),
        );
        // Alerts as migration 0013 stores them: two sent long ago, one sent yesterday, one
        // unsent (never deleted, however old).
        let (yes, no) = match db.backend() {
            Backend::Sqlite => ("1", "0"),
            Backend::Postgres => ("TRUE", "FALSE"),
        };
        db.execute(&format!(
            "INSERT INTO paddock_alerts (id, triggered_at, rule_name, kind, race_id, message, \
             sent, sent_at, delivery_attempts) VALUES \
             (1, '{old}', 'r', 'abandoned', 'rac_1', 'm', {yes}, '{old}', 1), \
             (2, '{old}', 'r', 'abandoned', 'rac_2', 'm', {yes}, '{recent}', 1), \
             (3, '{old}', 'r', 'abandoned', 'rac_3', 'm', {no}, NULL, 4), \
             (4, '{old}', 'r', 'abandoned', 'rac_4', 'm', {yes}, '{old}', 1)"
        ))
        .await;
        let result = retention(&db, POLICY, ApplyMode::Commit).await;
        assert_eq!(
            deleted(&result.report.counts),
            vec![("paddock_alerts".to_string(), 2)]
        );
        let left = db
            .scalar_i64("SELECT COUNT(*) FROM paddock_alerts WHERE id IN (2, 3)")
            .await;
        assert_eq!(left, 2);
    }
);

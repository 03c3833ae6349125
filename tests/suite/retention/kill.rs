//! `kill -9` during retention (SQLite, the binary as a child process): killed once while it
//! deletes the archive and once while it thins the price history, the database keeps every row
//! the policy keeps, each price history is either untouched or thinned whole, the ledger
//! counts exactly the rows gone (each batch committed with its counts), and a last run ends
//! where one uninterrupted run would.

use super::{decimal, expected_kept, literal, old_time};
use crate::support::bin::paddock;
use crate::support::{Backend, TestDb};
use chrono::{Duration, Utc};
use fetchers::registry::Source;
use fetchers::rows::{Row, UnitOfWork};
use fetchers::store::{ApplyMode, RunTrigger, Store};
use serde_json::json;

const HORSES: usize = 40;
const BOOKS: usize = 5;
const PRICES: u32 = 12;
const OLD_RESPONSES: usize = 6_000;
const YOUNG_RESPONSES: usize = 50;

fn horse(h: usize) -> String {
    format!("hrs_{h:03}")
}

fn book(b: usize) -> String {
    format!("book_{b}")
}

fn history(h: usize, b: usize) -> Vec<f64> {
    let seed = ((h * BOOKS + b) % 9) as u32;
    (0..PRICES).map(|i| decimal(seed, i)).collect()
}

/// A race with `HORSES` runners priced by `BOOKS` bookmakers, `PRICES` old prices each, and
/// `OLD_RESPONSES` old plus `YOUNG_RESPONSES` young archive rows.
async fn big_fixture(db: &TestDb) {
    let run = db
        .start_run("fixture", RunTrigger::Manual, json!({}))
        .await
        .unwrap();
    let mut rows = vec![
        Row::new("ra_mst_courses", Source::Racecard)
            .set("id", "crs_1")
            .set("name", "Course 1"),
        Row::new("ra_mst_races", Source::Racecard)
            .set("id", "rac_old")
            .set("course_id", "crs_1")
            .set("race_date", old_time(0).date_naive()),
    ];
    for h in 0..HORSES {
        rows.push(
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", horse(h))
                .set("name", horse(h)),
        );
        rows.push(
            Row::new("ra_runners", Source::Racecard)
                .set("race_id", "rac_old")
                .set("horse_id", horse(h))
                .set("number", h as i64 + 1),
        );
    }
    for b in 0..BOOKS {
        rows.push(
            Row::new("ra_mst_bookmakers", Source::Odds)
                .set("id", book(b))
                .set("name", book(b)),
        );
    }
    for h in 0..HORSES {
        for b in 0..BOOKS {
            for (i, d) in history(h, b).iter().enumerate() {
                rows.push(
                    Row::new("ra_runner_odds", Source::Odds)
                        .set("race_id", "rac_old")
                        .set("horse_id", horse(h))
                        .set("bookmaker_id", book(b))
                        .set("observed_at", old_time(i as u32))
                        .set("fractional", format!("{:.2}/1", d - 1.0))
                        .set("decimal", *d),
                );
            }
        }
    }
    let unit = UnitOfWork {
        rows,
        ..UnitOfWork::default()
    };
    db.apply(run, &unit, ApplyMode::Commit).await.unwrap();
    let old = Utc::now() - Duration::days(400);
    let young = Utc::now() - Duration::days(1);
    let body = paddock::archive::codec::encode_body("{}").unwrap();
    let all: Vec<_> = (0..OLD_RESPONSES + YOUNG_RESPONSES)
        .map(|i| paddock::store::archive::StoredResponse {
            response_id: 0,
            endpoint: "/results".into(),
            query: format!("/results?skip={i}"),
            status: 200,
            fetched_at: if i < OLD_RESPONSES { old } else { young },
            body_bytes: 2,
            body_zstd: body.clone(),
        })
        .collect();
    for chunk in all.chunks(500) {
        paddock::store::archive::insert(db, chunk).await.unwrap();
    }
}

/// Rows of a table now.
async fn rows(db: &TestDb, table: &str) -> i64 {
    db.scalar_i64(&format!("SELECT COUNT(*) FROM {table}"))
        .await
}

/// What every retention run so far recorded as deleted from `table`.
async fn ledger_deleted(db: &TestDb, table: &str) -> i64 {
    db.scalar_i64(&format!(
        "SELECT COALESCE(SUM(t.deleted), 0) FROM paddock_run_tables t \
         JOIN paddock_runs r ON r.run_id = t.run_id \
         WHERE r.job = 'retention' AND t.table_name = '{table}'"
    ))
    .await
}

/// Checks what a run (killed or not) left: every kept row there, every history untouched or
/// thinned whole, the ledger counting exactly what is gone. Returns whether all is done.
async fn check(db: &TestDb) -> bool {
    let initial_prices = (HORSES * BOOKS) as i64 * i64::from(PRICES);
    let young = literal(Utc::now() - Duration::days(30));
    let young_left = db
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM paddock_raw_responses WHERE fetched_at >= '{young}'"
        ))
        .await;
    assert_eq!(young_left as usize, YOUNG_RESPONSES);
    let archive_left = rows(db, "paddock_raw_responses").await;
    let archive_gone = (OLD_RESPONSES + YOUNG_RESPONSES) as i64 - archive_left;
    assert_eq!(
        ledger_deleted(db, "paddock_raw_responses").await,
        archive_gone
    );
    let prices_gone = initial_prices - rows(db, "ra_runner_odds").await;
    assert_eq!(ledger_deleted(db, "ra_runner_odds").await, prices_gone);
    let mut thinned = 0;
    for h in 0..HORSES {
        for b in 0..BOOKS {
            let n = db
                .scalar_i64(&format!(
                    "SELECT COUNT(*) FROM ra_runner_odds WHERE horse_id = '{}' \
                     AND bookmaker_id = '{}'",
                    horse(h),
                    book(b)
                ))
                .await as usize;
            let full = history(h, b);
            let kept = expected_kept(&full).len();
            assert!(n == full.len() || n == kept, "{h}/{b}: {n} rows");
            thinned += usize::from(n == kept && kept < full.len());
        }
    }
    assert_eq!(rows(db, "ra_runners").await as usize, HORSES);
    assert_eq!(
        rows(db, "ra_runner_odds_latest").await as usize,
        HORSES * BOOKS
    );
    let all_thinned = (0..HORSES * BOOKS)
        .filter(|i| {
            let full = history(i / BOOKS, i % BOOKS);
            expected_kept(&full).len() < full.len()
        })
        .count();
    archive_gone as usize == OLD_RESPONSES && thinned == all_thinned
}

#[test]
fn retention_killed_mid_archive_and_mid_history_keeps_everything_the_policy_keeps_and_finishes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDb::new(Backend::Sqlite));
    runtime.block_on(big_fixture(&db));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("paddock.toml");
    std::fs::write(
        &config,
        "[retention]\nraw_days = 30\nodds_days = 30\nodds_keep_move_percent = 10\nbatch_size = 10\n",
    )
    .unwrap();
    let child = || {
        paddock()
            .env("PADDOCK_DATABASE_URL", db.url())
            .env("PADDOCK_CONFIG", &config)
            .env("PADDOCK_LOG", "warn")
            .args(["run", "retention"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut kills = 0;
    // First while it deletes the archive, then while it thins the prices.
    for table in ["paddock_raw_responses", "ra_runner_odds"] {
        let before = runtime.block_on(ledger_deleted(&db, table));
        let mut process = child();
        while process.try_wait().unwrap().is_none()
            && runtime.block_on(ledger_deleted(&db, table)) == before
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        if process.try_wait().unwrap().is_none() {
            process.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        process.wait().unwrap();
        assert!(!runtime.block_on(check(&db)), "killed before the end");
    }
    assert_eq!(kills, 2, "both kills interrupted a running retention");
    let status = child().wait().unwrap();
    assert!(status.success());
    assert!(
        runtime.block_on(check(&db)),
        "the last run finished the work"
    );
}

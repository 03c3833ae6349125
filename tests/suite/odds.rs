//! Odds (issue 22) on both backends: the price history stored on change (an unchanged price
//! with a newer `updated` time adds no row, a changed one does, whichever unit brings it).

use crate::support::TestDb;
use chrono::{DateTime, TimeZone, Utc};
use fetchers::registry::Source;
use fetchers::rows::{Row, UnitOfWork};
use fetchers::store::{ApplyMode, RunId, RunTrigger, Store};
use serde_json::json;

// ---- fixtures ----

/// A race with two runners, each a horse, and one bookmaker.
fn card() -> Vec<Row> {
    let mut rows = vec![
        Row::new("ra_mst_courses", Source::Racecard)
            .set("id", "crs_1")
            .set("name", "Course 1"),
        Row::new("ra_mst_races", Source::Racecard)
            .set("id", "rac_1")
            .set("course_id", "crs_1")
            .set(
                "race_date",
                chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap(),
            )
            .set("race_name", "Race 1"),
    ];
    for (n, horse) in ["hrs_1", "hrs_2"].iter().enumerate() {
        rows.push(
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", *horse)
                .set("name", format!("Horse {horse}")),
        );
        rows.push(
            Row::new("ra_runners", Source::Racecard)
                .set("race_id", "rac_1")
                .set("horse_id", *horse)
                .set("number", n as i64 + 1),
        );
    }
    for book in ["bet365", "coral"] {
        rows.push(
            Row::new("ra_mst_bookmakers", Source::Odds)
                .set("id", book)
                .set("name", book.to_uppercase()),
        );
    }
    rows
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 11, minute, 0).unwrap()
}

/// One priced observation: `(horse, bookmaker, minute, fractional, decimal)`.
fn price(horse: &str, book: &str, minute: u32, fractional: &str, decimal: f64) -> Row {
    Row::new("ra_runner_odds", Source::Odds)
        .set("race_id", "rac_1")
        .set("horse_id", horse)
        .set("bookmaker_id", book)
        .set("observed_at", at(minute))
        .set("fractional", fractional)
        .set("decimal", decimal)
        .set("ew_places", 3i64)
        .set("ew_denom", 5i64)
}

fn unit(prices: Vec<Row>) -> UnitOfWork {
    let mut rows = card();
    rows.extend(prices);
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

async fn new_run(db: &TestDb) -> RunId {
    db.start_run("test", RunTrigger::Manual, json!({"case": "odds"}))
        .await
        .expect("start run")
}

async fn apply(db: &TestDb, run: RunId, unit: &UnitOfWork) -> fetchers::rows::TableCounts {
    db.apply(run, unit, ApplyMode::Commit)
        .await
        .unwrap_or_else(|e| panic!("apply failed: {e}"))
        .table("ra_runner_odds")
}

/// The stored history of one runner at one bookmaker: (minute, fractional), oldest first.
async fn history(db: &TestDb, horse: &str, book: &str) -> Vec<(String, String)> {
    let n = db
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM ra_runner_odds WHERE horse_id = '{horse}' \
             AND bookmaker_id = '{book}'"
        ))
        .await;
    let mut out = Vec::new();
    for i in 0..n {
        let row = |col: &str| {
            format!(
                "SELECT CAST({col} AS TEXT) FROM ra_runner_odds WHERE horse_id = '{horse}' \
                 AND bookmaker_id = '{book}' ORDER BY observed_at LIMIT 1 OFFSET {i}"
            )
        };
        let when = db.scalar_text(&row("observed_at")).await.unwrap();
        let fractional = db.scalar_text(&row("fractional")).await.unwrap();
        out.push((when, fractional));
    }
    out
}

fn minute_of(text: &str) -> &str {
    // Both backends print `2024-05-01 11:MM:00…`: the minute is what the tests compare.
    &text[14..16]
}

async fn minutes(db: &TestDb, horse: &str, book: &str) -> Vec<(String, String)> {
    history(db, horse, book)
        .await
        .into_iter()
        .map(|(w, f)| (minute_of(&w).to_string(), f))
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(m, f)| (m.to_string(), f.to_string()))
        .collect()
}

// ---- history on change ----

backend_test!(
    an_unchanged_price_with_a_newer_time_adds_no_history_row_and_a_changed_one_does,
    |db| async move {
        let run = new_run(&db).await;
        let first = apply(
            &db,
            run,
            &unit(vec![
                price("hrs_1", "bet365", 0, "5/2", 3.5),
                price("hrs_2", "bet365", 0, "4/1", 5.0),
            ]),
        )
        .await;
        assert_eq!((first.inserted, first.unchanged), (2, 0));
        // Minute 10: hrs_1 unchanged (newer time), hrs_2 shortened.
        let second = apply(
            &db,
            run,
            &unit(vec![
                price("hrs_1", "bet365", 10, "5/2", 3.5),
                price("hrs_2", "bet365", 10, "3/1", 4.0),
            ]),
        )
        .await;
        assert_eq!((second.inserted, second.unchanged), (1, 1));
        // Minute 20, a new run: hrs_1 drifts, hrs_2 unchanged again.
        let other_run = new_run(&db).await;
        let third = apply(
            &db,
            other_run,
            &unit(vec![
                price("hrs_1", "bet365", 20, "3/1", 4.0),
                price("hrs_2", "bet365", 20, "3/1", 4.0),
            ]),
        )
        .await;
        assert_eq!((third.inserted, third.unchanged), (1, 1));
        assert_eq!(
            minutes(&db, "hrs_1", "bet365").await,
            expect(&[("00", "5/2"), ("20", "3/1")])
        );
        assert_eq!(
            minutes(&db, "hrs_2", "bet365").await,
            expect(&[("00", "4/1"), ("10", "3/1")])
        );
    }
);

backend_test!(
    a_history_inside_one_unit_keeps_only_its_changes_per_bookmaker_and_each_way_terms_count,
    |db| async move {
        let run = new_run(&db).await;
        let counts = apply(
            &db,
            run,
            &unit(vec![
                price("hrs_1", "bet365", 0, "5/2", 3.5),
                price("hrs_1", "bet365", 5, "5/2", 3.5),
                price("hrs_1", "bet365", 6, "2/1", 3.0),
                price("hrs_1", "bet365", 7, "5/2", 3.5),
                // The same price at another bookmaker is its own history.
                price("hrs_1", "coral", 5, "5/2", 3.5),
                // Only the each-way terms change: a change.
                price("hrs_1", "coral", 8, "5/2", 3.5).set("ew_places", 4i64),
            ]),
        )
        .await;
        assert_eq!((counts.inserted, counts.unchanged), (5, 1));
        assert_eq!(
            minutes(&db, "hrs_1", "bet365").await,
            expect(&[("00", "5/2"), ("06", "2/1"), ("07", "5/2")])
        );
        assert_eq!(
            minutes(&db, "hrs_1", "coral").await,
            expect(&[("05", "5/2"), ("08", "5/2")])
        );
        // The same unit again: every row is stored already, nothing is written.
        let again = apply(
            &db,
            run,
            &unit(vec![
                price("hrs_1", "bet365", 0, "5/2", 3.5),
                price("hrs_1", "bet365", 5, "5/2", 3.5),
                price("hrs_1", "bet365", 6, "2/1", 3.0),
            ]),
        )
        .await;
        assert_eq!(again.inserted + again.updated, 0, "{again:?}");
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_runner_odds").await,
            5
        );
    }
);

//! Odds (issue 22) on both backends: the price history stored on change (an unchanged price
//! with a newer `updated` time adds no row, a changed one does, whichever unit brings it); the
//! latest and best prices; their indexes; three refreshes over the simulator's moving market;
//! the odds endpoint and `paddock backfill --only odds` in [`endpoint`].

use crate::support::jobs::run;
use crate::support::sim::{client_for, sim_today, simulator};
use crate::support::TestDb;
use chrono::{DateTime, TimeZone, Utc};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::registry::Source;
use fetchers::rows::{Row, UnitOfWork};
use fetchers::store::RunStatus;
use fetchers::store::{ApplyMode, RunId, RunTrigger, Store};
use paddock::run::JobRequest;
use paddock::simulator::{Faults, SimServer};
use serde_json::json;
use std::collections::BTreeMap;

mod endpoint;

/// This subject's simulator seed.
const SEED: u64 = 22;

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

// ---- latest and best prices ----

/// The current price of every runner at every bookmaker: "horse/book minute fractional".
async fn latest(db: &TestDb) -> Vec<String> {
    let n = db
        .scalar_i64("SELECT COUNT(*) FROM ra_runner_odds_latest")
        .await;
    let mut out = Vec::new();
    for i in 0..n {
        let sql = format!(
            "SELECT horse_id || '/' || bookmaker_id || ' ' || CAST(observed_at AS TEXT) \
             || ' ' || fractional FROM ra_runner_odds_latest \
             ORDER BY horse_id, bookmaker_id LIMIT 1 OFFSET {i}"
        );
        let row = db.scalar_text(&sql).await.unwrap();
        let (key, rest) = row.split_once(' ').unwrap();
        let fractional = rest.rsplit(' ').next().unwrap();
        out.push(format!("{key} {} {fractional}", minute_of(rest)));
    }
    out
}

backend_test!(
    the_latest_price_is_the_last_served_per_bookmaker_and_the_card_shows_the_best_with_its_move,
    |db| async move {
        let run = new_run(&db).await;
        apply(
            &db,
            run,
            &unit(vec![
                price("hrs_1", "bet365", 0, "4/1", 5.0),
                price("hrs_1", "coral", 0, "7/2", 4.5),
                price("hrs_2", "bet365", 0, "2/1", 3.0),
                price("hrs_2", "coral", 8, "9/4", 3.25),
            ]),
        )
        .await;
        apply(
            &db,
            run,
            &unit(vec![
                // hrs_1 shortens at both; coral's unchanged price comes with a newer time.
                price("hrs_1", "bet365", 10, "2/1", 3.0),
                price("hrs_1", "coral", 10, "7/2", 4.5),
                price("hrs_2", "bet365", 10, "5/2", 3.5),
                // A late history item older than the latest changes the history only.
                price("hrs_2", "coral", 5, "5/1", 6.0),
            ]),
        )
        .await;
        assert_eq!(
            latest(&db).await,
            [
                "hrs_1/bet365 10 2/1",
                "hrs_1/coral 10 7/2",
                "hrs_2/bet365 10 5/2",
                "hrs_2/coral 08 9/4",
            ]
        );
        // hrs_1: 4/1, 2/1 at bet365, 7/2 at coral; hrs_2: 2/1, 5/2 and 5/1, 9/4.
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_runner_odds").await,
            7
        );

        let card = paddock::derive::query::race_report(&db, "rac_1")
            .await
            .unwrap()
            .unwrap();
        let best = |horse: &str| {
            card.runners
                .iter()
                .find(|r| r.horse_id == horse)
                .unwrap()
                .latest_odds
                .clone()
        };
        let one = best("hrs_1").expect("hrs_1 is priced");
        assert_eq!(
            (one.bookmaker_id.as_str(), one.fractional.as_deref()),
            ("coral", Some("7/2"))
        );
        assert_eq!(one.move_percent(), Some(0.0));
        let two = best("hrs_2").expect("hrs_2 is priced");
        assert_eq!(
            (two.bookmaker_id.as_str(), two.fractional.as_deref()),
            ("bet365", Some("5/2"))
        );
        // 2/1 (3.0) → 5/2 (3.5): the implied probability fell by 1/7.
        let drift = two.move_percent().unwrap();
        assert!((drift - (3.0 / 3.5 - 1.0) * 100.0).abs() < 1e-9, "{drift}");
        assert!(card.render().contains("bet365"), "{}", card.render());

        // A non-runner has no best price.
        apply(
            &db,
            run,
            &UnitOfWork {
                rows: vec![Row::new("ra_runners", Source::Racecard)
                    .set("race_id", "rac_1")
                    .set("horse_id", "hrs_2")
                    .set("is_non_runner", true)],
                ..UnitOfWork::default()
            },
        )
        .await;
        let card = paddock::derive::query::race_report(&db, "rac_1")
            .await
            .unwrap()
            .unwrap();
        let two = card.runners.iter().find(|r| r.horse_id == "hrs_2").unwrap();
        assert!(two.non_runner && two.latest_odds.is_none(), "{two:?}");
    }
);

// ---- indexes ----

/// The plan of `sql` as text: PostgreSQL's `EXPLAIN` with sequential scans priced out (a test
/// table is too small for the planner to prefer an index otherwise; what is proved is that an
/// index serves the query), SQLite's `EXPLAIN QUERY PLAN` details.
async fn plan(db: &TestDb, sql: &str) -> String {
    use paddock::store::AnyStore;
    use sqlx::Row as _;
    match &**db {
        AnyStore::Postgres(s) => {
            let mut conn = s.pool_for_tests().acquire().await.unwrap();
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            let rows = sqlx::query(&format!("EXPLAIN {sql}"))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            sqlx::query("RESET enable_seqscan")
                .execute(&mut *conn)
                .await
                .unwrap();
            rows.iter()
                .map(|r| r.get::<String, _>(0))
                .collect::<Vec<_>>()
                .join("\n")
        }
        AnyStore::Sqlite(s) => {
            let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(s.pool_for_tests())
                .await
                .unwrap();
            rows.iter()
                .map(|r| r.get::<String, _>(3))
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

backend_test!(
    the_latest_odds_lookup_and_the_race_date_query_use_indexes,
    |db| async move {
        let run = new_run(&db).await;
        apply(
            &db,
            run,
            &unit(vec![price("hrs_1", "bet365", 0, "4/1", 5.0)]),
        )
        .await;
        let latest = plan(
            &db,
            "SELECT bookmaker_id, fractional, decimal FROM ra_runner_odds_latest \
             WHERE race_id = 'rac_1' AND horse_id = 'hrs_1'",
        )
        .await;
        let by_day = plan(
            &db,
            "SELECT id FROM ra_mst_races WHERE race_date = '2024-05-01'",
        )
        .await;
        match db.backend() {
            crate::support::Backend::Postgres => {
                assert!(latest.contains("ra_runner_odds_latest_pkey"), "{latest}");
                assert!(!latest.contains("Seq Scan"), "{latest}");
                assert!(by_day.contains("idx_ra_mst_races_race_date"), "{by_day}");
                assert!(!by_day.contains("Seq Scan"), "{by_day}");
            }
            crate::support::Backend::Sqlite => {
                assert!(
                    latest.contains("SEARCH")
                        && latest.contains("sqlite_autoindex_ra_runner_odds_latest"),
                    "{latest}"
                );
                assert!(
                    by_day.contains("SEARCH") && by_day.contains("idx_ra_mst_races_race_date"),
                    "{by_day}"
                );
            }
        }
    }
);

// ---- a moving market, through the whole pipeline ----

/// One served price: (fractional, decimal) as the API wrote them.
type Served = BTreeMap<(String, String, String), (String, String, String, String)>;

/// The racecards of `day` as the simulator serves them now: every priced odds item per (race,
/// horse, bookmaker name), with its each-way terms.
fn served(server: &SimServer, day: chrono::NaiveDate) -> Served {
    let body = server.data().racecards_body(day, &[], 500, 0);
    let cards = body["racecards"].as_array().expect("racecards");
    assert_eq!(body["total"].as_u64(), Some(cards.len() as u64), "one page");
    let mut out = Served::new();
    for race in cards {
        for runner in race["runners"].as_array().unwrap() {
            for item in runner["odds"].as_array().unwrap() {
                let field = |k: &str| item[k].as_str().unwrap_or_default().to_string();
                if matches!(field("fractional").as_str(), "" | "-") {
                    continue;
                }
                out.insert(
                    (
                        race["race_id"].as_str().unwrap().to_string(),
                        runner["horse_id"].as_str().unwrap().to_string(),
                        field("bookmaker"),
                    ),
                    (
                        field("fractional"),
                        field("decimal"),
                        field("ew_places"),
                        field("ew_denom"),
                    ),
                );
            }
        }
    }
    out
}

backend_test!(
    three_refreshes_over_a_moving_market_store_first_and_changed_prices_exactly,
    |db| async move {
        let server = simulator(
            SEED,
            Faults {
                market_moves: true,
                ..Faults::default()
            },
        )
        .await;
        let api = client_for(&server);
        let day = sim_today();
        let cards = || {
            JobRequest::RacesAndRunners(RacesAndRunnersPlan {
                racecard_dates: vec![day],
                results: None,
            })
        };
        let mut expected_rows = 0usize;
        let mut previous = Served::new();
        // The last price served per runner and bookmaker at any stage (the market's
        // non-runner is priced at stage 0 only).
        let mut last_served = Served::new();
        let (mut moved, mut steady) = (0usize, 0usize);
        for stage in 0..3 {
            if stage > 0 {
                assert_eq!(server.advance_scenario(), Some(stage));
            }
            let now = served(&server, day);
            for (key, price) in &now {
                match previous.get(key) {
                    Some(before) if before == price => steady += 1,
                    Some(_) => {
                        moved += 1;
                        expected_rows += 1;
                    }
                    None => expected_rows += 1,
                }
            }
            let result = run(&db, &api, cards()).await;
            assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
            assert_eq!(
                db.scalar_i64("SELECT COUNT(*) FROM ra_runner_odds").await as usize,
                expected_rows,
                "history rows after stage {stage}"
            );
            last_served.extend(now.clone());
            previous = now;
        }
        assert!(moved > 0 && steady > 0, "moved {moved}, steady {steady}");

        // Latest = the last served price per runner and bookmaker.
        let rows = db
            .text_rows(
                "SELECT l.race_id, l.horse_id, b.name, l.fractional, \
                 CAST(l.observed_at AS TEXT) FROM ra_runner_odds_latest l \
                 JOIN ra_mst_bookmakers b ON b.id = l.bookmaker_id",
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), last_served.len());
        for r in &rows {
            let key = (
                r[0].clone().unwrap(),
                r[1].clone().unwrap(),
                r[2].clone().unwrap(),
            );
            let last = last_served.get(&key).unwrap_or_else(|| panic!("{key:?}"));
            assert_eq!(r[3].as_deref(), Some(last.0.as_str()), "{key:?}");
        }
        // Every runner's latest row carries the last stage's time, moved or not: one distinct
        // time per race at most (each race's `updated` + 40 minutes).
        let running = "FROM ra_runner_odds_latest l JOIN ra_runners r \
                       ON r.race_id = l.race_id AND r.horse_id = l.horse_id \
                       WHERE r.is_non_runner IS NULL OR NOT r.is_non_runner";
        let races = db
            .scalar_i64(&format!("SELECT COUNT(DISTINCT l.race_id) {running}"))
            .await;
        let times = db
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM (SELECT DISTINCT l.race_id, l.observed_at {running}) t"
            ))
            .await;
        assert_eq!(times, races);

        // The best price on the card: the longest last-served decimal among bookmakers.
        let race_id = previous.keys().next().unwrap().0.clone();
        let card = paddock::derive::query::race_report(&db, &race_id)
            .await
            .unwrap()
            .unwrap();
        let mut checked = 0;
        for runner in card.runners.iter().filter(|r| !r.non_runner) {
            let best = previous
                .iter()
                .filter(|((race, horse, _), _)| *race == race_id && *horse == runner.horse_id)
                .map(|(_, p)| p.1.parse::<f64>().unwrap())
                .fold(f64::MIN, f64::max);
            let shown = runner.latest_odds.as_ref().expect("a priced runner");
            assert_eq!(shown.decimal, Some(best), "{}", runner.horse_id);
            checked += 1;
        }
        assert!(checked > 0);
    }
);

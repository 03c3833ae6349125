//! The odds endpoint (`/odds/{race_id}/{horse_id}`) and `paddock backfill --only odds` on both
//! backends, against the simulator's moving market: the endpoint's history is what the
//! racecards showed (compared through the database), a backfill after three racecard refreshes
//! adds no row, a backfill after a late first refresh slots the older prices in (the stored
//! repeat goes), the request budget is kept and a second run resumes, and the market's
//! non-runner is neither asked about nor priced.

use super::*;
use crate::support::sim::requests_to;
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions};
use paddock::config::OddsBackfillSettings;
use paddock::simulator::SimRace;
use std::collections::BTreeSet;

const ODDS: &str = "/odds/{race_id}/{horse_id}";

/// A runner's history at one bookmaker: `(race_id, horse_id, bookmaker name)` → its prices
/// (fractional), oldest first.
type Histories = BTreeMap<(String, String, String), Vec<String>>;

fn market() -> Faults {
    Faults {
        market_moves: true,
        ..Faults::default()
    }
}

/// `--only odds` for `day`, choosing every course of `races`, at most `max_requests`.
fn odds_options(day: chrono::NaiveDate, races: &[SimRace], max_requests: u32) -> BackfillOptions {
    let courses: BTreeSet<String> = races.iter().map(|r| r.course_id.clone()).collect();
    BackfillOptions {
        from: day,
        to: day,
        parts: [Part::Odds].into_iter().collect(),
        profile_budget: 0,
        regions: vec!["gb".into(), "ire".into()],
        today: sim_today(),
        rate_per_second: 1000.0,
        distance_bands: Default::default(),
        odds: OddsBackfillSettings {
            big_races: false,
            courses: courses.into_iter().collect(),
            min_prize: None,
            today_before_off: false,
            max_requests,
        },
    }
}

async fn refresh(db: &TestDb, server: &SimServer, day: chrono::NaiveDate) {
    let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan {
        racecard_dates: vec![day],
        results: None,
    });
    let result = run(db, &client_for(server), request).await;
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
}

async fn backfill_odds(db: &TestDb, server: &SimServer, options: &BackfillOptions) {
    let result = run_backfill(&client_for(server), db, options, Reporter::Silent)
        .await
        .unwrap();
    assert_eq!(result.exit_code(), 0, "{:?}", result.error);
}

/// The stored histories of `day`'s runners.
async fn stored(db: &TestDb, day: chrono::NaiveDate) -> Histories {
    let rows = db
        .text_rows(&format!(
            "SELECT o.race_id, o.horse_id, b.name, o.fractional FROM ra_runner_odds o \
             JOIN ra_mst_bookmakers b ON b.id = o.bookmaker_id \
             JOIN ra_mst_races x ON x.id = o.race_id WHERE x.race_date = '{day}' \
             ORDER BY o.race_id, o.horse_id, o.bookmaker_id, o.observed_at"
        ))
        .await
        .unwrap();
    let mut out = Histories::new();
    for r in rows {
        let text = |i: usize| r[i].clone().unwrap_or_default();
        out.entry((text(0), text(1), text(2)))
            .or_default()
            .push(text(3));
    }
    out
}

/// The histories the simulator's odds endpoint serves now for `races`' runners.
fn served_histories(server: &SimServer, races: &[SimRace]) -> Histories {
    let mut out = Histories::new();
    for race in races {
        for runner in &race.runners {
            let body = server
                .data()
                .odds_body(&race.race_id, &runner.horse_id)
                .expect("every declared runner has odds");
            for item in body["odds"].as_array().unwrap() {
                let prices: Vec<String> = item["history"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["fractional"].as_str().unwrap().to_string())
                    .collect();
                if !prices.is_empty() {
                    let book = item["bookmaker"].as_str().unwrap().to_string();
                    out.insert(
                        (race.race_id.clone(), runner.horse_id.clone(), book),
                        prices,
                    );
                }
            }
        }
    }
    out
}

/// The runners a backfill asks about at the market's stage 2: races not abandoned (by the
/// generator or the market), runners that run.
fn askable(server: &SimServer, races: &[SimRace]) -> BTreeSet<(String, String)> {
    let day = races[0].date;
    let casualties = server.data().market_casualties(day).unwrap();
    races
        .iter()
        .filter(|r| !r.is_abandoned && casualties.abandoned_race_id.as_ref() != Some(&r.race_id))
        .flat_map(|r| {
            r.runner_horse_ids
                .iter()
                .map(|h| (r.race_id.clone(), h.clone()))
        })
        .filter(|key| casualties.non_runner.as_ref() != Some(key))
        .collect()
}

backend_test!(
    the_endpoint_serves_what_the_racecards_showed_and_its_backfill_after_three_refreshes_adds_no_row,
    |db| async move {
        let server = simulator(SEED, market()).await;
        let day = sim_today();
        let races = server.data().races_on(day);
        for stage in 0..3 {
            if stage > 0 {
                server.advance_scenario();
            }
            refresh(&db, &server, day).await;
        }
        // Racecards stored on change = the endpoint's history, runner by runner.
        let served = served_histories(&server, &races);
        assert_eq!(stored(&db, day).await, served);
        let rows = db.scalar_i64("SELECT COUNT(*) FROM ra_runner_odds").await;

        backfill_odds(&db, &server, &odds_options(day, &races, 10_000)).await;
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_runner_odds").await,
            rows,
            "the endpoint's history is what racecards stored"
        );
        assert_eq!(stored(&db, day).await, served);
        // One request per running runner of a race not abandoned; the market's non-runner is
        // not asked about, and has no best price.
        let askable = askable(&server, &races);
        assert_eq!(requests_to(&server, ODDS), askable.len() as u64);
        let (nr_race, nr_horse) = server
            .data()
            .market_casualties(day)
            .unwrap()
            .non_runner
            .unwrap();
        let asked = server.stats().by_query;
        assert!(!asked.contains_key(&format!("/v1/odds/{nr_race}/{nr_horse}?")));
        let card = paddock::derive::query::race_report(&db, &nr_race)
            .await
            .unwrap()
            .unwrap();
        let withdrawn = card
            .runners
            .iter()
            .find(|r| r.horse_id == nr_horse)
            .unwrap();
        assert!(withdrawn.non_runner, "{withdrawn:?}");
        assert!(withdrawn.latest_odds.is_none(), "{withdrawn:?}");
        assert!(card
            .runners
            .iter()
            .filter(|r| !r.non_runner)
            .all(|r| r.latest_odds.is_some()));
    }
);

backend_test!(
    a_backfill_after_a_late_first_refresh_slots_the_older_prices_into_history,
    |db| async move {
        let server = simulator(SEED, market()).await;
        let day = sim_today();
        let races = server.data().races_on(day);
        server.advance_scenario();
        server.advance_scenario();
        // The racecards are first fetched at stage 2: one row per price, at stage 2's time.
        refresh(&db, &server, day).await;
        backfill_odds(&db, &server, &odds_options(day, &races, 10_000)).await;
        let askable = askable(&server, &races);
        let stored = stored(&db, day).await;
        let served = served_histories(&server, &races);
        let mut compared = 0;
        for (key, prices) in &served {
            if askable.contains(&(key.0.clone(), key.1.clone())) {
                assert_eq!(stored.get(key), Some(prices), "{key:?}");
                compared += 1;
            }
        }
        assert!(compared > 0);
        // A steady price is one row: the stage-2 racecard row repeating the endpoint's older
        // entry went.
        assert!(served.values().any(|p| p.len() == 1));
        assert!(served.values().any(|p| p.len() == 3));
    }
);

backend_test!(
    the_odds_backfill_keeps_to_its_budget_and_a_second_run_asks_only_for_the_rest,
    |db| async move {
        let server = simulator(SEED, market()).await;
        let day = sim_today();
        let races = server.data().races_on(day);
        refresh(&db, &server, day).await;
        let all = odds_options(day, &races, 10_000);
        let planned = all.odds_targets(&db).await.unwrap().len();
        assert!(planned > 20, "{planned}");

        let budget = odds_options(day, &races, 7);
        assert_eq!(budget.odds_targets(&db).await.unwrap().len(), 7);
        backfill_odds(&db, &server, &budget).await;
        assert_eq!(requests_to(&server, ODDS), 7);
        // The dry run's count: what is left.
        assert_eq!(all.odds_targets(&db).await.unwrap().len(), planned - 7);

        backfill_odds(&db, &server, &all).await;
        assert_eq!(requests_to(&server, ODDS), planned as u64);
        let asked = server.stats().by_query;
        let odds_paths: Vec<_> = asked
            .iter()
            .filter(|(p, _)| p.starts_with("/v1/odds/"))
            .collect();
        assert_eq!(odds_paths.len(), planned);
        assert!(
            odds_paths.iter().all(|(_, n)| **n == 1),
            "a runner asked twice"
        );

        backfill_odds(&db, &server, &all).await;
        assert_eq!(
            requests_to(&server, ODDS),
            planned as u64,
            "nothing left to ask"
        );
    }
);

backend_test!(
    an_endpoint_entry_older_than_the_stored_row_of_the_same_price_replaces_it,
    |db| async move {
        let run = new_run(&db).await;
        apply(
            &db,
            run,
            &unit(vec![
                price("hrs_1", "bet365", 10, "5/2", 3.5),
                price("hrs_1", "bet365", 20, "3/1", 4.0),
            ]),
        )
        .await;
        // Another unit brings the same price seen earlier: the row at 10 is no change now.
        let later = new_run(&db).await;
        apply(
            &db,
            later,
            &unit(vec![price("hrs_1", "bet365", 0, "5/2", 3.5)]),
        )
        .await;
        assert_eq!(
            minutes(&db, "hrs_1", "bet365").await,
            expect(&[("00", "5/2"), ("20", "3/1")])
        );
        // An older entry of a new price stays, and the row after it goes only if it repeats.
        apply(
            &db,
            later,
            &unit(vec![price("hrs_1", "bet365", 15, "3/1", 4.0)]),
        )
        .await;
        apply(
            &db,
            later,
            &unit(vec![price("hrs_1", "bet365", 5, "2/1", 3.0)]),
        )
        .await;
        assert_eq!(
            minutes(&db, "hrs_1", "bet365").await,
            expect(&[("00", "5/2"), ("05", "2/1"), ("15", "3/1")])
        );
        // The latest price is still the newest time's.
        assert_eq!(
            db.scalar_text("SELECT fractional FROM ra_runner_odds_latest")
                .await
                .as_deref(),
            Some("3/1")
        );
    }
);

//! Data fidelity on both backends, through the whole pipeline against the simulator: what
//! changes before the off is stored (racecards own pre-race state until the result), late
//! non-runners, every page accounted for, abandoned races.

use crate::support::jobs::{config_from_toml, run, run_with_config};
use crate::support::sim::{client_for, requests_to, sim_today, simulator};
use crate::support::TestDb;
use async_trait::async_trait;
use chrono::NaiveDate;
use fetchers::api::{ApiError, ApiRequest, ApiSource, RawResponse};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::RunStatus;
use paddock::client::RacingApiClient;
use paddock::run::{self, JobRequest};
use paddock::simulator::{Faults, PreRaceFacts, SimData, SimServer};

/// The simulator's seed in these tests.
const SEED: u64 = 11;

fn cards(day: NaiveDate) -> JobRequest {
    JobRequest::RacesAndRunners(RacesAndRunnersPlan {
        racecard_dates: vec![day],
        results: None,
    })
}

fn results(day: NaiveDate) -> JobRequest {
    JobRequest::RacesAndRunners(RacesAndRunnersPlan {
        racecard_dates: vec![],
        results: Some((day, day)),
    })
}

/// One runner's pre-race state as stored: jockey, draw, non-runner flag and reason.
async fn runner(db: &TestDb, race: &str, horse: &str) -> (String, String, bool, Option<String>) {
    let q = |col: &str| {
        format!("SELECT CAST({col} AS TEXT) FROM ra_runners WHERE race_id = '{race}' AND horse_id = '{horse}'")
    };
    let nr = db
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM ra_runners WHERE race_id = '{race}' AND horse_id = '{horse}' \
             AND is_non_runner"
        ))
        .await;
    (
        db.scalar_text(&q("jockey_id")).await.unwrap_or_default(),
        db.scalar_text(&q("draw")).await.unwrap_or_default(),
        nr == 1,
        db.scalar_text(&q("non_runner_reason")).await,
    )
}

async fn going(db: &TestDb, race: &str) -> Option<String> {
    db.scalar_text(&format!(
        "SELECT going FROM ra_mst_races WHERE id = '{race}'"
    ))
    .await
}

/// Rows of the race (race and runners) written by `run_id`.
async fn rows_written_by(db: &TestDb, race: &str, run_id: fetchers::store::RunId) -> i64 {
    let run_id = run_id.get();
    db.scalar_i64(&format!(
        "SELECT (SELECT COUNT(*) FROM ra_runners WHERE race_id = '{race}' AND last_run_id = {run_id}) \
         + (SELECT COUNT(*) FROM ra_mst_races WHERE id = '{race}' AND last_run_id = {run_id})"
    ))
    .await
}

fn scenario(server: &SimServer) -> PreRaceFacts {
    server
        .data()
        .pre_race_facts()
        .expect("the scenario day has a race with seven runners and stalls")
}

backend_test!(
    pre_race_changes_are_stored_until_the_result_and_a_later_card_changes_nothing,
    |db| async move {
        let server = simulator(
            SEED,
            Faults {
                pre_race_changes: true,
                ..Faults::default()
            },
        )
        .await;
        let api = client_for(&server);
        let f = scenario(&server);
        let race = f.race_id.as_str();
        let (a, morning_jockey, noon_jockey) = &f.jockey_change;
        let (b, b_reason) = &f.new_non_runner;
        let (c, morning_draw, noon_draw) = &f.draw_correction;
        let (d, card_jockey, result_jockey) = &f.late_jockey_change;
        let (e, e_reason) = &f.late_non_runner;

        // 06:00: the morning card.
        assert_eq!(
            run(&db, &api, cards(f.date)).await.status,
            RunStatus::Succeeded
        );
        assert_eq!(&runner(&db, race, a).await.0, morning_jockey);
        assert_eq!(runner(&db, race, c).await.1, morning_draw.to_string());
        assert!(!runner(&db, race, b).await.2);
        assert_eq!(going(&db, race).await.as_ref(), Some(&f.going.0));

        // 12:00: the jockey changed, B was withdrawn, C's draw corrected, the going changed.
        assert_eq!(server.advance_scenario(), Some(1));
        assert_eq!(
            run(&db, &api, cards(f.date)).await.status,
            RunStatus::Succeeded
        );
        assert_eq!(&runner(&db, race, a).await.0, noon_jockey);
        assert_eq!(runner(&db, race, c).await.1, noon_draw.to_string());
        assert!(
            runner(&db, race, b).await.2,
            "B is a non-runner on the noon card"
        );
        assert_eq!(going(&db, race).await.as_ref(), Some(&f.going.1));
        assert_eq!(&runner(&db, race, d).await.0, card_jockey);
        assert!(!runner(&db, race, e).await.2);

        // The result: D ridden by another jockey, E withdrawn after the last card.
        let result = run(&db, &api, results(f.date)).await;
        assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
        assert_eq!(&runner(&db, race, d).await.0, result_jockey);
        let (_, _, e_withdrawn, e_stated) = runner(&db, race, e).await;
        assert!(
            e_withdrawn,
            "E is flagged from the results' non_runners text"
        );
        assert_eq!(e_stated.as_ref(), Some(e_reason));
        assert_eq!(runner(&db, race, b).await.3.as_ref(), Some(b_reason));
        let after_result = (
            runner(&db, race, a).await,
            runner(&db, race, b).await,
            runner(&db, race, c).await,
            runner(&db, race, d).await,
            runner(&db, race, e).await,
            going(&db, race).await,
        );

        // The API serves past racecards: fetching this day's cards again changes nothing.
        let refetch = run(&db, &api, cards(f.date)).await;
        assert_eq!(refetch.status, RunStatus::Succeeded);
        assert_eq!(rows_written_by(&db, race, refetch.run_id).await, 0);
        let after_refetch = (
            runner(&db, race, a).await,
            runner(&db, race, b).await,
            runner(&db, race, c).await,
            runner(&db, race, d).await,
            runner(&db, race, e).await,
            going(&db, race).await,
        );
        assert_eq!(after_refetch, after_result);
        assert_eq!(&after_refetch.3 .0, result_jockey, "the result stands");
    }
);

/// The simulator, with one extra name in every result's `non_runners` text.
struct UnknownNonRunner {
    inner: RacingApiClient,
    race_id: String,
}

#[async_trait]
impl ApiSource for UnknownNonRunner {
    async fn fetch(&self, request: &ApiRequest) -> Result<RawResponse, ApiError> {
        let mut response = self.inner.fetch(request).await?;
        if matches!(request, ApiRequest::Results { .. }) {
            let mut body: serde_json::Value = serde_json::from_str(&response.body).unwrap();
            for race in body["results"].as_array_mut().unwrap() {
                if race["race_id"] == self.race_id.as_str() {
                    let text = race["non_runners"].as_str().unwrap_or_default().to_string();
                    race["non_runners"] = format!("{text}, Nobody Declared (IRE) (lame)").into();
                }
            }
            response.body = body.to_string();
        }
        Ok(response)
    }
}

backend_test!(
    late_non_runners_are_flagged_with_their_reason_and_an_unknown_name_is_one_reject,
    |db| async move {
        let server = simulator(
            SEED,
            Faults {
                pre_race_changes: true,
                ..Faults::default()
            },
        )
        .await;
        server.advance_scenario();
        let f = scenario(&server);
        let api = UnknownNonRunner {
            inner: client_for(&server),
            race_id: f.race_id.clone(),
        };
        run(&db, &api, cards(f.date)).await;
        let result = run(&db, &api, results(f.date)).await;
        // Flagged with the reason the results state, matched on the name without its suffix.
        for (horse, reason) in [&f.new_non_runner, &f.late_non_runner] {
            let (_, _, nr, stored_reason) = runner(&db, &f.race_id, horse).await;
            assert!(nr, "{horse}");
            assert_eq!(stored_reason.as_ref(), Some(reason));
        }
        // The unknown name: exactly one reject, keyed by the race.
        let rejects = db
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM paddock_rejects WHERE run_id = {} AND entity = 'non_runner' \
                 AND entity_key = '{}' AND reason LIKE '%Nobody Declared (IRE)%'",
                result.run_id, f.race_id
            ))
            .await;
        assert_eq!(rejects, 1);
        assert_eq!(
            db.scalar_i64(&format!(
                "SELECT COUNT(*) FROM paddock_rejects WHERE run_id = {}",
                result.run_id
            ))
            .await,
            1
        );
        assert_eq!(result.status, RunStatus::Partial);
    }
);

backend_test!(
    a_page_missing_a_record_fails_the_run_with_all_four_figures_in_message_and_ledger,
    |db| async move {
        let server = simulator(
            SEED,
            Faults {
                drop_record_every: Some(1),
                ..Faults::default()
            },
        )
        .await;
        // A day whose results fit one page of 50, so exactly one record goes missing.
        let day = (2..40)
            .map(|n| sim_today() - chrono::Duration::days(n))
            .find(|d| (1..=50).contains(&server.data().race_count(*d)))
            .expect("a day with at most 50 races");
        let total = server.data().race_count(day);
        let result = run(&db, &client_for(&server), results(day)).await;
        assert_eq!(result.status, RunStatus::Failed);
        let error = result.error.unwrap();
        let expected = format!(
            "received {}, stored {}, rejected 0, total {total}",
            total - 1,
            total - 1
        );
        assert!(error.contains(&expected), "{error}");
        let ledger = db
            .scalar_text(&format!(
                "SELECT error_text FROM paddock_runs WHERE run_id = {}",
                result.run_id
            ))
            .await
            .unwrap();
        assert!(ledger.contains(&expected), "{ledger}");
    }
);

/// A day with an abandoned race, searched deterministically from the simulator's data.
fn day_with_an_abandoned_race(data: &SimData) -> NaiveDate {
    let mut day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    while day < sim_today() {
        if data.races_on(day).iter().any(|r| r.is_abandoned) {
            return day;
        }
        day += chrono::Duration::days(1);
    }
    panic!("no abandoned race in the simulator's first half of 2025");
}

backend_test!(
    an_abandoned_race_is_stored_as_abandoned_and_its_missing_result_is_no_error,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let day = day_with_an_abandoned_race(server.data());
        let abandoned: Vec<String> = server
            .data()
            .races_on(day)
            .into_iter()
            .filter(|r| r.is_abandoned)
            .map(|r| r.race_id)
            .collect();
        let api = client_for(&server);
        let first = run(&db, &api, cards(day)).await;
        assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
        let later = run(&db, &api, results(day)).await;
        assert_eq!(later.status, RunStatus::Succeeded, "{:?}", later.error);
        for id in &abandoned {
            assert_eq!(
                db.scalar_i64(&format!(
                    "SELECT COUNT(*) FROM ra_mst_races WHERE id = '{id}' AND is_abandoned \
                     AND has_result IS NULL"
                ))
                .await,
                1,
                "{id} stored as abandoned, without a result"
            );
        }
        assert_eq!(
            db.scalar_i64(&format!(
                "SELECT COUNT(*) FROM paddock_rejects WHERE run_id = {}",
                later.run_id
            ))
            .await,
            0
        );
    }
);

fn profile_requests(server: &SimServer) -> u64 {
    requests_to(server, "/horses/{id}/pro")
}

fn refresh(horses: &[&str], older_than_days: Option<u32>) -> JobRequest {
    JobRequest::RefreshProfiles(fetchers::jobs::ProfileRefresh {
        horses: horses.iter().map(|h| h.to_string()).collect(),
        older_than_days,
    })
}

async fn run_with_budget(
    db: &TestDb,
    api: &dyn ApiSource,
    request: JobRequest,
    budget: u32,
) -> run::RunResult {
    let config = config_from_toml(&format!(
        "[jobs.master_entities_daily]\nprofile_budget = {budget}\n"
    ));
    run_with_config(&config, db, api, request).await
}

backend_test!(
    profiles_are_asked_for_again_on_purpose_within_the_budget,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        let day = sim_today() - chrono::Duration::days(2);
        run(&db, &api, cards(day)).await;
        let race = &server.data().races_on(day)[0];
        let (h1, h2) = (
            race.runners[0].horse_id.as_str(),
            race.runners[1].horse_id.as_str(),
        );
        let unknown = "hrs_999999999999";
        let fetched = |h: &str| {
            format!("SELECT COUNT(*) FROM ra_mst_horses WHERE id = '{h}' AND profile_fetched_at IS NOT NULL")
        };

        // Named horses: fetched even though racecards already gave their details; the unknown
        // one is recorded missing.
        let first = run_with_budget(&db, &api, refresh(&[h1, h2, unknown], None), 5).await;
        assert_eq!(first.status, RunStatus::Partial, "{:?}", first.error);
        assert_eq!(profile_requests(&server), 3);
        assert_eq!(db.scalar_i64(&fetched(h1)).await, 1);
        assert_eq!(db.scalar_i64(&fetched(h2)).await, 1);
        assert_eq!(first.report.missing.len(), 1);

        // Asked again on purpose: fetched again, the missing one included.
        run_with_budget(&db, &api, refresh(&[h1, h2, unknown], None), 5).await;
        assert_eq!(profile_requests(&server), 6);

        // Older than 0 days: every stored profile, oldest first, within the budget of one.
        let older = run_with_budget(&db, &api, refresh(&[], Some(0)), 1).await;
        assert_eq!(older.status, RunStatus::Succeeded, "{:?}", older.error);
        assert_eq!(profile_requests(&server), 7);
        let older = run_with_budget(&db, &api, refresh(&[], Some(0)), 5).await;
        assert_eq!(older.status, RunStatus::Succeeded, "{:?}", older.error);
        assert_eq!(profile_requests(&server), 9);
        // Nothing is older than a year.
        run_with_budget(&db, &api, refresh(&[], Some(365)), 5).await;
        assert_eq!(profile_requests(&server), 9);

        // More named horses than the budget: refused before any request.
        let over = run_with_budget(&db, &api, refresh(&[h1, h2], None), 1).await;
        assert_eq!(over.status, RunStatus::Failed);
        assert!(over.error.unwrap().contains("budget"));
        assert_eq!(profile_requests(&server), 9);
    }
);

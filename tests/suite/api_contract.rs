//! The client and the payload models against every endpoint of the simulator: each body parses
//! with no record errors and no unknown fields, and results paging delivers a 70-race day whole.

use crate::support::sim::{
    api_client, client_config, quick_backoff, sim_today, simulator, PASSWORD, USER,
};
use fetchers::api::models;
use fetchers::api::{ApiError, ApiRequest, ApiSource};
use paddock::client::RacingApiClient;
use paddock::simulator::{Faults, SimServer};

/// The simulator's seed in these tests.
const SEED: u64 = 5;

/// A client sending `password`, with quick retries.
fn client(server: &SimServer, password: &str) -> RacingApiClient {
    api_client(quick_backoff(client_config(server, USER, password)))
}

fn regions() -> Vec<String> {
    vec!["gb".into(), "ire".into()]
}

/// Asserts a page parsed whole: no record errors, no unknown fields, the expected size.
fn assert_clean<T>(what: &str, page: &models::Page<T>) {
    let errors: Vec<_> = page.errors().collect();
    assert!(errors.is_empty(), "{what}: {errors:?}");
    assert_eq!(
        page.unknown_fields, 0,
        "{what}: {:?}",
        page.unknown_field_names
    );
    assert!(!page.records.is_empty(), "{what}: no records");
}

#[tokio::test]
async fn every_endpoint_of_the_simulator_parses_cleanly() {
    let server = simulator(SEED, Faults::default()).await;
    let api = client(&server, PASSWORD);
    let day = sim_today() - chrono::Duration::days(1);

    let body = api.fetch(&ApiRequest::Regions).await.unwrap().body;
    assert_clean("regions", &models::parse_regions(&body).unwrap());
    let body = api
        .fetch(&ApiRequest::Courses {
            region_codes: regions(),
        })
        .await
        .unwrap()
        .body;
    assert_clean("courses", &models::parse_courses_page(&body).unwrap());

    let cards_request = ApiRequest::RacecardsPro {
        date: day,
        region_codes: regions(),
        limit: 500,
        skip: 0,
    };
    let cards =
        models::parse_racecards_page(&api.fetch(&cards_request).await.unwrap().body).unwrap();
    assert_clean("racecards", &cards);
    let race_id = cards.ok().next().unwrap().race_id.clone().unwrap();
    let one_card = models::parse_racecard(
        &api.fetch(&ApiRequest::RacecardPro {
            race_id: race_id.clone(),
        })
        .await
        .unwrap()
        .body,
    )
    .unwrap();
    assert_clean("racecard", &one_card);

    let results = models::parse_results_page(
        &api.fetch(&ApiRequest::Results {
            start_date: day,
            end_date: day,
            regions: regions(),
            limit: 50,
            skip: 0,
        })
        .await
        .unwrap()
        .body,
    )
    .unwrap();
    assert_clean("results", &results);
    let one_result = models::parse_result(
        &api.fetch(&ApiRequest::Result { race_id })
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_clean("result", &one_result);

    let summaries = models::parse_summaries_page(
        &api.fetch(&ApiRequest::RacecardSummaries {
            date: day,
            region_codes: regions(),
        })
        .await
        .unwrap()
        .body,
    )
    .unwrap();
    assert_clean("summaries", &summaries);

    let horse_id = results.ok().next().unwrap().runners[0]
        .as_ref()
        .unwrap()
        .horse_id
        .clone()
        .unwrap();
    let horse = models::parse_horse_pro(
        &api.fetch(&ApiRequest::HorsePro { horse_id })
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_clean("horse", &horse);

    let missing = api
        .fetch(&ApiRequest::HorsePro {
            horse_id: "hrs_0".into(),
        })
        .await;
    assert!(
        matches!(missing, Err(ApiError::NotFound { .. })),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_seventy_race_day_arrives_complete_through_results_paging() {
    let server = simulator(SEED, Faults::default()).await;
    let api = client(&server, PASSWORD);
    let data = server.data();
    let day = data
        .find_busy_day(
            sim_today() - chrono::Duration::days(400),
            sim_today() - chrono::Duration::days(1),
            70,
        )
        .expect("a day with at least 70 races");
    let expected = data.races_on(day).iter().filter(|r| r.has_result).count();
    assert!(expected >= 70, "{expected}");

    let mut race_ids = Vec::new();
    let mut pages = 0;
    loop {
        let request = ApiRequest::Results {
            start_date: day,
            end_date: day,
            regions: regions(),
            limit: 50,
            skip: race_ids.len() as u32,
        };
        let page = models::parse_results_page(&api.fetch(&request).await.unwrap().body).unwrap();
        pages += 1;
        race_ids.extend(page.ok().map(|r| r.race_id.clone().unwrap()));
        if race_ids.len() as u64 >= page.total || page.records.is_empty() {
            assert_eq!(page.total as usize, expected);
            break;
        }
    }
    race_ids.sort();
    race_ids.dedup();
    assert_eq!(race_ids.len(), expected);
    assert_eq!(pages, expected.div_ceil(50));
}

#[tokio::test]
async fn wrong_credentials_stop_with_a_message_naming_the_variables() {
    let server = simulator(SEED, Faults::default()).await;
    let err = client(&server, "wrong")
        .fetch(&ApiRequest::Regions)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("RACING_API_USERNAME") && message.contains("RACING_API_PASSWORD"));
    assert_eq!(server.stats().total, 1, "a 401 must not be retried");
}

#[tokio::test]
async fn injected_server_errors_and_rate_limits_are_retried_to_success() {
    let faults =
        Faults::parse_flags("server_error_rate=0.3,rate_limit_every=4,retry_after_secs=1").unwrap();
    let server = simulator(SEED, faults).await;
    let api = client(&server, PASSWORD);
    let day = sim_today() - chrono::Duration::days(2);
    for skip in [0, 50] {
        let body = api
            .fetch(&ApiRequest::Results {
                start_date: day - chrono::Duration::days(1),
                end_date: day,
                regions: regions(),
                limit: 50,
                skip,
            })
            .await
            .unwrap()
            .body;
        assert_clean("results", &models::parse_results_page(&body).unwrap());
    }
    let stats = server.stats();
    assert!(
        stats.by_status.get(&200).copied().unwrap_or(0) == 2,
        "{stats:?}"
    );
    assert!(
        stats.total > 2,
        "faults were injected and retried: {stats:?}"
    );
}

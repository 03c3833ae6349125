//! The simulator's injected faults and counters: 429s with `Retry-After`, a maximum rate,
//! truncated, failing, hanging and malformed answers, records dropped from a page, the request
//! counters and the pre-race-changes scenario.

use super::*;

#[tokio::test]
async fn rate_limit_every_third_request_answers_429_with_retry_after() {
    let faults = Faults::parse_flags("rate_limit_every=3,retry_after_secs=2").unwrap();
    let server = start(faults).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let resp = get(&server, "/courses/regions").await;
        if resp.status() == 429 {
            assert_eq!(resp.headers()["retry-after"], "2");
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 429, 200, 200, 429]);
    server.shutdown().await;
}

#[tokio::test]
async fn requests_faster_than_max_rate_get_429() {
    let faults = Faults::parse_flags("max_rate_per_sec=1").unwrap();
    let server = start(faults).await;
    assert_eq!(get(&server, "/courses/regions").await.status(), 200);
    let resp = get(&server, "/courses/regions").await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn truncate_every_1_makes_every_ok_body_invalid_json() {
    let server = start(Faults::parse_flags("truncate_every=1").unwrap()).await;
    let (status, text) = get_text(&server, "/courses?region_codes=gb").await;
    assert_eq!(status, 200);
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    // Errors are not truncated.
    let (status, text) = get_text(&server, "/horses/hrs_1/pro").await;
    assert_eq!(status, 404);
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    server.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_deterministic_for_a_seed() {
    let faults = Faults::parse_flags("server_error_rate=0.5").unwrap();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let server = start(faults.clone()).await;
        let mut statuses = Vec::new();
        for _ in 0..16 {
            statuses.push(get(&server, "/courses/regions").await.status().as_u16());
        }
        server.shutdown().await;
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn a_hung_request_outlasts_the_client_timeout() {
    let faults = Faults::parse_flags("hang_every=2,hang_ms=5000").unwrap();
    let server = start(faults).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let url = format!("{}/courses/regions", server.base_url);
    let first = quick.get(&url).basic_auth(USER, Some(PASS)).send().await;
    assert_eq!(first.unwrap().status(), 200);
    let second = quick.get(&url).basic_auth(USER, Some(PASS)).send().await;
    assert!(second.unwrap_err().is_timeout());
    drop(server); // does not wait for the hung request
}

#[tokio::test]
async fn malformed_values_and_extra_fields_are_injected_deterministically() {
    let faults = Faults::parse_flags("malformed_values,extra_fields").unwrap();
    let server = start(faults).await;
    let day = busy_day(server.data());
    let (_, text) = get_text(&server, &format!("/racecards/pro?date={day}")).await;
    let (_, again) = get_text(&server, &format!("/racecards/pro?date={day}")).await;
    assert_eq!(text, again);
    let page: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut missing_id = 0;
    let mut garbage = 0;
    for race in page["racecards"].as_array().unwrap() {
        assert!(race.get("sim_extra_race").is_some());
        for r in race["runners"].as_array().unwrap() {
            assert!(r.get("sim_extra_runner").is_some());
            if r.get("horse_id").is_none() {
                missing_id += 1;
            }
            if r["lbs"] == "abc" || r["age"] == "four" || r["ofr"] == "12x" {
                garbage += 1;
            }
        }
    }
    assert!(missing_id > 0 && garbage > 0, "{missing_id} {garbage}");
    server.shutdown().await;
}

#[tokio::test]
async fn stats_count_requests_by_endpoint_and_status() {
    let server = start(Faults::default()).await;
    let day = today() - chrono::Duration::days(1);
    get(&server, "/courses").await;
    get(&server, "/courses/regions").await;
    get(&server, &format!("/racecards/pro?date={day}&limit=1")).await;
    get(
        &server,
        &format!("/results?start_date={day}&end_date={day}&limit=1"),
    )
    .await;
    get(&server, "/results/rac_1").await;
    get(&server, "/horses/hrs_1/pro").await;
    get(&server, "/racecards/summaries").await;
    get(&server, "/nope").await;
    client()
        .get(format!("{}/courses", server.base_url))
        .send()
        .await
        .unwrap();

    let stats = server.stats();
    assert_eq!(stats.total, 9);
    assert_eq!(stats.by_endpoint["/courses"], 2);
    assert_eq!(stats.by_endpoint["/courses/regions"], 1);
    assert_eq!(stats.by_endpoint["/racecards/pro"], 1);
    assert_eq!(stats.by_endpoint["/results"], 1);
    assert_eq!(stats.by_endpoint["/results/{race_id}"], 1);
    assert_eq!(stats.by_endpoint["/horses/{id}/pro"], 1);
    assert_eq!(stats.by_endpoint["/racecards/summaries"], 1);
    assert_eq!(stats.by_status[&200], 5);
    assert_eq!(stats.by_status[&404], 3);
    assert_eq!(stats.by_status[&401], 1);

    // The same numbers over HTTP (no auth; the stats endpoints are not counted).
    let root = server.base_url.trim_end_matches("/v1");
    let via_http: Stats = client()
        .get(format!("{root}/__stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(via_http, stats);
    let reset = client()
        .post(format!("{root}/__stats/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(server.stats(), Stats::default());
    get(&server, "/courses").await;
    assert_eq!(server.stats().total, 1);
    server.reset_stats();
    assert_eq!(server.stats().total, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn drop_record_every_leaves_a_record_out_of_a_page_but_not_out_of_its_total() {
    let day = today() - chrono::Duration::days(1);
    let q = format!("/results?start_date={day}&end_date={day}&limit=50");
    let whole = get_json(&start(Faults::default()).await, &q).await;
    let server = start(Faults {
        drop_record_every: Some(1),
        ..Faults::default()
    })
    .await;
    let short = get_json(&server, &q).await;
    let n = whole["results"].as_array().unwrap().len();
    assert!(n > 1);
    assert_eq!(short["results"].as_array().unwrap().len(), n - 1);
    assert_eq!(short["total"], whole["total"]);
    // Racecards pages too.
    let cards = get_json(&server, &format!("/racecards/pro?date={day}")).await;
    assert_eq!(
        cards["racecards"].as_array().unwrap().len() as u64 + 1,
        cards["total"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn the_pre_race_changes_scenario_moves_its_racecard_from_morning_to_noon_on_request() {
    let server = start(Faults {
        pre_race_changes: true,
        ..Faults::default()
    })
    .await;
    let facts = server.data().pre_race_facts().expect("a scenario race");
    let card = |body: serde_json::Value| {
        let runners = body["runners"].as_array().unwrap().clone();
        let runner = |horse: &str| {
            runners
                .iter()
                .find(|r| r["horse_id"] == horse)
                .cloned()
                .unwrap()
        };
        (
            runner(&facts.jockey_change.0)["jockey_id"].clone(),
            runner(&facts.draw_correction.0)["draw"].clone(),
            runner(&facts.new_non_runner.0)["number"].clone(),
            body["going"].clone(),
        )
    };
    let path = format!("/racecards/{}/pro", facts.race_id);
    let (jockey, draw, number, going) = card(get_json(&server, &path).await);
    assert_eq!(jockey, facts.jockey_change.1.as_str());
    assert_eq!(draw, facts.draw_correction.1.to_string().as_str());
    assert_ne!(number, "NR");
    assert_eq!(going, facts.going.0.as_str());

    let root = server.base_url.trim_end_matches("/v1");
    let advanced = client()
        .post(format!("{root}/__scenario/advance"))
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), 200);
    let (jockey, draw, number, going) = card(get_json(&server, &path).await);
    assert_eq!(jockey, facts.jockey_change.2.as_str());
    assert_eq!(draw, facts.draw_correction.2.to_string().as_str());
    assert_eq!(number, "NR");
    assert_eq!(going, facts.going.1.as_str());

    // The result: both non-runners named, the late jockey change shown.
    let result = get_json(&server, &format!("/results/{}", facts.race_id)).await;
    let text = result["non_runners"].as_str().unwrap();
    assert!(
        text.contains(&format!("({})", facts.new_non_runner.1)),
        "{text}"
    );
    assert!(
        text.contains(&format!("({})", facts.late_non_runner.1)),
        "{text}"
    );
    let d = result["runners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["horse_id"] == facts.late_jockey_change.0.as_str())
        .unwrap();
    assert_eq!(d["jockey_id"], facts.late_jockey_change.2.as_str());

    // Without the scenario there is nothing to advance.
    let plain = start(Faults::default()).await;
    let root = plain.base_url.trim_end_matches("/v1");
    let none = client()
        .post(format!("{root}/__scenario/advance"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
    assert!(plain.data().pre_race_facts().is_none());
}

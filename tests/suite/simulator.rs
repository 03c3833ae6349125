//! The Racing API simulator: auth and error shapes, paging, determinism, pedigree profiles,
//! racecard/result agreement and the recorded API shapes; fault injection in [`faults`]; the
//! moving market's stages and the odds endpoint in [`market`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use crate::support::sim::start_simulator;
use chrono::NaiveDate;
use paddock::simulator::{Faults, SimConfig, SimData, SimServer, Stats};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

mod faults;
mod market;

const USER: &str = "sim-user";
const PASS: &str = "sim-pass";
const SEED: u64 = 20_251_015;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 10, 15).unwrap()
}

fn config(faults: Faults) -> SimConfig {
    let mut c = SimConfig::new(SEED, USER, PASS);
    c.today = today();
    c.faults = faults;
    c
}

/// A simulator of this file's seed and day with `faults`.
async fn start(faults: Faults) -> SimServer {
    start_simulator(config(faults)).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn get(server: &SimServer, path_and_query: &str) -> reqwest::Response {
    client()
        .get(format!("{}{}", server.base_url, path_and_query))
        .basic_auth(USER, Some(PASS))
        .send()
        .await
        .expect("request sent")
}

async fn get_json(server: &SimServer, path_and_query: &str) -> serde_json::Value {
    let resp = get(server, path_and_query).await;
    assert_eq!(resp.status(), 200, "GET {path_and_query}");
    resp.json().await.expect("JSON body")
}

async fn get_text(server: &SimServer, path_and_query: &str) -> (u16, String) {
    let resp = get(server, path_and_query).await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A day within the last 30 days with more than 50 results.
fn busy_day(data: &SimData) -> NaiveDate {
    let yesterday = today().pred_opt().unwrap();
    data.find_busy_day(yesterday - chrono::Duration::days(29), yesterday, 51)
        .expect("a busy day in any 30-day window")
}

// ---------------------------------------------------------------------------------------------
// Order-preserving JSON (serde_json::Value sorts keys in this workspace).

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

impl Node {
    fn parse(text: &str) -> Node {
        serde_json::from_str(text).expect("valid JSON")
    }

    fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "boolean",
            Node::Int(_) => "integer",
            Node::Float(_) => "number",
            Node::Str(_) => "string",
            Node::Arr(_) => "array",
            Node::Obj(_) => "object",
        }
    }

    fn shape(&self) -> Vec<(String, String)> {
        match self {
            Node::Obj(kv) => kv
                .iter()
                .map(|(k, v)| (k.clone(), v.type_name().to_string()))
                .collect(),
            other => panic!("not an object: {other:?}"),
        }
    }

    fn get(&self, key: &str) -> &Node {
        match self {
            Node::Obj(kv) => kv
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no key {key}")),
            other => panic!("not an object: {other:?}"),
        }
    }

    fn items(&self) -> &[Node] {
        match self {
            Node::Arr(xs) => xs,
            other => panic!("not an array: {other:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
                Ok(Node::Bool(b))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Node, E> {
                Ok(Node::Int(i))
            }
            fn visit_u64<E>(self, i: u64) -> Result<Node, E> {
                Ok(Node::Int(i as i64))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Node, E> {
                Ok(Node::Float(x))
            }
            fn visit_str<E>(self, s: &str) -> Result<Node, E> {
                Ok(Node::Str(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element()? {
                    out.push(x);
                }
                Ok(Node::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Node>()? {
                    out.push((k, v));
                }
                Ok(Node::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// The recorded description of the live API: object kind → [(key, JSON type)] in order.
fn recorded_shapes() -> BTreeMap<String, Vec<(String, String)>> {
    let text = include_str!("../fixtures/api_shapes.json");
    let v: serde_json::Value = serde_json::from_str(text).expect("fixture is JSON");
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(kind, pairs)| {
            let pairs = pairs
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_string(),
                        p[1].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (kind.clone(), pairs)
        })
        .collect()
}

struct ShapeCheck {
    expected: BTreeMap<String, Vec<(String, String)>>,
    seen: BTreeSet<String>,
}

impl ShapeCheck {
    fn new() -> ShapeCheck {
        ShapeCheck {
            expected: recorded_shapes(),
            seen: BTreeSet::new(),
        }
    }

    fn check(&mut self, kind: &str, node: &Node) {
        let expected = self
            .expected
            .get(kind)
            .unwrap_or_else(|| panic!("fixture has no kind {kind}"));
        assert_eq!(&node.shape(), expected, "shape of {kind}");
        self.seen.insert(kind.to_string());
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn requests_without_valid_credentials_get_401() {
    let server = start(Faults::default()).await;
    let url = format!("{}/courses", server.base_url);

    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("www-authenticate").is_some());
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["detail"], "Not authenticated");

    let resp = client()
        .get(&url)
        .basic_auth(USER, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["detail"].is_string());

    let resp = client()
        .get(&url)
        .basic_auth("someone-else", Some(PASS))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    assert_eq!(get(&server, "/courses").await.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_resources_get_404_and_bad_parameters_get_422() {
    let server = start(Faults::default()).await;
    for path in [
        "/horses",
        "/nope",
        "/results/rac_1",
        "/results/not-a-race",
        "/racecards/rac_123/pro",
        "/horses/hrs_1/pro",
        "/horses/garbage/pro",
    ] {
        let (status, text) = get_text(&server, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(text, r#"{"detail":"Not Found"}"#, "{path}");
    }
    // Unknown paths are 404 even without credentials.
    let resp = client()
        .get(format!("{}/nope", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    for (path, param) in [
        ("/results?limit=51", "limit"),
        ("/results?limit=0", "limit"),
        ("/results?limit=abc", "limit"),
        ("/results?skip=20001", "skip"),
        ("/results?start_date=2025-02-30", "start_date"),
        ("/racecards/pro?date=2024-13-45", "date"),
        ("/racecards/pro?date=20240101", "date"),
        ("/racecards/pro?limit=501", "limit"),
        ("/racecards/pro?skip=501", "skip"),
        ("/racecards/summaries?date=tomorrow", "date"),
    ] {
        let (status, text) = get_text(&server, path).await;
        assert_eq!(status, 422, "{path}");
        let body = Node::parse(&text);
        let item = &body.get("detail").items()[0];
        assert_eq!(
            item.get("loc"),
            &Node::Arr(vec![Node::Str("query".into()), Node::Str(param.into())]),
            "{path}"
        );
        assert_eq!(item.get("msg").type_name(), "string");
        assert_eq!(item.get("type").type_name(), "string");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn results_paging_over_a_busy_day_returns_every_race_once() {
    let server = start(Faults::default()).await;
    let day = busy_day(server.data());
    let expected: BTreeSet<String> = server
        .data()
        .races_on(day)
        .into_iter()
        .filter(|r| r.has_result)
        .map(|r| r.race_id)
        .collect();
    assert!(expected.len() > 50, "busy day has {} races", expected.len());

    let mut seen = Vec::new();
    let mut skip = 0;
    let mut pages = 0;
    loop {
        let page = get_json(
            &server,
            &format!("/results?start_date={day}&end_date={day}&region=gb&region=ire&limit=50&skip={skip}"),
        )
        .await;
        pages += 1;
        assert_eq!(
            page["total"],
            expected.len(),
            "total is stable across pages"
        );
        assert_eq!(page["limit"], 50);
        assert_eq!(page["skip"], skip);
        let results = page["results"].as_array().unwrap();
        if results.is_empty() {
            break;
        }
        for r in results {
            assert_eq!(r["date"], day.to_string());
            seen.push(r["race_id"].as_str().unwrap().to_string());
        }
        skip += results.len();
    }
    assert!(
        pages >= 3,
        "needed at least two full pages plus the empty one"
    );
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no race twice");
    assert_eq!(unique, expected);

    // Newest first: off_dt never increases down the list.
    let all = server.data().results_body(day, day, &[], 50, 0);
    let offs: Vec<&str> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["off_dt"].as_str().unwrap())
        .collect();
    assert!(offs.windows(2).all(|w| w[0] >= w[1]), "{offs:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn results_only_exist_before_today_and_racecards_until_a_week_ahead() {
    let server = start(Faults::default()).await;
    let t = today();
    let page = get_json(&server, &format!("/results?start_date={t}&end_date={t}")).await;
    assert_eq!(page["total"], 0);
    let page = get_json(&server, &format!("/racecards/pro?date={t}")).await;
    assert!(page["total"].as_u64().unwrap() >= 25);
    let week = t + chrono::Duration::days(7);
    let page = get_json(&server, &format!("/racecards/pro?date={week}")).await;
    assert!(page["total"].as_u64().unwrap() >= 25);
    let too_far = t + chrono::Duration::days(8);
    let page = get_json(&server, &format!("/racecards/pro?date={too_far}")).await;
    assert_eq!(page["total"], 0);
    assert_eq!(page["racecards"].as_array().unwrap().len(), 0);
    let page = get_json(&server, "/racecards/pro?date=2023-01-22").await;
    assert_eq!(page["total"], 0);
    // Without a date: today.
    let page = get_json(&server, "/racecards/pro?limit=1").await;
    assert_eq!(page["racecards"][0]["date"], t.to_string());
    // Region filter.
    let page = get_json(
        &server,
        &format!("/racecards/pro?date={t}&region_codes=ire"),
    )
    .await;
    assert!(page["racecards"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["region"] == "IRE"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_same_request_returns_byte_identical_bodies() {
    let server = start(Faults::default()).await;
    let day = busy_day(server.data());
    let paths = [
        format!("/racecards/pro?date={day}&region_codes=gb&region_codes=ire"),
        format!("/results?start_date={day}&end_date={day}&region=gb&region=ire&limit=50&skip=0"),
        format!("/racecards/summaries?date={day}"),
        "/courses?region_codes=gb&region_codes=ire".to_string(),
    ];
    let mut first = Vec::new();
    for p in &paths {
        let (status, text) = get_text(&server, p).await;
        assert_eq!(status, 200, "{p}");
        first.push(text);
    }
    for (p, before) in paths.iter().zip(&first) {
        assert_eq!(&get_text(&server, p).await.1, before, "{p}");
    }
    // A second simulator with the same seed serves the same bytes.
    let other = start(Faults::default()).await;
    for (p, before) in paths.iter().zip(&first) {
        assert_eq!(&get_text(&other, p).await.1, before, "{p}");
    }
    other.shutdown().await;

    // SimData's bodies are what the endpoints return for the canonical query.
    let regions = vec!["gb".to_string(), "ire".to_string()];
    let data = server.data();
    let via_http: serde_json::Value = serde_json::from_str(
        &get_text(
            &server,
            &format!("/racecards/pro?date={day}&region_codes=gb&region_codes=ire&limit=500&skip=0"),
        )
        .await
        .1,
    )
    .unwrap();
    assert_eq!(via_http, data.racecards_body(day, &regions, 500, 0));
    let via_http: serde_json::Value = serde_json::from_str(&first[1]).unwrap();
    assert_eq!(via_http, data.results_body(day, day, &regions, 50, 0));
    let race_id = via_http["results"][0]["race_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        get_json(&server, &format!("/results/{race_id}")).await,
        data.result_body(&race_id).unwrap()
    );
    assert_eq!(
        get_json(&server, &format!("/racecards/{race_id}/pro")).await,
        data.racecard_body(&race_id).unwrap()
    );
    let horse_id = via_http["results"][0]["runners"][0]["horse_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        get_json(&server, &format!("/horses/{horse_id}/pro")).await,
        data.horse_pro_body(&horse_id).unwrap()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn every_horse_sire_dam_and_damsire_in_a_days_racecards_has_a_profile() {
    let server = start(Faults::default()).await;
    let data = server.data();
    let day = today() - chrono::Duration::days(3);
    let page = data.racecards_body(day, &[], 500, 0);
    let mut ids = BTreeSet::new();
    for race in page["racecards"].as_array().unwrap() {
        for r in race["runners"].as_array().unwrap() {
            let horse_id = r["horse_id"].as_str().unwrap();
            let profile = data.horse_pro_body(horse_id).expect("runner profile");
            assert_eq!(
                profile["name"],
                format!(
                    "{} ({})",
                    r["horse"].as_str().unwrap(),
                    r["region"].as_str().unwrap()
                )
            );
            assert_eq!(profile["dob"], r["dob"]);
            assert_eq!(profile["sire_id"], r["sire_id"]);
            assert_eq!(profile["dam_id"], r["dam_id"]);
            assert_eq!(profile["damsire_id"], r["damsire_id"]);
            ids.insert(horse_id.to_string());
            for (key, prefix) in [
                ("sire_id", "sir_"),
                ("dam_id", "dam_"),
                ("damsire_id", "dsi_"),
            ] {
                let id = r[key].as_str().unwrap();
                if id.is_empty() {
                    continue; // `damsire_id` can be "" (unknown), as in the live API
                }
                let digits = id
                    .strip_prefix(prefix)
                    .unwrap_or_else(|| panic!("{key} {id}"));
                let hrs = format!("hrs_{digits}");
                let profile = data
                    .horse_pro_body(&hrs)
                    .unwrap_or_else(|| panic!("no profile for {key} {id}"));
                let name_key = key.trim_end_matches("_id");
                let bare = r[name_key].as_str().unwrap();
                assert!(
                    profile["name"].as_str().unwrap().starts_with(bare),
                    "{key} {id} is named {bare}"
                );
                ids.insert(hrs);
            }
        }
    }
    assert!(ids.len() > 300, "{} ids", ids.len());
    // A sample through HTTP as well.
    for id in ids.iter().step_by(ids.len() / 15) {
        let body = get_json(&server, &format!("/horses/{id}/pro")).await;
        assert_eq!(body["id"], id.as_str());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_races_result_agrees_with_its_racecard() {
    let data = SimData::new(SEED, today());
    let mut non_runners = 0;
    let mut codes = BTreeSet::new();
    for back in 1..=7 {
        let day = today() - chrono::Duration::days(back);
        let cards = data.racecards_body(day, &[], 500, 0);
        let results = data.results_body(day, day, &[], 50, 0);
        let total = results["total"].as_u64().unwrap() as usize;
        let abandoned = cards["racecards"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["is_abandoned"] == true)
            .count();
        assert_eq!(cards["total"].as_u64().unwrap() as usize, total + abandoned);
        let mut all = Vec::new();
        let mut skip = 0;
        while skip < total {
            let page = data.results_body(day, day, &[], 50, skip);
            all.extend(page["results"].as_array().unwrap().clone());
            skip += 50;
        }
        for card in cards["racecards"].as_array().unwrap() {
            let id = card["race_id"].as_str().unwrap();
            let Some(result) = all.iter().find(|r| r["race_id"] == id) else {
                assert_eq!(card["is_abandoned"], true, "{id} has no result");
                continue;
            };
            for key in [
                "course",
                "course_id",
                "date",
                "off_dt",
                "region",
                "race_name",
                "type",
            ] {
                assert_eq!(card[key], result[key], "{id} {key}");
            }
            assert_eq!(card["off_time"], result["off"]);
            let mut ran = BTreeMap::new();
            for r in card["runners"].as_array().unwrap() {
                if r["number"] == "NR" {
                    non_runners += 1;
                    assert!(result["non_runners"]
                        .as_str()
                        .unwrap()
                        .contains(r["horse"].as_str().unwrap()));
                    continue;
                }
                ran.insert(
                    r["horse_id"].as_str().unwrap().to_string(),
                    (
                        r["jockey_id"].clone(),
                        r["trainer_id"].clone(),
                        r["owner_id"].clone(),
                    ),
                );
            }
            let res_runners = result["runners"].as_array().unwrap();
            assert_eq!(res_runners.len(), ran.len(), "{id}");
            assert_eq!(card["field_size"], ran.len().to_string());
            for r in res_runners {
                let ids = ran
                    .get(r["horse_id"].as_str().unwrap())
                    .unwrap_or_else(|| panic!("{id}: result runner not on the card"));
                assert_eq!(
                    ids,
                    &(
                        r["jockey_id"].clone(),
                        r["trainer_id"].clone(),
                        r["owner_id"].clone()
                    )
                );
                codes.insert(r["position"].as_str().unwrap().to_string());
            }
            assert_eq!(res_runners[0]["position"], "1");
        }
    }
    assert!(non_runners > 0, "a week has non-runners");
    assert!(
        codes.contains("PU"),
        "a week has pulled-up horses: {codes:?}"
    );
}

#[test]
fn every_30_day_window_has_a_day_with_more_than_50_races() {
    let data = SimData::new(SEED, today());
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let counts: Vec<usize> = (0..1000)
        .map(|i| data.race_count(start + chrono::Duration::days(i)))
        .collect();
    for w in counts.windows(30) {
        assert!(w.iter().any(|&c| c > 50), "{w:?}");
    }
    let normal = counts.iter().filter(|&&c| (20..=45).contains(&c)).count();
    assert!(normal > 800, "most days are ordinary: {normal}");
    assert!(counts.iter().all(|&c| c <= 75));
}

#[test]
fn a_horse_runs_at_most_once_a_day_and_keeps_its_attributes() {
    let data = SimData::new(SEED, today());
    let mut seen: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for back in 0..5 {
        let day = today() - chrono::Duration::days(back * 9);
        let mut today_ids = BTreeSet::new();
        let cards = data.racecards_body(day, &[], 500, 0);
        for race in cards["racecards"].as_array().unwrap() {
            for r in race["runners"].as_array().unwrap() {
                let id = r["horse_id"].as_str().unwrap().to_string();
                assert!(today_ids.insert(id.clone()), "{id} runs twice on {day}");
                let stable = serde_json::json!([
                    r["horse"],
                    r["dob"],
                    r["colour"],
                    r["region"],
                    r["breeder"],
                    r["sire_id"],
                    r["dam_id"],
                    r["damsire_id"],
                    r["trainer_id"],
                    r["owner_id"]
                ]);
                if let Some(before) = seen.get(&id) {
                    assert_eq!(before, &stable, "{id} changed");
                }
                seen.insert(id, stable);
            }
        }
    }
}

#[tokio::test]
async fn bodies_have_the_recorded_api_shapes() {
    let server = start(Faults::default()).await;
    let mut shapes = ShapeCheck::new();
    let t = today();

    for back in 1..=3 {
        let day = t - chrono::Duration::days(back);
        let (_, text) = get_text(&server, &format!("/racecards/pro?date={day}")).await;
        let page = Node::parse(&text);
        shapes.check("racecards_page", &page);
        for race in page.get("racecards").items() {
            shapes.check("racecard", race);
            for r in race.get("runners").items() {
                shapes.check("racecard_runner", r);
                shapes.check("trainer_14_days", r.get("trainer_14_days"));
                for (list, kind) in [
                    ("prev_trainers", "prev_trainer"),
                    ("prev_owners", "prev_owner"),
                    ("quotes", "quote"),
                    ("stable_tour", "stable_tour"),
                    ("medical", "medical"),
                    ("odds", "odds"),
                ] {
                    for item in r.get(list).items() {
                        shapes.check(kind, item);
                    }
                }
                for flag in r.get("past_results_flags").items() {
                    assert_eq!(flag.type_name(), "string");
                }
            }
        }
        let (_, text) = get_text(
            &server,
            &format!("/results?start_date={day}&end_date={day}&limit=50"),
        )
        .await;
        let page = Node::parse(&text);
        shapes.check("results_page", &page);
        for race in page.get("results").items() {
            shapes.check("result", race);
            for r in race.get("runners").items() {
                shapes.check("result_runner", r);
            }
        }
        let (_, text) = get_text(&server, &format!("/racecards/summaries?date={day}")).await;
        let page = Node::parse(&text);
        shapes.check("summaries_page", &page);
        for s in page.get("racecard_summaries").items() {
            shapes.check("summary", s);
        }
    }

    let races = server.data().races_on(t - chrono::Duration::days(1));
    let horse = &races[0].runner_horse_ids[0];
    let (_, text) = get_text(&server, &format!("/horses/{horse}/pro")).await;
    shapes.check("horse_pro", &Node::parse(&text));
    let (_, text) = get_text(&server, &format!("/odds/{}/{horse}", races[0].race_id)).await;
    let runner_odds = Node::parse(&text);
    shapes.check("runner_odds", &runner_odds);
    for item in runner_odds.get("odds").items() {
        shapes.check("odds", item);
        for entry in item.get("history").items() {
            shapes.check("odds_history", entry);
        }
    }

    let (_, text) = get_text(&server, "/courses?region_codes=gb&region_codes=ire").await;
    let page = Node::parse(&text);
    shapes.check("courses_page", &page);
    for c in page.get("courses").items() {
        shapes.check("course", c);
    }
    let (_, text) = get_text(&server, "/courses/regions").await;
    for r in Node::parse(&text).items() {
        shapes.check("region", r);
    }
    let (_, text) = get_text(&server, "/horses").await;
    shapes.check("error_404", &Node::parse(&text));
    let (_, text) = get_text(&server, "/results?limit=51").await;
    let err = Node::parse(&text);
    shapes.check("error_422", &err);
    shapes.check("error_422_item", &err.get("detail").items()[0]);

    let missing: Vec<&String> = shapes
        .expected
        .keys()
        .filter(|k| !shapes.seen.contains(*k))
        .collect();
    assert!(missing.is_empty(), "kinds never produced: {missing:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn courses_and_regions_list_gb_and_ire() {
    let server = start(Faults::default()).await;
    let page = get_json(&server, "/courses?region_codes=gb&region_codes=ire").await;
    let courses = page["courses"].as_array().unwrap();
    assert_eq!(page["total"], courses.len());
    assert!(courses.len() >= 55);
    assert!(courses
        .iter()
        .all(|c| c["region_code"] == "gb" || c["region_code"] == "ire"));
    let ire = get_json(&server, "/courses?region_codes=ire").await;
    assert!(ire["total"].as_u64().unwrap() >= 15);
    let all = get_json(&server, "/courses").await;
    assert!(all["total"].as_u64().unwrap() > page["total"].as_u64().unwrap());
    let regions = get_json(&server, "/courses/regions").await;
    let codes: Vec<&str> = regions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["region_code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"gb") && codes.contains(&"ire"));
    server.shutdown().await;
}

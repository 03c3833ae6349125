//! Alerts (issue 22) on both backends: three refreshes over the simulator's moving market (with
//! the pre-race changes on the day before) trigger exactly the alerts computed independently
//! from the served racecards, each once; a fourth refresh and a replay of the archive add
//! none; the outbox's delivery to a webhook that fails at first and one that is unreachable
//! (the run commits, its alerts stay unsent, the next run delivers them), each alert seen
//! once, signed with an HMAC the receiver verifies; `paddock alerts --format json`. Delivery
//! past a rejected alert and after a `kill -9`: `outbox.rs`.

use crate::support::bin::paddock;
use crate::support::sim::{client_for, sim_today, simulator};
use crate::support::TestDb;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use chrono::{NaiveDate, NaiveDateTime};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunStatus, RunTrigger};
use hmac::{Hmac, Mac};
use paddock::archive::{Archive, ArchiveTarget};
use paddock::config::Config;
use paddock::run::{self, JobRequest, RunContext};
use paddock::simulator::{Faults, SimServer};
use paddock::store::alert_outbox::{read_alerts, AlertFilter, StoredAlert};
use paddock::store::AnyStore;
use serde_json::Value as J;
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

mod outbox;

/// This subject's simulator seed.
const SEED: u64 = 2201;
/// The webhook's signing secret in these tests.
const SECRET: &str = "whsec-alerts-test-4f1e";

/// The rules of every test: price rules with different windows, and every other kind.
const RULES: &str = r#"
[[alerts.rules]]
name = "steamer"
kind = "price_shortened"
percent = 20
within_minutes = 60

[[alerts.rules]]
name = "drifter"
kind = "price_drifted"
percent = 20
within_minutes = 30

[[alerts.rules]]
name = "slow_drift"
kind = "price_drifted"
percent = 35
within_minutes = 60

[[alerts.rules]]
name = "quick_drift"
kind = "price_drifted"
percent = 35
within_minutes = 10

[[alerts.rules]]
name = "withdrawn"
kind = "non_runner"

[[alerts.rules]]
name = "off"
kind = "abandoned"

[[alerts.rules]]
name = "ground"
kind = "going_changed"

[[alerts.rules]]
name = "rider"
kind = "jockey_changed"
"#;

/// The configuration: [`RULES`], the webhook at `webhook` (if any), the secret in the
/// environment.
fn config(webhook: Option<&str>) -> Config {
    let mut text = RULES.to_string();
    if let Some(url) = webhook {
        text.push_str(&format!("\n[alerts.webhook]\nurl = \"{url}\"\n"));
    }
    let env = BTreeMap::from([(
        "PADDOCK_ALERTS_WEBHOOK_SECRET".to_string(),
        SECRET.to_string(),
    )]);
    Config::from_toml(&text, &env).unwrap()
}

/// The moving market, with the pre-race changes on the day before today.
async fn market() -> SimServer {
    simulator(
        SEED,
        Faults {
            market_moves: true,
            pre_race_changes: true,
            ..Faults::default()
        },
    )
    .await
}

fn days() -> Vec<NaiveDate> {
    vec![sim_today().pred_opt().unwrap(), sim_today()]
}

/// A committed racecards refresh of [`days`] with `config`, on `store` (the rules set).
async fn refresh(config: &Config, store: &AnyStore, api: &paddock::client::RacingApiClient) {
    let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan {
        racecard_dates: days(),
        results: None,
    });
    let context = RunContext::new(RunTrigger::Manual, ApplyMode::Commit);
    let result = run::run_job(config, api, store, &request, &context)
        .await
        .unwrap();
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
}

// ---- what the served racecards say, independently of Paddock ----

/// One served racecards stage: races (going, abandoned), runners (jockey, non-runner), and
/// priced odds items per (race, horse, bookmaker name): (updated, decimal).
#[derive(Default)]
struct Stage {
    races: BTreeMap<String, (String, bool)>,
    runners: BTreeMap<(String, String), (String, bool)>,
    prices: BTreeMap<(String, String, String), (NaiveDateTime, f64)>,
}

fn served(server: &SimServer) -> Stage {
    let mut stage = Stage::default();
    for day in days() {
        let body = server.data().racecards_body(day, &[], 500, 0);
        let cards = body["racecards"].as_array().expect("racecards");
        assert_eq!(body["total"].as_u64(), Some(cards.len() as u64), "one page");
        for race in cards {
            let race_id = race["race_id"].as_str().unwrap().to_string();
            let going = race["going"].as_str().unwrap_or_default().to_string();
            let abandoned = race["is_abandoned"].as_bool().unwrap_or(false);
            stage.races.insert(race_id.clone(), (going, abandoned));
            for runner in race["runners"].as_array().unwrap() {
                let horse = runner["horse_id"].as_str().unwrap().to_string();
                let jockey = runner["jockey_id"].as_str().unwrap_or_default().to_string();
                let non_runner = runner["number"].as_str() == Some("NR");
                let key = (race_id.clone(), horse.clone());
                stage.runners.insert(key, (jockey, non_runner));
                for item in runner["odds"].as_array().unwrap() {
                    let field = |k: &str| item[k].as_str().unwrap_or_default().to_string();
                    if matches!(field("fractional").as_str(), "" | "-") {
                        continue;
                    }
                    let Ok(decimal) = field("decimal").parse::<f64>() else {
                        continue;
                    };
                    let updated =
                        NaiveDateTime::parse_from_str(&field("updated"), "%Y-%m-%d %H:%M:%S")
                            .expect("an updated time");
                    let key = (race_id.clone(), horse.clone(), field("bookmaker"));
                    stage.prices.insert(key, (updated, decimal));
                }
            }
        }
    }
    stage
}

/// An expected alert: (rule, race, horse or "", bookmaker name or "").
type AlertKey = (String, String, String, String);

/// The non-price alerts the step from `before` to `after` triggers under [`RULES`].
fn row_changes(before: &Stage, after: &Stage, out: &mut BTreeSet<AlertKey>) {
    let key = |rule: &str, race: &str, horse: &str| {
        (
            rule.to_string(),
            race.to_string(),
            horse.to_string(),
            String::new(),
        )
    };
    for (race, (going, abandoned)) in &after.races {
        let Some((old_going, was_abandoned)) = before.races.get(race) else {
            continue;
        };
        if !old_going.is_empty() && !going.is_empty() && old_going != going {
            out.insert(key("ground", race, ""));
        }
        if *abandoned && !was_abandoned {
            out.insert(key("off", race, ""));
        }
    }
    for ((race, horse), (jockey, non_runner)) in &after.runners {
        let Some((old_jockey, was_non_runner)) = before.runners.get(&(race.clone(), horse.clone()))
        else {
            continue;
        };
        if !old_jockey.is_empty() && !jockey.is_empty() && old_jockey != jockey {
            out.insert(key("rider", race, horse));
        }
        if *non_runner && !was_non_runner {
            out.insert(key("withdrawn", race, horse));
        }
    }
}

/// A price rule as the issue states it: (name, shortened?, percent, within minutes).
const PRICE_RULES: [(&str, bool, f64, i64); 4] = [
    ("steamer", true, 20.0, 60),
    ("drifter", false, 20.0, 30),
    ("slow_drift", false, 35.0, 60),
    ("quick_drift", false, 35.0, 10),
];

/// The price alerts the served series trigger, with the move (percent) of the first price
/// that fired each: the implied probability 1/decimal against its extreme over the prices of
/// the preceding `within` minutes, the price in effect at the window's start included.
fn price_alerts(stages: &[Stage]) -> BTreeMap<AlertKey, f64> {
    type Series<'s> = BTreeMap<&'s (String, String, String), Vec<(NaiveDateTime, f64)>>;
    let mut series = Series::new();
    for stage in stages {
        for (key, observed) in &stage.prices {
            series.entry(key).or_default().push(*observed);
        }
    }
    let mut out = BTreeMap::new();
    for (key, prices) in series {
        for (rule, shortened, percent, within) in PRICE_RULES {
            for (k, (at, decimal)) in prices.iter().enumerate() {
                let start = *at - chrono::Duration::minutes(within);
                let earlier = &prices[..k];
                let opening = earlier.iter().rposition(|(t, _)| *t <= start);
                let window = earlier
                    .iter()
                    .enumerate()
                    .filter(|(j, (t, _))| *t >= start || Some(*j) == opening)
                    .map(|(_, (_, d))| *d);
                let moved = if shortened {
                    window
                        .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))))
                        .map(|longest| (longest / decimal - 1.0) * 100.0)
                } else {
                    window
                        .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.min(d))))
                        .map(|shortest| (1.0 - shortest / decimal) * 100.0)
                };
                if let Some(moved) = moved.filter(|m| *m >= percent - 1e-9) {
                    let id = (
                        rule.to_string(),
                        key.0.clone(),
                        key.1.clone(),
                        key.2.clone(),
                    );
                    out.entry(id).or_insert(moved);
                    break;
                }
            }
        }
    }
    out
}

/// The stored alerts by [`AlertKey`] (bookmaker ids turned into the names the API serves).
async fn stored(db: &TestDb) -> BTreeMap<AlertKey, StoredAlert> {
    let names: BTreeMap<String, String> = db
        .text_rows("SELECT id, name FROM ra_mst_bookmakers")
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
    let mut out = BTreeMap::new();
    for alert in read_alerts(db, AlertFilter::default()).await.unwrap() {
        let book = (alert.bookmaker_id.as_ref()).map_or(String::new(), |b| names[b].clone());
        let key = (
            alert.rule.clone(),
            alert.race_id.clone(),
            alert.horse_id.clone().unwrap_or_default(),
            book,
        );
        assert!(out.insert(key.clone(), alert).is_none(), "{key:?} twice");
    }
    out
}

backend_test!(
    three_refreshes_trigger_the_alerts_the_served_cards_imply_once_and_a_rerun_and_a_replay_add_none,
    |db| async move {
        let db = db;
        let server = market().await;
        let archive = Archive::start(ArchiveTarget::Database(db.store.clone()));
        let api = client_for(&server).with_hook(archive.clone());
        let config = config(None);
        let store = db.store.clone().with_alert_rules(&config.alerts.rules);
        let mut stages: Vec<Stage> = Vec::new();
        let mut expected_rows = BTreeSet::new();
        for stage in 0..3 {
            if stage > 0 {
                assert_eq!(server.advance_scenario(), Some(stage));
            }
            let now = served(&server);
            if let Some(before) = stages.last() {
                row_changes(before, &now, &mut expected_rows);
            }
            stages.push(now);
            refresh(&config, &store, &api).await;
        }
        let expected_prices = price_alerts(&stages);
        let alerts = stored(&db).await;

        let expected: BTreeSet<AlertKey> = (expected_prices.keys().cloned())
            .chain(expected_rows.iter().cloned())
            .collect();
        let got: BTreeSet<AlertKey> = alerts.keys().cloned().collect();
        assert_eq!(
            got.difference(&expected).collect::<Vec<_>>(),
            Vec::<&AlertKey>::new(),
            "unexpected alerts"
        );
        assert_eq!(
            expected.difference(&got).collect::<Vec<_>>(),
            Vec::<&AlertKey>::new(),
            "missing alerts"
        );
        for (key, moved) in &expected_prices {
            let alert = &alerts[key];
            let actual = alert.actual.expect("a price alert's move");
            assert!((actual - moved).abs() < 1e-6, "{key:?}: {actual} vs {moved}");
            assert!(alert.bookmaker_id.is_some() && alert.threshold.is_some());
        }
        // Every kind the market and the pre-race scenario bring fired, and the windows tell.
        let per_rule = |rule: &str| got.iter().filter(|k| k.0 == rule).count();
        for rule in ["steamer", "drifter", "slow_drift", "withdrawn", "ground", "rider"] {
            assert!(per_rule(rule) > 0, "no {rule} alert: {:?}", per_rule(rule));
        }
        assert!(
            per_rule("slow_drift") > per_rule("quick_drift"),
            "a 10-minute window sees less than an hour"
        );
        assert!(alerts.values().all(|a| !a.sent && a.delivery_attempts == 0));

        // A fourth refresh of the same stage, then a replay of every archived page: nothing new.
        refresh(&config, &store, &api).await;
        let archived = archive.close().await.unwrap();
        assert!(archived > 0);
        let replayed = paddock::replay::replay(
            &store,
            &Default::default(),
            ArchiveTarget::Database(db.store.clone()),
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(replayed.exit_code(), 0, "{:?}", replayed.error);
        let again = stored(&db).await;
        assert_eq!(again.keys().collect::<Vec<_>>(), alerts.keys().collect::<Vec<_>>());
        let ids = |m: &BTreeMap<AlertKey, StoredAlert>| {
            m.values().map(|a| a.alert_id).collect::<BTreeSet<_>>()
        };
        assert_eq!(ids(&again), ids(&alerts));
    }
);

// ---- delivery ----

/// A webhook receiver: answers 500 to the first `failing` requests and to every request for
/// the alert `rejected`, else 200; records every request's headers, body and answer.
#[derive(Clone, Default)]
struct Receiver {
    failing: usize,
    rejected: Option<i64>,
    seen: Arc<Mutex<Vec<(HeaderMap, String, u16)>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let mut seen = receiver.seen.lock().unwrap();
    let alert_id = serde_json::from_str::<J>(&body)
        .ok()
        .and_then(|a| a["alert_id"].as_i64());
    let rejected = receiver.rejected.is_some() && alert_id == receiver.rejected;
    let status = if seen.len() < receiver.failing || rejected {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    seen.push((headers, body, status.as_u16()));
    status
}

/// Starts `receiver` on a free local port; returns its URL.
async fn start_receiver(receiver: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

/// Whether `headers` sign `body` with [`SECRET`] as the issue says, verified here with the
/// `hmac` crate: `X-Paddock-Signature: sha256=<hex HMAC-SHA256(secret, "<ts>.<body>")>`.
fn signed(headers: &HeaderMap, body: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) =
        (header("x-paddock-timestamp"), header("x-paddock-signature"))
    else {
        return false;
    };
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 600);
    fresh && bytes.is_some_and(|b| mac.verify_slice(&b).is_ok())
}

backend_test!(
    an_unreachable_webhook_leaves_the_committed_alerts_unsent_and_the_next_run_delivers_each_once_signed,
    |db| async move {
        let db = db;
        let server = market().await;
        let api = client_for(&server);
        // A port nothing listens on: the run commits, its deliveries fail.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/hook", listener.local_addr().unwrap())
        };
        let unreachable = config(Some(&closed));
        let store = db.store.clone().with_alert_rules(&unreachable.alerts.rules);
        refresh(&unreachable, &store, &api).await;
        server.advance_scenario();
        refresh(&unreachable, &store, &api).await;
        let unsent = AlertFilter {
            unsent: true,
            since: None,
        };
        let waiting = read_alerts(&db, unsent).await.unwrap();
        assert!(!waiting.is_empty());
        // The first alert was tried (1 + 3 retries) and keeps its error; an unreachable
        // receiver stops the pass there, so the others wait untried.
        assert_eq!(waiting[0].delivery_attempts, 4, "{:?}", waiting[0]);
        assert!(waiting[0].last_error.is_some());
        assert!(waiting[1..].iter().all(|a| a.delivery_attempts == 0));

        // The next run, with a receiver that fails the first delivery: every alert arrives
        // once with a 2xx, signed, and is marked sent.
        let receiver = Receiver {
            failing: 1,
            ..Receiver::default()
        };
        let url = start_receiver(receiver.clone()).await;
        let reachable = config(Some(&url));
        refresh(&reachable, &store, &api).await;
        let seen = receiver.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), waiting.len() + 1, "one failed attempt, then each once");
        assert_eq!(seen[0].2, 500);
        let mut delivered = BTreeMap::new();
        for (headers, body, status) in &seen {
            assert!(signed(headers, body), "a bad signature on {body}");
            let alert: J = serde_json::from_str(body).unwrap();
            for key in [
                "alert_id", "rule", "kind", "race_id", "horse_id", "bookmaker_id", "threshold",
                "actual", "triggered_at", "message",
            ] {
                assert!(alert.get(key).is_some(), "{key} missing in {body}");
            }
            if *status == 200 {
                let id = alert["alert_id"].as_i64().unwrap();
                assert!(delivered.insert(id, alert).is_none(), "alert {id} twice");
            }
        }
        let ids: Vec<i64> = waiting.iter().map(|a| a.alert_id).collect();
        assert_eq!(delivered.keys().copied().collect::<Vec<_>>(), ids);
        let all = read_alerts(&db, AlertFilter::default()).await.unwrap();
        assert!(all.iter().all(|a| a.sent && a.sent_at.is_some()), "{all:?}");
        assert_eq!(all[0].delivery_attempts, 6);
        assert!(all[0].last_error.is_none());
        assert!(read_alerts(&db, unsent).await.unwrap().is_empty());
        // Price alerts name their bookmaker; the others have none.
        for alert in delivered.values() {
            let price = alert["kind"].as_str().unwrap().starts_with("price_");
            assert_eq!(alert["bookmaker_id"].is_null(), !price, "{alert}");
        }

        // Delivered alerts are not sent again.
        refresh(&reachable, &store, &api).await;
        assert_eq!(receiver.seen.lock().unwrap().len(), seen.len());

        // `paddock alerts --format json`: the same alerts, one JSON array.
        let out = paddock()
            .args(["alerts", "--format", "json", "--database-url", &db.url()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listed: Vec<J> = serde_json::from_slice(&out.stdout).unwrap();
        let listed_ids: Vec<i64> = listed.iter().map(|a| a["alert_id"].as_i64().unwrap()).collect();
        assert_eq!(listed_ids, ids);
        assert!(listed.iter().all(|a| a["sent"] == J::Bool(true)));
        let out = paddock()
            .args(["alerts", "--unsent", "--format", "json", "--database-url", &db.url()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(serde_json::from_slice::<Vec<J>>(&out.stdout).unwrap(), Vec::<J>::new());
    }
);

// ---- a race abandoned (hand-made units: the moving market abandons none yet) ----

fn race(id: &str, abandoned: Option<bool>) -> Vec<fetchers::rows::Row> {
    use fetchers::registry::Source;
    use fetchers::rows::Row;
    let mut race = Row::new("ra_mst_races", Source::Racecard)
        .set("id", id)
        .set("course_id", "crs_1")
        .set("race_date", NaiveDate::from_ymd_opt(2024, 5, 1).unwrap())
        .set("race_name", format!("Race {id}"));
    if let Some(flag) = abandoned {
        race = race.set("is_abandoned", flag);
    }
    vec![
        Row::new("ra_mst_courses", Source::Racecard)
            .set("id", "crs_1")
            .set("name", "Course 1"),
        race,
    ]
}

backend_test!(
    a_race_that_becomes_abandoned_alerts_once_and_one_first_seen_abandoned_does_not,
    |db| async move {
        use fetchers::rows::UnitOfWork;
        use fetchers::store::Store;
        let config = config(None);
        let store = db.store.clone().with_alert_rules(&config.alerts.rules);
        let run = store
            .start_run("test", RunTrigger::Manual, serde_json::json!({}))
            .await
            .unwrap();
        let apply = |rows: Vec<fetchers::rows::Row>| {
            let store = store.clone();
            async move {
                let unit = UnitOfWork {
                    rows,
                    ..UnitOfWork::default()
                };
                store.apply(run, &unit, ApplyMode::Commit).await.unwrap()
            }
        };
        apply([race("rac_1", Some(false)), race("rac_2", Some(true))].concat()).await;
        assert!(stored(&db).await.is_empty(), "nothing changed yet");
        let counts = apply([race("rac_1", Some(true)), race("rac_2", Some(true))].concat()).await;
        assert_eq!(counts.table("paddock_alerts").inserted, 1);
        let alerts = stored(&db).await;
        let key = (
            "off".to_string(),
            "rac_1".to_string(),
            String::new(),
            String::new(),
        );
        assert_eq!(alerts.keys().collect::<Vec<_>>(), vec![&key]);
        let alert = &alerts[&key];
        assert_eq!(
            (alert.kind.as_str(), alert.threshold, alert.actual),
            ("abandoned", None, None)
        );
        // Abandoned again after a flip back: the same event, no second alert.
        apply(race("rac_1", Some(false))).await;
        apply(race("rac_1", Some(true))).await;
        assert_eq!(stored(&db).await.len(), 1);
    }
);

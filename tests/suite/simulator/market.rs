//! The moving market's stages (fault flag `market_moves`): stage 0 is the generated day byte
//! for byte, a runner is withdrawn from stage 1 and a race abandoned from stage 2 (racecards
//! only; results unchanged), and the odds endpoint serves the history its racecards showed.

use super::*;
use paddock::simulator::{ABANDONED_STAGE, NON_RUNNER_STAGE};
use serde_json::Value;

fn market() -> Faults {
    Faults {
        market_moves: true,
        ..Faults::default()
    }
}

/// The racecard of `race_id` in a racecards page.
fn card<'a>(page: &'a Value, race_id: &str) -> &'a Value {
    page["racecards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["race_id"] == race_id)
        .unwrap_or_else(|| panic!("{race_id} on the card"))
}

fn runner<'a>(race: &'a Value, horse_id: &str) -> &'a Value {
    race["runners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["horse_id"] == horse_id)
        .unwrap_or_else(|| panic!("{horse_id} in the race"))
}

/// Every runner's each-way terms in a race: `(ew_places, ew_denom)` of its first odds item.
fn each_way(race: &Value) -> Vec<(Value, Value)> {
    race["runners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["odds"][0]["ew_places"].clone(),
                r["odds"][0]["ew_denom"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_market_withdraws_a_runner_at_stage_one_and_abandons_a_race_at_stage_two_on_racecards_only(
) {
    let still = start(Faults::default()).await;
    let moving = start(market()).await;
    let day = today() - chrono::Duration::days(1);
    let cards = format!("/racecards/pro?date={day}");
    let results = format!("/results?start_date={day}&end_date={day}&limit=50");
    // Stage 0: the generated day, byte for byte.
    assert_eq!(
        get_text(&still, &cards).await,
        get_text(&moving, &cards).await
    );
    let casualties = moving
        .data()
        .market_casualties(day)
        .expect("a racecard day");
    let (nr_race, nr_horse) = casualties.non_runner.clone().expect("a non-runner");
    let abandoned = casualties
        .abandoned_race_id
        .clone()
        .expect("an abandoned race");
    assert_ne!(nr_race, abandoned);
    let before = get_json(&moving, &cards).await;
    assert_ne!(runner(card(&before, &nr_race), &nr_horse)["number"], "NR");
    assert_eq!(card(&before, &abandoned)["is_abandoned"], false);

    assert_eq!(moving.advance_scenario(), Some(NON_RUNNER_STAGE));
    let one = get_json(&moving, &cards).await;
    let withdrawn = runner(card(&one, &nr_race), &nr_horse);
    assert_eq!(withdrawn["number"], "NR");
    assert!(withdrawn["odds"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["fractional"] == "-"));
    // The race's each-way terms stay those of the declared field.
    assert_eq!(
        each_way(card(&one, &nr_race)),
        each_way(card(&before, &nr_race))
    );
    assert_eq!(card(&one, &abandoned)["is_abandoned"], false);

    assert_eq!(moving.advance_scenario(), Some(ABANDONED_STAGE));
    let two = get_json(&moving, &cards).await;
    assert_eq!(card(&two, &abandoned)["is_abandoned"], true);
    assert_eq!(runner(card(&two, &nr_race), &nr_horse)["number"], "NR");
    // Results are the generated races at every stage.
    assert_eq!(
        get_text(&still, &results).await,
        get_text(&moving, &results).await
    );
    still.shutdown().await;
    moving.shutdown().await;
}

/// `(bookmaker, changed_at, fractional, decimal)` of every history entry of an odds body.
fn history(body: &Value) -> Vec<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap().to_string();
    let mut out = Vec::new();
    for item in body["odds"].as_array().unwrap() {
        for h in item["history"].as_array().unwrap() {
            out.push((
                s(&item["bookmaker"]),
                s(&h["changed_at"]),
                s(&h["fractional"]),
                s(&h["decimal"]),
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn the_odds_endpoint_serves_each_price_the_racecards_showed_from_the_stage_it_first_showed() {
    let server = start(market()).await;
    let day = today();
    let cards = format!("/racecards/pro?date={day}");
    let mut pages = vec![get_json(&server, &cards).await];
    for _ in 0..3 {
        server.advance_scenario();
        pages.push(get_json(&server, &cards).await);
    }
    let race = &pages[0]["racecards"][0];
    let race_id = race["race_id"].as_str().unwrap();
    let mut moved = 0;
    for r in race["runners"].as_array().unwrap() {
        let horse_id = r["horse_id"].as_str().unwrap();
        // What the racecards showed, stage by stage: an entry where a price first showed.
        let mut expected = Vec::new();
        let mut last: BTreeMap<String, (String, String)> = BTreeMap::new();
        for page in &pages {
            for o in runner(card(page, race_id), horse_id)["odds"]
                .as_array()
                .unwrap()
            {
                let s = |k: &str| o[k].as_str().unwrap().to_string();
                let price = (s("fractional"), s("decimal"));
                if price.0 != "-" && last.get(&s("bookmaker")) != Some(&price) {
                    expected.push((
                        s("bookmaker"),
                        s("updated"),
                        price.0.clone(),
                        price.1.clone(),
                    ));
                    last.insert(s("bookmaker"), price);
                }
            }
        }
        expected.sort();
        let body = get_json(&server, &format!("/odds/{race_id}/{horse_id}")).await;
        assert_eq!(body["race_id"], race_id);
        assert_eq!(body["horse_id"], horse_id);
        let served = history(&body);
        moved += served.len() - body["odds"].as_array().unwrap().len();
        assert_eq!(served, expected, "{horse_id}");
        // The current prices are the last stage's racecard items.
        let now = runner(card(pages.last().unwrap(), race_id), horse_id);
        for (item, card_item) in body["odds"]
            .as_array()
            .unwrap()
            .iter()
            .zip(now["odds"].as_array().unwrap())
        {
            for k in [
                "bookmaker",
                "fractional",
                "decimal",
                "ew_places",
                "ew_denom",
                "updated",
            ] {
                assert_eq!(item[k], card_item[k], "{horse_id} {k}");
            }
        }
    }
    assert!(moved > 0, "some price moved");
    // A horse not in the race, or a race without racecards, is 404.
    let (status, _) = get_text(&server, &format!("/odds/{race_id}/hrs_999999999")).await;
    assert_eq!(status, 404);
    let (status, _) = get_text(&server, "/odds/rac_1/hrs_1").await;
    assert_eq!(status, 404);
    server.shutdown().await;
}

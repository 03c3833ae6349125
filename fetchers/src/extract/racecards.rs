//! Racecards (`/racecards/pro`, `/racecards/{race_id}/pro`): races, runners and everything they
//! reference, with [`Source::Racecard`]; the odds snapshots and the bookmakers named in them
//! with [`Source::Odds`].

use super::odds::OddsContext;
use super::{
    course_and_region, each_record, id, pedigree_stub, person, raw, record_reject, reject,
    runner_key, text, Problems, PEDIGREE,
};
use crate::api::models::{Page, RacecardRace, RacecardRunner};
use crate::api::parse::{self, Currency};
use crate::registry::{names, Source};
use crate::rows::{Reject, Row, UnitOfWork};

const SRC: Source = Source::Racecard;

/// Every race of a racecards page (or of a single racecard parsed as a one-record page).
pub fn extract_racecards(page: &Page<RacecardRace>, endpoint_path: &str) -> UnitOfWork {
    each_record(page, endpoint_path, names::RACES, |race| {
        extract_racecard(race, endpoint_path)
    })
}

/// One racecard race: its region, course and race rows, then each runner with its entities
/// and odds. A race that cannot land is one reject (its runners come with its payload).
pub fn extract_racecard(race: &RacecardRace, endpoint_path: &str) -> UnitOfWork {
    let mut unit = UnitOfWork::default();
    let race_reject = |reason: String| {
        reject(
            endpoint_path,
            "race",
            id(&race.race_id),
            reason,
            &race.raw,
            names::RACES,
        )
    };
    let Some(race_id) = id(&race.race_id) else {
        unit.rejects
            .push(race_reject("race_id: missing (a race needs its id)".into()));
        return unit;
    };

    let mut p = Problems::default();
    let region = parse::region_code(raw(&race.region));
    let off_dt = p.take("off_dt", parse::instant(raw(&race.off_dt)));
    let race_date = p
        .take("date", parse::date(raw(&race.date)))
        .or_else(|| local_date_of(raw(&race.off_dt)));
    let race_date = p.require("date", race_date, "a race needs its date");
    let course_id = p.require("course_id", id(&race.course_id), "a race needs its course");
    let course_name = p.require("course", text(&race.course), "the course row needs a name");
    let currency = Currency::for_region(raw(&race.region));
    let prize = p.take("prize", parse::money(raw(&race.prize), currency));
    let field_size = p.take("field_size", parse::int(raw(&race.field_size)));
    let furlongs = p.take("distance_f", parse::furlongs(raw(&race.distance_f)));
    if let Some(reason) = p.reason() {
        unit.rejects.push(race_reject(reason));
        return unit;
    }
    // The distance text is stored as is; its yards are a bonus.
    let yards = parse::distance_yards(raw(&race.distance)).ok().flatten();

    let course_id = course_id.unwrap_or_default();
    course_and_region(&mut unit, SRC, &course_id, course_name, &region);
    unit.push(
        Row::new(names::RACES, SRC)
            .set("id", race_id.as_str())
            .set("course_id", course_id.as_str())
            .set("race_date", race_date)
            .set("off_dt", off_dt)
            .set("off_time_raw", text(&race.off_time))
            .set("race_name", text(&race.race_name))
            .set("region_code", region)
            .set("race_class", text(&race.race_class))
            .set("race_type", text(&race.race_type))
            .set("pattern", text(&race.pattern))
            .set("age_band", text(&race.age_band))
            .set("rating_band", text(&race.rating_band))
            .set("sex_restriction", text(&race.sex_restriction))
            .set("distance_raw", text(&race.distance))
            .set("distance_round", text(&race.distance_round))
            .set("distance_yards", yards)
            .set("distance_furlongs", furlongs)
            .set("going", text(&race.going))
            .set("going_detailed", text(&race.going_detailed))
            .set("surface", text(&race.surface))
            .set("jumps", text(&race.jumps))
            .set("field_size", field_size)
            .set("prize_amount", prize.map(|m| m.amount))
            .set("prize_currency", prize.map(|m| m.currency.code()))
            .set("big_race", race.big_race)
            .set("is_abandoned", race.is_abandoned)
            .set("rail_movements", text(&race.rail_movements))
            .set("stalls", text(&race.stalls))
            .set("weather", text(&race.weather))
            .set("tip", text(&race.tip))
            .set("verdict", text(&race.verdict))
            .set("betting_forecast", text(&race.betting_forecast)),
    );

    for runner in &race.runners {
        match runner {
            Ok(r) => match runner_rows(r, &race_id, endpoint_path) {
                Ok((rows, rejects)) => {
                    unit.rows.extend(rows);
                    unit.rejects.extend(rejects);
                }
                Err(reason) => unit.rejects.push(reject(
                    endpoint_path,
                    "runner",
                    Some(runner_key(&race_id, id(&r.horse_id).as_deref())),
                    reason,
                    &r.raw,
                    names::RUNNERS,
                )),
            },
            Err(e) => {
                let mut rej = record_reject(e, endpoint_path, names::RUNNERS);
                rej.key = Some(runner_key(&race_id, e.key.as_deref()));
                unit.rejects.push(rej);
            }
        }
    }
    unit
}

/// The local calendar date an ISO date-time names (`2031-05-02T14:10:00+01:00` → 2031-05-02).
fn local_date_of(off_dt: &str) -> Option<chrono::NaiveDate> {
    off_dt.get(..10).and_then(|d| parse::date(d).ok().flatten())
}

/// A racecard runner's values that reject the runner when they do not read.
struct RunnerValues {
    horse_id: String,
    horse_name: String,
    number: parse::RunnerNumber,
    draw: Option<i64>,
    age: Option<i64>,
    weight: Option<i64>,
    ofr: Option<i64>,
    rpr: Option<i64>,
    ts: Option<i64>,
    rtf: Option<i64>,
    dob: Option<chrono::NaiveDate>,
}

impl RunnerValues {
    /// Reads them all; every problem found is in the reason.
    fn read(r: &RacecardRunner) -> Result<RunnerValues, String> {
        let mut p = Problems::default();
        let horse_id = p.require("horse_id", id(&r.horse_id), "a runner needs its horse");
        let horse_name = p.require("horse", text(&r.horse), "the horse row needs a name");
        let number = match parse::number(raw(&r.number)) {
            Ok(n) => n,
            Err(e) => {
                p.0.push(format!("number: {e}"));
                parse::RunnerNumber {
                    number: None,
                    non_runner: false,
                }
            }
        };
        let draw = p.take("draw", parse::draw(raw(&r.draw)));
        let age = p.take("age", parse::int(raw(&r.age)));
        let weight = p.take("lbs", parse::lbs(raw(&r.lbs)));
        let ofr = p.take("ofr", parse::int(raw(&r.ofr)));
        let rpr = p.take("rpr", parse::int(raw(&r.rpr)));
        let ts = p.take("ts", parse::int(raw(&r.ts)));
        let rtf = p.take("trainer_rtf", parse::int(raw(&r.trainer_rtf)));
        let dob = p.take("dob", parse::date(raw(&r.dob)));
        if let Some(reason) = p.reason() {
            return Err(reason);
        }
        Ok(RunnerValues {
            horse_id: horse_id.unwrap_or_default(),
            horse_name: horse_name.unwrap_or_default(),
            number,
            draw,
            age,
            weight,
            ofr,
            rpr,
            ts,
            rtf,
            dob,
        })
    }
}

/// One runner's rows (entities first), plus rejects for odds items that could not land; or why
/// the runner cannot land at all.
fn runner_rows(
    r: &RacecardRunner,
    race_id: &str,
    endpoint_path: &str,
) -> Result<(Vec<Row>, Vec<Reject>), String> {
    let RunnerValues {
        horse_id,
        horse_name,
        number,
        draw,
        age,
        weight,
        ofr,
        rpr,
        ts,
        rtf,
        dob,
    } = RunnerValues::read(r)?;
    let (bare_name, suffix) = parse::split_country(&horse_name);
    let last_run_days = parse::last_run(raw(&r.last_run)).ok().flatten();
    let sex_code = text(&r.sex_code).or_else(|| parse::sex_code(raw(&r.sex)).map(str::to_string));

    let mut rows = Vec::new();
    rows.push(
        Row::new(names::HORSES, SRC)
            .set("id", horse_id.as_str())
            .set("name", bare_name)
            .set("dob", dob)
            .set("sex", text(&r.sex))
            .set("sex_code", sex_code)
            .set("colour", text(&r.colour))
            .set("region", text(&r.region).or(suffix.map(str::to_string)))
            .set("breeder", text(&r.breeder)),
    );
    let jockey_id = id(&r.jockey_id);
    if let Some(j) = &jockey_id {
        let (name, _claim) = parse::jockey_name(raw(&r.jockey));
        rows.push(person(names::JOCKEYS, SRC, j, name.map(str::to_string)));
    }
    let trainer_id = id(&r.trainer_id);
    if let Some(t) = &trainer_id {
        rows.push(
            person(names::TRAINERS, SRC, t, text(&r.trainer))
                .set("location", text(&r.trainer_location)),
        );
    }
    let owner_id = id(&r.owner_id);
    if let Some(o) = &owner_id {
        rows.push(person(names::OWNERS, SRC, o, text(&r.owner)));
    }
    let pedigree = [
        (id(&r.sire_id), &r.sire, text(&r.sire_region)),
        (id(&r.dam_id), &r.dam, text(&r.dam_region)),
        (id(&r.damsire_id), &r.damsire, text(&r.damsire_region)),
    ];
    let mut pedigree_row = Row::new(names::HORSE_PEDIGREE, SRC).set("horse_id", horse_id.as_str());
    let mut runner = Row::new(names::RUNNERS, SRC)
        .set("race_id", race_id)
        .set("horse_id", horse_id.as_str());
    for ((table, id_col, region_col), (pid, name, region)) in PEDIGREE.into_iter().zip(pedigree) {
        if let Some(pid) = &pid {
            rows.push(pedigree_stub(table, SRC, pid, name, region.clone()));
        }
        pedigree_row = pedigree_row
            .set(id_col, pid.clone())
            .set(region_col, region);
        runner = runner.set(id_col, pid);
    }
    rows.push(pedigree_row);

    let runner = runner
        .set("jockey_id", jockey_id)
        .set("trainer_id", trainer_id)
        .set("owner_id", owner_id)
        .set("number", number.number)
        .set("is_non_runner", number.non_runner)
        .set("draw", draw)
        .set("age", age)
        .set("weight_lbs", weight)
        .set("headgear", text(&r.headgear))
        .set("headgear_run", text(&r.headgear_run))
        .set("wind_surgery", text(&r.wind_surgery))
        .set("wind_surgery_run", text(&r.wind_surgery_run))
        .set("official_rating", ofr)
        .set("racecard_rpr", rpr)
        .set("racecard_ts", ts)
        .set("form", text(&r.form))
        .set("last_run_days", last_run_days)
        .set("last_run_raw", text(&r.last_run))
        .set("racecard_comment", text(&r.comment))
        .set("spotlight", text(&r.spotlight))
        .set("silk_url", text(&r.silk_url))
        .set("trainer_rtf", rtf)
        .set("trainer_14_days", r.trainer_14_days.clone())
        .set("prev_trainers", r.prev_trainers.clone())
        .set("prev_owners", r.prev_owners.clone())
        .set("quotes", r.quotes.clone())
        .set("stable_tour", r.stable_tour.clone())
        .set("medical", r.medical.clone())
        .set("past_results_flags", r.past_results_flags.clone());
    rows.push(runner);

    let mut rejects = Vec::new();
    let ctx = OddsContext {
        race_id,
        horse_id: &horse_id,
        endpoint_path,
    };
    for item in &r.odds {
        ctx.item(item, None, &mut rows, &mut rejects);
    }
    Ok((rows, rejects))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::models::parse_racecards_page;
    use crate::extract::testkit::{assert_sound, find, rows_of};
    use crate::rows::Value;
    use serde_json::{json, Value as Json};

    /// Merges JSON objects (one `json!` literal per part keeps the macro's recursion shallow).
    fn merge(parts: Vec<Json>) -> Json {
        let mut out = serde_json::Map::new();
        for part in parts {
            if let Json::Object(m) = part {
                out.extend(m);
            }
        }
        Json::Object(out)
    }

    fn runner(horse_id: &str, horse: &str, number: &str) -> Json {
        let entities = json!({
            "horse_id": horse_id, "horse": horse, "dob": "2026-04-02", "age": "5",
            "sex": "gelding", "sex_code": "G", "colour": "b", "region": "IRE",
            "breeder": "Hollin Stud", "dam": "Mistle Thrush", "dam_id": "dam_501",
            "dam_region": "GB", "sire": "Harrow Lane", "sire_id": "sir_601",
            "sire_region": "FR", "damsire": "Old Quarry", "damsire_id": "",
            "damsire_region": "", "trainer": "Nell Ashdown", "trainer_id": "trn_71",
            "trainer_location": "Hollowmere, Wilts", "owner": "The Ferrymen",
            "owner_id": "own_81", "jockey": "Ada Pike(5)", "jockey_id": "jky_91",
        });
        let card = json!({
            "trainer_14_days":
            {"runs": "4", "wins": "1", "percent": "25"}, "prev_trainers": [], "prev_owners": [],
            "comment": "Steady sort", "spotlight": "Should go well", "quotes": [],
            "stable_tour": [], "medical": [{"date": "2030-02-01", "type": "Wind Surgery"}],
            "number": number, "draw": "0", "headgear": "t", "headgear_run": "",
            "wind_surgery": "", "wind_surgery_run": "", "past_results_flags": ["C"],
            "lbs": "147", "ofr": "-", "rpr": "112", "ts": "-",
            "silk_url": "https://silks.invalid/1.svg",
            "last_run": "143 (21F)", "form": "21-3", "trainer_rtf": "40",
        });
        let odds = json!({
            "odds": [
                {"bookmaker": "Fenwick Bet", "fractional": "11/4", "decimal": "3.75",
                 "ew_places": "3", "ew_denom": "5", "updated": "2031-06-02 14:10:00",
                 "history": [{"fractional": "5/2", "decimal": "3.5",
                              "updated": "2031-06-02 09:00:00"}]},
                {"bookmaker": "Quayside Sports", "fractional": "-", "decimal": "-",
                 "ew_places": "", "ew_denom": "", "updated": "2031-06-02 14:10:00",
                 "history": []}
            ]
        });
        merge(vec![entities, card, odds])
    }

    fn race(race_id: &str, region: &str, prize: &str, runners: Vec<Json>) -> Json {
        json!({
            "race_id": race_id, "course": "Marlow Heath", "course_id": "crs_11",
            "date": "2031-06-02", "off_time": "7:45", "off_dt": "2031-06-02T19:45:00+01:00",
            "race_name": "Kingfisher Novices' Hurdle", "distance_round": "2m",
            "distance": "2m41y", "distance_f": "12.0", "region": region, "pattern": "",
            "sex_restriction": "", "race_class": "Class 4", "type": "Hurdle",
            "age_band": "4yo+", "rating_band": "", "prize": prize, "field_size": "3",
            "going_detailed": "", "rail_movements": "", "stalls": "", "weather": "",
            "going": "Good", "surface": "Turf", "jumps": "8 hurdles", "big_race": false,
            "is_abandoned": false, "tip": "Quillwort", "verdict": "Quillwort to score",
            "betting_forecast": "11/4 Quillwort", "runners": runners
        })
    }

    fn page(races: Vec<Json>) -> Page<RacecardRace> {
        let body = json!({"racecards": races, "total": races.len(), "limit": 500, "skip": 0,
                          "query": [["date", "2031-06-02"]]});
        parse_racecards_page(&body.to_string()).unwrap()
    }

    fn broken_page() -> Page<RacecardRace> {
        let mut no_horse = runner("", "Nameless", "2");
        no_horse.as_object_mut().unwrap().remove("horse_id");
        let mut bad_lbs = runner("hrs_3", "Brackenfell", "3");
        bad_lbs["lbs"] = json!("abc");
        let mut nr = runner("hrs_4", "Stillwater", "NR");
        nr["jockey"] = json!("NON-RUNNER");
        page(vec![race(
            "rac_1",
            "GB",
            "£5,327",
            vec![runner("hrs_1", "Quillwort", "1"), no_horse, bad_lbs, nr],
        )])
    }

    #[test]
    fn a_broken_runner_is_rejected_and_the_rest_of_the_page_lands() {
        let unit = extract_racecards(&broken_page(), "/racecards/pro?date=2031-06-02");
        let runners = rows_of(&unit, "ra_runners");
        assert_eq!(runners.len(), 2, "the good runner and the non-runner land");
        assert_eq!(unit.rejects.len(), 2);
        let no_horse = &unit.rejects[0];
        assert_eq!(no_horse.entity, "runner");
        assert_eq!(no_horse.table, "ra_runners");
        assert_eq!(no_horse.key.as_deref(), Some("rac_1"));
        assert!(no_horse.reason.contains("horse_id"), "{}", no_horse.reason);
        assert!(no_horse.payload.as_deref().unwrap().contains("Nameless"));
        assert_eq!(no_horse.endpoint, "/racecards/pro?date=2031-06-02");
        let bad_lbs = &unit.rejects[1];
        assert_eq!(bad_lbs.key.as_deref(), Some("rac_1/hrs_3"));
        assert!(bad_lbs.reason.starts_with("lbs:"), "{}", bad_lbs.reason);
        // Nothing of a rejected runner lands: no horse row, no odds.
        assert!(find(&unit, "ra_mst_horses", &["hrs_3"]).is_none());
        assert!(rows_of(&unit, "ra_runner_odds")
            .iter()
            .all(|r| r.values["horse_id"] != Value::from("hrs_3")));
    }

    #[test]
    fn every_row_from_a_racecards_page_validates_and_every_reference_resolves() {
        let unit = extract_racecards(&broken_page(), "/racecards/pro");
        assert_sound(&unit);
    }

    #[test]
    fn non_runner_is_flagged_without_a_number_or_jockey_name() {
        let unit = extract_racecards(&broken_page(), "/racecards/pro");
        let nr = find(&unit, "ra_runners", &["rac_1", "hrs_4"]).unwrap();
        assert_eq!(nr.values["is_non_runner"], Value::Boolean(true));
        assert_eq!(nr.values["number"], Value::Null);
        let runner = find(&unit, "ra_runners", &["rac_1", "hrs_1"]).unwrap();
        assert_eq!(runner.values["is_non_runner"], Value::Boolean(false));
        assert_eq!(runner.values["number"], Value::Integer(1));
        // Both runners ride with jky_91; the non-runner's stub has no name, the other's does.
        let jockeys = rows_of(&unit, "ra_mst_jockeys");
        assert!(jockeys
            .iter()
            .any(|j| j.values["name"] == Value::from("Ada Pike")));
        assert!(jockeys.iter().any(|j| j.values["name"] == Value::Null));
    }

    #[test]
    fn racecard_runner_values_are_typed() {
        let unit = extract_racecards(&broken_page(), "/racecards/pro");
        let r = find(&unit, "ra_runners", &["rac_1", "hrs_1"]).unwrap();
        assert_eq!(r.values["draw"], Value::Null, "draw 0 is no draw");
        assert_eq!(r.values["weight_lbs"], Value::Integer(147));
        assert_eq!(r.values["official_rating"], Value::Null, "'-' is missing");
        assert_eq!(r.values["racecard_rpr"], Value::Integer(112));
        assert_eq!(r.values["last_run_days"], Value::Integer(143));
        assert_eq!(r.values["last_run_raw"], Value::from("143 (21F)"));
        assert_eq!(
            r.values["damsire_id"],
            Value::Null,
            "empty damsire_id: no damsire"
        );
        assert_eq!(r.values["sire_id"], Value::from("sir_601"));
        assert_eq!(r.values["trainer_rtf"], Value::Integer(40));
        assert!(matches!(r.values["medical"], Value::Json(_)));
        let horse = find(&unit, "ra_mst_horses", &["hrs_1"]).unwrap();
        assert_eq!(horse.values["name"], Value::from("Quillwort"));
        assert_eq!(horse.values["sex"], Value::from("gelding"));
        assert_eq!(horse.values["sex_code"], Value::from("G"));
        let sire = find(&unit, "ra_mst_sires", &["sir_601"]).unwrap();
        assert_eq!(sire.values["region"], Value::from("FR"));
        assert!(
            !sire.values.contains_key("horse_id"),
            "the link is derived elsewhere"
        );
        let trainer = find(&unit, "ra_mst_trainers", &["trn_71"]).unwrap();
        assert_eq!(trainer.values["location"], Value::from("Hollowmere, Wilts"));
        let ped = find(&unit, "ra_horse_pedigree", &["hrs_1"]).unwrap();
        assert_eq!(ped.values["dam_region"], Value::from("GB"));
    }

    #[test]
    fn race_start_comes_from_off_dt_and_the_twelve_hour_time_stays_raw() {
        let unit = extract_racecards(&broken_page(), "/racecards/pro");
        let race = find(&unit, "ra_mst_races", &["rac_1"]).unwrap();
        assert_eq!(
            race.values["off_dt"].key_text(),
            "2031-06-02T18:45:00.000000Z"
        );
        assert_eq!(race.values["off_time_raw"], Value::from("7:45"));
        assert_eq!(race.values["region_code"], Value::from("gb"));
        assert_eq!(race.values["distance_yards"], Value::Integer(3561));
        assert_eq!(race.values["distance_furlongs"], Value::Decimal(12.0));
        assert_eq!(
            race.values["prize_amount"],
            Value::Money("5327".parse().unwrap())
        );
        assert_eq!(race.values["prize_currency"], Value::from("GBP"));
        assert_eq!(race.values["field_size"], Value::Integer(3));
        assert!(find(&unit, "ra_regions", &["gb"]).is_some());
        let course = find(&unit, "ra_mst_courses", &["crs_11"]).unwrap();
        assert_eq!(course.values["region_code"], Value::from("gb"));
    }

    #[test]
    fn irish_racecard_prize_is_in_euros() {
        let unit = extract_racecards(
            &page(vec![
                race("rac_8", "IRE", "€25,000", vec![]),
                race("rac_9", "IRE", "12000", vec![]),
            ]),
            "/racecards/pro",
        );
        for id in ["rac_8", "rac_9"] {
            let race = find(&unit, "ra_mst_races", &[id]).unwrap();
            assert_eq!(race.values["prize_currency"], Value::from("EUR"), "{id}");
        }
        let race = find(&unit, "ra_mst_races", &["rac_8"]).unwrap();
        assert_eq!(
            race.values["prize_amount"],
            Value::Money("25000".parse().unwrap())
        );
    }

    #[test]
    fn odds_snapshots_are_uk_local_times_with_history_and_a_bookmaker_row() {
        let unit = extract_racecards(&broken_page(), "/racecards/pro");
        let odds: Vec<_> = rows_of(&unit, "ra_runner_odds")
            .into_iter()
            .filter(|r| r.values["horse_id"] == Value::from("hrs_1"))
            .collect();
        // The priced item and its one history item; the unpriced bookmaker is no observation.
        assert_eq!(odds.len(), 2);
        let now = &odds[0];
        assert_eq!(now.source, Source::Odds);
        assert_eq!(now.values["bookmaker_id"], Value::from("fenwick-bet"));
        assert_eq!(
            now.values["observed_at"].key_text(),
            "2031-06-02T13:10:00.000000Z"
        );
        assert_eq!(now.values["fractional"], Value::from("11/4"));
        assert_eq!(now.values["decimal"], Value::Decimal(3.75));
        assert_eq!(now.values["ew_places"], Value::Integer(3));
        let earlier = &odds[1];
        assert_eq!(earlier.values["bookmaker_id"], Value::from("fenwick-bet"));
        assert_eq!(earlier.values["decimal"], Value::Decimal(3.5));
        let book = find(&unit, "ra_mst_bookmakers", &["fenwick-bet"]).unwrap();
        assert_eq!(book.source, Source::Odds);
        assert_eq!(book.values["name"], Value::from("Fenwick Bet"));
        assert!(find(&unit, "ra_mst_bookmakers", &["quayside-sports"]).is_none());
    }

    #[test]
    fn an_odds_item_without_a_time_is_rejected_alone() {
        let mut r = runner("hrs_1", "Quillwort", "1");
        r["odds"][0]["updated"] = json!("");
        r["odds"][0]["history"] = json!([]);
        let unit = extract_racecards(&page(vec![race("rac_1", "GB", "", vec![r])]), "/x");
        assert!(find(&unit, "ra_runners", &["rac_1", "hrs_1"]).is_some());
        assert_eq!(unit.rejects.len(), 1);
        assert_eq!(unit.rejects[0].entity, "odds");
        assert_eq!(unit.rejects[0].table, "ra_runner_odds");
        assert_eq!(
            unit.rejects[0].key.as_deref(),
            Some("rac_1/hrs_1/Fenwick Bet")
        );
        assert_sound(&unit);
    }

    #[test]
    fn a_race_without_race_id_is_rejected_and_the_next_race_lands() {
        let mut nameless = race("", "GB", "", vec![runner("hrs_1", "Quillwort", "1")]);
        nameless.as_object_mut().unwrap().remove("race_id");
        let unit = extract_racecards(
            &page(vec![nameless, race("rac_2", "GB", "", vec![])]),
            "/racecards/pro",
        );
        assert_eq!(unit.rejects.len(), 1);
        assert_eq!(unit.rejects[0].entity, "race");
        assert_eq!(unit.rejects[0].table, "ra_mst_races");
        assert_eq!(unit.rejects[0].key, None);
        assert!(find(&unit, "ra_mst_races", &["rac_2"]).is_some());
        assert!(rows_of(&unit, "ra_runners").is_empty());
        assert_sound(&unit);
    }

    #[test]
    fn a_wrong_typed_record_is_a_reject_with_its_payload() {
        let mut r = runner("hrs_1", "Quillwort", "1");
        r["lbs"] = json!({"st": 11});
        let unit = extract_racecards(&page(vec![race("rac_1", "GB", "", vec![r])]), "/x");
        assert_eq!(unit.rejects.len(), 1);
        assert_eq!(unit.rejects[0].key.as_deref(), Some("rac_1/hrs_1"));
        assert!(unit.rejects[0].reason.contains("lbs"));
        assert!(unit.rejects[0].payload.as_deref().unwrap().contains("st"));
        assert_sound(&unit);
    }
}

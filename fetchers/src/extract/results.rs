//! Results (`/results`, `/results/{race_id}`): races with their outcome, runners with their
//! finishing position, and everything they reference, all with [`Source::Result`].

use super::{
    course_and_region, each_record, id, pedigree_stub, person, raw, record_reject, reject,
    runner_key, text, Problems,
};
use crate::api::models::{Page, ResultRace, ResultRunner};
use crate::api::parse::{self, Currency};
use crate::registry::{names, Source};
use crate::rows::{Row, UnitOfWork};

const SRC: Source = Source::Result;

/// Every race of a results page (or of a single result parsed as a one-record page).
pub fn extract_results(page: &Page<ResultRace>, endpoint_path: &str) -> UnitOfWork {
    each_record(page, endpoint_path, names::RACES, |race| {
        extract_result(race, endpoint_path)
    })
}

/// One result: region, course and race rows (marked `has_result`), then each runner.
pub fn extract_result(race: &ResultRace, endpoint_path: &str) -> UnitOfWork {
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
    let race_date = p.take("date", parse::date(raw(&race.date))).or_else(|| {
        raw(&race.off_dt)
            .get(..10)
            .and_then(|d| parse::date(d).ok().flatten())
    });
    let race_date = p.require("date", race_date, "a race needs its date");
    let course_id = p.require("course_id", id(&race.course_id), "a race needs its course");
    let course_name = p.require("course", text(&race.course), "the course row needs a name");
    let dist_y = p.take("dist_y", parse::int(raw(&race.dist_y)));
    let dist_m = p.take("dist_m", parse::int(raw(&race.dist_m)));
    let furlongs = p.take("dist_f", parse::furlongs(raw(&race.dist_f)));
    if let Some(reason) = p.reason() {
        unit.rejects.push(race_reject(reason));
        return unit;
    }
    let yards = dist_y.or_else(|| parse::distance_yards(raw(&race.dist)).ok().flatten());
    let winning_time = parse::finish_time_seconds(raw(&race.winning_time_detail))
        .ok()
        .flatten();

    let course_id = course_id.unwrap_or_default();
    course_and_region(&mut unit, SRC, &course_id, course_name, &region);
    unit.push(
        Row::new(names::RACES, SRC)
            .set("id", race_id.as_str())
            .set("course_id", course_id.as_str())
            .set("race_date", race_date)
            .set("off_dt", off_dt)
            .set("off_time_raw", text(&race.off))
            .set("race_name", text(&race.race_name))
            .set("region_code", region)
            .set("race_class", text(&race.race_class))
            .set("race_type", text(&race.race_type))
            .set("pattern", text(&race.pattern))
            .set("age_band", text(&race.age_band))
            .set("rating_band", text(&race.rating_band))
            .set("sex_restriction", text(&race.sex_rest))
            .set("distance_raw", text(&race.dist))
            .set("distance_yards", yards)
            .set("distance_metres", dist_m)
            .set("distance_furlongs", furlongs)
            .set("going", text(&race.going))
            .set("surface", text(&race.surface))
            .set("jumps", text(&race.jumps))
            .set("winning_time_detail", text(&race.winning_time_detail))
            .set("winning_time_seconds", winning_time)
            .set("result_comments", text(&race.comments))
            .set("non_runners_text", text(&race.non_runners))
            .set("tote_win", parse::tote(raw(&race.tote_win)))
            .set("tote_place", parse::tote(raw(&race.tote_pl)))
            .set("tote_exacta", parse::tote(raw(&race.tote_ex)))
            .set("tote_csf", parse::tote(raw(&race.tote_csf)))
            .set("tote_tricast", parse::tote(raw(&race.tote_tricast)))
            .set("tote_trifecta", parse::tote(raw(&race.tote_trifecta)))
            .set("has_result", true),
    );

    let currency = Currency::for_region(raw(&race.region));
    for runner in &race.runners {
        match runner {
            Ok(r) => match runner_rows(r, &race_id, currency) {
                Ok(rows) => unit.rows.extend(rows),
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

/// One result runner's rows (entities first), or why it cannot land.
fn runner_rows(r: &ResultRunner, race_id: &str, currency: Currency) -> Result<Vec<Row>, String> {
    let mut p = Problems::default();
    let horse_id = p.require("horse_id", id(&r.horse_id), "a runner needs its horse");
    let horse_name = p.require("horse", text(&r.horse), "the horse row needs a name");
    let number = match parse::number(raw(&r.number)) {
        Ok(n) => n.number,
        Err(e) => {
            p.0.push(format!("number: {e}"));
            None
        }
    };
    let draw = p.take("draw", parse::draw(raw(&r.draw)));
    let age = p.take("age", parse::int(raw(&r.age)));
    let sp_dec = p.take("sp_dec", parse::decimal(raw(&r.sp_dec)));
    let btn = p.take("btn", parse::lengths(raw(&r.btn)));
    let ovr_btn = p.take("ovr_btn", parse::lengths(raw(&r.ovr_btn)));
    let weight_lbs = p.take("weight_lbs", parse::lbs(raw(&r.weight_lbs)));
    let weight_st = p.take("weight", parse::weight_st_lbs(raw(&r.weight)));
    let claim = p.take("jockey_claim_lbs", parse::int(raw(&r.jockey_claim_lbs)));
    let or = p.take("or", parse::int(raw(&r.official_rating)));
    let rpr = p.take("rpr", parse::int(raw(&r.rpr)));
    let tsr = p.take("tsr", parse::int(raw(&r.tsr)));
    let prize = p.take("prize", parse::money(raw(&r.prize), currency));
    if let Some(reason) = p.reason() {
        return Err(reason);
    }
    let horse_id = horse_id.unwrap_or_default();
    let horse_name = horse_name.unwrap_or_default();
    let (bare_name, suffix) = parse::split_country(&horse_name);
    let position = parse::position(raw(&r.position));
    // The starting price text is stored as is; its parsed form is a bonus.
    let sp = parse::fraction(raw(&r.sp)).ok().flatten();
    let finish_seconds = parse::finish_time_seconds(raw(&r.time)).ok().flatten();
    let sex_code = parse::sex_code(raw(&r.sex))
        .map(str::to_string)
        .or_else(|| text(&r.sex));

    let mut rows = vec![Row::new(names::HORSES, SRC)
        .set("id", horse_id.as_str())
        .set("name", bare_name)
        .set("name_with_suffix", horse_name.as_str())
        .set("sex_code", sex_code)
        .set("region", suffix)];
    let jockey_id = id(&r.jockey_id);
    if let Some(j) = &jockey_id {
        let (name, _claim) = parse::jockey_name(raw(&r.jockey));
        rows.push(person(names::JOCKEYS, SRC, j, name.map(str::to_string)));
    }
    let trainer_id = id(&r.trainer_id);
    if let Some(t) = &trainer_id {
        rows.push(person(names::TRAINERS, SRC, t, text(&r.trainer)));
    }
    let owner_id = id(&r.owner_id);
    if let Some(o) = &owner_id {
        rows.push(person(names::OWNERS, SRC, o, text(&r.owner)));
    }
    let pedigree = [
        (id(&r.sire_id), &r.sire),
        (id(&r.dam_id), &r.dam),
        (id(&r.damsire_id), &r.damsire),
    ];
    let mut pedigree_row = Row::new(names::HORSE_PEDIGREE, SRC).set("horse_id", horse_id.as_str());
    let mut runner = Row::new(names::RUNNERS, SRC)
        .set("race_id", race_id)
        .set("horse_id", horse_id.as_str());
    for ((table, id_col, _), (pid, name)) in super::PEDIGREE.into_iter().zip(pedigree) {
        if let Some(pid) = &pid {
            rows.push(pedigree_stub(table, SRC, pid, name, None));
        }
        pedigree_row = pedigree_row.set(id_col, pid.clone());
        runner = runner.set(id_col, pid);
    }
    rows.push(pedigree_row);
    rows.push(
        runner
            .set("jockey_id", jockey_id)
            .set("trainer_id", trainer_id)
            .set("owner_id", owner_id)
            .set("number", number)
            .set("draw", draw)
            .set("age", age)
            .set("weight_lbs", weight_lbs.or(weight_st))
            .set("headgear", text(&r.headgear))
            .set("silk_url", text(&r.silk_url))
            .set("position", position.as_ref().and_then(|p| p.number))
            .set("position_raw", position.as_ref().map(|p| p.raw.clone()))
            .set(
                "finish_status",
                position.as_ref().map(|p| p.status.as_str()),
            )
            .set("sp_raw", text(&r.sp))
            .set("sp_decimal", sp_dec.or(sp.as_ref().map(|s| s.decimal)))
            .set("sp_favourite", sp.as_ref().map(|s| s.favourite))
            .set("beaten_lengths", btn)
            .set("overall_beaten_lengths", ovr_btn)
            .set("weight_raw", text(&r.weight))
            .set("jockey_claim_lbs", claim)
            .set("result_official_rating", or)
            .set("result_rpr", rpr)
            .set("result_tsr", tsr)
            .set("finish_time_raw", text(&r.time))
            .set("finish_time_seconds", finish_seconds)
            .set("prize_amount", prize.map(|m| m.amount))
            .set("prize_currency", prize.map(|m| m.currency.code()))
            .set("result_comment", text(&r.comment)),
    );
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::models::parse_results_page;
    use crate::extract::testkit::{assert_sound, find, rows_of};
    use crate::rows::Value;
    use serde_json::{json, Value as Json};

    fn runner(horse_id: &str, horse: &str, position: &str) -> Json {
        json!({
            "horse_id": horse_id, "horse": horse, "sp": "15/8F", "sp_dec": "2.88",
            "number": "4", "position": position, "draw": "", "btn": ".5", "ovr_btn": "1.25",
            "age": "4", "sex": "G", "weight": "9-3", "weight_lbs": "129", "headgear": "p",
            "time": "1:47.15", "or": "61", "rpr": "70", "tsr": "–", "prize": "2871.46",
            "jockey": "Ada Pike", "jockey_claim_lbs": "3", "jockey_id": "jky_91",
            "trainer": "Nell Ashdown", "trainer_id": "trn_71", "owner": "The Ferrymen",
            "owner_id": "own_81", "sire": "Harrow Lane (FR)", "sire_id": "sir_601",
            "dam": "Mistle Thrush (GB)", "dam_id": "dam_501", "damsire": "Old Quarry",
            "damsire_id": "", "comment": "Led final furlong", "silk_url": ""
        })
    }

    fn race(race_id: &str, region: &str, runners: Vec<Json>) -> Json {
        json!({
            "race_id": race_id, "date": "2031-06-03", "region": region,
            "course": "Fenbridge (AW)", "course_id": "crs_12", "off": "7:45",
            "off_dt": "2031-06-03T19:45:00+01:00", "race_name": "Heron Handicap",
            "type": "Flat", "class": "Class 5", "pattern": "", "rating_band": "0-65",
            "age_band": "3yo+", "sex_rest": "", "dist": "1m1f", "dist_y": "1954",
            "dist_m": "1787", "dist_f": "9f", "going": "Standard", "surface": "AW",
            "jumps": "", "winning_time_detail": "1m 47.15s (slow by 3.20s)", "comments": "",
            "non_runners": "Stillwater (self certificate)", "tote_win": "£4.80",
            "tote_pl": "£2.10 £1.40", "tote_ex": "£9.10", "tote_csf": "£8.42",
            "tote_tricast": "", "tote_trifecta": "£27.60", "runners": runners
        })
    }

    fn page(races: Vec<Json>) -> Page<ResultRace> {
        let body = json!({"results": races, "total": races.len(), "limit": 50, "skip": 0,
                          "query": [["start_date", "2031-06-03"]]});
        parse_results_page(&body.to_string()).unwrap()
    }

    fn sample() -> Page<ResultRace> {
        let mut pu = runner("hrs_2", "Brackenfell (IRE)", "PU");
        pu["time"] = json!("–");
        pu["btn"] = json!("–");
        pu["ovr_btn"] = json!("–");
        pu["prize"] = json!("");
        pu["sp"] = json!("11/4");
        pu["sp_dec"] = json!("3.75");
        pu["jockey_id"] = json!("jky_92");
        pu["jockey"] = json!("Tom Reed");
        let mut died = runner("hrs_3", "Stonechat (GB)", "Died after the third fence");
        died["sire_id"] = json!("sir_602");
        died["dam_id"] = json!("dam_502");
        page(vec![race(
            "rac_5",
            "GB",
            vec![runner("hrs_1", "Tarn Gap (IRE)", "1"), pu, died],
        )])
    }

    #[test]
    fn every_row_from_a_results_page_validates_and_every_reference_resolves() {
        let unit = extract_results(&sample(), "/results");
        assert!(unit.rejects.is_empty(), "{:?}", unit.rejects);
        assert_sound(&unit);
    }

    #[test]
    fn pulled_up_runner_keeps_pu_raw_and_status_with_no_position() {
        let unit = extract_results(&sample(), "/results");
        let pu = find(&unit, "ra_runners", &["rac_5", "hrs_2"]).unwrap();
        assert_eq!(pu.values["position"], Value::Null);
        assert_eq!(pu.values["position_raw"], Value::from("PU"));
        assert_eq!(pu.values["finish_status"], Value::from("pulled_up"));
        assert_eq!(pu.values["finish_time_seconds"], Value::Null);
        assert_eq!(pu.values["beaten_lengths"], Value::Null);
        assert_eq!(pu.values["sp_favourite"], Value::Boolean(false));
        let died = find(&unit, "ra_runners", &["rac_5", "hrs_3"]).unwrap();
        assert_eq!(
            died.values["position_raw"],
            Value::from("Died after the third fence")
        );
        assert_eq!(died.values["finish_status"], Value::from("other"));
    }

    #[test]
    fn winner_values_are_typed() {
        let unit = extract_results(&sample(), "/results");
        let w = find(&unit, "ra_runners", &["rac_5", "hrs_1"]).unwrap();
        assert_eq!(w.source, Source::Result);
        assert_eq!(w.values["position"], Value::Integer(1));
        assert_eq!(w.values["finish_status"], Value::from("finished"));
        assert_eq!(w.values["sp_raw"], Value::from("15/8F"));
        assert_eq!(w.values["sp_decimal"], Value::Decimal(2.88));
        assert_eq!(w.values["sp_favourite"], Value::Boolean(true));
        assert_eq!(w.values["beaten_lengths"], Value::Decimal(0.5));
        assert_eq!(w.values["weight_raw"], Value::from("9-3"));
        assert_eq!(w.values["weight_lbs"], Value::Integer(129));
        assert_eq!(w.values["jockey_claim_lbs"], Value::Integer(3));
        assert_eq!(w.values["result_official_rating"], Value::Integer(61));
        assert_eq!(w.values["result_tsr"], Value::Null);
        assert_eq!(w.values["finish_time_raw"], Value::from("1:47.15"));
        assert_eq!(w.values["finish_time_seconds"], Value::Decimal(107.15));
        assert_eq!(
            w.values["prize_amount"],
            Value::Money("2871.46".parse().unwrap())
        );
        assert_eq!(w.values["prize_currency"], Value::from("GBP"));
        assert_eq!(w.values["draw"], Value::Null);
        assert_eq!(w.values["damsire_id"], Value::Null);
        let horse = find(&unit, "ra_mst_horses", &["hrs_1"]).unwrap();
        assert_eq!(horse.values["name"], Value::from("Tarn Gap"));
        assert_eq!(
            horse.values["name_with_suffix"],
            Value::from("Tarn Gap (IRE)")
        );
        assert_eq!(horse.values["region"], Value::from("IRE"));
        assert_eq!(horse.values["sex_code"], Value::from("G"));
        let sire = find(&unit, "ra_mst_sires", &["sir_601"]).unwrap();
        assert_eq!(sire.values["name"], Value::from("Harrow Lane"));
        assert_eq!(
            sire.values["name_with_suffix"],
            Value::from("Harrow Lane (FR)")
        );
        let dam = find(&unit, "ra_mst_dams", &["dam_501"]).unwrap();
        assert_eq!(dam.values["name"], Value::from("Mistle Thrush"));
        assert_eq!(
            dam.values["name_with_suffix"],
            Value::from("Mistle Thrush (GB)")
        );
        assert!(!sire.values.contains_key("region"), "results do not own it");
    }

    #[test]
    fn result_race_has_result_times_distances_and_tote_text() {
        let unit = extract_results(&sample(), "/results");
        let race = find(&unit, "ra_mst_races", &["rac_5"]).unwrap();
        assert_eq!(race.values["has_result"], Value::Boolean(true));
        assert_eq!(race.values["off_time_raw"], Value::from("7:45"));
        assert_eq!(
            race.values["off_dt"].key_text(),
            "2031-06-03T18:45:00.000000Z"
        );
        assert_eq!(race.values["distance_yards"], Value::Integer(1954));
        assert_eq!(race.values["distance_metres"], Value::Integer(1787));
        assert_eq!(race.values["distance_furlongs"], Value::Decimal(9.0));
        assert_eq!(race.values["winning_time_seconds"], Value::Decimal(107.15));
        assert_eq!(race.values["tote_place"], Value::from("£2.10 £1.40"));
        assert_eq!(race.values["tote_tricast"], Value::Null);
        assert_eq!(
            race.values["non_runners_text"],
            Value::from("Stillwater (self certificate)")
        );
        assert_eq!(race.values["region_code"], Value::from("gb"));
    }

    #[test]
    fn irish_prize_without_symbol_is_euros() {
        let mut euro = runner("hrs_7", "Corrib Mist (IRE)", "2");
        euro["prize"] = json!("€6150");
        let unit = extract_results(
            &page(vec![race(
                "rac_6",
                "IRE",
                vec![runner("hrs_6", "Lough Bawn (IRE)", "1"), euro],
            )]),
            "/results",
        );
        for h in ["hrs_6", "hrs_7"] {
            let r = find(&unit, "ra_runners", &["rac_6", h]).unwrap();
            assert_eq!(r.values["prize_currency"], Value::from("EUR"), "{h}");
        }
        let r = find(&unit, "ra_runners", &["rac_6", "hrs_7"]).unwrap();
        assert_eq!(
            r.values["prize_amount"],
            Value::Money("6150".parse().unwrap())
        );
        assert!(find(&unit, "ra_regions", &["ire"]).is_some());
    }

    #[test]
    fn result_runner_with_garbage_is_rejected_naming_the_field() {
        let mut bad = runner("hrs_2", "Brackenfell (IRE)", "2");
        bad["or"] = json!("sixty");
        let mut no_horse = runner("", "Ghost (GB)", "3");
        no_horse["horse_id"] = json!("");
        let unit = extract_results(
            &page(vec![race(
                "rac_5",
                "GB",
                vec![runner("hrs_1", "Tarn Gap (IRE)", "1"), bad, no_horse],
            )]),
            "/results",
        );
        assert_eq!(rows_of(&unit, "ra_runners").len(), 1);
        assert_eq!(unit.rejects.len(), 2);
        assert!(
            unit.rejects[0].reason.starts_with("or:"),
            "{}",
            unit.rejects[0].reason
        );
        assert_eq!(unit.rejects[1].key.as_deref(), Some("rac_5"));
        assert_sound(&unit);
    }
}

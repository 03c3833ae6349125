//! Payload models: serde structs for the Racing API's responses, exactly as sent.
//!
//! The models are deliberately raw: every scalar is an `Option<String>` (the API sends numbers as
//! strings, and now and then as numbers; both are accepted), booleans are `Option<bool>`, nested
//! free-form objects are `serde_json::Value`. Typing happens once, in [`super::parse`], when the
//! extractor reads a model.
//!
//! Two kinds of tolerance keep one odd record from sinking a page:
//!
//! * unknown fields are never an error: each model captures them in `extra`, and a [`Page`]
//!   counts them (and names them) so a run can report "unknown fields seen";
//! * records are parsed one by one: an envelope is read with its records as raw JSON, then each
//!   record (and each nested runner, odds item and history item) becomes a [`Parsed`] value, so a
//!   record with a wrong-typed field is a [`RecordError`] carrying its payload, not a failed page.
//!
//! A record missing its id still parses (ids are optional here); the extractor rejects it.
//!
//! The module is in three parts: [`decode`] (the machinery: [`Page`], [`Parsed`], the field
//! deserializers and the macros that declare models), [`payloads`] (one model per API record
//! and envelope) and [`pages`] (one parser per endpoint body).

#[macro_use]
pub mod decode;
pub mod pages;
pub mod payloads;

pub use decode::*;
pub use pages::*;
pub use payloads::*;

#[cfg(test)]
mod tests {
    use super::decode::*;
    use super::pages::*;
    use super::payloads::*;
    use crate::api::Endpoint;
    use serde_json::json;
    use serde_json::Value;

    fn racecards_body(races: Value) -> String {
        json!({
            "racecards": races,
            "total": 2,
            "limit": 500,
            "skip": 0,
            "query": [["date", "2031-05-02"], ["region_codes", "gb"]],
        })
        .to_string()
    }

    fn runner(horse_id: &str) -> Value {
        json!({
            "horse_id": horse_id, "horse": "Quillwort", "number": "3", "lbs": "140",
            "ofr": "-", "odds": [{"bookmaker": "Fenwick Bet", "fractional": "5/2",
            "decimal": "3.5", "ew_places": "3", "ew_denom": "5",
            "updated": "2031-05-02 13:00:00", "history": []}]
        })
    }

    #[test]
    fn racecards_page_reads_envelope_and_records() {
        let body = racecards_body(json!([
            {"race_id": "rac_1", "course": "Marlow Heath", "off_time": "2:10",
             "type": "Hurdle", "big_race": false, "runners": [runner("hrs_1")]},
            {"race_id": "rac_2", "course": "Marlow Heath", "runners": []},
        ]));
        let page = parse_racecards_page(&body).unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.limit, Some(500));
        assert_eq!(page.skip, Some(0));
        assert_eq!(
            page.query,
            vec![
                ("date".to_string(), "2031-05-02".to_string()),
                ("region_codes".to_string(), "gb".to_string())
            ]
        );
        let race = page.records[0].as_ref().unwrap();
        assert_eq!(race.race_type.as_deref(), Some("Hurdle"));
        assert_eq!(race.big_race, Some(false));
        let r = race.runners[0].as_ref().unwrap();
        assert_eq!(r.lbs.as_deref(), Some("140"));
        let odds = r.odds[0].as_ref().unwrap();
        assert_eq!(odds.bookmaker.as_deref(), Some("Fenwick Bet"));
        assert!(odds.history.is_empty());
        assert!(r.raw.contains("Quillwort"));
        assert_eq!(page.unknown_fields, 0);
    }

    #[test]
    fn numbers_may_arrive_as_numbers() {
        let body = racecards_body(json!([{
            "race_id": "rac_1", "field_size": 8,
            "runners": [{"horse_id": "hrs_1", "lbs": 140, "age": 4.0, "draw": null}]
        }]));
        let page = parse_racecards_page(&body).unwrap();
        let race = page.records[0].as_ref().unwrap();
        assert_eq!(race.field_size.as_deref(), Some("8"));
        let r = race.runners[0].as_ref().unwrap();
        assert_eq!(r.lbs.as_deref(), Some("140"));
        assert_eq!(r.age.as_deref(), Some("4"));
        assert_eq!(r.draw, None);
    }

    #[test]
    fn a_wrong_typed_field_fails_only_its_record_and_names_the_field() {
        let body = racecards_body(json!([
            {"race_id": "rac_1", "race_name": {"oops": 1}, "runners": []},
            {"race_id": "rac_2", "runners": [{"horse_id": "hrs_9", "lbs": ["x"]}, runner("hrs_8")]},
        ]));
        let page = parse_racecards_page(&body).unwrap();
        let err = page.records[0].as_ref().unwrap_err();
        assert_eq!(err.entity, "race");
        assert_eq!(err.key.as_deref(), Some("rac_1"));
        assert!(err.reason.contains("race_name"), "{}", err.reason);
        assert!(err.payload.contains("oops"));
        let race = page.records[1].as_ref().unwrap();
        let bad = race.runners[0].as_ref().unwrap_err();
        assert_eq!(bad.key.as_deref(), Some("hrs_9"));
        assert!(bad.reason.contains("`lbs`"), "{}", bad.reason);
        assert!(race.runners[1].is_ok());
    }

    #[test]
    fn a_record_missing_its_id_still_parses() {
        let body = racecards_body(json!([{"course": "Marlow Heath", "runners": []}]));
        let page = parse_racecards_page(&body).unwrap();
        assert_eq!(page.records[0].as_ref().unwrap().race_id, None);
    }

    #[test]
    fn unknown_fields_are_kept_and_counted() {
        let mut r = runner("hrs_1");
        r["new_runner_thing"] = json!("x");
        r["odds"][0]["odds_novelty"] = json!(1);
        let body = json!({
            "racecards": [{"race_id": "rac_1", "brand_new": true, "runners": [r]}],
            "total": 1, "limit": 500, "skip": 0, "query": [], "paging_hint": "x"
        })
        .to_string();
        let page = parse_racecards_page(&body).unwrap();
        assert_eq!(page.unknown_fields, 4);
        let names: Vec<&str> = page
            .unknown_field_names
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            names,
            vec![
                "odds.odds_novelty",
                "race.brand_new",
                "racecards_page.paging_hint",
                "runner.new_runner_thing"
            ]
        );
        let race = page.records[0].as_ref().unwrap();
        assert_eq!(race.extra["brand_new"], json!(true));
    }

    #[test]
    fn envelope_without_total_or_records_is_a_shape_error() {
        assert!(matches!(
            parse_racecards_page(r#"{"racecards": []}"#),
            Err(ParseError::Shape(_))
        ));
        assert!(matches!(
            parse_results_page(r#"{"total": 3}"#),
            Err(ParseError::Shape(_))
        ));
        assert!(matches!(
            parse_results_page("<html>busy</html>"),
            Err(ParseError::Json(_))
        ));
    }

    #[test]
    fn results_page_reads_renamed_fields() {
        let body = json!({
            "results": [{
                "race_id": "rac_5", "off": "7:45", "class": "Class 5", "type": "Flat",
                "dist_y": "1320", "tote_pl": "£1.10 £2.20",
                "runners": [{"horse_id": "hrs_3", "horse": "Tarn Gap (IRE)", "or": "61",
                             "position": "PU", "time": "–"}]
            }],
            "total": "1", "limit": 50, "skip": 0,
            "query": [["start_date", "2031-05-01"], ["region", "gb"], ["region", "ire"]]
        })
        .to_string();
        let page = parse_results_page(&body).unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.query.len(), 3);
        let race = page.records[0].as_ref().unwrap();
        assert_eq!(race.race_class.as_deref(), Some("Class 5"));
        assert_eq!(race.race_type.as_deref(), Some("Flat"));
        assert_eq!(race.tote_pl.as_deref(), Some("£1.10 £2.20"));
        let r = race.runners[0].as_ref().unwrap();
        assert_eq!(r.official_rating.as_deref(), Some("61"));
    }

    #[test]
    fn courses_regions_and_summaries_parse() {
        let courses = parse_courses_page(
            r#"{"courses":[{"id":"crs_7","course":"Marlow Heath","region_code":"gb","region":"Great Britain"}],"total":1}"#,
        )
        .unwrap();
        assert_eq!(courses.total, 1);
        assert_eq!(
            courses.records[0].as_ref().unwrap().course.as_deref(),
            Some("Marlow Heath")
        );
        let regions =
            parse_regions(r#"[{"region":"Great Britain","region_code":"gb"},{"region":"Ireland","region_code":"ire"}]"#)
                .unwrap();
        assert_eq!(regions.total, 2);
        let summaries = parse_summaries_page(
            r#"{"racecard_summaries":[{"race_id":"rac_1","off_dt":"2031-05-02T14:10:00+01:00","is_abandoned":false}],"query":[["date","2031-05-02"]]}"#,
        )
        .unwrap();
        let s = summaries.records[0].as_ref().unwrap();
        assert_eq!(s.is_abandoned, Some(false));
        assert_eq!(summaries.total, 1);
    }

    #[test]
    fn single_objects_parse_as_one_record_pages() {
        let horse = parse_horse_pro(
            r#"{"id":"hrs_4","name":"Tarn Gap (IRE)","sex_code":"G","damsire_id":""}"#,
        )
        .unwrap();
        assert_eq!(horse.records.len(), 1);
        assert_eq!(
            horse.records[0].as_ref().unwrap().name.as_deref(),
            Some("Tarn Gap (IRE)")
        );
        assert!(matches!(parse_result("[]"), Err(ParseError::Shape(_))));
        let race = parse_racecard(r#"{"race_id":"rac_1","off_time":"1:00","runners":[]}"#).unwrap();
        assert_eq!(race.total, 1);
    }

    #[test]
    fn error_bodies_read_as_one_line() {
        let e = ErrorBody::parse(r#"{"detail":"Not Found"}"#).unwrap();
        assert_eq!(e.message(), "Not Found");
        let e = ErrorBody::parse(
            r#"{"detail":[{"loc":["query","name"],"msg":"field required","type":"value_error.missing"}]}"#,
        )
        .unwrap();
        assert_eq!(e.message(), "query.name: field required");
        assert!(ErrorBody::parse(r#"{"racecards":[]}"#).is_none());
    }

    #[test]
    fn detect_endpoint_recognises_every_envelope() {
        let cases = [
            (
                json!({"racecards": [], "total": 0}),
                Some(Endpoint::RacecardsPro),
            ),
            (json!({"results": [], "total": 0}), Some(Endpoint::Results)),
            (json!({"courses": [], "total": 0}), Some(Endpoint::Courses)),
            (
                json!({"racecard_summaries": []}),
                Some(Endpoint::RacecardSummaries),
            ),
            (
                json!([{"region": "Ireland", "region_code": "ire"}]),
                Some(Endpoint::Regions),
            ),
            (
                json!({"race_id": "rac_1", "off_time": "2:00", "runners": []}),
                Some(Endpoint::RacecardPro),
            ),
            (
                json!({"race_id": "rac_1", "off": "2:00", "runners": []}),
                Some(Endpoint::Result),
            ),
            (
                json!({"id": "hrs_1", "name": "X"}),
                Some(Endpoint::HorsePro),
            ),
            (json!({"detail": "Not Found"}), None),
            (json!([{"id": 1}]), None),
        ];
        for (body, want) in cases {
            assert_eq!(detect_endpoint(&body), want, "{body}");
        }
    }
}

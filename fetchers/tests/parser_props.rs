//! Parser robustness (issue 14): arbitrary strings as bodies, and arbitrary JSON in every field
//! of otherwise well-formed results, racecards and horse-profile pages, never panic in the page
//! parsers or the extractor, and always end as a typed parse error or as rows and rejects that
//! account for every record. `PROPTEST_CASES` raises the case count (the soak script does).

#![recursion_limit = "256"]

use chrono::Utc;
use fetchers::api::models;
use fetchers::extract;
use fetchers::rows::UnitOfWork;
use proptest::prelude::*;
use serde_json::{json, Value};

fn results_page() -> Value {
    json!({
        "results": [{
            "race_id": "rac_1", "date": "2025-05-01", "region": "GB", "course": "Ascot",
            "course_id": "crs_1", "off": "1:30", "off_dt": "2025-05-01T13:30:00+01:00",
            "race_name": "A Handicap", "type": "Flat", "class": "Class 4", "pattern": "",
            "rating_band": "0-80", "age_band": "3yo+", "sex_rest": "", "dist": "1m",
            "dist_f": "8.0f", "dist_m": "1609", "going": "Good", "surface": "Turf",
            "winning_time_detail": "1m 40.10s", "comments": "", "non_runners": "",
            "tote_win": "£3.40", "tote_pl": "£1.50", "tote_ex": "", "tote_csf": "",
            "tote_tricast": "", "tote_trifecta": "",
            "runners": [{
                "horse_id": "hrs_1", "horse": "Quick Step (IRE)", "sp": "5/2", "sp_dec": "3.50",
                "number": "1", "position": "1", "draw": "3", "btn": "0", "ovr_btn": "0",
                "age": "4", "sex": "G", "weight": "9-7", "weight_lbs": "133", "headgear": "p",
                "time": "1:40.10", "or": "78", "rpr": "80", "tsr": "70", "prize": "£4,193",
                "jockey": "A Rider", "jockey_claim_lbs": "0", "jockey_id": "jky_1",
                "trainer": "B Trainer", "trainer_id": "trn_1", "owner": "C Owner",
                "owner_id": "own_1", "sire": "S", "sire_id": "sir_1", "dam": "D",
                "dam_id": "dam_1", "damsire": "DS", "damsire_id": "dsi_1", "comment": "led",
                "silk_url": "https://example.invalid/s.svg"
            }]
        }],
        "total": 1, "limit": 50, "skip": 0,
        "query": [["start_date", "2025-05-01"], ["end_date", "2025-05-01"]]
    })
}

fn racecards_page() -> Value {
    json!({
        "racecards": [{
            "race_id": "rac_2", "course": "Ascot", "course_id": "crs_1", "date": "2025-05-02",
            "off_time": "2:00", "off_dt": "2025-05-02T14:00:00+01:00", "race_name": "A Maiden",
            "distance_f": "6.0", "region": "GB", "type": "Flat", "race_class": "Class 5",
            "age_band": "2yo", "going": "Good To Firm", "prize": "£5,000", "field_size": "8",
            "runners": [{
                "horse_id": "hrs_2", "horse": "Slow Boat", "dob": "2023-03-01", "age": "2",
                "sex": "colt", "sex_code": "C", "colour": "b", "region": "GB",
                "sire": "S", "sire_id": "sir_1", "dam": "D", "dam_id": "dam_1",
                "damsire": "DS", "damsire_id": "dsi_1", "trainer": "T", "trainer_id": "trn_1",
                "owner": "O", "owner_id": "own_1", "number": "3", "draw": "5", "lbs": "126",
                "ofr": "–", "rpr": "-", "jockey": "J", "jockey_id": "jky_1", "form": "1-2",
                "last_run": "14", "headgear": "", "spotlight": "nice", "silk_url": "",
                "trainer_14_days": {"runs": "10", "wins": "2", "percent": "20"}
            }]
        }],
        "total": 1, "limit": 500, "skip": 0, "query": [["date", "2025-05-02"]]
    })
}

fn horse_pro() -> Value {
    json!({
        "id": "hrs_3", "name": "Old Timer", "dob": "2015-04-01", "sex": "gelding",
        "sex_code": "G", "colour": "ch", "region": "IRE", "breeder": "Someone",
        "sire": "S", "sire_id": "sir_1", "dam": "D", "dam_id": "dam_1",
        "damsire": "DS", "damsire_id": "dsi_1"
    })
}

/// Any JSON value: scalars (with arbitrary strings) and small arrays and objects of them.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".*".prop_map(Value::String),
        "[0-9£,./-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every leaf path of `v` (object keys and array indexes).
fn leaf_paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                prefix.push(k.clone());
                out.push(prefix.clone());
                leaf_paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(i.to_string());
                leaf_paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn replace(v: &mut Value, path: &[String], with: Value) {
    // An earlier replacement may have removed the path: then there is nothing to replace.
    let mut at = v;
    for p in path {
        let next = match at {
            Value::Object(m) => m.get_mut(p),
            Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        let Some(next) = next else { return };
        at = next;
    }
    *at = with;
}

/// `template` with the fields picked by `picks` replaced by arbitrary values.
fn mutated(template: Value, picks: Vec<(prop::sample::Index, Value)>) -> String {
    let mut paths = Vec::new();
    leaf_paths(&template, &mut Vec::new(), &mut paths);
    let mut v = template;
    for (index, with) in picks {
        let path = index.get(&paths).clone();
        replace(&mut v, &path, with);
    }
    v.to_string()
}

/// Every record became rows or rejects.
fn accounted(records: usize, unit: &UnitOfWork) {
    if records > 0 {
        assert!(
            !unit.rows.is_empty() || !unit.rejects.is_empty(),
            "{records} records gave neither rows nor rejects"
        );
    }
}

fn all_parsers(body: &str) {
    if let Ok(page) = models::parse_results_page(body) {
        accounted(
            page.records.len(),
            &extract::extract_results(&page, "/v1/results"),
        );
    }
    if let Ok(page) = models::parse_racecards_page(body) {
        accounted(
            page.records.len(),
            &extract::extract_racecards(&page, "/v1/racecards/pro"),
        );
    }
    if let Ok(page) = models::parse_horse_pro(body) {
        let unit = extract::extract_horse_profile(&page, Utc::now(), "/v1/horses/hrs_3/pro");
        accounted(page.records.len(), &unit);
    }
    let _ = models::parse_courses_page(body);
    let _ = models::parse_regions(body);
    let _ = models::parse_summaries_page(body);
    let _ = models::parse_result(body);
    let _ = models::parse_racecard(body);
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_strings_as_bodies_never_panic_any_parser(body in ".{0,200}") {
        all_parsers(&body);
    }

    #[test]
    fn arbitrary_json_in_any_results_field_yields_rows_or_rejects(
        picks in prop::collection::vec((any::<prop::sample::Index>(), any_json()), 1..4)
    ) {
        all_parsers(&mutated(results_page(), picks));
    }

    #[test]
    fn arbitrary_json_in_any_racecards_field_yields_rows_or_rejects(
        picks in prop::collection::vec((any::<prop::sample::Index>(), any_json()), 1..4)
    ) {
        all_parsers(&mutated(racecards_page(), picks));
    }

    #[test]
    fn arbitrary_json_in_any_horse_profile_field_yields_rows_or_rejects(
        picks in prop::collection::vec((any::<prop::sample::Index>(), any_json()), 1..4)
    ) {
        all_parsers(&mutated(horse_pro(), picks));
    }
}

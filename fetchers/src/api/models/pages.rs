//! One parser per endpoint body: the envelope is read with its records raw, then each record
//! is parsed on its own into a [`Page`], and saved bodies are recognised by their envelope.

use super::decode::*;
use super::payloads::*;
use crate::api::Endpoint;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

// ---- page parsers ----

fn from_body<T: DeserializeOwned>(body: &str) -> Result<T, ParseError> {
    serde_json::from_str(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ParseError::Shape(e.to_string()),
        _ => ParseError::Json(e.to_string()),
    })
}

/// The `query` echo as pairs: `[["region","gb"],["region","ire"]]` (or an object of values).
fn query_pairs(q: Option<&Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match q {
        Some(Value::Array(items)) => {
            for item in items {
                if let Some([k, v, ..]) = item.as_array().map(Vec::as_slice) {
                    out.push((
                        scalar_text(k).unwrap_or_default(),
                        scalar_text(v).unwrap_or_default(),
                    ));
                }
            }
        }
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::Array(vs) => out.extend(
                        vs.iter()
                            .map(|v| (k.clone(), scalar_text(v).unwrap_or_default())),
                    ),
                    v => out.push((k.clone(), scalar_text(v).unwrap_or_default())),
                }
            }
        }
        _ => {}
    }
    out
}

/// Envelope fields common to every page, gathered before the records are parsed.
struct Envelope<'a> {
    entity: &'static str,
    total: Option<u64>,
    limit: Option<u64>,
    skip: Option<u64>,
    query: Option<&'a Value>,
    extra: &'a BTreeMap<String, Value>,
}

fn build_page<T: Record>(items: Vec<Value>, env: Envelope<'_>) -> Page<T> {
    let records: Vec<Parsed<T>> = items.into_iter().map(parse_record).collect();
    let mut unknown_fields = 0u64;
    let mut unknown_field_names = BTreeSet::new();
    let mut seen = |entity: &'static str, field: &str| {
        unknown_fields += 1;
        unknown_field_names.insert(format!("{entity}.{field}"));
    };
    for k in env.extra.keys() {
        seen(env.entity, k);
    }
    for r in records.iter().flatten() {
        r.visit_unknown(&mut seen);
    }
    Page {
        total: env.total.unwrap_or(records.len() as u64),
        records,
        limit: env.limit,
        skip: env.skip,
        query: query_pairs(env.query),
        unknown_fields,
        unknown_field_names,
    }
}

fn required<T>(v: Option<T>, what: &str) -> Result<T, ParseError> {
    v.ok_or_else(|| ParseError::Shape(format!("the envelope has no `{what}`")))
}

/// `/racecards/pro`: `{racecards, total, limit, skip, query}`.
pub fn parse_racecards_page(body: &str) -> Result<Page<RacecardRace>, ParseError> {
    let env: RacecardsPage = from_body(body)?;
    let items = required(env.racecards, "racecards")?;
    let total = required(env.total, "total")?;
    Ok(build_page(
        items,
        Envelope {
            entity: "racecards_page",
            total: Some(total),
            limit: env.limit,
            skip: env.skip,
            query: env.query.as_ref(),
            extra: &env.extra,
        },
    ))
}

/// `/results`: `{results, total, limit, skip, query}`.
pub fn parse_results_page(body: &str) -> Result<Page<ResultRace>, ParseError> {
    let env: ResultsPage = from_body(body)?;
    let items = required(env.results, "results")?;
    let total = required(env.total, "total")?;
    Ok(build_page(
        items,
        Envelope {
            entity: "results_page",
            total: Some(total),
            limit: env.limit,
            skip: env.skip,
            query: env.query.as_ref(),
            extra: &env.extra,
        },
    ))
}

/// `/courses`: `{courses, total}`.
pub fn parse_courses_page(body: &str) -> Result<Page<CoursePayload>, ParseError> {
    let env: CoursesPage = from_body(body)?;
    let items = required(env.courses, "courses")?;
    let total = required(env.total, "total")?;
    Ok(build_page(
        items,
        Envelope {
            entity: "courses_page",
            total: Some(total),
            limit: None,
            skip: None,
            query: env.query.as_ref(),
            extra: &env.extra,
        },
    ))
}

/// `/courses/regions`: a bare array.
pub fn parse_regions(body: &str) -> Result<Page<RegionPayload>, ParseError> {
    let items: Vec<Value> = from_body(body)?;
    Ok(build_page(
        items,
        Envelope {
            entity: "regions",
            total: None,
            limit: None,
            skip: None,
            query: None,
            extra: &BTreeMap::new(),
        },
    ))
}

/// `/racecards/summaries`: `{racecard_summaries, query}`.
pub fn parse_summaries_page(body: &str) -> Result<Page<RacecardSummary>, ParseError> {
    let env: RacecardSummariesPage = from_body(body)?;
    let items = required(env.racecard_summaries, "racecard_summaries")?;
    Ok(build_page(
        items,
        Envelope {
            entity: "summaries_page",
            total: None,
            limit: None,
            skip: None,
            query: env.query.as_ref(),
            extra: &env.extra,
        },
    ))
}

/// A single-object body as a one-record page (`total` 1), so the page extractors serve it too.
fn parse_single<T: Record>(body: &str) -> Result<Page<T>, ParseError> {
    let value: Value = from_body(body)?;
    if !value.is_object() {
        return Err(ParseError::Shape(format!(
            "expected an object, got {}",
            json_kind(&value)
        )));
    }
    Ok(build_page(
        vec![value],
        Envelope {
            entity: T::ENTITY,
            total: None,
            limit: None,
            skip: None,
            query: None,
            extra: &BTreeMap::new(),
        },
    ))
}

/// `/racecards/{race_id}/pro`: one race object, as a one-record page.
pub fn parse_racecard(body: &str) -> Result<Page<RacecardRace>, ParseError> {
    parse_single(body)
}

/// `/results/{race_id}`: one race object, as a one-record page.
pub fn parse_result(body: &str) -> Result<Page<ResultRace>, ParseError> {
    parse_single(body)
}

/// `/horses/{id}/pro`: one horse object, as a one-record page.
pub fn parse_horse_pro(body: &str) -> Result<Page<HorseProfile>, ParseError> {
    parse_single(body)
}

/// `/odds/{race_id}/{horse_id}`: one runner's odds, as a one-record page.
pub fn parse_runner_odds(body: &str) -> Result<Page<RunnerOdds>, ParseError> {
    parse_single(body)
}

/// Which endpoint a saved body came from, recognised by its envelope (for `paddock import`).
pub fn detect_endpoint(body: &Value) -> Option<Endpoint> {
    match body {
        Value::Array(items) => items
            .iter()
            .all(|i| i.get("region_code").is_some() && i.get("region").is_some())
            .then_some(Endpoint::Regions),
        Value::Object(map) => {
            if map.get("racecards").is_some_and(Value::is_array) {
                Some(Endpoint::RacecardsPro)
            } else if map.get("results").is_some_and(Value::is_array) {
                Some(Endpoint::Results)
            } else if map.get("courses").is_some_and(Value::is_array) {
                Some(Endpoint::Courses)
            } else if map.get("racecard_summaries").is_some_and(Value::is_array) {
                Some(Endpoint::RacecardSummaries)
            } else if map.contains_key("race_id")
                && map.contains_key("horse_id")
                && map.get("odds").is_some_and(Value::is_array)
            {
                Some(Endpoint::Odds)
            } else if map.contains_key("race_id") && map.contains_key("runners") {
                if map.contains_key("off_time") {
                    Some(Endpoint::RacecardPro)
                } else if map.contains_key("off") {
                    Some(Endpoint::Result)
                } else {
                    None
                }
            } else if map
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.starts_with("hrs_"))
            {
                Some(Endpoint::HorsePro)
            } else {
                None
            }
        }
        _ => None,
    }
}

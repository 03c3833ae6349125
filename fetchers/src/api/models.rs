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

use super::Endpoint;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One record of a page: the model, or why it could not be read.
pub type Parsed<T> = Result<T, RecordError>;

/// A record that could not be read into its model, kept with its raw payload for the rejects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{entity} {}: {reason}", key.as_deref().unwrap_or("(no id)"))]
pub struct RecordError {
    /// What kind of record: `race`, `runner`, `odds`, `horse`, `course`, `region`, `summary`.
    pub entity: &'static str,
    /// The record's id, when it had a readable one.
    pub key: Option<String>,
    /// What was wrong, naming the field where one was at fault.
    pub reason: String,
    /// The record as received (JSON).
    pub payload: String,
}

/// A response body that is not JSON, or not the envelope the endpoint promises.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    Json(String),
    #[error("the body is not the expected envelope: {0}")]
    Shape(String),
}

/// A page of records with its envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub records: Vec<Parsed<T>>,
    /// The envelope's `total` (the record count where the endpoint sends none).
    pub total: u64,
    pub limit: Option<u64>,
    pub skip: Option<u64>,
    /// The API's echo of the query it applied, as key/value pairs.
    pub query: Vec<(String, String)>,
    /// How many unknown fields were seen, in the envelope and in every record.
    pub unknown_fields: u64,
    /// Their names, as `entity.field` (`runner.new_thing`).
    pub unknown_field_names: BTreeSet<String>,
}

impl<T> Page<T> {
    /// The records that parsed.
    pub fn ok(&self) -> impl Iterator<Item = &T> {
        self.records.iter().filter_map(|r| r.as_ref().ok())
    }

    /// The records that did not.
    pub fn errors(&self) -> impl Iterator<Item = &RecordError> {
        self.records.iter().filter_map(|r| r.as_ref().err())
    }
}

/// A model of one API record: how to name it and where its unknown fields are.
pub trait Record: DeserializeOwned {
    /// What kind of record (`race`, `runner`, …), for rejects and unknown-field names.
    const ENTITY: &'static str;
    /// The field that identifies the record (`race_id`, `horse_id`, `id`, …).
    const KEY_FIELD: &'static str;
    /// The record as received (JSON), for rejects.
    fn raw(&self) -> &str;
    fn set_raw(&mut self, raw: String);
    /// Calls `seen(entity, field)` for every unknown field here and in nested records.
    fn visit_unknown(&self, seen: &mut dyn FnMut(&'static str, &str));
}

/// Reads one record from raw JSON. On failure the reason names the field at fault.
pub fn parse_record<T: Record>(value: Value) -> Parsed<T> {
    let key = value
        .get(T::KEY_FIELD)
        .and_then(scalar_text)
        .filter(|k| !k.trim().is_empty());
    let payload = value.to_string();
    let fail = |reason: String, payload: String| RecordError {
        entity: T::ENTITY,
        key: key.clone(),
        reason,
        payload,
    };
    let Value::Object(map) = &value else {
        return Err(fail(
            format!("expected an object, got {}", json_kind(&value)),
            payload,
        ));
    };
    match serde_json::from_value::<T>(value.clone()) {
        Ok(mut record) => {
            record.set_raw(payload);
            Ok(record)
        }
        Err(whole) => {
            // Every field is optional, so a one-field object only fails on a wrong-typed field:
            // try each field alone to name the culprit.
            let culprit = map.iter().find_map(|(k, v)| {
                let alone = Value::Object([(k.clone(), v.clone())].into_iter().collect());
                serde_json::from_value::<T>(alone)
                    .err()
                    .map(|e| format!("field `{k}`: {e}"))
            });
            Err(fail(culprit.unwrap_or_else(|| whole.to_string()), payload))
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON scalar as text (strings as is, numbers and booleans printed); `None` otherwise.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---- field deserializers ----

/// A scalar that may arrive as a string, a number or null, as `Option<String>`. Anything else
/// (an object, an array, a boolean) is an error, which makes the record a [`RecordError`].
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string, a number or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// A boolean that may arrive as `true`/`false`, as `"true"`/`"false"` or as null.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean or null")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                "" => Ok(None),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// A count that may arrive as a number or a numeric string (envelope `total`, `limit`, `skip`).
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match text(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a count, got {s:?}"))),
    }
}

/// A list of nested records, each parsed on its own (null or absent → empty).
fn records<'de, D: Deserializer<'de>, T: Record>(d: D) -> Result<Vec<Parsed<T>>, D::Error> {
    let items: Option<Vec<Value>> = Option::deserialize(d)?;
    Ok(items
        .unwrap_or_default()
        .into_iter()
        .map(parse_record)
        .collect())
}

/// Declares a payload struct whose listed scalar fields are all `Option<String>` read with
/// [`text`]; the remaining fields are written out as usual.
macro_rules! payload {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            text: [ $( $(#[$fmeta:meta])* $field:ident ),* $(,)? ],
            $($rest:tt)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Deserialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, deserialize_with = "text")]
                pub $field: Option<String>,
            )*
            $($rest)*
            /// Fields this model does not know, as received.
            #[serde(flatten)]
            pub extra: BTreeMap<String, Value>,
            /// The record as received (JSON), set by [`parse_record`].
            #[serde(skip)]
            pub raw: String,
        }
    };
}

/// Implements [`Record`] for a model; `nested` lists the fields holding nested records.
macro_rules! record {
    ($name:ident, $entity:literal, $key:literal $(, nested: [$($nested:ident),*])?) => {
        impl Record for $name {
            const ENTITY: &'static str = $entity;
            const KEY_FIELD: &'static str = $key;
            fn raw(&self) -> &str {
                &self.raw
            }
            fn set_raw(&mut self, raw: String) {
                self.raw = raw;
            }
            fn visit_unknown(&self, seen: &mut dyn FnMut(&'static str, &str)) {
                for k in self.extra.keys() {
                    seen($entity, k);
                }
                $($(
                    for item in self.$nested.iter().flatten() {
                        item.visit_unknown(seen);
                    }
                )*)?
            }
        }
    };
}

// ---- reference data ----

payload! {
    /// One item of `/courses/regions` (a bare array).
    pub struct RegionPayload {
        text: [region, region_code],
    }
}
record!(RegionPayload, "region", "region_code");

payload! {
    /// One course of `/courses`.
    pub struct CoursePayload {
        text: [id, course, region_code, region],
    }
}
record!(CoursePayload, "course", "id");

/// The `/courses` envelope, records still raw.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CoursesPage {
    #[serde(default)]
    pub courses: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "count")]
    pub total: Option<u64>,
    /// Not sent by the API today; checked like every other echo when it is.
    #[serde(default)]
    pub query: Option<Value>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

// ---- racecards ----

payload! {
    /// One bookmaker's price for a runner (`odds[]`), with its earlier prices in `history`.
    /// History items have the same shape (they may name the time `changed_at`).
    pub struct OddsItem {
        text: [bookmaker, fractional, decimal, ew_places, ew_denom, updated, changed_at],
        #[serde(default, deserialize_with = "records")]
        pub history: Vec<Parsed<OddsItem>>,
    }
}
record!(OddsItem, "odds", "bookmaker", nested: [history]);

payload! {
    /// One runner of a `/racecards/pro` race.
    pub struct RacecardRunner {
        text: [
            horse_id, horse, dob, age, sex, sex_code, colour, region, breeder,
            dam, dam_id, dam_region, sire, sire_id, sire_region, damsire, damsire_id,
            damsire_region, trainer, trainer_id, trainer_location, owner, owner_id,
            comment, spotlight, number, draw, headgear, headgear_run, wind_surgery,
            wind_surgery_run, lbs, ofr, rpr, ts, jockey, jockey_id, silk_url, last_run,
            form, trainer_rtf,
        ],
        #[serde(default)]
        pub trainer_14_days: Option<Value>,
        #[serde(default)]
        pub prev_trainers: Option<Value>,
        #[serde(default)]
        pub prev_owners: Option<Value>,
        #[serde(default)]
        pub quotes: Option<Value>,
        #[serde(default)]
        pub stable_tour: Option<Value>,
        #[serde(default)]
        pub medical: Option<Value>,
        #[serde(default)]
        pub past_results_flags: Option<Value>,
        #[serde(default, deserialize_with = "records")]
        pub odds: Vec<Parsed<OddsItem>>,
    }
}
record!(RacecardRunner, "runner", "horse_id", nested: [odds]);

payload! {
    /// One race of `/racecards/pro` (and the whole body of `/racecards/{race_id}/pro`).
    pub struct RacecardRace {
        text: [
            race_id, course, course_id, date, off_time, off_dt, race_name, distance_round,
            distance, distance_f, region, pattern, sex_restriction, race_class,
            #[serde(rename = "type")]
            race_type,
            age_band, rating_band, prize, field_size, going_detailed, rail_movements, stalls,
            weather, going, surface, jumps, tip, verdict, betting_forecast,
        ],
        #[serde(default, deserialize_with = "flag")]
        pub big_race: Option<bool>,
        #[serde(default, deserialize_with = "flag")]
        pub is_abandoned: Option<bool>,
        #[serde(default, deserialize_with = "records")]
        pub runners: Vec<Parsed<RacecardRunner>>,
    }
}
record!(RacecardRace, "race", "race_id", nested: [runners]);

/// The `/racecards/pro` envelope, records still raw.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RacecardsPage {
    #[serde(default)]
    pub racecards: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "count")]
    pub total: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub limit: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub skip: Option<u64>,
    #[serde(default)]
    pub query: Option<Value>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

payload! {
    /// One race of `/racecards/summaries`.
    pub struct RacecardSummary {
        text: [date, region, course_id, course, race_id, race_name, race_class, off_time, off_dt],
        #[serde(default, deserialize_with = "flag")]
        pub big_race: Option<bool>,
        #[serde(default, deserialize_with = "flag")]
        pub is_abandoned: Option<bool>,
    }
}
record!(RacecardSummary, "summary", "race_id");

/// The `/racecards/summaries` envelope, records still raw.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RacecardSummariesPage {
    #[serde(default)]
    pub racecard_summaries: Option<Vec<Value>>,
    #[serde(default)]
    pub query: Option<Value>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

// ---- results ----

payload! {
    /// One runner of a `/results` race.
    pub struct ResultRunner {
        text: [
            horse_id, horse, sp, sp_dec, number, position, draw, btn, ovr_btn, age, sex,
            weight, weight_lbs, headgear, time,
            #[serde(rename = "or")]
            official_rating,
            rpr, tsr, prize, jockey, jockey_claim_lbs, jockey_id, trainer, trainer_id, owner,
            owner_id, sire, sire_id, dam, dam_id, damsire, damsire_id, comment, silk_url,
        ],
    }
}
record!(ResultRunner, "runner", "horse_id");

payload! {
    /// One race of `/results` (and the whole body of `/results/{race_id}`).
    pub struct ResultRace {
        text: [
            race_id, date, region, course, course_id, off, off_dt, race_name,
            #[serde(rename = "type")]
            race_type,
            #[serde(rename = "class")]
            race_class,
            pattern, rating_band, age_band, sex_rest, dist, dist_y, dist_m, dist_f, going,
            surface, jumps, winning_time_detail, comments, non_runners, tote_win, tote_pl,
            tote_ex, tote_csf, tote_tricast, tote_trifecta,
        ],
        #[serde(default, deserialize_with = "records")]
        pub runners: Vec<Parsed<ResultRunner>>,
    }
}
record!(ResultRace, "race", "race_id", nested: [runners]);

/// The `/results` envelope, records still raw.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResultsPage {
    #[serde(default)]
    pub results: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "count")]
    pub total: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub limit: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub skip: Option<u64>,
    #[serde(default)]
    pub query: Option<Value>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

// ---- horses ----

payload! {
    /// `/horses/{id}/pro`.
    pub struct HorseProfile {
        text: [
            id, name, dob, sex, sex_code, colour, colour_code, breeder, sire, sire_id, dam,
            dam_id, damsire, damsire_id,
        ],
    }
}
record!(HorseProfile, "horse", "id");

// ---- errors ----

/// An error body: 404 `{"detail": "Not Found"}`, 422 `{"detail": [{"loc", "msg", "type"}]}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub detail: Option<Value>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ErrorBody {
    /// Reads an error body; `None` when the body is not one.
    pub fn parse(body: &str) -> Option<ErrorBody> {
        serde_json::from_str::<ErrorBody>(body)
            .ok()
            .filter(|e| e.detail.is_some())
    }

    /// One line for logs: the detail text, or each validation error as `loc: msg`.
    pub fn message(&self) -> String {
        match &self.detail {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    let loc = item
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|l| {
                            l.iter()
                                .map(|p| scalar_text(p).unwrap_or_default())
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .unwrap_or_default();
                    let msg = item.get("msg").and_then(Value::as_str).unwrap_or("");
                    if loc.is_empty() {
                        msg.to_string()
                    } else {
                        format!("{loc}: {msg}")
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

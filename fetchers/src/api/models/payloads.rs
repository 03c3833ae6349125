//! The payload models: one struct per API record (races, runners, odds, horses, courses …)
//! and per envelope, every scalar kept as sent (see the parent module).

use super::decode::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

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

// ---- odds ----

payload! {
    /// `/odds/{race_id}/{horse_id}` (`RaceRunnerOdds`): one runner's prices per bookmaker,
    /// each with its `history` of earlier prices (`changed_at`, fractional, decimal).
    pub struct RunnerOdds {
        text: [race_id, horse_id, horse],
        #[serde(default, deserialize_with = "records")]
        pub odds: Vec<Parsed<OddsItem>>,
    }
}
record!(RunnerOdds, "runner_odds", "horse_id", nested: [odds]);

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

//! A deterministic simulator of The Racing API, used by tests and the demo.
//!
//! It serves the endpoints Paddock uses (`/v1/courses`, `/v1/courses/regions`,
//! `/v1/racecards/pro`, `/v1/racecards/{race_id}/pro`, `/v1/racecards/summaries`, `/v1/results`,
//! `/v1/results/{race_id}`, `/v1/horses/{id}/pro`, `/v1/odds/{race_id}/{horse_id}`) behind HTTP Basic auth, with the live API's
//! key order, value types and quirks (strings everywhere, `"–"` / `"-"` / `""` for missing values,
//! `"NR"` non-runners, 12-hour off times, `£`/`€` money …). Everything is a pure function of the
//! seed and the date: the same request always returns byte-identical bodies.
//!
//! World and days:
//! - about 60 invented GB and Irish courses (plus a few French/US ones that only `/courses`
//!   lists), ~20 000 racehorses in yearly crops, 300 stallions and 4 000 broodmares (each with a
//!   `/horses/hrs_<digits>/pro` profile, so every `sir_`/`dam_`/`dsi_` id resolves), 260 jockeys,
//!   200 trainers and 1 500 owners. A horse's attributes, trainer and owner never change.
//! - 25–45 races a day; one day in every block of ten days is busy (55–75 races), so any 30-day
//!   window holds at least two days with more than 50 races ([`SimData::find_busy_day`]).
//! - Racecards exist from [`RACECARDS_FROM`] to today + 7. Results exist from [`RESULTS_FROM`] to
//!   yesterday: today's races are treated as not yet run, so `/results` never lists them.
//! - A race's racecard and result come from the same generated race (same id, course, off time,
//!   horses minus non-runners, jockeys, trainers, owners). Abandoned meetings (rare, mostly in
//!   winter) appear in racecards with `is_abandoned: true` and have no result.
//!
//! Extras: `GET /__stats` (no auth, not counted) returns [`Stats`]; `POST /__stats/reset` clears
//! them. Faults ([`Faults`]) add latency, 429s with `Retry-After`, deterministic 500s, hangs,
//! truncated bodies, malformed values and unknown extra fields.

mod data;
mod day;
mod faults;
mod format;
mod json;
mod late_results;
mod market_moves;
mod names;
mod odds;
mod plan;
mod race;
mod render;
mod rng;
mod scenario;
mod server;
mod world;

pub use data::{
    MarketCasualties, SimData, SimRace, SimRunner, ABANDONED_STAGE, NON_RUNNER_STAGE,
    RACECARDS_DAYS_AHEAD, RACECARDS_FROM, RESULTS_FROM,
};
pub use faults::Faults;
pub use odds::HISTORY_FROM;
pub use scenario::PreRaceFacts;
pub use server::{SimConfig, SimServer, Stats};

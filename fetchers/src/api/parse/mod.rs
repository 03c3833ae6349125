//! Value parsing at the API boundary: the Racing API's string-typed scalars become typed domain
//! values here, once, so nothing downstream ever handles `"–"`, `"NR"`, `"£5,327"` or `"15/8F"`.
//!
//! Every parser takes the raw text and follows one convention:
//!
//! * `Ok(None)` when the text means "no value" (see [`missing`]: `""`, `"-"`, `"–"`, blanks);
//! * `Ok(Some(value))` when it reads;
//! * `Err(`[`ValueError`]`)` when it is something else (garbage).
//!
//! What garbage costs is the extractor's decision, not this module's: a value whose raw text is
//! stored alongside it (starting price, finishing time, last run, distance text) just loses its
//! parsed form; any other value rejects the record it came in.
//!
//! A few values never fail: [`position`] keeps any text as [`FinishStatus::Other`], and the
//! helpers that only split text ([`split_country`], [`jockey_name`]) return what they can.
//!
//! Files by topic: `value` (the convention's ground and plain scalars), `money`, `runner`
//! (position, number, draw, weights, last run), `time`, `distance`, `price` and `names`; all
//! re-exported here, so callers write `parse::money`, `parse::position`, ….

mod distance;
mod money;
mod names;
mod price;
mod runner;
mod time;
mod value;

pub use distance::{distance_yards, furlongs, lengths};
pub use money::{money, tote, Currency, Money};
pub use names::{
    jockey_name, name_for_matching, non_runners, sex_code, sex_word, split_country, NonRunner,
};
pub use price::{fraction, Price};
pub use runner::{
    draw, last_run, lbs, number, position, weight_st_lbs, FinishStatus, Position, RunnerNumber,
};
pub use time::{finish_time_seconds, instant, london_to_utc, uk_local};
pub use value::{date, decimal, id, int, missing, region_code, text, ValueError};

#[cfg(test)]
mod tests;

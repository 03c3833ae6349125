//! Odds as the API serves them: a runner's racecard `odds[]` (one item per bookmaker, at the
//! moving market's stage) and `GET /v1/odds/{race_id}/{horse_id}` (`RaceRunnerOdds`): the
//! same items, each with the `history[]` of prices the racecards showed up to the current
//! stage (`changed_at` = the racecard's `updated` time of the stage the price first showed,
//! oldest first; a withdrawn runner's `"-"` is no price). History is served for races from
//! [`HISTORY_FROM`] on, as the real API; earlier races get an empty `history`.

use chrono::NaiveDate;

use super::format::{self, ladder_decimal, LADDER};
use super::json::{obj, J};
use super::market_moves::{move_of, moved_index, updated_at};
use super::names::EXCHANGE;
use super::race::{Race, Runner};
use super::rng::{mix, tag, unit};
use super::world::World;

/// The first race date the API serves price history for.
pub const HISTORY_FROM: NaiveDate = match NaiveDate::from_ymd_opt(2025, 3, 17) {
    Some(d) => d,
    None => panic!("bad date"),
};

/// One version of a race's card: the race, its each-way terms and the market's stage.
pub(crate) struct CardAt<'r> {
    pub race: &'r Race,
    pub ew: (&'static str, &'static str),
    pub stage: Option<u32>,
}

/// The odds endpoint's body for `horse_id` in the race whose card at each stage `0..=stage`
/// is `cards[stage]` (one card, stage `None`, when the market does not move). `None` when
/// the race has no such horse.
pub(crate) fn runner_odds(world: &World, cards: &[CardAt<'_>], horse_id: &str) -> Option<J> {
    let current = cards.last()?;
    let k = current
        .race
        .runners
        .iter()
        .position(|r| world.horses[r.horse as usize].id() == horse_id)?;
    let runner = &current.race.runners[k];
    let mut items = racecard_odds(current.race, runner, current.ew, current.stage);
    if current.race.date >= HISTORY_FROM {
        let stages: Vec<Vec<J>> = cards
            .iter()
            .map(|c| racecard_odds(c.race, &c.race.runners[k], c.ew, c.stage))
            .collect();
        for (b, item) in items.iter_mut().enumerate() {
            item.set("history", J::Arr(history(stages.iter().map(|s| &s[b]))));
        }
    }
    Some(obj! {
        "race_id" => &current.race.id,
        "horse_id" => horse_id,
        "horse" => &world.horses[runner.horse as usize].name,
        "odds" => items,
    })
}

/// One bookmaker's history from its items at each stage: an entry where its price first
/// showed or changed.
fn history<'j>(stages: impl Iterator<Item = &'j J>) -> Vec<J> {
    let mut out = Vec::new();
    let mut last: Option<(&str, &str)> = None;
    for item in stages {
        let price = (
            item.str_of("fractional").unwrap_or("-"),
            item.str_of("decimal").unwrap_or("-"),
        );
        if price.0 == "-" || last == Some(price) {
            continue;
        }
        last = Some(price);
        out.push(obj! {
            "changed_at" => item.str_of("updated").unwrap_or(""),
            "fractional" => price.0,
            "decimal" => price.1,
        });
    }
    out
}

/// One runner's `odds[]` at the market's `stage` (`None`: the generated prices).
pub(crate) fn racecard_odds(
    race: &Race,
    r: &Runner,
    ew: (&str, &str),
    stage: Option<u32>,
) -> Vec<J> {
    let mut out = Vec::new();
    let (base, updated) = match stage {
        Some(s) => (
            moved_index(r.price, move_of(r.seed), s),
            updated_at(&race.odds_updated, s),
        ),
        None => (r.price, race.odds_updated.clone()),
    };
    for (bi, &b) in race.bookies.iter().enumerate() {
        let (fractional, decimal) = if r.nr {
            ("-".to_string(), "-".to_string())
        } else {
            let jitter = (mix(&[r.seed, tag("bookie"), bi as u64]) % 4) as i64 - 2;
            let jitter = if r.price < 20 {
                jitter.clamp(-1, 1)
            } else {
                jitter
            };
            let idx = (base as i64 + jitter).clamp(0, LADDER.len() as i64 - 1) as usize;
            let (n, d) = LADDER[idx];
            let fractional = if b == "Paddy Power" && d == 1 {
                n.to_string()
            } else {
                format!("{n}/{d}")
            };
            (fractional, format::dec_min(ladder_decimal(idx)))
        };
        out.push(obj! {
            "bookmaker" => b,
            "fractional" => fractional,
            "decimal" => decimal,
            "ew_places" => ew.0,
            "ew_denom" => ew.1,
            "updated" => &updated,
            "history" => Vec::<J>::new(),
        });
    }
    if race.exchange {
        let price = if r.nr {
            "-".to_string()
        } else {
            let fair = 1.0 / r.fair_p.max(0.004);
            let bump = 1.0 + unit(mix(&[r.seed, tag("exchange")])) * 0.08;
            format::dec_min(format::exchange_tick(fair * bump))
        };
        out.push(obj! {
            "bookmaker" => EXCHANGE,
            "fractional" => &price,
            "decimal" => &price,
            "ew_places" => "",
            "ew_denom" => "",
            "updated" => &updated,
            "history" => Vec::<J>::new(),
        });
    }
    out
}

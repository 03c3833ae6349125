//! The moving market (fault flag `market_moves`): on every racecard day, each runner's prices
//! move at every stage (`POST /__scenario/advance`, shared with the pre-race scenario). A
//! runner is a shortener, a drifter or steady, by its seed: a shortener's price moves at each
//! stage to the longest price on the ladder at least 25 % shorter (its implied probability up by
//! more than 20 %), a drifter's to the shortest at least 25 % longer, a steady runner's stays.
//! Every price, moved or not, carries a newer `updated` time at each stage (20 minutes a
//! stage), as the real API serves unchanged prices. Stage 0 serves the generated market
//! byte for byte.
//!
//! Each racecard day also has its casualties ([`casualties`]): from stage
//! [`NON_RUNNER_STAGE`] (1) the first runner by number of the day's last race (by off time,
//! among races not abandoned with at least five runners) is a non-runner, and from stage
//! [`ABANDONED_STAGE`] (2) the race before it is abandoned. The each-way terms stay those of
//! the declared field. The stages change racecards (and the odds endpoint) only: results keep
//! the generated races.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Duration, NaiveDateTime};

use super::format::{ladder_decimal, LADDER};
use super::race::Race;
use super::rng::{mix, tag};

/// The stage from which the day's market non-runner is withdrawn.
pub const NON_RUNNER_STAGE: u32 = 1;
/// The stage from which the day's market race is abandoned.
pub const ABANDONED_STAGE: u32 = 2;
/// Why the market's non-runner is withdrawn.
const NON_RUNNER_REASON: &str = "vet's certificate";

/// A racecard day's casualties, as indices into the day's races (and the race's runners).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Casualties {
    /// `(race, runner)`: withdrawn from [`NON_RUNNER_STAGE`].
    pub non_runner: Option<(usize, usize)>,
    /// Abandoned from [`ABANDONED_STAGE`].
    pub abandoned: Option<usize>,
}

/// The casualties of the day whose races are `races`: the last race by off time (not
/// abandoned, at least five runners) loses its first runner by number, the one before it is
/// abandoned. Chosen from the generated races alone, so they draw nothing random.
pub(crate) fn casualties(races: &[Race]) -> Casualties {
    let mut candidates: Vec<usize> = (0..races.len())
        .filter(|&i| !races[i].abandoned && races[i].running().count() >= 5)
        .collect();
    candidates.sort_by_key(|&i| (races[i].off_min, races[i].num));
    let last = candidates.pop();
    let non_runner = last.and_then(|i| {
        let runners = &races[i].runners;
        (0..runners.len())
            .filter(|&k| !runners[k].nr)
            .min_by_key(|&k| runners[k].number)
            .map(|k| (i, k))
    });
    Casualties {
        non_runner,
        abandoned: candidates.pop(),
    }
}

/// `race` (the day's race `index`) as the market's card shows it at `stage`, with the number
/// of runners its each-way terms count when the market withdrew one (`None` otherwise).
pub(crate) fn card_at(
    race: Cow<'_, Race>,
    index: usize,
    casualties: Casualties,
    stage: u32,
) -> (Cow<'_, Race>, Option<usize>) {
    match casualties.non_runner {
        Some((i, k)) if i == index && stage >= NON_RUNNER_STAGE => {
            let declared = race.running().count();
            let mut card = race.into_owned();
            let runner = &mut card.runners[k];
            runner.nr = true;
            runner.nr_reason = NON_RUNNER_REASON;
            (Cow::Owned(card), Some(declared))
        }
        _ if casualties.abandoned == Some(index) && stage >= ABANDONED_STAGE => {
            let mut card = race.into_owned();
            card.abandoned = true;
            (Cow::Owned(card), None)
        }
        _ => (race, None),
    }
}

/// How one runner's price moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Move {
    Shorten,
    Drift,
    Steady,
}

/// The scenario's state: the market's stage.
#[derive(Debug, Default)]
pub(crate) struct MarketMoves {
    stage: AtomicU32,
}

impl MarketMoves {
    pub(crate) fn advance(&self) -> u32 {
        self.stage.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(crate) fn stage(&self) -> u32 {
        self.stage.load(Ordering::SeqCst)
    }
}

/// The move of the runner whose seed is `runner_seed`.
pub(crate) fn move_of(runner_seed: u64) -> Move {
    match mix(&[runner_seed, tag("market_moves")]) % 3 {
        0 => Move::Shorten,
        1 => Move::Drift,
        _ => Move::Steady,
    }
}

/// The ladder index of a price `idx` at `stage` moving as `mv`.
pub(crate) fn moved_index(idx: usize, mv: Move, stage: u32) -> usize {
    let mut at = idx.min(LADDER.len() - 1);
    for _ in 0..stage {
        let now = ladder_decimal(at);
        at = match mv {
            Move::Shorten => (0..at)
                .rev()
                .find(|&j| ladder_decimal(j) * 1.25 <= now)
                .unwrap_or(at),
            Move::Drift => (at + 1..LADDER.len())
                .find(|&j| ladder_decimal(j) >= now * 1.25)
                .unwrap_or(at),
            Move::Steady => at,
        };
    }
    at
}

/// The `updated` time (`%Y-%m-%d %H:%M:%S`) at `stage`: 20 minutes later per stage.
pub(crate) fn updated_at(updated: &str, stage: u32) -> String {
    const FORMAT: &str = "%Y-%m-%d %H:%M:%S";
    match NaiveDateTime::parse_from_str(updated, FORMAT) {
        Ok(t) if stage > 0 => (t + Duration::minutes(20 * i64::from(stage)))
            .format(FORMAT)
            .to_string(),
        _ => updated.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shortener_moves_more_than_a_fifth_of_implied_probability_and_a_drifter_the_other_way() {
        let idx = LADDER.len() / 2;
        let short = moved_index(idx, Move::Shorten, 1);
        let long = moved_index(idx, Move::Drift, 1);
        assert!(ladder_decimal(idx) / ladder_decimal(short) > 1.2);
        assert!(ladder_decimal(long) / ladder_decimal(idx) > 1.2);
        assert_eq!(moved_index(idx, Move::Steady, 3), idx);
        assert_eq!(moved_index(idx, Move::Shorten, 0), idx);
        assert!(moved_index(idx, Move::Shorten, 2) < short);
    }

    #[test]
    fn each_stage_is_twenty_minutes_later_and_stage_zero_is_the_served_time() {
        assert_eq!(updated_at("2024-05-01 11:02:00", 0), "2024-05-01 11:02:00");
        assert_eq!(updated_at("2024-05-01 11:50:00", 2), "2024-05-01 12:30:00");
    }
}

//! The moving market (fault flag `market_moves`): on every racecard day, each runner's prices
//! move at every stage (`POST /__scenario/advance`, shared with the pre-race scenario). A
//! runner is a shortener, a drifter or steady, by its seed: a shortener's price moves at each
//! stage to the longest price on the ladder at least 25 % shorter (its implied probability up by
//! more than 20 %), a drifter's to the shortest at least 25 % longer, a steady runner's stays.
//! Every price, moved or not, carries a newer `updated` time at each stage (20 minutes a
//! stage), as the real API serves unchanged prices. Stage 0 serves the generated market
//! byte for byte.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Duration, NaiveDateTime};

use super::format::{ladder_decimal, LADDER};
use super::rng::{mix, tag};

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

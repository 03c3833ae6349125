//! The rule that thins an old price history (`[retention] odds_days`): of each runner's and
//! bookmaker's history whose newest row is older than the cutoff, keep the first row, the last
//! row, and each row whose implied probability (1 / decimal) moved by at least
//! `odds_keep_move_percent` % relative to the previous KEPT row; a row without a usable decimal
//! is kept when its price differs from the previous kept row. A younger history is kept whole.
//!
//! Thinning twice changes nothing (every kept row moved enough from the kept row before it),
//! so a retention run cut short and started again deletes exactly what one run would have.

use crate::store::retention::PriceRow;
use chrono::{DateTime, Utc};

/// The implied probability of a decimal price, when it has one.
fn implied(decimal: Option<f64>) -> Option<f64> {
    decimal
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(|d| 1.0 / d)
}

/// Whether `row` moved enough from `kept` to be kept.
pub fn moved_enough(kept: &PriceRow, row: &PriceRow, percent: f64) -> bool {
    match (implied(kept.decimal), implied(row.decimal)) {
        (Some(before), Some(after)) => (after - before).abs() / before * 100.0 >= percent,
        _ => {
            (
                &kept.fractional,
                kept.decimal,
                kept.ew_places,
                kept.ew_denom,
            ) != (&row.fractional, row.decimal, row.ew_places, row.ew_denom)
        }
    }
}

/// Which rows of one history (oldest first) to keep, given the cutoff and the move percent.
pub fn keep_rows(history: &[PriceRow], cutoff: DateTime<Utc>, percent: f64) -> Vec<bool> {
    let young = history.last().is_none_or(|last| last.observed_at >= cutoff);
    if young || history.len() <= 2 {
        return vec![true; history.len()];
    }
    let mut keep = vec![false; history.len()];
    keep[0] = true;
    *keep.last_mut().expect("more than two rows") = true;
    let mut kept = &history[0];
    for (i, row) in history.iter().enumerate().take(history.len() - 1).skip(1) {
        if moved_enough(kept, row, percent) {
            keep[i] = true;
            kept = row;
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(minute: u32, decimal: Option<f64>) -> PriceRow {
        PriceRow {
            series: ("rac_1".into(), "hrs_1".into(), "bet365".into()),
            observed_at: Utc.with_ymd_and_hms(2025, 1, 1, 12, minute, 0).unwrap(),
            fractional: decimal.map(|d| format!("{}/1", d - 1.0)),
            decimal,
            ew_places: None,
            ew_denom: None,
        }
    }

    fn cutoff() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn an_old_history_keeps_its_ends_and_the_moves_from_the_previous_kept_row() {
        // Implied: 0.2, 0.1961 (-2%), 0.1923 (-3.8% from 0.2), 0.1887 (-5.7% from 0.2: kept),
        // 0.25 (+32%: kept), 0.2439 (-2.4%), last.
        let history: Vec<PriceRow> = [5.0, 5.1, 5.2, 5.3, 4.0, 4.1, 4.15]
            .iter()
            .enumerate()
            .map(|(i, d)| row(i as u32, Some(*d)))
            .collect();
        let keep = keep_rows(&history, cutoff(), 5.0);
        assert_eq!(keep, [true, false, false, true, true, false, true]);
        // Thinning the kept rows again keeps them all.
        let kept: Vec<PriceRow> = history
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(r, _)| r.clone())
            .collect();
        assert!(keep_rows(&kept, cutoff(), 5.0).iter().all(|k| *k));
    }

    #[test]
    fn a_history_reaching_past_the_cutoff_is_kept_whole() {
        let mut history: Vec<PriceRow> = (0..5)
            .map(|i| row(i, Some(5.0 + f64::from(i) * 0.01)))
            .collect();
        history.last_mut().unwrap().observed_at = cutoff();
        assert!(keep_rows(&history, cutoff(), 5.0).iter().all(|k| *k));
    }

    #[test]
    fn a_row_without_a_decimal_is_kept_when_its_price_differs() {
        let history = vec![
            row(0, Some(5.0)),
            row(1, None),
            row(2, None),
            row(3, Some(5.0)),
        ];
        assert_eq!(
            keep_rows(&history, cutoff(), 5.0),
            [true, true, false, true]
        );
    }
}

//! The gaps the audit's coverage report expects: columns a source never sends for races
//! before a date.

use super::names;
use super::types::{Column, Source, Table, Writers};

/// A gap the audit expects: `source` never sends `columns` of `table` for races dated before
/// `before` (all columns `source` owns when `columns` is empty). Coverage shows such cells but
/// does not count them as violations.
#[derive(Debug, Clone, Copy)]
pub struct ExpectedGap {
    pub table: &'static str,
    pub source: Source,
    /// The columns concerned; empty means every column `source` owns in `table`.
    pub columns: &'static [&'static str],
    /// First race date (`YYYY-MM-DD`) the source covers; `None` means it never sends them.
    pub before: Option<&'static str>,
    pub reason: &'static str,
}

impl ExpectedGap {
    /// Whether this gap covers `column` of `table` in the month `month` (`YYYY-MM`, or `None`
    /// for the whole table).
    pub fn covers(&self, table: &Table, column: &Column, month: Option<&str>) -> bool {
        if self.table != table.name {
            return false;
        }
        let in_columns = if self.columns.is_empty() {
            matches!(column.writers, Writers::Owned { owner, .. } if owner == self.source)
        } else {
            self.columns.contains(&column.name)
        };
        in_columns
            && match (self.before, month) {
                (None, _) => true,
                // A month is covered when it starts before the first covered date.
                (Some(before), Some(month)) => {
                    // The month holding `before` is partly a gap, unless it starts on the 1st.
                    let first_month = before.get(..7).unwrap_or(before);
                    month < first_month || (month == first_month && !before.ends_with("-01"))
                }
                (Some(_), None) => false,
            }
    }
}

/// Racecards (`/racecards/pro`) reach back to 2023-01-23: older races and runners come from
/// results only, so the columns racecards own stay NULL there.
pub const RACECARDS_FIRST_DATE: &str = "2023-01-23";

/// Every gap the audit's coverage report expects (see [`ExpectedGap`]).
pub static EXPECTED_GAPS: &[ExpectedGap] = &[
    ExpectedGap {
        table: names::RUNNERS,
        source: Source::Racecard,
        columns: &[],
        before: Some(RACECARDS_FIRST_DATE),
        reason: "racecard-only fields: no racecards before 2023-01-23",
    },
    ExpectedGap {
        table: names::RACES,
        source: Source::Racecard,
        columns: &[],
        before: Some(RACECARDS_FIRST_DATE),
        reason: "racecard-only fields: no racecards before 2023-01-23",
    },
];

/// The expected gap covering `column` of `table` in `month`, if any.
pub fn expected_gap(
    table: &Table,
    column: &Column,
    month: Option<&str>,
) -> Option<&'static ExpectedGap> {
    EXPECTED_GAPS
        .iter()
        .find(|g| g.covers(table, column, month))
}

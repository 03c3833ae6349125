//! `[retention]`: how long each kind of operational data is kept (`paddock run retention`, the
//! `retention` job). Nothing is deleted unless a setting says so: every `*_days` is off by
//! default, and the daily `retention` job is on exactly when one of them is set.
//! `[archive] retention_days` is kept as an alias of `raw_days` (giving both with different
//! values is an error).

use super::file::{FileRetention, Locator};
use anyhow::{bail, Result};
use toml::Spanned;

/// The move of the implied probability (in %) that keeps an old price row, when not given.
pub const DEFAULT_ODDS_KEEP_MOVE_PERCENT: f64 = 5.0;
/// Rows deleted per transaction, when not given.
pub const DEFAULT_RETENTION_BATCH_SIZE: u32 = 5_000;

/// The effective `[retention]` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionSettings {
    /// Raw archive (`paddock_raw_responses` or the archive directory): responses fetched more
    /// than this many days ago are deleted.
    pub raw_days: Option<u32>,
    /// Price history (`ra_runner_odds`): a runner's and bookmaker's history whose newest row
    /// is older than this is thinned to its first and last rows and the moves of at least
    /// [`Self::odds_keep_move_percent`].
    pub odds_days: Option<u32>,
    /// The move of the implied probability (1 / decimal), relative to the previous kept row,
    /// that keeps a row of an old history.
    pub odds_keep_move_percent: f64,
    /// Ledger runs (`paddock_runs` with their `paddock_run_tables`) finished more than this
    /// many days ago; never a job's newest run, nor a run whose rejects are still kept.
    pub runs_days: Option<u32>,
    /// `paddock_rejects` created more than this many days ago.
    pub rejects_days: Option<u32>,
    /// Sent alerts (`paddock_alerts`, when the table exists) sent more than this many days ago.
    pub alerts_days: Option<u32>,
    /// The most rows one transaction deletes (odds: the rows read per transaction).
    pub batch_size: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            raw_days: None,
            odds_days: None,
            odds_keep_move_percent: DEFAULT_ODDS_KEEP_MOVE_PERCENT,
            runs_days: None,
            rejects_days: None,
            alerts_days: None,
            batch_size: DEFAULT_RETENTION_BATCH_SIZE,
        }
    }
}

impl RetentionSettings {
    /// Whether any data is to be deleted at all (turns the `retention` job on).
    pub fn any_set(&self) -> bool {
        [
            self.raw_days,
            self.odds_days,
            self.runs_days,
            self.rejects_days,
            self.alerts_days,
        ]
        .iter()
        .any(Option::is_some)
    }
}

/// `[retention]`, with `[archive] retention_days` as the alias of `raw_days`.
pub fn retention_settings(
    file: &FileRetention,
    archive_retention_days: Option<u32>,
    at: &Locator,
) -> Result<RetentionSettings> {
    let days = |name: &str, value: &Option<Spanned<u32>>| -> Result<Option<u32>> {
        match value {
            Some(v) if *v.get_ref() == 0 => bail!(
                "{}: retention.{name} is 0: give at least 1 day (or leave it out to keep everything)",
                at.at(v.span())
            ),
            Some(v) => Ok(Some(*v.get_ref())),
            None => Ok(None),
        }
    };
    let mut raw_days = days("raw_days", &file.raw_days)?;
    match (raw_days, archive_retention_days) {
        (Some(a), Some(b)) if a != b => bail!(
            "{}: retention.raw_days is {a} but archive.retention_days (its older name) is {b}: give one",
            at.file()
        ),
        (None, alias) => raw_days = alias,
        _ => {}
    }
    let percent = match &file.odds_keep_move_percent {
        Some(p) if !(p.get_ref().is_finite() && *p.get_ref() >= 0.0) => bail!(
            "{}: retention.odds_keep_move_percent must be a percentage of 0 or more",
            at.at(p.span())
        ),
        Some(p) => *p.get_ref(),
        None => DEFAULT_ODDS_KEEP_MOVE_PERCENT,
    };
    let batch_size = match &file.batch_size {
        Some(b) if *b.get_ref() == 0 => {
            bail!(
                "{}: retention.batch_size must be at least 1",
                at.at(b.span())
            )
        }
        Some(b) => *b.get_ref(),
        None => DEFAULT_RETENTION_BATCH_SIZE,
    };
    Ok(RetentionSettings {
        raw_days,
        odds_days: days("odds_days", &file.odds_days)?,
        odds_keep_move_percent: percent,
        runs_days: days("runs_days", &file.runs_days)?,
        rejects_days: days("rejects_days", &file.rejects_days)?,
        alerts_days: days("alerts_days", &file.alerts_days)?,
        batch_size,
    })
}

//! `[schedule]` and the schedules of jobs: the time zone cron expressions are read in, a
//! parsed cron [`Schedule`] with its [`Window`], and its next fire times
//! (computed by [`super::fire_times`]).

use super::defaults::DEFAULT_TIME_ZONE;
use super::file::{FileSchedule, Locator};
use super::fire_times::{next_fire_after, previous_fire_at_or_before};
use anyhow::{anyhow, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// `[schedule] time_zone`: an IANA time zone name (default Europe/London).
pub fn time_zone(file: &FileSchedule, at: &Locator) -> Result<Tz> {
    match &file.time_zone {
        Some(name) => name.get_ref().parse().map_err(|_| {
            anyhow!(
                "{}: schedule.time_zone {:?} is not an IANA time zone (e.g. \"Europe/London\")",
                at.at(name.span()),
                name.get_ref()
            )
        }),
        None => Ok(DEFAULT_TIME_ZONE),
    }
}

/// Which dates a RacesAndRunners run covers, for one schedule (`None`: the job's setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub racecard_days_ahead: Option<u32>,
    pub result_days_back: Option<u32>,
}

/// One cron schedule of a job, read in the configured time zone, with its window.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The cron text as written (5 fields, or 6 with seconds).
    pub cron: String,
    pub parsed: croner::Cron,
    pub window: Window,
}

impl Schedule {
    /// The first fire time strictly after `after`, right in local time across DST changes
    /// (see [`super::fire_times`]).
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        next_fire_after(&self.parsed, tz, after)
    }

    /// The last fire time at or before `at` (for catch-up), if one is within a year.
    pub fn previous_at_or_before(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        previous_fire_at_or_before(&self.parsed, tz, at)
    }
}

/// A cron expression of 5 fields, or 6 with seconds first.
pub fn parse_cron(text: &str) -> std::result::Result<croner::Cron, croner::errors::CronError> {
    croner::Cron::new(text).with_seconds_optional().parse()
}

/// The next `n` fire times of one schedule after `after`.
pub fn schedule_fire_times(
    schedule: &Schedule,
    tz: Tz,
    after: DateTime<Utc>,
    n: usize,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::with_capacity(n);
    let mut from = after;
    while out.len() < n {
        match schedule.next_after(tz, from) {
            Some(t) => {
                out.push(t);
                from = t;
            }
            None => break,
        }
    }
    out
}

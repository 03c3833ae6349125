//! When a schedule fires: cron expressions read in an IANA time zone, right across daylight
//! saving changes. Pure functions of a time; nothing here reads a clock.
//!
//! The cron pattern is matched against *local wall-clock* times (so `30 1 * * *` means 01:30 in
//! London whatever the offset), and each matching wall-clock time is then placed on the
//! timeline:
//!
//! - a local time that exists once fires at that instant;
//! - a local time that occurs twice (clocks go back) fires once, at its first occurrence;
//! - a local time that does not exist (clocks go forward) fires once, at the first instant
//!   after the gap (01:30 on 2026-03-29 in London fires at 02:00 BST), and several such times
//!   in one gap fire only once between them.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// How far ahead a search for the next fire time looks before giving up (a pattern such as
/// `0 0 30 2 *` never matches).
const SEARCH_LIMIT_DAYS: i64 = 5 * 366;

/// The first fire time of `cron` strictly after `after`.
pub fn next_fire_after(cron: &croner::Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut local = after.with_timezone(&tz).naive_local();
    let limit = local + Duration::days(SEARCH_LIMIT_DAYS);
    while local < limit {
        let wall = next_wall_time_after(cron, local)?;
        if let Some(instant) = place_on_timeline(tz, wall) {
            if instant > after {
                return Some(instant);
            }
        }
        local = wall;
    }
    None
}

/// The last fire time of `cron` at or before `at`, if there is one in the last year.
pub fn previous_fire_at_or_before(
    cron: &croner::Cron,
    tz: Tz,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    // Search windows of growing length back from `at`, so that a schedule firing every second
    // costs a few steps and a monthly one a few more, never a walk through a year of seconds.
    for window in [
        Duration::minutes(2),
        Duration::hours(2),
        Duration::days(2),
        Duration::days(9),
        Duration::days(33),
        Duration::days(367),
    ] {
        let mut from = at - window;
        let mut last = None;
        while let Some(t) = next_fire_after(cron, tz, from) {
            if t > at {
                break;
            }
            last = Some(t);
            from = t;
        }
        if last.is_some() {
            return last;
        }
    }
    None
}

/// The next wall-clock time strictly after `local` that matches the pattern (no time zone).
fn next_wall_time_after(cron: &croner::Cron, local: NaiveDateTime) -> Option<NaiveDateTime> {
    // UTC has no offset changes, so it stands in for the bare wall clock.
    let as_wall = Utc.from_utc_datetime(&local);
    cron.find_next_occurrence(&as_wall, false)
        .ok()
        .map(|t| t.naive_utc())
}

/// The instant a wall-clock time fires at: itself; its first occurrence if it occurs twice;
/// the end of the gap if it does not exist.
fn place_on_timeline(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _second) => Some(first.with_timezone(&Utc)),
        LocalResult::None => gap_end(tz, wall),
    }
}

/// The first instant after the gap that `wall` falls into: the first existing wall-clock
/// minute after it (gaps begin and end on whole minutes in every zone in use).
fn gap_end(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let minute = wall.with_second(0)?.with_nanosecond(0)?;
    (1..=24 * 60).find_map(|m| {
        tz.from_local_datetime(&(minute + Duration::minutes(m)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// The instant `now` falls due for a job last scheduled to fire after `previous`, i.e. the
/// next fire time of `cron` after `previous`, if it is not later than `now`.
pub fn due(
    cron: &croner::Cron,
    tz: Tz,
    previous: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    next_fire_after(cron, tz, previous).filter(|t| *t <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::London;

    fn cron(text: &str) -> croner::Cron {
        croner::Cron::new(text)
            .with_seconds_optional()
            .parse()
            .unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Steps a clock a minute at a time from `from` to `to` and returns every fire time the
    /// scheduler would act on, as the daemon's loop does (fire when due, then look again).
    fn fires_between(pattern: &str, from: &str, to: &str) -> Vec<DateTime<Utc>> {
        let c = cron(pattern);
        let (mut now, end) = (utc(from), utc(to));
        let mut last_considered = now;
        let mut fired = Vec::new();
        while now <= end {
            while let Some(t) = due(&c, London, last_considered, now) {
                fired.push(t);
                last_considered = t;
            }
            now += Duration::minutes(1);
        }
        fired
    }

    #[test]
    fn a_time_in_the_spring_gap_runs_once_at_the_first_instant_after_the_gap() {
        // 2026-03-29: 01:00 GMT becomes 02:00 BST; 01:30 London does not exist.
        let fired = fires_between("30 1 * * *", "2026-03-28T23:00:00Z", "2026-03-29T04:00:00Z");
        assert_eq!(
            fired,
            vec![utc("2026-03-29T01:00:00Z")],
            "02:00 BST = 01:00 UTC"
        );
    }

    #[test]
    fn several_times_in_the_spring_gap_run_once_between_them() {
        let fired = fires_between(
            "*/15 1 * * *",
            "2026-03-28T23:00:00Z",
            "2026-03-29T04:00:00Z",
        );
        assert_eq!(fired, vec![utc("2026-03-29T01:00:00Z")]);
    }

    #[test]
    fn a_time_in_the_autumn_overlap_runs_once_at_its_first_occurrence() {
        // 2026-10-25: 02:00 BST becomes 01:00 GMT; 01:30 London happens twice.
        let fired = fires_between("30 1 * * *", "2026-10-24T22:00:00Z", "2026-10-25T04:00:00Z");
        assert_eq!(
            fired,
            vec![utc("2026-10-25T00:30:00Z")],
            "01:30 BST = 00:30 UTC"
        );
    }

    #[test]
    fn a_daily_time_keeps_its_local_hour_across_both_changes() {
        let spring = fires_between("0 6 * * *", "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z");
        assert_eq!(
            spring,
            vec![utc("2026-03-28T06:00:00Z"), utc("2026-03-29T05:00:00Z")]
        );
        let autumn = fires_between("0 6 * * *", "2026-10-24T00:00:00Z", "2026-10-26T00:00:00Z");
        assert_eq!(
            autumn,
            vec![utc("2026-10-24T05:00:00Z"), utc("2026-10-25T06:00:00Z")]
        );
    }

    #[test]
    fn the_previous_fire_time_is_found_for_second_and_monthly_schedules() {
        let at = utc("2026-05-10T12:00:07.5Z");
        assert_eq!(
            previous_fire_at_or_before(&cron("*/5 * * * * *"), London, at),
            Some(utc("2026-05-10T12:00:05Z"))
        );
        assert_eq!(
            previous_fire_at_or_before(&cron("0 3 1 * *"), London, at),
            Some(utc("2026-05-01T02:00:00Z")),
            "03:00 BST on the 1st"
        );
    }

    #[test]
    fn a_pattern_that_never_matches_has_no_next_fire_time() {
        assert_eq!(
            next_fire_after(&cron("0 0 30 2 *"), London, utc("2026-01-01T00:00:00Z")),
            None
        );
    }
}

//! The daemon's timetable: for every schedule of every enabled job, the next fire time, and
//! which ticks are due at a given moment. Driven by the time it is given, never by a clock.

use crate::config::{Config, JobKind, Window};
use chrono::{DateTime, Utc};

/// One tick of a job: the schedule that fired and when it was meant to.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub job: JobKind,
    /// Index into the job's `schedules`.
    pub schedule: usize,
    pub window: Window,
    pub fire_time: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Entry {
    job: JobKind,
    schedule: usize,
    cron: croner::Cron,
    window: Window,
    next: Option<DateTime<Utc>>,
}

/// Next fire times of every enabled job's schedules.
#[derive(Debug, Clone)]
pub struct Timetable {
    time_zone: chrono_tz::Tz,
    entries: Vec<Entry>,
}

impl Timetable {
    /// The timetable of `config` as of `now`: every schedule's first fire time after `now`.
    pub fn new(config: &Config, now: DateTime<Utc>) -> Self {
        let tz = config.time_zone;
        let entries = config
            .jobs
            .values()
            .filter(|job| job.enabled)
            .flat_map(|job| {
                job.schedules.iter().enumerate().map(move |(i, s)| Entry {
                    job: job.kind,
                    schedule: i,
                    cron: s.parsed.clone(),
                    window: s.window,
                    next: s.next_after(tz, now),
                })
            })
            .collect();
        Timetable {
            time_zone: tz,
            entries,
        }
    }

    /// The ticks due at `now`, at most one per job (when two schedules of a job fire together,
    /// the first listed wins). Each schedule then moves to its first fire time after `now`, so
    /// a clock that jumped over several fire times (a suspended machine) yields one tick, not
    /// one per missed time.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<Tick> {
        let mut due: Vec<Tick> = Vec::new();
        for entry in &mut self.entries {
            let Some(next) = entry.next.filter(|t| *t <= now) else {
                continue;
            };
            if !due.iter().any(|t| t.job == entry.job) {
                due.push(Tick {
                    job: entry.job,
                    schedule: entry.schedule,
                    window: entry.window,
                    fire_time: next,
                });
            }
            entry.next = crate::daemon::timing::next_fire_after(&entry.cron, self.time_zone, now);
        }
        due
    }

    /// The earliest upcoming fire time of any schedule.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.entries.iter().filter_map(|e| e.next).min()
    }

    /// Each enabled job's next fire time, soonest first.
    pub fn next_per_job(&self) -> Vec<(JobKind, DateTime<Utc>)> {
        let mut out: Vec<(JobKind, DateTime<Utc>)> = Vec::new();
        for e in &self.entries {
            let Some(next) = e.next else { continue };
            match out.iter_mut().find(|(job, _)| *job == e.job) {
                Some((_, t)) if next < *t => *t = next,
                Some(_) => {}
                None => out.push((e.job, next)),
            }
        }
        out.sort_by_key(|(_, t)| *t);
        out
    }
}

/// The latest fire time of any of `job`'s schedules at or before `at`.
pub fn previous_fire(
    config: &Config,
    job: &crate::config::JobSettings,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    job.schedules
        .iter()
        .filter_map(|s| s.previous_at_or_before(config.time_zone, at))
        .max()
}

/// Whether a job needs a catch-up run at `now`: its latest fire time is later than its last
/// success (or it never succeeded). One catch-up covers any number of missed ticks.
pub fn needs_catch_up(
    config: &Config,
    job: &crate::config::JobSettings,
    last_success: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let previous = previous_fire(config, job, now)?;
    match last_success {
        Some(t) if t >= previous => None,
        _ => Some(previous),
    }
}

#[cfg(test)]
mod tests {
    use crate::daemon::clock::{Clock, ManualClock};
    use crate::daemon::timetable::*;
    use std::collections::BTreeMap;

    fn config(text: &str) -> Config {
        Config::from_toml(text, &BTreeMap::<String, String>::new()).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    const ONLY_DAILY_0130: &str = "[jobs.master_reference]\nenabled = false\n\
        [jobs.master_entities_weekly]\nenabled = false\n\
        [jobs.races_and_runners]\nenabled = false\n\
        [jobs.derive_full]\nenabled = false\n\
        [jobs.master_entities_daily]\ncron = \"30 1 * * *\"\n";

    /// Runs the timetable on a clock stepped every `step` seconds from `from` to `to`.
    fn ticks(config: &Config, from: &str, to: &str, step: i64) -> Vec<Tick> {
        let clock = ManualClock::at(utc(from));
        let mut table = Timetable::new(config, clock.now());
        let mut out = Vec::new();
        while clock.now() <= utc(to) {
            out.extend(table.take_due(clock.now()));
            clock.advance(chrono::Duration::seconds(step));
        }
        out
    }

    #[test]
    fn the_daemon_runs_0130_once_at_0200_bst_on_the_spring_change() {
        let c = config(ONLY_DAILY_0130);
        let fired = ticks(&c, "2026-03-28T23:59:00Z", "2026-03-29T03:00:00Z", 7);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].fire_time, utc("2026-03-29T01:00:00Z"));
        assert_eq!(fired[0].job, JobKind::MasterEntitiesDaily);
    }

    #[test]
    fn the_daemon_runs_0130_once_on_the_autumn_change() {
        let c = config(ONLY_DAILY_0130);
        let fired = ticks(&c, "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z", 7);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].fire_time, utc("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn a_job_whose_last_success_predates_its_previous_fire_time_needs_one_catch_up() {
        let c = config(ONLY_DAILY_0130);
        let job = c.job(JobKind::MasterEntitiesDaily);
        let now = utc("2026-06-10T12:00:00Z");
        // Last success five days ago: five ticks missed, one catch-up for the latest.
        assert_eq!(
            needs_catch_up(&c, job, Some(utc("2026-06-05T00:31:00Z")), now),
            Some(utc("2026-06-10T00:30:00Z"))
        );
        assert_eq!(
            needs_catch_up(&c, job, None, now),
            Some(utc("2026-06-10T00:30:00Z"))
        );
        assert_eq!(
            needs_catch_up(&c, job, Some(utc("2026-06-10T00:40:00Z")), now),
            None,
            "succeeded after its latest fire time"
        );
    }

    #[test]
    fn a_clock_jump_over_many_fire_times_gives_one_tick() {
        let c = config(
            "[jobs.master_reference]\ncron = \"*/5 * * * *\"\n\
             [jobs.master_entities_daily]\nenabled = false\n\
             [jobs.master_entities_weekly]\nenabled = false\n\
             [jobs.races_and_runners]\nenabled = false\n\
             [jobs.derive_full]\nenabled = false\n",
        );
        let mut table = Timetable::new(&c, utc("2026-06-01T10:00:00Z"));
        let due = table.take_due(utc("2026-06-01T13:02:00Z"));
        assert_eq!(due.len(), 1);
        assert_eq!(table.next_due(), Some(utc("2026-06-01T13:05:00Z")));
    }

    #[test]
    fn a_job_with_two_schedules_fires_on_both_and_once_when_they_coincide() {
        let c = config(
            "[jobs.master_reference]\nenabled = false\n\
             [jobs.master_entities_daily]\nenabled = false\n\
             [jobs.master_entities_weekly]\nenabled = false\n\
             [jobs.derive_full]\nenabled = false\n\
             [jobs.races_and_runners]\ncron = \"0 6 * * *\"\n\
             [[jobs.races_and_runners.schedules]]\ncron = \"0 */2 * * *\"\nracecard_days_ahead = 0\nresult_days_back = 0\n",
        );
        // Summer: London = UTC+1. 06:00 London = 05:00 UTC, where both fire (06:00 is even).
        let fired = ticks(&c, "2026-06-01T02:30:00Z", "2026-06-01T07:30:00Z", 60);
        let times: Vec<_> = fired.iter().map(|t| (t.fire_time, t.schedule)).collect();
        assert_eq!(
            times,
            vec![
                (utc("2026-06-01T03:00:00Z"), 1),
                (utc("2026-06-01T05:00:00Z"), 0),
                (utc("2026-06-01T07:00:00Z"), 1),
            ]
        );
        assert_eq!(fired[0].window.racecard_days_ahead, Some(0));
    }
}

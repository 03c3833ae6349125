//! Freshness: the latest race and result dates, races past their start by more than the
//! configured delay without a result (abandoned races excepted), and each job's last
//! successful run against its schedule.
//!
//! A job is overdue when it has not succeeded since the scheduled fire time *before* the latest
//! one: a run in progress for the latest fire time is not yet late, a whole missed period is.

use crate::audit::db::{as_text, bind_integer, count, instant, text, AuditDb};
use crate::audit::report::{Freshness, JobFreshness, LateRace};
use crate::config::Config;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use fetchers::registry::names;
use fetchers::registry::ColumnType;
use fetchers::rows::Value;

/// One job's schedule as the audit needs it.
#[derive(Debug, Clone)]
pub struct JobSchedule {
    /// The ledger's job name (`paddock_runs.job`).
    pub job: String,
    pub cron_text: String,
    pub cron: croner::Cron,
    pub enabled: bool,
    pub time_zone: Tz,
}

/// The jobs and their schedules, read from the configuration (`[schedule]`, `[jobs.*]`).
/// This is the one place that knows where schedules live in the configuration.
pub fn job_schedules(config: &Config) -> Vec<JobSchedule> {
    config
        .jobs
        .values()
        .flat_map(|j| {
            // A job with several schedules is checked against each: it is overdue when it has
            // not succeeded since the fire time before the latest one of any of them.
            j.schedules.iter().map(move |s| JobSchedule {
                job: j.kind.name().to_string(),
                cron_text: s.cron.clone(),
                cron: s.parsed.clone(),
                enabled: j.enabled,
                time_zone: config.time_zone,
            })
        })
        .collect()
}

/// The last two fire times of `schedule` at or before `now` (latest last).
pub fn last_two_fire_times(schedule: &JobSchedule, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let now_local = now.with_timezone(&schedule.time_zone);
    let mut lookback = Duration::days(2);
    loop {
        let start = now_local - lookback;
        let fires: Vec<DateTime<Utc>> = schedule
            .cron
            .clone()
            .iter_after(start)
            .take_while(|t| *t <= now_local)
            .map(|t| t.with_timezone(&Utc))
            .collect();
        if fires.len() >= 2 || lookback > Duration::days(800) {
            let skip = fires.len().saturating_sub(2);
            return fires.into_iter().skip(skip).collect();
        }
        lookback = lookback * 4;
    }
}

/// Freshness of the data and the jobs at `now`.
pub async fn freshness(
    db: &AuditDb,
    schedules: &[JobSchedule],
    now: DateTime<Utc>,
    result_delay_minutes: i64,
    sample_size: u32,
) -> anyhow::Result<Freshness> {
    let races = db.table(names::RACES);
    let dates = db
        .rows(&format!(
            "SELECT {}, {} FROM {races}",
            db.date_text("MAX(race_date)"),
            db.date_text("MAX(CASE WHEN has_result THEN race_date END)")
        ))
        .await?;
    let cutoff = now - Duration::minutes(result_delay_minutes);
    let late = db
        .query(|p| {
            format!(
                "SELECT COUNT(*) OVER (), {}, {}, {} FROM {races} \
                 WHERE NOT COALESCE(has_result, FALSE) AND NOT COALESCE(is_abandoned, FALSE) \
                 AND (off_dt < {} OR (off_dt IS NULL AND race_date < {})) \
                 ORDER BY race_date, id LIMIT {}",
                as_text("id"),
                db.date_text("race_date"),
                db.timestamp_text("off_dt"),
                p.add(Value::Timestamp(cutoff), ColumnType::Timestamp),
                p.add(Value::Date(cutoff.date_naive()), ColumnType::Date),
                bind_integer(p, i64::from(sample_size.max(1)))
            )
        })
        .await?;
    let successes = db
        .rows(&format!(
            "SELECT job, {} FROM {} WHERE status IN ('succeeded', 'partial') GROUP BY job",
            db.timestamp_text("MAX(COALESCE(finished_at, started_at))"),
            db.table("paddock_runs")
        ))
        .await?;
    let jobs = schedules
        .iter()
        .map(|s| {
            let last_success = successes
                .iter()
                .find(|r| text(&r[0]) == s.job)
                .and_then(|r| instant(&r[1]));
            let fires = last_two_fire_times(s, now);
            // Due since the fire time before the latest one (none yet: not due).
            let due_since = (fires.len() == 2).then(|| fires[0]);
            let overdue = s.enabled
                && due_since.is_some_and(|due| last_success.is_none_or(|done| done < due));
            JobFreshness {
                job: s.job.clone(),
                cron: s.cron_text.clone(),
                enabled: s.enabled,
                last_success,
                due_since,
                overdue,
            }
        })
        .collect();
    Ok(Freshness {
        latest_race_date: dates.first().and_then(|r| r[0].clone()),
        latest_result_date: dates.first().and_then(|r| r[1].clone()),
        result_delay_minutes,
        races_without_result: late.first().map(|r| count(&r[0])).unwrap_or(0),
        samples: late
            .iter()
            .take(sample_size as usize)
            .map(|r| LateRace {
                race_id: text(&r[1]),
                race_date: r[2].clone(),
                off_dt: r[3].clone(),
            })
            .collect(),
        jobs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn schedule(cron: &str) -> JobSchedule {
        JobSchedule {
            job: "races_and_runners".into(),
            cron_text: cron.into(),
            cron: croner::Cron::new(cron).parse().unwrap(),
            enabled: true,
            time_zone: chrono_tz::Europe::London,
        }
    }

    #[test]
    fn the_last_two_fire_times_are_found_in_the_schedule_time_zone() {
        // 2024-07-10 is in British Summer Time: 06:00 and 12:00 London are 05:00 and 11:00 UTC.
        let now = Utc.with_ymd_and_hms(2024, 7, 10, 11, 30, 0).unwrap();
        let fires = last_two_fire_times(&schedule("0 6,12,18 * * *"), now);
        assert_eq!(
            fires,
            vec![
                Utc.with_ymd_and_hms(2024, 7, 10, 5, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2024, 7, 10, 11, 0, 0).unwrap(),
            ]
        );
        // A monthly schedule looks back far enough to find two.
        let monthly = last_two_fire_times(&schedule("0 3 1 * *"), now);
        assert_eq!(monthly.len(), 2);
        assert_eq!(
            monthly[0],
            Utc.with_ymd_and_hms(2024, 6, 1, 2, 0, 0).unwrap()
        );
    }
}

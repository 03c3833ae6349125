//! `[jobs.NAME]`: which jobs exist ([`JobKind`], each with its name and defaults in one table,
//! [`JobKind::spec`]), and each job's effective settings ([`JobSettings`]): enabled, its
//! schedules with their windows, the RacesAndRunners window and the MasterEntities budget.
//!
//! Adding a job kind: a variant of [`JobKind`], its row in [`JobKind::spec`] and its line in
//! [`JobSettings::summary`] (the compiler points at both), plus the run it starts outside the
//! configuration.

use super::defaults::{DEFAULT_RESULT_DAYS_BACK, MAX_RACECARD_DAYS_AHEAD};
use super::file::{FileJob, FileJobSchedule, Locator};
use super::schedule::{parse_cron, schedule_fire_times, Schedule, Window};
use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use toml::Spanned;

/// Which job a schedule entry runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobKind {
    MasterReference,
    MasterEntitiesDaily,
    MasterEntitiesWeekly,
    RacesAndRunners,
    /// The full rebuild of the derived tables (`crate::run::run_full_rebuild`): no API
    /// request. Weekly by default.
    DeriveFull,
    /// The read-only audit recorded as a run (`crate::run::run_recorded_audit`): no API request. Off by
    /// default.
    Audit,
    /// The SQLite analytics copy (`crate::run::run_publish`, `crate::publish`): no API
    /// request. On by default only when `[publish] path` is set.
    Publish,
    /// Retention (`crate::run::run_retention`, `crate::retention`): no API request. On by
    /// default only when a `[retention]` setting is set.
    Retention,
}

/// A job kind's name and built-in defaults.
#[derive(Debug, Clone, Copy)]
pub struct JobKindSpec {
    /// The name used in the config file (`[jobs.NAME]`), the ledger, job locks and logs.
    pub name: &'static str,
    /// The schedule when the file gives neither `cron` nor `schedules`.
    pub default_cron: &'static str,
    /// Whether the job asks the API (the other kinds work on the stored data alone).
    pub uses_api: bool,
    /// Whether the job runs when its section does not say `enabled`.
    pub enabled_by_default: bool,
    /// MasterEntities: the most `/horses/{id}/pro` requests one run may make.
    pub profile_budget: u32,
    /// MasterEntities: also fetch profiles of sires/dams/damsires (as horses).
    pub include_pedigree_horses: bool,
}

/// The defaults most kinds share; each row of [`JobKind::spec`] says how it differs.
const ORDINARY_JOB: JobKindSpec = JobKindSpec {
    name: "",
    default_cron: "",
    uses_api: true,
    enabled_by_default: true,
    profile_budget: 500,
    include_pedigree_horses: false,
};

impl JobKind {
    pub const ALL: [JobKind; 8] = [
        JobKind::MasterReference,
        JobKind::MasterEntitiesDaily,
        JobKind::MasterEntitiesWeekly,
        JobKind::RacesAndRunners,
        JobKind::DeriveFull,
        JobKind::Audit,
        JobKind::Publish,
        JobKind::Retention,
    ];

    /// The kind's name and defaults: the one table of job kinds.
    pub const fn spec(self) -> JobKindSpec {
        match self {
            JobKind::MasterReference => JobKindSpec {
                name: "master_reference",
                // 03:00 on the 1st of every month.
                default_cron: "0 3 1 * *",
                ..ORDINARY_JOB
            },
            JobKind::MasterEntitiesDaily => JobKindSpec {
                name: "master_entities_daily",
                // 01:30 every day.
                default_cron: "30 1 * * *",
                ..ORDINARY_JOB
            },
            JobKind::MasterEntitiesWeekly => JobKindSpec {
                name: "master_entities_weekly",
                // 02:00 every Sunday.
                default_cron: "0 2 * * SUN",
                profile_budget: 5000,
                include_pedigree_horses: true,
                ..ORDINARY_JOB
            },
            JobKind::RacesAndRunners => JobKindSpec {
                name: "races_and_runners",
                // 06:00, 12:00 and 18:00 every day.
                default_cron: "0 6,12,18 * * *",
                ..ORDINARY_JOB
            },
            JobKind::DeriveFull => JobKindSpec {
                name: "derive_full",
                // 04:00 every Sunday.
                default_cron: "0 4 * * SUN",
                uses_api: false,
                ..ORDINARY_JOB
            },
            JobKind::Audit => JobKindSpec {
                name: "audit",
                // 05:00 every day (when enabled).
                default_cron: "0 5 * * *",
                uses_api: false,
                enabled_by_default: false,
                ..ORDINARY_JOB
            },
            JobKind::Publish => JobKindSpec {
                name: "publish",
                // 06:30, 12:30 and 18:30 every day: half an hour after each races-and-runners
                // run, so the copy carries its results.
                default_cron: "30 6,12,18 * * *",
                uses_api: false,
                // Turned on by a `[publish] path` (see `job_settings`).
                enabled_by_default: false,
                ..ORDINARY_JOB
            },
            JobKind::Retention => JobKindSpec {
                name: "retention",
                // 03:30 every day: the quiet hour before the morning's fetches.
                default_cron: "30 3 * * *",
                uses_api: false,
                // Turned on by any `[retention]` setting (see `job_settings`).
                enabled_by_default: false,
                ..ORDINARY_JOB
            },
        }
    }

    /// The name used in the config file (`[jobs.NAME]`), the ledger, job locks and logs.
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the job asks the API (the other kinds work on the stored data alone).
    pub fn uses_api(self) -> bool {
        self.spec().uses_api
    }

    /// Whether the job runs when its section does not say `enabled`: every job but the audit,
    /// which is optional, and the analytics copy, which needs `[publish] path`.
    pub fn enabled_by_default(self) -> bool {
        self.spec().enabled_by_default
    }

    /// The built-in schedule.
    pub fn default_cron(self) -> &'static str {
        self.spec().default_cron
    }
}

/// One job's schedules and window settings.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub kind: JobKind,
    pub enabled: bool,
    /// Every schedule of the job: `cron` first (the built-in default when neither `cron` nor
    /// `schedules` is given), then each `[[jobs.NAME.schedules]]` entry. Never empty.
    pub schedules: Vec<Schedule>,
    /// RacesAndRunners: racecards for today … today + N (the API serves 7).
    pub racecard_days_ahead: u32,
    /// RacesAndRunners: results for today − M … today.
    pub result_days_back: u32,
    /// MasterEntities: the most `/horses/{id}/pro` requests one run may make.
    pub profile_budget: u32,
    /// MasterEntities: also fetch profiles of sires/dams/damsires (as horses).
    pub include_pedigree_horses: bool,
}

impl JobSettings {
    /// The next `n` fire times of every schedule after `after`, merged in time order.
    pub fn next_fire_times(&self, after: DateTime<Tz>, n: usize) -> Vec<DateTime<Tz>> {
        let tz = after.timezone();
        let mut times: Vec<DateTime<Utc>> = self
            .schedules
            .iter()
            .flat_map(|s| schedule_fire_times(s, tz, after.with_timezone(&Utc), n))
            .collect();
        times.sort();
        times.dedup();
        times.truncate(n);
        times.into_iter().map(|t| t.with_timezone(&tz)).collect()
    }

    /// What the job does with its settings, for `paddock config` (empty when nothing to say).
    pub fn summary(&self) -> String {
        match self.kind {
            JobKind::RacesAndRunners => format!(
                " racecards today..+{}d, results -{}d..today",
                self.racecard_days_ahead, self.result_days_back
            ),
            JobKind::MasterEntitiesDaily | JobKind::MasterEntitiesWeekly => {
                format!(" profile budget {}", self.profile_budget)
            }
            JobKind::DeriveFull => " full rebuild of the derived tables, no API request".into(),
            JobKind::Audit => " read-only audit, no API request".into(),
            JobKind::Publish => " SQLite analytics copy to [publish] path, no API request".into(),
            JobKind::Retention => " deletes what [retention] says, no API request".into(),
            JobKind::MasterReference => String::new(),
        }
    }
}

/// Every job's settings from `[jobs.NAME]` (a job without a section takes its defaults); a
/// section naming no job is an error. `publish_path_set`: `[publish] path` is given, which
/// turns the `publish` job on unless its section says otherwise; `retention_set`: a
/// `[retention]` setting is given, which does the same for the `retention` job.
pub fn job_settings(
    file: BTreeMap<Spanned<String>, FileJob>,
    publish_path_set: bool,
    retention_set: bool,
    at: &Locator,
) -> Result<BTreeMap<JobKind, JobSettings>> {
    if let Some(unknown) = file
        .keys()
        .find(|k| JobKind::from_name(k.get_ref()).is_none())
    {
        let names: Vec<String> = JobKind::ALL.map(|k| format!("`{}`", k.name())).to_vec();
        bail!(
            "{}: unknown job `{}` in [jobs], expected one of {}",
            at.at(unknown.span()),
            unknown.get_ref(),
            names.join(", ")
        );
    }
    let mut by_name: BTreeMap<String, FileJob> =
        file.into_iter().map(|(k, v)| (k.into_inner(), v)).collect();
    let mut jobs = BTreeMap::new();
    for kind in JobKind::ALL {
        let job = by_name.remove(kind.name()).unwrap_or_default();
        let explicit_enabled = job.enabled.is_some();
        let mut settings = one_job(kind, job, at)?;
        let turned_on = match kind {
            JobKind::Publish => publish_path_set,
            JobKind::Retention => retention_set,
            _ => false,
        };
        if turned_on && !explicit_enabled {
            settings.enabled = true;
        }
        jobs.insert(kind, settings);
    }
    Ok(jobs)
}

/// One job's settings from its section.
fn one_job(kind: JobKind, job: FileJob, at: &Locator) -> Result<JobSettings> {
    let spec = kind.spec();
    let schedules = schedules(kind, &job, at)?;
    let racecard_days_ahead = match &job.racecard_days_ahead {
        Some(d) if *d.get_ref() > MAX_RACECARD_DAYS_AHEAD => bail!(
            "{}: jobs.{}.racecard_days_ahead is {}, but the API serves racecards at most 7 days ahead",
            at.at(d.span()),
            kind.name(),
            d.get_ref()
        ),
        Some(d) => *d.get_ref(),
        None => MAX_RACECARD_DAYS_AHEAD,
    };
    Ok(JobSettings {
        kind,
        enabled: job.enabled.unwrap_or(spec.enabled_by_default),
        schedules,
        racecard_days_ahead,
        result_days_back: job.result_days_back.unwrap_or(DEFAULT_RESULT_DAYS_BACK),
        profile_budget: job.profile_budget.unwrap_or(spec.profile_budget),
        include_pedigree_horses: job
            .include_pedigree_horses
            .unwrap_or(spec.include_pedigree_horses),
    })
}

/// The job's `cron` (or the default when it has neither `cron` nor `schedules`), then each of
/// its `[[jobs.NAME.schedules]]`.
fn schedules(kind: JobKind, job: &FileJob, at: &Locator) -> Result<Vec<Schedule>> {
    let mut schedules = Vec::new();
    let main_cron = match &job.cron {
        Some(c) => Some((c.get_ref().clone(), at.at(c.span()))),
        None if job.schedules.is_none() => {
            Some((kind.default_cron().to_string(), at.file().to_string()))
        }
        None => None,
    };
    if let Some((cron, cron_at)) = main_cron {
        let parsed = parse_cron(&cron)
            .map_err(|e| anyhow!("{cron_at}: jobs.{}.cron {cron:?}: {e}", kind.name()))?;
        schedules.push(Schedule {
            cron,
            parsed,
            window: Window::default(),
        });
    }
    let extra = job.schedules.as_ref().map_or(&[][..], |s| s.get_ref());
    for (i, entry) in extra.iter().enumerate() {
        schedules.push(extra_schedule(kind, i, entry, at)?);
    }
    if schedules.is_empty() {
        let place = job
            .schedules
            .as_ref()
            .map_or_else(|| at.file().to_string(), |s| at.at(s.span()));
        bail!(
            "{place}: jobs.{}.schedules is empty: give at least one schedule, or disable the job with enabled = false",
            kind.name()
        );
    }
    Ok(schedules)
}

/// One `[[jobs.NAME.schedules]]` entry; only races_and_runners takes a window.
fn extra_schedule(
    kind: JobKind,
    i: usize,
    entry: &FileJobSchedule,
    at: &Locator,
) -> Result<Schedule> {
    let key = format!("jobs.{}.schedules[{i}]", kind.name());
    let cron = entry.cron.get_ref().clone();
    let parsed = parse_cron(&cron)
        .map_err(|e| anyhow!("{}: {key}.cron {cron:?}: {e}", at.at(entry.cron.span())))?;
    let has_window = entry.racecard_days_ahead.is_some() || entry.result_days_back.is_some();
    if has_window && kind != JobKind::RacesAndRunners {
        bail!(
            "{}: {key}: a window (racecard_days_ahead, result_days_back) applies only to races_and_runners",
            at.at(entry.cron.span())
        );
    }
    if let Some(d) = entry
        .racecard_days_ahead
        .as_ref()
        .filter(|d| *d.get_ref() > MAX_RACECARD_DAYS_AHEAD)
    {
        bail!(
            "{}: {key}.racecard_days_ahead is {}, but the API serves racecards at most 7 days ahead",
            at.at(d.span()),
            d.get_ref()
        );
    }
    Ok(Schedule {
        cron,
        parsed,
        window: Window {
            racecard_days_ahead: entry.racecard_days_ahead.as_ref().map(|d| *d.get_ref()),
            result_days_back: entry.result_days_back.as_ref().map(|d| *d.get_ref()),
        },
    })
}

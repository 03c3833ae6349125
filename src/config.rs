//! Configuration: the TOML file, environment overrides, `.env` and systemd credentials, merged
//! with the precedence command-line flag > environment > config file > built-in default.
//!
//! Secrets (the API password, a database URL with a password) are held in [`Secret`], whose
//! `Debug` and `Display` never show the value.

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The default SQLite database, in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://paddock.db";
/// The real API.
pub use crate::client::DEFAULT_BASE_URL as DEFAULT_API_BASE_URL;

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself, for the one place that needs it (HTTP auth, the connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A database URL whose password is masked when shown.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(Secret::new(url))
    }
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
    /// The URL with any password replaced by `***`.
    pub fn masked(&self) -> String {
        mask_url_password(self.0.expose())
    }
    pub fn is_postgres(&self) -> bool {
        let u = self.expose();
        u.starts_with("postgres://") || u.starts_with("postgresql://")
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// The one URL-password masking function ([`crate::store::mask_url`]), under its old name.
pub use crate::store::mask_url as mask_url_password;

// ---------------------------------------------------------------------------------------------
// The file format.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    api: FileApi,
    #[serde(default)]
    database: FileDatabase,
    #[serde(default)]
    schedule: FileSchedule,
    #[serde(default)]
    jobs: FileJobs,
    #[serde(default)]
    bookmakers: FileBookmakers,
    #[serde(default)]
    simulator: FileSimulator,
    #[serde(default)]
    audit: FileAudit,
    #[serde(default)]
    daemon: FileDaemon,
    #[serde(default)]
    archive: crate::archive::ArchiveSettings,
    #[serde(default)]
    derive: FileDerive,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAudit {
    schema: Option<Spanned<String>>,
    result_delay_minutes: Option<i64>,
    sample_size: Option<u32>,
    trail_runs: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDaemon {
    listen: Option<Spanned<String>>,
    grace_secs: Option<u64>,
    standby_poll_secs: Option<Spanned<u64>>,
}

/// One extra schedule of a job (`[[jobs.NAME.schedules]]`), with an optional window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJobSchedule {
    cron: Spanned<String>,
    racecard_days_ahead: Option<Spanned<u32>>,
    result_days_back: Option<Spanned<u32>>,
}

/// `[derive]`: the derived tables' settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDerive {
    /// Lower bounds of the distance bands in furlongs (default 5, 7, 9, 12, 16).
    distance_bands: Option<Spanned<Vec<u32>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSimulator {
    faults: Option<SimulatorFaults>,
}

/// `[simulator.faults]`: fault injection for `paddock simulate-api`, as plain settings so that
/// the configuration does not depend on the simulator; `simulate_api` converts them
/// where the simulator is started. Each key means what the field of the same name on
/// `simulator::Faults` means (documented there and in `config/paddock.toml`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorFaults {
    pub latency_ms: u64,
    pub rate_limit_every: Option<u64>,
    pub retry_after_secs: u64,
    pub max_rate_per_sec: Option<f64>,
    pub server_error_rate: f64,
    pub hang_every: Option<u64>,
    pub hang_ms: u64,
    pub truncate_every: Option<u64>,
    pub malformed_values: bool,
    pub extra_fields: bool,
    pub drop_record_every: Option<u64>,
    pub pre_race_changes: bool,
    pub late_result_requests: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApi {
    base_url: Option<String>,
    regions: Option<Spanned<Vec<String>>>,
    rate_limit_per_second: Option<Spanned<f64>>,
    rate_limit_margin_percent: Option<Spanned<f64>>,
    timeout_secs: Option<u64>,
    max_attempts: Option<u32>,
    backoff_min_ms: Option<u64>,
    backoff_max_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDatabase {
    url: Option<String>,
    /// The table-rename phase the database must be in (`legacy`, `dual-write`, …).
    expected_rename_phase: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSchedule {
    time_zone: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJobs {
    master_reference: Option<FileJob>,
    master_entities_daily: Option<FileJob>,
    master_entities_weekly: Option<FileJob>,
    races_and_runners: Option<FileJob>,
    derive_full: Option<FileJob>,
    audit: Option<FileJob>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJob {
    enabled: Option<bool>,
    cron: Option<Spanned<String>>,
    racecard_days_ahead: Option<Spanned<u32>>,
    result_days_back: Option<u32>,
    profile_budget: Option<u32>,
    include_pedigree_horses: Option<bool>,
    schedules: Option<Vec<FileJobSchedule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBookmakers {
    names: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// The effective configuration.

/// API access settings.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub base_url: String,
    pub username: Option<Secret>,
    pub password: Option<Secret>,
    pub regions: Vec<String>,
    pub rate_limit_per_second: f64,
    /// Added to the period between requests, in percent (default 2, at most 5): grants are
    /// spaced this much wider than the limit so that scheduling jitter between a grant and the
    /// request reaching the API never makes two arrivals closer than the limit.
    pub rate_limit_margin_percent: f64,
    pub timeout_secs: u64,
    pub max_attempts: u32,
    /// The first retry's backoff (the floor); each further retry doubles it, with jitter.
    pub backoff_min_ms: u64,
    /// The longest backoff (the ceiling).
    pub backoff_max_ms: u64,
}

/// Which job a schedule entry runs. Adding a kind: a variant here, its [`JobKind::name`] and
/// default cron, its `[jobs.NAME]` field in `FileJobs`, and its [`crate::app::JobRequest`];
/// the compiler points at each exhaustive match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobKind {
    MasterReference,
    MasterEntitiesDaily,
    MasterEntitiesWeekly,
    RacesAndRunners,
    /// The full rebuild of the derived tables ([`crate::derive::run_full_rebuild`]): no API
    /// request. Weekly by default.
    DeriveFull,
    /// The read-only audit recorded as a run ([`crate::audit::job`]): no API request. Off by
    /// default.
    Audit,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::MasterReference,
        JobKind::MasterEntitiesDaily,
        JobKind::MasterEntitiesWeekly,
        JobKind::RacesAndRunners,
        JobKind::DeriveFull,
        JobKind::Audit,
    ];

    /// The name used in the config file (`[jobs.NAME]`), the ledger, job locks and logs.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::MasterReference => "master_reference",
            JobKind::MasterEntitiesDaily => "master_entities_daily",
            JobKind::MasterEntitiesWeekly => "master_entities_weekly",
            JobKind::RacesAndRunners => "races_and_runners",
            JobKind::DeriveFull => crate::derive::FULL_REBUILD_JOB,
            JobKind::Audit => "audit",
        }
    }

    /// Whether the job asks the API (the other kinds work on the stored data alone).
    pub fn uses_api(self) -> bool {
        match self {
            JobKind::MasterReference
            | JobKind::MasterEntitiesDaily
            | JobKind::MasterEntitiesWeekly
            | JobKind::RacesAndRunners => true,
            JobKind::DeriveFull | JobKind::Audit => false,
        }
    }

    /// Whether the job runs when its section does not say `enabled`: every job but the audit,
    /// which is optional.
    pub fn enabled_by_default(self) -> bool {
        self != JobKind::Audit
    }

    fn default_cron(self) -> &'static str {
        match self {
            // 03:00 on the 1st of every month.
            JobKind::MasterReference => "0 3 1 * *",
            // 01:30 every day.
            JobKind::MasterEntitiesDaily => "30 1 * * *",
            // 02:00 every Sunday.
            JobKind::MasterEntitiesWeekly => "0 2 * * SUN",
            // 06:00, 12:00 and 18:00 every day.
            JobKind::RacesAndRunners => "0 6,12,18 * * *",
            // 04:00 every Sunday.
            JobKind::DeriveFull => crate::derive::FULL_REBUILD_DEFAULT_CRON,
            // 05:00 every day (when enabled).
            JobKind::Audit => "0 5 * * *",
        }
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
    /// (see [`crate::daemon::timing`]).
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        crate::daemon::timing::next_fire_after(&self.parsed, tz, after)
    }

    /// The last fire time at or before `at` (for catch-up), if one is within a year.
    pub fn previous_at_or_before(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        crate::daemon::timing::previous_fire_at_or_before(&self.parsed, tz, at)
    }
}

/// The daemon's own settings (`[daemon]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSettings {
    /// Loopback address for `/healthz` and `/metrics`; off when `None` (the default).
    pub listen: Option<std::net::SocketAddr>,
    /// How long a shutdown waits for running jobs to stop between pages. Default 30 s.
    pub grace: std::time::Duration,
    /// How often a standby instance tries to take a job's lock. Default 5 s.
    pub standby_poll: std::time::Duration,
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

/// The effective configuration after merging every layer.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
    pub api: ApiSettings,
    pub database_url: DatabaseUrl,
    pub time_zone: Tz,
    pub jobs: BTreeMap<JobKind, JobSettings>,
    pub bookmakers: Vec<String>,
    /// Fault injection for `paddock simulate-api` (`[simulator.faults]`; `--faults` overrides).
    pub simulator_faults: SimulatorFaults,
    pub daemon: DaemonSettings,
    /// `paddock audit` settings (`[audit]`).
    pub audit: AuditSettings,
    /// The raw response archive (`[archive]`).
    pub archive: crate::archive::ArchiveSettings,
    /// Distance bands of `ra_performance_by_distance` (`[derive] distance_bands`).
    pub distance_bands: fetchers::derived::DistanceBands,
    /// `[database] expected_rename_phase`: jobs and the daemon refuse a database in another
    /// rename phase (see `tables`).
    pub expected_rename_phase: Option<crate::tables::Phase>,
}

/// `paddock audit` settings (`[audit]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The PostgreSQL schema holding Paddock's tables (default `public`).
    pub schema: String,
    /// A race is late when it started more than this many minutes ago without a result.
    pub result_delay_minutes: i64,
    /// Sample keys shown per finding.
    pub sample_size: u32,
    /// Latest runs shown in the write trail.
    pub trail_runs: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            schema: "public".into(),
            result_delay_minutes: 120,
            sample_size: 5,
            trail_runs: 10,
        }
    }
}

/// Command-line values that override everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_path: Option<PathBuf>,
    pub database_url: Option<String>,
}

/// Where environment values come from (the process environment in production, a map in tests).
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment, plus systemd credentials (`$CREDENTIALS_DIRECTORY/<name>`).
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        if let Ok(v) = std::env::var(key) {
            if !v.is_empty() {
                return Some(v);
            }
        }
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
        let file = Path::new(&dir).join(key.to_ascii_lowercase());
        std::fs::read_to_string(file)
            .ok()
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).cloned()
    }
}

impl Config {
    /// Loads the configuration: `overrides` > environment > file > defaults. The file is
    /// `--config`, else `PADDOCK_CONFIG`, else `config/paddock.toml` when it exists.
    pub fn load(overrides: &Overrides, env: &dyn Env) -> Result<Config> {
        let path = overrides
            .config_path
            .clone()
            .or_else(|| env.var("PADDOCK_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let default = PathBuf::from("config/paddock.toml");
                default.exists().then_some(default)
            });
        let file = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?;
                let file = parse_file(&text).map_err(|e| anyhow!("{}: {e}", p.display()))?;
                (file, text)
            }
            None => (FileConfig::default(), String::new()),
        };
        let (file, text) = file;
        Self::merge(path, file, &text, overrides, env)
    }

    /// Parses configuration text (for tests), with the same rules as [`Config::load`].
    pub fn from_toml(text: &str, env: &dyn Env) -> Result<Config> {
        let file = parse_file(text)?;
        Self::merge(None, file, text, &Overrides::default(), env)
    }

    fn merge(
        path: Option<PathBuf>,
        file: FileConfig,
        text: &str,
        overrides: &Overrides,
        env: &dyn Env,
    ) -> Result<Config> {
        let file_name = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "configuration".into());
        // "FILE, line N" for a value read from the file.
        let at = |span: std::ops::Range<usize>| {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("{file_name}, line {line}")
        };
        let where_ = file_name.clone();
        let rate_limit = match env.var("PADDOCK_API_RATE_LIMIT") {
            Some(v) => v.parse::<f64>().map_err(|_| {
                anyhow!("PADDOCK_API_RATE_LIMIT: {v:?} is not a number of requests per second")
            })?,
            None => match &file.api.rate_limit_per_second {
                Some(v) if !(*v.get_ref() > 0.0 && *v.get_ref() <= 100.0) => bail!(
                    "{}: api.rate_limit_per_second must be between 0 and 100, got {}",
                    at(v.span()),
                    v.get_ref()
                ),
                Some(v) => *v.get_ref(),
                None => 2.0,
            },
        };
        if !(rate_limit > 0.0 && rate_limit <= 100.0) {
            bail!(
                "{where_}: api.rate_limit_per_second must be between 0 and 100, got {rate_limit}"
            );
        }
        let max_margin = crate::client::MAX_MARGIN * 100.0;
        let rate_limit_margin_percent = match &file.api.rate_limit_margin_percent {
            Some(v) if !(0.0..=max_margin).contains(v.get_ref()) => bail!(
                "{}: api.rate_limit_margin_percent must be between 0 and {max_margin}, got {}",
                at(v.span()),
                v.get_ref()
            ),
            Some(v) => *v.get_ref(),
            None => crate::client::DEFAULT_MARGIN * 100.0,
        };
        if let Some(r) = file.api.regions.as_ref().filter(|r| r.get_ref().is_empty()) {
            bail!(
                "{}: api.regions must name at least one region (e.g. [\"gb\", \"ire\"])",
                at(r.span())
            );
        }
        let regions: Vec<String> = file
            .api
            .regions
            .map(Spanned::into_inner)
            .unwrap_or_else(|| vec!["gb".into(), "ire".into()])
            .into_iter()
            .map(|r| r.to_ascii_lowercase())
            .collect();
        let api = ApiSettings {
            base_url: env
                .var("PADDOCK_API_BASE_URL")
                .or(file.api.base_url)
                .unwrap_or_else(|| DEFAULT_API_BASE_URL.into())
                .trim_end_matches('/')
                .to_string(),
            username: env.var("RACING_API_USERNAME").map(Secret::new),
            password: env.var("RACING_API_PASSWORD").map(Secret::new),
            regions,
            rate_limit_per_second: rate_limit,
            rate_limit_margin_percent,
            timeout_secs: file.api.timeout_secs.unwrap_or(30),
            max_attempts: file.api.max_attempts.unwrap_or(5).max(1),
            backoff_min_ms: file.api.backoff_min_ms.unwrap_or(500),
            backoff_max_ms: file.api.backoff_max_ms.unwrap_or(30_000),
        };
        if api.backoff_min_ms > api.backoff_max_ms {
            bail!(
                "api.backoff_min_ms ({}) must not exceed api.backoff_max_ms ({})",
                api.backoff_min_ms,
                api.backoff_max_ms
            );
        }

        let database_url = overrides
            .database_url
            .clone()
            .or_else(|| env.var("PADDOCK_DATABASE_URL"))
            .or_else(|| env.var("DATABASE_URL"))
            .or(file.database.url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());

        let time_zone: Tz = match &file.schedule.time_zone {
            Some(name) => name.get_ref().parse().map_err(|_| {
                anyhow!(
                    "{}: schedule.time_zone {:?} is not an IANA time zone (e.g. \"Europe/London\")",
                    at(name.span()),
                    name.get_ref()
                )
            })?,
            None => chrono_tz::Europe::London,
        };

        let mut jobs = BTreeMap::new();
        let mut file_jobs = file.jobs;
        for kind in JobKind::ALL {
            let job = match kind {
                JobKind::MasterReference => file_jobs.master_reference.take(),
                JobKind::MasterEntitiesDaily => file_jobs.master_entities_daily.take(),
                JobKind::MasterEntitiesWeekly => file_jobs.master_entities_weekly.take(),
                JobKind::RacesAndRunners => file_jobs.races_and_runners.take(),
                JobKind::DeriveFull => file_jobs.derive_full.take(),
                JobKind::Audit => file_jobs.audit.take(),
            };
            let job = job.unwrap_or_default();
            let mut schedules = Vec::new();
            let main_cron = match &job.cron {
                Some(c) => Some((c.get_ref().clone(), at(c.span()))),
                None if job.schedules.is_none() => {
                    Some((kind.default_cron().to_string(), where_.clone()))
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
            for (i, entry) in job.schedules.iter().flatten().enumerate() {
                let key = format!("jobs.{}.schedules[{i}]", kind.name());
                let cron = entry.cron.get_ref().clone();
                let parsed = parse_cron(&cron)
                    .map_err(|e| anyhow!("{}: {key}.cron {cron:?}: {e}", at(entry.cron.span())))?;
                let has_window =
                    entry.racecard_days_ahead.is_some() || entry.result_days_back.is_some();
                if has_window && kind != JobKind::RacesAndRunners {
                    bail!(
                        "{}: {key}: a window (racecard_days_ahead, result_days_back) applies only to races_and_runners",
                        at(entry.cron.span())
                    );
                }
                if let Some(d) = entry
                    .racecard_days_ahead
                    .as_ref()
                    .filter(|d| *d.get_ref() > 7)
                {
                    bail!(
                        "{}: {key}.racecard_days_ahead is {}, but the API serves racecards at most 7 days ahead",
                        at(d.span()),
                        d.get_ref()
                    );
                }
                schedules.push(Schedule {
                    cron,
                    parsed,
                    window: Window {
                        racecard_days_ahead: entry
                            .racecard_days_ahead
                            .as_ref()
                            .map(|d| *d.get_ref()),
                        result_days_back: entry.result_days_back.as_ref().map(|d| *d.get_ref()),
                    },
                });
            }
            if schedules.is_empty() {
                bail!(
                    "{where_}: jobs.{}.schedules is empty: give at least one schedule, or disable the job with enabled = false",
                    kind.name()
                );
            }
            let racecard_days_ahead = match &job.racecard_days_ahead {
                Some(d) if *d.get_ref() > 7 => bail!(
                    "{}: jobs.{}.racecard_days_ahead is {}, but the API serves racecards at most 7 days ahead",
                    at(d.span()),
                    kind.name(),
                    d.get_ref()
                ),
                Some(d) => *d.get_ref(),
                None => 7,
            };
            let default_budget = match kind {
                JobKind::MasterEntitiesWeekly => 5000,
                _ => 500,
            };
            jobs.insert(
                kind,
                JobSettings {
                    kind,
                    enabled: job.enabled.unwrap_or(kind.enabled_by_default()),
                    schedules,
                    racecard_days_ahead,
                    result_days_back: job.result_days_back.unwrap_or(3),
                    profile_budget: job.profile_budget.unwrap_or(default_budget),
                    include_pedigree_horses: job
                        .include_pedigree_horses
                        .unwrap_or(kind == JobKind::MasterEntitiesWeekly),
                },
            );
        }

        let audit_defaults = AuditSettings::default();
        let audit_schema = match &file.audit.schema {
            Some(name) => {
                let valid = name.get_ref().chars().enumerate().all(|(i, c)| {
                    c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                });
                if !valid || name.get_ref().is_empty() {
                    bail!(
                        "{}: audit.schema {:?} is not a plain schema name (letters, digits, _)",
                        at(name.span()),
                        name.get_ref()
                    );
                }
                name.get_ref().clone()
            }
            None => audit_defaults.schema,
        };
        let audit = AuditSettings {
            schema: audit_schema,
            result_delay_minutes: file
                .audit
                .result_delay_minutes
                .unwrap_or(audit_defaults.result_delay_minutes)
                .max(0),
            sample_size: file.audit.sample_size.unwrap_or(audit_defaults.sample_size),
            trail_runs: file.audit.trail_runs.unwrap_or(audit_defaults.trail_runs),
        };

        let daemon = daemon_settings(&file.daemon, &at)?;
        let distance_bands = match file.derive.distance_bands {
            Some(b) => fetchers::derived::DistanceBands::new(b.get_ref().clone())
                .map_err(|e| anyhow!("{}: derive.distance_bands: {e}", at(b.span())))?,
            None => fetchers::derived::DistanceBands::default(),
        };

        let expected_rename_phase = match &file.database.expected_rename_phase {
            None => None,
            Some(name) => Some(crate::tables::Phase::parse(name).ok_or_else(|| {
                anyhow!(
                    "database.expected_rename_phase {name:?} is not one of {}",
                    crate::tables::Phase::ALL.map(|p| p.name()).join(", ")
                )
            })?),
        };
        Ok(Config {
            daemon,
            path,
            audit,
            expected_rename_phase,
            api,
            database_url: DatabaseUrl::new(database_url),
            time_zone,
            jobs,
            bookmakers: file.bookmakers.names.unwrap_or_else(default_bookmakers),
            simulator_faults: file.simulator.faults.unwrap_or_default(),
            archive: file.archive,
            distance_bands,
        })
    }

    pub fn job(&self, kind: JobKind) -> &JobSettings {
        &self.jobs[&kind]
    }

    /// The effective configuration as text, secrets masked, with each job's next fire times.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let mask = |s: &Option<Secret>| match s {
            Some(_) => "*** (set)".to_string(),
            None => "(not set)".to_string(),
        };
        let mut out = String::new();
        let file = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(none: built-in defaults)".into());
        out.push_str(&format!("config file:        {file}\n"));
        out.push_str(&format!("database url:       {}\n", self.database_url));
        out.push_str(&format!("api base url:       {}\n", self.api.base_url));
        out.push_str(&format!(
            "api username:       {}\n",
            mask(&self.api.username)
        ));
        out.push_str(&format!(
            "api password:       {}\n",
            mask(&self.api.password)
        ));
        out.push_str(&format!(
            "regions:            {}\n",
            self.api.regions.join(", ")
        ));
        out.push_str(&format!(
            "rate limit:         {} requests/s, spaced {} % wider\n",
            self.api.rate_limit_per_second, self.api.rate_limit_margin_percent
        ));
        out.push_str(&format!(
            "request timeout:    {} s\n",
            self.api.timeout_secs
        ));
        out.push_str(&format!("max attempts:       {}\n", self.api.max_attempts));
        out.push_str(&format!(
            "retry backoff:      {}–{} ms\n",
            self.api.backoff_min_ms, self.api.backoff_max_ms
        ));
        out.push_str(&format!("time zone:          {}\n", self.time_zone.name()));
        out.push_str(&format!("bookmakers:         {}\n", self.bookmakers.len()));
        out.push_str("jobs:\n");
        let local_now = now.with_timezone(&self.time_zone);
        for job in self.jobs.values() {
            out.push_str(&format!(
                "  {:<24} {:<8}",
                job.kind.name(),
                if job.enabled { "enabled" } else { "disabled" },
            ));
            match job.kind {
                JobKind::RacesAndRunners => out.push_str(&format!(
                    " racecards today..+{}d, results -{}d..today",
                    job.racecard_days_ahead, job.result_days_back
                )),
                JobKind::MasterEntitiesDaily | JobKind::MasterEntitiesWeekly => {
                    out.push_str(&format!(" profile budget {}", job.profile_budget))
                }
                JobKind::DeriveFull => {
                    out.push_str(" full rebuild of the derived tables, no API request")
                }
                JobKind::Audit => out.push_str(" read-only audit, no API request"),
                JobKind::MasterReference => {}
            }
            out.push('\n');
            for schedule in &job.schedules {
                out.push_str(&format!("    cron \"{}\"", schedule.cron));
                if let Some(d) = schedule.window.racecard_days_ahead {
                    out.push_str(&format!(" racecards today..+{d}d"));
                }
                if let Some(d) = schedule.window.result_days_back {
                    out.push_str(&format!(" results -{d}d..today"));
                }
                out.push('\n');
                for t in schedule_fire_times(schedule, self.time_zone, local_now.to_utc(), 3) {
                    out.push_str(&format!(
                        "      next: {}\n",
                        t.with_timezone(&self.time_zone)
                            .format("%Y-%m-%d %H:%M:%S %Z (%:z)")
                    ));
                }
            }
        }
        match self.daemon.listen {
            Some(addr) => out.push_str(&format!(
                "daemon listener:    http://{addr}/healthz, /metrics\n"
            )),
            None => out.push_str("daemon listener:    off\n"),
        }
        out.push_str(&format!(
            "shutdown grace:     {} s\n",
            self.daemon.grace.as_secs()
        ));
        out
    }
}

/// A cron expression of 5 fields, or 6 with seconds first.
fn parse_cron(text: &str) -> std::result::Result<croner::Cron, croner::errors::CronError> {
    croner::Cron::new(text).with_seconds_optional().parse()
}

fn daemon_settings(
    file: &FileDaemon,
    at: &dyn Fn(std::ops::Range<usize>) -> String,
) -> Result<DaemonSettings> {
    let listen = match &file.listen {
        None => None,
        Some(text) => {
            let addr: std::net::SocketAddr = text.get_ref().parse().map_err(|_| {
                anyhow!(
                    "{}: daemon.listen {:?} is not an address and port (e.g. \"127.0.0.1:9464\")",
                    at(text.span()),
                    text.get_ref()
                )
            })?;
            if !addr.ip().is_loopback() {
                bail!(
                    "{}: daemon.listen {addr} is not a loopback address: the health and metrics listener is for this machine only (use 127.0.0.1 or [::1])",
                    at(text.span())
                );
            }
            Some(addr)
        }
    };
    let standby_poll = match &file.standby_poll_secs {
        Some(s) if *s.get_ref() == 0 => bail!(
            "{}: daemon.standby_poll_secs must be at least 1",
            at(s.span())
        ),
        Some(s) => *s.get_ref(),
        None => 5,
    };
    Ok(DaemonSettings {
        listen,
        grace: std::time::Duration::from_secs(file.grace_secs.unwrap_or(30)),
        standby_poll: std::time::Duration::from_secs(standby_poll),
    })
}

fn parse_file(text: &str) -> Result<FileConfig> {
    toml::from_str::<FileConfig>(text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))
}

/// Bookmakers known before any odds are seen (merged with those discovered in `odds[]`).
pub fn default_bookmakers() -> Vec<String> {
    [
        "Bet365",
        "William Hill",
        "Coral",
        "Ladbrokes",
        "Betfred",
        "Paddy Power",
        "Sky Bet",
        "Unibet",
        "Betfair Sportsbook",
        "Betfair Exchange",
        "Boyle Sports",
        "Bet Victor",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn distance_bands_come_from_the_derive_section_and_must_increase() {
        let c = Config::from_toml("", &env(&[])).unwrap();
        assert_eq!(c.distance_bands.bounds(), &[5, 7, 9, 12, 16]);
        let c = Config::from_toml("[derive]\ndistance_bands = [5, 8, 14]\n", &env(&[])).unwrap();
        assert_eq!(c.distance_bands.labels(), vec!["5-7f", "8-13f", "14f+"]);
        let err = Config::from_toml("[derive]\ndistance_bands = [8, 5]\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("derive.distance_bands"), "{err}");
    }

    #[test]
    fn simulator_faults_come_from_their_section_and_unknown_faults_are_errors() {
        let c = Config::from_toml(
            "[simulator.faults]\nlatency_ms = 25\nrate_limit_every = 10\n",
            &env(&[]),
        )
        .unwrap();
        assert_eq!(c.simulator_faults.latency_ms, 25);
        assert_eq!(c.simulator_faults.rate_limit_every, Some(10));
        let err = Config::from_toml("[simulator.faults]\nlatncy_ms = 25\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("latncy_ms") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_misspelt_key_is_an_error_naming_the_key_and_line() {
        let text = "[api]\nregions = [\"gb\"]\nrate_limt_per_second = 2\n";
        let err = Config::from_toml(text, &env(&[])).unwrap_err().to_string();
        assert!(err.contains("rate_limt_per_second"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn the_rate_limit_margin_defaults_to_two_percent_and_is_bounded() {
        let c = Config::from_toml("", &env(&[])).unwrap();
        assert_eq!(c.api.rate_limit_margin_percent, 2.0);
        let c = Config::from_toml("[api]\nrate_limit_margin_percent = 0\n", &env(&[])).unwrap();
        assert_eq!(c.api.rate_limit_margin_percent, 0.0);
        let err = Config::from_toml("[api]\nrate_limit_margin_percent = 20\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("rate_limit_margin_percent"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn environment_beats_file_and_flag_beats_environment() {
        let text = "[database]\nurl = \"sqlite://file.db\"\n[api]\nrate_limit_per_second = 1.0\n";
        let c = Config::from_toml(text, &env(&[])).unwrap();
        assert_eq!(c.database_url.expose(), "sqlite://file.db");
        assert_eq!(c.api.rate_limit_per_second, 1.0);
        let e = env(&[
            ("DATABASE_URL", "sqlite://conventional.db"),
            ("PADDOCK_API_RATE_LIMIT", "0.5"),
        ]);
        let c = Config::from_toml(text, &e).unwrap();
        assert_eq!(c.database_url.expose(), "sqlite://conventional.db");
        assert_eq!(c.api.rate_limit_per_second, 0.5);
        let e2 = env(&[
            ("DATABASE_URL", "sqlite://conventional.db"),
            ("PADDOCK_DATABASE_URL", "sqlite://paddock-specific.db"),
        ]);
        let c = Config::from_toml(text, &e2).unwrap();
        assert_eq!(c.database_url.expose(), "sqlite://paddock-specific.db");
        let c = Config::merge(
            None,
            parse_file(text).unwrap(),
            text,
            &Overrides {
                config_path: None,
                database_url: Some("sqlite://flag.db".into()),
            },
            &e2,
        )
        .unwrap();
        assert_eq!(c.database_url.expose(), "sqlite://flag.db");
    }

    #[test]
    fn secrets_never_appear_in_debug_or_describe() {
        let e = env(&[
            ("RACING_API_USERNAME", "someone"),
            ("RACING_API_PASSWORD", "hunter2-secret"),
            (
                "DATABASE_URL",
                "postgres://paddock:pg-secret-pw@db.example:5432/paddock",
            ),
        ]);
        let c = Config::from_toml("", &e).unwrap();
        let shown = format!("{c:?}\n{}", c.describe(Utc::now()));
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(!shown.contains("pg-secret-pw"), "{shown}");
        assert!(shown.contains("postgres://paddock:***@db.example:5432/paddock"));
        assert_eq!(c.api.password.as_ref().unwrap().expose(), "hunter2-secret");
    }

    #[test]
    fn a_bad_time_zone_or_cron_names_the_key() {
        let err = Config::from_toml("[schedule]\ntime_zone = \"Mars/Olympus\"\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("schedule.time_zone"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        let err = Config::from_toml(
            "[jobs.races_and_runners]\ncron = \"61 * * * *\"\n",
            &env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("jobs.races_and_runners.cron"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn next_fire_times_follow_the_time_zone_across_dst() {
        // 2026-03-29: the UK clocks go forward at 01:00 GMT. A 06:00 London job fires at 06:00
        // BST, i.e. 05:00 UTC, the day after firing at 06:00 UTC.
        let c = Config::from_toml("", &env(&[])).unwrap();
        let job = c.job(JobKind::RacesAndRunners);
        let start = chrono::TimeZone::with_ymd_and_hms(&c.time_zone, 2026, 3, 28, 0, 0, 0).unwrap();
        let times = job.next_fire_times(start, 4);
        let utc: Vec<String> = times
            .iter()
            .map(|t| t.with_timezone(&Utc).format("%m-%d %H:%M").to_string())
            .collect();
        assert_eq!(utc[0], "03-28 06:00");
        assert_eq!(utc[3], "03-29 05:00");
    }

    #[test]
    fn a_job_has_several_schedules_each_with_its_window_and_describe_lists_each() {
        let text = "[jobs.races_and_runners]\ncron = \"0 6 * * *\"\n\
            [[jobs.races_and_runners.schedules]]\ncron = \"*/30 10-20 * * *\"\n\
            racecard_days_ahead = 0\nresult_days_back = 0\n";
        let c = Config::from_toml(text, &env(&[])).unwrap();
        let job = c.job(JobKind::RacesAndRunners);
        assert_eq!(job.schedules.len(), 2);
        assert_eq!(job.schedules[0].window, Window::default());
        assert_eq!(job.schedules[1].window.racecard_days_ahead, Some(0));
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 1, 9, 0, 0).unwrap();
        let shown = c.describe(now);
        assert!(
            shown.contains("cron \"*/30 10-20 * * *\" racecards today..+0d"),
            "{shown}"
        );
        // Three fire times per schedule: every job's main schedule plus the extra one.
        assert_eq!(
            shown.matches("next:").count(),
            (JobKind::ALL.len() + 1) * 3,
            "{shown}"
        );
        // `now` is 10:00 BST, itself a fire time; the next ones, strictly after, merge both
        // schedules: 10:30 BST (09:30 UTC) first.
        let merged = job.next_fire_times(now.with_timezone(&c.time_zone), 2);
        assert_eq!(merged[0].to_utc().to_rfc3339(), "2026-06-01T09:30:00+00:00");
    }

    #[test]
    fn derive_full_runs_weekly_by_default_and_the_audit_job_is_off_until_enabled() {
        let c = Config::from_toml("", &env(&[])).unwrap();
        assert_eq!(c.jobs.len(), JobKind::ALL.len());
        let derive = c.job(JobKind::DeriveFull);
        assert!(derive.enabled);
        assert_eq!(JobKind::DeriveFull.name(), crate::derive::FULL_REBUILD_JOB);
        assert_eq!(derive.schedules.len(), 1);
        assert_eq!(derive.schedules[0].cron, "0 4 * * SUN");
        // 2026-06-03 is a Wednesday; the next run is Sunday 04:00 London (03:00 UTC, BST).
        let wednesday = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 3, 12, 0, 0).unwrap();
        let next = derive.next_fire_times(wednesday.with_timezone(&c.time_zone), 1);
        assert_eq!(next[0].to_utc().to_rfc3339(), "2026-06-07T03:00:00+00:00");
        let audit = c.job(JobKind::Audit);
        assert!(!audit.enabled);
        assert_eq!(audit.schedules[0].cron, "0 5 * * *");
        assert!(!JobKind::DeriveFull.uses_api() && !JobKind::Audit.uses_api());
        assert!(JobKind::ALL
            .iter()
            .filter(|k| !matches!(k, JobKind::DeriveFull | JobKind::Audit))
            .all(|k| k.uses_api() && k.enabled_by_default()));
        let shown = c.describe(wednesday);
        assert!(shown.contains("derive_full"), "{shown}");
        assert!(
            shown
                .lines()
                .any(|l| l.contains("audit") && l.contains("disabled")),
            "{shown}"
        );
    }

    #[test]
    fn derive_full_and_audit_take_their_settings_from_their_sections() {
        let c = Config::from_toml(
            "[jobs.derive_full]\nenabled = false\n\
             [jobs.audit]\nenabled = true\ncron = \"30 6 * * MON-FRI\"\n\
             [[jobs.audit.schedules]]\ncron = \"0 22 * * *\"\n",
            &env(&[]),
        )
        .unwrap();
        assert!(!c.job(JobKind::DeriveFull).enabled);
        let audit = c.job(JobKind::Audit);
        assert!(audit.enabled);
        let crons: Vec<&str> = audit.schedules.iter().map(|s| s.cron.as_str()).collect();
        assert_eq!(crons, ["30 6 * * MON-FRI", "0 22 * * *"]);
        let c = Config::from_toml("[jobs.derive_full]\ncron = \"0 3 * * *\"\n", &env(&[])).unwrap();
        assert!(c.job(JobKind::DeriveFull).enabled);
        assert_eq!(c.job(JobKind::DeriveFull).schedules[0].cron, "0 3 * * *");
        // Errors name the job's section; a window is refused (it fetches no dates).
        let err = Config::from_toml("\n[jobs.audit]\ncron = \"0 25 * * *\"\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("jobs.audit.cron") && err.contains("line 3"),
            "{err}"
        );
        let err = Config::from_toml(
            "[[jobs.derive_full.schedules]]\ncron = \"0 3 * * *\"\nresult_days_back = 1\n",
            &env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("jobs.derive_full.schedules[0]"), "{err}");
        let err = Config::from_toml("[jobs.audit]\nenabeld = true\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("enabeld"), "{err}");
    }

    #[test]
    fn a_schedule_window_is_refused_on_a_job_that_fetches_no_dates() {
        let err = Config::from_toml(
            "[[jobs.master_reference.schedules]]\ncron = \"0 3 * * *\"\nracecard_days_ahead = 1\n",
            &env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("jobs.master_reference.schedules[0]"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn the_daemon_listener_must_be_a_loopback_address_and_is_off_by_default() {
        assert_eq!(
            Config::from_toml("", &env(&[])).unwrap().daemon.listen,
            None
        );
        let c = Config::from_toml("[daemon]\nlisten = \"127.0.0.1:9464\"\n", &env(&[])).unwrap();
        assert_eq!(c.daemon.listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(c.daemon.grace, std::time::Duration::from_secs(30));
        let err = Config::from_toml("[daemon]\nlisten = \"0.0.0.0:9464\"\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("daemon.listen") && err.contains("loopback"),
            "{err}"
        );
    }

    #[test]
    fn masking_covers_user_password_urls_and_password_params() {
        assert_eq!(
            mask_url_password("postgresql://u:p%40ss@h/db?sslmode=require"),
            "postgresql://u:***@h/db?sslmode=require"
        );
        assert_eq!(
            mask_url_password("postgres://h/db?user=u&password=x&a=b"),
            "postgres://h/db?user=u&password=***&a=b"
        );
        assert_eq!(
            mask_url_password("sqlite://paddock.db"),
            "sqlite://paddock.db"
        );
    }

    #[test]
    fn the_audit_section_sets_the_schema_and_refuses_a_name_that_is_not_plain() {
        let c = Config::from_toml(
            "[audit]\nschema = \"racing\"\nresult_delay_minutes = 45\n",
            &env(&[]),
        )
        .unwrap();
        assert_eq!(c.audit.schema, "racing");
        assert_eq!(c.audit.result_delay_minutes, 45);
        assert_eq!(
            Config::from_toml("", &env(&[])).unwrap().audit,
            AuditSettings::default()
        );
        let err = Config::from_toml("\n[audit]\nschema = \"x; DROP\"\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("audit.schema") && err.contains("line 3"),
            "{err}"
        );
    }
}

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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSimulator {
    faults: Option<crate::simulator::Faults>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApi {
    base_url: Option<String>,
    regions: Option<Spanned<Vec<String>>>,
    rate_limit_per_second: Option<Spanned<f64>>,
    timeout_secs: Option<u64>,
    max_attempts: Option<u32>,
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
    pub timeout_secs: u64,
    pub max_attempts: u32,
}

/// Which job a schedule entry runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobKind {
    MasterReference,
    MasterEntitiesDaily,
    MasterEntitiesWeekly,
    RacesAndRunners,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [
        JobKind::MasterReference,
        JobKind::MasterEntitiesDaily,
        JobKind::MasterEntitiesWeekly,
        JobKind::RacesAndRunners,
    ];

    /// The name used in the config file, the ledger and logs.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::MasterReference => "master_reference",
            JobKind::MasterEntitiesDaily => "master_entities_daily",
            JobKind::MasterEntitiesWeekly => "master_entities_weekly",
            JobKind::RacesAndRunners => "races_and_runners",
        }
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
        }
    }
}

/// One job's schedule and window settings.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub kind: JobKind,
    pub enabled: bool,
    pub cron: String,
    pub schedule: croner::Cron,
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
    /// The next `n` fire times after `after`, in the configured time zone.
    pub fn next_fire_times(&self, after: DateTime<Tz>, n: usize) -> Vec<DateTime<Tz>> {
        self.schedule.clone().iter_after(after).take(n).collect()
    }
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
    pub simulator_faults: crate::simulator::Faults,
    /// `[database] expected_rename_phase`: jobs and the daemon refuse a database in another
    /// rename phase (see `tables`).
    pub expected_rename_phase: Option<crate::tables::Phase>,
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
            timeout_secs: file.api.timeout_secs.unwrap_or(30),
            max_attempts: file.api.max_attempts.unwrap_or(5).max(1),
        };

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
        let file_jobs = [
            (JobKind::MasterReference, file.jobs.master_reference),
            (
                JobKind::MasterEntitiesDaily,
                file.jobs.master_entities_daily,
            ),
            (
                JobKind::MasterEntitiesWeekly,
                file.jobs.master_entities_weekly,
            ),
            (JobKind::RacesAndRunners, file.jobs.races_and_runners),
        ];
        for (kind, job) in file_jobs {
            let job = job.unwrap_or_default();
            let (cron, cron_at) = match &job.cron {
                Some(c) => (c.get_ref().clone(), at(c.span())),
                None => (kind.default_cron().to_string(), where_.clone()),
            };
            let schedule = croner::Cron::new(&cron)
                .with_seconds_optional()
                .parse()
                .map_err(|e| anyhow!("{cron_at}: jobs.{}.cron {cron:?}: {e}", kind.name()))?;
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
                    enabled: job.enabled.unwrap_or(true),
                    cron,
                    schedule,
                    racecard_days_ahead,
                    result_days_back: job.result_days_back.unwrap_or(3),
                    profile_budget: job.profile_budget.unwrap_or(default_budget),
                    include_pedigree_horses: job
                        .include_pedigree_horses
                        .unwrap_or(kind == JobKind::MasterEntitiesWeekly),
                },
            );
        }

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
            path,
            expected_rename_phase,
            api,
            database_url: DatabaseUrl::new(database_url),
            time_zone,
            jobs,
            bookmakers: file.bookmakers.names.unwrap_or_else(default_bookmakers),
            simulator_faults: file.simulator.faults.unwrap_or_default(),
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
            "rate limit:         {} requests/s\n",
            self.api.rate_limit_per_second
        ));
        out.push_str(&format!(
            "request timeout:    {} s\n",
            self.api.timeout_secs
        ));
        out.push_str(&format!("max attempts:       {}\n", self.api.max_attempts));
        out.push_str(&format!("time zone:          {}\n", self.time_zone.name()));
        out.push_str(&format!("bookmakers:         {}\n", self.bookmakers.len()));
        out.push_str("jobs:\n");
        let local_now = now.with_timezone(&self.time_zone);
        for job in self.jobs.values() {
            out.push_str(&format!(
                "  {:<24} {:<8} cron \"{}\"",
                job.kind.name(),
                if job.enabled { "enabled" } else { "disabled" },
                job.cron
            ));
            match job.kind {
                JobKind::RacesAndRunners => out.push_str(&format!(
                    " racecards today..+{}d, results -{}d..today",
                    job.racecard_days_ahead, job.result_days_back
                )),
                JobKind::MasterEntitiesDaily | JobKind::MasterEntitiesWeekly => {
                    out.push_str(&format!(" profile budget {}", job.profile_budget))
                }
                JobKind::MasterReference => {}
            }
            out.push('\n');
            for t in job.next_fire_times(local_now, 3) {
                out.push_str(&format!(
                    "      next: {}\n",
                    t.format("%Y-%m-%d %H:%M %Z (%:z)")
                ));
            }
        }
        out
    }
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
}

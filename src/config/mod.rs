//! Configuration: the TOML file, environment overrides, `.env` and systemd credentials, merged
//! with the precedence command-line flag > environment > config file > built-in default.
//!
//! - `file.rs`: the file's model (serde structs, unknown keys refused, values kept with their
//!   place so every error names the file and line); `defaults.rs`: the named defaults.
//! - One conversion per section: `api.rs`, `database.rs`, `schedule.rs` (time zone, cron
//!   schedules; `fire_times.rs` computes when they fire), `jobs.rs` ([`JobKind`], the one table
//!   of job kinds, and [`JobSettings`]), `daemon.rs`, `audit.rs`, `archive.rs`, `derive.rs`,
//!   `publish.rs`, `odds.rs` (`[odds]`), `simulator.rs`, `alerts.rs` (`[[alerts.rules]]`, `[alerts.webhook]`), `adopt.rs` (`[adopt]`'s column and key maps); `tls.rs`: `[database]`'s TLS settings (`sslmode`, `sslrootcert`, …).
//! - `secrets.rs`: [`Secret`] and [`DatabaseUrl`], whose `Debug` and `Display` never show the
//!   value, [`mask_url`], and [`Env`] / [`ProcessEnv`] (environment and systemd credentials).
//! - `describe.rs`: the effective configuration as text (`paddock config`).
//!
//! The configuration sits at the bottom of the application: it uses only `fetchers` and
//! external crates, and the rename phase's name (`crate::rename::Phase`).

mod adopt;
mod alert_rules;
mod alerts;
mod api;
mod archive;
mod audit;
mod daemon;
mod database;
pub mod defaults;
mod derive;
mod describe;
mod file;
pub mod fire_times;
mod jobs;
mod odds;
mod publish;
mod retention;
mod schedule;
mod secrets;
mod simulator;
#[cfg(test)]
mod tests;
mod tls;

pub use adopt::{AdoptMaps, AdoptSettings};
pub use alert_rules::{AlertKind, AlertRule};
pub use alerts::{AlertSettings, WEBHOOK_SECRET_ENV};
pub use api::ApiSettings;
pub use archive::ArchiveSettings;
pub use audit::AuditSettings;
pub use daemon::DaemonSettings;
pub use database::DatabaseSettings;
pub use defaults::{
    default_bookmakers, DEFAULT_API_BASE_URL, DEFAULT_DATABASE_URL, DEFAULT_RATE_LIMIT_MARGIN,
    MAX_RATE_LIMIT_MARGIN,
};
pub use jobs::{JobKind, JobKindSpec, JobSettings};
pub use odds::{OddsBackfillSettings, OddsSettings};
pub use publish::{PublishSettings, ANALYTICS_PATH_ENV};
pub use retention::RetentionSettings;
pub use schedule::{schedule_fire_times, Schedule, Window};
/// The one URL-password masking function, under its old name.
pub use secrets::mask_url as mask_url_password;
pub use secrets::{mask_url, DatabaseUrl, Env, ProcessEnv, Secret};
pub use simulator::SimulatorFaults;
pub use tls::{SslMode, TlsSettings};

use anyhow::{anyhow, Context, Result};
use chrono_tz::Tz;
use file::{parse_file, FileConfig, Locator};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The effective configuration after merging every layer.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
    pub api: ApiSettings,
    pub database_url: DatabaseUrl,
    /// `[database]`: the read URL, connection timeouts and retry, session settings.
    pub database: DatabaseSettings,
    pub time_zone: Tz,
    pub jobs: BTreeMap<JobKind, JobSettings>,
    pub bookmakers: Vec<String>,
    /// Fault injection for `paddock simulate-api` (`[simulator.faults]`; `--faults` overrides).
    pub simulator_faults: SimulatorFaults,
    pub daemon: DaemonSettings,
    /// `paddock audit` settings (`[audit]`).
    pub audit: AuditSettings,
    /// The raw response archive (`[archive]`).
    pub archive: ArchiveSettings,
    /// The odds endpoint's backfill (`[odds]`).
    pub odds: OddsSettings,
    /// Distance bands of `ra_performance_by_distance` (`[derive] distance_bands`).
    pub distance_bands: fetchers::derived::DistanceBands,
    /// The SQLite analytics copy (`[publish]`).
    pub publish: PublishSettings,
    /// What retention deletes (`[retention]`; nothing by default).
    pub retention: RetentionSettings,
    /// The alert rules and the webhook (`[alerts]`).
    pub alerts: AlertSettings,
    /// `[database] expected_rename_phase`: jobs and the daemon refuse a database in another
    /// rename phase (see `rename`).
    pub expected_rename_phase: Option<crate::rename::Phase>,
    /// `[adopt.columns.*]` and `[adopt.keys]`: the maps `paddock adopt` plans and persists.
    pub adopt: AdoptSettings,
}

/// Command-line values that override everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_path: Option<PathBuf>,
    pub database_url: Option<String>,
    /// PostgreSQL `application_name` for this process (`paddock:<command>`).
    pub application_name: Option<String>,
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
                let default = PathBuf::from(defaults::DEFAULT_CONFIG_PATH);
                default.exists().then_some(default)
            });
        let (file, text) = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?;
                let file = parse_file(&text).map_err(|e| anyhow!("{}: {e}", p.display()))?;
                (file, text)
            }
            None => (FileConfig::default(), String::new()),
        };
        Self::merge(path, file, &text, overrides, env)
    }

    /// Parses configuration text (for tests), with the same rules as [`Config::load`].
    pub fn from_toml(text: &str, env: &dyn Env) -> Result<Config> {
        let file = parse_file(text)?;
        Self::merge(None, file, text, &Overrides::default(), env)
    }

    /// Each section converted, with `text` (the file's contents) to say where an error is.
    fn merge(
        path: Option<PathBuf>,
        file: FileConfig,
        text: &str,
        overrides: &Overrides,
        env: &dyn Env,
    ) -> Result<Config> {
        let at = Locator::new(path.as_deref(), text);
        let database = database::database_settings(
            &file.database,
            env,
            overrides.application_name.as_deref(),
            &at,
        )?;
        let publish = publish::publish_settings(&file.publish, env);
        let retention =
            retention::retention_settings(&file.retention, file.archive.retention_days, &at)?;
        Ok(Config {
            api: api::api_settings(file.api, env, &at)?,
            database_url: database::database_url(
                overrides.database_url.as_deref(),
                &file.database,
                env,
            ),
            audit: audit::audit_settings(&file.audit, &at, &database.schema)?,
            database,
            time_zone: schedule::time_zone(&file.schedule, &at)?,
            jobs: jobs::job_settings(file.jobs, publish.path.is_some(), retention.any_set(), &at)?,
            daemon: daemon::daemon_settings(&file.daemon, &at)?,
            distance_bands: derive::distance_bands(&file.derive, &at)?,
            expected_rename_phase: database::expected_rename_phase(&file.database, &at)?,
            adopt: adopt::adopt_settings(&file.adopt, &at)?,
            bookmakers: file.bookmakers.names.unwrap_or_else(default_bookmakers),
            simulator_faults: file.simulator.faults.unwrap_or_default(),
            archive: file.archive,
            odds: file.odds,
            alerts: alerts::alert_settings(&file.alerts, env, &at)?,
            publish,
            retention,
            path,
        })
    }

    /// One job's settings (every kind has an entry).
    pub fn job(&self, kind: JobKind) -> &JobSettings {
        &self.jobs[&kind]
    }
}

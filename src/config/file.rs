//! The configuration file's model: one serde struct per TOML section, every key optional (a
//! missing key takes its named default in `defaults.rs` or the section's module), unknown keys
//! refused. Values that can be wrong are kept [`Spanned`], so that an error names the file and
//! line ([`Locator`]).

use super::archive::ArchiveSettings;
use super::odds::OddsSettings;
use super::simulator::SimulatorFaults;
use anyhow::{anyhow, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub api: FileApi,
    #[serde(default)]
    pub database: FileDatabase,
    #[serde(default)]
    pub schedule: FileSchedule,
    /// `[jobs.NAME]`, by job name; the names are checked against `JobKind`'s table.
    #[serde(default)]
    pub jobs: BTreeMap<Spanned<String>, FileJob>,
    #[serde(default)]
    pub bookmakers: FileBookmakers,
    #[serde(default)]
    pub simulator: FileSimulator,
    #[serde(default)]
    pub audit: FileAudit,
    #[serde(default)]
    pub daemon: FileDaemon,
    #[serde(default)]
    pub archive: ArchiveSettings,
    #[serde(default)]
    pub derive: FileDerive,
    #[serde(default)]
    pub publish: FilePublish,
    #[serde(default)]
    pub retention: FileRetention,
    #[serde(default)]
    pub odds: OddsSettings,
    #[serde(default)]
    pub alerts: FileAlerts,
    #[serde(default)]
    pub adopt: FileAdopt,
}

/// `[retention]` (see `retention.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRetention {
    pub raw_days: Option<Spanned<u32>>,
    pub odds_days: Option<Spanned<u32>>,
    pub odds_keep_move_percent: Option<Spanned<f64>>,
    pub runs_days: Option<Spanned<u32>>,
    pub rejects_days: Option<Spanned<u32>>,
    pub alerts_days: Option<Spanned<u32>>,
    pub batch_size: Option<Spanned<u32>>,
}

/// `[api]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileApi {
    pub base_url: Option<String>,
    pub regions: Option<Spanned<Vec<String>>>,
    pub rate_limit_per_second: Option<Spanned<f64>>,
    pub rate_limit_margin_percent: Option<Spanned<f64>>,
    pub timeout_secs: Option<u64>,
    pub max_attempts: Option<u32>,
    pub backoff_min_ms: Option<Spanned<u64>>,
    pub backoff_max_ms: Option<u64>,
}

/// `[database]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDatabase {
    pub url: Option<String>,
    /// The table-rename phase the database must be in (`legacy`, `dual-write`, …).
    pub expected_rename_phase: Option<Spanned<String>>,
    /// Where the reporting commands read (a replica, or a reader role's URL).
    pub read_url: Option<String>,
    /// How long one connection attempt may take before it is judged failed.
    pub connect_timeout_secs: Option<u64>,
    /// How long the daemon keeps retrying its first connection at start.
    pub connect_retry_secs: Option<u64>,
    /// PostgreSQL `statement_timeout` on every connection (0: none).
    pub statement_timeout_secs: Option<u64>,
    /// PostgreSQL `lock_timeout` on every connection (0: none).
    pub lock_timeout_secs: Option<u64>,
    /// The PostgreSQL schema holding every table Paddock creates (default `public`).
    pub schema: Option<Spanned<String>>,
    /// PostgreSQL TLS, libpq's names (`disable`, `prefer`, `require`, `verify-ca`,
    /// `verify-full`); each overrides the URL's parameter of the same name.
    pub sslmode: Option<Spanned<String>>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
}

/// `[schedule]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSchedule {
    pub time_zone: Option<Spanned<String>>,
}

/// `[jobs.NAME]`: one job's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileJob {
    pub enabled: Option<bool>,
    pub cron: Option<Spanned<String>>,
    pub racecard_days_ahead: Option<Spanned<u32>>,
    pub result_days_back: Option<u32>,
    pub profile_budget: Option<u32>,
    pub include_pedigree_horses: Option<bool>,
    pub schedules: Option<Spanned<Vec<FileJobSchedule>>>,
}

/// One extra schedule of a job (`[[jobs.NAME.schedules]]`), with an optional window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileJobSchedule {
    pub cron: Spanned<String>,
    pub racecard_days_ahead: Option<Spanned<u32>>,
    pub result_days_back: Option<Spanned<u32>>,
}

/// `[bookmakers]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBookmakers {
    pub names: Option<Vec<String>>,
}

/// `[simulator]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSimulator {
    pub faults: Option<SimulatorFaults>,
}

/// `[audit]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAudit {
    pub schema: Option<Spanned<String>>,
    pub result_delay_minutes: Option<i64>,
    pub sample_size: Option<u32>,
    pub trail_runs: Option<u32>,
}

/// `[daemon]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDaemon {
    pub listen: Option<Spanned<String>>,
    pub grace_secs: Option<u64>,
    pub standby_poll_secs: Option<Spanned<u64>>,
}

/// `[derive]`: the derived tables' settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDerive {
    /// Lower bounds of the distance bands in furlongs (default 5, 7, 9, 12, 16).
    pub distance_bands: Option<Spanned<Vec<u32>>>,
}

/// `[publish]`: the SQLite analytics copy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePublish {
    /// The copy's file (no default).
    pub path: Option<String>,
}

/// `[alerts]`: the rules and the webhook (`alerts.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAlerts {
    pub rules: Option<Vec<FileAlertRule>>,
    pub webhook: Option<FileAlertWebhook>,
}

/// One `[[alerts.rules]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAlertRule {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub percent: Option<Spanned<f64>>,
    pub within_minutes: Option<Spanned<u32>>,
}

/// `[alerts.webhook]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAlertWebhook {
    pub url: Option<String>,
}

/// `[adopt]`: the column and key maps of an adopted database (`adopt.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAdopt {
    /// `[adopt.columns.<legacy table>]`: legacy column = the registry column it mirrors.
    #[serde(default)]
    pub columns: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<String>>>,
    /// `[adopt.keys]`: legacy table = its legacy unique column holding the registry key.
    #[serde(default)]
    pub keys: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// Parses configuration text; a syntax error or an unknown key names the key and line.
pub fn parse_file(text: &str) -> Result<FileConfig> {
    toml::from_str::<FileConfig>(text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))
}

/// Says where a value was read: "FILE, line N" (or just the file, for a value that has no
/// place in it, such as a built-in default).
pub struct Locator<'a> {
    file: String,
    text: &'a str,
}

impl<'a> Locator<'a> {
    /// `path` is the file the text came from (`None`: text given directly, "configuration").
    pub fn new(path: Option<&Path>, text: &'a str) -> Self {
        let file = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "configuration".into());
        Locator { file, text }
    }

    /// The file's name.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// "FILE, line N" for a value read from the file at `span`.
    pub fn at(&self, span: Range<usize>) -> String {
        let end = span.start.min(self.text.len());
        let line = self.text[..end].matches('\n').count() + 1;
        format!("{}, line {line}", self.file)
    }
}

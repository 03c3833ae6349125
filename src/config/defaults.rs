//! The built-in defaults, named, in one place: what a setting is when neither a flag, the
//! environment nor the file gives it. (Each job kind's own defaults — its name, cron, budget —
//! are in its row of `JobKind`'s table, `jobs.rs`.)

use chrono_tz::Tz;

/// The default SQLite database, in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://paddock.db";
/// `[database]`: one connection attempt's limit, the daemon's retry window at start, and the
/// PostgreSQL session limits set on every connection.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 5;
pub const DEFAULT_CONNECT_RETRY_SECS: u64 = 60;
pub const DEFAULT_STATEMENT_TIMEOUT_SECS: u64 = 300;
pub const DEFAULT_LOCK_TIMEOUT_SECS: u64 = 60;
/// `application_name` of every PostgreSQL session (`paddock:<command>` when the command is known).
pub const DEFAULT_APPLICATION_NAME: &str = "paddock";
/// The config file read when neither `--config` nor `PADDOCK_CONFIG` names one (if it exists).
pub const DEFAULT_CONFIG_PATH: &str = "config/paddock.toml";

/// The real API.
pub const DEFAULT_API_BASE_URL: &str = "https://api.theracingapi.com/v1";
/// Regions asked for (`[api] regions`).
pub const DEFAULT_REGIONS: [&str; 2] = ["gb", "ire"];
/// Requests per second (the API's limit).
pub const DEFAULT_RATE_LIMIT_PER_SECOND: f64 = 2.0;
/// The largest rate limit the configuration accepts.
pub const MAX_RATE_LIMIT_PER_SECOND: f64 = 100.0;
/// The margin added to the period between requests, as a fraction (2 %: 510 ms at 2/s).
pub const DEFAULT_RATE_LIMIT_MARGIN: f64 = 0.02;
/// The largest margin, as a fraction (5 %).
pub const MAX_RATE_LIMIT_MARGIN: f64 = 0.05;
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
pub const DEFAULT_BACKOFF_MIN_MS: u64 = 500;
pub const DEFAULT_BACKOFF_MAX_MS: u64 = 30_000;

/// The time zone cron expressions are read in.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Europe::London;

/// The most days ahead the API serves racecards for, and the default window's reach.
pub const MAX_RACECARD_DAYS_AHEAD: u32 = 7;
/// Results for today − 3 … today.
pub const DEFAULT_RESULT_DAYS_BACK: u32 = 3;

/// How long a shutdown waits for running jobs to stop between pages.
pub const DEFAULT_GRACE_SECS: u64 = 30;
/// How often a standby instance tries to take a job's lock.
pub const DEFAULT_STANDBY_POLL_SECS: u64 = 5;

/// `[audit]` defaults.
/// The PostgreSQL schema of Paddock's tables (`[database] schema`); the audit's follows it.
pub const DEFAULT_SCHEMA: &str = "public";
pub const DEFAULT_RESULT_DELAY_MINUTES: i64 = 120;
pub const DEFAULT_SAMPLE_SIZE: u32 = 5;
pub const DEFAULT_TRAIL_RUNS: u32 = 10;

/// Bookmakers known before any odds are seen (merged with those discovered in `odds[]`).
pub const DEFAULT_BOOKMAKERS: [&str; 12] = [
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
];

/// [`DEFAULT_BOOKMAKERS`] as owned names.
pub fn default_bookmakers() -> Vec<String> {
    DEFAULT_BOOKMAKERS.iter().map(|s| s.to_string()).collect()
}

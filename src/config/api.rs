//! `[api]`: the API's address, credentials (from the environment only), regions, rate limit
//! and retry settings, converted from the file with the environment's overrides.

use super::defaults::{
    DEFAULT_API_BASE_URL, DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS, DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RATE_LIMIT_MARGIN, DEFAULT_RATE_LIMIT_PER_SECOND, DEFAULT_REGIONS,
    DEFAULT_TIMEOUT_SECS, MAX_RATE_LIMIT_MARGIN, MAX_RATE_LIMIT_PER_SECOND,
};
use super::file::{FileApi, Locator};
use super::secrets::{Env, Secret};
use anyhow::{anyhow, bail, Result};
use toml::Spanned;

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

impl ApiSettings {
    /// Refuses, before any request is sent, when the API credentials are not both set: a
    /// command that needs the API says what to set instead of spending a request on a 401.
    pub fn require_credentials(&self) -> Result<()> {
        match (&self.username, &self.password) {
            (Some(_), Some(_)) => Ok(()),
            (user, _) => bail!(
                "no Racing API credentials: {} not set (environment, .env, or the systemd \
                 credentials racing_api_username and racing_api_password); no request was sent",
                if user.is_none() {
                    "RACING_API_USERNAME is"
                } else {
                    "RACING_API_PASSWORD is"
                }
            ),
        }
    }
}

/// `[api]` with `PADDOCK_API_BASE_URL`, `PADDOCK_API_RATE_LIMIT` and the credentials
/// (`RACING_API_USERNAME`, `RACING_API_PASSWORD`) from the environment.
pub fn api_settings(file: FileApi, env: &dyn Env, at: &Locator) -> Result<ApiSettings> {
    let rate_limit_per_second = rate_limit(&file, env, at)?;
    let rate_limit_margin_percent = margin_percent(&file, at)?;
    let regions = regions(file.regions, at)?;
    let backoff_min_ms = file
        .backoff_min_ms
        .as_ref()
        .map_or(DEFAULT_BACKOFF_MIN_MS, |v| *v.get_ref());
    let backoff_max_ms = file.backoff_max_ms.unwrap_or(DEFAULT_BACKOFF_MAX_MS);
    if backoff_min_ms > backoff_max_ms {
        let place = file
            .backoff_min_ms
            .as_ref()
            .map_or_else(|| at.file().to_string(), |v| at.at(v.span()));
        bail!(
            "{place}: api.backoff_min_ms ({backoff_min_ms}) must not exceed api.backoff_max_ms ({backoff_max_ms})"
        );
    }
    Ok(ApiSettings {
        base_url: env
            .var("PADDOCK_API_BASE_URL")
            .or(file.base_url)
            .unwrap_or_else(|| DEFAULT_API_BASE_URL.into())
            .trim_end_matches('/')
            .to_string(),
        username: env.var("RACING_API_USERNAME").map(Secret::new),
        password: env.var("RACING_API_PASSWORD").map(Secret::new),
        regions,
        rate_limit_per_second,
        rate_limit_margin_percent,
        timeout_secs: file.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS),
        max_attempts: file.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
        backoff_min_ms,
        backoff_max_ms,
    })
}

/// Requests per second: `PADDOCK_API_RATE_LIMIT`, else the file, else the default; within
/// `0 < r <= 100`.
fn rate_limit(file: &FileApi, env: &dyn Env, at: &Locator) -> Result<f64> {
    let in_range = |r: f64| r > 0.0 && r <= MAX_RATE_LIMIT_PER_SECOND;
    let rate_limit = match env.var("PADDOCK_API_RATE_LIMIT") {
        Some(v) => v.parse::<f64>().map_err(|_| {
            anyhow!("PADDOCK_API_RATE_LIMIT: {v:?} is not a number of requests per second")
        })?,
        None => match &file.rate_limit_per_second {
            Some(v) if !in_range(*v.get_ref()) => bail!(
                "{}: api.rate_limit_per_second must be between 0 and {MAX_RATE_LIMIT_PER_SECOND}, got {}",
                at.at(v.span()),
                v.get_ref()
            ),
            Some(v) => *v.get_ref(),
            None => DEFAULT_RATE_LIMIT_PER_SECOND,
        },
    };
    if !in_range(rate_limit) {
        bail!(
            "{}: api.rate_limit_per_second must be between 0 and {MAX_RATE_LIMIT_PER_SECOND}, got {rate_limit}",
            at.file()
        );
    }
    Ok(rate_limit)
}

/// The rate limit's margin in percent, within `0..=5`.
fn margin_percent(file: &FileApi, at: &Locator) -> Result<f64> {
    let max_margin = MAX_RATE_LIMIT_MARGIN * 100.0;
    Ok(match &file.rate_limit_margin_percent {
        Some(v) if !(0.0..=max_margin).contains(v.get_ref()) => bail!(
            "{}: api.rate_limit_margin_percent must be between 0 and {max_margin}, got {}",
            at.at(v.span()),
            v.get_ref()
        ),
        Some(v) => *v.get_ref(),
        None => DEFAULT_RATE_LIMIT_MARGIN * 100.0,
    })
}

/// The regions, lower case; an empty list is an error.
fn regions(file: Option<Spanned<Vec<String>>>, at: &Locator) -> Result<Vec<String>> {
    if let Some(r) = file.as_ref().filter(|r| r.get_ref().is_empty()) {
        bail!(
            "{}: api.regions must name at least one region (e.g. [\"gb\", \"ire\"])",
            at.at(r.span())
        );
    }
    Ok(file
        .map(Spanned::into_inner)
        .unwrap_or_else(|| DEFAULT_REGIONS.map(String::from).to_vec())
        .into_iter()
        .map(|r| r.to_ascii_lowercase())
        .collect())
}

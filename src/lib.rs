//! Paddock, the application: CLI support, configuration, the HTTP client for The Racing API,
//! the SQLite and PostgreSQL stores, the API simulator, running jobs, imports and the demo.
//! The domain (registry, models, extractor, fetchers) lives in the `fetchers` crate.

pub mod app;
pub mod client;
pub mod config;
pub mod demo;
pub mod import;
pub mod simulator;
pub mod store;
pub mod tables;

use std::sync::{Arc, OnceLock};

/// Today's date in the configured time zone (the racing day).
pub fn today(config: &config::Config) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&config.time_zone)
        .date_naive()
}

/// The one rate limiter of this process, shared by every job and backfill.
pub fn process_limiter(requests_per_second: f64) -> Arc<client::SharedLimiter> {
    static LIMITER: OnceLock<Arc<client::SharedLimiter>> = OnceLock::new();
    LIMITER
        .get_or_init(|| client::SharedLimiter::new(requests_per_second))
        .clone()
}

/// Opens the configured database and applies pending migrations (idempotent).
pub async fn open_store(config: &config::Config) -> anyhow::Result<store::AnyStore> {
    let store = store::connect(config.database_url.expose()).await?;
    store.migrate().await?;
    // Reads and writes follow the rename phase the database is in (see `tables`).
    tables::for_current_phase(store).await
}

/// The HTTP client for the configured API, on the process-wide limiter.
pub fn api_client(config: &config::Config) -> anyhow::Result<client::RacingApiClient> {
    let credentials = match (&config.api.username, &config.api.password) {
        (Some(u), Some(p)) => Some(client::Credentials::new(u.expose(), p.expose())),
        _ => None,
    };
    let client_config = client::ClientConfig {
        base_url: config.api.base_url.clone(),
        credentials,
        requests_per_second: config.api.rate_limit_per_second,
        timeout: std::time::Duration::from_secs(config.api.timeout_secs),
        max_attempts: config.api.max_attempts,
        ..client::ClientConfig::default()
    };
    client::RacingApiClient::new(
        client_config,
        process_limiter(config.api.rate_limit_per_second),
    )
}

//! Paddock, the application: CLI support, configuration, the HTTP client for The Racing API,
//! the SQLite and PostgreSQL stores, running jobs, imports and the demo. The domain (registry,
//! models, extractor, fetchers) lives in the `fetchers` crate, the API simulator in the
//! `simulator` crate (re-exported here as `paddock::simulator` for the demo and the tests).

pub mod adopt;
pub mod alerts;
pub mod allocator;
pub mod archive;
pub mod audit;
pub mod backfill;
pub mod client;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod derive;
pub mod grants;
pub mod import;
pub mod logging;
pub mod publish;
pub mod rename;
pub mod replay;
pub mod retention;
pub mod run;
pub mod simulate_api;
pub mod store;

pub use simulator;

use std::sync::{Arc, OnceLock};

/// Today's date in the configured time zone (the racing day).
pub fn today(config: &config::Config) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&config.time_zone)
        .date_naive()
}

/// The one rate limiter of this process, shared by every job and backfill. Its rate is the
/// latest caller's (the daemon's reload changes it), not fixed by the first.
pub fn process_limiter(requests_per_second: f64) -> Arc<client::SharedLimiter> {
    static LIMITER: OnceLock<Arc<client::SharedLimiter>> = OnceLock::new();
    let limiter = LIMITER
        .get_or_init(|| client::SharedLimiter::new(requests_per_second))
        .clone();
    limiter.set_rate(requests_per_second);
    limiter
}

/// The store options `[database]` asks for (session settings, timeouts).
pub fn store_options(config: &config::Config) -> store::StoreOptions {
    store::StoreOptions::from_settings(&config.database)
}

/// Connects to the configured database with `[database]`'s options (schema, timeouts, session
/// name), neither migrating nor following the rename phase (`migrate --legacy-names`).
pub async fn connect_store(config: &config::Config) -> anyhow::Result<store::AnyStore> {
    store::connect_with(config.database_url.expose(), &store_options(config)).await
}

/// Opens the configured database and applies pending migrations (idempotent). One attempt: a
/// connection that fails says why at once.
pub async fn open_store(config: &config::Config) -> anyhow::Result<store::AnyStore> {
    let store = migrated_following_phase(connect_store(config).await?, config).await?;
    Ok(store.with_alert_rules(&config.alerts.rules))
}

/// [`open_store`] for the daemon at start: a connection failure that may pass (refused, no
/// answer, server starting) is retried with backoff for `[database] connect_retry_secs`,
/// its cause logged at each attempt.
pub async fn open_store_retrying(config: &config::Config) -> anyhow::Result<store::AnyStore> {
    let window = std::time::Duration::from_secs(config.database.connect_retry_secs);
    let options = store_options(config);
    let url = config.database_url.expose();
    let store =
        store::connection::retry_connect(window, || store::connect_with(url, &options)).await?;
    let store = migrated_following_phase(store, config).await?;
    Ok(store.with_alert_rules(&config.alerts.rules))
}

async fn migrated_following_phase(
    store: store::AnyStore,
    config: &config::Config,
) -> anyhow::Result<store::AnyStore> {
    store.migrate().await?;
    // Reads and writes follow the rename phase the database is in (see `rename`), with the
    // column maps `paddock adopt` recorded; configured maps that differ are reported.
    let store = rename::for_current_phase(store).await?;
    rename::warn_changed_maps(&store, &config.adopt.maps).await?;
    Ok(store)
}

/// The database the reporting commands (`query`, `status`, `audit`, `tables status`) read:
/// `[database] read_url` when set, else the database; never migrated, SQLite opened
/// read-only and PostgreSQL sessions `default_transaction_read_only`.
pub async fn connect_reader(config: &config::Config) -> anyhow::Result<store::AnyStore> {
    let url = config
        .database
        .read_url
        .as_ref()
        .unwrap_or(&config.database_url);
    store::connect_with(url.expose(), &store_options(config).read_only()).await
}

/// [`connect_reader`], reading under the names of the database's rename phase.
pub async fn open_store_read_only(config: &config::Config) -> anyhow::Result<store::AnyStore> {
    use anyhow::Context as _;
    let store = connect_reader(config).await?;
    rename::for_current_phase(store)
        .await
        .context("reading the rename phase (is the database migrated? `paddock migrate`)")
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
        backoff_min: std::time::Duration::from_millis(config.api.backoff_min_ms),
        backoff_max: std::time::Duration::from_millis(config.api.backoff_max_ms),
        ..client::ClientConfig::default()
    };
    let limiter = process_limiter(config.api.rate_limit_per_second);
    limiter.set_margin(config.api.rate_limit_margin_percent / 100.0);
    client::RacingApiClient::new(client_config, limiter)
}

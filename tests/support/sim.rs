//! The simulated Racing API for tests: a simulator serving a fixed "today" (so every figure is
//! reproducible) and API clients for it. A subject keeps its own seed: the tests' expectations
//! (busy days, abandoned races, date ranges) were written against that seed's data.

use chrono::NaiveDate;
use paddock::client::{ClientConfig, Credentials, RacingApiClient, SharedLimiter};
use paddock::simulator::{Faults, SimConfig, SimServer};
use std::time::Duration;

/// The user [`simulator`] accepts and [`client_for`] sends.
pub const USER: &str = "tester";
/// [`USER`]'s password.
pub const PASSWORD: &str = "secret";

/// The simulator's "today" in the tests that fix it.
pub fn sim_today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
}

/// A simulator configuration: `seed`, `user`/`password`, today = [`sim_today`], no faults.
pub fn sim_config(seed: u64, user: &str, password: &str) -> SimConfig {
    let mut config = SimConfig::new(seed, user, password);
    config.today = sim_today();
    config
}

/// A simulator started on `config`.
pub async fn start_simulator(config: SimConfig) -> SimServer {
    SimServer::start(config)
        .await
        .expect("the simulator starts")
}

/// A simulator of `seed` with `faults`, serving [`sim_today`] to [`USER`]/[`PASSWORD`].
pub async fn simulator(seed: u64, faults: Faults) -> SimServer {
    start_simulator(SimConfig {
        faults,
        ..sim_config(seed, USER, PASSWORD)
    })
    .await
}

/// Client settings for `server` as `user`/`password`: 1000 requests per second (the
/// simulator has no rate limit unless a fault sets one), otherwise the defaults.
pub fn client_config(server: &SimServer, user: &str, password: &str) -> ClientConfig {
    ClientConfig {
        base_url: server.base_url.clone(),
        credentials: Some(Credentials::new(user, password)),
        requests_per_second: 1000.0,
        ..ClientConfig::default()
    }
}

/// `config` with backoffs of 5 to 20 ms, for tests that inject faults and retry a lot.
pub fn quick_backoff(config: ClientConfig) -> ClientConfig {
    ClientConfig {
        backoff_min: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        ..config
    }
}

/// A client on `config`, with a limiter of its own at the configured rate.
pub fn api_client(config: ClientConfig) -> RacingApiClient {
    let limiter = SharedLimiter::new(config.requests_per_second);
    RacingApiClient::new(config, limiter).expect("an API client")
}

/// The client most tests use: [`USER`]/[`PASSWORD`] on `server`, see [`client_config`].
pub fn client_for(server: &SimServer) -> RacingApiClient {
    api_client(client_config(server, USER, PASSWORD))
}

/// Requests `server` has counted for the endpoint `template` (e.g. `/horses/{id}/pro`),
/// retries and faulted answers included.
pub fn requests_to(server: &SimServer, template: &str) -> u64 {
    server
        .stats()
        .by_endpoint
        .get(template)
        .copied()
        .unwrap_or(0)
}

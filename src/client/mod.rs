//! The HTTP client for The Racing API: [`RacingApiClient`] implements
//! [`ApiSource`] with Basic auth, the process-wide
//! [`SharedLimiter`], error classification and retries, a [`ResponseHook`] that sees every
//! response (for the raw archive), and per-endpoint request counts.
//!
//! - `racing_api.rs`: the client, its settings and the response hook.
//! - `credentials.rs`: the account, never printed.
//! - `limiter.rs`: one request per 500 ms for the whole process, pausable by a 429.
//! - `retry.rs`: what each answer means and whether it is tried again (no I/O).
//! - `transport.rs`: one GET with reqwest (no policy).

mod credentials;
mod limiter;
mod racing_api;
mod retry;
mod transport;

pub use credentials::Credentials;
pub use limiter::{SharedLimiter, DEFAULT_MARGIN, MAX_MARGIN};
pub use racing_api::{ClientConfig, RacingApiClient, ResponseHook};

/// The production base URL (the configuration's default).
pub use crate::config::DEFAULT_API_BASE_URL as DEFAULT_BASE_URL;

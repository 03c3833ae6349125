//! The Racing API as Paddock sees it: typed requests, the error classification, the
//! [`ApiSource`] trait the fetchers are written against, and (in [`models`] and [`parse`]) the
//! payload models that turn the API's string-typed values into domain values once.

pub mod models;
pub mod parse;
mod request;

pub use request::{ApiRequest, Endpoint};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A successful (2xx) response, exactly as received, for parsing and for the raw archive.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub endpoint: Endpoint,
    /// Path and query as sent, e.g. `/results?start_date=…&limit=50&skip=0` (no base URL).
    pub path_and_query: String,
    pub status: u16,
    pub fetched_at: DateTime<Utc>,
    pub body: String,
}

/// Why a request failed, after the client's own retries. The fetchers decide per variant
/// whether the run continues ([`ApiError::NotFound`]) or stops.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ApiError {
    /// 401: wrong or missing credentials. Stops the run.
    #[error("the API refused the credentials (401): set RACING_API_USERNAME and RACING_API_PASSWORD (environment, .env or systemd credentials)")]
    Unauthorized,
    /// 404 for one resource (a race or a horse): recorded as missing, not fatal.
    #[error("not found (404): {path}")]
    NotFound { path: String },
    /// 400/403/422 and other 4xx: never retried.
    #[error("the API rejected the request {path} with {status}: {excerpt}")]
    Rejected {
        status: u16,
        path: String,
        excerpt: String,
    },
    /// 429/5xx/timeouts/connection errors that outlasted every retry.
    #[error("gave up on {path} after {attempts} attempts: {last}")]
    RetriesExhausted {
        path: String,
        attempts: u32,
        last: String,
    },
    /// A body that was not valid JSON twice, or not the expected shape.
    #[error("malformed response from {path}: {reason}; body starts: {excerpt}")]
    Malformed {
        path: String,
        reason: String,
        excerpt: String,
    },
    /// Pages that ended before the envelope's `total` was reached.
    #[error("{path}: paging ended at {received} of {total} records")]
    ShortPaging {
        path: String,
        received: u64,
        total: u64,
    },
    /// The run was asked to stop (the daemon is shutting down) before this request.
    #[error("stopped before {path}: the run was cancelled (shutdown)")]
    Cancelled { path: String },
}

impl ApiError {
    /// Whether the whole run must stop (as opposed to skipping one resource).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ApiError::NotFound { .. })
    }
}

/// The first `max` characters of a body, for error messages.
pub fn excerpt(body: &str, max: usize) -> String {
    let mut s: String = body.chars().take(max).collect();
    if body.chars().count() > max {
        s.push('…');
    }
    s
}

/// Where the fetchers get API responses from: the HTTP client in production, the simulator's
/// HTTP server in tests and the demo, saved files for `paddock import`.
#[async_trait]
pub trait ApiSource: Send + Sync {
    /// Performs one request (with the implementation's rate limit and retries) and returns the
    /// 2xx body, or the classified error.
    async fn fetch(&self, request: &ApiRequest) -> Result<RawResponse, ApiError>;
}

//! [`RacingApiClient`]: the client itself, its settings ([`ClientConfig`]) and the
//! [`ResponseHook`] that sees every response. It paces each request through the shared
//! limiter, sends it with the transport and asks the retry policy what the answer means.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context as _};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fetchers::api::{ApiError, ApiRequest, ApiSource, RawResponse};
use tokio::time::Instant;
use tracing::{debug, warn};

use super::credentials::Credentials;
use super::limiter::SharedLimiter;
use super::retry::{
    classify_failure, classify_response, Next, Received, Retry, RetrySchedule, Verdict,
};
use super::transport::{Exchange, Transport};
use crate::config::DEFAULT_API_BASE_URL as DEFAULT_BASE_URL;

/// How the client talks to the API. `Debug` never shows the password.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// E.g. `https://api.theracingapi.com/v1`, or the simulator's `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    /// HTTP Basic credentials; without them the API answers 401.
    pub credentials: Option<Credentials>,
    /// The rate for the process's [`SharedLimiter`] (the limiter passed to
    /// [`RacingApiClient::new`] is what actually paces requests). Default 2.0.
    pub requests_per_second: f64,
    /// Limit for one whole exchange, body included. Default 30 s.
    pub timeout: Duration,
    /// Attempts per request, the first included. Default 5.
    pub max_attempts: u32,
    /// Backoff before the first retry after a 5xx/timeout/connection error. Default 500 ms.
    pub backoff_min: Duration,
    /// Longest backoff. Default 30 s.
    pub backoff_max: Duration,
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            credentials: None,
            requests_per_second: 2.0,
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            user_agent: concat!("paddock/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Sees every response the client receives — successes, errors and the ones that are retried
/// — with the request, status, receipt time and body (lossily decoded if it is not UTF-8; as
/// much as arrived if it was cut short). Requests that got no response at all (timeouts,
/// connection errors) are not reported. Called before the response is classified.
pub trait ResponseHook: Send + Sync {
    fn on_response(&self, request: &ApiRequest, status: u16, fetched_at: DateTime<Utc>, body: &str);
}

/// The Racing API over HTTP. Cheap to clone; clones share the limiter, hook and counters.
#[derive(Clone)]
pub struct RacingApiClient {
    base_url: String,
    config: ClientConfig,
    transport: Transport,
    limiter: Arc<SharedLimiter>,
    hooks: Vec<Arc<dyn ResponseHook>>,
    /// Every attempt, by endpoint template, since the client was built.
    attempts: Arc<Mutex<BTreeMap<&'static str, u64>>>,
    /// Attempts beyond the first, by endpoint template, since the client was built.
    retries: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl fmt::Debug for RacingApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RacingApiClient")
            .field("config", &self.config)
            .field("limiter", &self.limiter)
            .field("hooks", &self.hooks.len())
            .finish_non_exhaustive()
    }
}

impl RacingApiClient {
    /// Checks the configuration and builds the HTTP client. `limiter` must be the process's
    /// single [`SharedLimiter`].
    pub fn new(config: ClientConfig, limiter: Arc<SharedLimiter>) -> anyhow::Result<Self> {
        let base = url::Url::parse(&config.base_url)
            .with_context(|| format!("the API base URL {:?} is not a URL", config.base_url))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!(
                "the API base URL must be http or https, got {:?}",
                config.base_url
            );
        }
        if !base.username().is_empty() || base.password().is_some() {
            bail!("the API base URL must not contain credentials: set RACING_API_USERNAME and RACING_API_PASSWORD instead");
        }
        if base.query().is_some() || base.fragment().is_some() {
            bail!(
                "the API base URL must not have a query or fragment, got {:?}",
                config.base_url
            );
        }
        if !(config.requests_per_second.is_finite() && config.requests_per_second > 0.0) {
            bail!(
                "requests_per_second must be positive, got {}",
                config.requests_per_second
            );
        }
        if config.timeout.is_zero() {
            bail!("the request timeout must be positive");
        }
        if config.max_attempts == 0 {
            bail!("max_attempts must be at least 1");
        }
        if config.backoff_min > config.backoff_max {
            bail!(
                "backoff_min ({:?}) must not exceed backoff_max ({:?})",
                config.backoff_min,
                config.backoff_max
            );
        }
        let transport = Transport::new(
            config.credentials.clone(),
            config.timeout,
            &config.user_agent,
        )
        .context("building the HTTP client")?;
        Ok(Self {
            base_url: config.base_url.trim_end_matches('/').to_string(),
            config,
            transport,
            limiter,
            hooks: Vec::new(),
            attempts: Arc::default(),
            retries: Arc::default(),
        })
    }

    /// Passes every response through `hook` too, after the hooks added before it (the
    /// daemon's metrics and the raw archive both watch the same client).
    pub fn with_hook(mut self, hook: Arc<dyn ResponseHook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Requests sent so far per endpoint template (`/results`, `/horses/{id}/pro`, …), every
    /// attempt counted, retries included.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        snapshot(&self.attempts)
    }

    /// Attempts beyond the first sent so far per endpoint template (`/results`,
    /// `/horses/{id}/pro`, …): the retries, which only grow (the daemon's
    /// `paddock_api_retries_total` counter).
    pub fn retry_counts(&self) -> BTreeMap<String, u64> {
        snapshot(&self.retries)
    }

    /// Counts one attempt of `request` (the `attempt`-th, from 1).
    fn count_attempt(&self, request: &ApiRequest, attempt: u32) {
        let template = request.endpoint().template();
        increment(&self.attempts, template);
        if attempt > 1 {
            increment(&self.retries, template);
        }
    }
}

/// Adds one to `template`'s entry of a per-endpoint counter map.
fn increment(counts: &Mutex<BTreeMap<&'static str, u64>>, template: &'static str) {
    *counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(template)
        .or_default() += 1;
}

/// A copy of a per-endpoint counter map with owned keys.
fn snapshot(counts: &Mutex<BTreeMap<&'static str, u64>>) -> BTreeMap<String, u64> {
    counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(template, n)| (template.to_string(), *n))
        .collect()
}

#[async_trait]
impl ApiSource for RacingApiClient {
    async fn fetch(&self, request: &ApiRequest) -> Result<RawResponse, ApiError> {
        let path = request.path_and_query();
        let url = format!("{}{}", self.base_url, path);
        let mut schedule = RetrySchedule::new(
            self.config.max_attempts,
            self.config.backoff_min,
            self.config.backoff_max,
        );
        loop {
            self.limiter.acquire().await;
            let attempt = schedule.begin_attempt();
            self.count_attempt(request, attempt);
            let started = Instant::now();
            let exchange = self.transport.get(&url).await;
            let latency_ms = started.elapsed().as_millis() as u64;

            let retry = match exchange {
                Exchange::Response(response) => {
                    debug!(
                        path = %path,
                        status = response.status,
                        latency_ms,
                        attempt,
                        "API response"
                    );
                    if !self.hooks.is_empty() {
                        let body = String::from_utf8_lossy(&response.body);
                        for hook in &self.hooks {
                            hook.on_response(request, response.status, response.fetched_at, &body);
                        }
                    }
                    let received = Received {
                        status: response.status,
                        retry_after: response.retry_after.as_deref(),
                        body: &response.body,
                        cut: response.cut.as_ref(),
                    };
                    match classify_response(&received, &path, SystemTime::now()) {
                        Verdict::Success(body) => {
                            return Ok(RawResponse {
                                endpoint: request.endpoint(),
                                path_and_query: path,
                                status: response.status,
                                fetched_at: response.fetched_at,
                                body,
                            })
                        }
                        Verdict::Fail(error) => return Err(error),
                        Verdict::Retry(retry) => retry,
                    }
                }
                Exchange::Failed(failure) => {
                    debug!(
                        path = %path,
                        latency_ms,
                        attempt,
                        failure = %failure.describe(),
                        "API request failed"
                    );
                    classify_failure(&failure)
                }
            };

            if let Retry::RateLimited { wait, .. } = &retry {
                // The API counts requests per account: every request of the process waits.
                self.limiter.pause_until(Instant::now() + *wait);
                warn!(
                    path = %path,
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "rate limited (429): pausing every request of the process"
                );
            }
            let reason = retry.reason().to_string();
            match schedule.after(retry, &path) {
                Next::Retry { wait } => {
                    warn!(
                        path = %path,
                        attempt,
                        reason = %reason,
                        wait_ms = wait.as_millis() as u64,
                        "retrying API request"
                    );
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                }
                Next::GiveUp(error) => {
                    warn!(path = %path, attempt, error = %error, "giving up on the API request");
                    return Err(error);
                }
            }
        }
    }
}

//! One HTTP exchange, and nothing else: a GET with Basic auth and the configured timeout,
//! the body read chunk by chunk (so a body cut short still yields what did arrive), and the
//! reqwest error turned into a library-independent [`Failure`]. No retries, no limiter, no
//! classification here.

use std::error::Error as _;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::credentials::Credentials;
use super::retry::Failure;

/// What one GET produced.
#[derive(Debug)]
pub(crate) enum Exchange {
    /// A status line arrived (the body may still have been cut short).
    Response(Response),
    /// No response at all.
    Failed(Failure),
}

#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub retry_after: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub body: Vec<u8>,
    /// Why the body ended early, if it did.
    pub cut: Option<Failure>,
}

#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    credentials: Option<Credentials>,
    timeout: Duration,
}

impl Transport {
    pub(crate) fn new(
        credentials: Option<Credentials>,
        timeout: Duration,
        user_agent: &str,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .user_agent(user_agent)
            .build()?;
        Ok(Self {
            http,
            credentials,
            timeout,
        })
    }

    /// Sends one GET to `url` and reads the whole response.
    pub(crate) async fn get(&self, url: &str) -> Exchange {
        let mut request = self.http.get(url);
        if let Some(credentials) = &self.credentials {
            request = request.basic_auth(credentials.username(), Some(credentials.password()));
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Exchange::Failed(self.failure(&e)),
        };
        let fetched_at = Utc::now();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        let cut = loop {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break None,
                Err(e) => break Some(self.failure(&e)),
            }
        };
        Exchange::Response(Response {
            status,
            retry_after,
            fetched_at,
            body,
            cut,
        })
    }

    /// Describes a reqwest error by its kind and causes, without the URL.
    fn failure(&self, e: &reqwest::Error) -> Failure {
        if e.is_timeout() {
            return Failure::TimedOut(self.timeout);
        }
        let mut why = if e.is_body() || e.is_decode() {
            "reading the body failed".to_string()
        } else {
            "request failed".to_string()
        };
        let mut source = e.source();
        while let Some(cause) = source {
            why.push_str(": ");
            why.push_str(&cause.to_string());
            source = cause.source();
        }
        if e.is_connect() {
            Failure::Connect(why)
        } else {
            Failure::Other(why)
        }
    }
}

//! What to do with each answer, apart from how it was obtained: [`classify_response`] and
//! [`classify_failure`] turn an HTTP exchange into a [`Verdict`], and [`RetrySchedule`] decides
//! whether (and after how long) a retryable verdict is tried again.
//!
//! | answer | verdict |
//! |---|---|
//! | 2xx with a complete JSON body | success |
//! | 2xx with invalid JSON or a body cut short | retried once, then [`ApiError::Malformed`] |
//! | 429 | every request of the process waits for `Retry-After` (seconds or HTTP date, 1 s if absent), then retried |
//! | 5xx, 408, timeout, connection error | retried with jittered exponential backoff |
//! | 401 | [`ApiError::Unauthorized`], not retried |
//! | 404 | [`ApiError::NotFound`], not retried |
//! | any other status | [`ApiError::Rejected`], not retried |
//!
//! Every retry counts toward `max_attempts`; when they run out the result is
//! [`ApiError::RetriesExhausted`] with the last reason.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use fetchers::api::{excerpt, ApiError};

/// How long to wait after a 429 that carries no usable `Retry-After`.
pub(crate) const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest `Retry-After` honoured; a longer (or absurd) value is cut to this.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);
/// Body excerpts in errors are at most this many characters, the ellipsis included.
const EXCERPT_CHARS: usize = 200;

/// An HTTP response as received, independent of the HTTP library.
#[derive(Debug)]
pub(crate) struct Received<'a> {
    pub status: u16,
    /// The raw `Retry-After` header, if any.
    pub retry_after: Option<&'a str>,
    /// The body bytes received (all of them, or as many as arrived before `cut`).
    pub body: &'a [u8],
    /// Why the body ended early, if it did.
    pub cut: Option<&'a Failure>,
}

/// A request that got no (complete) answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// The whole exchange outlasted the configured timeout.
    TimedOut(Duration),
    /// The connection could not be made.
    Connect(String),
    /// Anything else the transport reported (connection reset, body ended early, …).
    Other(String),
}

impl Failure {
    pub(crate) fn describe(&self) -> String {
        match self {
            Failure::TimedOut(after) => format!("timed out after {} ms", after.as_millis()),
            Failure::Connect(why) => format!("connection failed: {why}"),
            Failure::Other(why) => why.clone(),
        }
    }
}

/// What an exchange means.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// A 2xx whose body is complete, valid JSON.
    Success(String),
    /// Worth another attempt.
    Retry(Retry),
    /// Final, never retried.
    Fail(ApiError),
}

/// Why an exchange is worth another attempt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Retry {
    /// 429: the whole process waits `wait`.
    RateLimited { wait: Duration, reason: String },
    /// 5xx, 408, timeout or connection error: this request backs off.
    Transient { reason: String },
    /// A 2xx body that is not valid JSON or was cut short: retried once.
    Malformed { reason: String, excerpt: String },
}

impl Retry {
    pub(crate) fn reason(&self) -> &str {
        match self {
            Retry::RateLimited { reason, .. }
            | Retry::Transient { reason }
            | Retry::Malformed { reason, .. } => reason,
        }
    }
}

/// Classifies a response. `path` (path and query) goes into errors; `now` anchors a
/// `Retry-After` given as an HTTP date.
pub(crate) fn classify_response(received: &Received<'_>, path: &str, now: SystemTime) -> Verdict {
    let text = || String::from_utf8_lossy(received.body);
    match received.status {
        200..=299 => classify_body(received),
        401 => Verdict::Fail(ApiError::Unauthorized),
        404 => Verdict::Fail(ApiError::NotFound {
            path: path.to_string(),
        }),
        429 => {
            let (wait, source) = match received.retry_after.map(|v| parse_retry_after(v, now)) {
                Some(Some(wait)) => (wait, "Retry-After"),
                Some(None) => (DEFAULT_RETRY_AFTER, "unreadable Retry-After, default"),
                None => (DEFAULT_RETRY_AFTER, "no Retry-After, default"),
            };
            Verdict::Retry(Retry::RateLimited {
                wait,
                reason: format!("429 Too Many Requests ({source} {} ms)", wait.as_millis()),
            })
        }
        // The server gave up waiting for the request: the same as our own timeout.
        408 => Verdict::Retry(Retry::Transient {
            reason: "408 Request Timeout".to_string(),
        }),
        500..=599 => Verdict::Retry(Retry::Transient {
            reason: format!(
                "server error {}: {}",
                received.status,
                body_excerpt(&text())
            ),
        }),
        status => Verdict::Fail(ApiError::Rejected {
            status,
            path: path.to_string(),
            excerpt: body_excerpt(&text()),
        }),
    }
}

/// A 2xx: success only if the body arrived whole and is valid JSON.
fn classify_body(received: &Received<'_>) -> Verdict {
    let malformed = |reason: String| {
        Verdict::Retry(Retry::Malformed {
            reason,
            excerpt: body_excerpt(&String::from_utf8_lossy(received.body)),
        })
    };
    match received.cut {
        // A body that stalls until the timeout is a timeout, retried with backoff.
        Some(failure @ Failure::TimedOut(_)) => {
            return Verdict::Retry(Retry::Transient {
                reason: format!("reading the body {}", failure.describe()),
            })
        }
        Some(failure) => {
            return malformed(format!(
                "body cut short after {} bytes: {}",
                received.body.len(),
                failure.describe()
            ))
        }
        None => {}
    }
    let body = match std::str::from_utf8(received.body) {
        Ok(body) => body,
        Err(e) => return malformed(format!("body is not UTF-8: {e}")),
    };
    match serde_json::from_str::<serde::de::IgnoredAny>(body) {
        Ok(_) => Verdict::Success(body.to_string()),
        Err(e) => malformed(format!("invalid JSON: {e}")),
    }
}

/// Classifies a request that got no response at all: always worth another attempt.
pub(crate) fn classify_failure(failure: &Failure) -> Retry {
    Retry::Transient {
        reason: failure.describe(),
    }
}

/// Reads `Retry-After`: delay-seconds (`"2"`, leniently `"1.5"`) or an HTTP date, measured
/// from `now`. A date in the past means no wait. Capped at [`MAX_RETRY_AFTER`]. `None` if the
/// value is neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<f64>() {
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        Duration::try_from_secs_f64(seconds).unwrap_or(MAX_RETRY_AFTER)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The first characters of a body, for error messages: at most 200, the ellipsis included.
pub(crate) fn body_excerpt(body: &str) -> String {
    excerpt(body, EXCERPT_CHARS - 1)
}

/// What to do after a retryable verdict.
#[derive(Debug, PartialEq)]
pub(crate) enum Next {
    /// Try again after `wait` (zero after a 429: the limiter's pause does the waiting).
    Retry { wait: Duration },
    /// Stop with this error.
    GiveUp(ApiError),
}

/// The retry budget of one request: `max_attempts` in all, at most two malformed bodies, and
/// a jittered exponential backoff between `backoff_min` and `backoff_max`.
#[derive(Debug)]
pub(crate) struct RetrySchedule {
    max_attempts: u32,
    attempts: u32,
    malformed: u32,
    backoff: ExponentialBackoff,
    backoff_max: Duration,
}

impl RetrySchedule {
    pub(crate) fn new(max_attempts: u32, backoff_min: Duration, backoff_max: Duration) -> Self {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(backoff_min)
            .with_max_delay(backoff_max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build();
        Self {
            max_attempts: max_attempts.max(1),
            attempts: 0,
            malformed: 0,
            backoff,
            backoff_max,
        }
    }

    /// Records that an attempt is being made and returns its number (1-based).
    pub(crate) fn begin_attempt(&mut self) -> u32 {
        self.attempts += 1;
        self.attempts
    }

    /// Decides what follows the retryable outcome of the current attempt.
    pub(crate) fn after(&mut self, retry: Retry, path: &str) -> Next {
        let out_of_attempts = self.attempts >= self.max_attempts;
        match retry {
            Retry::Malformed { reason, excerpt } => {
                self.malformed += 1;
                if self.malformed >= 2 || out_of_attempts {
                    Next::GiveUp(ApiError::Malformed {
                        path: path.to_string(),
                        reason,
                        excerpt,
                    })
                } else {
                    Next::Retry {
                        wait: Duration::ZERO,
                    }
                }
            }
            other if out_of_attempts => Next::GiveUp(ApiError::RetriesExhausted {
                path: path.to_string(),
                attempts: self.attempts,
                last: other.reason().to_string(),
            }),
            Retry::RateLimited { .. } => Next::Retry {
                wait: Duration::ZERO,
            },
            Retry::Transient { .. } => {
                // backon's jitter adds up to one more delay; keep within backoff_max.
                let wait = self.backoff.next().unwrap_or(self.backoff_max);
                Next::Retry {
                    wait: wait.min(self.backoff_max),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/results?limit=50&skip=0";

    fn response(status: u16, body: &str) -> Verdict {
        let received = Received {
            status,
            retry_after: None,
            body: body.as_bytes(),
            cut: None,
        };
        classify_response(&received, PATH, SystemTime::now())
    }

    #[test]
    fn client_errors_are_final_and_server_errors_are_retried() {
        assert_eq!(response(401, ""), Verdict::Fail(ApiError::Unauthorized));
        assert_eq!(
            response(404, r#"{"detail":"Not Found"}"#),
            Verdict::Fail(ApiError::NotFound { path: PATH.into() })
        );
        for status in [400, 403, 405, 422] {
            assert!(matches!(
                response(status, "{}"),
                Verdict::Fail(ApiError::Rejected { status: s, .. }) if s == status
            ));
        }
        for status in [408, 500, 502, 503, 504] {
            assert!(matches!(
                response(status, "oops"),
                Verdict::Retry(Retry::Transient { .. })
            ));
        }
    }

    #[test]
    fn a_2xx_must_be_complete_json() {
        assert_eq!(response(200, "[]"), Verdict::Success("[]".into()));
        assert!(matches!(
            response(200, r#"{"results":[{"race_id":"rac_1""#),
            Verdict::Retry(Retry::Malformed { .. })
        ));
        let cut = Failure::Other("connection closed".into());
        let received = Received {
            status: 200,
            retry_after: None,
            body: b"[]",
            cut: Some(&cut),
        };
        assert!(matches!(
            classify_response(&received, PATH, SystemTime::now()),
            Verdict::Retry(Retry::Malformed { .. })
        ));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_760_000_000);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("99999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn malformed_bodies_get_one_retry_and_the_rest_share_max_attempts() {
        let malformed = || Retry::Malformed {
            reason: "invalid JSON".into(),
            excerpt: "{".into(),
        };
        let mut schedule = RetrySchedule::new(5, Duration::from_millis(10), Duration::from_secs(1));
        schedule.begin_attempt();
        assert!(matches!(
            schedule.after(malformed(), PATH),
            Next::Retry { .. }
        ));
        schedule.begin_attempt();
        assert!(matches!(
            schedule.after(malformed(), PATH),
            Next::GiveUp(ApiError::Malformed { .. })
        ));

        let transient = || Retry::Transient {
            reason: "server error 500".into(),
        };
        let mut schedule =
            RetrySchedule::new(3, Duration::from_millis(10), Duration::from_millis(25));
        for _ in 0..2 {
            schedule.begin_attempt();
            match schedule.after(transient(), PATH) {
                Next::Retry { wait } => {
                    assert!(wait >= Duration::from_millis(10) && wait <= Duration::from_millis(25))
                }
                other => panic!("expected a retry, got {other:?}"),
            }
        }
        schedule.begin_attempt();
        assert_eq!(
            schedule.after(transient(), PATH),
            Next::GiveUp(ApiError::RetriesExhausted {
                path: PATH.into(),
                attempts: 3,
                last: "server error 500".into()
            })
        );
    }

    #[test]
    fn the_backoff_doubles_from_the_floor_up_to_the_ceiling() {
        let transient = || Retry::Transient {
            reason: "408 Request Timeout".into(),
        };
        let floor = Duration::from_millis(100);
        let ceiling = Duration::from_millis(1_000);
        let mut schedule = RetrySchedule::new(10, floor, ceiling);
        let mut waits = Vec::new();
        for _ in 0..6 {
            schedule.begin_attempt();
            match schedule.after(transient(), PATH) {
                Next::Retry { wait } => waits.push(wait),
                other => panic!("expected a retry, got {other:?}"),
            }
        }
        // Wait n is floor·2ⁿ plus jitter below one more such delay, so it is at least
        // floor·2ⁿ and below floor·2ⁿ⁺¹: each wait at least doubles the floor of the one
        // before. A constant or missing backoff fails the third step.
        for (n, wait) in waits.iter().enumerate() {
            let base = (floor * 2u32.pow(n as u32)).min(ceiling);
            assert!(
                *wait >= base,
                "wait {n} is {wait:?}, below {base:?}: {waits:?}"
            );
            assert!(*wait <= ceiling, "wait {n} is {wait:?}, over the ceiling");
        }
        assert!(waits[2] >= waits[0] * 2, "no growth: {waits:?}");
        assert_eq!(waits[5], ceiling, "capped at the ceiling: {waits:?}");
    }
}

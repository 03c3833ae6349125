//! The HTTP client against small scripted servers on 127.0.0.1: error classification, retries,
//! timeouts, truncated bodies, Basic auth, the response hook and the secrecy of the password.
//! The scripted server is `support::scripted_server`; `Retry-After` pauses and the limiter
//! (checked on server-side arrival times) are `tests/client_pacing.rs`, a binary of its own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::scripted_server::*;
use chrono::{DateTime, NaiveDate, Utc};
use fetchers::api::{ApiError, ApiRequest, ApiSource};
use paddock::client::{ClientConfig, Credentials, RacingApiClient, ResponseHook, SharedLimiter};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// `base64("paddock-user:s3cret-Pa55word")`.
const BASIC_AUTH: &str = "Basic cGFkZG9jay11c2VyOnMzY3JldC1QYTU1d29yZA==";

/// A raw TCP server whose n-th response declares `Content-Length: declared` but sends only
/// `body` and closes the connection (a body cut short in transit) when `script(n)` says so.
async fn cut_short_server(
    script: impl Fn(usize) -> (usize, &'static str) + Send + Sync + 'static,
) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(0usize));
    let counter = Arc::clone(&requests);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let n = {
                let mut count = counter.lock().unwrap();
                *count += 1;
                *count - 1
            };
            let (declared, body) = script(n);
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\nconnection: close\r\n\r\n{body}"
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (format!("http://{addr}/v1"), requests)
}

// ---------------------------------------------------------------------------------------------
// Client set-up.

fn results_page() -> ApiRequest {
    let day = NaiveDate::from_ymd_opt(2025, 10, 7).unwrap();
    ApiRequest::Results {
        start_date: day,
        end_date: day,
        regions: vec!["gb".into(), "ire".into()],
        limit: 50,
        skip: 0,
    }
}

const UNPROCESSABLE: &str = r#"{"detail":[{"loc":["query","limit"],"msg":"ensure this value is less than or equal to 50","type":"value_error"}]}"#;

// ---------------------------------------------------------------------------------------------
// Classification.

#[tokio::test]
async fn a_422_is_not_retried() {
    let server = TestServer::start(|_| Reply::json(422, UNPROCESSABLE)).await;
    let client = scripted_client(server.base_url());

    let error = client.fetch(&results_page()).await.unwrap_err();

    assert_eq!(server.arrivals().len(), 1);
    match &error {
        ApiError::Rejected {
            status,
            path,
            excerpt,
        } => {
            assert_eq!(*status, 422);
            assert_eq!(path, &results_page().path_and_query());
            assert!(excerpt.contains("less than or equal to 50"), "{excerpt}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(error.is_fatal());
}

#[tokio::test]
async fn a_400_and_a_403_are_rejected_without_retry() {
    for status in [400, 403] {
        let server = TestServer::start(move |_| Reply::json(status, r#"{"detail":"no"}"#)).await;
        let client = scripted_client(server.base_url());
        let error = client.fetch(&ApiRequest::Regions).await.unwrap_err();
        assert!(
            matches!(error, ApiError::Rejected { status: s, .. } if s == status),
            "{error:?}"
        );
        assert_eq!(server.arrivals().len(), 1);
    }
}

#[tokio::test]
async fn a_401_stops_with_a_message_naming_the_credential_variables() {
    let server = TestServer::start(|_| Reply::json(401, r#"{"detail":"Unauthorized"}"#)).await;
    let client = scripted_client(server.base_url());

    let error = client.fetch(&ApiRequest::Regions).await.unwrap_err();

    assert_eq!(error, ApiError::Unauthorized);
    let message = error.to_string();
    assert!(message.contains("RACING_API_USERNAME"), "{message}");
    assert!(message.contains("RACING_API_PASSWORD"), "{message}");
    assert_eq!(server.arrivals().len(), 1);
}

#[tokio::test]
async fn a_404_is_not_found_and_not_retried() {
    let server = TestServer::start(|_| Reply::json(404, r#"{"detail":"Not Found"}"#)).await;
    let client = scripted_client(server.base_url());

    let error = client.fetch(&horse("hrs_404")).await.unwrap_err();

    assert_eq!(
        error,
        ApiError::NotFound {
            path: "/horses/hrs_404/pro".into()
        }
    );
    assert!(!error.is_fatal());
    assert_eq!(server.arrivals().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Retries with backoff.

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_give_up() {
    // Three 500s, then a good answer.
    let server = TestServer::start(|n| {
        if n < 3 {
            Reply::json(500, "Internal Server Error")
        } else {
            Reply::json(200, r#"{"results":[],"total":0}"#)
        }
    })
    .await;
    let client = scripted_client(server.base_url());
    let response = client.fetch(&results_page()).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, r#"{"results":[],"total":0}"#);
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 4);
    for pair in arrivals.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(10),
            "retried without backoff: {gap:?}"
        );
    }

    // Always 500: give up after max_attempts.
    let server = TestServer::start(|_| Reply::json(503, "Service Unavailable")).await;
    let client = scripted_client(server.base_url());
    let error = client.fetch(&results_page()).await.unwrap_err();
    match &error {
        ApiError::RetriesExhausted {
            path,
            attempts,
            last,
        } => {
            assert_eq!(path, &results_page().path_and_query());
            assert_eq!(*attempts, 5);
            assert!(last.contains("503"), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(server.arrivals().len(), 5);
    assert!(error.is_fatal());
}

#[tokio::test]
async fn a_408_is_retried_like_a_timeout_with_a_backoff_that_grows() {
    // Four 408s, then a good answer. The floor is 20 ms: each backoff is at least double the
    // one before (jitter stays below the next doubling), so the fourth gap is at least
    // 8 × 20 ms. A backoff that is absent or constant fails the growth check.
    let server = TestServer::start(|n| {
        if n < 4 {
            Reply::json(408, "Request Timeout")
        } else {
            Reply::json(200, r#"{"results":[],"total":0}"#)
        }
    })
    .await;
    let floor = Duration::from_millis(20);
    let config = ClientConfig {
        max_attempts: 6,
        backoff_min: floor,
        backoff_max: Duration::from_secs(2),
        ..scripted_config(server.base_url())
    };
    let limiter = SharedLimiter::new(config.requests_per_second);
    let client = RacingApiClient::new(config, limiter).unwrap();
    let response = client.fetch(&results_page()).await.unwrap();
    assert_eq!(response.status, 200);
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 5);
    let gaps: Vec<Duration> = arrivals
        .windows(2)
        .map(|p| p[1].at.duration_since(p[0].at))
        .collect();
    for (n, gap) in gaps.iter().enumerate() {
        let least = floor * 2u32.pow(n as u32);
        assert!(
            *gap >= least,
            "gap {n} is {gap:?}, expected at least {least:?}: {gaps:?}"
        );
    }
    assert!(gaps[3] >= gaps[0] * 2, "the backoff did not grow: {gaps:?}");
}

#[tokio::test]
async fn a_truncated_body_is_retried_once_then_malformed() {
    const CUT: &str =
        r#"{"racecards":[{"race_id":"rac_11223344","course":"Ascot","off_dt":"2025-10-13T14:"#;

    let server = TestServer::start(|n| {
        if n == 0 {
            Reply::json(200, CUT)
        } else {
            Reply::json(200, r#"{"racecards":[]}"#)
        }
    })
    .await;
    let client = scripted_client(server.base_url());
    let response = client.fetch(&ApiRequest::Regions).await.unwrap();
    assert_eq!(response.body, r#"{"racecards":[]}"#);
    assert_eq!(server.arrivals().len(), 2);

    let long_cut = format!("{CUT}{}", "x".repeat(500));
    let server = TestServer::start(move |_| Reply::json(200, &long_cut)).await;
    let client = scripted_client(server.base_url());
    let error = client.fetch(&ApiRequest::Regions).await.unwrap_err();
    match &error {
        ApiError::Malformed {
            path,
            reason,
            excerpt,
        } => {
            assert_eq!(path, "/courses/regions");
            assert!(reason.contains("JSON"), "{reason}");
            assert!(excerpt.starts_with(r#"{"racecards":[{"race_id":"rac_11223344""#));
            assert!(excerpt.chars().count() <= 200, "{excerpt}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert_eq!(server.arrivals().len(), 2);
}

#[tokio::test]
async fn a_body_cut_short_of_its_content_length_is_retried_once_then_malformed() {
    let (base_url, requests) = cut_short_server(|n| {
        if n == 0 {
            (200, r#"{"results":[{"race_id":"rac_1""#)
        } else {
            (2, "[]")
        }
    })
    .await;
    let client = scripted_client(base_url);
    assert_eq!(client.fetch(&results_page()).await.unwrap().body, "[]");
    assert_eq!(*requests.lock().unwrap(), 2);

    let (base_url, requests) = cut_short_server(|_| (200, r#"[{"race_id":"rac_1""#)).await;
    let client = scripted_client(base_url);
    let error = client.fetch(&results_page()).await.unwrap_err();
    match &error {
        ApiError::Malformed {
            reason, excerpt, ..
        } => {
            assert!(reason.contains("cut short"), "{reason}");
            assert_eq!(excerpt, r#"[{"race_id":"rac_1""#);
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert_eq!(*requests.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_hanging_request_times_out_and_is_retried() {
    let timeout = Duration::from_millis(200);
    let server = TestServer::start(|n| {
        if n == 0 {
            Reply::ok().after(Duration::from_secs(10))
        } else {
            Reply::ok()
        }
    })
    .await;
    let client = RacingApiClient::new(
        ClientConfig {
            timeout,
            ..scripted_config(server.base_url())
        },
        SharedLimiter::new(100.0),
    )
    .unwrap();

    let response = client.fetch(&ApiRequest::Regions).await.unwrap();

    assert_eq!(response.status, 200);
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 2);
    // The retry came after the timeout (and a backoff of at least 10 ms), not at once.
    assert!(arrivals[1].at.duration_since(arrivals[0].at) + SCHEDULING_SLACK >= timeout);

    // Always hanging: every attempt times out.
    let server = TestServer::start(|_| Reply::ok().after(Duration::from_secs(10))).await;
    let client = RacingApiClient::new(
        ClientConfig {
            timeout,
            max_attempts: 2,
            ..scripted_config(server.base_url())
        },
        SharedLimiter::new(100.0),
    )
    .unwrap();
    match client.fetch(&ApiRequest::Regions).await.unwrap_err() {
        ApiError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(attempts, 2);
            assert!(last.contains("timed out"), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(server.arrivals().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_gives_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = RacingApiClient::new(
        ClientConfig {
            max_attempts: 3,
            ..scripted_config(format!("http://{addr}/v1"))
        },
        SharedLimiter::new(100.0),
    )
    .unwrap();

    match client.fetch(&ApiRequest::Regions).await.unwrap_err() {
        ApiError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(attempts, 3);
            assert!(last.contains("connection failed"), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(client.request_counts()["/courses/regions"], 3);
}

// ---------------------------------------------------------------------------------------------
// Credentials.

#[tokio::test]
async fn basic_auth_is_sent() {
    let server = TestServer::start(|_| Reply::json(200, "[]")).await;
    let client = scripted_client(server.base_url());

    client.fetch(&results_page()).await.unwrap();

    let arrivals = server.arrivals();
    assert_eq!(arrivals[0].authorization.as_deref(), Some(BASIC_AUTH));
    // The URL is the base URL plus the request's path and query.
    assert_eq!(
        arrivals[0].path_and_query,
        format!("/v1{}", results_page().path_and_query())
    );

    // Without credentials, no Authorization header at all.
    let anonymous = RacingApiClient::new(
        ClientConfig {
            credentials: None,
            ..scripted_config(server.base_url())
        },
        SharedLimiter::new(100.0),
    )
    .unwrap();
    anonymous.fetch(&ApiRequest::Regions).await.unwrap();
    assert_eq!(server.arrivals()[1].authorization, None);
}

fn assert_secret_free(text: &str) {
    assert!(!text.contains(PASSWORD), "password leaked: {text}");
    assert!(
        !text.contains(&BASIC_AUTH[6..]),
        "Authorization header leaked: {text}"
    );
}

#[tokio::test]
async fn credentials_never_appear_in_debug_or_errors() {
    let credentials = Credentials::new(USER, PASSWORD);
    assert_eq!(
        format!("{credentials:?}"),
        r#"Credentials { username: "paddock-user", password: "***" }"#
    );
    assert_secret_free(&format!("{credentials:#?}"));

    let server = TestServer::start(|n| match n {
        0 => Reply::json(401, r#"{"detail":"Unauthorized"}"#),
        1 => Reply::json(422, UNPROCESSABLE),
        _ => Reply::json(500, "boom"),
    })
    .await;
    let config = ClientConfig {
        max_attempts: 2,
        ..scripted_config(server.base_url())
    };
    assert_secret_free(&format!("{config:?}"));
    let client = RacingApiClient::new(config, SharedLimiter::new(100.0)).unwrap();
    assert_secret_free(&format!("{client:?}"));
    assert_secret_free(&format!("{client:#?}"));

    let mut errors = Vec::new();
    for _ in 0..3 {
        errors.push(client.fetch(&ApiRequest::Regions).await.unwrap_err());
    }
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let config = ClientConfig {
            max_attempts: 1,
            ..scripted_config(format!("http://{addr}/v1"))
        };
        RacingApiClient::new(config, SharedLimiter::new(100.0)).unwrap()
    };
    errors.push(refused.fetch(&ApiRequest::Regions).await.unwrap_err());
    assert!(matches!(errors[0], ApiError::Unauthorized));
    assert!(matches!(errors[1], ApiError::Rejected { .. }));
    assert!(matches!(errors[2], ApiError::RetriesExhausted { .. }));
    assert!(matches!(errors[3], ApiError::RetriesExhausted { .. }));
    for error in &errors {
        assert_secret_free(&error.to_string());
        assert_secret_free(&format!("{error:?}"));
    }

    // Credentials in the base URL are refused (they would end up in logs).
    let in_url = RacingApiClient::new(
        scripted_config(format!("http://{USER}:{PASSWORD}@{}/v1", server.addr)),
        SharedLimiter::new(100.0),
    )
    .unwrap_err();
    assert_secret_free(&format!("{in_url:#}"));
}

/// Collects everything written by a `tracing` subscriber.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Single-threaded runtime: the thread-local subscriber sees the client, reqwest and hyper.
#[tokio::test(flavor = "current_thread")]
async fn logs_never_contain_the_password() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start(|n| match n {
        0 => Reply::json(500, "boom"),
        1 => Reply::json(429, "{}").header("retry-after", "0"),
        2 => Reply::json(200, "[]"),
        _ => Reply::json(401, "{}"),
    })
    .await;
    let client = scripted_client(server.base_url());
    client.fetch(&ApiRequest::Regions).await.unwrap();
    client.fetch(&ApiRequest::Regions).await.unwrap_err();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("/courses/regions"), "nothing logged: {text}");
    assert!(text.contains("retrying"), "{text}");
    assert_secret_free(&text);
}

// ---------------------------------------------------------------------------------------------
// The response hook and the request counters.

#[derive(Debug, Clone)]
struct Seen {
    template: &'static str,
    path_and_query: String,
    status: u16,
    fetched_at: DateTime<Utc>,
    body: String,
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Seen>>);

impl ResponseHook for Recorder {
    fn on_response(
        &self,
        request: &ApiRequest,
        status: u16,
        fetched_at: DateTime<Utc>,
        body: &str,
    ) {
        self.0.lock().unwrap().push(Seen {
            template: request.endpoint().template(),
            path_and_query: request.path_and_query(),
            status,
            fetched_at,
            body: body.to_string(),
        });
    }
}

#[tokio::test]
async fn the_response_hook_sees_every_response() {
    let server = TestServer::start(|n| match n {
        0 => Reply::json(500, "upstream down"),
        1 => Reply::json(429, r#"{"detail":"slow down"}"#).header("retry-after", "0"),
        2 => Reply::json(200, r#"{"results":[],"total":0}"#),
        3 => Reply::json(404, r#"{"detail":"Not Found"}"#),
        _ => Reply::json(200, r#"{"truncated":"#),
    })
    .await;
    let recorder = Arc::new(Recorder::default());
    let client = scripted_client(server.base_url()).with_hook(recorder.clone());
    let before = Utc::now();

    let ok = client.fetch(&results_page()).await.unwrap();
    client.fetch(&horse("hrs_9")).await.unwrap_err();
    client.fetch(&ApiRequest::Regions).await.unwrap_err();

    let seen = recorder.0.lock().unwrap().clone();
    let summary: Vec<(&str, u16, &str)> = seen
        .iter()
        .map(|s| (s.template, s.status, s.body.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("/results", 500, "upstream down"),
            ("/results", 429, r#"{"detail":"slow down"}"#),
            ("/results", 200, r#"{"results":[],"total":0}"#),
            ("/horses/{id}/pro", 404, r#"{"detail":"Not Found"}"#),
            ("/courses/regions", 200, r#"{"truncated":"#),
            ("/courses/regions", 200, r#"{"truncated":"#),
        ]
    );
    assert_eq!(seen[0].path_and_query, results_page().path_and_query());
    assert_eq!(seen[3].path_and_query, "/horses/hrs_9/pro");
    let after = Utc::now();
    assert!(seen
        .iter()
        .all(|s| s.fetched_at >= before && s.fetched_at <= after));
    assert_eq!(seen[2].fetched_at, ok.fetched_at);
}

#[tokio::test]
async fn request_counts_are_per_endpoint_template_and_include_retries() {
    let server = TestServer::start(|n| {
        if n == 3 {
            Reply::json(502, "bad gateway")
        } else {
            Reply::json(200, "{}")
        }
    })
    .await;
    let client = scripted_client(server.base_url());
    let clone = client.clone();

    client.fetch(&ApiRequest::Regions).await.unwrap();
    client.fetch(&horse("hrs_1")).await.unwrap();
    clone.fetch(&horse("hrs_2")).await.unwrap();
    client.fetch(&results_page()).await.unwrap(); // 502, then 200

    let expected: BTreeMap<String, u64> = [
        ("/courses/regions".to_string(), 1),
        ("/horses/{id}/pro".to_string(), 2),
        ("/results".to_string(), 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(client.request_counts(), expected);
    assert_eq!(clone.request_counts(), expected);
}

//! A scripted HTTP server for the client's tests: the n-th request (0-based) gets
//! `script(n)`, and every arrival is recorded with its instant, path and authorization; the
//! client settings for it and the scheduling slack its timing checks allow.

use super::sim::api_client;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use fetchers::api::ApiRequest;
use paddock::client::{ClientConfig, Credentials, RacingApiClient};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;
/// The user a [`scripted_client`] sends.
pub const USER: &str = "paddock-user";
/// [`USER`]'s password.
pub const PASSWORD: &str = "s3cret-Pa55word";

/// What the server answers one request with.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// How long the server waits before answering.
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn ok() -> Self {
        Self::json(200, r#"{"ok":true}"#)
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub at: Instant,
    pub wall: SystemTime,
    pub path_and_query: String,
    pub authorization: Option<String>,
}

type Script = Box<dyn Fn(usize) -> Reply + Send + Sync>;

struct ServerState {
    script: Script,
    arrivals: Mutex<Vec<Arrival>>,
}

/// A server on 127.0.0.1 answering the n-th request (0-based) with `script(n)`.
pub struct TestServer {
    pub addr: SocketAddr,
    state: Arc<ServerState>,
}

impl TestServer {
    pub async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let state = Arc::new(ServerState {
            script: Box::new(script),
            arrivals: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.state.arrivals.lock().unwrap().clone()
    }

    pub async fn wait_for_arrivals(&self, n: usize) {
        while self.arrivals().len() < n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

async fn answer(State(state): State<Arc<ServerState>>, uri: Uri, headers: HeaderMap) -> Response {
    let n = {
        let mut arrivals = state.arrivals.lock().unwrap();
        arrivals.push(Arrival {
            at: Instant::now(),
            wall: SystemTime::now(),
            path_and_query: uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            authorization: headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_string()),
        });
        arrivals.len() - 1
    };
    let reply = (state.script)(n);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value).unwrap());
    }
    response
}

/// The client settings for a scripted server at `base_url`: quick timeouts and backoffs.
pub fn scripted_config(base_url: String) -> ClientConfig {
    ClientConfig {
        base_url,
        credentials: Some(Credentials::new(USER, PASSWORD)),
        requests_per_second: 100.0,
        timeout: Duration::from_secs(5),
        max_attempts: 5,
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        ..ClientConfig::default()
    }
}

/// A client on [`scripted_config`] with a limiter of its own.
pub fn scripted_client(base_url: String) -> RacingApiClient {
    api_client(scripted_config(base_url))
}

/// A horse-profile request (any request will do for the server).
pub fn horse(id: &str) -> ApiRequest {
    ApiRequest::HorsePro {
        horse_id: id.to_string(),
    }
}

/// How much later than its neighbours the server may see one request: the time from the
/// limiter's grant to the handler (connection set-up, task scheduling), which the client does not
/// control. On a 2-core machine it was measured at up to 5 ms with a load average of 3 (other
/// builds running) and up to 10 ms with both cores saturated. Gaps between single arrivals are
/// checked with this slack (a burst, two requests together, is still a gap near zero); the rate
/// over a whole run is checked where the slack divides away.
pub const SCHEDULING_SLACK: Duration = Duration::from_millis(10);

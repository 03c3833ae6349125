//! The simulator's HTTP layer (axum): Basic auth, routing by hand (so every answer has the
//! API's error shapes), parameter validation, fault injection and request statistics.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use chrono::NaiveDate;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::data::SimData;
use super::faults::{hits, Faults};
use super::json::{obj, J};
use super::render::Opts;
use super::rng::{mix, tag, unit};

/// How the simulator is set up.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub username: String,
    pub password: String,
    pub faults: Faults,
    /// The simulator's "today": results exist strictly before it, racecards up to today + 7.
    pub today: NaiveDate,
}

impl SimConfig {
    /// No faults; `today` is the current date in London.
    pub fn new(seed: u64, username: &str, password: &str) -> Self {
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::London)
            .date_naive();
        SimConfig {
            seed,
            username: username.to_string(),
            password: password.to_string(),
            faults: Faults::default(),
            today,
        }
    }
}

/// Request counters: every request (faulted ones included) by endpoint template and status.
/// `total` and `by_endpoint` count requests on arrival, `by_status` when the answer is sent (so a
/// hung request the client abandoned has no status). Unknown paths count under `"unknown"`;
/// `/__stats` itself is not counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub total: u64,
    pub by_endpoint: BTreeMap<String, u64>,
    pub by_status: BTreeMap<u16, u64>,
    /// Requests by path and query (`/v1/results?start_date=…&skip=50`), counted on arrival:
    /// shows whether any one page was asked for twice.
    #[serde(default)]
    pub by_query: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Counters {
    /// Requests seen (1-based numbering drives the "every Nth" faults).
    requests: u64,
    /// 200 responses seen (drives `truncate_every`).
    oks: u64,
    /// Racecards and results pages served (drives `drop_record_every`).
    pages: u64,
    last_accepted: Option<Instant>,
    stats: Stats,
}

struct Shared {
    data: SimData,
    seed: u64,
    faults: Faults,
    expected_auth: String,
    counters: Mutex<Counters>,
}

/// A running simulator.
pub struct SimServer {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    shared: Arc<Shared>,
    shutdown_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("addr", &self.addr)
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl SimServer {
    /// Binds 127.0.0.1 on a random port and serves on the current tokio runtime.
    pub async fn start(config: SimConfig) -> anyhow::Result<SimServer> {
        Self::start_on(config, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)).await
    }

    pub async fn start_on(config: SimConfig, listen: SocketAddr) -> anyhow::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("simulator: cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            data: SimData::new(config.seed, config.today)
                .with_pre_race_changes(config.faults.pre_race_changes)
                .with_market_moves(config.faults.market_moves),
            seed: config.seed,
            faults: config.faults.clone(),
            expected_auth: format!(
                "Basic {}",
                base64(format!("{}:{}", config.username, config.password).as_bytes())
            ),
            counters: Mutex::new(Counters::default()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("simulator stopped: {e}");
            }
        });
        let host = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}/v1", SocketAddr::new(host, addr.port()));
        tracing::info!("simulator listening on {addr} (seed {})", config.seed);
        Ok(SimServer {
            addr,
            base_url,
            shared,
            shutdown_tx: Some(tx),
            task: Some(task),
        })
    }

    /// The ground truth the server answers from.
    pub fn data(&self) -> &SimData {
        &self.shared.data
    }

    /// Moves the pre-race-changes scenario's racecards to their next stage (`None` when the
    /// scenario is off). The same as `POST /__scenario/advance`.
    pub fn advance_scenario(&self) -> Option<u32> {
        self.shared.data.advance_scenario()
    }

    pub fn stats(&self) -> Stats {
        self.shared.counters.lock().expect("counters").stats.clone()
    }

    /// Clears the statistics and restarts the fault sequences (the next request is number 1).
    pub fn reset_stats(&self) {
        reset(&self.shared);
    }

    /// Stops accepting, lets in-flight requests finish (at most 2 s, then aborts).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn reset(shared: &Shared) {
    let mut c = shared.counters.lock().expect("counters");
    *c = Counters::default();
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

enum Route {
    Courses,
    Regions,
    Racecards,
    Summaries,
    RacecardOne(String),
    Results,
    ResultOne(String),
    HorsePro(String),
    Odds(String, String),
    Unknown,
}

fn route(path: &str) -> (&'static str, Route) {
    let Some(rest) = path.strip_prefix("/v1/") else {
        return ("unknown", Route::Unknown);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["courses"] => ("/courses", Route::Courses),
        ["courses", "regions"] => ("/courses/regions", Route::Regions),
        ["racecards", "pro"] => ("/racecards/pro", Route::Racecards),
        ["racecards", "summaries"] => ("/racecards/summaries", Route::Summaries),
        ["racecards", id, "pro"] if !id.is_empty() => (
            "/racecards/{race_id}/pro",
            Route::RacecardOne(id.to_string()),
        ),
        ["results"] => ("/results", Route::Results),
        ["results", id] if !id.is_empty() => {
            ("/results/{race_id}", Route::ResultOne(id.to_string()))
        }
        ["horses", id, "pro"] if !id.is_empty() => {
            ("/horses/{id}/pro", Route::HorsePro(id.to_string()))
        }
        ["odds", race, horse] if !race.is_empty() && !horse.is_empty() => (
            "/odds/{race_id}/{horse_id}",
            Route::Odds(race.to_string(), horse.to_string()),
        ),
        _ => ("unknown", Route::Unknown),
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn detail(status: StatusCode, msg: &str) -> Response {
    json_response(status, obj! { "detail" => msg }.to_bytes())
}

struct Invalid(Vec<J>);

impl Invalid {
    fn push(&mut self, name: &str, msg: &str, kind: &str) {
        self.0.push(obj! {
            "loc" => vec![J::from("query"), J::from(name)],
            "msg" => msg,
            "type" => kind,
        });
    }
}

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: &str) -> Query {
        Query(
            url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn last(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn date(&self, name: &str, bad: &mut Invalid) -> Option<NaiveDate> {
        let v = self.last(name)?;
        let parsed = (v.len() == 10)
            .then(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
            .flatten();
        if parsed.is_none() {
            bad.push(
                name,
                "invalid date format, expected YYYY-MM-DD",
                "value_error.date",
            );
        }
        parsed
    }

    fn int(
        &self,
        name: &str,
        default: i64,
        min: Option<i64>,
        max: i64,
        bad: &mut Invalid,
    ) -> usize {
        let Some(v) = self.last(name) else {
            return default as usize;
        };
        match v.trim().parse::<i64>() {
            Err(_) => {
                bad.push(name, "value is not a valid integer", "type_error.integer");
                default as usize
            }
            Ok(n) if min.is_some_and(|m| n < m) => {
                let m = min.unwrap_or(0);
                bad.push(
                    name,
                    &format!("ensure this value is greater than or equal to {m}"),
                    "value_error.number.not_ge",
                );
                default as usize
            }
            Ok(n) if n > max => {
                bad.push(
                    name,
                    &format!("ensure this value is less than or equal to {max}"),
                    "value_error.number.not_le",
                );
                default as usize
            }
            Ok(n) => n.max(0) as usize,
        }
    }
}

fn opts(f: &Faults) -> Opts {
    Opts {
        malformed: f.malformed_values,
        extra: f.extra_fields,
        market_stage: None,
        ew_runners: None,
    }
}

/// Answers one API request (auth and faults already passed).
fn dispatch(shared: &Shared, route: Route, raw_query: &str) -> Response {
    let data = &shared.data;
    let q = Query::parse(raw_query);
    let o = opts(&shared.faults);
    let mut bad = Invalid(Vec::new());
    let paged_records_key = match route {
        Route::Racecards => Some("racecards"),
        Route::Results => Some("results"),
        _ => None,
    };
    let body: Option<J> = match route {
        Route::Unknown => None,
        Route::Courses => Some(data.courses_j(&q.list("region_codes"))),
        Route::Regions => Some(super::data::regions_j()),
        Route::Racecards => {
            let date = q.date("date", &mut bad).unwrap_or(data.today());
            let limit = q.int("limit", 500, Some(1), 500, &mut bad);
            let skip = q.int("skip", 0, None, 500, &mut bad);
            if !bad.0.is_empty() {
                return json_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    obj! { "detail" => bad.0 }.to_bytes(),
                );
            }
            Some(data.racecards_page(
                date,
                &q.list("region_codes"),
                &q.list("course_ids"),
                limit,
                skip,
                &q.0,
                o,
            ))
        }
        Route::Summaries => {
            let date = q.date("date", &mut bad).unwrap_or(data.today());
            if !bad.0.is_empty() {
                return json_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    obj! { "detail" => bad.0 }.to_bytes(),
                );
            }
            Some(data.summaries_page(date, &q.list("region_codes"), &q.list("course_ids"), &q.0))
        }
        Route::Results => {
            let start = q.date("start_date", &mut bad);
            let end = q.date("end_date", &mut bad);
            let limit = q.int("limit", 25, Some(1), 50, &mut bad);
            let skip = q.int("skip", 0, None, 20_000, &mut bad);
            if !bad.0.is_empty() {
                return json_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    obj! { "detail" => bad.0 }.to_bytes(),
                );
            }
            let page_at = |skip| {
                data.results_page(
                    start,
                    end,
                    &q.list("region"),
                    &q.list("course"),
                    limit,
                    skip,
                    &q.0,
                    o,
                )
            };
            let results_requests = {
                let c = shared.counters.lock().expect("counters");
                c.stats.by_endpoint.get("/results").copied().unwrap_or(0)
            };
            if super::late_results::withheld(&shared.faults, results_requests) {
                Some(super::late_results::without_newest(page_at, skip))
            } else {
                Some(page_at(skip))
            }
        }
        Route::RacecardOne(id) => data.racecard_j(&id, o),
        Route::ResultOne(id) => data.result_j(&id, o),
        Route::HorsePro(id) => data.horse_pro_j(&id, o),
        Route::Odds(race, horse) => data.odds_j(&race, &horse),
    };
    let body = match (body, paged_records_key) {
        (Some(j), Some(key)) => Some(drop_record_fault(shared, j, key)),
        (body, _) => body,
    };
    match body {
        Some(j) => json_response(StatusCode::OK, j.to_bytes()),
        None => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `drop_record_every`: every Nth page loses its last record (its `total` unchanged).
fn drop_record_fault(shared: &Shared, mut page: J, key: &str) -> J {
    let Some(every) = shared.faults.drop_record_every else {
        return page;
    };
    let n = {
        let mut c = shared.counters.lock().expect("counters");
        c.pages += 1;
        c.pages
    };
    if hits(Some(every), n) {
        if let J::Obj(fields) = &mut page {
            if let Some((_, J::Arr(records))) = fields.iter_mut().find(|(k, _)| k == key) {
                records.pop();
            }
        }
    }
    page
}

fn too_many(f: &Faults) -> Response {
    let mut resp = detail(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(f.retry_after()));
    resp
}

fn unauthorized(msg: &str) -> Response {
    let mut resp = detail(StatusCode::UNAUTHORIZED, msg);
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
    resp
}

/// `Err` carries the 401 message.
fn check_auth(shared: &Shared, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err("Not authenticated");
    };
    let value = value.trim();
    let basic = value.len() > 6 && value[..6].eq_ignore_ascii_case("basic ");
    if !basic {
        Err("Not authenticated")
    } else if value[6..].trim() == &shared.expected_auth[6..] {
        Ok(())
    } else {
        Err("Invalid username or password")
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();

    // Statistics endpoints: no auth, not counted, no faults.
    if path == "/__scenario/advance" {
        return match (&method, shared.data.advance_scenario()) {
            (&Method::POST, Some(stage)) => json_response(
                StatusCode::OK,
                format!(r#"{{"stage":{stage}}}"#).into_bytes(),
            ),
            (&Method::POST, None) => detail(StatusCode::NOT_FOUND, "No scenario is switched on"),
            _ => detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
        };
    }
    if path == "/__stats" || path == "/__stats/reset" {
        return match (path.as_str(), &method) {
            ("/__stats", &Method::GET) => {
                let stats = shared.counters.lock().expect("counters").stats.clone();
                json_response(
                    StatusCode::OK,
                    serde_json::to_vec(&stats).expect("stats serialise"),
                )
            }
            ("/__stats/reset", &Method::POST) => {
                reset(&shared);
                json_response(StatusCode::OK, br#"{"reset":true}"#.to_vec())
            }
            _ => detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
        };
    }

    let (endpoint, route) = route(&path);
    let n = {
        let mut c = shared.counters.lock().expect("counters");
        c.requests += 1;
        // Counted on arrival (a hung request the client gave up on still counts); the status
        // is counted when the answer is sent.
        c.stats.total += 1;
        *c.stats.by_endpoint.entry(endpoint.to_string()).or_insert(0) += 1;
        *c.stats
            .by_query
            .entry(format!("{path}?{raw_query}"))
            .or_insert(0) += 1;
        c.requests
    };
    let f = &shared.faults;
    if f.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    if hits(f.hang_every, n) {
        tokio::time::sleep(Duration::from_millis(f.hang_duration_ms())).await;
    }

    let resp = if matches!(route, Route::Unknown) {
        detail(StatusCode::NOT_FOUND, "Not Found")
    } else if method != Method::GET {
        detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
    } else if let Err(msg) = check_auth(&shared, req.headers()) {
        unauthorized(msg)
    } else if hits(f.rate_limit_every, n) || over_rate(&shared, f) {
        too_many(f)
    } else if f.server_error_rate > 0.0
        && unit(mix(&[shared.seed, tag("server-error"), n])) < f.server_error_rate
    {
        let mut resp = Response::new(Body::from("Internal Server Error"));
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        resp
    } else {
        let shared2 = shared.clone();
        let route_q = raw_query.clone();
        // Generating a day is CPU work; keep it off the reactor threads.
        match tokio::task::spawn_blocking(move || dispatch(&shared2, route, &route_q)).await {
            Ok(resp) => resp,
            Err(_) => detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        }
    };

    let status = resp.status();
    let resp = if status == StatusCode::OK && f.truncate_every.is_some() {
        let m = {
            let mut c = shared.counters.lock().expect("counters");
            c.oks += 1;
            c.oks
        };
        if hits(f.truncate_every, m) {
            truncate(resp).await
        } else {
            resp
        }
    } else {
        resp
    };

    {
        let mut c = shared.counters.lock().expect("counters");
        *c.stats.by_status.entry(status.as_u16()).or_insert(0) += 1;
    }
    resp
}

/// Whether the client exceeded `max_rate_per_sec` (minimum interval between accepted requests).
fn over_rate(shared: &Shared, f: &Faults) -> bool {
    let Some(rate) = f.max_rate_per_sec else {
        return false;
    };
    let interval = Duration::from_secs_f64(1.0 / rate);
    let tolerance = Duration::from_millis(10).min(interval / 2);
    let now = Instant::now();
    let mut c = shared.counters.lock().expect("counters");
    match c.last_accepted {
        Some(last) if now.duration_since(last) + tolerance < interval => true,
        _ => {
            c.last_accepted = Some(now);
            false
        }
    }
}

async fn truncate(resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    let mut resp = Response::from_parts(parts, Body::from(cut));
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn routes_templates() {
        assert_eq!(route("/v1/results").0, "/results");
        assert_eq!(route("/v1/results/rac_1").0, "/results/{race_id}");
        assert_eq!(route("/v1/horses/hrs_1/pro").0, "/horses/{id}/pro");
        assert_eq!(
            route("/v1/racecards/rac_1/pro").0,
            "/racecards/{race_id}/pro"
        );
        assert_eq!(route("/v1/racecards/pro").0, "/racecards/pro");
        assert_eq!(route("/v1/horses").0, "unknown");
        assert_eq!(route("/results").0, "unknown");
    }
}

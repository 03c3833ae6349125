//! The client's pacing against scripted servers: a 429's `Retry-After` pauses every request of
//! the process, and the shared limiter keeps the rate measured at the server under the limit.
//!
//! A binary of its own: these tests check gaps of a few milliseconds between arrivals, and
//! next to the suite's CPU-heavy tests (derived tables, backfills) the scheduler delayed
//! requests by 25 ms and more, failing them; alone, they see only their own load.

mod support;

use fetchers::api::{ApiError, ApiRequest, ApiSource};
use paddock::client::{RacingApiClient, SharedLimiter};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use support::scripted_server::{
    horse, scripted_client, scripted_config, Reply, TestServer, SCHEDULING_SLACK,
};

// ---------------------------------------------------------------------------------------------
// 429 and the process-wide pause.

#[tokio::test]
async fn retry_after_two_seconds_pauses_every_request_of_the_process() {
    let server = TestServer::start(|n| {
        if n == 0 {
            Reply::json(429, r#"{"detail":"Too Many Requests"}"#).header("retry-after", "2")
        } else {
            Reply::ok()
        }
    })
    .await;
    // Two clients (as two jobs would have) sharing the process's one limiter.
    let limiter = SharedLimiter::new(20.0);
    let first_client =
        RacingApiClient::new(scripted_config(server.base_url()), Arc::clone(&limiter)).unwrap();
    let second_client = RacingApiClient::new(scripted_config(server.base_url()), limiter).unwrap();

    let first = tokio::spawn(async move { first_client.fetch(&ApiRequest::Regions).await });
    server.wait_for_arrivals(1).await;
    // Give the client time to receive the 429; without the pause, the next request would
    // reach the server about now.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = tokio::spawn(async move {
        second_client
            .fetch(&ApiRequest::Courses {
                region_codes: vec!["gb".into()],
            })
            .await
    });

    let first = first.await.unwrap();
    let second = second.await.unwrap();
    assert_eq!(first.unwrap().status, 200);
    assert_eq!(second.unwrap().status, 200);

    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 3, "{arrivals:?}");
    let refused_at = arrivals[0].at;
    for later in &arrivals[1..] {
        let after = later.at.duration_since(refused_at);
        assert!(
            after >= Duration::from_secs(2),
            "{} arrived {after:?} after the 429 (Retry-After: 2)",
            later.path_and_query
        );
    }
    // The two waiting requests are released one slot (50 ms) apart, not together; half a slot
    // of slack absorbs scheduling noise on a loaded machine.
    let gap = arrivals[2].at.duration_since(arrivals[1].at);
    assert!(
        gap + Duration::from_millis(25) >= Duration::from_millis(50),
        "released together: {gap:?}"
    );
}

#[tokio::test]
async fn retry_after_given_as_an_http_date_pauses_until_that_date() {
    let until = Arc::new(Mutex::new(None::<SystemTime>));
    let recorded = Arc::clone(&until);
    let server = TestServer::start(move |n| {
        if n == 0 {
            let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
            *recorded.lock().unwrap() = Some(httpdate::parse_http_date(&date).unwrap());
            Reply::json(429, r#"{"detail":"Too Many Requests"}"#).header("retry-after", date)
        } else {
            Reply::ok()
        }
    })
    .await;
    let limiter = SharedLimiter::new(20.0);
    let first_client =
        RacingApiClient::new(scripted_config(server.base_url()), Arc::clone(&limiter)).unwrap();
    let second_client = RacingApiClient::new(scripted_config(server.base_url()), limiter).unwrap();

    let first = tokio::spawn(async move { first_client.fetch(&horse("hrs_1")).await });
    server.wait_for_arrivals(1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = second_client.fetch(&horse("hrs_2")).await;

    assert!(first.await.unwrap().is_ok());
    assert!(second.is_ok());
    let until = until.lock().unwrap().unwrap();
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 3);
    for later in &arrivals[1..] {
        // 5 ms for the wall clock against the monotonic one.
        assert!(
            later.wall + Duration::from_millis(5) >= until,
            "{} arrived before the Retry-After date",
            later.path_and_query
        );
    }
}

#[tokio::test]
async fn repeated_429s_count_toward_max_attempts() {
    let server = TestServer::start(|_| Reply::json(429, "{}").header("retry-after", "0")).await;
    let client = scripted_client(server.base_url());

    let error = client.fetch(&ApiRequest::Regions).await.unwrap_err();

    match error {
        ApiError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(attempts, 5);
            assert!(last.contains("429"), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(server.arrivals().len(), 5);
}

#[tokio::test]
async fn a_pause_holds_back_every_waiter_and_then_releases_them_one_slot_apart() {
    let limiter = SharedLimiter::new(20.0);
    let start = tokio::time::Instant::now();
    let until = start + Duration::from_millis(300);
    limiter.pause_until(until);
    // An earlier pause never shortens a later one.
    limiter.pause_until(start + Duration::from_millis(100));

    let grants = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let limiter = Arc::clone(&limiter);
        let grants = Arc::clone(&grants);
        tasks.push(tokio::spawn(async move {
            limiter.acquire().await;
            grants.lock().unwrap().push(tokio::time::Instant::now());
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let mut grants = grants.lock().unwrap().clone();
    grants.sort();
    assert!(grants[0] >= until, "granted during the pause");
    for pair in grants.windows(2) {
        assert!(pair[1] - pair[0] >= limiter.period());
    }
}

// ---------------------------------------------------------------------------------------------
// The rate limit, measured at the server.

// One runtime thread for client and server: fewer runnable threads, less scheduling noise in
// the arrival times.
#[tokio::test]
async fn over_200_requests_the_rate_never_exceeds_the_limit() {
    // 20/s: slow enough that half a period (25 ms) of scheduling slack per gap still tells a
    // burst (gaps near zero) from noise on a loaded 2-core CI machine.
    const RATE: f64 = 20.0;
    let server = TestServer::start(|_| Reply::ok()).await;
    let client =
        RacingApiClient::new(scripted_config(server.base_url()), SharedLimiter::new(RATE)).unwrap();

    let mut tasks = Vec::new();
    for task in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                client
                    .fetch(&horse(&format!("hrs_{task}_{i}")))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let mut times: Vec<Instant> = server.arrivals().iter().map(|a| a.at).collect();
    assert_eq!(times.len(), 200);
    times.sort();
    let period = Duration::from_secs_f64(1.0 / RATE);
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let smallest = *gaps.iter().min().unwrap();
    assert!(
        smallest + period / 2 >= period,
        "two requests arrived {smallest:?} apart; the limit allows one per {period:?}"
    );
    // Over the whole run (one measurement's slack spread over 199 gaps): at the limit, not above.
    let span = times[199] - times[0];
    assert!(
        span + SCHEDULING_SLACK >= period * 199,
        "200 requests in {span:?}: faster than one per {period:?}"
    );
    for (i, start) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= RATE as usize + 1,
            "{in_window} requests within one second"
        );
    }
    assert_eq!(client.request_counts()["/horses/{id}/pro"], 200);
}

/// Grant instants of `n` requests through `limiter` from three tasks, in grant order.
async fn grant_times(limiter: Arc<SharedLimiter>, n: usize) -> Vec<Instant> {
    let grants = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (limiter, grants) = (Arc::clone(&limiter), Arc::clone(&grants));
        tasks.push(tokio::spawn(async move {
            loop {
                limiter.acquire().await;
                // No await between the grant and this reading: it is the grant's instant.
                let mut grants = grants.lock().unwrap();
                if grants.len() == n {
                    return;
                }
                grants.push(Instant::now());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    Arc::try_unwrap(grants).unwrap().into_inner().unwrap()
}

#[tokio::test]
async fn the_rate_margin_absorbs_scheduling_jitter_between_a_grant_and_its_arrival() {
    // Every other request reaches the server 4.5 ms after its grant (task scheduling,
    // connection set-up on a loaded machine), the others at once: the worst case for two
    // neighbours. A 5 % margin at 10/s (5 ms) keeps every arrival gap at the limit's 100 ms or
    // more; without a margin the same jitter brings two arrivals closer than the limit.
    const RATE: f64 = 10.0;
    let limit = Duration::from_millis(100);
    let jitter = Duration::from_micros(4_500);
    let smallest_arrival_gap = |grants: Vec<Instant>| {
        let arrivals: Vec<Instant> = grants
            .iter()
            .enumerate()
            .map(|(i, at)| if i % 2 == 0 { *at + jitter } else { *at })
            .collect();
        arrivals.windows(2).map(|w| w[1] - w[0]).min().unwrap()
    };

    let with_margin = grant_times(SharedLimiter::with_margin(RATE, 0.05), 21).await;
    let gap = smallest_arrival_gap(with_margin);
    assert!(gap >= limit, "arrivals {gap:?} apart with the margin");

    let without = grant_times(SharedLimiter::with_margin(RATE, 0.0), 21).await;
    let gap = smallest_arrival_gap(without);
    assert!(
        gap < limit,
        "without a margin the jitter should show ({gap:?})"
    );
}

#[test]
fn the_default_margin_keeps_the_rate_above_095_of_the_limit() {
    let limiter = SharedLimiter::new(2.0);
    assert_eq!(limiter.margin(), paddock::client::DEFAULT_MARGIN);
    let achieved = 1.0 / limiter.period().as_secs_f64();
    assert!(achieved < 2.0, "no margin: {achieved}/s");
    assert!(
        achieved >= 0.95 * 2.0,
        "{achieved}/s is below 0.95 of the limit"
    );
}

//! PostgreSQL stopped while a page's transaction is in flight (issue 14, database faults).
//!
//! A backfill against the simulator writes into a database on the harness's own cluster. A
//! competing session holds a `SHARE` lock on `ra_runners`, so the first page that writes
//! runners stops there, its masters and races already written but not committed; the test
//! checks that in `pg_locks` and stops the cluster under it. Restarted within the store's
//! retry window, the page is tried again and the run succeeds; kept down past the window,
//! the run fails with the database error, not one row of the page is committed, and a resume
//! after the restart completes it. Either way every `ra_*` table ends identical to an
//! uninterrupted run's.
//!
//! A file of its own, because it stops the cluster its whole process shares; its two tests
//! take turns through [`CLUSTER`].

mod support;

use chrono::NaiveDate;
use fetchers::registry;
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions, BackfillResult};
use paddock::client::{ClientConfig, RacingApiClient};
use paddock::simulator::{Faults, SimServer};
use paddock::store::{AnyStore, PgStore};
use sqlx::{Connection, PgConnection};
use std::collections::BTreeMap;
use std::time::Duration;
use support::pg_cluster;
use support::sim::{
    api_client, client_config, quick_backoff, sim_today, simulator, PASSWORD, USER,
};

const DEADLINE: Duration = Duration::from_secs(60);

/// One test at a time stops the cluster.
static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn options() -> BackfillOptions {
    BackfillOptions {
        from: NaiveDate::from_ymd_opt(2025, 5, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2025, 5, 3).unwrap(),
        parts: [Part::Results, Part::Racecards].into_iter().collect(),
        profile_budget: 0,
        regions: vec!["gb".into(), "ire".into()],
        today: sim_today(),
        rate_per_second: 1000.0,
        distance_bands: Default::default(),
        odds: Default::default(),
    }
}

/// The simulator's seed in these tests.
const SEED: u64 = 21;

/// A client that gives up on a request after three attempts of at most 5 s each.
fn backfill_client(server: &SimServer) -> RacingApiClient {
    api_client(ClientConfig {
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        ..quick_backoff(client_config(server, USER, PASSWORD))
    })
}

/// A fresh migrated database `name` on the harness's own cluster (never `TEST_DATABASE_URL`:
/// this file stops the server). Returns its URL and a store on it.
async fn database(name: &str) -> (String, AnyStore) {
    let admin = pg_cluster::cluster().admin_url();
    let mut conn = PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    (url.clone(), store_on(&url).await)
}

async fn store_on(url: &str) -> AnyStore {
    let store = PgStore::connect(url, &support::test_options())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    AnyStore::Postgres(store)
}

/// Every `ra_*` table's rows as text, sorted, without write timestamps and run ids.
async fn contents(url: &str) -> BTreeMap<&'static str, Vec<String>> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let mut out = BTreeMap::new();
    for table in registry::TABLES
        .iter()
        .filter(|t| t.name.starts_with("ra_"))
    {
        let sql = format!(
            "SELECT (to_jsonb(t) - 'created_at' - 'updated_at' - 'last_run_id')::text FROM {} AS t",
            table.name
        );
        let mut rows: Vec<String> = sqlx::query_scalar(&sql)
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.sort();
        out.insert(table.name, rows);
    }
    conn.close().await.unwrap();
    out
}

fn row_counts(contents: &BTreeMap<&'static str, Vec<String>>) -> BTreeMap<&'static str, usize> {
    contents.iter().map(|(t, rows)| (*t, rows.len())).collect()
}

/// The tables after an uninterrupted backfill of [`options`] (in its own database).
async fn reference(server: &SimServer, name: &str) -> BTreeMap<&'static str, Vec<String>> {
    let (url, store) = database(name).await;
    let result = run_backfill(
        &backfill_client(server),
        &store,
        &options(),
        Reporter::Silent,
    )
    .await
    .unwrap();
    assert_eq!(result.exit_code(), 0, "{:?}", result.error);
    store.close().await;
    let tables = contents(&url).await;
    assert!(
        tables["ra_runners"].len() > 50,
        "too little data to stop mid-way"
    );
    tables
}

/// A session holding a `SHARE` lock on `ra_runners`: writers of runners wait for it.
async fn hold_runners(url: &str) -> PgConnection {
    let mut holder = PgConnection::connect(url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("LOCK TABLE ra_runners IN SHARE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    holder
}

/// Waits until a transaction that has written `ra_mst_races` (its lock is granted) waits for
/// its lock on `ra_runners`: a page stopped half-way through its writes, uncommitted.
async fn wait_for_page_in_flight(url: &str) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let sql = "SELECT COUNT(*) FROM pg_locks w JOIN pg_class c ON c.oid = w.relation \
               WHERE w.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND NOT w.granted AND c.relname = 'ra_runners' AND EXISTS ( \
                 SELECT 1 FROM pg_locks r JOIN pg_class rc ON rc.oid = r.relation \
                 WHERE r.pid = w.pid AND r.granted AND r.mode = 'RowExclusiveLock' \
                 AND rc.relname = 'ra_mst_races')";
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let waiting: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no page waited on ra_runners after writing races"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    conn.close().await.unwrap();
}

type Backfill = tokio::task::JoinHandle<anyhow::Result<BackfillResult>>;

/// Starts a backfill of [`options`] on `store`, which will stop at its first runners page.
fn start_backfill(server: &SimServer, store: &AnyStore) -> Backfill {
    let (client, store) = (backfill_client(server), store.clone());
    tokio::spawn(async move { run_backfill(&client, &store, &options(), Reporter::Silent).await })
}

async fn finished(backfill: Backfill) -> anyhow::Result<BackfillResult> {
    tokio::time::timeout(DEADLINE, backfill)
        .await
        .expect("the backfill did not end")
        .unwrap()
}

async fn stop_cluster() {
    tokio::task::spawn_blocking(pg_cluster::stop).await.unwrap();
}

async fn start_cluster() {
    tokio::task::spawn_blocking(pg_cluster::start_again)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_page_in_flight_when_postgres_stops_is_tried_again_after_the_restart_and_nothing_is_lost()
{
    let _turn = CLUSTER.lock().await;
    let server = simulator(SEED, Faults::default()).await;
    let uninterrupted = reference(&server, "paddock_stop_retried_ref").await;

    let (url, store) = database("paddock_stop_retried").await;
    let holder = hold_runners(&url).await;
    let backfill = start_backfill(&server, &store);
    wait_for_page_in_flight(&url).await;
    let before = contents(&url).await;
    assert_ne!(
        row_counts(&before),
        row_counts(&uninterrupted),
        "the run was already complete"
    );

    // The server goes away under the open transaction (a fast shutdown cuts every session,
    // the lock holder's too) and comes back well within the store's retry window.
    stop_cluster().await;
    drop(holder);
    tokio::time::sleep(Duration::from_millis(500)).await;
    start_cluster().await;

    let result = finished(backfill).await.expect("the backfill errored");
    assert_eq!(result.exit_code(), 0, "{:?}", result.error);
    assert_eq!(contents(&url).await, uninterrupted);
    store.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_page_in_flight_when_postgres_stays_down_fails_the_run_leaves_no_row_and_a_resume_completes_it(
) {
    let _turn = CLUSTER.lock().await;
    let server = simulator(SEED, Faults::default()).await;
    let uninterrupted = reference(&server, "paddock_stop_failed_ref").await;

    let (url, store) = database("paddock_stop_failed").await;
    let holder = hold_runners(&url).await;
    let backfill = start_backfill(&server, &store);
    wait_for_page_in_flight(&url).await;
    let before = contents(&url).await;
    assert_ne!(
        row_counts(&before),
        row_counts(&uninterrupted),
        "the run was already complete"
    );

    // Down for longer than the store tries the page again: the run ends with the error.
    stop_cluster().await;
    drop(holder);
    let failure = match finished(backfill).await {
        Err(e) => format!("{e:#}"),
        Ok(result) => {
            assert_ne!(result.exit_code(), 0, "succeeded with the server down");
            result.error.unwrap_or_default()
        }
    };
    assert!(
        failure.contains("transient database error"),
        "not a clear database failure: {failure}"
    );
    start_cluster().await;

    // Nothing of the page that was in flight was committed: the tables are exactly as they
    // were while it waited.
    assert_eq!(contents(&url).await, before, "a half-written page");

    // A resume after the restart completes the run, the same as an uninterrupted one.
    store.close().await;
    let store = store_on(&url).await;
    let resumed = run_backfill(
        &backfill_client(&server),
        &store,
        &options(),
        Reporter::Silent,
    )
    .await
    .unwrap();
    assert_eq!(resumed.exit_code(), 0, "{:?}", resumed.error);
    assert_eq!(contents(&url).await, uninterrupted);
    store.close().await;
    server.shutdown().await;
}

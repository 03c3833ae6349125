//! Issue 22's odds figures, SQLite: `cargo bench --bench odds_figures [-- --quick]`.
//!
//! - **History rows per month**: a simulated month of racecards (the simulator's moving
//!   market, every day refreshed at stages 0, 1 and 2) through the racecards job: the rows the
//!   old "a row per runner, bookmaker and `updated` time" behaviour stores (= the priced odds
//!   items served, computed from the served bodies) against the rows stored on change.
//! - **Latest-odds query time on a year of prices**: a synthetic year (13,000 races, 10
//!   runners, 6 bookmakers, 3 prices each in history) inserted directly; a race's latest
//!   prices read from `ra_runner_odds_latest` against the old query (the single newest
//!   timestamp of the race across all bookmakers, the baseline) and against the per-bookmaker
//!   newest row read from the history, for the same races in the same run.

use chrono::{Duration as Days, NaiveDate};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunTrigger};
use paddock::client::{ClientConfig, Credentials, RacingApiClient, SharedLimiter};
use paddock::run::{JobRequest, RunContext};
use paddock::simulator::{Faults, SimConfig, SimServer};
use paddock::store::AnyStore;
use std::time::{Duration, Instant};

const USER: &str = "bench";
const PASS: &str = "bench-secret";

/// The priced odds items a racecards body serves (each one row under the old behaviour).
fn priced_items(body: &serde_json::Value) -> u64 {
    let mut n = 0;
    for race in body["racecards"].as_array().into_iter().flatten() {
        for runner in race["runners"].as_array().into_iter().flatten() {
            for item in runner["odds"].as_array().into_iter().flatten() {
                if !matches!(item["fractional"].as_str(), None | Some("") | Some("-")) {
                    n += 1;
                }
            }
        }
    }
    n
}

async fn history_rows_per_month(days: i64) -> anyhow::Result<()> {
    let mut sim = SimConfig::new(22, USER, PASS);
    sim.faults = Faults {
        market_moves: true,
        ..Faults::default()
    };
    let today = sim.today;
    let server = SimServer::start(sim).await?;
    let dir = tempfile::tempdir()?;
    let store =
        paddock::store::connect(&format!("sqlite://{}", dir.path().join("m.db").display())).await?;
    store.migrate().await?;
    let client = RacingApiClient::new(
        ClientConfig {
            base_url: server.base_url.clone(),
            credentials: Some(Credentials::new(USER, PASS)),
            requests_per_second: 1000.0,
            ..ClientConfig::default()
        },
        SharedLimiter::new(1000.0),
    )?;
    let config = paddock::config::Config::from_toml("", &paddock::config::ProcessEnv)?;
    let dates: Vec<NaiveDate> = (1..=days).map(|d| today - Days::days(d)).collect();
    let mut served = 0u64;
    for stage in 0..3 {
        if stage > 0 {
            server.advance_scenario();
        }
        for day in &dates {
            served += priced_items(&server.data().racecards_body(*day, &[], 500, 0));
        }
        let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan {
            racecard_dates: dates.clone(),
            results: None,
        });
        let run = RunContext::new(RunTrigger::Manual, ApplyMode::Commit);
        let result = paddock::run::run_job(&config, &client, &store, &request, &run).await?;
        anyhow::ensure!(result.error.is_none(), "refresh failed: {:?}", result.error);
    }
    let stored = count(&store, "SELECT COUNT(*) FROM ra_runner_odds").await?;
    println!(
        "history rows, {days} simulated days × 3 racecard refreshes over a moving market: \
         a row per updated time {served}, stored on change {stored} ({:.1} % of it, {:.2}× fewer)",
        stored as f64 * 100.0 / served as f64,
        served as f64 / stored as f64
    );
    server.shutdown().await;
    Ok(())
}

async fn count(store: &AnyStore, sql: &str) -> anyhow::Result<i64> {
    let rows = store.text_rows(sql).await?;
    Ok(rows[0][0].as_deref().unwrap_or("0").parse()?)
}

/// Races, runners, bookmakers and prices per runner and bookmaker of the synthetic year.
const RUNNERS: i64 = 10;
const BOOKMAKERS: i64 = 6;
const PRICES: i64 = 3;

async fn latest_odds_query_time(races: i64, lookups: i64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store =
        paddock::store::connect(&format!("sqlite://{}", dir.path().join("y.db").display())).await?;
    store.migrate().await?;
    let AnyStore::Sqlite(sqlite) = &store else {
        anyhow::bail!("a SQLite store");
    };
    let mut conn = sqlite.pool_for_tests().acquire().await?;
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut *conn)
        .await?;
    let started = Instant::now();
    // Every (race, runner, bookmaker) with PRICES rows an hour apart; the bookmakers' times
    // differ by a minute each, as on the real API.
    let history = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {total}) \
         INSERT INTO ra_runner_odds (race_id, horse_id, bookmaker_id, observed_at, fractional, \
         decimal, ew_places, ew_denom, created_at, updated_at, last_run_id) \
         SELECT 'rac_' || (i / {per_race}), 'hrs_' || ((i / {per_runner}) % {RUNNERS}), \
         'bk_' || ((i / {PRICES}) % {BOOKMAKERS}), \
         strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', '+' || (i / {per_race}) || ' hours', \
         '+' || (i % {PRICES}) || ' minutes', '+' || ((i / {PRICES}) % {BOOKMAKERS}) || ' seconds'), \
         (i % 7 + 1) || '/1', i % 7 + 2.0, 3, 5, '2025-01-01T00:00:00.000000Z', \
         '2025-01-01T00:00:00.000000Z', 1 FROM n",
        total = races * RUNNERS * BOOKMAKERS * PRICES,
        per_race = RUNNERS * BOOKMAKERS * PRICES,
        per_runner = BOOKMAKERS * PRICES,
    );
    sqlx::query(&history).execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO ra_runner_odds_latest (race_id, horse_id, bookmaker_id, observed_at, \
         fractional, decimal, ew_places, ew_denom, created_at, updated_at, last_run_id) \
         SELECT race_id, horse_id, bookmaker_id, MAX(observed_at), fractional, decimal, \
         ew_places, ew_denom, created_at, updated_at, last_run_id FROM ra_runner_odds \
         GROUP BY race_id, horse_id, bookmaker_id",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("ANALYZE").execute(&mut *conn).await?;
    let rows = races * RUNNERS * BOOKMAKERS * PRICES;
    println!(
        "a synthetic year: {races} races, {rows} history rows, {} latest rows, inserted in {:.1} s",
        races * RUNNERS * BOOKMAKERS,
        started.elapsed().as_secs_f64()
    );
    let queries = [
        (
            "old: the race's newest timestamp (baseline)",
            "SELECT horse_id, bookmaker_id, fractional, decimal FROM ra_runner_odds \
             WHERE race_id = ?1 AND observed_at = \
             (SELECT MAX(observed_at) FROM ra_runner_odds WHERE race_id = ?1)",
        ),
        (
            "per bookmaker, newest row of the history",
            "SELECT o.horse_id, o.bookmaker_id, o.fractional, o.decimal FROM ra_runner_odds o \
             WHERE o.race_id = ?1 AND NOT EXISTS (SELECT 1 FROM ra_runner_odds n \
             WHERE n.race_id = o.race_id AND n.horse_id = o.horse_id \
             AND n.bookmaker_id = o.bookmaker_id AND n.observed_at > o.observed_at)",
        ),
        (
            "ra_runner_odds_latest",
            "SELECT horse_id, bookmaker_id, fractional, decimal FROM ra_runner_odds_latest \
             WHERE race_id = ?1",
        ),
    ];
    let mut baseline: Option<Duration> = None;
    for (name, sql) in queries {
        let started = Instant::now();
        let mut found = 0usize;
        for k in 0..lookups {
            let race = format!("rac_{}", (k * 7919) % races);
            found += sqlx::query(sql)
                .bind(race)
                .fetch_all(&mut *conn)
                .await?
                .len();
        }
        let took = started.elapsed();
        let base = *baseline.get_or_insert(took);
        println!(
            "  {name:<44} {lookups} races in {:>8.1} ms = {:>7.1} µs a race, {found} prices, \
             {:.2}× the baseline's time",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / lookups as f64,
            took.as_secs_f64() / base.as_secs_f64()
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (days, races) = if quick { (7, 2_000) } else { (30, 13_000) };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            history_rows_per_month(days).await?;
            latest_odds_query_time(races, 2_000).await
        })
}

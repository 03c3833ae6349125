//! Store throughput on SQLite and PostgreSQL for a simulated year: a first load, an unchanged
//! reload and a reload where 10 % of runners changed, each divided by a baseline of its own
//! engine measured in the same run (`baselines.rs`): PostgreSQL's first load and 10 % reload
//! by `COPY`, its unchanged reload by the raw no-op upsert, SQLite's loads by one prepared
//! statement per table.

use crate::baselines::{postgres_copy, postgres_noop_upsert, sqlite_executemany};
use crate::pg::{create_database, drop_database};
use crate::rate;
use crate::year::build_year;
use fetchers::rows::UnitOfWork;
use fetchers::store::{ApplyMode, RunTrigger, Store};
use paddock::store::AnyStore;
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};

/// The three loads, in the order they run.
pub const CASES: [&str; 3] = ["first_load", "unchanged_reload", "reload_10pct_changed"];

/// Rows/s of the three loads on one store.
async fn store_loads(
    store: &AnyStore,
    year: &UnitOfWork,
    changed: &UnitOfWork,
) -> anyhow::Result<Json> {
    let run = store
        .start_run("bench", RunTrigger::Manual, json!({"bench": "figures"}))
        .await?;
    let rows = year.rows.len() as u64;
    let mut out = serde_json::Map::new();
    for (case, unit) in CASES.into_iter().zip([year, year, changed]) {
        let started = Instant::now();
        let counts = store.apply(run, unit, ApplyMode::Commit).await?;
        let took = started.elapsed();
        let written = counts.written();
        out.insert(
            case.into(),
            json!({"rows": rows, "written": written, "secs": took.as_secs_f64(), "rows_per_sec": rate(rows, took)}),
        );
    }
    let written = |case: &str| out[case]["written"].as_u64().unwrap_or(0);
    anyhow::ensure!(
        written("first_load") == rows,
        "first load wrote {} of {rows}",
        written("first_load")
    );
    anyhow::ensure!(
        written("unchanged_reload") == 0,
        "an unchanged reload wrote rows"
    );
    let runners = (year.rows.iter().filter(|r| r.table == "ra_runners").count() / 10) as u64;
    anyhow::ensure!(
        written("reload_10pct_changed") == runners,
        "10 % reload wrote {} rows, expected {runners}",
        written("reload_10pct_changed")
    );
    Ok(Json::Object(out))
}

fn baseline(rows: u64, took: Duration) -> Json {
    json!({"rows": rows, "secs": took.as_secs_f64(), "rows_per_sec": rate(rows, took)})
}

async fn sqlite_figures(year: &UnitOfWork, changed: &UnitOfWork) -> anyhow::Result<(Json, Json)> {
    let dir = tempfile::tempdir()?;
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let base = paddock::store::connect(&url("baseline.db")).await?;
    base.migrate().await?;
    let AnyStore::Sqlite(base_sqlite) = &base else {
        anyhow::bail!("the baseline database is not SQLite")
    };
    let mut conn = base_sqlite.pool_for_tests().acquire().await?;
    let (inserted, took) = sqlite_executemany(&mut conn, year).await?;
    drop(conn);
    base.close().await;
    anyhow::ensure!(
        inserted == year.rows.len() as u64,
        "the SQLite baseline inserted {inserted} of {} rows",
        year.rows.len()
    );
    let store = paddock::store::connect(&url("store.db")).await?;
    store.migrate().await?;
    let figures = store_loads(&store, year, changed).await?;
    store.close().await;
    Ok((figures, baseline(inserted, took)))
}

/// PostgreSQL's loads, `COPY` and the no-op upsert, on throwaway databases.
async fn postgres_figures(
    year: &UnitOfWork,
    changed: &UnitOfWork,
) -> anyhow::Result<(Json, Json, Json)> {
    let rows = year.rows.len() as u64;
    let pg = paddock::store::connect(&create_database("store").await?).await?;
    pg.migrate().await?;
    let figures = store_loads(&pg, year, changed).await?;
    pg.close().await;
    let copy_store = paddock::store::connect(&create_database("copy").await?).await?;
    copy_store.migrate().await?;
    let AnyStore::Postgres(copy_pg) = &copy_store else {
        anyhow::bail!("the COPY database is not PostgreSQL")
    };
    let (copied, copy_took) = postgres_copy(copy_pg.pool_for_tests(), year).await?;
    anyhow::ensure!(copied == rows, "COPY loaded {copied} of {rows} rows");
    let (offered, noop_took) = postgres_noop_upsert(copy_pg.pool_for_tests(), year).await?;
    copy_store.close().await;
    Ok((
        figures,
        baseline(copied, copy_took),
        baseline(offered, noop_took),
    ))
}

/// Each case's baseline: (JSON key of the baseline, its label).
pub fn baseline_of(backend: &str, case: &str) -> &'static str {
    match (backend, case) {
        ("sqlite", _) => "sqlite_executemany",
        (_, "unchanged_reload") => "postgres_noop_upsert",
        _ => "postgres_copy",
    }
}

pub async fn bench_store(races: usize) -> anyhow::Result<Json> {
    let year = build_year(races, false);
    let changed = build_year(races, true);
    let rows = year.rows.len();
    println!("store: a simulated year of {races} races, {rows} rows with masters");
    let (sqlite, executemany) = sqlite_figures(&year, &changed).await?;
    let outcome = postgres_figures(&year, &changed).await;
    drop_database("store").await?;
    drop_database("copy").await?;
    let (postgres, copy, noop) = outcome?;
    let mut out = json!({
        "races": races,
        "rows": rows,
        "postgres_copy": copy,
        "postgres_noop_upsert": noop,
        "sqlite_executemany": executemany,
        "sqlite": sqlite,
        "postgres": postgres,
    });
    for backend in ["sqlite", "postgres"] {
        for case in CASES {
            let base = baseline_of(backend, case);
            let base_rate = out[base]["rows_per_sec"].as_f64().unwrap_or(f64::NAN);
            let r = out[backend][case]["rows_per_sec"].as_f64().unwrap_or(0.0);
            out[backend][case]["baseline"] = json!(base);
            out[backend][case]["ratio"] = json!(r / base_rate);
            println!(
                "  {backend:<8} {case:<22} {r:>10.0} rows/s  {:>5.2}× {base}",
                r / base_rate
            );
        }
    }
    for base in [
        "postgres_copy",
        "postgres_noop_upsert",
        "sqlite_executemany",
    ] {
        let r = out[base]["rows_per_sec"].as_f64().unwrap_or(0.0);
        println!("  baseline {base:<22} {r:>10.0} rows/s (same rows, same tables)");
    }
    Ok(out)
}

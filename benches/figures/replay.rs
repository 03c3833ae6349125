//! Replay: a simulated year fetched once with the archive on, then rebuilt from it.

use chrono::Duration as Days;
use paddock::archive::{Archive, ArchiveTarget};
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions};
use paddock::client::{ClientConfig, Credentials, RacingApiClient, SharedLimiter};
use paddock::simulator::{SimConfig, SimServer};
use serde_json::{json, Value as Json};
use std::time::Instant;

use crate::{rate, PASS, USER};

pub async fn bench_replay(days: i64) -> anyhow::Result<Json> {
    let sim = SimConfig::new(14, USER, PASS);
    let today = sim.today;
    let server = SimServer::start(sim).await?;
    let dir = tempfile::tempdir()?;
    let source =
        paddock::store::connect(&format!("sqlite://{}", dir.path().join("a.db").display())).await?;
    source.migrate().await?;
    let archive = Archive::start(ArchiveTarget::Database(source.clone()));
    let client = RacingApiClient::new(
        ClientConfig {
            base_url: server.base_url.clone(),
            credentials: Some(Credentials::new(USER, PASS)),
            requests_per_second: 1000.0,
            ..ClientConfig::default()
        },
        SharedLimiter::new(1000.0),
    )?
    .with_hook(archive.clone());
    let to = today - Days::days(1);
    let options = BackfillOptions {
        from: to - Days::days(days - 1),
        to,
        parts: [Part::Results, Part::Racecards].into_iter().collect(),
        profile_budget: 0,
        regions: vec!["gb".into(), "ire".into()],
        today,
        rate_per_second: 1000.0,
        distance_bands: Default::default(),
        odds: Default::default(),
    };
    let fetched = run_backfill(&client, &source, &options, Reporter::Silent).await?;
    anyhow::ensure!(
        fetched.exit_code() == 0,
        "fetch failed: {:?}",
        fetched.error
    );
    let responses = archive.close().await?;
    server.shutdown().await;

    let fresh =
        paddock::store::connect(&format!("sqlite://{}", dir.path().join("r.db").display())).await?;
    fresh.migrate().await?;
    let started = Instant::now();
    let replayed = paddock::replay::replay(
        &fresh,
        &Default::default(),
        ArchiveTarget::Database(source.clone()),
        None,
        None,
    )
    .await?;
    let took = started.elapsed();
    anyhow::ensure!(
        replayed.exit_code() == 0,
        "replay failed: {:?}",
        replayed.error
    );
    let rows = replayed.report.counts.written();
    println!(
        "replay: {days} days, {responses} archived responses → {rows} rows in {:.1} s = {:.0} rows/s (SQLite)",
        took.as_secs_f64(),
        rate(rows, took)
    );
    Ok(json!({
        "days": days,
        "responses": responses,
        "rows_written": rows,
        "secs": took.as_secs_f64(),
        "rows_per_sec": rate(rows, took),
        "backend": "sqlite",
    }))
}

//! Retention's figures (issue 22), printed: `cargo bench --bench retention_figures [-- --quick]`.
//!
//! - **Archive bytes per racecards page**: the simulator's racecards pages fetched through the
//!   archive hook into SQLite; per page the body, the zstd bytes stored today (BYTEA/BLOB) and
//!   the base64 text stored before migration 0014, and the ratio of the two.
//! - **Database size after a simulated year**, with and without retention: a SQLite database
//!   filled directly (the pipeline is too slow for a year) with a year of price histories
//!   (races × runners × bookmakers × changes per day, every history a day long) and archive
//!   rows of a real racecards page's compressed size (110 KB of JSON at the measured zstd
//!   ratio), day by day; then one copy left as it is and one
//!   after `paddock run retention`'s work (raw_days = 30, odds_days = 30, 5 % moves), both
//!   vacuumed; sizes in MB and their ratio, and the history rows before and after.

use base64::Engine as _;
use chrono::{Duration, NaiveDate, Utc};
use fetchers::rows::format_timestamp;
use paddock::archive::{Archive, ArchiveTarget};
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions};
use paddock::client::{ClientConfig, Credentials, RacingApiClient, SharedLimiter};
use paddock::config::{ArchiveSettings, RetentionSettings};
use paddock::simulator::{SimConfig, SimServer};
use paddock::store::AnyStore;
use std::path::Path;
use tokio_util::sync::CancellationToken;

const USER: &str = "bench";
const PASS: &str = "bench-pass";

/// The synthetic year's volume per day.
struct Year {
    days: i64,
    races: usize,
    runners: usize,
    bookmakers: usize,
    /// Price changes stored per runner and bookmaker (history stored on change).
    changes: usize,
    /// Archived responses per day.
    responses: usize,
}

/// Archive figures of the simulator's racecards pages: (pages, body, zstd, base64) bytes.
async fn racecards_pages() -> anyhow::Result<(usize, usize, usize, usize)> {
    let sim = SimConfig::new(22, USER, PASS);
    let today = sim.today;
    let server = SimServer::start(sim).await?;
    let dir = tempfile::tempdir()?;
    let store =
        paddock::store::connect(&format!("sqlite://{}", dir.path().join("a.db").display())).await?;
    store.migrate().await?;
    let archive = Archive::start(ArchiveTarget::Database(store.clone()));
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
    let options = BackfillOptions {
        from: today - Duration::days(7),
        to: today - Duration::days(1),
        parts: [Part::Racecards].into_iter().collect(),
        profile_budget: 0,
        regions: vec!["gb".into(), "ire".into()],
        today,
        rate_per_second: 1000.0,
        distance_bands: Default::default(),
        odds: Default::default(),
    };
    run_backfill(&client, &store, &options, Reporter::Silent).await?;
    archive.close().await?;
    let (mut pages, mut body, mut zstd, mut base64) = (0, 0, 0, 0);
    let mut after = 0;
    loop {
        let batch = paddock::store::archive::read_batch(&store, after, None, None, 100).await?;
        let Some(last) = batch.last() else { break };
        after = last.response_id;
        for r in batch
            .iter()
            .filter(|r| r.endpoint.starts_with("/racecards"))
        {
            pages += 1;
            body += r.body_bytes as usize;
            zstd += r.body_zstd.len();
            base64 += base64::engine::general_purpose::STANDARD
                .encode(&r.body_zstd)
                .len();
        }
    }
    Ok((pages, body, zstd, base64))
}

/// Fills `store` with the synthetic year ending now.
async fn fill(store: &AnyStore, year: &Year, page_bytes: usize) -> anyhow::Result<u64> {
    let now = Utc::now();
    let stamp = format_timestamp(&now);
    let mut statements = vec![format!(
        "INSERT INTO ra_mst_courses (id, name, created_at, updated_at) VALUES ('crs', 'C', '{stamp}', '{stamp}')"
    )];
    let books: Vec<String> = (0..year.bookmakers)
        .map(|b| format!("('bk{b}', 'B{b}', '{stamp}', '{stamp}')"))
        .collect();
    statements.push(format!(
        "INSERT INTO ra_mst_bookmakers (id, name, created_at, updated_at) VALUES {}",
        books.join(",")
    ));
    let horses: Vec<String> = (0..year.runners)
        .map(|h| format!("('h{h}', 'H{h}', '{stamp}', '{stamp}')"))
        .collect();
    statements.push(format!(
        "INSERT INTO ra_mst_horses (id, name, created_at, updated_at) VALUES {}",
        horses.join(",")
    ));
    run(store, &statements).await?;
    let mut rows = 0u64;
    // Incompressible bytes of a compressed page's size, as the archive holds.
    let blob: String = (0..page_bytes)
        .map(|i| format!("{:02x}", (i * 7919 + 13) % 251))
        .collect();
    for day in 0..year.days {
        let at = now - Duration::days(year.days - day);
        let date: NaiveDate = at.date_naive();
        let mut statements = Vec::new();
        for r in 0..year.races {
            let race = format!("r{day}_{r}");
            statements.push(format!(
                "INSERT INTO ra_mst_races (id, course_id, race_date, created_at, updated_at) \
                 VALUES ('{race}', 'crs', '{date}', '{stamp}', '{stamp}')"
            ));
            let runners: Vec<String> = (0..year.runners)
                .map(|h| format!("('{race}', 'h{h}', '{stamp}', '{stamp}')"))
                .collect();
            statements.push(format!(
                "INSERT INTO ra_runners (race_id, horse_id, created_at, updated_at) VALUES {}",
                runners.join(",")
            ));
            let mut prices = Vec::new();
            for h in 0..year.runners {
                for b in 0..year.bookmakers {
                    let mut decimal = 3.0 + ((h * 31 + b * 17 + r) % 40) as f64 / 4.0;
                    for c in 0..year.changes {
                        // Mostly small steps, every fourth a move of 10 %.
                        let step = if (c + h + b) % 4 == 0 { 1.1 } else { 1.02 };
                        decimal = if c % 2 == 0 {
                            decimal * step
                        } else {
                            decimal / step
                        };
                        let t = format_timestamp(&(at + Duration::minutes(c as i64 * 20)));
                        prices.push(format!(
                            "('{race}', 'h{h}', 'bk{b}', '{t}', '{}/1', {decimal:.3}, '{stamp}', '{stamp}')",
                            decimal.round() as i64
                        ));
                    }
                }
            }
            rows += prices.len() as u64;
            for chunk in prices.chunks(500) {
                statements.push(format!(
                    "INSERT INTO ra_runner_odds (race_id, horse_id, bookmaker_id, observed_at, \
                     fractional, decimal, created_at, updated_at) VALUES {}",
                    chunk.join(",")
                ));
            }
        }
        for n in 0..year.responses {
            statements.push(format!(
                "INSERT INTO paddock_raw_responses (endpoint, query, status, fetched_at, \
                 body_bytes, body_zstd) VALUES ('/racecards/pro', '/racecards/pro?n={n}', 200, \
                 '{}', {}, X'{blob}')",
                format_timestamp(&(at + Duration::minutes(n as i64))),
                page_bytes * 10
            ));
        }
        run(store, &statements).await?;
    }
    Ok(rows)
}

async fn run(store: &AnyStore, statements: &[String]) -> anyhow::Result<()> {
    let AnyStore::Sqlite(s) = store else {
        anyhow::bail!("the bench fills SQLite")
    };
    let mut tx = s.pool_for_tests().begin().await?;
    for sql in statements {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn vacuumed_mb(store: &AnyStore, path: &Path) -> anyhow::Result<f64> {
    run(store, &[]).await?;
    if let AnyStore::Sqlite(s) = store {
        sqlx::query("VACUUM").execute(s.pool_for_tests()).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(s.pool_for_tests())
            .await?;
    }
    Ok(std::fs::metadata(path)?.len() as f64 / 1e6)
}

async fn count(store: &AnyStore, table: &str) -> anyhow::Result<String> {
    let rows = store
        .text_rows(&format!("SELECT COUNT(*) FROM {table}"))
        .await?;
    Ok(rows[0][0].clone().unwrap_or_default())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (pages, body, zstd, base64) = racecards_pages().await?;
    let per = |n: usize| n as f64 / pages.max(1) as f64;
    println!("archive bytes per racecards page ({pages} simulator pages):");
    println!("  body (JSON)              {:>10.0}", per(body));
    println!("  before: zstd + base64    {:>10.0}", per(base64));
    println!("  after:  zstd bytes       {:>10.0}", per(zstd));
    println!(
        "  after / before           {:>10.3}",
        zstd as f64 / base64 as f64
    );

    let year = Year {
        days: if quick { 60 } else { 365 },
        races: 8,
        runners: 8,
        bookmakers: 4,
        changes: 8,
        responses: 24,
    };
    // The real API's racecards page is about 110 KB of JSON (issue 22); the simulator's pages
    // are larger. Archive rows of the year take the real page's size at the measured ratio.
    let page = (110_000.0 * zstd as f64 / body as f64).round() as usize;
    let dir = tempfile::tempdir()?;
    let mut sizes = Vec::new();
    for with_retention in [false, true] {
        let path = dir.path().join(format!("year_{with_retention}.db"));
        let store = paddock::store::connect(&format!("sqlite://{}", path.display())).await?;
        store.migrate().await?;
        let rows = fill(&store, &year, page).await?;
        let responses = count(&store, "paddock_raw_responses").await?;
        if with_retention {
            let settings = RetentionSettings {
                raw_days: Some(30),
                odds_days: Some(30),
                odds_keep_move_percent: 5.0,
                ..RetentionSettings::default()
            };
            let run = fetchers::store::Store::start_run(
                &store,
                "retention",
                fetchers::store::RunTrigger::Manual,
                serde_json::json!({}),
            )
            .await?;
            let archive = ArchiveSettings::default();
            let retention = paddock::retention::Retention {
                store: &store,
                settings: &settings,
                archive: &archive,
                now: Utc::now(),
                run_id: Some(run),
                cancel: CancellationToken::new(),
            };
            let started = std::time::Instant::now();
            let deleted = retention.apply().await?;
            println!(
                "retention over the year: {:.1} s, deleted {:?}",
                started.elapsed().as_secs_f64(),
                deleted
                    .0
                    .iter()
                    .map(|(t, c)| (t.as_str(), c.deleted))
                    .collect::<Vec<_>>()
            );
        }
        let mb = vacuumed_mb(&store, &path).await?;
        println!(
            "a simulated year ({} days; {rows} price rows, {responses} archived pages of {page} B), \
             retention {}: {mb:.1} MB, price rows left {}, archive rows left {}",
            year.days,
            if with_retention { "on" } else { "off" },
            count(&store, "ra_runner_odds").await?,
            count(&store, "paddock_raw_responses").await?,
        );
        sizes.push(mb);
        store.close().await;
    }
    println!(
        "database size with / without retention: {:.3}",
        sizes[1] / sizes[0]
    );
    Ok(())
}

//! Benchmark of the derived tables at production scale: a full rebuild over about 1.3 million
//! runners, then the incremental update after one day of results (35 races, 350 runners), on
//! SQLite and on PostgreSQL. Both are printed as ratios against a baseline measured in the
//! same run on the same data: one `GROUP BY` scan of the runners (runs and wins per horse, the
//! group kind with the most groups); the incremental update also against the full rebuild.
//! Also printed: rows written per second, and the peak RSS of this process during the
//! incremental update (`VmHWM` after resetting it through `/proc/self/clear_refs`; on SQLite the
//! engine runs in this process, on PostgreSQL the server's memory is its own).
//!
//! `PADDOCK_BENCH_DERIVE_JSON=path` also writes the figures as a flat JSON object of name →
//! number (`derive_<backend>_<figure>`), which the figures bench folds into its own.
//!
//! The data set is generated with set-based SQL (`generate_series` / a recursive CTE): 130,000
//! resulted races over about five years on 60 courses (one in six Irish, prizes in euros; one
//! in three a handicap), ten runners each (the tenth pulled up), drawn from 130,000 horses,
//! 1,000 jockeys, 800 trainers, 8,000 owners, 2,000 sires, 60,000 dams and 2,000 damsires.
//! The day of results reuses those entities, so it touches realistic groups; it is measured
//! after a checkpoint (the database at rest, as a results run finds it after the weekly
//! rebuild).
//!
//! On SQLite it then measures the analytics copy of that database (`paddock publish`:
//! snapshot with per-table counts and checksums, online backup, integrity check, `ANALYZE`,
//! atomic rename) against a plain `std::fs::copy` of the same (checkpointed) file in the same
//! run, printed as a ratio with the copy's size.
//!
//! `PADDOCK_BENCH_RUNNERS` changes the size (default 1,300,000). PostgreSQL:
//! `PADDOCK_BENCH_DATABASE_URL`, else `TEST_DATABASE_URL`, else
//! `postgres://postgres@127.0.0.1:5432/postgres`; a throwaway database is created there and
//! dropped afterwards (kept with `PADDOCK_BENCH_KEEP_DATABASE=1`, to look at its plans; SQLite's
//! file is then kept too, without the publish figures).
//! `PADDOCK_BENCH_BACKENDS=postgres` (or `sqlite`) measures one backend.
//! Run with `cargo bench --bench derive_scale`.

use fetchers::derived::DistanceBands;
use fetchers::rows::Counts;
use fetchers::schema::Dialect;
use fetchers::store::{RunTrigger, Store};
use paddock::store::{mask_url, AnyStore, PgStore, SqliteStore, StoreOptions};
use sqlx::Connection;
use std::time::{Duration, Instant};

const RUNNERS_PER_RACE: i64 = 10;
const COURSES: i64 = 60;
const HORSES: i64 = 130_000;
const JOCKEYS: i64 = 1_000;
const TRAINERS: i64 = 800;
const OWNERS: i64 = 8_000;
const SIRES: i64 = 2_000;
const DAMS: i64 = 60_000;
const DAMSIRES: i64 = 2_000;
const RACES_PER_DAY: i64 = 70;
const DAY_RACES: i64 = 35;
const NOW: &str = "2025-01-01T00:00:00.000000Z";

fn runners() -> i64 {
    std::env::var("PADDOCK_BENCH_RUNNERS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_300_000)
}

/// `INSERT INTO table (columns) SELECT values` over `n` = 0 … count − 1.
fn insert_series(dialect: Dialect, table: &str, columns: &str, values: &str, count: i64) -> String {
    match dialect {
        Dialect::Postgres => format!(
            "INSERT INTO {table} ({columns}) SELECT {values} FROM generate_series(0, {}) AS s(n)",
            count - 1
        ),
        Dialect::Sqlite => format!(
            "INSERT INTO {table} ({columns}) WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL \
             SELECT n + 1 FROM s WHERE n < {}) SELECT {values} FROM s",
            count - 1
        ),
    }
}

fn date_plus(dialect: Dialect, days: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("(DATE '2020-01-01' + CAST({days} AS INTEGER))"),
        Dialect::Sqlite => format!("date('2020-01-01', '+' || ({days}) || ' days')"),
    }
}

fn masters(dialect: Dialect) -> Vec<String> {
    let audit = format!("'{NOW}', '{NOW}'");
    let person = |table: &str, prefix: &str, count: i64| {
        insert_series(
            dialect,
            table,
            "id, name, created_at, updated_at",
            &format!("'{prefix}_' || n, 'Name ' || n, {audit}"),
            count,
        )
    };
    vec![
        insert_series(
            dialect,
            "ra_mst_courses",
            "id, name, created_at, updated_at",
            &format!("'crs_' || n, 'Course ' || n, {audit}"),
            COURSES,
        ),
        person("ra_mst_jockeys", "jky", JOCKEYS),
        person("ra_mst_trainers", "trn", TRAINERS),
        person("ra_mst_owners", "own", OWNERS),
        person("ra_mst_horses", "hrs", HORSES),
        person("ra_mst_sires", "sir", SIRES),
        person("ra_mst_dams", "dam", DAMS),
        person("ra_mst_damsires", "dsi", DAMSIRES),
    ]
}

/// Races `first` … `first + count − 1`, `per_day` a day from day `day0`.
fn races(dialect: Dialect, prefix: &str, count: i64, day0: i64, per_day: i64) -> String {
    insert_series(
        dialect,
        "ra_mst_races",
        "id, course_id, race_date, race_name, distance_furlongs, has_result, created_at, \
         updated_at, last_run_id",
        &format!(
            "'{prefix}' || n, 'crs_' || (n % {COURSES}), {date}, \
             CASE WHEN n % 3 = 0 THEN 'Class 4 Handicap' ELSE 'Maiden Stakes' END, \
             5 + (n % 20), TRUE, '{NOW}', '{NOW}', {{run}}",
            date = date_plus(dialect, &format!("{day0} + n / {per_day}")),
        ),
        count,
    )
}

/// Ten runners for each race of `races` (race `n / 10`, slot `n % 10`), horses spread by a
/// stride so no horse runs twice in one race.
fn runners_sql(dialect: Dialect, prefix: &str, count: i64, salt: i64) -> String {
    let horse = format!("(((n / 10) * 7919 + (n % 10) * 13001 + {salt}) % {HORSES})");
    insert_series(
        dialect,
        "ra_runners",
        "race_id, horse_id, jockey_id, trainer_id, owner_id, sire_id, dam_id, damsire_id, \
         number, is_non_runner, position, finish_status, prize_amount, prize_currency, \
         sp_decimal, created_at, updated_at, last_run_id",
        &format!(
            "'{prefix}' || (n / 10), 'hrs_' || {horse}, 'jky_' || ((n * 37 + {salt}) % {JOCKEYS}), \
             'trn_' || (((n / 10) * 11 + (n % 10) * 7) % {TRAINERS}), \
             'own_' || ({horse} % {OWNERS}), 'sir_' || ({horse} % {SIRES}), \
             'dam_' || ({horse} % {DAMS}), 'dsi_' || (({horse} / 3) % {DAMSIRES}), \
             n % 10 + 1, FALSE, \
             CASE WHEN n % 10 = 9 THEN NULL ELSE n % 10 + 1 END, \
             CASE WHEN n % 10 = 9 THEN 'pulled_up' ELSE 'finished' END, \
             CASE WHEN n % 10 < 4 THEN (4 - n % 10) * 1250.5 END, \
             CASE WHEN n % 10 >= 4 THEN NULL WHEN (n / 10) % {COURSES} < 10 THEN 'EUR' \
             ELSE 'GBP' END, \
             2.0 + (n % 10) * 1.5 + (n % 3), '{NOW}', '{NOW}', {{run}}"
        ),
        count * RUNNERS_PER_RACE,
    )
}

async fn execute(store: &AnyStore, sql: &str) {
    let result = match store {
        AnyStore::Sqlite(s) => sqlx::query(sql)
            .execute(s.pool_for_tests())
            .await
            .map(|_| ()),
        AnyStore::Postgres(s) => sqlx::query(sql)
            .execute(s.pool_for_tests())
            .await
            .map(|_| ()),
    };
    result.unwrap_or_else(|e| panic!("{}…: {e}", &sql[..sql.len().min(120)]));
}

fn written(counts: &Counts) -> u64 {
    counts.0.values().map(|c| c.inserted + c.updated).sum()
}

struct Figures {
    backend: &'static str,
    runners: i64,
    load: Duration,
    group_by_scan: Duration,
    incremental_peak_rss_kb: Option<u64>,
    full: Duration,
    full_rows: u64,
    incremental: Duration,
    incremental_rows: u64,
    publish: Option<PublishFigures>,
}

/// The analytics copy of the database against a plain file copy of it.
struct PublishFigures {
    publish: Duration,
    copy_bytes: u64,
    rows: u64,
    plain: Duration,
    plain_bytes: u64,
}

async fn publish_figures(store: &SqliteStore, dir: &std::path::Path) -> PublishFigures {
    // Everything in the main file, so that a plain copy of it is the whole database.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool_for_tests())
        .await
        .unwrap();
    let started = Instant::now();
    let plain_bytes = std::fs::copy(dir.join("bench.db"), dir.join("plain.db")).unwrap();
    let plain = started.elapsed();
    let started = Instant::now();
    let publication = paddock::publish::publish_copy(store, &dir.join("analytics.db"))
        .await
        .unwrap();
    let publish = started.elapsed();
    PublishFigures {
        publish,
        copy_bytes: publication.bytes,
        rows: publication.tables.values().map(|t| t.rows).sum(),
        plain,
        plain_bytes,
    }
}

async fn measure(store: &AnyStore, backend: &'static str, dialect: Dialect) -> Figures {
    let bands = DistanceBands::default();
    let runners = runners();
    let race_count = runners / RUNNERS_PER_RACE;
    let load_started = Instant::now();
    let load_run = store
        .start_run("bench_load", RunTrigger::Manual, serde_json::json!({}))
        .await
        .unwrap();
    for sql in masters(dialect) {
        execute(store, &sql).await;
    }
    let with_run =
        |sql: String, run: fetchers::store::RunId| sql.replace("{run}", &run.get().to_string());
    execute(
        store,
        &with_run(
            races(dialect, "rac_", race_count, 0, RACES_PER_DAY),
            load_run,
        ),
    )
    .await;
    execute(
        store,
        &with_run(runners_sql(dialect, "rac_", race_count, 0), load_run),
    )
    .await;
    if dialect == Dialect::Postgres {
        // What autovacuum would have done on a database that grew over years.
        execute(store, "ANALYZE").await;
    }
    let load = load_started.elapsed();
    let group_by_scan = group_by_scan(store).await;
    progress(backend, "loaded", load);
    progress(backend, "GROUP BY scan of the runners", group_by_scan);

    let started = Instant::now();
    let full_run = paddock::run::run_full_rebuild(store, &bands, RunTrigger::Manual)
        .await
        .unwrap();
    let full = started.elapsed();
    assert!(full_run.error.is_none(), "{:?}", full_run.error);
    progress(backend, "full rebuild", full);
    // The day is measured on a database at rest, as a results run finds it (the rebuild is a
    // weekly job): the rebuild's gigabytes of WAL written out first. Measured otherwise, a
    // checkpoint the rebuild started ran under the day's update (0.82 s at rest, 4.76 s under
    // the checkpoint, 1.3 M runners on PostgreSQL).
    let settle = match dialect {
        Dialect::Postgres => "CHECKPOINT",
        Dialect::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    execute(store, settle).await;

    // One day of results after the last, written by a "results run" (marked with its id).
    let day_run = store
        .start_run("bench_day", RunTrigger::Manual, serde_json::json!({}))
        .await
        .unwrap();
    let next_day = race_count / RACES_PER_DAY + 1;
    execute(
        store,
        &with_run(
            races(dialect, "rac_day_", DAY_RACES, next_day, DAY_RACES),
            day_run,
        ),
    )
    .await;
    execute(
        store,
        &with_run(runners_sql(dialect, "rac_day_", DAY_RACES, 4242), day_run),
    )
    .await;
    // As every writer does in its unit's transaction: the day's races are marked pending.
    execute(
        store,
        &format!(
            "INSERT INTO paddock_derived_pending (race_id, run_id, marked_at) \
             SELECT id, {run}, '{NOW}' FROM ra_mst_races WHERE last_run_id = {run}",
            run = day_run.get()
        ),
    )
    .await;
    let rss_reset = reset_peak_rss();
    let started = Instant::now();
    let counts = paddock::derive::update_touched(store, &bands, day_run)
        .await
        .unwrap();
    let incremental = started.elapsed();
    let incremental_peak_rss_kb = rss_reset.then(peak_rss_kb).flatten();
    progress(backend, "incremental update after one day", incremental);
    eprintln!("{backend}: peak RSS during it {incremental_peak_rss_kb:?} kB");
    Figures {
        backend,
        runners,
        load,
        group_by_scan,
        incremental_peak_rss_kb,
        full,
        full_rows: written(&full_run.report.counts),
        incremental,
        incremental_rows: written(&counts),
        publish: None,
    }
}

/// Each figure as soon as it is measured (a full-size run takes minutes).
fn progress(backend: &str, what: &str, took: Duration) {
    eprintln!("{backend}: {what}: {:.3} s", took.as_secs_f64());
}

/// The baseline: one `GROUP BY` scan of the runners (runs and wins per horse), its result
/// counted in the database so that only the scan and the aggregation are timed.
async fn group_by_scan(store: &AnyStore) -> Duration {
    let started = Instant::now();
    execute(
        store,
        "SELECT COUNT(*), SUM(runs) FROM (SELECT horse_id, COUNT(*) AS runs, \
         SUM(CASE WHEN position = 1 THEN 1 ELSE 0 END) AS wins FROM ra_runners \
         GROUP BY horse_id) per_horse",
    )
    .await;
    started.elapsed()
}

/// Resets this process's peak RSS (`VmHWM`) to its current RSS; false where the kernel
/// refuses.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// This process's peak RSS in kB since start or the last [`reset_peak_rss`].
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The figures as a flat JSON object of name → number.
fn figures_json(all: &[Figures]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for f in all {
        let mut put = |name: &str, value: f64| {
            out.insert(format!("derive_{}_{name}", f.backend), value.into());
        };
        let full = f.full.as_secs_f64();
        let scan = f.group_by_scan.as_secs_f64();
        put("runners", f.runners as f64);
        put("group_by_scan_s", scan);
        put("full_rebuild_s", full);
        put("full_rebuild_rows", f.full_rows as f64);
        put("full_rebuild_rows_per_s", f.full_rows as f64 / full);
        put("full_rebuild_runners_per_s", f.runners as f64 / full);
        put("full_rebuild_over_group_by_scan", full / scan);
        put("incremental_day_s", f.incremental.as_secs_f64());
        put("incremental_day_rows", f.incremental_rows as f64);
        put(
            "incremental_day_over_group_by_scan",
            f.incremental.as_secs_f64() / scan,
        );
        put(
            "incremental_day_over_full_rebuild",
            f.incremental.as_secs_f64() / full,
        );
        if let Some(kb) = f.incremental_peak_rss_kb {
            put("incremental_day_peak_rss_mb", kb as f64 / 1024.0);
        }
    }
    serde_json::Value::Object(out)
}

fn postgres_admin_url() -> String {
    std::env::var("PADDOCK_BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

async fn postgres_figures() -> Figures {
    let admin = postgres_admin_url();
    let name = format!("paddock_derive_bench_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", mask_url(&admin)));
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    let options = StoreOptions {
        statement_timeout: Duration::from_secs(3600),
        ..StoreOptions::default()
    };
    let store = PgStore::connect(url.as_str(), &options).await.unwrap();
    store.migrate().await.unwrap();
    let store = AnyStore::Postgres(store);
    let figures = measure(&store, "postgres", Dialect::Postgres).await;
    store.close().await;
    if std::env::var_os("PADDOCK_BENCH_KEEP_DATABASE").is_some() {
        eprintln!("postgres: database {name} kept (PADDOCK_BENCH_KEEP_DATABASE)");
        return figures;
    }
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    figures
}

async fn sqlite_figures() -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = SqliteStore::open(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let sqlite = store.clone();
    let store = AnyStore::Sqlite(store);
    let mut figures = measure(&store, "sqlite", Dialect::Sqlite).await;
    if std::env::var_os("PADDOCK_BENCH_KEEP_DATABASE").is_some() {
        // Kept to look at its plans; the publish figures are skipped (they copy the file).
        store.close().await;
        let kept = dir.keep();
        eprintln!(
            "sqlite: database {} kept (PADDOCK_BENCH_KEEP_DATABASE)",
            kept.display()
        );
        return figures;
    }
    figures.publish = Some(publish_figures(&sqlite, dir.path()).await);
    store.close().await;
    figures
}

fn main() {
    // `RUST_LOG=paddock=debug` shows each derived statement's time.
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut all = Vec::new();
    // `PADDOCK_BENCH_BACKENDS=postgres` (or `sqlite`) measures one backend only.
    let chosen = std::env::var("PADDOCK_BENCH_BACKENDS").unwrap_or_default();
    for backend in ["sqlite", "postgres"]
        .into_iter()
        .filter(|b| chosen.is_empty() || chosen.contains(b))
    {
        let figures = runtime.block_on(async {
            match backend {
                "postgres" => postgres_figures().await,
                _ => sqlite_figures().await,
            }
        });
        all.push(figures);
    }
    println!(
        "\n{:<9} {:>9} {:>8} {:>9} {:>12} {:>9} {:>9} {:>10} {:>11} {:>9} {:>9} {:>9}",
        "backend",
        "runners",
        "load s",
        "scan s",
        "full s",
        "full/scan",
        "rows/s",
        "day s",
        "day rows",
        "day/scan",
        "day/full",
        "day RSS"
    );
    for f in &all {
        let (full, scan, day) = (
            f.full.as_secs_f64(),
            f.group_by_scan.as_secs_f64(),
            f.incremental.as_secs_f64(),
        );
        let rss = (f.incremental_peak_rss_kb).map_or("n/a".to_string(), |kb| {
            format!("{:.1} MB", kb as f64 / 1024.0)
        });
        println!(
            "{:<9} {:>9} {:>8.1} {:>9.3} {:>12.2} {:>9.1} {:>9.0} {:>10.3} {:>11} {:>9.2} {:>9.4} {:>9}",
            f.backend,
            f.runners,
            f.load.as_secs_f64(),
            scan,
            full,
            full / scan,
            f.full_rows as f64 / full,
            day,
            f.incremental_rows,
            day / scan,
            day / full,
            rss,
        );
    }
    if let Ok(path) = std::env::var("PADDOCK_BENCH_DERIVE_JSON") {
        let json = serde_json::to_string_pretty(&figures_json(&all)).unwrap();
        std::fs::write(&path, json).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        println!("\nfigures written to {path}");
    }
    for (f, p) in all.iter().filter_map(|f| Some((f, f.publish.as_ref()?))) {
        let mb = |b: u64| b as f64 / 1e6;
        println!(
            "\n{} analytics copy of {} runners: publish {:.2} s, {:.1} MB, {} rows counted \
             and checksummed; plain file copy {:.2} s, {:.1} MB; publish/copy {:.1}",
            f.backend,
            f.runners,
            p.publish.as_secs_f64(),
            mb(p.copy_bytes),
            p.rows,
            p.plain.as_secs_f64(),
            mb(p.plain_bytes),
            p.publish.as_secs_f64() / p.plain.as_secs_f64()
        );
    }
}

//! Benchmark of `Store::apply`: 100,000 racecard runners with all their masters (≈10k races
//! on 60 courses, 12k horses, 300 jockeys, 250 trainers, 2k owners, sires, dams, damsires and
//! pedigrees), generated deterministically and applied as ONE unit of work, then re-applied
//! (every row unchanged), on SQLite and on PostgreSQL.
//!
//! Figures are rows per second and ratios against a baseline measured in the same run: the
//! same runner rows inserted naively, one `INSERT` statement per row inside one transaction,
//! into a scratch copy of `ra_runners` (same columns, key, foreign keys and indexes).
//!
//! Then the per-unit cost of following the rename phase (`store::phase_follow`: one
//! single-row read inside each unit's transaction): [`SMALL_UNITS`] units of one new race
//! and its runners each, applied alternately by a store with fixed names and by one following
//! the phase, on the same database. Then the per-unit cost of the alert rules
//! (`store::alerts`): the same races re-applied with every runner's jockey changed, by a store
//! without rules and by one evaluating every alert kind.
//!
//! PostgreSQL: `PADDOCK_BENCH_DATABASE_URL`, else `TEST_DATABASE_URL`, else the local server
//! `postgres://postgres@127.0.0.1:5432/postgres`; a throwaway database is created on that
//! server and dropped afterwards. Run with `cargo bench --bench store_apply`.

use chrono::{DateTime, Duration as Days, NaiveDate, TimeZone, Utc};
use fetchers::registry::{self, Source, Table};
use fetchers::rows::{format_timestamp, Row, UnitOfWork, Value};
use fetchers::schema::{create_indexes, create_table, Dialect};
use fetchers::store::{ApplyMode, RunTrigger, Store};
use paddock::config::{AlertKind, AlertRule};
use paddock::store::{mask_url, AnyStore, PgStore, SqliteStore, StoreOptions};
use serde_json::json;
use sqlx::Connection;
use std::time::{Duration, Instant};

const RUNNERS: usize = 100_000;
const RUNNERS_PER_RACE: usize = 10;
const RACES: usize = RUNNERS / RUNNERS_PER_RACE;
const COURSES: usize = 60;
const HORSES: usize = 12_000;
const JOCKEYS: usize = 300;
const TRAINERS: usize = 250;
const OWNERS: usize = 2_000;
const SIRES: usize = 800;
const DAMS: usize = 6_000;
const DAMSIRES: usize = 700;
const SCRATCH_TABLE: &str = "bench_naive_runners";
/// Small units per store in the phase-following comparison.
const SMALL_UNITS: usize = 300;

/// A deterministic hash of an index (splitmix64), so the data set never depends on a seed
/// file or the clock.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick(i: usize, salt: u64, n: usize) -> usize {
    (mix(i as u64 ^ (salt << 40)) % n as u64) as usize
}

fn start_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 1, 1, 12, 0, 0)
        .single()
        .expect("valid start")
}

/// Every row of the benchmark's unit of work, masters first in declaration only (the store
/// orders them anyway).
fn build_unit() -> UnitOfWork {
    let mut rows = Vec::with_capacity(RUNNERS + RACES + 2 * HORSES + 12_000);
    for r in ["gb", "ire", "fr"] {
        rows.push(
            Row::new("ra_regions", Source::Reference)
                .set("code", r)
                .set("name", r.to_uppercase()),
        );
    }
    for c in 0..COURSES {
        rows.push(
            Row::new("ra_mst_courses", Source::Reference)
                .set("id", format!("crs_{c}"))
                .set("name", format!("Course {c}"))
                .set("region_code", ["gb", "ire", "fr"][c % 3]),
        );
    }
    for (prefix, table, n) in [
        ("jky", "ra_mst_jockeys", JOCKEYS),
        ("trn", "ra_mst_trainers", TRAINERS),
        ("own", "ra_mst_owners", OWNERS),
    ] {
        for i in 0..n {
            rows.push(
                Row::new(table, Source::Racecard)
                    .set("id", format!("{prefix}_{i}"))
                    .set("name", format!("{prefix} name {i}")),
            );
        }
    }
    for (prefix, table, n) in [
        ("sir", "ra_mst_sires", SIRES),
        ("dam", "ra_mst_dams", DAMS),
        ("dsi", "ra_mst_damsires", DAMSIRES),
    ] {
        for i in 0..n {
            rows.push(
                Row::new(table, Source::Racecard)
                    .set("id", format!("{prefix}_{i}"))
                    .set("name", format!("{prefix} name {i}"))
                    .set("region", ["GB", "IRE", "FR", "USA"][i % 4]),
            );
        }
    }
    let foaled = NaiveDate::from_ymd_opt(2015, 1, 1).expect("valid date");
    for h in 0..HORSES {
        rows.push(
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", format!("hrs_{h}"))
                .set("name", format!("Horse {h}"))
                .set("dob", foaled + Days::days(pick(h, 1, 2_500) as i64))
                .set("sex", ["gelding", "mare", "colt", "filly"][h % 4])
                .set("sex_code", ["G", "M", "C", "F"][h % 4])
                .set("colour", ["b", "br", "ch", "gr"][pick(h, 2, 4)])
                .set("region", ["GB", "IRE", "FR"][h % 3]),
        );
        rows.push(
            Row::new("ra_horse_pedigree", Source::Racecard)
                .set("horse_id", format!("hrs_{h}"))
                .set("sire_id", format!("sir_{}", pick(h, 3, SIRES)))
                .set("dam_id", format!("dam_{}", pick(h, 4, DAMS)))
                .set("damsire_id", format!("dsi_{}", pick(h, 5, DAMSIRES))),
        );
    }
    for race in 0..RACES {
        rows.push(race_row(race));
        for k in 0..RUNNERS_PER_RACE {
            let runner = race * RUNNERS_PER_RACE + k;
            // Distinct horses within a race: k * 1201 differs mod 12,000 for k < 10.
            let h = (race * 7 + k * 1_201) % HORSES;
            rows.push(runner_row(runner, race, h, k));
        }
    }
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

/// Race `race` (`rac_{race}`) of the data set.
fn race_row(race: usize) -> Row {
    let off = start_instant() + Days::minutes((race as i64) * 97);
    Row::new("ra_mst_races", Source::Racecard)
        .set("id", format!("rac_{race}"))
        .set("course_id", format!("crs_{}", pick(race, 6, COURSES)))
        .set("race_date", off.date_naive())
        .set("off_dt", off)
        .set("off_time_raw", off.format("%-I:%M").to_string())
        .set("race_name", format!("Handicap Stakes {race}"))
        .set("race_class", format!("Class {}", 1 + pick(race, 7, 7)))
        .set("race_type", ["Flat", "Hurdle", "Chase"][pick(race, 8, 3)])
        .set("distance_furlongs", 5.0 + pick(race, 9, 40) as f64 / 2.0)
        .set(
            "going",
            ["Good", "Soft", "Firm", "Heavy"][pick(race, 10, 4)],
        )
        .set("field_size", RUNNERS_PER_RACE as i64)
        .set(
            "prize_amount",
            fetchers::rows::Decimal::from(2_000 + pick(race, 11, 50_000) as i64),
        )
        .set("prize_currency", "GBP")
        .set("big_race", race.is_multiple_of(50))
}

fn runner_row(runner: usize, race: usize, h: usize, k: usize) -> Row {
    Row::new("ra_runners", Source::Racecard)
        .set("race_id", format!("rac_{race}"))
        .set("horse_id", format!("hrs_{h}"))
        .set("jockey_id", format!("jky_{}", pick(runner, 12, JOCKEYS)))
        .set("trainer_id", format!("trn_{}", pick(h, 13, TRAINERS)))
        .set("owner_id", format!("own_{}", pick(h, 14, OWNERS)))
        .set("sire_id", format!("sir_{}", pick(h, 3, SIRES)))
        .set("dam_id", format!("dam_{}", pick(h, 4, DAMS)))
        .set("damsire_id", format!("dsi_{}", pick(h, 5, DAMSIRES)))
        .set("number", (k + 1) as i64)
        .set("draw", (1 + pick(runner, 15, RUNNERS_PER_RACE)) as i64)
        .set("is_non_runner", pick(runner, 16, 40) == 0)
        .set("age", (2 + pick(h, 17, 8)) as i64)
        .set("weight_lbs", (112 + pick(runner, 18, 50)) as i64)
        .set("headgear", ["", "b", "t", "p"][pick(runner, 19, 4)])
        .set("official_rating", (40 + pick(runner, 20, 80)) as i64)
        .set("racecard_rpr", (40 + pick(runner, 21, 90)) as i64)
        .set(
            "form",
            format!(
                "{}-{}{}",
                pick(runner, 22, 9),
                pick(runner, 23, 9),
                pick(runner, 24, 9)
            ),
        )
        .set("last_run_days", (7 + pick(runner, 25, 200)) as i64)
        .set(
            "spotlight",
            format!("Runner {runner} ran well last time and is respected off this mark."),
        )
        .set(
            "silk_url",
            format!("https://silks.example/{}.svg", pick(h, 26, 5_000)),
        )
        .set(
            "trainer_14_days",
            json!({"runs": pick(runner, 27, 30), "wins": pick(runner, 28, 8), "percent": 12.5}),
        )
}

fn rate(rows: usize, took: Duration) -> f64 {
    rows as f64 / took.as_secs_f64().max(1e-9)
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The figures of one backend.
struct Figures {
    rows: usize,
    first: Duration,
    again: Duration,
    runners: usize,
    baseline: Duration,
    /// Small units: (fixed names, following the phase).
    following: (Duration, Duration),
    /// Small re-applies: (no alert rules, every alert kind).
    alerting: (Duration, Duration),
}

impl Figures {
    fn print(&self, backend: &str) {
        let first = rate(self.rows, self.first);
        let again = rate(self.rows, self.again);
        let baseline = rate(self.runners, self.baseline);
        println!("{backend}");
        println!(
            "  bulk upsert, first apply : {:>7} rows in {:>6.2} s = {:>9.0} rows/s  ({:.1}× row-by-row baseline)",
            self.rows,
            self.first.as_secs_f64(),
            first,
            first / baseline
        );
        println!(
            "  bulk upsert, re-apply    : {:>7} rows in {:>6.2} s = {:>9.0} rows/s  ({:.1}× row-by-row baseline)",
            self.rows,
            self.again.as_secs_f64(),
            again,
            again / baseline
        );
        println!(
            "  baseline, row by row     : {:>7} runner rows in {:>6.2} s = {:>9.0} rows/s  (one INSERT per row, one transaction)",
            self.runners,
            self.baseline.as_secs_f64(),
            baseline
        );
        print_phase_following(self.following);
        print_alert_rules(self.alerting);
    }
}

/// Applies the unit twice and checks the counts: everything inserted, then nothing written.
async fn apply_twice(
    store: &AnyStore,
    unit: &UnitOfWork,
) -> anyhow::Result<(usize, Duration, Duration)> {
    let run = store
        .start_run("bench", RunTrigger::Manual, json!({"bench": "store_apply"}))
        .await?;
    let started = Instant::now();
    let first = store.apply(run, unit, ApplyMode::Commit).await?;
    let first_took = started.elapsed();
    let rows: u64 = first.0.values().map(|c| c.inserted).sum();
    anyhow::ensure!(
        first.0.values().all(|c| c.updated == 0 && c.unchanged == 0),
        "first apply into an empty database must only insert: {first:?}"
    );
    let started = Instant::now();
    let again = store.apply(run, unit, ApplyMode::Commit).await?;
    let again_took = started.elapsed();
    anyhow::ensure!(again.written() == 0, "re-apply wrote rows: {again:?}");
    Ok((rows as usize, first_took, again_took))
}

/// Race `race` and its runners, over the data set's masters.
fn race_unit(race: usize) -> UnitOfWork {
    let mut rows = vec![race_row(race)];
    for k in 0..RUNNERS_PER_RACE {
        let h = (race * 7 + k * 1_201) % HORSES;
        rows.push(runner_row(race * RUNNERS_PER_RACE + k, race, h, k));
    }
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

/// Time spent applying [`SMALL_UNITS`] new races each by `store` with fixed names and by the
/// same store following the phase, alternately (after the big unit: the masters exist).
async fn phase_following_cost(store: &AnyStore) -> anyhow::Result<(Duration, Duration)> {
    let following = paddock::rename::for_current_phase(store.clone()).await?;
    let run = store
        .start_run(
            "bench",
            RunTrigger::Manual,
            json!({"bench": "phase_following"}),
        )
        .await?;
    let (mut fixed, mut followed) = (Duration::ZERO, Duration::ZERO);
    for i in 0..SMALL_UNITS {
        for (n, (which, took)) in [(store, &mut fixed), (&following, &mut followed)]
            .into_iter()
            .enumerate()
        {
            let unit = race_unit(RACES + 2 * i + n);
            let started = Instant::now();
            let counts = which.apply(run, &unit, ApplyMode::Commit).await?;
            *took += started.elapsed();
            anyhow::ensure!(counts.written() == unit.rows.len() as u64, "{counts:?}");
        }
    }
    Ok((fixed, followed))
}

fn print_phase_following((fixed, followed): (Duration, Duration)) {
    let per_unit = |d: Duration| d.as_secs_f64() * 1e3 / SMALL_UNITS as f64;
    println!(
        "  {SMALL_UNITS} small units (1 race + {RUNNERS_PER_RACE} runners): fixed names {:.2} ms/unit, \
         following the phase {:.2} ms/unit ({:+.2} ms, {:.3}×)",
        per_unit(fixed),
        per_unit(followed),
        per_unit(followed) - per_unit(fixed),
        followed.as_secs_f64() / fixed.as_secs_f64().max(1e-9)
    );
}

/// Every alert kind as a rule (the price rules find no odds in these units: what is measured
/// is reading the watched rows before and after the write, and the alerts inserted).
fn every_alert_rule() -> Vec<AlertRule> {
    AlertKind::ALL
        .iter()
        .map(|(kind, name)| AlertRule {
            name: name.to_string(),
            kind: *kind,
            percent: kind.is_price().then_some(20.0),
            within_minutes: 60,
        })
        .collect()
}

/// Time spent re-applying [`SMALL_UNITS`] stored races whose every runner changed jockey, by
/// `store` without alert rules and by the same store evaluating every kind (10
/// `jockey_changed` alerts per unit), alternately; each race first inserted untimed.
async fn alert_rules_cost(store: &AnyStore) -> anyhow::Result<(Duration, Duration)> {
    let with_rules = store.clone().with_alert_rules(&every_alert_rule());
    let run = store
        .start_run("bench", RunTrigger::Manual, json!({"bench": "alert_rules"}))
        .await?;
    let (mut plain, mut ruled) = (Duration::ZERO, Duration::ZERO);
    for i in 0..SMALL_UNITS {
        for (n, (which, took)) in [(store, &mut plain), (&with_rules, &mut ruled)]
            .into_iter()
            .enumerate()
        {
            let mut unit = race_unit(RACES + 2 * SMALL_UNITS + 2 * i + n);
            which.apply(run, &unit, ApplyMode::Commit).await?;
            for (k, row) in unit.rows.iter_mut().skip(1).enumerate() {
                let old = match row.values.get("jockey_id") {
                    Some(Value::Text(id)) => id.trim_start_matches("jky_").parse().unwrap_or(k),
                    _ => k,
                };
                *row = row
                    .clone()
                    .set("jockey_id", format!("jky_{}", (old + 1) % JOCKEYS));
            }
            let started = Instant::now();
            let counts = which.apply(run, &unit, ApplyMode::Commit).await?;
            *took += started.elapsed();
            anyhow::ensure!(counts.table("ra_runners").updated == RUNNERS_PER_RACE as u64);
        }
    }
    Ok((plain, ruled))
}

fn print_alert_rules((plain, ruled): (Duration, Duration)) {
    let per_unit = |d: Duration| d.as_secs_f64() * 1e3 / SMALL_UNITS as f64;
    println!(
        "  {SMALL_UNITS} small re-applies (every runner's jockey changed): no alert rules {:.2} ms/unit, \
         every alert kind {:.2} ms/unit ({:+.2} ms, {:.3}×)",
        per_unit(plain),
        per_unit(ruled),
        per_unit(ruled) - per_unit(plain),
        ruled.as_secs_f64() / plain.as_secs_f64().max(1e-9)
    );
}

fn runners_table() -> &'static Table {
    registry::table("ra_runners").expect("ra_runners is in the registry")
}

/// The columns the naive baseline inserts: what the racecard writes, then the audit columns.
fn baseline_columns() -> Vec<(&'static str, registry::ColumnType)> {
    let mut cols: Vec<(&'static str, registry::ColumnType)> = runners_table()
        .writable_by(Source::Racecard)
        .into_iter()
        .map(|(c, _)| (c.name, c.ty))
        .collect();
    cols.push(("created_at", registry::ColumnType::Timestamp));
    cols.push(("updated_at", registry::ColumnType::Timestamp));
    cols.push(("last_run_id", registry::ColumnType::Integer));
    cols
}

fn runner_rows(unit: &UnitOfWork) -> Vec<&Row> {
    unit.rows
        .iter()
        .filter(|r| r.table == "ra_runners")
        .collect()
}

fn audit_value(column: &str, now: DateTime<Utc>) -> Option<Value> {
    match column {
        "created_at" | "updated_at" => Some(Value::Timestamp(now)),
        "last_run_id" => Some(Value::Integer(0)),
        _ => None,
    }
}

/// The scratch copy of `ra_runners`: the same DDL (columns, key, foreign keys) and indexes,
/// generated from the registry under another name.
fn scratch_copy_ddl(dialect: Dialect) -> Vec<String> {
    let mut statements = vec![create_table(dialect, runners_table(), SCRATCH_TABLE)];
    statements.extend(
        create_indexes(runners_table(), SCRATCH_TABLE)
            .lines()
            .map(str::to_string),
    );
    statements
}

async fn create_scratch_copy_sqlite(pool: &sqlx::SqlitePool) -> anyhow::Result<()> {
    for statement in scratch_copy_ddl(Dialect::Sqlite) {
        sqlx::query(&statement).execute(pool).await?;
    }
    Ok(())
}

async fn create_scratch_copy_postgres(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    for statement in scratch_copy_ddl(Dialect::Postgres) {
        sqlx::query(&statement).execute(pool).await?;
    }
    Ok(())
}

async fn sqlite_baseline(
    store: &SqliteStore,
    unit: &UnitOfWork,
) -> anyhow::Result<(usize, Duration)> {
    let pool = store.pool_for_tests();
    create_scratch_copy_sqlite(pool).await?;
    let cols = baseline_columns();
    let sql = format!(
        "INSERT INTO {SCRATCH_TABLE} ({}) VALUES ({})",
        cols.iter()
            .map(|(n, _)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "),
        vec!["?"; cols.len()].join(", ")
    );
    let rows = runner_rows(unit);
    let now = Utc::now();
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    for row in &rows {
        let mut query = sqlx::query(&sql);
        for (name, _) in &cols {
            let value = audit_value(name, now)
                .unwrap_or_else(|| row.values.get(name).cloned().unwrap_or(Value::Null));
            query = match value {
                Value::Null => query.bind(None::<String>),
                Value::Text(s) => query.bind(s),
                Value::Integer(i) => query.bind(i),
                Value::Decimal(d) => query.bind(d),
                Value::Money(m) => query.bind(m.to_string()),
                Value::Boolean(b) => query.bind(i64::from(b)),
                Value::Date(d) => query.bind(d.format("%Y-%m-%d").to_string()),
                Value::Timestamp(t) => query.bind(format_timestamp(&t)),
                Value::Json(j) => query.bind(j.to_string()),
                Value::Bytes(b) => query.bind(b),
            };
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok((rows.len(), started.elapsed()))
}

async fn postgres_baseline(
    store: &PgStore,
    unit: &UnitOfWork,
) -> anyhow::Result<(usize, Duration)> {
    let pool = store.pool_for_tests();
    create_scratch_copy_postgres(pool).await?;
    let cols = baseline_columns();
    let placeholders: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| match ty {
            registry::ColumnType::Decimal | registry::ColumnType::Money => {
                format!("${}::numeric", i + 1)
            }
            registry::ColumnType::Json => format!("${}::jsonb", i + 1),
            _ => format!("${}", i + 1),
        })
        .collect();
    let sql = format!(
        "INSERT INTO {SCRATCH_TABLE} ({}) VALUES ({})",
        cols.iter()
            .map(|(n, _)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "),
        placeholders.join(", ")
    );
    let rows = runner_rows(unit);
    let now = Utc::now();
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    for row in &rows {
        let mut query = sqlx::query(&sql);
        for (name, ty) in &cols {
            let value = audit_value(name, now)
                .unwrap_or_else(|| row.values.get(name).cloned().unwrap_or(Value::Null));
            query = match (value, ty) {
                (Value::Text(s), _) => query.bind(s),
                (Value::Integer(i), _) => query.bind(i),
                (Value::Decimal(d), _) => query.bind(d),
                (Value::Money(m), _) => query.bind(m.to_string()),
                (Value::Boolean(b), _) => query.bind(b),
                (Value::Date(d), _) => query.bind(d),
                (Value::Timestamp(t), _) => query.bind(t),
                (Value::Json(j), _) => query.bind(j.to_string()),
                (Value::Bytes(b), _) => query.bind(b),
                (Value::Null, registry::ColumnType::Integer) => query.bind(None::<i64>),
                (Value::Null, registry::ColumnType::Decimal) => query.bind(None::<f64>),
                (Value::Null, registry::ColumnType::Boolean) => query.bind(None::<bool>),
                (Value::Null, registry::ColumnType::Date) => query.bind(None::<NaiveDate>),
                (Value::Null, registry::ColumnType::Timestamp) => query.bind(None::<DateTime<Utc>>),
                (Value::Null, _) => query.bind(None::<String>),
            };
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok((rows.len(), started.elapsed()))
}

async fn bench_sqlite(unit: &UnitOfWork) -> anyhow::Result<Figures> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let store = SqliteStore::open(
        &format!("sqlite://{}", path.display()),
        &StoreOptions::default(),
    )
    .await?;
    store.migrate().await?;
    let any = AnyStore::Sqlite(store.clone());
    let (rows, first, again) = apply_twice(&any, unit).await?;
    let (runners, baseline) = sqlite_baseline(&store, unit).await?;
    let following = phase_following_cost(&any).await?;
    let alerting = alert_rules_cost(&any).await?;
    store.close().await;
    Ok(Figures {
        rows,
        first,
        again,
        runners,
        baseline,
        following,
        alerting,
    })
}

/// The server to benchmark PostgreSQL on.
fn postgres_server_url() -> String {
    ["PADDOCK_BENCH_DATABASE_URL", "TEST_DATABASE_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

async fn bench_postgres(unit: &UnitOfWork) -> anyhow::Result<Figures> {
    let server = postgres_server_url();
    let name = format!("paddock_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {}: {e}", mask_url(&server)))?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await?;
    let mut url = url::Url::parse(&server)?;
    url.set_path(&format!("/{name}"));
    let outcome = async {
        let store = PgStore::connect(url.as_str(), &StoreOptions::default()).await?;
        store.migrate().await?;
        let any = AnyStore::Postgres(store.clone());
        let (rows, first, again) = apply_twice(&any, unit).await?;
        let (runners, baseline) = postgres_baseline(&store, unit).await?;
        let following = phase_following_cost(&any).await?;
        let alerting = alert_rules_cost(&any).await?;
        store.close().await;
        anyhow::Ok(Figures {
            rows,
            first,
            again,
            runners,
            baseline,
            following,
            alerting,
        })
    }
    .await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    outcome
}

async fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let unit = build_unit();
    println!(
        "store_apply: one unit of {} rows ({} ra_runners), built in {:.2} s",
        unit.rows.len(),
        runner_rows(&unit).len(),
        started.elapsed().as_secs_f64()
    );
    bench_sqlite(&unit).await?.print("SQLite (file, WAL)");
    let figures = bench_postgres(&unit).await.map_err(|e| {
        e.context(
            "PostgreSQL benchmark failed; set PADDOCK_BENCH_DATABASE_URL=postgres://… to a \
             server the benchmark may create a database on",
        )
    })?;
    figures.print(&format!(
        "PostgreSQL ({})",
        mask_url(&postgres_server_url())
    ));
    println!("peak RSS (VmHWM): {}", peak_rss());
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // Per-group timings with RUST_LOG=paddock::store=debug.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

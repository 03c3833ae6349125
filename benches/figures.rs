//! Every figure of issue 14 in one run: `cargo bench --bench figures` (add `-- --quick`, or
//! set `PADDOCK_BENCH_QUICK=1`, for a short run on a tenth of the data; `-- --store-only`
//! prints the store throughput figures alone and writes no JSON; `PADDOCK_LOG=paddock::store=debug`
//! logs each upserted group's rows and milliseconds).
//!
//! - **Store throughput** on SQLite and PostgreSQL for a simulated year (13k races, 130k
//!   runners with their masters): a first load, an unchanged reload and a reload where 10 % of
//!   runners changed, next to a PostgreSQL `COPY` of the same rows into the same constrained
//!   tables (a fresh migrated database), measured in the same run, with the ratio to it.
//! - **Pipeline**: a `paddock backfill` child process over 90 days against the simulator with
//!   100 ms latency and the real 2 requests/second limit (enforced by the simulator: a request
//!   faster than that gets a 429): requests against the computed minimum, achieved rate
//!   against the limit, 429s, wall time against requests ÷ limit, and its peak RSS.
//! - **Replay**: a simulated year fetched once with the archive on, then rebuilt from it.
//! - **Idle daemon**: the peak RSS of `paddock daemon` with every job disabled.
//!
//! Figures are printed and written to `target/bench-figures.json` (or `PADDOCK_BENCH_JSON`).
//! PostgreSQL: `PADDOCK_BENCH_DATABASE_URL`, else `TEST_DATABASE_URL`, else
//! `postgres://postgres@127.0.0.1:5432/postgres`; throwaway databases are created and dropped.

use chrono::{DateTime, Duration as Days, NaiveDate, TimeZone, Utc};
use fetchers::registry::{self, Source};
use fetchers::rows::{format_timestamp, Row, UnitOfWork, Value};
use fetchers::store::{ApplyMode, RunTrigger, Store};
use paddock::archive::{Archive, ArchiveTarget};
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions};
use paddock::client::{ClientConfig, Credentials, RacingApiClient, SharedLimiter};
use paddock::simulator::{Faults, SimConfig, SimServer};
use paddock::store::{mask_url, AnyStore};
use serde_json::{json, Value as Json};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "bench";
const PASS: &str = "bench-secret";
const RUNNERS_PER_RACE: usize = 10;
/// The API's real limit.
const RATE_LIMIT: f64 = 2.0;

/// Run size: a full run, or a tenth of it with `--quick`.
struct Size {
    races: usize,
    pipeline_days: i64,
    replay_days: i64,
    idle_secs: u64,
}

fn size(quick: bool) -> Size {
    if quick {
        Size {
            races: 1_300,
            pipeline_days: 10,
            replay_days: 30,
            idle_secs: 2,
        }
    } else {
        Size {
            races: 13_000,
            pipeline_days: 90,
            replay_days: 365,
            idle_secs: 5,
        }
    }
}

// ---- the simulated year of rows --------------------------------------------------------

/// splitmix64: a deterministic hash of an index, so the data never depends on the clock.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick(i: usize, salt: u64, n: usize) -> usize {
    (mix(i as u64 ^ (salt << 40)) % n as u64) as usize
}

/// Master counts scale with the number of races (a year: 13k races, 15.6k horses, …).
struct Masters {
    courses: usize,
    horses: usize,
    jockeys: usize,
    trainers: usize,
    owners: usize,
    sires: usize,
    dams: usize,
}

fn masters(races: usize) -> Masters {
    Masters {
        courses: 60,
        horses: races * 6 / 5,
        jockeys: (races / 40).max(20),
        trainers: (races / 50).max(20),
        owners: (races / 6).max(50),
        sires: (races / 16).max(20),
        dams: races / 2,
    }
}

/// The year as one unit of work; `changed` runners (every tenth, when set) carry a new
/// rating and comment.
fn build_year(races: usize, changed: bool) -> UnitOfWork {
    let m = masters(races);
    let mut rows = Vec::new();
    for r in ["gb", "ire"] {
        rows.push(
            Row::new("ra_regions", Source::Reference)
                .set("code", r)
                .set("name", r.to_uppercase()),
        );
    }
    for c in 0..m.courses {
        rows.push(
            Row::new("ra_mst_courses", Source::Reference)
                .set("id", format!("crs_{c}"))
                .set("name", format!("Course {c}"))
                .set("region_code", ["gb", "ire"][c % 2]),
        );
    }
    for (prefix, table, n) in [
        ("jky", "ra_mst_jockeys", m.jockeys),
        ("trn", "ra_mst_trainers", m.trainers),
        ("own", "ra_mst_owners", m.owners),
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
        ("sir", "ra_mst_sires", m.sires),
        ("dam", "ra_mst_dams", m.dams),
    ] {
        for i in 0..n {
            rows.push(
                Row::new(table, Source::Racecard)
                    .set("id", format!("{prefix}_{i}"))
                    .set("name", format!("{prefix} name {i}"))
                    .set("region", ["GB", "IRE", "FR"][i % 3]),
            );
        }
    }
    let foaled = NaiveDate::from_ymd_opt(2016, 1, 1).expect("valid date");
    for h in 0..m.horses {
        rows.push(
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", format!("hrs_{h}"))
                .set("name", format!("Horse {h}"))
                .set("dob", foaled + Days::days(pick(h, 1, 2_500) as i64))
                .set("sex_code", ["G", "M", "C", "F"][h % 4])
                .set("region", ["GB", "IRE"][h % 2]),
        );
    }
    let start: DateTime<Utc> = Utc
        .with_ymd_and_hms(2024, 1, 1, 12, 0, 0)
        .single()
        .expect("valid start");
    for race in 0..races {
        // 36 races a day, 20 minutes apart.
        let off = start + Days::days((race / 36) as i64) + Days::minutes((race % 36) as i64 * 20);
        rows.push(
            Row::new("ra_mst_races", Source::Racecard)
                .set("id", format!("rac_{race}"))
                .set("course_id", format!("crs_{}", pick(race, 6, m.courses)))
                .set("race_date", off.date_naive())
                .set("off_dt", off)
                .set("race_name", format!("Handicap Stakes {race}"))
                .set("race_type", ["Flat", "Hurdle", "Chase"][pick(race, 8, 3)])
                .set("going", ["Good", "Soft", "Firm"][pick(race, 10, 3)])
                .set("field_size", RUNNERS_PER_RACE as i64)
                .set(
                    "prize_amount",
                    fetchers::rows::Decimal::from(2_000 + pick(race, 11, 50_000) as i64),
                )
                .set("prize_currency", "GBP"),
        );
        for k in 0..RUNNERS_PER_RACE {
            let runner = race * RUNNERS_PER_RACE + k;
            // Distinct horses within a race: k * 1201 differs mod horses for k < 10.
            let h = (race * 7 + k * 1_201) % m.horses;
            let bump = usize::from(changed && runner.is_multiple_of(10));
            rows.push(
                Row::new("ra_runners", Source::Racecard)
                    .set("race_id", format!("rac_{race}"))
                    .set("horse_id", format!("hrs_{h}"))
                    .set("jockey_id", format!("jky_{}", pick(runner, 12, m.jockeys)))
                    .set("trainer_id", format!("trn_{}", pick(h, 13, m.trainers)))
                    .set("owner_id", format!("own_{}", pick(h, 14, m.owners)))
                    .set("sire_id", format!("sir_{}", pick(h, 3, m.sires)))
                    .set("dam_id", format!("dam_{}", pick(h, 4, m.dams)))
                    .set("number", (k + 1) as i64)
                    .set("draw", (1 + pick(runner, 15, RUNNERS_PER_RACE)) as i64)
                    .set("weight_lbs", (112 + pick(runner, 18, 50)) as i64)
                    .set("official_rating", (40 + pick(runner, 20, 80) + bump) as i64)
                    .set(
                        "spotlight",
                        format!("Runner {runner} ran well last time (revision {bump})."),
                    ),
            );
        }
    }
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

// ---- store throughput -------------------------------------------------------------------

fn rate(rows: u64, took: Duration) -> f64 {
    rows as f64 / took.as_secs_f64().max(1e-9)
}

/// Rows/s of the three loads on one store.
async fn store_loads(
    store: &AnyStore,
    year: &UnitOfWork,
    changed: &UnitOfWork,
) -> anyhow::Result<Json> {
    let run = store
        .start_run("bench", RunTrigger::Manual, json!({"bench": "pipeline"}))
        .await?;
    let rows = year.rows.len() as u64;
    let mut out = serde_json::Map::new();
    for (case, unit) in [
        ("first_load", year),
        ("unchanged_reload", year),
        ("reload_10pct_changed", changed),
    ] {
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

/// One value in `COPY … FROM STDIN` text format.
fn copy_text(value: &Value, out: &mut String) {
    let escaped = |s: &str, out: &mut String| {
        for ch in s.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    };
    match value {
        Value::Null => out.push_str("\\N"),
        Value::Text(s) => escaped(s, out),
        Value::Integer(i) => out.push_str(&i.to_string()),
        Value::Decimal(d) => out.push_str(&d.to_string()),
        Value::Money(m) => out.push_str(&m.to_string()),
        Value::Boolean(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Date(d) => out.push_str(&d.format("%Y-%m-%d").to_string()),
        Value::Timestamp(t) => out.push_str(&format_timestamp(t)),
        Value::Json(j) => escaped(&j.to_string(), out),
        // bytea's hex form, its backslash escaped for COPY's text format.
        Value::Bytes(b) => {
            out.push_str("\\\\x");
            out.extend(b.iter().map(|byte| format!("{byte:02x}")));
        }
    }
}

/// `COPY` of every row of `year`, table by table in write order, into the migrated tables
/// of `pool` (one transaction, constraints and indexes in place). Rows/s.
async fn postgres_copy(pool: &sqlx::PgPool, year: &UnitOfWork) -> anyhow::Result<(u64, Duration)> {
    let mut by_table: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in &year.rows {
        by_table.entry(row.table.as_ref()).or_default().push(row);
    }
    let now = Value::Timestamp(Utc::now());
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let mut copied = 0u64;
    for name in fetchers::order::registry_order() {
        let Some(rows) = by_table.get(name) else {
            continue;
        };
        let table = registry::table(name).expect("registry table");
        let columns: Vec<&str> = table
            .all_columns()
            .iter()
            .map(|c| c.name)
            .filter(|c| *c == "created_at" || *c == "updated_at" || rows[0].values.contains_key(c))
            .collect();
        let mut text = String::new();
        for row in rows {
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                let v = match *c {
                    "created_at" | "updated_at" => &now,
                    _ => row.values.get(c).unwrap_or(&Value::Null),
                };
                copy_text(v, &mut text);
            }
            text.push('\n');
        }
        let sql = format!(
            "COPY {name} ({}) FROM STDIN",
            columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut copy = tx.copy_in_raw(&sql).await?;
        copy.send(text.into_bytes()).await?;
        copied += copy.finish().await?;
    }
    tx.commit().await?;
    Ok((copied, started.elapsed()))
}

fn postgres_server_url() -> String {
    ["PADDOCK_BENCH_DATABASE_URL", "TEST_DATABASE_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A throwaway database on the benchmark server; dropped by [`drop_database`].
async fn create_database(suffix: &str) -> anyhow::Result<(String, String)> {
    let server = postgres_server_url();
    let name = format!("paddock_bench_{}_{suffix}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {}: {e}", mask_url(&server)))?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await?;
    let mut url = url::Url::parse(&server)?;
    url.set_path(&format!("/{name}"));
    Ok((name, url.to_string()))
}

async fn drop_database(name: &str) -> anyhow::Result<()> {
    let mut admin = sqlx::PgConnection::connect(&postgres_server_url()).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

async fn bench_store(races: usize) -> anyhow::Result<Json> {
    let year = build_year(races, false);
    let changed = build_year(races, true);
    let rows = year.rows.len();
    println!("store: a simulated year of {races} races, {rows} rows with masters");

    let dir = tempfile::tempdir()?;
    let sqlite =
        paddock::store::connect(&format!("sqlite://{}", dir.path().join("s.db").display())).await?;
    sqlite.migrate().await?;
    let sqlite_figures = store_loads(&sqlite, &year, &changed).await?;
    sqlite.close().await;

    let (pg_name, pg_url) = create_database("store").await?;
    let (copy_name, copy_url) = create_database("copy").await?;
    let outcome = async {
        let pg = paddock::store::connect(&pg_url).await?;
        pg.migrate().await?;
        let pg_figures = store_loads(&pg, &year, &changed).await?;
        pg.close().await;
        let copy_store = paddock::store::connect(&copy_url).await?;
        copy_store.migrate().await?;
        let AnyStore::Postgres(copy_pg) = &copy_store else {
            anyhow::bail!("the COPY database is not PostgreSQL")
        };
        let (copied, took) = postgres_copy(copy_pg.pool_for_tests(), &year).await?;
        copy_store.close().await;
        anyhow::ensure!(copied == rows as u64, "COPY loaded {copied} of {rows} rows");
        anyhow::Ok((pg_figures, rate(copied, took), took))
    }
    .await;
    drop_database(&pg_name).await?;
    drop_database(&copy_name).await?;
    let (pg_figures, copy_rate, copy_took) = outcome?;

    let mut out = json!({
        "races": races,
        "rows": rows,
        "postgres_copy": {"rows_per_sec": copy_rate, "secs": copy_took.as_secs_f64()},
        "sqlite": sqlite_figures,
        "postgres": pg_figures,
    });
    for backend in ["sqlite", "postgres"] {
        for case in ["first_load", "unchanged_reload", "reload_10pct_changed"] {
            let r = out[backend][case]["rows_per_sec"].as_f64().unwrap_or(0.0);
            out[backend][case]["ratio_to_copy"] = json!(r / copy_rate);
            println!(
                "  {backend:<8} {case:<22} {r:>10.0} rows/s  {:>5.2}× PostgreSQL COPY",
                r / copy_rate
            );
        }
    }
    println!("  postgres COPY (same rows, same tables)   {copy_rate:>10.0} rows/s");
    Ok(out)
}

// ---- pipeline and memory ----------------------------------------------------------------

/// Waits for `child`; its exit code and its own peak resident set (KiB).
///
/// A child's `ru_maxrss` is not its own peak alone: Linux carries the high-water mark of the
/// address space a child leaves at `exec` (this bench's, after fork or vfork) into it, so a
/// backfill started from a bench holding a simulator's 90 days reported the bench's 542 MB.
/// `spawner_hwm` is this process's high-water mark read just after the spawn: an `ru_maxrss`
/// above it is the child's own (exact); otherwise the child's peak is the highest `VmHWM` of
/// its own address space, polled every 10 ms until it exits.
fn wait_with_peak_rss(child: std::process::Child, spawner_hwm: u64) -> anyhow::Result<(i32, u64)> {
    let pid = child.id() as libc::pid_t;
    let mut polled = 0;
    loop {
        if let Some(hwm) = vm_hwm_kib(child.id()) {
            polled = polled.max(hwm);
        }
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waits without reaping (WNOWAIT), so /proc/<pid> stays valid until wait4.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        anyhow::ensure!(rc == 0, "waitid: {}", std::io::Error::last_os_error());
        // SAFETY: si_pid is set by waitid when a child changed state, else it stays 0.
        if unsafe { info.si_pid() } == pid {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 reaps the child this process started.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    anyhow::ensure!(rc == pid, "wait4: {}", std::io::Error::last_os_error());
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let maxrss = usage.ru_maxrss as u64;
    let peak = if maxrss > spawner_hwm { maxrss } else { polled };
    Ok((code, peak))
}

fn paddock_command(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddock"));
    cmd.arg("--config")
        .arg(config)
        .env_remove("PADDOCK_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("PADDOCK_API_BASE_URL")
        .env_remove("PADDOCK_API_RATE_LIMIT")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET")
        .env("RACING_API_USERNAME", USER)
        .env("RACING_API_PASSWORD", PASS)
        .env("PADDOCK_LOG", "warn")
        .stdout(Stdio::null());
    cmd
}

fn write_config(dir: &Path, base_url: &str, rate: f64) -> anyhow::Result<std::path::PathBuf> {
    let db = dir.join("paddock.db");
    let mut text = format!(
        "[api]\nbase_url = \"{base_url}\"\nrate_limit_per_second = {rate}\n\
         [database]\nurl = \"sqlite://{}\"\n",
        db.display()
    );
    for job in paddock::config::JobKind::ALL {
        text.push_str(&format!("[jobs.{}]\nenabled = false\n", job.name()));
    }
    let path = dir.join("paddock.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

async fn bench_pipeline(days: i64) -> anyhow::Result<Json> {
    let mut sim = SimConfig::new(14, USER, PASS);
    sim.faults = Faults {
        latency_ms: 100,
        max_rate_per_sec: Some(RATE_LIMIT),
        ..Faults::default()
    };
    let today = sim.today;
    let server = SimServer::start(sim).await?;
    let to = today - Days::days(1);
    let from = to - Days::days(days - 1);
    let results: u64 = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| server.data().race_count(d) as u64)
        .sum();
    // One results range (≤ 366 days) in pages of 50, one racecards request per day.
    let minimum = results.div_ceil(50) + days as u64;

    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), &server.base_url, RATE_LIMIT)?;
    let (from_s, to_s) = (from.to_string(), to.to_string());
    let started = Instant::now();
    let child = paddock_command(&config)
        .args([
            "backfill",
            "--from",
            &from_s,
            "--to",
            &to_s,
            "--only",
            "results,racecards",
        ])
        .stderr(Stdio::null())
        .spawn()?;
    let spawner_hwm = vm_hwm_kib(std::process::id()).unwrap_or(u64::MAX);
    let (code, peak_kib) =
        tokio::task::spawn_blocking(move || wait_with_peak_rss(child, spawner_hwm)).await??;
    let wall = started.elapsed();
    let stats = server.stats();
    server.shutdown().await;
    anyhow::ensure!(code == 0, "the backfill exited {code}");
    let requests = stats.total;
    let throttled = stats.by_status.get(&429).copied().unwrap_or(0);
    let achieved = requests as f64 / wall.as_secs_f64();
    let ideal = requests as f64 / RATE_LIMIT;
    println!(
        "pipeline: {days}-day backfill (results + racecards), 100 ms latency, limit {RATE_LIMIT}/s"
    );
    println!(
        "  requests {requests} / computed minimum {minimum} = {:.2}",
        requests as f64 / minimum as f64
    );
    println!(
        "  achieved {achieved:.2} req/s / limit {RATE_LIMIT} = {:.2}",
        achieved / RATE_LIMIT
    );
    println!("  429s received: {throttled}");
    println!(
        "  wall {:.1} s / (requests ÷ limit) {ideal:.1} s = {:.2}",
        wall.as_secs_f64(),
        wall.as_secs_f64() / ideal
    );
    println!(
        "  peak RSS of the backfill process: {:.1} MB",
        peak_kib as f64 / 1024.0
    );
    Ok(json!({
        "days": days,
        "requests": requests,
        "minimum_requests": minimum,
        "requests_vs_minimum": requests as f64 / minimum as f64,
        "achieved_rate_per_sec": achieved,
        "rate_limit_per_sec": RATE_LIMIT,
        "achieved_vs_limit": achieved / RATE_LIMIT,
        "http_429": throttled,
        "wall_secs": wall.as_secs_f64(),
        "requests_over_limit_secs": ideal,
        "wall_vs_requests_over_limit": wall.as_secs_f64() / ideal,
        "peak_rss_mb": peak_kib as f64 / 1024.0,
        "note": "wall time includes process start, migrations and the final commit",
    }))
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn bench_idle_daemon(secs: u64) -> anyhow::Result<Json> {
    let server = SimServer::start(SimConfig::new(14, USER, PASS)).await?;
    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), &server.base_url, RATE_LIMIT)?;
    let mut child = paddock_command(&config)
        .arg("daemon")
        .stderr(Stdio::null())
        .spawn()?;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let running = child.try_wait()?.is_none();
    let peak = vm_hwm_kib(child.id());
    child.kill()?;
    child.wait()?;
    server.shutdown().await;
    anyhow::ensure!(running, "the daemon exited before it was measured");
    let peak = peak.ok_or_else(|| anyhow::anyhow!("no VmHWM for the daemon"))?;
    println!(
        "idle daemon (every job disabled, {secs} s): peak RSS {:.1} MB",
        peak as f64 / 1024.0
    );
    Ok(json!({"idle_secs": secs, "peak_rss_mb": peak as f64 / 1024.0}))
}

// ---- replay -----------------------------------------------------------------------------

async fn bench_replay(days: i64) -> anyhow::Result<Json> {
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

async fn run(quick: bool, store_only: bool) -> anyhow::Result<()> {
    let s = size(quick);
    let started = Instant::now();
    let store = bench_store(s.races).await?;
    if store_only {
        println!("store only: {:.0} s", started.elapsed().as_secs_f64());
        return Ok(());
    }
    let pipeline = bench_pipeline(s.pipeline_days).await?;
    let replay = bench_replay(s.replay_days).await?;
    let idle = bench_idle_daemon(s.idle_secs).await?;
    let report = json!({
        "quick": quick,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "store": store,
        "pipeline": pipeline,
        "replay": replay,
        "idle_daemon": idle,
        "total_secs": started.elapsed().as_secs_f64(),
    });
    let path = std::env::var("PADDOCK_BENCH_JSON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-figures.json").to_string()
    });
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!(
        "figures written to {path} (total {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("PADDOCK_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let store_only = std::env::args().any(|a| a == "--store-only");
    // `PADDOCK_LOG=paddock::store=debug` shows each upserted group's rows and milliseconds.
    if std::env::var_os("PADDOCK_LOG").is_some() {
        paddock::logging::init(paddock::logging::LogFormat::Human);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(quick, store_only))
}

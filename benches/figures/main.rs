//! Every figure of issues 14 and 21 in one run: `cargo bench --bench figures`.
//!
//! - **Store throughput** on SQLite and PostgreSQL for a simulated year (13k races, 130k
//!   runners with their masters): a first load, an unchanged reload and a reload where 10 % of
//!   runners changed, each divided by a baseline of its own engine loading the same rows into
//!   the same constrained tables in the same run (`store.rs`, `baselines.rs`).
//! - **Pipeline**: a `paddock backfill` child process over 90 days against the simulator with
//!   100 ms latency and the real 2 requests/second limit (enforced by the simulator: a request
//!   faster than that gets a 429): requests against the computed minimum, achieved rate
//!   against the limit, 429s, wall time against requests ÷ limit, and its peak RSS.
//! - **Replay**: a simulated year fetched once with the archive on, then rebuilt from it.
//! - **Idle daemon**: the peak RSS of `paddock daemon` with every job disabled.
//! - **Audit**: `paddock audit` at 1.3 million runners on both backends (`audit.rs`).
//! - **Derived tables**: not measured here (`cargo bench --bench derive_scale` does); when
//!   `PADDOCK_BENCH_DERIVE_JSON` names the file that bench wrote, its figures are folded in.
//!
//! A full run writes `benches/results/figures-<today, UTC>.json` and regenerates the README's
//! Performance table from it (`readme_table.rs`; the suite's `figures_readme` test checks that
//! the table is the newest committed file's). Options: `--quick` (or `PADDOCK_BENCH_QUICK=1`):
//! a tenth of the data, no audit; `--only store,pipeline,replay,idle,audit` (`--store-only` =
//! `--only store`); `--write-readme`: only regenerate the table from the newest results file.
//! Quick and partial runs write `target/bench-figures.json` instead (or `PADDOCK_BENCH_JSON`).
//! `PADDOCK_LOG=paddock::store=debug` logs each upserted group's rows and milliseconds.
//! PostgreSQL: `PADDOCK_BENCH_DATABASE_URL`, else `TEST_DATABASE_URL`, else
//! `postgres://postgres@127.0.0.1:5432/postgres`; throwaway databases are created and dropped.

mod audit;
mod baselines;
mod pg;
mod processes;
mod readme_table;
mod replay;
mod store;
mod year;

use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const USER: &str = "bench";
const PASS: &str = "bench-secret";
const SECTIONS: [&str; 5] = ["store", "pipeline", "replay", "idle", "audit"];

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

fn rate(rows: u64, took: Duration) -> f64 {
    rows as f64 / took.as_secs_f64().max(1e-9)
}

/// The 1-, 5- and 15-minute load averages.
fn load_average() -> Json {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let loads: Vec<f64> = (text.split_whitespace().take(3))
        .filter_map(|v| v.parse().ok())
        .collect();
    json!(loads)
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The derived-table figures `derive_scale` wrote, when `PADDOCK_BENCH_DERIVE_JSON` names
/// an existing file.
fn derive_figures() -> anyhow::Result<Option<Json>> {
    let Some(path) = std::env::var_os("PADDOCK_BENCH_DERIVE_JSON") else {
        return Ok(None);
    };
    if !Path::new(&path).exists() {
        println!(
            "derived: no {} (run derive_scale with it set)",
            path.to_string_lossy()
        );
        return Ok(None);
    }
    let figures: Json = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    println!("derived: folded in from {}", path.to_string_lossy());
    Ok(Some(figures))
}

/// Regenerates the README's Performance table from the newest results file.
fn write_readme() -> anyhow::Result<()> {
    let newest = readme_table::newest_results(&repo_path("benches/results"))
        .ok_or_else(|| anyhow::anyhow!("no benches/results/figures-*.json yet"))?;
    let figures: Json = serde_json::from_str(&std::fs::read_to_string(&newest)?)?;
    let readme_path = repo_path("README.md");
    let readme = std::fs::read_to_string(&readme_path)?;
    let table = readme_table::render(&figures, &readme_table::file_name(&newest));
    let updated = readme_table::replace_table(&readme, &table)
        .ok_or_else(|| anyhow::anyhow!("README.md has no figures markers"))?;
    std::fs::write(&readme_path, updated)?;
    println!(
        "README.md's Performance table regenerated from {}",
        newest.display()
    );
    Ok(())
}

async fn run(quick: bool, only: BTreeSet<&str>) -> anyhow::Result<()> {
    let s = size(quick);
    let started = Instant::now();
    let mut report = json!({
        "date": chrono::Utc::now().date_naive().to_string(),
        "quick": quick,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "load_average_start": load_average(),
    });
    if only.contains("store") {
        report["store"] = store::bench_store(s.races).await?;
    }
    if only.contains("pipeline") {
        report["pipeline"] = processes::bench_pipeline(s.pipeline_days).await?;
    }
    if only.contains("replay") {
        report["replay"] = replay::bench_replay(s.replay_days).await?;
    }
    if only.contains("idle") {
        report["idle_daemon"] = processes::bench_idle_daemon(s.idle_secs).await?;
    }
    if only.contains("audit") {
        report["audit"] = audit::bench_audit().await?;
    }
    if let Some(derive) = derive_figures()? {
        report["derive"] = derive;
    }
    report["load_average_end"] = load_average();
    report["total_secs"] = json!(started.elapsed().as_secs_f64());
    let complete = !quick && only.len() == SECTIONS.len();
    let path = match std::env::var_os("PADDOCK_BENCH_JSON") {
        Some(path) => PathBuf::from(path),
        None if complete => repo_path(&format!(
            "benches/results/figures-{}.json",
            report["date"].as_str().unwrap_or("undated")
        )),
        None => repo_path("target/bench-figures.json"),
    };
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
    println!(
        "figures written to {} (total {:.0} s, load average {} → {})",
        path.display(),
        started.elapsed().as_secs_f64(),
        report["load_average_start"],
        report["load_average_end"]
    );
    if complete && path.starts_with(repo_path("benches/results")) {
        write_readme()?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--write-readme") {
        return write_readme();
    }
    let quick = args.iter().any(|a| a == "--quick")
        || std::env::var("PADDOCK_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut only: BTreeSet<&str> = SECTIONS.into_iter().collect();
    if quick {
        // The audit's fixture has one size, 1.3 million runners.
        only.remove("audit");
    }
    if args.iter().any(|a| a == "--store-only") {
        only = BTreeSet::from(["store"]);
    }
    if let Some(i) = args.iter().position(|a| a == "--only") {
        let list = args.get(i + 1).map(String::as_str).unwrap_or_default();
        only = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if let Some(unknown) = only.iter().find(|s| !SECTIONS.contains(s)) {
            anyhow::bail!(
                "unknown section {unknown:?} (choose from {})",
                SECTIONS.join(",")
            );
        }
    }
    // `PADDOCK_LOG=paddock::store=debug` shows each upserted group's rows and milliseconds.
    if std::env::var_os("PADDOCK_LOG").is_some() {
        paddock::logging::init(paddock::logging::LogFormat::Human);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(quick, only))
}

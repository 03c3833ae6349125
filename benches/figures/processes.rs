//! Figures measured on child processes: the pipeline (a `paddock backfill` against the
//! rate-limited simulator) with its peak RSS, and the idle daemon's peak RSS.

use chrono::Duration as Days;
use paddock::simulator::{Faults, SimConfig, SimServer};
use serde_json::{json, Value as Json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{PASS, USER};

/// The API's real limit.
const RATE_LIMIT: f64 = 2.0;

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

/// The release binary with the developer's Paddock environment cleared.
pub fn bare_paddock_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddock"));
    cmd.env_remove("PADDOCK_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("PADDOCK_API_BASE_URL")
        .env_remove("PADDOCK_API_RATE_LIMIT")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET")
        .env("RACING_API_USERNAME", USER)
        .env("RACING_API_PASSWORD", PASS)
        .env("PADDOCK_LOG", "warn");
    cmd
}

/// [`bare_paddock_command`] with `config`, printing nothing on standard output.
pub fn paddock_command(config: &Path) -> Command {
    let mut cmd = bare_paddock_command();
    cmd.arg("--config").arg(config).stdout(Stdio::null());
    cmd
}

pub fn write_config(dir: &Path, base_url: &str, rate: f64) -> anyhow::Result<std::path::PathBuf> {
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

pub async fn bench_pipeline(days: i64) -> anyhow::Result<Json> {
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

pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub async fn bench_idle_daemon(secs: u64) -> anyhow::Result<Json> {
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

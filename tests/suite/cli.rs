//! The `paddock` binary as a user runs it: configuration checks, exit statuses, help.

use crate::support::bin::paddock;
use crate::support::sim::start_simulator;
use paddock::simulator::SimConfig;

#[test]
fn check_config_with_a_misspelt_key_names_the_key_and_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paddock.toml");
    std::fs::write(
        &file,
        "[api]\nregions = [\"gb\"]\n\n[jobs.races_and_runners]\ncorn = \"0 6 * * *\"\n",
    )
    .unwrap();
    let out = paddock()
        .current_dir(dir.path())
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("corn"), "{stderr}");
    assert!(stderr.contains("line 5"), "{stderr}");
    assert!(stderr.contains("paddock.toml"), "{stderr}");
}

#[test]
fn check_config_on_the_shipped_example_prints_three_fire_times_per_job_and_masks_secrets() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/paddock.toml");
    let out = paddock()
        .args(["check-config", "--config", example])
        .env("RACING_API_USERNAME", "someone")
        .env("RACING_API_PASSWORD", "s3cret-pass")
        .env(
            "DATABASE_URL",
            "postgres://paddock:db-pass-123@localhost/paddock",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Three per schedule: one per job, plus races_and_runners' two extra schedules.
    assert_eq!(
        stdout.matches("next:").count(),
        (paddock::config::JobKind::ALL.len() + 2) * 3,
        "{stdout}"
    );
    assert!(!stdout.contains("s3cret-pass"), "{stdout}");
    assert!(!stdout.contains("db-pass-123"), "{stdout}");
    assert!(
        stdout.contains("postgres://paddock:***@localhost/paddock"),
        "{stdout}"
    );
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        vec!["--help"],
        vec!["migrate", "--help"],
        vec!["check-config", "--help"],
        vec!["status", "--help"],
        vec!["run", "--help"],
        vec!["import", "--help"],
        vec!["demo", "--help"],
        vec!["backfill", "--help"],
        vec!["replay", "--help"],
        vec!["archive", "stats", "--help"],
        vec!["simulate-api", "--help"],
        vec!["audit", "--help"],
    ] {
        let out = paddock().args(&sub).output().unwrap();
        assert!(out.status.success(), "{sub:?}");
        assert!(out.stdout.len() > 100, "{sub:?}");
    }
}

/// Runs the binary against an in-process simulator (a fresh SQLite file in `dir`).
fn run_against_simulator(
    base_url: &str,
    dir: &std::path::Path,
    password: &str,
    args: &[&str],
) -> std::process::Output {
    paddock()
        .current_dir(dir)
        .env("PADDOCK_API_BASE_URL", base_url)
        .env("PADDOCK_API_RATE_LIMIT", "50")
        .env("RACING_API_USERNAME", "cli-user")
        .env("RACING_API_PASSWORD", password)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn paddock_run_fetches_a_day_end_to_end_and_status_shows_the_run() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start_simulator(SimConfig::new(3, "cli-user", "cli-pass")));
    let dir = tempfile::tempdir().unwrap();
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(2)).to_string();
    let out = run_against_simulator(
        &server.base_url,
        dir.path(),
        "cli-pass",
        &["run", "races-and-runners", "--date", &yesterday],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ra_runners"), "{stdout}");
    assert!(stdout.contains("/racecards/pro"), "{stdout}");
    assert!(dir.path().join("paddock.db").exists());

    let status = run_against_simulator(&server.base_url, dir.path(), "cli-pass", &["status"]);
    let listing = String::from_utf8_lossy(&status.stdout);
    assert!(
        listing.contains("races_and_runners") && listing.contains("succeeded"),
        "{listing}"
    ); // The per-job view: the job's line shows its last run as manual and succeeded, and a
       // job that never ran says so.
    let job_line = listing
        .lines()
        .find(|l| l.starts_with("races_and_runners"))
        .unwrap_or_else(|| panic!("no per-job line: {listing}"));
    assert!(
        job_line.contains("manual") && job_line.contains("succeeded"),
        "{job_line}"
    );
    let never = listing
        .lines()
        .find(|l| l.starts_with("master_reference"))
        .unwrap_or_else(|| panic!("no per-job line: {listing}"));
    assert!(never.contains("never"), "{never}");
}

#[test]
fn paddock_run_with_wrong_credentials_fails_naming_the_variables_without_the_password() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start_simulator(SimConfig::new(3, "cli-user", "cli-pass")));
    let dir = tempfile::tempdir().unwrap();
    let out = run_against_simulator(
        &server.base_url,
        dir.path(),
        "not-the-password",
        &["run", "master-reference"],
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("RACING_API_USERNAME") && all.contains("RACING_API_PASSWORD"),
        "{all}"
    );
    assert!(!all.contains("not-the-password"), "{all}");
}

#[test]
fn paddock_backfill_dry_run_prints_the_plan_without_a_request() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start_simulator(SimConfig::new(3, "cli-user", "cli-pass")));
    let dir = tempfile::tempdir().unwrap();
    let out = run_against_simulator(
        &server.base_url,
        dir.path(),
        "cli-pass",
        &[
            "backfill",
            "--from",
            "2023-01-01",
            "--to",
            "2023-01-31",
            "--dry-run",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Racecards only from 2023-01-23: 9 days fetched, 22 skipped with a note.
    assert!(
        stdout.contains("/racecards/pro                      9"),
        "{stdout}"
    );
    assert!(
        stdout.contains("racecards skipped for 22 dates"),
        "{stdout}"
    );
    assert!(stdout.contains("at 50 requests/s"), "{stdout}");
    assert_eq!(server.stats().total, 0);
}

#[test]
fn paddock_backfill_archives_every_response_and_replay_rebuilds_without_a_request() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start_simulator(SimConfig::new(3, "cli-user", "cli-pass")));
    let dir = tempfile::tempdir().unwrap();
    let day = (chrono::Utc::now().date_naive() - chrono::Duration::days(3)).to_string();
    let args = [
        "backfill",
        "--from",
        &day,
        "--to",
        &day,
        "--profile-budget",
        "0",
    ];
    let out = run_against_simulator(&server.base_url, dir.path(), "cli-pass", &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let requests = server.stats().total;
    assert!(
        stdout.contains(&format!("{requests} responses archived")),
        "{stdout}"
    );

    let stats = run_against_simulator(
        &server.base_url,
        dir.path(),
        "cli-pass",
        &["archive", "stats"],
    );
    let listing = String::from_utf8_lossy(&stats.stdout);
    assert!(
        listing.contains(&format!("responses      {requests}")),
        "{listing}"
    );

    let replay = run_against_simulator(&server.base_url, dir.path(), "cli-pass", &["replay"]);
    let text = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(replay.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("{requests} archived responses read")),
        "{text}"
    );
    assert_eq!(server.stats().total, requests, "replay asked the API");

    // The same command again requests nothing: every page is checkpointed.
    let again = run_against_simulator(&server.base_url, dir.path(), "cli-pass", &args);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(server.stats().total, requests);
}

#[test]
fn a_command_that_needs_the_api_without_credentials_says_so_and_sends_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start_simulator(SimConfig::new(3, "cli-user", "cli-pass")));
    let dir = tempfile::tempdir().unwrap();
    for (args, missing) in [
        (&["run", "master-reference"][..], "RACING_API_USERNAME"),
        (
            &["backfill", "--from", "2025-06-01", "--to", "2025-06-02"][..],
            "RACING_API_USERNAME",
        ),
    ] {
        let out = paddock()
            .current_dir(dir.path())
            .env("PADDOCK_API_BASE_URL", &server.base_url)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no Racing API credentials") && stderr.contains(missing),
            "{args:?}: {stderr}"
        );
    }
    // Only the password set: the message names the password.
    let out = paddock()
        .current_dir(dir.path())
        .env("PADDOCK_API_BASE_URL", &server.base_url)
        .env("RACING_API_USERNAME", "cli-user")
        .args(["run", "master-reference"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RACING_API_PASSWORD"), "{stderr}");
    assert_eq!(
        server.stats().by_endpoint.values().sum::<u64>(),
        0,
        "no request may reach the API without credentials"
    );
    // The jobs without API requests still run without them.
    let out = paddock()
        .current_dir(dir.path())
        .args(["run", "derive-full"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

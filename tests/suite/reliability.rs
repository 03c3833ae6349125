//! The fast reliability checks (issue 14): a fault storm over a few days on both backends,
//! secrets at trace level, and hostile configuration and input given to the binary. The long
//! runs (more rounds, `kill -9`, longer property tests) are in `scripts/soak.sh`.

use crate::support;
use crate::support::bin::run_paddock;
use crate::support::sim::{
    api_client, client_config, quick_backoff, sim_config, sim_today, start_simulator,
};
use crate::support::wait::wait_until;
use chrono::NaiveDate;
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions};
use paddock::client::{ClientConfig, RacingApiClient};
use paddock::simulator::{Faults, SimConfig, SimServer};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const USER: &str = "storm-user";
const API_PASSWORD: &str = "api-pw-Zq81x";
const DB_PASSWORD: &str = "db-pw-Kv27m";

/// A simulator of seed 14 with `faults`, for [`USER`] with [`API_PASSWORD`] (a password these
/// tests look for in output and files).
async fn reliability_simulator(faults: Faults) -> SimServer {
    start_simulator(SimConfig {
        faults,
        ..sim_config(14, USER, API_PASSWORD)
    })
    .await
}

/// A client for [`reliability_simulator`] trying each request `max_attempts` times, with a 2 s
/// timeout (shorter than the hangs) and quick backoffs.
fn reliability_client(server: &SimServer, max_attempts: u32) -> RacingApiClient {
    api_client(ClientConfig {
        timeout: Duration::from_secs(2),
        max_attempts,
        ..quick_backoff(client_config(server, USER, API_PASSWORD))
    })
}

fn options(from: NaiveDate, to: NaiveDate) -> BackfillOptions {
    BackfillOptions {
        from,
        to,
        parts: [Part::Results, Part::Racecards].into_iter().collect(),
        profile_budget: 0,
        regions: vec!["gb".into(), "ire".into()],
        today: sim_today(),
        rate_per_second: 1000.0,
        distance_bands: Default::default(),
        odds: Default::default(),
    }
}

backend_test!(
    a_fault_storm_ends_stored_or_failed_with_a_reason_within_bounded_retries_and_a_rerun_completes_it,
    |db| async move {
        let db = db;
        let storm = Faults {
            rate_limit_every: Some(6),
            retry_after_secs: 1,
            server_error_rate: 0.25,
            hang_every: Some(9),
            hang_ms: 4_000,
            truncate_every: Some(5),
            extra_fields: true,
            late_result_requests: Some(1),
            ..Faults::default()
        };
        let (from, to) = (
            NaiveDate::from_ymd_opt(2025, 5, 1).unwrap(),
            NaiveDate::from_ymd_opt(2025, 5, 4).unwrap(),
        );
        let stormy = reliability_simulator(storm).await;
        let attempts = 3;
        let first = run_backfill(&reliability_client(&stormy, attempts), &db.store, &options(from, to), Reporter::Silent)
            .await
            .unwrap();
        // Stored, or failed with its reason.
        assert!(
            first.exit_code() == 0 || first.error.as_deref().is_some_and(|e| !e.is_empty()),
            "a failed run must say why: {first:?}"
        );
        // Retries stay bounded: at most `attempts` tries per page, plus the refetch of the
        // range whose total changed.
        let expected: u64 = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|d| stormy.data().race_count(d) as u64)
            .sum();
        let days = 4;
        let pages = 2 * (expected.div_ceil(50) + 1) + days;
        assert!(
            stormy.stats().total <= attempts as u64 * pages,
            "{} requests for at most {pages} pages",
            stormy.stats().total
        );
        stormy.shutdown().await;

        // A rerun against a calm API completes what failed, with nothing half-written.
        let calm = reliability_simulator(Faults::default()).await;
        let rerun = run_backfill(&reliability_client(&calm, 5), &db.store, &options(from, to), Reporter::Silent)
            .await
            .unwrap();
        assert_eq!(rerun.exit_code(), 0, "{:?}", rerun.error);
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_mst_races WHERE has_result").await as u64,
            expected
        );
        let partial = db
            .scalar_i64(
                "SELECT COUNT(*) FROM ra_mst_races r WHERE r.has_result \
                 AND NOT EXISTS (SELECT 1 FROM ra_runners x WHERE x.race_id = r.id)",
            )
            .await;
        assert_eq!(partial, 0, "a race stored without its runners");
    }
);

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One clear error, a non-zero exit and no panic.
fn assert_clear_failure(out: &Output, what: &str) {
    let all = text(out);
    assert!(!out.status.success(), "{what}: exit 0\n{all}");
    assert_ne!(out.status.code(), None, "{what}: killed by a signal\n{all}");
    assert!(!all.contains("panicked"), "{what}: panic\n{all}");
    let lower = all.to_lowercase();
    assert!(
        lower.contains("error") || lower.contains("failed"),
        "{what}: no error message\n{all}"
    );
}

fn bytes_of_files_starting_with(path: &Path) -> Vec<u8> {
    let dir = path.parent().unwrap();
    let stem = path.file_name().unwrap().to_string_lossy().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with(&stem) {
            out.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn at_trace_level_neither_password_appears_in_output_ledger_or_rejects() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(reliability_simulator(Faults {
        malformed_values: true,
        rate_limit_every: Some(4),
        ..Faults::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("trace.db");
    let db_url = format!("sqlite://{}", db.display());
    let out = run_paddock(
        &[
            "backfill",
            "--from",
            "2025-05-01",
            "--to",
            "2025-05-02",
            "--only",
            "results,racecards",
        ],
        &[
            ("PADDOCK_API_BASE_URL", &server.base_url),
            ("PADDOCK_API_RATE_LIMIT", "100"),
            ("RACING_API_USERNAME", USER),
            ("RACING_API_PASSWORD", API_PASSWORD),
            ("PADDOCK_DATABASE_URL", &db_url),
            ("PADDOCK_LOG", "trace"),
        ],
    );
    let all = text(&out);
    assert!(
        all.len() > 1_000,
        "trace logging produced little output:\n{all}"
    );
    let basic = base64_of(&format!("{USER}:{API_PASSWORD}"));
    for secret in [API_PASSWORD, basic.as_str()] {
        assert!(!all.contains(secret), "secret in the output");
    }
    let stored = bytes_of_files_starting_with(&db);
    assert!(contains(&stored, "paddock_runs") || !stored.is_empty());
    for secret in [API_PASSWORD, basic.as_str()] {
        assert!(
            !contains(&stored, secret),
            "secret in the database (ledger or rejects)"
        );
    }

    // A database password, at trace level, on a URL whose server is not PostgreSQL.
    let port = server.addr.port();
    let pg_url = format!("postgres://paddock:{DB_PASSWORD}@127.0.0.1:{port}/paddock");
    let out = run_paddock(
        &[
            "backfill",
            "--from",
            "2025-05-01",
            "--to",
            "2025-05-01",
            "--only",
            "results",
        ],
        &[
            ("PADDOCK_API_BASE_URL", &server.base_url),
            ("RACING_API_USERNAME", USER),
            ("RACING_API_PASSWORD", API_PASSWORD),
            ("PADDOCK_DATABASE_URL", &pg_url),
            ("PADDOCK_LOG", "trace"),
        ],
    );
    assert_clear_failure(&out, "database URL on a non-PostgreSQL port");
    let all = text(&out);
    assert!(
        !all.contains(DB_PASSWORD),
        "database password in the output:\n{all}"
    );
    assert!(!all.contains(API_PASSWORD), "API password in the output");
}

/// Standard base64 (the Basic auth header's encoding), to look for it in the output.
fn base64_of(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, x)| n | (u32::from(*x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn hostile_config_and_input_give_one_clear_error_a_nonzero_exit_and_no_partial_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hostile.db");
    let db_url = format!("sqlite://{}", db.display());
    let env = [
        ("PADDOCK_DATABASE_URL", db_url.as_str()),
        ("PADDOCK_LOG", "info"),
    ];

    // A config file that is binary garbage, and one that cannot be read (a directory).
    let binary_config = dir.path().join("binary.toml");
    std::fs::write(
        &binary_config,
        (0..4096u32)
            .map(|i| (i * 131 % 256) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let out = run_paddock(
        &[
            "--config",
            binary_config.to_str().unwrap(),
            "import",
            "x.json",
        ],
        &env,
    );
    assert_clear_failure(&out, "binary config");
    let unreadable = dir.path().join("a-directory.toml");
    std::fs::create_dir(&unreadable).unwrap();
    let out = run_paddock(
        &["--config", unreadable.to_str().unwrap(), "import", "x.json"],
        &env,
    );
    assert_clear_failure(&out, "unreadable config");

    // A binary import file and a huge one (32 MB of a never-closed JSON string).
    let binary = dir.path().join("binary.json");
    std::fs::write(
        &binary,
        (0..1_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let out = run_paddock(&["import", binary.to_str().unwrap()], &env);
    assert_clear_failure(&out, "binary import file");
    let huge = dir.path().join("huge.json");
    let mut body = b"{\"results\": [{\"race_id\": \"".to_vec();
    body.resize(32 * 1024 * 1024, b'x');
    std::fs::write(&huge, body).unwrap();
    let out = run_paddock(&["import", huge.to_str().unwrap()], &env);
    assert_clear_failure(&out, "huge import file");

    // Nothing was written to any ra_* table.
    if db.exists() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let store = paddock::store::connect(&db_url).await.unwrap();
            let paddock::store::AnyStore::Sqlite(s) = &store else {
                unreachable!()
            };
            for t in fetchers::registry::TABLES
                .iter()
                .filter(|t| t.name.starts_with("ra_"))
            {
                let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", t.name))
                    .fetch_one(s.pool_for_tests())
                    .await
                    .unwrap_or(0);
                assert_eq!(n, 0, "{} has rows after hostile input", t.name);
            }
        });
    }
}

#[tokio::test]
async fn a_sqlite_file_held_by_a_long_reader_and_a_writer_lock_delays_the_backfill_but_loses_nothing(
) {
    use sqlx::Connection;
    let db = support::TestDb::new(support::Backend::Sqlite).await;
    let server = reliability_simulator(Faults::default()).await;
    let mut reader = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ra_mst_races")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    // Another writer holds the write lock for a moment while the backfill starts.
    let mut writer = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut writer)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        sqlx::query("COMMIT").execute(&mut writer).await.unwrap();
    });
    let day = NaiveDate::from_ymd_opt(2025, 5, 2).unwrap();
    let result = run_backfill(
        &reliability_client(&server, 3),
        &db.store,
        &options(day, day),
        Reporter::Silent,
    )
    .await
    .unwrap();
    release.await.unwrap();
    assert_eq!(result.exit_code(), 0, "{:?}", result.error);
    assert_eq!(
        db.scalar_i64("SELECT COUNT(*) FROM ra_mst_races WHERE has_result")
            .await as u64,
        server.data().race_count(day) as u64
    );
    sqlx::query("COMMIT").execute(&mut reader).await.unwrap();
}

// ---- a concurrent writer (PostgreSQL: SQLite takes its write lock when a unit begins, so no
// other writer can come between a unit's reads and writes) ----

/// A session on the test database other than the store's pool.
async fn other_writer(db: &support::TestDb) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(&db.url()).await.unwrap()
}

/// Waits until one of the store's sessions (application `paddock`) waits for a lock.
async fn wait_for_store_to_wait(db: &support::TestDb) {
    wait_until(
        "the unit to wait for the other writer",
        String::new,
        || async {
            let waiting = db
                .scalar_i64(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'paddock' AND wait_event_type = 'Lock'",
                )
                .await;
            (waiting > 0).then_some(())
        },
    )
    .await;
}

fn result_horse(id: &str) -> fetchers::rows::Row {
    fetchers::rows::Row::new("ra_mst_horses", fetchers::registry::Source::Result).set("id", id)
}

async fn horse_columns(db: &support::TestDb, id: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for column in ["name", "name_with_suffix", "sex_code", "region", "colour"] {
        out.push(
            db.scalar_text(&format!(
                "SELECT CAST({column} AS TEXT) FROM ra_mst_horses WHERE id = '{id}'"
            ))
            .await,
        );
    }
    out
}

#[tokio::test]
async fn a_row_another_writer_inserts_while_the_unit_runs_is_merged_by_the_ownership_rules_and_nothing_is_lost(
) {
    use fetchers::registry::Source;
    use fetchers::rows::{Row, UnitOfWork};
    use fetchers::store::{ApplyMode, RunTrigger, Store};
    let db = support::TestDb::new(support::Backend::Postgres).await;
    let run = db
        .start_run("test", RunTrigger::Manual, serde_json::json!({}))
        .await
        .unwrap();
    // The other writer (a racecard load, say) inserts hrs_1 and has not committed yet.
    let mut other = other_writer(&db).await;
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query(
        "INSERT INTO ra_mst_horses (id, name, sex_code, colour, created_at, updated_at) \
         VALUES ('hrs_1', 'Card Name', 'G', 'bay', now(), now())",
    )
    .execute(&mut other)
    .await
    .unwrap();

    // A results unit writes the same horse (results fill the bare name, sex code and region
    // and own the suffixed name), a new one and their runners.
    let unit = UnitOfWork {
        rows: vec![
            Row::new("ra_mst_courses", Source::Racecard)
                .set("id", "crs_1")
                .set("name", "Course"),
            Row::new("ra_mst_races", Source::Racecard)
                .set("id", "rac_1")
                .set("course_id", "crs_1")
                .set("race_date", NaiveDate::from_ymd_opt(2025, 5, 1).unwrap()),
            result_horse("hrs_1")
                .set("name", "Result Name")
                .set("name_with_suffix", "Result Name (IRE)")
                .set("sex_code", "C")
                .set("region", "IRE"),
            result_horse("hrs_2")
                .set("name", "Second")
                .set("name_with_suffix", "Second (GB)"),
            Row::new("ra_runners", Source::Result)
                .set("race_id", "rac_1")
                .set("horse_id", "hrs_1"),
            Row::new("ra_runners", Source::Result)
                .set("race_id", "rac_1")
                .set("horse_id", "hrs_2"),
        ],
        ..UnitOfWork::default()
    };
    let store = db.store.clone();
    let applying = tokio::spawn(async move { store.apply(run, &unit, ApplyMode::Commit).await });
    // The unit meets the uncommitted row and waits; the other writer commits.
    wait_for_store_to_wait(&db).await;
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();

    let counts = applying
        .await
        .unwrap()
        .expect("the conflict is absorbed, not an error");
    let horses = counts.table("ra_mst_horses");
    assert_eq!((horses.inserted, horses.updated), (1, 1), "{horses:?}");
    // Both writers' values kept as the ownership rules say: the first writer's bare name, sex
    // code and colour stay; the result adds its suffixed name and fills the missing region.
    assert_eq!(
        horse_columns(&db, "hrs_1").await,
        [
            Some("Card Name".into()),
            Some("Result Name (IRE)".into()),
            Some("G".into()),
            Some("IRE".into()),
            Some("bay".into())
        ]
    );
    assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await, 2);
    assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_runners").await, 2);
}

#[tokio::test]
async fn a_required_value_another_writer_committed_during_the_statement_fails_the_unit_once_and_the_retry_stores_it(
) {
    use fetchers::rows::UnitOfWork;
    use fetchers::store::{ApplyMode, RunTrigger, Store};
    let db = support::TestDb::new(support::Backend::Postgres).await;
    let run = db
        .start_run("test", RunTrigger::Manual, serde_json::json!({}))
        .await
        .unwrap();
    // hrs_a is stored; writer A updates it and holds its transaction (and the row lock) open.
    db.execute(
        "INSERT INTO ra_mst_horses (id, name, created_at, updated_at) \
         VALUES ('hrs_a', 'Alpha', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    .await;
    let mut a = other_writer(&db).await;
    sqlx::query("BEGIN").execute(&mut a).await.unwrap();
    sqlx::query("UPDATE ra_mst_horses SET colour = 'bay' WHERE id = 'hrs_a'")
        .execute(&mut a)
        .await
        .unwrap();

    // Results for hrs_a and hrs_b; hrs_b brings no bare name (NOT NULL), so the statement
    // takes the stored one, read in its snapshot. Whatever the join's plan, hrs_a (stored)
    // comes before hrs_b (not stored).
    let unit = UnitOfWork {
        rows: vec![
            result_horse("hrs_a")
                .set("name", "Alpha")
                .set("name_with_suffix", "Alpha (IRE)"),
            result_horse("hrs_b").set("name_with_suffix", "Bravo (GB)"),
        ],
        ..UnitOfWork::default()
    };
    let store = db.store.clone();
    let applying = tokio::spawn(async move { store.apply(run, &unit, ApplyMode::Commit).await });
    // The statement waits for A's lock on hrs_a. Meanwhile writer B commits hrs_b, after the
    // statement's snapshot; A commits; the statement goes on and proposes hrs_b without a
    // name: NOT NULL fails.
    wait_for_store_to_wait(&db).await;
    let mut b = other_writer(&db).await;
    sqlx::query(
        "INSERT INTO ra_mst_horses (id, name, created_at, updated_at) \
         VALUES ('hrs_b', 'Bravo', now(), now())",
    )
    .execute(&mut b)
    .await
    .unwrap();
    sqlx::query("COMMIT").execute(&mut a).await.unwrap();

    // The unit is tried again, sees hrs_b, and stores both; nothing is lost.
    let counts = applying
        .await
        .unwrap()
        .expect("the unit is tried again after the race");
    let horses = counts.table("ra_mst_horses");
    assert_eq!((horses.inserted, horses.updated), (0, 2), "{horses:?}");
    let hrs_a = horse_columns(&db, "hrs_a").await;
    assert_eq!(
        [&hrs_a[0], &hrs_a[1], &hrs_a[4]],
        [
            &Some("Alpha".into()),
            &Some("Alpha (IRE)".into()),
            &Some("bay".into())
        ]
    );
    assert_eq!(
        horse_columns(&db, "hrs_b").await[..2],
        [Some("Bravo".into()), Some("Bravo (GB)".into())]
    );
}

//! TLS to PostgreSQL, against the harness's TLS cluster (TCP over TLS only, generated CA and
//! certificates: `support::tls_cluster`): `require` and `verify-ca` through the URL and
//! through `[database]`/the environment (which override the URL's), every Paddock session
//! seen encrypted in `pg_stat_ssl`, a certificate that does not verify failing at once (the
//! daemon does not retry it), `disable` refused by the server, a client certificate, and no
//! password in any message.

use crate::support::bin::paddock;
use crate::support::jobs::config_from_toml;
use crate::support::sim::{client_for, sim_today, simulator, start_simulator};
use crate::support::tls_cluster::{fresh_tls_database, tls_cluster, CERT_USER};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunStatus, RunTrigger};
use paddock::run::{self, JobRequest, RunContext};
use paddock::simulator::{Faults, SimConfig};
use paddock::store::locks::JobLocks;
use sqlx::Connection as _;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// The simulator's seed in these tests.
const SEED: u64 = 23;
/// A password in the URLs of failing connections, which no message may show.
const PASSWORD: &str = "s3cret-tls-pw";

/// Runs the binary (away from the checkout's config file) with `args` and `env`, for at most a
/// minute (a connection retried for its window would hang: the test fails instead).
fn run_paddock(args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let started = Instant::now();
    let mut child = paddock()
        .current_dir(dir.path())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("paddock {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = Output {
        status: child.wait().unwrap(),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    (output, started.elapsed())
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// One number from the TLS cluster's database `database`, asked over its Unix socket.
async fn admin_count(database: &str, sql: &str) -> i64 {
    let mut admin = sqlx::PgConnection::connect(&tls_cluster().admin_url(database))
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut admin).await.unwrap();
    let _ = admin.close().await;
    n
}

#[test]
fn require_and_verify_ca_in_the_url_migrate_and_run_a_day_over_tls() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start_simulator(SimConfig::new(
        SEED, "tls-user", "tls-pass",
    )));
    let cluster = tls_cluster();
    let day = (chrono::Utc::now().date_naive() - chrono::Duration::days(2)).to_string();
    let api_env = [
        ("PADDOCK_API_BASE_URL", server.base_url.as_str()),
        ("PADDOCK_API_RATE_LIMIT", "50"),
        ("RACING_API_USERNAME", "tls-user"),
        ("RACING_API_PASSWORD", "tls-pass"),
    ];
    let verify_ca = format!(
        "sslmode=verify-ca&sslrootcert={}",
        cluster.ca_cert().display()
    );
    for query in ["sslmode=require", verify_ca.as_str()] {
        let database = runtime.block_on(fresh_tls_database("postgres"));
        let url = format!("{}?{query}", cluster.url("postgres", &database));
        let (migrated, _) = run_paddock(&["--database-url", &url, "migrate"], &[]);
        assert!(migrated.status.success(), "{query}: {}", text(&migrated));
        let run_args = [
            "--database-url",
            &url,
            "run",
            "races-and-runners",
            "--date",
            &day,
        ];
        let (ran, _) = run_paddock(&run_args, &api_env);
        assert!(ran.status.success(), "{query}: {}", text(&ran));
        let runners = runtime.block_on(admin_count(&database, "SELECT count(*) FROM ra_runners"));
        assert!(runners > 0, "{query}: no runners stored");
    }
}

#[tokio::test]
async fn every_session_of_a_store_and_its_job_lock_is_encrypted_as_the_settings_say() {
    let cluster = tls_cluster();
    let verify_ca = format!(
        "sslmode = \"verify-ca\"\nsslrootcert = \"{}\"\n",
        cluster.ca_cert().display()
    );
    for settings in ["sslmode = \"require\"\n", verify_ca.as_str()] {
        let database = fresh_tls_database("postgres").await;
        // The URL says `disable`, which this server refuses: `[database]` overrides it.
        let url = format!("{}?sslmode=disable", cluster.url("postgres", &database));
        let config = config_from_toml(&format!("[database]\nurl = \"{url}\"\n{settings}"));
        let store = paddock::open_store(&config).await.unwrap();
        let locks = JobLocks::for_database(&url, &paddock::store_options(&config)).unwrap();
        assert!(locks.try_hold("races_and_runners").await.unwrap());
        run_a_day(&config, &store).await;

        let sessions = format!(
            "FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid \
             WHERE a.datname = '{database}' AND a.application_name LIKE 'paddock%'"
        );
        let open = admin_count(&database, &format!("SELECT count(*) {sessions}")).await;
        let plain_sql = format!("SELECT count(*) {sessions} AND NOT s.ssl");
        let plain = admin_count(&database, &plain_sql).await;
        let lock_session = format!(
            "SELECT count(*) {sessions} AND s.ssl AND a.pid IN \
             (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
        );
        let encrypted_lock_session = admin_count(&database, &lock_session).await;
        assert!(
            open >= 2,
            "{settings}: the pool and the lock session: {open}"
        );
        assert_eq!(
            plain, 0,
            "{settings}: {plain} of {open} sessions without TLS"
        );
        assert_eq!(encrypted_lock_session, 1, "{settings}: the lock session");
        locks.release_all().await;
        store.close().await;
    }
}

/// A committed races-and-runners run of one past day into `store`, from the simulator.
async fn run_a_day(config: &paddock::config::Config, store: &paddock::store::AnyStore) {
    let server = simulator(SEED, Faults::default()).await;
    let day = sim_today() - chrono::Duration::days(3);
    let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(day, day, sim_today()));
    let context = RunContext::new(RunTrigger::Manual, ApplyMode::Commit);
    let result = run::run_job(config, &client_for(&server), store, &request, &context)
        .await
        .unwrap();
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
    assert!(result.ledger_counts.written() > 0, "nothing stored");
}

#[test]
fn a_certificate_from_another_ca_fails_at_once_naming_tls_and_is_not_retried() {
    let cluster = tls_cluster();
    let url = format!(
        "postgres://postgres:{PASSWORD}@localhost:{}/postgres?sslmode=require",
        cluster.port
    );
    let other_ca = cluster.other_ca_cert().display().to_string();
    // The environment overrides the URL's `require` (which would connect).
    let env = [
        ("PADDOCK_DATABASE_SSLMODE", "verify-ca"),
        ("PADDOCK_DATABASE_SSLROOTCERT", other_ca.as_str()),
        ("PADDOCK_DATABASE_CONNECT_TIMEOUT_SECS", "30"),
        ("PADDOCK_DATABASE_CONNECT_RETRY_SECS", "600"),
        ("RACING_API_USERNAME", "user"),
        ("RACING_API_PASSWORD", "api-pw"),
    ];
    for command in ["migrate", "daemon"] {
        let args = ["--database-url", &url, "--log-format", "human", command];
        let (output, took) = run_paddock(&args, &env);
        let shown = text(&output);
        assert!(!output.status.success(), "{command}: {shown}");
        assert!(shown.contains("TLS failed"), "{command}: {shown}");
        assert!(
            shown.contains("not signed by a trusted CA"),
            "{command}: {shown}"
        );
        assert!(!shown.contains("retrying"), "{command}: {shown}");
        assert!(!shown.contains(PASSWORD), "{command}: {shown}");
        // Not waited out: the connect timeout (30 s) never ran down.
        assert!(took < Duration::from_secs(30), "{command} took {took:?}");
    }
}

#[test]
fn disable_against_a_server_that_requires_tls_is_refused_naming_pg_hba() {
    let cluster = tls_cluster();
    let url = format!(
        "postgres://postgres:{PASSWORD}@localhost:{}/postgres?sslmode=disable",
        cluster.port
    );
    let (output, _) = run_paddock(&["--database-url", &url, "status"], &[]);
    let shown = text(&output);
    assert!(!output.status.success(), "{shown}");
    assert!(
        shown.contains("the server refused a connection without TLS"),
        "{shown}"
    );
    assert!(shown.contains("pg_hba.conf"), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
}

#[tokio::test]
async fn a_client_certificate_logs_its_role_in_through_the_url_or_the_settings() {
    let cluster = tls_cluster();
    let database = fresh_tls_database(CERT_USER).await;
    let base = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        cluster.url(CERT_USER, &database),
        cluster.ca_cert().display()
    );
    let in_url = format!(
        "{base}&sslcert={}&sslkey={}",
        cluster.client_cert().display(),
        cluster.client_key().display()
    );
    let mut options = paddock::store::StoreOptions::default();
    let whoami = "SELECT current_user || ' ' || ssl::text FROM pg_stat_ssl \
                  WHERE pid = pg_backend_pid()";
    let store = paddock::store::connect_with(&in_url, &options)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let rows = store.text_rows(whoami).await.unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("paddock_cert true"));
    store.close().await;

    options.tls.sslcert = Some(cluster.client_cert());
    options.tls.sslkey = Some(cluster.client_key());
    let store = paddock::store::connect_with(&base, &options).await.unwrap();
    let rows = store.text_rows(whoami).await.unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("paddock_cert true"));
    store.close().await;

    // Without the certificate the server refuses the role.
    let refused = paddock::store::connect_with(&base, &Default::default())
        .await
        .unwrap_err();
    let message = format!("{refused:#}");
    assert!(message.contains("authentication failed"), "{message}");
}

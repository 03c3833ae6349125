//! Connections that say what happened (refused, not PostgreSQL, authentication), the session
//! settings every PostgreSQL connection carries (`application_name`, `statement_timeout`,
//! `lock_timeout` from `[database]`), the daemon's retry at start, and the reporting commands
//! that never migrate or write.

use paddock::config::{Config, Env, Overrides};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The binary, isolated from the developer's environment, away from the checkout's
/// `config/paddock.toml`.
fn paddock() -> Command {
    let mut cmd = crate::support::bin::paddock();
    cmd.current_dir(std::env::temp_dir());
    cmd
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `paddock status` against `url`: its output and how long it took.
fn status_at(url: &str, extra_env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let output = paddock()
        .args(["--database-url", url, "status"])
        .envs(extra_env.iter().copied())
        .output()
        .expect("run paddock");
    (output, started.elapsed())
}

#[test]
fn a_closed_port_is_named_connection_refused_at_once() {
    let (output, took) = status_at("postgres://paddock:s3cret-pw@127.0.0.1:1/racing", &[]);
    let shown = text(&output);
    assert!(!output.status.success());
    assert!(shown.contains("connection refused"), "{shown}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {shown}");
}

#[test]
fn a_server_that_is_not_postgresql_is_named_within_seconds() {
    // Redis runs on this machine at 6379; anything listening that is not PostgreSQL will do,
    // so stand up a silent TCP listener instead when nothing is there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    let port = listener.local_addr().unwrap().port();
    let url = format!("postgres://paddock:s3cret-pw@127.0.0.1:{port}/racing");
    let (output, took) = status_at(&url, &[("PADDOCK_DATABASE_CONNECT_TIMEOUT_SECS", "2")]);
    let shown = text(&output);
    assert!(!output.status.success());
    assert!(shown.contains("not a PostgreSQL server"), "{shown}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(took < Duration::from_secs(6), "took {took:?}: {shown}");
    drop(listener);
}

#[test]
fn redis_is_not_a_postgresql_server() {
    if std::net::TcpStream::connect("127.0.0.1:6379").is_err() {
        // The silent listener above covers the same path where no Redis runs.
        return;
    }
    let url = "postgres://paddock:s3cret-pw@127.0.0.1:6379/racing";
    let (output, took) = status_at(url, &[("PADDOCK_DATABASE_CONNECT_TIMEOUT_SECS", "2")]);
    let shown = text(&output);
    assert!(shown.contains("not a PostgreSQL server"), "{shown}");
    assert!(took < Duration::from_secs(6), "took {took:?}: {shown}");
}

#[tokio::test]
async fn an_unknown_user_is_authentication_failed_without_the_password() {
    let database = crate::support::fresh_postgres_database().await;
    let mut url = url::Url::parse(&database.url).unwrap();
    url.set_username("no_such_role").unwrap();
    url.set_password(Some("s3cret-pw")).unwrap();
    let (output, took) = status_at(url.as_str(), &[]);
    let shown = text(&output);
    assert!(!output.status.success());
    assert!(shown.contains("authentication failed"), "{shown}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {shown}");
}

#[test]
fn the_daemon_retries_a_refused_connection_for_its_window_then_names_the_cause() {
    let started = Instant::now();
    let output = paddock()
        .args([
            "--database-url",
            "postgres://paddock:s3cret-pw@127.0.0.1:1/racing",
            "--log-format",
            "human",
            "daemon",
        ])
        .env("PADDOCK_DATABASE_CONNECT_RETRY_SECS", "3")
        .env("RACING_API_USERNAME", "user")
        .env("RACING_API_PASSWORD", "api-pw")
        .output()
        .expect("run paddock daemon");
    let took = started.elapsed();
    let shown = text(&output);
    assert!(!output.status.success(), "{shown}");
    assert!(shown.contains("retrying"), "{shown}");
    assert!(shown.contains("connection refused"), "{shown}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(15),
        "took {took:?}"
    );
}

#[test]
fn reading_commands_never_create_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let url = format!("sqlite://{}", path.display());
    for args in [
        vec!["status"],
        vec!["query", "jockey", "j1"],
        vec!["tables", "status"],
    ] {
        let output = paddock()
            .args(["--database-url", &url])
            .args(&args)
            .output()
            .unwrap();
        let shown = text(&output);
        assert!(!output.status.success(), "{args:?}: {shown}");
        assert!(shown.contains("paddock migrate"), "{args:?}: {shown}");
        assert!(!path.exists(), "{args:?} created {}", path.display());
    }
}

#[tokio::test]
async fn reading_commands_never_migrate_postgresql() {
    let database = crate::support::fresh_postgres_database().await;
    for args in [vec!["status"], vec!["query", "jockey", "j1"], vec!["audit"]] {
        let output = paddock()
            .args(["--database-url", &database.url])
            .args(&args)
            .output()
            .unwrap();
        let _ = text(&output);
    }
    let store = paddock::store::connect(&database.url).await.unwrap();
    assert!(!store.table_exists("_sqlx_migrations").await.unwrap());
    assert!(!store.table_exists("paddock_runs").await.unwrap());
}

#[tokio::test]
async fn reporting_commands_read_at_read_url_and_writes_stay_on_the_database() {
    let writer = crate::support::fresh_postgres_database().await;
    let reader = crate::support::fresh_postgres_database().await;
    // The reader is migrated; the writer is not: status reads the reader only.
    paddock::store::connect(&reader.url)
        .await
        .unwrap()
        .migrate()
        .await
        .unwrap();
    let output = paddock()
        .args(["--database-url", &writer.url, "status"])
        .env("PADDOCK_READ_DATABASE_URL", &reader.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let store = paddock::store::connect(&writer.url).await.unwrap();
    assert!(!store.table_exists("_sqlx_migrations").await.unwrap());
}

/// An environment with nothing set.
struct NoEnv;

impl Env for NoEnv {
    fn var(&self, _key: &str) -> Option<String> {
        None
    }
}

async fn session_setting(store: &paddock::store::AnyStore, sql: &str) -> String {
    let rows = store.text_rows(sql).await.unwrap();
    rows[0][0].clone().unwrap_or_default()
}

#[tokio::test]
async fn every_session_carries_the_configured_timeouts_and_paddocks_name() {
    let database = crate::support::fresh_postgres_database().await;
    let toml = format!(
        "[database]\nurl = \"{}\"\nstatement_timeout_secs = 7\nlock_timeout_secs = 3\n",
        database.url
    );
    let config = Config::from_toml(&toml, &NoEnv).unwrap();
    let store = paddock::open_store(&config).await.unwrap();
    assert_eq!(
        session_setting(&store, "SHOW statement_timeout").await,
        "7s"
    );
    assert_eq!(session_setting(&store, "SHOW lock_timeout").await, "3s");
    let name = "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()";
    assert_eq!(session_setting(&store, name).await, "paddock");
}

#[tokio::test]
async fn a_command_names_its_sessions_after_itself() {
    let database = crate::support::fresh_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paddock.toml");
    std::fs::write(&file, "").unwrap();
    let overrides = Overrides {
        config_path: Some(file),
        database_url: Some(database.url.clone()),
        application_name: Some("paddock:backfill".into()),
    };
    let config = Config::load(&overrides, &NoEnv).unwrap();
    let store = paddock::open_store(&config).await.unwrap();
    let others = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' \
         AND application_name = 'paddock:backfill'",
        database.name
    );
    assert!(
        session_setting(&store, &others)
            .await
            .parse::<i64>()
            .unwrap()
            >= 1
    );
    // A reader's sessions refuse writes.
    let reader = paddock::connect_reader(&config).await.unwrap();
    assert_eq!(
        session_setting(&reader, "SHOW default_transaction_read_only").await,
        "on"
    );
}

#[tokio::test]
async fn a_daemon_jobs_write_transactions_carry_the_jobs_name_and_the_session_gets_its_own_back() {
    use sqlx::Row;
    let database = crate::support::fresh_postgres_database().await;
    let options = paddock::store::StoreOptions {
        max_connections: 1,
        ..crate::support::test_options()
    };
    let store = paddock::store::PgStore::connect(&database.url, &options)
        .await
        .unwrap()
        .naming_transactions("paddock:daemon:races_and_runners");
    let name = "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()";
    let mut tx = store.begin_write().await.unwrap();
    let during: String = sqlx::query(name).fetch_one(&mut *tx).await.unwrap().get(0);
    tx.commit().await.unwrap();
    assert_eq!(during, "paddock:daemon:races_and_runners");
    // The one pooled connection, after the commit: the session's own name again.
    let after: String = sqlx::query(name)
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, crate::support::test_options().application_name);
}

//! The audit's time at 1.3 million runners on both backends: a freshly migrated database
//! filled by `benches/audit_fixture_<engine>.sql` (130,000 races, ten runners each, their
//! masters, one successful run per job), then `paddock audit --strict --format json` as a
//! child process (the release binary, as an operator runs it), timed from start to exit. The
//! report's own `elapsed_ms` and violation count come back with it.

use crate::pg::{create_database, drop_database};
use crate::processes::bare_paddock_command;
use serde_json::{json, Value as Json};
use sqlx::Connection;
use std::process::Stdio;
use std::time::Instant;

const SQLITE_FIXTURE: &str = include_str!("../audit_fixture_sqlite.sql");
const POSTGRES_FIXTURE: &str = include_str!("../audit_fixture_postgres.sql");

/// `paddock audit` on the database at `url`: wall seconds and the report's figures.
fn time_audit(url: &str) -> anyhow::Result<Json> {
    let started = Instant::now();
    let output = bare_paddock_command()
        .args([
            "--database-url",
            url,
            "audit",
            "--strict",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()?;
    let wall = started.elapsed().as_secs_f64();
    let report: Json = serde_json::from_slice(&output.stdout).map_err(|e| {
        anyhow::anyhow!(
            "the audit printed no report ({e}); exit {:?}, stderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    Ok(json!({
        "wall_secs": wall,
        "report_elapsed_ms": report["elapsed_ms"],
        "total_violations": report["total_violations"],
        "exit_code": output.status.code(),
    }))
}

async fn sqlite_audit() -> anyhow::Result<Json> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let store = paddock::store::connect(&url).await?;
    store.migrate().await?;
    store.close().await;
    let started = Instant::now();
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    sqlx::raw_sql(SQLITE_FIXTURE).execute(&mut conn).await?;
    conn.close().await?;
    let load = started.elapsed().as_secs_f64();
    let mut figures = tokio::task::block_in_place(|| time_audit(&url))?;
    figures["fixture_load_secs"] = json!(load);
    Ok(figures)
}

async fn postgres_audit() -> anyhow::Result<Json> {
    let url = create_database("audit").await?;
    let outcome = async {
        let store = paddock::store::connect(&url).await?;
        store.migrate().await?;
        store.close().await;
        let started = Instant::now();
        let mut conn = sqlx::PgConnection::connect(&url).await?;
        sqlx::raw_sql(POSTGRES_FIXTURE).execute(&mut conn).await?;
        conn.close().await?;
        let load = started.elapsed().as_secs_f64();
        let mut figures = tokio::task::block_in_place(|| time_audit(&url))?;
        figures["fixture_load_secs"] = json!(load);
        anyhow::Ok(figures)
    }
    .await;
    drop_database("audit").await?;
    outcome
}

pub async fn bench_audit() -> anyhow::Result<Json> {
    println!("audit: 1.3 million runners (benches/audit_fixture_*.sql), `paddock audit --strict`");
    let sqlite = sqlite_audit().await?;
    let postgres = postgres_audit().await?;
    for (backend, f) in [("sqlite", &sqlite), ("postgres", &postgres)] {
        println!(
            "  {backend:<8} {:>6.1} s (report {} ms, {} violations; fixture loaded in {:.0} s)",
            f["wall_secs"].as_f64().unwrap_or(0.0),
            f["report_elapsed_ms"],
            f["total_violations"],
            f["fixture_load_secs"].as_f64().unwrap_or(0.0),
        );
    }
    let ratio = sqlite["wall_secs"].as_f64().unwrap_or(0.0)
        / postgres["wall_secs"].as_f64().unwrap_or(f64::NAN);
    println!("  SQLite / PostgreSQL: {ratio:.2}");
    Ok(json!({
        "runners": 1_300_000,
        "sqlite": sqlite,
        "postgres": postgres,
        "sqlite_over_postgres": ratio,
    }))
}

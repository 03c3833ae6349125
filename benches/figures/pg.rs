//! Throwaway PostgreSQL databases on the benchmark server: `PADDOCK_BENCH_DATABASE_URL`, else
//! `TEST_DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`. Each is named by
//! this process's id and a suffix, so two benches on one server never share one.

use paddock::store::mask_url;
use sqlx::Connection;

pub fn postgres_server_url() -> String {
    ["PADDOCK_BENCH_DATABASE_URL", "TEST_DATABASE_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn database_name(suffix: &str) -> String {
    format!("paddock_bench_{}_{suffix}", std::process::id())
}

async fn admin() -> anyhow::Result<sqlx::PgConnection> {
    let server = postgres_server_url();
    sqlx::PgConnection::connect(&server)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {}: {e}", mask_url(&server)))
}

/// A new empty database on the benchmark server (replacing one left by this process under
/// the same suffix); its URL. Dropped by [`drop_database`].
pub async fn create_database(suffix: &str) -> anyhow::Result<String> {
    let name = database_name(suffix);
    let mut admin = admin().await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await?;
    let mut url = url::Url::parse(&postgres_server_url())?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

pub async fn drop_database(suffix: &str) -> anyhow::Result<()> {
    let mut admin = admin().await?;
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        database_name(suffix)
    ))
    .execute(&mut admin)
    .await?;
    Ok(())
}

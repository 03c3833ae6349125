//! What the daemon and `paddock status` ask the run ledger per job — the latest run and the
//! last success — and a database liveness check, for both backends.

use super::AnyStore;
use chrono::{DateTime, Utc};
use fetchers::store::RunId;
use sqlx::Row;

/// A job's latest run, as the per-job status shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestRun {
    pub run_id: RunId,
    pub trigger: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error_text: Option<String>,
}

/// Statuses that count as a completed run for catch-up and health: `partial` finished too (its
/// rejects are recorded), so it is not run again at start.
const COMPLETED: &str = "('succeeded', 'partial')";

/// When `job` last finished successfully (`succeeded` or `partial`).
pub async fn last_success(store: &AnyStore, job: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
    let sql_pg = format!(
        "SELECT MAX(finished_at) FROM paddock_runs WHERE job = $1 AND status IN {COMPLETED}"
    );
    let sql_lite = format!(
        "SELECT MAX(finished_at) FROM paddock_runs WHERE job = ? AND status IN {COMPLETED}"
    );
    Ok(match store {
        AnyStore::Postgres(s) => {
            sqlx::query_scalar::<_, Option<DateTime<Utc>>>(&sql_pg)
                .bind(job)
                .fetch_one(s.pool())
                .await?
        }
        AnyStore::Sqlite(s) => {
            let text: Option<String> = sqlx::query_scalar(&sql_lite)
                .bind(job)
                .fetch_one(s.pool())
                .await?;
            text.as_deref().map(parse_timestamp).transpose()?
        }
    })
}

/// `job`'s latest run, if it ever ran.
pub async fn latest_run(store: &AnyStore, job: &str) -> anyhow::Result<Option<LatestRun>> {
    let columns = "run_id, run_trigger, status, started_at, finished_at, error_text";
    Ok(match store {
        AnyStore::Postgres(s) => sqlx::query(&format!(
            "SELECT {columns} FROM paddock_runs WHERE job = $1 ORDER BY run_id DESC LIMIT 1"
        ))
        .bind(job)
        .fetch_optional(s.pool())
        .await?
        .map(|row| -> anyhow::Result<LatestRun> {
            Ok(LatestRun {
                run_id: RunId(row.try_get(0)?),
                trigger: row.try_get(1)?,
                status: row.try_get(2)?,
                started_at: row.try_get(3)?,
                finished_at: row.try_get(4)?,
                error_text: row.try_get(5)?,
            })
        })
        .transpose()?,
        AnyStore::Sqlite(s) => sqlx::query(&format!(
            "SELECT {columns} FROM paddock_runs WHERE job = ? ORDER BY run_id DESC LIMIT 1"
        ))
        .bind(job)
        .fetch_optional(s.pool())
        .await?
        .map(|row| -> anyhow::Result<LatestRun> {
            let finished: Option<String> = row.try_get(4)?;
            Ok(LatestRun {
                run_id: RunId(row.try_get(0)?),
                trigger: row.try_get(1)?,
                status: row.try_get(2)?,
                started_at: parse_timestamp(&row.try_get::<String, _>(3)?)?,
                finished_at: finished.as_deref().map(parse_timestamp).transpose()?,
                error_text: row.try_get(5)?,
            })
        })
        .transpose()?,
    })
}

/// Whether the database answers (`SELECT 1`).
pub async fn ping(store: &AnyStore) -> anyhow::Result<()> {
    match store {
        AnyStore::Postgres(s) => {
            sqlx::query("SELECT 1").execute(s.pool()).await?;
        }
        AnyStore::Sqlite(s) => {
            sqlx::query("SELECT 1").execute(s.pool()).await?;
        }
    }
    Ok(())
}

fn parse_timestamp(text: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(text)
        .map_err(|e| anyhow::anyhow!("ledger timestamp {text:?}: {e}"))?
        .with_timezone(&Utc))
}

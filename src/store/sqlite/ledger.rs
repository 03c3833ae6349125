//! SQLite bookkeeping: the run ledger (`paddock_runs`, `paddock_run_tables`), rejects, state
//! and checkpoints. Instants are stored as [`format_timestamp`] text.

use crate::store::apply::{latest_state, BookkeepingError};
use crate::store::sqlite::binding::placeholder_rows;
use chrono::{DateTime, Utc};
use fetchers::rows::{format_timestamp, Counts, TableCounts, UnitOfWork};
use fetchers::store::{RunFinish, RunId, RunRecord, RunStatus, RunTrigger};
use sqlx::{Row as _, SqliteConnection, SqlitePool};

const REJECT_COLUMNS: usize = 7;
const REJECTS_PER_STATEMENT: usize = 4_000;

fn count_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Writes a unit's rejects, state, checkpoint and run counters (inside its transaction).
pub async fn record_unit(
    conn: &mut SqliteConnection,
    run_id: RunId,
    unit: &UnitOfWork,
    counts: &Counts,
    now: DateTime<Utc>,
) -> Result<(), BookkeepingError> {
    let now = format_timestamp(&now);
    insert_rejects(conn, run_id, unit, &now)
        .await
        .map_err(BookkeepingError::wrap("paddock_rejects"))?;
    set_state(conn, unit, &now)
        .await
        .map_err(BookkeepingError::wrap("paddock_state"))?;
    if let Some(cp) = &unit.checkpoint {
        sqlx::query(
            "INSERT INTO paddock_checkpoints (name, job, \"cursor\", status, run_id, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET job = excluded.job, \
             \"cursor\" = excluded.\"cursor\", status = excluded.status, \
             run_id = excluded.run_id, updated_at = excluded.updated_at",
        )
        .bind(&cp.name)
        .bind(&cp.job)
        .bind(&cp.cursor)
        .bind(&cp.status)
        .bind(run_id)
        .bind(&now)
        .execute(&mut *conn)
        .await
        .map_err(BookkeepingError::wrap("paddock_checkpoints"))?;
    }
    add_run_counts(conn, run_id, counts)
        .await
        .map_err(BookkeepingError::wrap("paddock_run_tables"))?;
    if !unit.rejects.is_empty() {
        sqlx::query("UPDATE paddock_runs SET rows_rejected = rows_rejected + ? WHERE run_id = ?")
            .bind(count_i64(unit.rejects.len() as u64))
            .bind(run_id)
            .execute(&mut *conn)
            .await
            .map_err(BookkeepingError::wrap("paddock_runs"))?;
    }
    Ok(())
}

async fn insert_rejects(
    conn: &mut SqliteConnection,
    run_id: RunId,
    unit: &UnitOfWork,
    now: &str,
) -> Result<(), sqlx::Error> {
    for chunk in unit.rejects.chunks(REJECTS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO paddock_rejects (run_id, endpoint, entity, entity_key, reason, payload, \
             created_at) VALUES {}",
            placeholder_rows(chunk.len(), REJECT_COLUMNS)
        );
        // Sized by the chunk: not worth a slot in the statement cache.
        let mut query = sqlx::query(&sql).persistent(false);
        for r in chunk {
            query = query
                .bind(run_id)
                .bind(&r.endpoint)
                .bind(&r.entity)
                .bind(&r.key)
                .bind(&r.reason)
                .bind(&r.payload)
                .bind(now);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn set_state(
    conn: &mut SqliteConnection,
    unit: &UnitOfWork,
    now: &str,
) -> Result<(), sqlx::Error> {
    let entries = latest_state(&unit.state);
    if entries.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO paddock_state (\"key\", value, updated_at) VALUES {} \
         ON CONFLICT (\"key\") DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        placeholder_rows(entries.len(), 3)
    );
    let mut query = sqlx::query(&sql).persistent(false);
    for (key, value) in entries {
        query = query.bind(key).bind(value).bind(now);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

async fn add_run_counts(
    conn: &mut SqliteConnection,
    run_id: RunId,
    counts: &Counts,
) -> Result<(), sqlx::Error> {
    if counts.0.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO paddock_run_tables (run_id, table_name, inserted, updated, unchanged, rejected) \
         VALUES {} ON CONFLICT (run_id, table_name) DO UPDATE SET \
         inserted = paddock_run_tables.inserted + excluded.inserted, \
         updated = paddock_run_tables.updated + excluded.updated, \
         unchanged = paddock_run_tables.unchanged + excluded.unchanged, \
         rejected = paddock_run_tables.rejected + excluded.rejected",
        placeholder_rows(counts.0.len(), 6)
    );
    let mut query = sqlx::query(&sql).persistent(false);
    for (table, c) in &counts.0 {
        query = query
            .bind(run_id)
            .bind(table)
            .bind(count_i64(c.inserted))
            .bind(count_i64(c.updated))
            .bind(count_i64(c.unchanged))
            .bind(count_i64(c.rejected));
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Opens a ledger row (status `running`).
pub async fn start_run(
    pool: &SqlitePool,
    job: &str,
    trigger: RunTrigger,
    params: &serde_json::Value,
) -> Result<RunId, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO paddock_runs (job, run_trigger, params, started_at, status, api_requests, \
         rows_rejected) VALUES (?, ?, ?, ?, ?, 0, 0) RETURNING run_id",
    )
    .bind(job)
    .bind(trigger.name())
    .bind(params.to_string())
    .bind(format_timestamp(&Utc::now()))
    .bind(RunStatus::Running.name())
    .fetch_one(pool)
    .await
}

/// Closes a ledger row; returns whether the run existed.
pub async fn finish_run(
    pool: &SqlitePool,
    run_id: RunId,
    finish: &RunFinish,
) -> Result<bool, sqlx::Error> {
    let requests: u64 = finish.requests_by_endpoint.values().sum();
    let by_endpoint = serde_json::to_string(&finish.requests_by_endpoint)
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let done = sqlx::query(
        "UPDATE paddock_runs SET finished_at = ?, status = ?, api_requests = ?, \
         requests_by_endpoint = ?, error_text = ? WHERE run_id = ?",
    )
    .bind(format_timestamp(&Utc::now()))
    .bind(finish.status.name())
    .bind(count_i64(requests))
    .bind(by_endpoint)
    .bind(&finish.error_text)
    .bind(run_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The counters accumulated for a run.
pub async fn run_counts(pool: &SqlitePool, run_id: RunId) -> Result<Counts, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT table_name, inserted, updated, unchanged, rejected FROM paddock_run_tables \
         WHERE run_id = ? ORDER BY table_name",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await?;
    let mut counts = Counts::default();
    for row in rows {
        let n = |i: usize| -> Result<u64, sqlx::Error> {
            Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0))
        };
        *counts.entry(&row.try_get::<String, _>(0)?) = TableCounts {
            inserted: n(1)?,
            updated: n(2)?,
            unchanged: n(3)?,
            rejected: n(4)?,
        };
    }
    Ok(counts)
}

/// The latest `limit` runs, newest first.
pub async fn recent_runs(pool: &SqlitePool, limit: i64) -> Result<Vec<RunRecord>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT run_id, job, run_trigger, started_at, finished_at, status, api_requests, \
         rows_rejected, error_text FROM paddock_runs ORDER BY run_id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RunRecord {
                run_id: row.try_get(0)?,
                job: row.try_get(1)?,
                trigger: row.try_get(2)?,
                started_at: row.try_get(3)?,
                finished_at: row.try_get(4)?,
                status: row.try_get(5)?,
                api_requests: row.try_get(6)?,
                rows_rejected: row.try_get(7)?,
                error_text: row.try_get(8)?,
            })
        })
        .collect()
}

/// A value from `paddock_state`.
pub async fn get_state(pool: &SqlitePool, key: &str) -> Result<Option<String>, sqlx::Error> {
    let value: Option<Option<String>> =
        sqlx::query_scalar("SELECT value FROM paddock_state WHERE \"key\" = ?")
            .bind(key)
            .fetch_optional(pool)
            .await?;
    Ok(value.flatten())
}

//! PostgreSQL bookkeeping: the run ledger (`paddock_runs`, `paddock_run_tables`), rejects,
//! state and checkpoints, written with array parameters rather than a statement per row.

use crate::store::apply::{latest_state, BookkeepingError};
use chrono::{DateTime, Utc};
use fetchers::rows::{format_timestamp, Counts, TableCounts, UnitOfWork};
use fetchers::store::{RunFinish, RunId, RunRecord, RunStatus, RunTrigger};
use sqlx::{PgConnection, PgPool, Row as _};

fn count_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Writes a unit's rejects, state, checkpoint and run counters (inside its transaction).
pub async fn record_unit(
    conn: &mut PgConnection,
    run_id: RunId,
    unit: &UnitOfWork,
    counts: &Counts,
    now: DateTime<Utc>,
) -> Result<(), BookkeepingError> {
    insert_rejects(conn, run_id, unit, now)
        .await
        .map_err(BookkeepingError::wrap("paddock_rejects"))?;
    set_state(conn, unit, now)
        .await
        .map_err(BookkeepingError::wrap("paddock_state"))?;
    if let Some(cp) = &unit.checkpoint {
        sqlx::query(
            "INSERT INTO paddock_checkpoints (name, job, \"cursor\", status, run_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET job = excluded.job, \
             \"cursor\" = excluded.\"cursor\", status = excluded.status, \
             run_id = excluded.run_id, updated_at = excluded.updated_at",
        )
        .bind(&cp.name)
        .bind(&cp.job)
        .bind(&cp.cursor)
        .bind(&cp.status)
        .bind(run_id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(BookkeepingError::wrap("paddock_checkpoints"))?;
    }
    add_run_counts(conn, run_id, counts)
        .await
        .map_err(BookkeepingError::wrap("paddock_run_tables"))?;
    if !unit.rejects.is_empty() {
        sqlx::query("UPDATE paddock_runs SET rows_rejected = rows_rejected + $1 WHERE run_id = $2")
            .bind(count_i64(unit.rejects.len() as u64))
            .bind(run_id)
            .execute(&mut *conn)
            .await
            .map_err(BookkeepingError::wrap("paddock_runs"))?;
    }
    Ok(())
}

async fn insert_rejects(
    conn: &mut PgConnection,
    run_id: RunId,
    unit: &UnitOfWork,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if unit.rejects.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&fetchers::rows::Reject) -> Option<&str>| -> Vec<Option<&str>> {
        unit.rejects.iter().map(f).collect()
    };
    sqlx::query(
        "INSERT INTO paddock_rejects (run_id, endpoint, entity, entity_key, reason, payload, \
         created_at) SELECT $1::int8, u.*, $7::timestamptz FROM UNNEST($2::text[], $3::text[], $4::text[], \
         $5::text[], $6::text[]) AS u",
    )
    .bind(run_id)
    .bind(column(|r| Some(r.endpoint.as_str())))
    .bind(column(|r| Some(r.entity.as_str())))
    .bind(column(|r| r.key.as_deref()))
    .bind(column(|r| Some(r.reason.as_str())))
    .bind(column(|r| r.payload.as_deref()))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn set_state(
    conn: &mut PgConnection,
    unit: &UnitOfWork,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let entries = latest_state(&unit.state);
    if entries.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
    let values: Vec<&str> = entries.iter().map(|(_, v)| *v).collect();
    sqlx::query(
        "INSERT INTO paddock_state (\"key\", value, updated_at) \
         SELECT k, v, $3::timestamptz FROM UNNEST($1::text[], $2::text[]) AS s(k, v) \
         ON CONFLICT (\"key\") DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(keys)
    .bind(values)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn add_run_counts(
    conn: &mut PgConnection,
    run_id: RunId,
    counts: &Counts,
) -> Result<(), sqlx::Error> {
    if counts.0.is_empty() {
        return Ok(());
    }
    let tables: Vec<&str> = counts.0.keys().map(String::as_str).collect();
    let figure = |f: fn(&TableCounts) -> u64| -> Vec<i64> {
        counts.0.values().map(|c| count_i64(f(c))).collect()
    };
    sqlx::query(
        "INSERT INTO paddock_run_tables (run_id, table_name, inserted, updated, unchanged, rejected) \
         SELECT $1::int8, u.* FROM UNNEST($2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[]) AS u \
         ON CONFLICT (run_id, table_name) DO UPDATE SET \
         inserted = paddock_run_tables.inserted + excluded.inserted, \
         updated = paddock_run_tables.updated + excluded.updated, \
         unchanged = paddock_run_tables.unchanged + excluded.unchanged, \
         rejected = paddock_run_tables.rejected + excluded.rejected",
    )
    .bind(run_id)
    .bind(tables)
    .bind(figure(|c| c.inserted))
    .bind(figure(|c| c.updated))
    .bind(figure(|c| c.unchanged))
    .bind(figure(|c| c.rejected))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Opens a ledger row (status `running`).
pub async fn start_run(
    pool: &PgPool,
    job: &str,
    trigger: RunTrigger,
    params: &serde_json::Value,
) -> Result<RunId, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO paddock_runs (job, run_trigger, params, started_at, status, api_requests, \
         rows_rejected) VALUES ($1, $2, $3::jsonb, $4, $5, 0, 0) RETURNING run_id",
    )
    .bind(job)
    .bind(trigger.name())
    .bind(params.to_string())
    .bind(Utc::now())
    .bind(RunStatus::Running.name())
    .fetch_one(pool)
    .await
}

/// Closes a ledger row; returns whether the run existed.
pub async fn finish_run(
    pool: &PgPool,
    run_id: RunId,
    finish: &RunFinish,
) -> Result<bool, sqlx::Error> {
    let requests: u64 = finish.requests_by_endpoint.values().sum();
    let by_endpoint = serde_json::to_string(&finish.requests_by_endpoint)
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let done = sqlx::query(
        "UPDATE paddock_runs SET finished_at = $1, status = $2, api_requests = $3, \
         requests_by_endpoint = $4::jsonb, error_text = $5 WHERE run_id = $6",
    )
    .bind(Utc::now())
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
pub async fn run_counts(pool: &PgPool, run_id: RunId) -> Result<Counts, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT table_name, inserted, updated, unchanged, rejected FROM paddock_run_tables \
         WHERE run_id = $1 ORDER BY table_name",
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

/// The latest `limit` runs, newest first (instants as [`format_timestamp`] text, as on
/// SQLite).
pub async fn recent_runs(pool: &PgPool, limit: i64) -> Result<Vec<RunRecord>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT run_id, job, run_trigger, started_at, finished_at, status, api_requests, \
         rows_rejected, error_text FROM paddock_runs ORDER BY run_id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let started: DateTime<Utc> = row.try_get(3)?;
            let finished: Option<DateTime<Utc>> = row.try_get(4)?;
            Ok(RunRecord {
                run_id: row.try_get(0)?,
                job: row.try_get(1)?,
                trigger: row.try_get(2)?,
                started_at: format_timestamp(&started),
                finished_at: finished.as_ref().map(format_timestamp),
                status: row.try_get(5)?,
                api_requests: row.try_get(6)?,
                rows_rejected: row.try_get(7)?,
                error_text: row.try_get(8)?,
            })
        })
        .collect()
}

/// A value from `paddock_state`.
pub async fn get_state(pool: &PgPool, key: &str) -> Result<Option<String>, sqlx::Error> {
    let value: Option<Option<String>> =
        sqlx::query_scalar("SELECT value FROM paddock_state WHERE \"key\" = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?;
    Ok(value.flatten())
}

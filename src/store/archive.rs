//! SQL for the raw response archive (`paddock_raw_responses`, issue 10) on both backends:
//! inserting compressed responses, reading them back in fetch order for `paddock replay`,
//! pruning by age, and the figures `paddock archive stats` shows.

use super::AnyStore;
use chrono::{DateTime, Utc};
use fetchers::rows::format_timestamp;
use sqlx::Row as _;

/// One archived response as stored (body still compressed and encoded).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub response_id: i64,
    pub endpoint: String,
    pub query: String,
    pub status: i64,
    pub fetched_at: DateTime<Utc>,
    pub body_bytes: i64,
    pub body_zstd: String,
}

/// Size and span of the archive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchiveFigures {
    pub responses: i64,
    pub body_bytes: i64,
    pub stored_bytes: i64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// Responses by endpoint template.
    pub by_endpoint: Vec<(String, i64)>,
}

fn parse_ts(text: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc))
}

/// Inserts responses (one transaction).
pub async fn insert(store: &AnyStore, rows: &[StoredResponse]) -> anyhow::Result<()> {
    const SQL_SQLITE: &str = "INSERT INTO paddock_raw_responses \
        (endpoint, query, status, fetched_at, body_bytes, body_zstd) VALUES (?, ?, ?, ?, ?, ?)";
    const SQL_PG: &str = "INSERT INTO paddock_raw_responses \
        (endpoint, query, status, fetched_at, body_bytes, body_zstd) VALUES ($1, $2, $3, $4, $5, $6)";
    match store {
        AnyStore::Sqlite(s) => {
            let mut tx = s.pool().begin().await?;
            for r in rows {
                sqlx::query(SQL_SQLITE)
                    .bind(&r.endpoint)
                    .bind(&r.query)
                    .bind(r.status)
                    .bind(format_timestamp(&r.fetched_at))
                    .bind(r.body_bytes)
                    .bind(&r.body_zstd)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        AnyStore::Postgres(s) => {
            let mut tx = s.pool().begin().await?;
            for r in rows {
                sqlx::query(SQL_PG)
                    .bind(&r.endpoint)
                    .bind(&r.query)
                    .bind(r.status)
                    .bind(r.fetched_at)
                    .bind(r.body_bytes)
                    .bind(&r.body_zstd)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Up to `limit` responses with an id above `after_id`, fetched in `[from, to)` when given, in
/// fetch order (ids are assigned in arrival order).
pub async fn read_batch(
    store: &AnyStore,
    after_id: i64,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: i64,
) -> anyhow::Result<Vec<StoredResponse>> {
    let mut out = Vec::new();
    match store {
        AnyStore::Sqlite(s) => {
            let rows = sqlx::query(
                "SELECT response_id, endpoint, query, status, fetched_at, body_bytes, body_zstd \
                 FROM paddock_raw_responses WHERE response_id > ? \
                 AND (? IS NULL OR fetched_at >= ?) AND (? IS NULL OR fetched_at < ?) \
                 ORDER BY response_id LIMIT ?",
            )
            .bind(after_id)
            .bind(from.map(|t| format_timestamp(&t)))
            .bind(from.map(|t| format_timestamp(&t)))
            .bind(to.map(|t| format_timestamp(&t)))
            .bind(to.map(|t| format_timestamp(&t)))
            .bind(limit)
            .fetch_all(s.pool())
            .await?;
            for r in rows {
                out.push(StoredResponse {
                    response_id: r.try_get(0)?,
                    endpoint: r.try_get(1)?,
                    query: r.try_get(2)?,
                    status: r.try_get(3)?,
                    fetched_at: parse_ts(&r.try_get::<String, _>(4)?)?,
                    body_bytes: r.try_get(5)?,
                    body_zstd: r.try_get(6)?,
                });
            }
        }
        AnyStore::Postgres(s) => {
            let rows = sqlx::query(
                "SELECT response_id, endpoint, query, status, fetched_at, body_bytes, body_zstd \
                 FROM paddock_raw_responses WHERE response_id > $1 \
                 AND ($2::timestamptz IS NULL OR fetched_at >= $2) \
                 AND ($3::timestamptz IS NULL OR fetched_at < $3) \
                 ORDER BY response_id LIMIT $4",
            )
            .bind(after_id)
            .bind(from)
            .bind(to)
            .bind(limit)
            .fetch_all(s.pool())
            .await?;
            for r in rows {
                out.push(StoredResponse {
                    response_id: r.try_get(0)?,
                    endpoint: r.try_get(1)?,
                    query: r.try_get(2)?,
                    status: r.try_get(3)?,
                    fetched_at: r.try_get(4)?,
                    body_bytes: r.try_get(5)?,
                    body_zstd: r.try_get(6)?,
                });
            }
        }
    }
    Ok(out)
}

/// Deletes responses fetched before `cutoff`; returns how many.
pub async fn prune_before(store: &AnyStore, cutoff: DateTime<Utc>) -> anyhow::Result<u64> {
    let done = match store {
        AnyStore::Sqlite(s) => {
            sqlx::query("DELETE FROM paddock_raw_responses WHERE fetched_at < ?")
                .bind(format_timestamp(&cutoff))
                .execute(s.pool())
                .await?
                .rows_affected()
        }
        AnyStore::Postgres(s) => {
            sqlx::query("DELETE FROM paddock_raw_responses WHERE fetched_at < $1")
                .bind(cutoff)
                .execute(s.pool())
                .await?
                .rows_affected()
        }
    };
    Ok(done)
}

/// Size and span of the archive.
pub async fn figures(store: &AnyStore) -> anyhow::Result<ArchiveFigures> {
    const TOTALS: &str = "SELECT COUNT(*), COALESCE(SUM(body_bytes), 0), \
        COALESCE(SUM(LENGTH(body_zstd)), 0), MIN(fetched_at), MAX(fetched_at) \
        FROM paddock_raw_responses";
    const BY_ENDPOINT: &str = "SELECT endpoint, COUNT(*) FROM paddock_raw_responses \
        GROUP BY endpoint ORDER BY endpoint";
    let mut f = ArchiveFigures::default();
    match store {
        AnyStore::Sqlite(s) => {
            let r = sqlx::query(TOTALS).fetch_one(s.pool()).await?;
            f.responses = r.try_get(0)?;
            f.body_bytes = r.try_get(1)?;
            f.stored_bytes = r.try_get(2)?;
            f.first = r
                .try_get::<Option<String>, _>(3)?
                .map(|t| parse_ts(&t))
                .transpose()?;
            f.last = r
                .try_get::<Option<String>, _>(4)?
                .map(|t| parse_ts(&t))
                .transpose()?;
            for r in sqlx::query(BY_ENDPOINT).fetch_all(s.pool()).await? {
                f.by_endpoint.push((r.try_get(0)?, r.try_get(1)?));
            }
        }
        AnyStore::Postgres(s) => {
            let totals = TOTALS
                .replace("SUM(body_bytes)", "SUM(body_bytes)::bigint")
                .replace("SUM(LENGTH(body_zstd))", "SUM(LENGTH(body_zstd))::bigint");
            let r = sqlx::query(&totals).fetch_one(s.pool()).await?;
            f.responses = r.try_get(0)?;
            f.body_bytes = r.try_get(1)?;
            f.stored_bytes = r.try_get(2)?;
            f.first = r.try_get(3)?;
            f.last = r.try_get(4)?;
            for r in sqlx::query(BY_ENDPOINT).fetch_all(s.pool()).await? {
                f.by_endpoint.push((r.try_get(0)?, r.try_get(1)?));
            }
        }
    }
    Ok(f)
}

//! Horses whose stored profile is older than a cutoff ([`Store::horses_with_profile_older_than`]),
//! oldest first: what `paddock run master-entities --refresh-older-than DAYS` asks for again.
//!
//! [`Store::horses_with_profile_older_than`]: fetchers::store::Store::horses_with_profile_older_than

use crate::store::diagnose::database_error;
use chrono::{DateTime, Utc};
use fetchers::rows::format_timestamp;
use fetchers::store::StoreError;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

fn sql(cutoff: &str, limit: &str) -> String {
    format!(
        "SELECT id FROM ra_mst_horses WHERE profile_fetched_at < {cutoff} \
         ORDER BY profile_fetched_at, id LIMIT {limit}"
    )
}

fn read_error(e: sqlx::Error) -> StoreError {
    database_error(Some("ra_mst_horses"), &e)
}

/// SQLite keeps instants as RFC 3339 text in one format, which sorts as time does.
pub async fn sqlite(
    pool: &SqlitePool,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(&sql("?", "?"))
        .bind(format_timestamp(&cutoff))
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(read_error)
}

pub async fn postgres(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(&sql("$1", "$2"))
        .bind(cutoff)
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(read_error)
}

//! The PostgreSQL bulk upsert of one group: one `UNNEST` statement per chunk of up to
//! [`CHUNK_ROWS`] rows, one array parameter per column, counting inserts and updates with
//! `RETURNING (xmax = 0)`.

use crate::store::apply::group_counts;
use crate::store::database_url::BackendKind;
use crate::store::dialect::{GroupWrite, UpsertResult};
use crate::store::postgres::arrays::{column_array, BindArray};
use sqlx::PgConnection;

/// Rows per statement.
pub const CHUNK_ROWS: usize = 10_000;

/// Upserts every row of the write's group into its physical table.
pub async fn upsert_group(conn: &mut PgConnection, write: &GroupWrite<'_>) -> UpsertResult {
    let group = write.group;
    let (mut inserted, mut updated) = (0u64, 0u64);
    for chunk in group.rows.chunks(CHUNK_ROWS) {
        let fill = group.needs_stored_required_values(chunk);
        let sql = write.upsert_sql(BackendKind::Postgres, chunk.len(), fill);
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql)
            .bind(write.now)
            .bind(write.run_id.get());
        for column in &group.columns {
            query = query.bind_array(column_array(chunk, column)?);
        }
        let (new_rows, changed_rows) = query.fetch_one(&mut *conn).await?;
        inserted += u64::try_from(new_rows).unwrap_or(0);
        updated += u64::try_from(changed_rows).unwrap_or(0);
    }
    Ok(group_counts(group.rows.len(), inserted, updated))
}

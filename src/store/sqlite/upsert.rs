//! The SQLite bulk upsert of one group: prepared multi-row statements inside the unit's
//! transaction, chunked below SQLite's bound-parameter limit. Inserts are told from updates
//! by counting, in the same transaction and just before each chunk, how many of its keys
//! already exist; the statement's `rows_affected` counts inserts plus real updates.
//! Statements use anonymous `?` parameters (see [`crate::store::upsert_sql::sqlite_upsert_sql`]).

use crate::store::apply::group_counts;
use crate::store::database_url::BackendKind;
use crate::store::dialect::{GroupWrite, UpsertResult};
use crate::store::plan::{rows_per_chunk, value_of};
use crate::store::sqlite::binding::{placeholder_rows, BindValue};
use crate::store::upsert_sql::{quote_ident, SQLITE_FIXED_PARAMS};
use fetchers::rows::{format_timestamp, Row};
use sqlx::SqliteConnection;

/// Bound parameters per statement, below SQLite's default limit of 32,766.
pub const MAX_PARAMS: usize = 32_000;

/// Upserts every row of the write's group into its physical table.
pub async fn upsert_group(conn: &mut SqliteConnection, write: &GroupWrite<'_>) -> UpsertResult {
    let group = write.group;
    let per_chunk = rows_per_chunk(group.columns.len(), SQLITE_FIXED_PARAMS, MAX_PARAMS);
    let now_text = format_timestamp(&write.now);
    let (mut inserted, mut updated) = (0u64, 0u64);
    for chunk in group.rows.chunks(per_chunk) {
        let existing = count_existing(conn, write, chunk).await?;
        let fill = group.needs_stored_required_values(chunk);
        let sql = write.upsert_sql(BackendKind::Sqlite, chunk.len(), fill);
        // Not kept in the connection's statement cache: a prepared statement with tens of
        // thousands of parameters holds megabytes, and preparing it anew costs little.
        let mut query = sqlx::query(&sql)
            .persistent(false)
            .bind(now_text.as_str())
            .bind(now_text.as_str())
            .bind(write.run_id.get());
        for row in chunk {
            for column in &group.columns {
                query = query.bind_value(value_of(row, column.name()));
            }
        }
        let affected = query.execute(&mut *conn).await?.rows_affected();
        let new_rows = (chunk.len() as u64).saturating_sub(existing);
        inserted += new_rows;
        updated += affected.saturating_sub(new_rows);
    }
    Ok(group_counts(group.rows.len(), inserted, updated))
}

/// How many of `rows`' keys exist in the write's physical table (a set lookup on the key:
/// a key-mapped legacy table's key column, `[adopt.keys]`, not its surrogate).
async fn count_existing(
    conn: &mut SqliteConnection,
    write: &GroupWrite<'_>,
    rows: &[Row],
) -> Result<u64, sqlx::Error> {
    let table = write.group.table;
    let key: Vec<&str> = (table.key.iter())
        .map(|k| match write.key_column {
            Some(held) if table.key == [*k] => held,
            _ => k,
        })
        .collect();
    let sql = key_membership_sql("COUNT(*)", &key, write.physical_name, rows.len());
    let mut query = sqlx::query_scalar::<_, i64>(&sql).persistent(false);
    for row in rows {
        for key in table.key {
            query = query.bind_value(value_of(row, key));
        }
    }
    let count = query.fetch_one(&mut *conn).await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// `SELECT <what> FROM t WHERE t.k IN (?,…)` for a single-column key, or for a composite key
/// `… FROM (VALUES (?,?),…) AS v CROSS JOIN t ON t.k1 = v.column1 AND …`, for `n` keys bound
/// in order; `what` refers to the table as `t`. Both are index lookups: SQLite would scan
/// the whole table for a row-value `(k1, k2) IN (VALUES …)`, and `CROSS JOIN` fixes the
/// join order with the bound keys outside.
pub fn key_membership_sql(what: &str, key: &[&str], physical_name: &str, n: usize) -> String {
    let target = quote_ident(physical_name);
    if let [single] = key {
        return format!(
            "SELECT {what} FROM {target} AS t WHERE t.{} IN ({})",
            quote_ident(single),
            vec!["?"; n].join(",")
        );
    }
    let on: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("t.{} = v.column{}", quote_ident(k), i + 1))
        .collect();
    format!(
        "SELECT {what} FROM (VALUES {}) AS v CROSS JOIN {target} AS t ON {}",
        placeholder_rows(n, key.len()),
        on.join(" AND ")
    )
}

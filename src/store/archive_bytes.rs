//! The one-off conversion after migration 0014 of archived bodies still stored as base64 text
//! (`paddock_raw_responses.body_zstd`) into the zstd bytes they encode: SQLite's SQL has no
//! base64 decoder, so its rows are decoded here, right after migrating
//! ([`crate::store::SqlStore::migrate`]); PostgreSQL's migration decoded them itself.

use super::dialect::{self, Cells, Dialect, Fragment, Params};
use super::ledger;
use anyhow::Context as _;
use base64::Engine as _;
use fetchers::registry::ColumnType::{Bytes, Integer, Text};
use fetchers::rows::Value;
use fetchers::store::StateKey;
use sqlx::Pool;

/// The archive table.
const TABLE: &str = "paddock_raw_responses";

/// The `paddock_state` key marking that no body is left as base64 text.
const CONVERTED: &str = "archive_bodies_are_bytes";

/// Turns the bodies a database still holds as base64 text (SQLite rows from before migration
/// 0014: its SQL has no base64 decoder; PostgreSQL's migration decoded them itself) into bytes,
/// `batch` rows per committed transaction, then marks the archive converted in `paddock_state`
/// so later starts skip the check. A conversion cut short resumes where it stopped: a row's
/// storage class says whether it is done. Returns how many rows it converted.
pub async fn convert_text_bodies<D: Dialect>(
    pool: &Pool<D::Db>,
    batch: i64,
) -> anyhow::Result<u64> {
    let key = StateKey::Named(CONVERTED.to_string());
    let mut conn = pool.acquire().await?;
    if ledger::get_state::<D>(&mut conn, &key).await?.is_some() {
        return Ok(0);
    }
    drop(conn);
    let still_text = D::fragment(Fragment::IsText, "body_zstd");
    let mut converted = 0;
    loop {
        let mut p = Params::<D>::new();
        let sql = format!(
            "SELECT response_id, CAST(body_zstd AS TEXT) FROM {TABLE} WHERE {still_text} \
             ORDER BY response_id LIMIT {}",
            p.add(Value::Integer(batch), Integer)
        );
        let mut tx = pool.begin_with(D::BEGIN_WRITE).await?;
        let rows = dialect::fetch::<D>(&mut tx, &sql, p.values(), &[Integer, Text]).await?;
        if rows.is_empty() {
            let (sql, p) = ledger::set_state_sql::<D>(&key, "yes", chrono::Utc::now());
            D::execute(&mut tx, &sql, p.values()).await?;
            tx.commit().await?;
            return Ok(converted);
        }
        for row in &rows {
            let cells = Cells(row);
            let id = cells.integer(0).unwrap_or_default();
            let text = cells.text(1).unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .with_context(|| format!("archived response {id}: its body is not base64"))?;
            let mut p = Params::<D>::new();
            let update = format!(
                "UPDATE {TABLE} SET body_zstd = {} WHERE response_id = {}",
                p.add(Value::Bytes(bytes), Bytes),
                p.add(Value::Integer(id), Integer)
            );
            D::execute(&mut tx, &update, p.values()).await?;
        }
        tx.commit().await?;
        converted += rows.len() as u64;
    }
}

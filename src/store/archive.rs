//! SQL for the raw response archive (`paddock_raw_responses`, issue 10), written once over
//! [`SqlStore`]: inserting compressed responses, reading them back in fetch order for
//! `paddock replay`, pruning by age and the figures `paddock archive stats` shows. (The one-off
//! conversion of bodies from base64 text into bytes after migration 0014: `archive_bytes.rs`.)

use super::dialect::{self, BulkInsert, Cells, Dialect, Params};
use super::{with_backend, AnyStore, SqlStore};
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType::{self, Bytes, Integer, Text, Timestamp};
use fetchers::rows::Value;

/// The table.
const TABLE: &str = "paddock_raw_responses";

/// The columns an insert writes, in [`StoredResponse::values`] order.
const INSERTED: &[(&str, ColumnType)] = &[
    ("endpoint", Text),
    ("query", Text),
    ("status", Integer),
    ("fetched_at", Timestamp),
    ("body_bytes", Integer),
    ("body_zstd", Bytes),
];

/// One archived response as stored (body still compressed).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub response_id: i64,
    pub endpoint: String,
    pub query: String,
    pub status: i64,
    pub fetched_at: DateTime<Utc>,
    pub body_bytes: i64,
    pub body_zstd: Vec<u8>,
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

impl StoredResponse {
    fn values(&self) -> Vec<Value> {
        vec![
            Value::Text(self.endpoint.clone()),
            Value::Text(self.query.clone()),
            Value::Integer(self.status),
            Value::Timestamp(self.fetched_at),
            Value::Integer(self.body_bytes),
            Value::Bytes(self.body_zstd.clone()),
        ]
    }
}

/// Inserts responses (one transaction).
pub async fn insert(store: &AnyStore, rows: &[StoredResponse]) -> anyhow::Result<()> {
    with_backend!(store, |s| insert_in(s, rows).await)
}

async fn insert_in<D: Dialect>(store: &SqlStore<D>, rows: &[StoredResponse]) -> anyhow::Result<()> {
    let insert = BulkInsert {
        table: TABLE,
        columns: INSERTED,
        rows: rows.iter().map(StoredResponse::values).collect(),
        on_conflict: "",
    };
    let mut tx = store.begin_write().await?;
    D::insert_rows(&mut tx, &insert).await?;
    tx.commit().await?;
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
    with_backend!(store, |s| read_batch_in(s, after_id, from, to, limit).await)
}

async fn read_batch_in<D: Dialect>(
    store: &SqlStore<D>,
    after_id: i64,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: i64,
) -> anyhow::Result<Vec<StoredResponse>> {
    // Only the bounds given become conditions: a parameter bound NULL in one call and as an
    // instant in the next would share one prepared statement on PostgreSQL (see `PgDialect`).
    let mut p = Params::<D>::new();
    let mut sql = format!(
        "SELECT response_id, endpoint, query, status, fetched_at, body_bytes, body_zstd \
         FROM {TABLE} WHERE response_id > {}",
        p.add(Value::Integer(after_id), Integer)
    );
    if let Some(from) = from {
        let from = p.add(Value::Timestamp(from), Timestamp);
        sql.push_str(&format!(" AND fetched_at >= {from}"));
    }
    if let Some(to) = to {
        let to = p.add(Value::Timestamp(to), Timestamp);
        sql.push_str(&format!(" AND fetched_at < {to}"));
    }
    let limit = p.add(Value::Integer(limit), Integer);
    sql.push_str(&format!(" ORDER BY response_id LIMIT {limit}"));
    let columns = [Integer, Text, Text, Integer, Timestamp, Integer, Bytes];
    let mut conn = store.connection(Some(TABLE)).await?;
    let rows = dialect::fetch::<D>(&mut conn, &sql, p.values(), &columns).await?;
    rows.iter()
        .map(|row| {
            let cells = Cells(row);
            Ok(StoredResponse {
                response_id: cells.integer(0).unwrap_or_default(),
                endpoint: cells.text(1).unwrap_or_default(),
                query: cells.text(2).unwrap_or_default(),
                status: cells.integer(3).unwrap_or_default(),
                fetched_at: (cells.timestamp(4))
                    .ok_or_else(|| anyhow::anyhow!("an archived response without fetched_at"))?,
                body_bytes: cells.integer(5).unwrap_or_default(),
                body_zstd: match row.get(6) {
                    Some(Value::Bytes(b)) => b.clone(),
                    _ => Vec::new(),
                },
            })
        })
        .collect()
}

/// Deletes responses fetched before `cutoff`; returns how many.
pub async fn prune_before(store: &AnyStore, cutoff: DateTime<Utc>) -> anyhow::Result<u64> {
    with_backend!(store, |s| prune_before_in(s, cutoff).await)
}

async fn prune_before_in<D: Dialect>(
    store: &SqlStore<D>,
    cutoff: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "DELETE FROM {TABLE} WHERE fetched_at < {}",
        p.add(Value::Timestamp(cutoff), Timestamp)
    );
    let mut conn = store.connection(Some(TABLE)).await?;
    Ok(D::execute(&mut conn, &sql, p.values()).await?)
}

/// Size and span of the archive.
pub async fn figures(store: &AnyStore) -> anyhow::Result<ArchiveFigures> {
    with_backend!(store, |s| figures_in(s).await)
}

async fn figures_in<D: Dialect>(store: &SqlStore<D>) -> anyhow::Result<ArchiveFigures> {
    // Sums cast to BIGINT: PostgreSQL sums a bigint column as NUMERIC.
    let totals = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(body_bytes), 0) AS BIGINT), \
         CAST(COALESCE(SUM(LENGTH(body_zstd)), 0) AS BIGINT), MIN(fetched_at), MAX(fetched_at) \
         FROM {TABLE}"
    );
    let by_endpoint =
        format!("SELECT endpoint, COUNT(*) FROM {TABLE} GROUP BY endpoint ORDER BY endpoint");
    let mut conn = store.connection(Some(TABLE)).await?;
    let columns = [Integer, Integer, Integer, Timestamp, Timestamp];
    let rows = dialect::fetch::<D>(&mut conn, &totals, &[], &columns).await?;
    let cells = Cells(rows.first().map_or(&[][..], Vec::as_slice));
    let mut f = ArchiveFigures {
        responses: cells.integer(0).unwrap_or_default(),
        body_bytes: cells.integer(1).unwrap_or_default(),
        stored_bytes: cells.integer(2).unwrap_or_default(),
        first: cells.timestamp(3),
        last: cells.timestamp(4),
        by_endpoint: Vec::new(),
    };
    for row in dialect::fetch::<D>(&mut conn, &by_endpoint, &[], &[Text, Integer]).await? {
        let cells = Cells(&row);
        let endpoint = cells.text(0).unwrap_or_default();
        f.by_endpoint
            .push((endpoint, cells.integer(1).unwrap_or_default()));
    }
    Ok(f)
}

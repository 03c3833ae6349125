//! Per-table figures of a SQLite database — the row count and a checksum of every row in
//! rowid (or, for a `WITHOUT ROWID` table, primary-key) order — read on one connection, so
//! that inside a read transaction they describe one instant. The publish takes them in the
//! snapshot it copies; the same function run on the copy must give the same figures.
//!
//! The checksum: SHA-256 over each row rendered by SQLite's `quote()` (exact for text, blobs,
//! integers and NULL), cells separated by a unit separator, rows by a newline; its first
//! 16 bytes in hex.

use anyhow::{Context, Result};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;
use std::collections::BTreeMap;

/// One table's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFigures {
    pub rows: u64,
    pub checksum: String,
}

/// Every table's figures, by name (SQLite's own `sqlite_*` tables, the copy's `ANALYZE`
/// statistics among them, left out).
pub type Figures = BTreeMap<String, TableFigures>;

/// The figures of every table `conn` sees (in its transaction, when one is open).
pub async fn table_figures(conn: &mut SqliteConnection) -> Result<Figures> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, COALESCE(sql, '') FROM sqlite_master \
         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .context("listing the tables")?;
    let mut figures = Figures::new();
    for (table, ddl) in tables {
        let one = one_table(conn, &table, &ddl)
            .await
            .with_context(|| format!("reading {table}"))?;
        figures.insert(table, one);
    }
    Ok(figures)
}

/// `"name"` with its quotes doubled.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn one_table(conn: &mut SqliteConnection, table: &str, ddl: &str) -> Result<TableFigures> {
    let columns: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid")
            .bind(table)
            .fetch_all(&mut *conn)
            .await?;
    let cells: Vec<String> = columns
        .iter()
        .map(|(name, _)| format!("quote({})", ident(name)))
        .collect();
    let without_rowid = ddl.to_ascii_uppercase().contains("WITHOUT ROWID");
    let order = if without_rowid {
        let mut key: Vec<&(String, i64)> = columns.iter().filter(|(_, pk)| *pk > 0).collect();
        key.sort_by_key(|(_, pk)| *pk);
        key.iter()
            .map(|(name, _)| ident(name))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        "rowid".to_string()
    };
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {order}",
        cells.join(" || char(31) || "),
        ident(table)
    );
    let mut hash = Sha256::new();
    let mut rows = 0u64;
    let mut stream = sqlx::query_scalar::<_, String>(&sql).fetch(&mut *conn);
    while let Some(row) = stream.try_next().await? {
        hash.update(row.as_bytes());
        hash.update(b"\n");
        rows += 1;
    }
    let digest = hash.finalize();
    let checksum = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Ok(TableFigures { rows, checksum })
}

//! The audit's database access: read-only queries on either backend, every cell read back as
//! text, plus the few places where the two SQL dialects differ (qualified names, literals,
//! timestamps as text, month of a date).
//!
//! It dispatches on [`AnyStore`]'s pools itself so the audit does not depend on the store's
//! internals. Table and column names reaching SQL come from the registry or the live catalog
//! and are always quoted; values are written as escaped literals.

use crate::store::AnyStore;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgPool, Row, SqlitePool};

/// One result row, every cell as text (`None` for NULL).
pub type TextRow = Vec<Option<String>>;

/// The database being audited.
#[derive(Debug, Clone)]
pub enum AuditDb {
    Sqlite(SqlitePool),
    /// A pool and the schema holding Paddock's tables.
    Postgres(PgPool, String),
}

impl AuditDb {
    /// The database behind `store`; `schema` names the PostgreSQL schema (ignored on SQLite).
    pub fn new(store: &AnyStore, schema: &str) -> AuditDb {
        match store {
            AnyStore::Sqlite(s) => AuditDb::Sqlite(s.pool().clone()),
            AnyStore::Postgres(s) => AuditDb::Postgres(s.pool().clone(), schema.to_string()),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, AuditDb::Postgres(..))
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            AuditDb::Sqlite(_) => "sqlite",
            AuditDb::Postgres(..) => "postgres",
        }
    }

    /// The PostgreSQL schema audited (`None` on SQLite).
    pub fn schema(&self) -> Option<&str> {
        match self {
            AuditDb::Sqlite(_) => None,
            AuditDb::Postgres(_, schema) => Some(schema),
        }
    }

    /// Runs `sql` and returns every row with every cell as text.
    pub async fn rows(&self, sql: &str) -> anyhow::Result<Vec<TextRow>> {
        let result = match self {
            AuditDb::Sqlite(pool) => sqlx::query(sql)
                .fetch_all(pool)
                .await
                .map(|rows| rows.iter().map(sqlite_row).collect()),
            AuditDb::Postgres(pool, _) => sqlx::query(sql)
                .fetch_all(pool)
                .await
                .map(|rows| rows.iter().map(postgres_row).collect()),
        };
        result.map_err(|e| anyhow::anyhow!("audit query failed: {e}\n  query: {sql}"))
    }

    /// The table `name` in the audited schema, quoted.
    pub fn table(&self, name: &str) -> String {
        match self {
            AuditDb::Sqlite(_) => ident(name),
            AuditDb::Postgres(_, schema) => format!("{}.{}", ident(schema), ident(name)),
        }
    }

    /// A timestamp column as RFC 3339 UTC text.
    pub fn timestamp_text(&self, expr: &str) -> String {
        match self {
            AuditDb::Sqlite(_) => format!("CAST({expr} AS TEXT)"),
            AuditDb::Postgres(..) => {
                format!("to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
            }
        }
    }

    /// A date column as `YYYY-MM-DD` text.
    pub fn date_text(&self, expr: &str) -> String {
        match self {
            AuditDb::Sqlite(_) => format!("CAST({expr} AS TEXT)"),
            AuditDb::Postgres(..) => format!("to_char({expr}, 'YYYY-MM-DD')"),
        }
    }

    /// The month (`YYYY-MM`) of a date column.
    pub fn month_of(&self, expr: &str) -> String {
        match self {
            AuditDb::Sqlite(_) => format!("substr({expr}, 1, 7)"),
            AuditDb::Postgres(..) => format!("to_char({expr}, 'YYYY-MM')"),
        }
    }

    /// An instant as a literal comparable with timestamp columns.
    pub fn timestamp_literal(&self, t: &DateTime<Utc>) -> String {
        let text = fetchers::rows::format_timestamp(t);
        match self {
            AuditDb::Sqlite(_) => literal(&text),
            AuditDb::Postgres(..) => format!("CAST({} AS TIMESTAMPTZ)", literal(&text)),
        }
    }

    /// A date as a literal comparable with date columns.
    pub fn date_literal(&self, d: &NaiveDate) -> String {
        let text = d.format("%Y-%m-%d").to_string();
        match self {
            AuditDb::Sqlite(_) => literal(&text),
            AuditDb::Postgres(..) => format!("CAST({} AS DATE)", literal(&text)),
        }
    }
}

/// A quoted SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted SQL string literal.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `expr` cast to text (both dialects).
pub fn as_text(expr: &str) -> String {
    format!("CAST({expr} AS TEXT)")
}

/// A cell parsed as a count (0 for NULL or unparsable).
pub fn count(cell: &Option<String>) -> u64 {
    cell.as_deref()
        .and_then(|s| s.parse::<f64>().ok())
        .map(|f| f.max(0.0) as u64)
        .unwrap_or(0)
}

/// A cell as text, empty for NULL.
pub fn text(cell: &Option<String>) -> String {
    cell.clone().unwrap_or_default()
}

/// A cell as an instant (RFC 3339), if set and valid.
pub fn instant(cell: &Option<String>) -> Option<DateTime<Utc>> {
    let s = cell.as_deref()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn sqlite_row(row: &SqliteRow) -> TextRow {
    (0..row.len())
        .map(|i| {
            if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                return v;
            }
            if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                return v.map(|v| v.to_string());
            }
            if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                return v.map(|v| v.to_string());
            }
            row.try_get_unchecked::<Option<String>, _>(i).ok().flatten()
        })
        .collect()
}

fn postgres_row(row: &PgRow) -> TextRow {
    (0..row.len())
        .map(|i| {
            if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                return v;
            }
            if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                return v.map(|v| v.to_string());
            }
            if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                return v.map(|v| v.to_string());
            }
            if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                return v.map(|v| v.to_string());
            }
            if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                return v.map(|v| v.to_string());
            }
            None
        })
        .collect()
}

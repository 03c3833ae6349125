//! The audit's database access: read-only queries on either backend, every cell read back as
//! text, plus the few places where the two SQL dialects differ (qualified names, literals,
//! timestamps as text, month of a date), which come from the store's [`Dialect`].
//!
//! [`AuditDb`] reaches the one implementation over `SqlStore<D>` through the object-safe
//! [`AuditSql`], so the audit's checks are written once without generics. Table and column
//! names reaching SQL come from the registry or the live catalog and are always quoted; values
//! are written as escaped literals.

use crate::store::dialect::{Dialect, Fragment};
use crate::store::{with_backend, AnyStore, BackendKind, SqlStore};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::migrate::Migrator;
use std::sync::Arc;

/// One result row, every cell as text (`None` for NULL).
pub type TextRow = Vec<Option<String>>;

/// What the audit needs of a database: text queries and the dialect's fragments.
#[async_trait]
pub trait AuditSql: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> BackendKind;
    /// Runs `sql`; every cell as text.
    async fn text_rows(&self, sql: &str) -> Result<Vec<TextRow>, sqlx::Error>;
    /// [`Dialect::fragment`].
    fn fragment(&self, fragment: Fragment, expr: &str) -> String;
    /// [`Dialect::migrator`].
    fn migrator(&self) -> &'static Migrator;
}

#[async_trait]
impl<D: Dialect> AuditSql for SqlStore<D> {
    fn kind(&self) -> BackendKind {
        D::KIND
    }

    async fn text_rows(&self, sql: &str) -> Result<Vec<TextRow>, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        D::fetch_text(&mut conn, sql).await
    }

    fn fragment(&self, fragment: Fragment, expr: &str) -> String {
        D::fragment(fragment, expr)
    }

    fn migrator(&self) -> &'static Migrator {
        D::migrator()
    }
}

/// The database being audited.
#[derive(Debug, Clone)]
pub struct AuditDb {
    db: Arc<dyn AuditSql>,
    /// The PostgreSQL schema holding Paddock's tables (`None` on SQLite).
    schema: Option<String>,
}

impl AuditDb {
    /// The database behind `store`; `schema` names the PostgreSQL schema (ignored on SQLite).
    pub fn new(store: &AnyStore, schema: &str) -> AuditDb {
        let db: Arc<dyn AuditSql> = with_backend!(store, |s| Arc::new(s.clone()));
        let schema = (db.kind() == BackendKind::Postgres).then(|| schema.to_string());
        AuditDb { db, schema }
    }

    /// Which engine is audited.
    pub fn kind(&self) -> BackendKind {
        self.db.kind()
    }

    pub fn is_postgres(&self) -> bool {
        self.kind() == BackendKind::Postgres
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        self.kind().name()
    }

    /// The PostgreSQL schema audited (`None` on SQLite).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The migrations embedded in this binary for the audited engine.
    pub fn migrator(&self) -> &'static Migrator {
        self.db.migrator()
    }

    /// Runs `sql` and returns every row with every cell as text.
    pub async fn rows(&self, sql: &str) -> anyhow::Result<Vec<TextRow>> {
        (self.db.text_rows(sql).await)
            .map_err(|e| anyhow::anyhow!("audit query failed: {e}\n  query: {sql}"))
    }

    /// The table `name` in the audited schema, quoted.
    pub fn table(&self, name: &str) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", ident(schema), ident(name)),
            None => ident(name),
        }
    }

    /// A timestamp column as RFC 3339 UTC text.
    pub fn timestamp_text(&self, expr: &str) -> String {
        self.db.fragment(Fragment::TimestampText, expr)
    }

    /// A date column as `YYYY-MM-DD` text.
    pub fn date_text(&self, expr: &str) -> String {
        self.db.fragment(Fragment::DateText, expr)
    }

    /// The month (`YYYY-MM`) of a date column.
    pub fn month_of(&self, expr: &str) -> String {
        self.db.fragment(Fragment::MonthOf, expr)
    }

    /// A binary column as upper-case hexadecimal text.
    pub fn hex_text(&self, expr: &str) -> String {
        self.db.fragment(Fragment::Hex, expr)
    }

    /// An instant as a literal comparable with timestamp columns.
    pub fn timestamp_literal(&self, t: &DateTime<Utc>) -> String {
        let text = literal(&fetchers::rows::format_timestamp(t));
        self.db.fragment(Fragment::TimestampLiteral, &text)
    }

    /// A date as a literal comparable with date columns.
    pub fn date_literal(&self, d: &NaiveDate) -> String {
        let text = literal(&d.format("%Y-%m-%d").to_string());
        self.db.fragment(Fragment::DateLiteral, &text)
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

//! The audit's database access: read-only queries on either backend through the store's tool
//! door (`store::tools`), values bound as parameters and every cell read back as text, the
//! live schema (`store::catalog`, read by each engine), plus the few places where the two SQL
//! dialects differ (qualified names, timestamps as text, month of a date), which come from the
//! store's `Dialect`.
//!
//! [`AuditDb`] reaches the one implementation over `SqlStore<D>` through the object-safe
//! [`AuditSql`], so the audit's checks are written once without generics; a query with values
//! builds its SQL with [`AuditDb::query`], whose [`Bind`] is the dialect's `Params`. Table and
//! column names reaching SQL come from the registry or the live catalog and are always quoted;
//! values are never written into the SQL text.

use crate::store::catalog::Catalog;
use crate::store::dialect::{Bind, Fragment, Params, ToolDialect};
use crate::store::{with_backend, AnyStore, BackendKind, SqlStore, TextRow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType;
use fetchers::rows::Value;
use sqlx::migrate::Migrator;
use std::sync::Arc;

/// What the audit needs of a database: text queries, the live schema and the dialect's
/// fragments.
#[async_trait]
pub trait AuditSql: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> BackendKind;
    /// Empty parameters of this engine, for one query.
    fn params(&self) -> Box<dyn Bind>;
    /// Runs `sql` with `params`; every cell as text.
    async fn text_rows(&self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<TextRow>>;
    /// The live schema of `schema` ([`ToolDialect::read_catalog`]).
    async fn read_catalog(&self, schema: &str) -> anyhow::Result<Catalog>;
    /// Whether `_sqlx_migrations` exists in `schema`.
    async fn has_migrations_table(&self, schema: &str) -> anyhow::Result<bool>;
    /// The SQL of `fragment` applied to `expr`, in this engine's dialect.
    fn fragment(&self, fragment: Fragment, expr: &str) -> String;
    /// The migrations embedded for this engine.
    fn migrator(&self) -> &'static Migrator;
    /// [`crate::store::dialect::Dialect::PROBES_PER_ROW`].
    fn probes_per_row(&self) -> bool;
}

#[async_trait]
impl<D: ToolDialect> AuditSql for SqlStore<D> {
    fn kind(&self) -> BackendKind {
        D::KIND
    }

    fn params(&self) -> Box<dyn Bind> {
        Box::new(Params::<D>::new())
    }

    async fn text_rows(&self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<TextRow>> {
        SqlStore::text_rows(self, sql, params).await
    }

    async fn read_catalog(&self, schema: &str) -> anyhow::Result<Catalog> {
        SqlStore::read_catalog(self, schema).await
    }

    async fn has_migrations_table(&self, schema: &str) -> anyhow::Result<bool> {
        SqlStore::has_migrations_table(self, schema).await
    }

    fn fragment(&self, fragment: Fragment, expr: &str) -> String {
        D::fragment(fragment, expr)
    }

    fn migrator(&self) -> &'static Migrator {
        D::migrator()
    }

    fn probes_per_row(&self) -> bool {
        D::PROBES_PER_ROW
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
        let schema = db.kind().is_postgres().then(|| schema.to_string());
        AuditDb { db, schema }
    }

    /// Which engine is audited.
    pub fn kind(&self) -> BackendKind {
        self.db.kind()
    }

    pub fn is_postgres(&self) -> bool {
        self.kind().is_postgres()
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        self.kind().name()
    }

    /// The PostgreSQL schema audited (`None` on SQLite).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The live schema audited (`store::catalog`).
    pub async fn catalog(&self) -> anyhow::Result<Catalog> {
        self.db
            .read_catalog(self.schema().unwrap_or_default())
            .await
    }

    /// Whether the audited schema has `_sqlx_migrations`.
    pub async fn has_migrations_table(&self) -> anyhow::Result<bool> {
        self.db
            .has_migrations_table(self.schema().unwrap_or_default())
            .await
    }

    /// Whether the engine joins by one index probe per row (no hash join): a query over
    /// distinct values first saves it most of them.
    pub fn probes_per_row(&self) -> bool {
        self.db.probes_per_row()
    }

    /// The migrations embedded in this binary for the audited engine.
    pub fn migrator(&self) -> &'static Migrator {
        self.db.migrator()
    }

    /// Runs `sql` (no values) and returns every row with every cell as text.
    pub async fn rows(&self, sql: &str) -> anyhow::Result<Vec<TextRow>> {
        self.run(sql, &[]).await
    }

    /// Runs the query `build` writes, each value added to the [`Bind`] it is given (which
    /// returns the placeholder to write), and returns every row with every cell as text.
    pub async fn query(
        &self,
        build: impl FnOnce(&mut dyn Bind) -> String,
    ) -> anyhow::Result<Vec<TextRow>> {
        let mut params = self.db.params();
        let sql = build(params.as_mut());
        self.run(&sql, params.values()).await
    }

    /// Runs one query; `PADDOCK_LOG=paddock::audit=debug` logs each one with its time (how the
    /// slow ones were found).
    async fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<TextRow>> {
        let started = std::time::Instant::now();
        let rows = (self.db.text_rows(sql, params).await).map_err(|e| {
            anyhow::anyhow!("audit query failed: {}\n  query: {sql}", e.root_cause())
        })?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            rows = rows.len(),
            sql,
            "audit query"
        );
        Ok(rows)
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
}

/// A quoted SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` added to `p` as a text parameter; returns its placeholder.
pub fn bind_text(p: &mut dyn Bind, value: &str) -> String {
    p.add(Value::Text(value.to_string()), ColumnType::Text)
}

/// `n` added to `p` as an integer parameter; returns its placeholder.
pub fn bind_integer(p: &mut dyn Bind, n: i64) -> String {
    p.add(Value::Integer(n), ColumnType::Integer)
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

//! Raw SQL for the rename operations over either backend: a few statements (or [`Steps`] that
//! read before they write) in one transaction, text rows back, table existence. Operations
//! code only (not the fetchers' path), so values are inlined with [`literal`] rather than bound.

use crate::store::AnyStore;
use anyhow::{Context, Result};
use async_trait::async_trait;
use sqlx::{PgConnection, Row, SqliteConnection};

/// `text` as a SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A connection inside a transaction, of either backend.
pub enum TxConn<'a> {
    Postgres(&'a mut PgConnection),
    Sqlite(&'a mut SqliteConnection),
}

impl TxConn<'_> {
    pub fn is_postgres(&self) -> bool {
        matches!(self, TxConn::Postgres(_))
    }

    /// Runs one statement; the error names it.
    pub async fn execute(&mut self, sql: &str) -> Result<()> {
        match self {
            TxConn::Postgres(c) => sqlx::query(sql).execute(&mut **c).await.map(|_| ()),
            TxConn::Sqlite(c) => sqlx::query(sql).execute(&mut **c).await.map(|_| ()),
        }
        .with_context(|| format!("executing: {sql}"))
    }

    /// Every row of `sql` as nullable texts.
    pub async fn texts(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let rows = match self {
            TxConn::Postgres(c) => sqlx::query(sql).fetch_all(&mut **c).await.and_then(|rows| {
                rows.iter()
                    .map(|r| row_texts(r.len(), &|i| r.try_get(i)))
                    .collect()
            }),
            TxConn::Sqlite(c) => sqlx::query(sql).fetch_all(&mut **c).await.and_then(|rows| {
                rows.iter()
                    .map(|r| row_texts(r.len(), &|i| r.try_get(i)))
                    .collect()
            }),
        };
        rows.with_context(|| format!("querying: {sql}"))
    }
}

/// A row's `n` cells as nullable texts, read with `get`.
fn row_texts(
    n: usize,
    get: &dyn Fn(usize) -> Result<Option<String>, sqlx::Error>,
) -> Result<Vec<Option<String>>, sqlx::Error> {
    (0..n).map(get).collect()
}

/// Work done inside one transaction ([`run_steps`]): statements, or reads and writes that
/// depend on what the transaction sees.
#[async_trait]
pub trait Steps: Sync {
    async fn run(&self, tx: &mut TxConn<'_>) -> Result<()>;
}

/// Plain statements, in order.
struct Statements<'a>(&'a [String]);

#[async_trait]
impl Steps for Statements<'_> {
    async fn run(&self, tx: &mut TxConn<'_>) -> Result<()> {
        for sql in self.0 {
            tx.execute(sql).await?;
        }
        Ok(())
    }
}

/// Runs `statements` in one transaction (see [`run_steps`]).
pub async fn run_in_transaction(
    store: &AnyStore,
    statements: &[String],
    foreign_keys_off: bool,
) -> Result<()> {
    run_steps(store, &Statements(statements), foreign_keys_off).await
}

/// Runs `steps` in one write transaction (SQLite: `BEGIN IMMEDIATE`, serialized with every
/// unit of work). On SQLite with `foreign_keys_off`, the connection's foreign-key enforcement
/// is switched off around the transaction and `PRAGMA foreign_key_check` must find nothing
/// before the commit (SQLite's table-rebuild procedure).
pub async fn run_steps(store: &AnyStore, steps: &dyn Steps, foreign_keys_off: bool) -> Result<()> {
    match store {
        AnyStore::Postgres(s) => {
            let mut tx = s.pool().begin().await?;
            steps.run(&mut TxConn::Postgres(&mut tx)).await?;
            tx.commit().await?;
        }
        AnyStore::Sqlite(s) => {
            let mut conn = s.pool().acquire().await?;
            if foreign_keys_off {
                sqlx::query("PRAGMA foreign_keys = OFF")
                    .execute(&mut *conn)
                    .await?;
            }
            let outcome = sqlite_transaction(&mut conn, steps, foreign_keys_off).await;
            if foreign_keys_off {
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&mut *conn)
                    .await?;
            }
            outcome?;
        }
    }
    Ok(())
}

async fn sqlite_transaction(
    conn: &mut SqliteConnection,
    steps: &dyn Steps,
    check_foreign_keys: bool,
) -> Result<()> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let mut outcome = steps.run(&mut TxConn::Sqlite(&mut *conn)).await;
    if outcome.is_ok() && check_foreign_keys {
        let broken: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&mut *conn)
                .await?;
        if !broken.is_empty() {
            outcome = Err(anyhow::anyhow!(
                "foreign key check failed after the rebuild in {:?}",
                broken.iter().map(|b| &b.0).collect::<Vec<_>>()
            ));
        }
    }
    let end = if outcome.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    sqlx::query(end).execute(&mut *conn).await?;
    outcome
}

/// Every row of `sql` as nullable texts (write `CAST(x AS TEXT)` for non-text columns).
pub async fn fetch_texts(store: &AnyStore, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let rows = match store {
        AnyStore::Postgres(s) => sqlx::query(sql).fetch_all(s.pool()).await.and_then(|rows| {
            rows.iter()
                .map(|r| row_texts(r.len(), &|i| r.try_get(i)))
                .collect()
        }),
        AnyStore::Sqlite(s) => sqlx::query(sql).fetch_all(s.pool()).await.and_then(|rows| {
            rows.iter()
                .map(|r| row_texts(r.len(), &|i| r.try_get(i)))
                .collect()
        }),
    };
    rows.with_context(|| format!("querying: {sql}"))
}

/// One integer (`SELECT COUNT(*) …`).
pub async fn fetch_i64(store: &AnyStore, sql: &str) -> Result<i64> {
    let value = match store {
        AnyStore::Postgres(s) => sqlx::query_scalar::<_, i64>(sql).fetch_one(s.pool()).await,
        AnyStore::Sqlite(s) => sqlx::query_scalar::<_, i64>(sql).fetch_one(s.pool()).await,
    };
    value.with_context(|| format!("querying: {sql}"))
}

/// Whether a base table (not a view) named `name` exists.
pub async fn table_exists(store: &AnyStore, name: &str) -> Result<bool> {
    let sql = match store {
        AnyStore::Postgres(_) => format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_type = 'BASE TABLE' AND table_name = {}",
            literal(name)
        ),
        AnyStore::Sqlite(_) => format!(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = {}",
            literal(name)
        ),
    };
    Ok(fetch_i64(store, &sql).await? > 0)
}

/// The columns table `name` has, in order.
pub async fn table_columns(store: &AnyStore, name: &str) -> Result<Vec<String>> {
    let sql = match store {
        AnyStore::Postgres(_) => format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = \
             current_schema() AND table_name = {} ORDER BY ordinal_position",
            literal(name)
        ),
        AnyStore::Sqlite(_) => format!(
            "SELECT name FROM pragma_table_info({}) ORDER BY cid",
            literal(name)
        ),
    };
    Ok(fetch_texts(store, &sql)
        .await?
        .into_iter()
        .filter_map(|mut r| r.remove(0))
        .collect())
}

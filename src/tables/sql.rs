//! Raw SQL for the rename operations over either backend: a few statements in one
//! transaction, text rows back, table existence. Operations code only (not the fetchers' path),
//! so values are inlined with [`literal`] rather than bound.

use crate::store::AnyStore;
use anyhow::{Context, Result};
use sqlx::Row;

/// `text` as a SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Runs `statements` in one transaction. On SQLite with `foreign_keys_off`, the connection's
/// foreign-key enforcement is switched off around the transaction and `PRAGMA
/// foreign_key_check` must find nothing before the commit (SQLite's table-rebuild procedure).
pub async fn run_in_transaction(
    store: &AnyStore,
    statements: &[String],
    foreign_keys_off: bool,
) -> Result<()> {
    match store {
        AnyStore::Postgres(s) => {
            let mut tx = s.pool().begin().await?;
            for sql in statements {
                sqlx::query(sql)
                    .execute(&mut *tx)
                    .await
                    .with_context(|| format!("executing: {sql}"))?;
            }
            tx.commit().await?;
        }
        AnyStore::Sqlite(s) => {
            let mut conn = s.pool().acquire().await?;
            if foreign_keys_off {
                sqlx::query("PRAGMA foreign_keys = OFF")
                    .execute(&mut *conn)
                    .await?;
            }
            let outcome = sqlite_transaction(&mut conn, statements, foreign_keys_off).await;
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
    conn: &mut sqlx::SqliteConnection,
    statements: &[String],
    check_foreign_keys: bool,
) -> Result<()> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let mut outcome = Ok(());
    for sql in statements {
        if let Err(e) = sqlx::query(sql).execute(&mut *conn).await {
            outcome = Err(anyhow::Error::from(e).context(format!("executing: {sql}")));
            break;
        }
    }
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
    let decode = |n: usize, get: &dyn Fn(usize) -> Result<Option<String>, sqlx::Error>| {
        (0..n).map(get).collect::<Result<Vec<_>, _>>()
    };
    let rows = match store {
        AnyStore::Postgres(s) => sqlx::query(sql)
            .fetch_all(s.pool())
            .await
            .with_context(|| format!("querying: {sql}"))?
            .iter()
            .map(|r| decode(r.len(), &|i| r.try_get::<Option<String>, _>(i)))
            .collect::<Result<Vec<_>, _>>()?,
        AnyStore::Sqlite(s) => sqlx::query(sql)
            .fetch_all(s.pool())
            .await
            .with_context(|| format!("querying: {sql}"))?
            .iter()
            .map(|r| decode(r.len(), &|i| r.try_get::<Option<String>, _>(i)))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows)
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

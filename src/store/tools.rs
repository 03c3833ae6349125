//! The one door to the database beside the fetchers' write path: what the rename tooling
//! (`crate::rename`), `paddock query`, the demo's question and the audit need, written once
//! over [`SqlStore<D>`].
//!
//! Values are always bound ([`Params`]), never written into SQL text; cells come back as text
//! ([`TextRow`]). Work that must happen in one transaction (a rename step that reads, checks and
//! writes) is a [`TransactionWork`] run by [`SqlStore::write_transaction`], which hands it a
//! [`ToolTx`]: the same reads and writes, the exclusive state lock and the phase read. What
//! differs between the engines (the catalog, a view, re-pointing foreign keys, the lock) is a
//! [`ToolDialect`] method, implemented in `postgres/catalog.rs` and `sqlite/catalog.rs`.
//!
//! Code holding an [`AnyStore`] reaches this through `with_backend!`; a read without
//! parameters ([`AnyStore::text_rows`]) and [`AnyStore::table_exists`] are on `AnyStore`.

use crate::store::catalog::Catalog;
use crate::store::dialect::{Conn, Dialect, Params, Repointing, TableMove, ToolDialect};
use crate::store::phase_follow::read_stored_phase;
use crate::store::{with_backend, AnyStore, BackendKind, SqlStore};
use anyhow::{Context, Result};
use async_trait::async_trait;
use fetchers::registry::Table;
use fetchers::rows::Value;
use fetchers::schema::{create_indexes, create_table};
use sqlx::Connection as _;

/// One result row, every cell as text (`None` for NULL).
pub type TextRow = Vec<Option<String>>;

/// One statement of a tool's transaction, with its parameters.
pub struct Statement<D: Dialect> {
    pub sql: String,
    pub params: Params<D>,
}

impl<D: Dialect> Statement<D> {
    pub fn new(sql: String, params: Params<D>) -> Self {
        Statement { sql, params }
    }
}

/// A statement without parameters (DDL).
impl<D: Dialect> From<String> for Statement<D> {
    fn from(sql: String) -> Self {
        Statement::new(sql, Params::new())
    }
}

/// A statement as the store's builders return it (`ledger::set_state_sql`, …).
impl<D: Dialect> From<(String, Params<D>)> for Statement<D> {
    fn from((sql, params): (String, Params<D>)) -> Self {
        Statement::new(sql, params)
    }
}

/// The statements creating registry table `table` as physical table `name` outside the
/// migrations (the rename's `ra_mst_*`): the table, its indexes and, on PostgreSQL, row-level
/// security and the readers' policies ([`ToolDialect::row_level_security_sql`]). Every table Paddock creates at
/// run time is created through here, so none is left readable by a provider's API roles.
pub fn create_table_statements<D: ToolDialect>(table: &Table, name: &str) -> Vec<Statement<D>> {
    let dialect = D::KIND.schema_dialect();
    let ddl = format!(
        "{};{}",
        create_table(dialect, table, name),
        create_indexes(table, name)
    );
    ddl.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .chain(D::row_level_security_sql(name))
        .map(Statement::from)
        .collect()
}

/// How a tool's write transaction treats foreign keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignKeys {
    /// Enforced, as always.
    Enforced,
    /// Off on the transaction's connection, and every key checked before the commit (the
    /// table rebuild of [`Repointing::foreign_keys_off`]).
    OffUntilChecked,
}

impl ForeignKeys {
    /// What `repointing` needs.
    pub fn for_repointing(repointing: &Repointing) -> ForeignKeys {
        if repointing.foreign_keys_off {
            ForeignKeys::OffUntilChecked
        } else {
            ForeignKeys::Enforced
        }
    }
}

/// Work done inside one write transaction ([`SqlStore::write_transaction`]): statements, or
/// reads and writes that depend on what the transaction sees.
#[async_trait]
pub trait TransactionWork<D: ToolDialect>: Sync {
    async fn run(&self, tx: &mut ToolTx<'_, D>) -> Result<()>;
}

/// Plain statements, in order.
struct Statements<'a, D: ToolDialect>(&'a [Statement<D>]);

#[async_trait]
impl<D: ToolDialect> TransactionWork<D> for Statements<'_, D> {
    async fn run(&self, tx: &mut ToolTx<'_, D>) -> Result<()> {
        for statement in self.0 {
            tx.execute(statement).await?;
        }
        Ok(())
    }
}

/// A tool's open write transaction.
pub struct ToolTx<'c, D: ToolDialect> {
    conn: &'c mut Conn<D>,
}

impl<D: ToolDialect> ToolTx<'_, D> {
    /// Runs one statement; returns the rows affected. The error names the statement.
    pub async fn execute(&mut self, statement: &Statement<D>) -> Result<u64> {
        execute::<D>(self.conn, statement).await
    }

    /// Every row of `sql` with `params` bound, every cell as text.
    pub async fn text_rows(&mut self, sql: &str, params: &Params<D>) -> Result<Vec<TextRow>> {
        text_rows::<D>(self.conn, sql, params.values()).await
    }

    /// Takes `paddock_state` exclusively until the commit
    /// ([`ToolDialect::lock_state_exclusively`]).
    pub async fn lock_state_exclusively(&mut self) -> Result<()> {
        D::lock_state_exclusively(self.conn)
            .await
            .context("locking paddock_state")
    }

    /// The rename phase stored in `paddock_state`, as the transaction sees it.
    pub async fn stored_phase(&mut self) -> Result<Option<String>> {
        read_stored_phase::<D>(self.conn, false)
            .await
            .context("reading the rename phase")
    }
}

async fn execute<D: Dialect>(conn: &mut Conn<D>, statement: &Statement<D>) -> Result<u64> {
    let Statement { sql, params } = statement;
    let done = if params.values().is_empty() {
        // One-off statements (DDL): not kept prepared.
        D::execute_once(conn, sql).await
    } else {
        D::execute(conn, sql, params.values()).await
    };
    done.with_context(|| format!("executing: {sql}"))
}

async fn text_rows<D: Dialect>(
    conn: &mut Conn<D>,
    sql: &str,
    params: &[Value],
) -> Result<Vec<TextRow>> {
    (D::fetch_text(conn, sql, params).await).with_context(|| format!("querying: {sql}"))
}

/// Runs `work` in a write transaction on `conn`; with `check_keys`, every foreign key must hold
/// before the commit.
async fn transaction_on<D: ToolDialect>(
    conn: &mut Conn<D>,
    work: &dyn TransactionWork<D>,
    check_keys: bool,
) -> Result<()> {
    let mut tx = conn.begin_with(D::BEGIN_WRITE).await?;
    let mut outcome = work.run(&mut ToolTx { conn: &mut tx }).await;
    if outcome.is_ok() && check_keys {
        let broken = D::foreign_key_violations(&mut tx).await?;
        if !broken.is_empty() {
            outcome = Err(anyhow::anyhow!(
                "foreign key check failed after the rebuild in {broken:?}"
            ));
        }
    }
    match outcome {
        Ok(()) => Ok(tx.commit().await?),
        Err(error) => {
            if let Err(e) = tx.rollback().await {
                tracing::warn!(error = %e, "rolling back a failed tool transaction failed");
            }
            Err(error)
        }
    }
}

impl<D: Dialect> SqlStore<D> {
    /// Every row of `sql` with `params` bound (in order of appearance), every cell as text.
    pub async fn text_rows(&self, sql: &str, params: &[Value]) -> Result<Vec<TextRow>> {
        let mut conn = self.connection(None).await?;
        text_rows::<D>(&mut conn, sql, params).await
    }

    /// The rename phase stored in `paddock_state` (the one reader, `phase_follow`).
    pub async fn stored_phase(&self) -> Result<Option<String>> {
        let mut conn = self.connection(Some("paddock_state")).await?;
        read_stored_phase::<D>(&mut conn, false)
            .await
            .context("reading the rename phase")
    }
}

impl<D: ToolDialect> SqlStore<D> {
    /// Runs `work` in one write transaction (SQLite: `BEGIN IMMEDIATE`, serialized with every
    /// unit of work); rolled back on an error. With [`ForeignKeys::OffUntilChecked`] the
    /// connection's enforcement is off around the transaction and every key must hold before
    /// the commit.
    pub async fn write_transaction(
        &self,
        work: &dyn TransactionWork<D>,
        foreign_keys: ForeignKeys,
    ) -> Result<()> {
        let mut conn = self.connection(None).await?;
        let keys_off = foreign_keys == ForeignKeys::OffUntilChecked;
        if keys_off {
            D::enforce_foreign_keys(&mut conn, false).await?;
        }
        let outcome = transaction_on::<D>(&mut conn, work, keys_off).await;
        if keys_off {
            if let Err(e) = D::enforce_foreign_keys(&mut conn, true).await {
                // Never back into the pool without its foreign keys.
                conn.close_on_drop();
                outcome?;
                return Err(e.into());
            }
        }
        outcome
    }

    /// Runs `statements` in one write transaction (see [`Self::write_transaction`]).
    pub async fn run_statements(
        &self,
        statements: &[Statement<D>],
        foreign_keys: ForeignKeys,
    ) -> Result<()> {
        if statements.is_empty() {
            return Ok(());
        }
        self.write_transaction(&Statements(statements), foreign_keys)
            .await
    }

    /// The live schema of `schema` (PostgreSQL; SQLite has one) ([`ToolDialect::read_catalog`]).
    pub async fn read_catalog(&self, schema: &str) -> Result<Catalog> {
        let mut conn = self.connection(None).await?;
        (D::read_catalog(&mut conn, schema).await).context("reading the live schema")
    }

    /// The schema the store works in: PostgreSQL `current_schema()`, SQLite `main` (its one).
    pub async fn current_schema(&self) -> Result<String> {
        Ok(match D::KIND {
            BackendKind::Postgres => {
                let rows = self.text_rows("SELECT current_schema()::text", &[]).await?;
                rows.first().and_then(|r| r[0].clone()).unwrap_or_default()
            }
            BackendKind::Sqlite => "main".to_string(),
        })
    }

    /// Whether `_sqlx_migrations` exists in `schema` (PostgreSQL; SQLite has one).
    pub async fn has_migrations_table(&self, schema: &str) -> Result<bool> {
        let mut conn = self.connection(None).await?;
        (D::has_migrations_table(&mut conn, schema).await).context("looking for _sqlx_migrations")
    }

    /// Whether a base table (not a view) named `name` exists.
    pub async fn table_exists(&self, name: &str) -> Result<bool> {
        let mut conn = self.connection(Some(name)).await?;
        (D::table_exists(&mut conn, name).await).with_context(|| format!("looking for {name}"))
    }

    /// The columns table `name` has, in order.
    pub async fn table_columns(&self, name: &str) -> Result<Vec<String>> {
        let mut conn = self.connection(Some(name)).await?;
        (D::table_columns(&mut conn, name).await)
            .with_context(|| format!("reading the columns of {name}"))
    }

    /// The statements re-pointing `table`'s foreign keys along `moves`
    /// ([`ToolDialect::repoint_foreign_keys`]).
    pub async fn repoint_foreign_keys(
        &self,
        table: &Table,
        moves: &[TableMove<'_>],
    ) -> Result<Repointing> {
        let mut conn = self.connection(Some(table.name)).await?;
        (D::repoint_foreign_keys(&mut conn, table, moves).await)
            .with_context(|| format!("reading the foreign keys of {}", table.name))
    }
}

impl AnyStore {
    /// Every row of `sql` (a query without parameters), every cell as text.
    pub async fn text_rows(&self, sql: &str) -> Result<Vec<TextRow>> {
        with_backend!(self, |s| s.text_rows(sql, &[]).await)
    }

    /// Whether a base table (not a view) named `name` exists.
    pub async fn table_exists(&self, name: &str) -> Result<bool> {
        with_backend!(self, |s| s.table_exists(name).await)
    }
}

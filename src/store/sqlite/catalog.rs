//! What the tools beside the write path need of SQLite ([`ToolDialect`]): the catalog
//! (`sqlite_master`, `pragma_*`), views, and foreign keys re-pointed by SQLite's documented
//! table rebuild (new table, copy, drop, rename, indexes) with foreign keys off and checked
//! before the commit. Its write transactions are serialized already: no state lock to take.

use crate::store::dialect::{Dialect, Params, Repointing, TableMove, ToolDialect};
use crate::store::sqlite::SqliteDialect;
use async_trait::async_trait;
use fetchers::registry::{ColumnType, Table};
use fetchers::rows::Value;
use sqlx::sqlite::SqliteConnection;

/// The first cell of every row of the query `sql` writes around the placeholder of the one
/// text parameter `name` (NULLs left out).
async fn first_cells(
    conn: &mut SqliteConnection,
    name: &str,
    sql: impl FnOnce(&str) -> String,
) -> Result<Vec<String>, sqlx::Error> {
    let mut p = Params::<SqliteDialect>::new();
    let sql = sql(&p.add(Value::Text(name.into()), ColumnType::Text));
    let rows = SqliteDialect::fetch_text(conn, &sql, p.values()).await?;
    Ok(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
}

#[async_trait]
impl ToolDialect for SqliteDialect {
    /// Transitions are `BEGIN IMMEDIATE` like every unit: already exclusive.
    async fn lock_state_exclusively(_conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn table_exists(conn: &mut SqliteConnection, name: &str) -> Result<bool, sqlx::Error> {
        let found = first_cells(conn, name, |name| {
            format!("SELECT name FROM sqlite_master WHERE type = 'table' AND name = {name}")
        })
        .await?;
        Ok(!found.is_empty())
    }

    async fn table_columns(
        conn: &mut SqliteConnection,
        name: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        first_cells(conn, name, |name| {
            format!("SELECT name FROM pragma_table_info({name}) ORDER BY cid")
        })
        .await
    }

    fn create_view_sql(view: &str, table: &str) -> String {
        format!("CREATE VIEW {view} AS SELECT * FROM {table}")
    }

    /// `table` rebuilt from its stored definition with the references to each move's `from`
    /// turned to its `to`, its rows copied, and its indexes made again.
    async fn repoint_foreign_keys(
        conn: &mut SqliteConnection,
        table: &Table,
        moves: &[TableMove<'_>],
    ) -> Result<Repointing, sqlx::Error> {
        let definition = first_cells(conn, table.name, |name| {
            format!("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {name}")
        })
        .await?;
        let Some(mut ddl) = definition.into_iter().next() else {
            let missing = format!("table {} not found", table.name);
            return Err(sqlx::Error::Protocol(missing));
        };
        let rebuilt = format!("{}__rebuild", table.name);
        ddl = ddl.replacen(table.name, &rebuilt, 1);
        for TableMove { from, to, .. } in moves {
            ddl = ddl.replace(&format!("\"{from}\""), from);
            ddl = ddl.replace(
                &format!("REFERENCES {from} ("),
                &format!("REFERENCES {to} ("),
            );
            ddl = ddl.replace(&format!("REFERENCES {from}("), &format!("REFERENCES {to}("));
        }
        let indexes = first_cells(conn, table.name, |name| {
            format!(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = {name} \
                 AND sql IS NOT NULL"
            )
        })
        .await?;
        let mut statements = vec![
            ddl,
            format!("INSERT INTO {rebuilt} SELECT * FROM {}", table.name),
            format!("DROP TABLE {}", table.name),
            format!("ALTER TABLE {rebuilt} RENAME TO {}", table.name),
        ];
        statements.extend(indexes);
        Ok(Repointing {
            statements,
            after_commit: Vec::new(),
            foreign_keys_off: true,
        })
    }

    async fn enforce_foreign_keys(
        conn: &mut SqliteConnection,
        on: bool,
    ) -> Result<(), sqlx::Error> {
        let sql = if on {
            "PRAGMA foreign_keys = ON"
        } else {
            "PRAGMA foreign_keys = OFF"
        };
        Self::execute_once(conn, sql).await.map(|_| ())
    }

    async fn foreign_key_violations(
        conn: &mut SqliteConnection,
    ) -> Result<Vec<String>, sqlx::Error> {
        let sql = "SELECT \"table\" FROM pragma_foreign_key_check";
        let rows = Self::fetch_text(conn, sql, &[]).await?;
        Ok(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
    }
}

//! What the tools beside the write path read from SQLite's catalog (`sqlite_master`,
//! `pragma_*`), and the schema changes that differ from PostgreSQL's: foreign keys re-pointed by
//! SQLite's documented table rebuild (new table, copy, drop, rename, indexes) with foreign keys
//! off and checked before the commit
//! ([`crate::store::dialect::Dialect::repoint_foreign_keys`]).

use crate::store::dialect::{Dialect, Params, Repointing, TableMove};
use crate::store::sqlite::SqliteDialect;
use fetchers::registry::{ColumnType, Table};
use fetchers::rows::Value;
use sqlx::sqlite::SqliteConnection;

/// The first cell of every row of `sql` with the one text parameter `text` (NULLs left out).
async fn first_cells(
    conn: &mut SqliteConnection,
    sql: impl FnOnce(&str) -> String,
    text: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let mut p = Params::<SqliteDialect>::new();
    let sql = sql(&p.add(Value::Text(text.into()), ColumnType::Text));
    let rows = SqliteDialect::fetch_text(conn, &sql, p.values()).await?;
    Ok(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
}

pub async fn table_exists(conn: &mut SqliteConnection, name: &str) -> Result<bool, sqlx::Error> {
    let found = first_cells(
        conn,
        |name| format!("SELECT name FROM sqlite_master WHERE type = 'table' AND name = {name}"),
        name,
    )
    .await?;
    Ok(!found.is_empty())
}

pub async fn table_columns(
    conn: &mut SqliteConnection,
    name: &str,
) -> Result<Vec<String>, sqlx::Error> {
    first_cells(
        conn,
        |name| format!("SELECT name FROM pragma_table_info({name}) ORDER BY cid"),
        name,
    )
    .await
}

pub fn create_view_sql(view: &str, table: &str) -> String {
    format!("CREATE VIEW {view} AS SELECT * FROM {table}")
}

/// `table` rebuilt with its stored definition's references to each move's `from` turned to its
/// `to`, its rows copied, and its indexes made again.
pub async fn repoint_foreign_keys(
    conn: &mut SqliteConnection,
    table: &Table,
    moves: &[TableMove<'_>],
) -> Result<Repointing, sqlx::Error> {
    let definition = first_cells(
        conn,
        |name| format!("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {name}"),
        table.name,
    )
    .await?;
    let Some(mut ddl) = definition.into_iter().next() else {
        return Err(sqlx::Error::Protocol(format!(
            "table {} not found",
            table.name
        )));
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
    let indexes = first_cells(
        conn,
        |name| {
            format!(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = {name} \
                 AND sql IS NOT NULL"
            )
        },
        table.name,
    )
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

/// Tables holding rows that break a foreign key.
pub async fn foreign_key_violations(
    conn: &mut SqliteConnection,
) -> Result<Vec<String>, sqlx::Error> {
    let rows =
        SqliteDialect::fetch_text(conn, "SELECT \"table\" FROM pragma_foreign_key_check", &[])
            .await?;
    Ok(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
}

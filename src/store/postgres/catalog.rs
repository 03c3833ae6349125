//! What the tools beside the write path read from PostgreSQL's catalog, and the schema changes
//! that differ from SQLite's: tables and columns of the current schema, a view run with the
//! caller's privileges, and foreign keys re-pointed `NOT VALID` then validated
//! ([`crate::store::dialect::Dialect::repoint_foreign_keys`]).

use crate::store::dialect::{Dialect, Params, Repointing, TableMove};
use crate::store::postgres::PgDialect;
use fetchers::registry::{ColumnType, Table};
use fetchers::rows::Value;
use sqlx::postgres::PgConnection;

/// The first cell of every row of `sql` (NULLs left out).
async fn first_cells(
    conn: &mut PgConnection,
    sql: &str,
    params: &Params<PgDialect>,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = PgDialect::fetch_text(conn, sql, params.values()).await?;
    Ok(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
}

pub async fn table_exists(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    let mut p = Params::<PgDialect>::new();
    let sql = format!(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = \
         current_schema() AND table_type = 'BASE TABLE' AND table_name = {}",
        p.add(Value::Text(name.into()), ColumnType::Text)
    );
    Ok(!first_cells(conn, &sql, &p).await?.is_empty())
}

pub async fn table_columns(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let mut p = Params::<PgDialect>::new();
    let sql = format!(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = \
         current_schema() AND table_name = {} ORDER BY ordinal_position",
        p.add(Value::Text(name.into()), ColumnType::Text)
    );
    first_cells(conn, &sql, &p).await
}

pub fn create_view_sql(view: &str, table: &str) -> String {
    format!("CREATE VIEW {view} WITH (security_invoker = true) AS SELECT * FROM {table}")
}

/// Each key of `table` referencing a moved parent is dropped and added again `NOT VALID` (a
/// short lock), and validated after the commit.
pub async fn repoint_foreign_keys(
    conn: &mut PgConnection,
    table: &Table,
    moves: &[TableMove<'_>],
) -> Result<Repointing, sqlx::Error> {
    let mut out = Repointing::default();
    for fk in table.foreign_keys {
        let Some(moved) = moves.iter().find(|m| m.parent == fk.ref_table) else {
            continue;
        };
        let mut p = Params::<PgDialect>::new();
        let sql = format!(
            "SELECT conname::text FROM pg_constraint WHERE contype = 'f' \
             AND conrelid = {}::regclass AND confrelid = {}::regclass",
            p.add(Value::Text(table.name.into()), ColumnType::Text),
            p.add(Value::Text(moved.from.into()), ColumnType::Text),
        );
        for name in first_cells(conn, &sql, &p).await? {
            out.statements.push(format!(
                "ALTER TABLE {} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} \
                 FOREIGN KEY ({}) REFERENCES {} ({}) NOT VALID",
                table.name,
                fk.columns.join(", "),
                moved.to,
                fk.ref_columns.join(", ")
            ));
            out.after_commit.push(format!(
                "ALTER TABLE {} VALIDATE CONSTRAINT {name}",
                table.name
            ));
        }
    }
    Ok(out)
}

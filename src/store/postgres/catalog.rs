//! What the tools beside the write path need of PostgreSQL ([`ToolDialect`]): tables and
//! columns of the current schema from the catalog, a view run with the caller's privileges,
//! foreign keys re-pointed `NOT VALID` then validated, and `paddock_state` locked exclusively.

use crate::store::dialect::{Dialect, Params, Repointing, TableMove, ToolDialect};
use crate::store::postgres::PgDialect;
use async_trait::async_trait;
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

/// `name` as a bound text parameter.
fn text(p: &mut Params<PgDialect>, name: &str) -> String {
    p.add(Value::Text(name.into()), ColumnType::Text)
}

#[async_trait]
impl ToolDialect for PgDialect {
    async fn lock_state_exclusively(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        Self::execute_once(conn, "LOCK TABLE paddock_state IN EXCLUSIVE MODE")
            .await
            .map(|_| ())
    }

    async fn table_exists(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
        let mut p = Params::new();
        let sql = format!(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = \
             current_schema() AND table_type = 'BASE TABLE' AND table_name = {}",
            text(&mut p, name)
        );
        Ok(!first_cells(conn, &sql, &p).await?.is_empty())
    }

    async fn table_columns(
        conn: &mut PgConnection,
        name: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut p = Params::new();
        let sql = format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = \
             current_schema() AND table_name = {} ORDER BY ordinal_position",
            text(&mut p, name)
        );
        first_cells(conn, &sql, &p).await
    }

    fn create_view_sql(view: &str, table: &str) -> String {
        format!("CREATE VIEW {view} WITH (security_invoker = true) AS SELECT * FROM {table}")
    }

    /// Each key of `table` referencing a moved parent is dropped and added again `NOT VALID`
    /// (a short lock), and validated after the commit.
    async fn repoint_foreign_keys(
        conn: &mut PgConnection,
        table: &Table,
        moves: &[TableMove<'_>],
    ) -> Result<Repointing, sqlx::Error> {
        let mut out = Repointing::default();
        for fk in table.foreign_keys {
            let Some(moved) = moves.iter().find(|m| m.parent == fk.ref_table) else {
                continue;
            };
            let mut p = Params::new();
            let sql = format!(
                "SELECT conname::text FROM pg_constraint WHERE contype = 'f' \
                 AND conrelid = {}::regclass AND confrelid = {}::regclass",
                text(&mut p, table.name),
                text(&mut p, moved.from),
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

    /// Keys are re-pointed `NOT VALID` instead: nothing to switch.
    async fn enforce_foreign_keys(_conn: &mut PgConnection, _on: bool) -> Result<(), sqlx::Error> {
        Ok(())
    }

    /// Every statement is checked as it runs.
    async fn foreign_key_violations(_conn: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
        Ok(Vec::new())
    }
}

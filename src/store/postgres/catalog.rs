//! What the tools beside the write path need of PostgreSQL ([`ToolDialect`]): the live schema
//! from `pg_catalog` (a named schema, for the audit) and tables and columns of the current
//! schema (the rename), a view run with the caller's privileges, foreign keys re-pointed
//! `NOT VALID` then validated, and `paddock_state` locked exclusively.

use crate::store::catalog::LiveTable;
use crate::store::catalog::{list, text as cell, Catalog, LiveColumn, LiveForeignKey, LiveIndex};
use crate::store::dialect::{
    Dialect, Params, Repointing, TableMove, ToolDialect, READER_POLICY_PREFIX,
};
use crate::store::postgres::PgDialect;
use crate::store::TextRow;
use async_trait::async_trait;
use fetchers::registry::{self, ColumnType, Table};
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

/// The rows of the catalog query `sql` writes around the placeholder of `schema`.
async fn in_schema(
    conn: &mut PgConnection,
    schema: &str,
    sql: impl FnOnce(&str) -> String,
) -> Result<Vec<TextRow>, sqlx::Error> {
    let mut p = Params::new();
    let sql = sql(&text(&mut p, schema));
    PgDialect::fetch_text(conn, &sql, p.values()).await
}

/// The names of the attributes `keys` (an `int2[]` of attribute numbers) of relation `rel`,
/// comma-separated in key order.
fn attribute_names(keys: &str, rel: &str) -> String {
    format!(
        "(SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) \
           FROM unnest({keys}) WITH ORDINALITY AS k(attnum, ord) \
           JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.attnum)"
    )
}

/// A block giving new data table `table` the reader policies (`paddock grants`) found on the
/// other data tables of the current schema, so a reader granted before the table existed reads
/// it too (its SELECT comes from the default privileges `grants` set).
fn copy_reader_policies_sql(table: &str) -> String {
    let prefix = READER_POLICY_PREFIX.replace('_', "\\_");
    format!(
        "DO $$ DECLARE p record; BEGIN \
         FOR p IN SELECT DISTINCT pol.polname::text AS name, \
           array_to_string(ARRAY(SELECT quote_ident(r.rolname) FROM pg_roles r \
             WHERE r.oid = ANY (pol.polroles) ORDER BY 1), ', ') AS roles \
           FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid \
           WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'ra\\_%' \
             AND c.relname <> '{table}' AND pol.polname LIKE '{prefix}%' \
         LOOP EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO %s USING (true)', \
           p.name, '{table}', p.roles); END LOOP; END $$"
    )
}

/// Every table and column of `schema`.
async fn read_columns(conn: &mut PgConnection, schema: &str) -> Result<Catalog, sqlx::Error> {
    let mut catalog = Catalog::default();
    let tables = in_schema(conn, schema, |schema| {
        format!(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = {schema} AND c.relkind IN ('r', 'p') \
             AND c.relname <> '_sqlx_migrations'"
        )
    })
    .await?;
    for row in tables {
        catalog.tables.insert(cell(&row[0]), LiveTable::default());
    }
    let columns = in_schema(conn, schema, |schema| {
        format!(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
             a.attnotnull::text, (a.attidentity <> '')::text, a.atthasdef::text, \
             CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE n.nspname = {schema} AND c.relkind IN ('r', 'p') AND a.attnum > 0 \
             AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
        )
    })
    .await?;
    for row in columns {
        if let Some(t) = catalog.tables.get_mut(&cell(&row[0])) {
            t.columns.push(LiveColumn {
                name: cell(&row[1]),
                ty: cell(&row[2]),
                not_null: cell(&row[3]) == "true",
                identity: cell(&row[4]) == "true",
                has_default: cell(&row[5]) == "true",
                default: row[6].clone(),
            });
        }
    }
    Ok(catalog)
}

/// The primary keys, foreign keys and indexes of `catalog`'s tables.
async fn read_keys(
    conn: &mut PgConnection,
    schema: &str,
    catalog: &mut Catalog,
) -> Result<(), sqlx::Error> {
    let constraints = in_schema(conn, schema, |schema| {
        format!(
            "SELECT cl.relname::text, con.conname::text, con.contype::text, \
             con.convalidated::text, {}, ref.relname::text, {} \
             FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = cl.relnamespace \
             LEFT JOIN pg_class ref ON ref.oid = con.confrelid \
             WHERE n.nspname = {schema} AND con.contype IN ('p', 'f') \
             ORDER BY cl.relname, con.conname",
            attribute_names("con.conkey", "con.conrelid"),
            attribute_names("con.confkey", "con.confrelid"),
        )
    })
    .await?;
    for row in constraints {
        let Some(t) = catalog.tables.get_mut(&cell(&row[0])) else {
            continue;
        };
        match cell(&row[2]).as_str() {
            "p" => t.primary_key = list(&row[4]),
            _ => t.foreign_keys.push(LiveForeignKey {
                name: cell(&row[1]),
                columns: list(&row[4]),
                ref_table: cell(&row[5]),
                ref_columns: list(&row[6]),
                validated: cell(&row[3]) == "true",
            }),
        }
    }
    let indexes = in_schema(conn, schema, |schema| {
        format!(
            "SELECT t.relname::text, i.relname::text, ix.indisunique::text, {} \
             FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = {schema} ORDER BY t.relname, i.relname",
            attribute_names("ix.indkey::int2[]", "ix.indrelid"),
        )
    })
    .await?;
    for row in indexes {
        if let Some(t) = catalog.tables.get_mut(&cell(&row[0])) {
            t.indexes.push(LiveIndex {
                name: cell(&row[1]),
                unique: cell(&row[2]) == "true",
                columns: list(&row[3]),
            });
        }
    }
    Ok(())
}

#[async_trait]
impl ToolDialect for PgDialect {
    async fn read_catalog(conn: &mut PgConnection, schema: &str) -> Result<Catalog, sqlx::Error> {
        let mut catalog = read_columns(conn, schema).await?;
        read_keys(conn, schema, &mut catalog).await?;
        Ok(catalog)
    }

    async fn has_migrations_table(
        conn: &mut PgConnection,
        schema: &str,
    ) -> Result<bool, sqlx::Error> {
        let found = in_schema(conn, schema, |schema| {
            format!(
                "SELECT c.relname::text FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = {schema} AND c.relname = '_sqlx_migrations'"
            )
        })
        .await?;
        Ok(!found.is_empty())
    }

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

    fn migrations_ledger_sql() -> String {
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, \
         description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), \
         success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)"
            .to_string()
    }

    fn bytes_literal(hex: &str) -> String {
        format!("'\\x{hex}'::bytea")
    }

    fn added_column_default(expr: &str) -> Option<String> {
        Some(format!("DEFAULT ({expr})"))
    }

    fn create_view_sql(view: &str, table: &str, columns: &str) -> String {
        format!(
            "CREATE VIEW {view} WITH (security_invoker = true) AS SELECT {columns} FROM {table}"
        )
    }

    fn row_level_security_sql(table: &str) -> Vec<String> {
        vec![
            format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"),
            copy_reader_policies_sql(table),
        ]
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
            // The parent's key under the name the target holds it (a key-mapped legacy table).
            let parent_key = registry::table(fk.ref_table).map_or(&[][..], |t| t.key);
            let ref_columns: Vec<&str> = (fk.ref_columns.iter())
                .map(|c| match moved.to_key {
                    Some(held) if parent_key == [*c] => held,
                    _ => c,
                })
                .collect();
            for name in first_cells(conn, &sql, &p).await? {
                out.statements.push(format!(
                    "ALTER TABLE {} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} \
                     FOREIGN KEY ({}) REFERENCES {} ({}) NOT VALID",
                    table.name,
                    fk.columns.join(", "),
                    moved.to,
                    ref_columns.join(", ")
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

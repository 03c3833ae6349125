//! What the tools beside the write path need of SQLite ([`ToolDialect`]): the live schema and
//! table existence from its catalog (`sqlite_master`, `pragma_*`), views, and foreign keys
//! re-pointed by SQLite's documented table rebuild (new table, copy, drop, rename, indexes)
//! with foreign keys off and checked before the commit. Its write transactions are serialized
//! already: no state lock to take.

use crate::store::catalog::{number, text as cell, Catalog, LiveColumn, LiveForeignKey};
use crate::store::catalog::{LiveIndex, LiveTable};
use crate::store::dialect::{Dialect, Params, Repointing, TableMove, ToolDialect};
use crate::store::sqlite::SqliteDialect;
use crate::store::TextRow;
use async_trait::async_trait;
use fetchers::registry::{self, ColumnType, Table};
use fetchers::rows::Value;
use sqlx::sqlite::SqliteConnection;
use std::collections::BTreeMap;

/// Every row of the query `sql` writes around the placeholder of the one text parameter
/// `name` (a table or an index).
async fn naming(
    conn: &mut SqliteConnection,
    name: &str,
    sql: impl FnOnce(&str) -> String,
) -> Result<Vec<TextRow>, sqlx::Error> {
    let mut p = Params::<SqliteDialect>::new();
    let sql = sql(&p.add(Value::Text(name.into()), ColumnType::Text));
    SqliteDialect::fetch_text(conn, &sql, p.values()).await
}

/// The first cell of every row [`naming`] reads (NULLs left out).
async fn first_cells(
    conn: &mut SqliteConnection,
    name: &str,
    sql: impl FnOnce(&str) -> String,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = naming(conn, name, sql).await?;
    Ok(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
}

/// Table `name` as the catalog describes it.
async fn read_table(conn: &mut SqliteConnection, name: &str) -> Result<LiveTable, sqlx::Error> {
    let mut live = LiveTable::default();
    let mut key: Vec<(u64, String)> = Vec::new();
    let columns = naming(conn, name, |t| {
        format!(
            "SELECT name, type, \"notnull\", pk, dflt_value IS NOT NULL, dflt_value \
             FROM pragma_table_info({t}) ORDER BY cid"
        )
    })
    .await?;
    for c in columns {
        let pk = number(&c[3]);
        let ty = cell(&c[1]).to_ascii_uppercase();
        let rowid_alias = pk > 0 && ty == "INTEGER";
        if pk > 0 {
            key.push((pk, cell(&c[0])));
        }
        live.columns.push(LiveColumn {
            name: cell(&c[0]),
            ty,
            not_null: number(&c[2]) == 1 || rowid_alias,
            identity: rowid_alias,
            has_default: number(&c[4]) == 1,
            default: c[5].clone(),
        });
    }
    key.sort();
    live.primary_key = key.into_iter().map(|(_, n)| n).collect();
    // A rowid alias only when the key is that single INTEGER column.
    if live.primary_key.len() != 1 {
        live.columns.iter_mut().for_each(|c| c.identity = false);
    }
    live.foreign_keys = read_foreign_keys(conn, name).await?;
    let indexes = naming(conn, name, |t| {
        format!("SELECT name, \"unique\" FROM pragma_index_list({t}) ORDER BY name")
    })
    .await?;
    for i in indexes {
        let index = cell(&i[0]);
        let columns = first_cells(conn, &index, |i| {
            format!("SELECT name FROM pragma_index_info({i}) ORDER BY seqno")
        })
        .await?;
        live.indexes.push(LiveIndex {
            name: index,
            columns,
            unique: number(&i[1]) == 1,
        });
    }
    Ok(live)
}

/// The foreign keys of table `name` (named `<table>_fk<id>`: SQLite's have no names).
async fn read_foreign_keys(
    conn: &mut SqliteConnection,
    name: &str,
) -> Result<Vec<LiveForeignKey>, sqlx::Error> {
    let rows = naming(conn, name, |t| {
        format!(
            "SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list({t}) \
             ORDER BY id, seq"
        )
    })
    .await?;
    let mut fks: BTreeMap<u64, LiveForeignKey> = BTreeMap::new();
    for f in rows {
        let id = number(&f[0]);
        let fk = fks.entry(id).or_insert_with(|| LiveForeignKey {
            name: format!("{name}_fk{id}"),
            columns: Vec::new(),
            ref_table: cell(&f[2]),
            ref_columns: Vec::new(),
            validated: true,
        });
        fk.columns.push(cell(&f[3]));
        fk.ref_columns.push(cell(&f[4]));
    }
    Ok(fks.into_values().collect())
}

/// Whether `expr` (a `dflt_value`) is a literal SQLite's `ALTER TABLE … ADD COLUMN` takes as a
/// default: a number (signed, decimal or hex), a quoted string, a blob, NULL, TRUE or FALSE.
/// `CURRENT_TIMESTAMP` and every other expression are not.
fn constant_literal(expr: &str) -> bool {
    let expr = expr.trim();
    let quoted = |s: &str| {
        s.len() >= 2
            && s.starts_with('\'')
            && s.ends_with('\'')
            && !s[1..s.len() - 1].replace("''", "").contains('\'')
    };
    let unsigned = expr.strip_prefix(['-', '+']).unwrap_or(expr).trim_start();
    let number = match unsigned.get(..2) {
        Some("0x" | "0X") => {
            unsigned.len() > 2 && unsigned[2..].chars().all(|c| c.is_ascii_hexdigit())
        }
        _ => {
            unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
                && (unsigned.chars()).all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
                && unsigned.parse::<f64>().is_ok()
        }
    };
    let blob = expr.starts_with(['x', 'X']) && quoted(&expr[1..]);
    let keyword = ["NULL", "TRUE", "FALSE"]
        .iter()
        .any(|k| expr.eq_ignore_ascii_case(k));
    number || quoted(expr) || blob || keyword
}

#[async_trait]
impl ToolDialect for SqliteDialect {
    async fn read_catalog(
        conn: &mut SqliteConnection,
        _schema: &str,
    ) -> Result<Catalog, sqlx::Error> {
        let sql = "SELECT name FROM sqlite_master WHERE type = 'table' \
                   AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name";
        let names = Self::fetch_text(conn, sql, &[]).await?;
        let mut catalog = Catalog::default();
        for row in names {
            let name = cell(&row[0]);
            let live = read_table(conn, &name).await?;
            catalog.tables.insert(name, live);
        }
        Ok(catalog)
    }

    async fn has_migrations_table(
        conn: &mut SqliteConnection,
        _schema: &str,
    ) -> Result<bool, sqlx::Error> {
        Self::table_exists(conn, "_sqlx_migrations").await
    }

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

    fn migrations_ledger_sql() -> String {
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, \
         description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
         success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)"
            .to_string()
    }

    fn bytes_literal(hex: &str) -> String {
        format!("X'{hex}'")
    }

    fn added_column_default(expr: &str) -> Option<String> {
        constant_literal(expr).then(|| format!("DEFAULT {}", expr.trim()))
    }

    fn create_view_sql(view: &str, table: &str, columns: &str) -> String {
        format!("CREATE VIEW {view} AS SELECT {columns} FROM {table}")
    }

    /// SQLite has no roles to keep out.
    fn row_level_security_sql(_table: &str) -> Vec<String> {
        Vec::new()
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
        for TableMove {
            from,
            to,
            from_key,
            to_key,
            parent,
        } in moves
        {
            ddl = ddl.replace(&format!("\"{from}\""), from);
            // A key-mapped legacy table is referenced through the column holding the key.
            if from_key.is_some() || to_key.is_some() {
                let key = registry::table(parent).map_or("id", |t| t.key[0]);
                let (held_from, held_to) = (from_key.unwrap_or(key), to_key.unwrap_or(key));
                for space in [" ", ""] {
                    ddl = ddl.replace(
                        &format!("REFERENCES {from}{space}({held_from})"),
                        &format!("REFERENCES {to} ({held_to})"),
                    );
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_literal_default_is_added_with_a_column() {
        for constant in [
            "0", "-1", "+2.5", "1e3", "0x1F", "'yes'", "'it''s'", "X'00ff'", "true",
        ] {
            assert_eq!(
                SqliteDialect::added_column_default(constant),
                Some(format!("DEFAULT {constant}")),
                "{constant}"
            );
        }
        for expression in [
            "CURRENT_TIMESTAMP",
            "datetime('now')",
            "1+2",
            "'a' || 'b'",
            "random()",
            "inf",
            "",
        ] {
            assert_eq!(
                SqliteDialect::added_column_default(expression),
                None,
                "{expression}"
            );
        }
    }
}

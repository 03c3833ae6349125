//! The live schema as the database reports it (PostgreSQL `pg_catalog`, SQLite `pragma_*`
//! functions): tables, columns, primary keys, foreign keys (with whether they are validated)
//! and indexes. Drift, wrong targets and the duplicate check compare this with the registry.

use crate::audit::db::{bind_text, count, text, AuditDb};
use crate::store::TextRow;
use std::collections::BTreeMap;

/// One live column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveColumn {
    pub name: String,
    /// PostgreSQL `format_type` (`bigint`, `timestamp with time zone`…) or SQLite's declared
    /// type in upper case.
    pub ty: String,
    pub not_null: bool,
    /// A PostgreSQL identity column, or SQLite's INTEGER PRIMARY KEY rowid alias.
    pub identity: bool,
}

/// One live foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// PostgreSQL: not `NOT VALID`. SQLite: always true (enforcement is per connection).
    pub validated: bool,
}

/// One live index (including those behind primary keys and unique constraints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveIndex {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

/// One live table.
#[derive(Debug, Clone, Default)]
pub struct LiveTable {
    pub columns: Vec<LiveColumn>,
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<LiveForeignKey>,
    pub indexes: Vec<LiveIndex>,
}

impl LiveTable {
    pub fn column(&self, name: &str) -> Option<&LiveColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether the primary key or a unique index covers exactly `key` (in any order).
    pub fn has_unique(&self, key: &[&str]) -> bool {
        let same = |cols: &[String]| {
            cols.len() == key.len() && key.iter().all(|k| cols.iter().any(|c| c == k))
        };
        same(&self.primary_key) || self.indexes.iter().any(|i| i.unique && same(&i.columns))
    }

    /// Whether some index (or the primary key) starts with `columns`.
    pub fn has_index_on(&self, columns: &[&str]) -> bool {
        let leads = |cols: &[String]| {
            cols.len() >= columns.len() && columns.iter().zip(cols).all(|(a, b)| a == b)
        };
        leads(&self.primary_key) || self.indexes.iter().any(|i| leads(&i.columns))
    }
}

/// Every table of the audited schema (without `_sqlx_migrations` and SQLite's own).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub tables: BTreeMap<String, LiveTable>,
}

/// Whether `_sqlx_migrations` exists.
pub async fn has_migrations_table(db: &AuditDb) -> anyhow::Result<bool> {
    let rows = match db.schema() {
        None => {
            db.rows(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
                 AND name = '_sqlx_migrations'",
            )
            .await?
        }
        Some(schema) => {
            db.query(|p| {
                format!(
                    "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = {} AND c.relname = '_sqlx_migrations'",
                    bind_text(p, schema)
                )
            })
            .await?
        }
    };
    Ok(rows.first().map(|r| count(&r[0])) == Some(1))
}

/// Reads the live schema.
pub async fn read(db: &AuditDb) -> anyhow::Result<Catalog> {
    // Each engine has its own catalog; only PostgreSQL has a schema (`AuditDb::schema`).
    match db.schema() {
        None => read_sqlite(db).await,
        Some(schema) => read_postgres(db, schema).await,
    }
}

fn split_list(cell: &Option<String>) -> Vec<String> {
    text(cell)
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The rows of the catalog query `sql` writes around the placeholder of `name` (a schema, a
/// table or an index), bound as text.
async fn naming(
    db: &AuditDb,
    name: &str,
    sql: impl FnOnce(&str) -> String,
) -> anyhow::Result<Vec<TextRow>> {
    db.query(|p| sql(&bind_text(p, name))).await
}

async fn read_postgres(db: &AuditDb, schema: &str) -> anyhow::Result<Catalog> {
    let mut catalog = Catalog::default();
    let tables = naming(db, schema, |schema| {
        format!(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = {schema} AND c.relkind IN ('r', 'p') \
             AND c.relname <> '_sqlx_migrations'"
        )
    })
    .await?;
    for row in tables {
        catalog.tables.insert(text(&row[0]), LiveTable::default());
    }
    let columns = naming(db, schema, |schema| {
        format!(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
             a.attnotnull::text, (a.attidentity <> '')::text \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = {schema} AND c.relkind IN ('r', 'p') AND a.attnum > 0 \
             AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
        )
    })
    .await?;
    for row in columns {
        if let Some(t) = catalog.tables.get_mut(&text(&row[0])) {
            t.columns.push(LiveColumn {
                name: text(&row[1]),
                ty: text(&row[2]),
                not_null: text(&row[3]) == "true",
                identity: text(&row[4]) == "true",
            });
        }
    }
    let attnames = |keys: &str, rel: &str| {
        format!(
            "(SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) \
               FROM unnest({keys}) WITH ORDINALITY AS k(attnum, ord) \
               JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.attnum)"
        )
    };
    let constraints = naming(db, schema, |schema| {
        format!(
            "SELECT cl.relname::text, con.conname::text, con.contype::text, \
             con.convalidated::text, {}, ref.relname::text, {} \
             FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = cl.relnamespace \
             LEFT JOIN pg_class ref ON ref.oid = con.confrelid \
             WHERE n.nspname = {schema} AND con.contype IN ('p', 'f') \
             ORDER BY cl.relname, con.conname",
            attnames("con.conkey", "con.conrelid"),
            attnames("con.confkey", "con.confrelid"),
        )
    })
    .await?;
    for row in constraints {
        let Some(t) = catalog.tables.get_mut(&text(&row[0])) else {
            continue;
        };
        match text(&row[2]).as_str() {
            "p" => t.primary_key = split_list(&row[4]),
            _ => t.foreign_keys.push(LiveForeignKey {
                name: text(&row[1]),
                columns: split_list(&row[4]),
                ref_table: text(&row[5]),
                ref_columns: split_list(&row[6]),
                validated: text(&row[3]) == "true",
            }),
        }
    }
    let indexes = naming(db, schema, |schema| {
        format!(
            "SELECT t.relname::text, i.relname::text, ix.indisunique::text, {} \
             FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = {schema} ORDER BY t.relname, i.relname",
            attnames("ix.indkey::int2[]", "ix.indrelid"),
        )
    })
    .await?;
    for row in indexes {
        if let Some(t) = catalog.tables.get_mut(&text(&row[0])) {
            t.indexes.push(LiveIndex {
                name: text(&row[1]),
                unique: text(&row[2]) == "true",
                columns: split_list(&row[3]),
            });
        }
    }
    Ok(catalog)
}

async fn read_sqlite(db: &AuditDb) -> anyhow::Result<Catalog> {
    let mut catalog = Catalog::default();
    let names = db
        .rows(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .await?;
    for row in names {
        let name = text(&row[0]);
        let mut live = LiveTable::default();
        let mut key: Vec<(u64, String)> = Vec::new();
        for c in naming(db, &name, |t| {
            format!("SELECT name, type, \"notnull\", pk FROM pragma_table_info({t}) ORDER BY cid")
        })
        .await?
        {
            let pk = count(&c[3]);
            let ty = text(&c[1]).to_ascii_uppercase();
            let rowid_alias = pk > 0 && ty == "INTEGER";
            if pk > 0 {
                key.push((pk, text(&c[0])));
            }
            live.columns.push(LiveColumn {
                name: text(&c[0]),
                ty,
                not_null: count(&c[2]) == 1 || rowid_alias,
                identity: rowid_alias,
            });
        }
        key.sort();
        live.primary_key = key.into_iter().map(|(_, n)| n).collect();
        // A rowid alias only when the key is that single INTEGER column.
        if live.primary_key.len() != 1 {
            live.columns.iter_mut().for_each(|c| c.identity = false);
        }
        let mut fks: BTreeMap<u64, LiveForeignKey> = BTreeMap::new();
        for f in naming(db, &name, |t| {
            format!(
                "SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list({t}) \
                     ORDER BY id, seq"
            )
        })
        .await?
        {
            let id = count(&f[0]);
            let fk = fks.entry(id).or_insert_with(|| LiveForeignKey {
                name: format!("{name}_fk{id}"),
                columns: Vec::new(),
                ref_table: text(&f[2]),
                ref_columns: Vec::new(),
                validated: true,
            });
            fk.columns.push(text(&f[3]));
            fk.ref_columns.push(text(&f[4]));
        }
        live.foreign_keys = fks.into_values().collect();
        for i in naming(db, &name, |t| {
            format!("SELECT name, \"unique\" FROM pragma_index_list({t}) ORDER BY name")
        })
        .await?
        {
            let index = text(&i[0]);
            let columns = naming(db, &index, |i| {
                format!("SELECT name FROM pragma_index_info({i}) ORDER BY seqno")
            })
            .await?
            .iter()
            .map(|r| text(&r[0]))
            .collect();
            live.indexes.push(LiveIndex {
                name: index,
                columns,
                unique: count(&i[1]) == 1,
            });
        }
        catalog.tables.insert(name, live);
    }
    Ok(catalog)
}

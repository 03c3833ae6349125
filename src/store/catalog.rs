//! The live schema as the database reports it (PostgreSQL `pg_catalog`, SQLite `pragma_*`
//! functions): tables, columns, primary keys, foreign keys (with whether they are validated)
//! and indexes. Each engine reads it in its `catalog.rs` ([`ToolDialect::read_catalog`]); the
//! audit's drift, wrong targets and duplicate checks compare it with the registry.
//!
//! [`ToolDialect::read_catalog`]: crate::store::dialect::ToolDialect::read_catalog

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
    /// The column has a default (a `serial`'s sequence included): an insert may leave it out.
    pub has_default: bool,
    /// The default's expression as the engine gives it back (PostgreSQL `pg_get_expr`, SQLite
    /// `dflt_value`); none for a generated column's expression.
    pub default: Option<String>,
}

impl LiveColumn {
    /// The default a copy of this column in another table may take: none for a column numbered
    /// by a sequence or an identity (a `serial`'s `nextval(…)`, an identity column, SQLite's
    /// rowid alias), whose copy holds the numbers already given.
    pub fn value_default(&self) -> Option<&str> {
        let expr = self.default.as_deref()?;
        let sequence = expr
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("nextval(");
        (!self.identity && !sequence).then_some(expr)
    }
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

/// A catalog cell as text, empty for NULL.
pub(in crate::store) fn text(cell: &Option<String>) -> String {
    cell.clone().unwrap_or_default()
}

/// A catalog cell as a number (0 for NULL or unparsable).
pub(in crate::store) fn number(cell: &Option<String>) -> u64 {
    cell.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A comma-separated catalog cell as its items.
pub(in crate::store) fn list(cell: &Option<String>) -> Vec<String> {
    text(cell)
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

//! What the rename keeps of an adopted legacy table beyond the registry (issue 19): `tables
//! begin` gives each `ra_mst_*` the legacy-only columns of its legacy table (same types,
//! nullable), the backfill copies their values with each batch, `verify` compares them, so
//! after `deprecate` and `drop-archived` nothing the legacy tables held is lost. Each carried
//! column keeps the legacy column's default (a sequence's aside), so rows Paddock writes after
//! the backfill hold the same value in both tables. A registry
//! column NOT NULL in `ra_mst_*` that legacy rows leave empty (an adopted database's
//! `created_at`, `race_date`) is created nullable, so every legacy row can be copied. And the
//! indexes `begin` creates take free names where the database already uses theirs.

use crate::config::AdoptMaps;
use crate::rename::phase::{legacy_name, renamed_tables};
use crate::store::catalog::{Catalog, LiveColumn};
use crate::store::dialect::{Params, ToolDialect};
use crate::store::physical::{surrogate_column, End};
use crate::store::tools::Statement;
use crate::store::SqlStore;
use anyhow::Result;
use fetchers::registry::{self, ColumnType, Table};
use fetchers::rows::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Whether `column` is one of `table`'s registry columns (audit columns included).
fn in_registry(table: &Table, column: &str) -> bool {
    table.all_columns().iter().any(|c| c.name == column)
}

/// A column `begin` carries into `ra_mst_*`: its name there, the legacy column's declared type
/// and default (none for a surrogate numbered by a sequence or identity:
/// [`LiveColumn::value_default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedColumn {
    pub name: String,
    pub ty: String,
    pub default: Option<String>,
}

impl CarriedColumn {
    fn of(name: String, live: &LiveColumn) -> Self {
        CarriedColumn {
            name,
            ty: live.ty.clone(),
            default: live.value_default().map(str::to_string),
        }
    }
}

/// The legacy-only columns of `table`'s legacy table in `catalog`, with their declared types
/// and defaults.
pub fn legacy_only_columns(catalog: &Catalog, table: &Table) -> Vec<CarriedColumn> {
    let Some(live) = catalog.tables.get(legacy_name(table)) else {
        return Vec::new();
    };
    (live.columns.iter())
        .filter(|c| !in_registry(table, &c.name))
        .map(|c| CarriedColumn::of(c.name.clone(), c))
        .collect()
}

/// The columns `begin` carries into `table.name` from its legacy table: the legacy-only ones
/// of [`legacy_only_columns`]; for a key-mapped legacy table (`key_as`, `[adopt.keys]`) the
/// key column left out (the new table's own key holds its values) and the surrogate, the
/// legacy column of the key's name, carried as [`surrogate_column`] (`legacy_id`, never with a
/// default: the copies give it the legacy numbers). Refused for a key-mapped table without
/// that surrogate column (nothing to carry `legacy_id` from).
pub fn carried_into_new(
    catalog: &Catalog,
    table: &Table,
    key_as: Option<&str>,
) -> Result<Vec<CarriedColumn>> {
    let mut carried = legacy_only_columns(catalog, table);
    let Some(key_as) = key_as else {
        return Ok(carried);
    };
    carried.retain(|c| c.name != key_as);
    let legacy = legacy_name(table);
    let surrogate = (catalog.tables.get(legacy))
        .and_then(|live| live.column(table.key[0]))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "tables begin: {legacy} is adopted with a key map ([adopt.keys] = {key_as:?}) \
                 but has no surrogate column {} to carry as {}: not supported (nothing changed)",
                table.key[0],
                surrogate_column(table)
            )
        })?;
    carried.push(CarriedColumn {
        name: surrogate_column(table),
        ty: surrogate.ty.clone(),
        default: None,
    });
    Ok(carried)
}

/// The end of a row copy that is `table`'s legacy table, under its name `name` (its archived
/// name at deprecate), with the column holding its key when key-mapped (`maps`).
pub fn legacy_end<'a>(maps: &'a AdoptMaps, table: &Table, name: &'a str) -> End<'a> {
    End {
        table: name,
        key_column: maps.key(table.name),
    }
}

/// The statements giving new table `table.name` the carried columns (nullable), each with the
/// legacy column's default where the engine takes it, so a row Paddock writes without them
/// holds in `ra_mst_*` what its legacy table gives it (the dual write's copies carry registry
/// and mapped columns only); and a note for each default left out (SQLite adds a column only
/// with a constant default: [`ToolDialect::added_column_default`]).
pub fn add_carried_columns<D: ToolDialect>(
    table: &Table,
    columns: &[CarriedColumn],
) -> (Vec<Statement<D>>, Vec<String>) {
    let mut notes = Vec::new();
    let statements = (columns.iter())
        .map(|c| {
            let default = c.default.as_deref().and_then(|expr| {
                let clause = D::added_column_default(expr);
                if clause.is_none() {
                    notes.push(format!(
                        "{}.{} carried without its legacy default {expr} (the engine adds a \
                         column only with a constant default): a row first written after the \
                         backfill holds NULL there (verify names it; run `tables backfill` \
                         again before `advance`)",
                        table.name, c.name
                    ));
                }
                clause
            });
            let default = default.map(|d| format!(" {d}")).unwrap_or_default();
            format!(
                "ALTER TABLE {} ADD COLUMN {} {}{default}",
                table.name, c.name, c.ty
            )
            .into()
        })
        .collect();
    (statements, notes)
}

/// The legacy-only columns the legacy table and the new table both have (what `begin` carried).
pub async fn carried_columns<D: ToolDialect>(
    store: &SqlStore<D>,
    table: &Table,
) -> Result<Vec<String>> {
    carried_columns_of(store, table, legacy_name(table)).await
}

/// [`carried_columns`] with the legacy table under `old` (its archived name at deprecate).
pub async fn carried_columns_of<D: ToolDialect>(
    store: &SqlStore<D>,
    table: &Table,
    old: &str,
) -> Result<Vec<String>> {
    let new = store.table_columns(table.name).await?;
    let legacy = store.table_columns(old).await?;
    Ok((legacy.into_iter())
        .filter(|c| !in_registry(table, c) && new.contains(c))
        .collect())
}

/// The statement copying `carried` columns legacy → new for the new rows with keys after
/// `cursor` up to `upper` (a backfill batch), written once for both engines.
pub fn copy_carried<D: ToolDialect>(
    table: &Table,
    legacy: End,
    carried: &[String],
    cursor: Option<&str>,
    upper: &str,
    key_type: ColumnType,
) -> Option<Statement<D>> {
    if carried.is_empty() {
        return None;
    }
    let (key, new) = (table.key[0], table.name);
    let (held, legacy) = (legacy.column(table, key), legacy.table);
    let mut p = Params::<D>::new();
    let lower = cursor
        .map(|c| format!("{key} > {} AND ", p.add(Value::Text(c.into()), key_type)))
        .unwrap_or_default();
    let upper = p.add(Value::Text(upper.into()), key_type);
    let list = carried.join(", ");
    let sql = format!(
        "UPDATE {new} SET ({list}) = (SELECT {list} FROM {legacy} l WHERE l.{held} = {new}.{key}) \
         WHERE {lower}{key} <= {upper}"
    );
    Some(Statement::new(sql, p))
}

/// Every name in use among the tables and indexes of `catalog`.
pub fn taken_names(catalog: &Catalog) -> BTreeSet<String> {
    let mut taken = BTreeSet::new();
    for (name, table) in &catalog.tables {
        taken.insert(name.clone());
        taken.extend(table.indexes.iter().map(|i| i.name.clone()));
    }
    taken
}

/// `wanted`, or the first free `wanted_N` (N from 2); the name is taken from then on.
pub fn free_name(taken: &mut BTreeSet<String>, wanted: &str) -> String {
    let chosen = (1..)
        .map(|n| match n {
            1 => wanted.to_string(),
            n => format!("{wanted}_{n}"),
        })
        .find(|n| !taken.contains(n))
        .expect("a free name");
    taken.insert(chosen.clone());
    chosen
}

/// Each `CREATE INDEX name ON` of `statements` whose name is taken gets a free one; returns
/// `(wanted, chosen)` for each renamed index.
pub fn free_index_names<D: ToolDialect>(
    statements: &mut [Statement<D>],
    taken: &mut BTreeSet<String>,
) -> Vec<(String, String)> {
    let mut chosen = Vec::new();
    for statement in statements.iter_mut() {
        let words: Vec<&str> = statement.sql.split_whitespace().collect();
        let ["CREATE", "INDEX", name, "ON", ..] = words.as_slice() else {
            continue;
        };
        let name = name.to_string();
        if !taken.contains(&name) {
            taken.insert(name);
            continue;
        }
        let free = free_name(taken, &name);
        statement.sql =
            statement
                .sql
                .replacen(&format!("INDEX {name} ON"), &format!("INDEX {free} ON"), 1);
        chosen.push((name, free));
    }
    chosen
}

/// Per renamed table, the registry's NOT NULL columns (the key aside) that some of its legacy
/// rows leave empty: one query for every table (a transition's preparation stays short).
pub async fn empty_in_legacy<D: ToolDialect>(
    store: &SqlStore<D>,
    catalog: &Catalog,
) -> Result<BTreeMap<&'static str, Vec<&'static str>>> {
    let mut checked: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for table in renamed_tables() {
        let Some(live) = catalog.tables.get(legacy_name(table)) else {
            continue;
        };
        let required: Vec<&'static str> = (table.all_columns().into_iter())
            .filter(|c| !c.nullable && !table.key.contains(&c.name))
            .map(|c| c.name)
            .filter(|c| live.column(c).is_some())
            .collect();
        if !required.is_empty() {
            checked.push((table.name, required));
        }
    }
    if checked.is_empty() {
        return Ok(BTreeMap::new());
    }
    let branches: Vec<String> = (checked.iter().enumerate())
        .map(|(i, (name, columns))| {
            let table = registry::table(name).expect("a registry table");
            let counts: Vec<String> = (columns.iter())
                .map(|c| format!("CAST(SUM(CASE WHEN {c} IS NULL THEN 1 ELSE 0 END) AS TEXT)"))
                .collect();
            format!(
                "SELECT {i}, COALESCE({}, '') FROM {}",
                counts.join(" || ',' || "),
                legacy_name(table)
            )
        })
        .collect();
    let rows = store.text_rows(&branches.join(" UNION ALL "), &[]).await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let index: usize = row[0].as_deref().unwrap_or_default().parse()?;
        let (name, columns) = &checked[index];
        let counts = row[1].clone().unwrap_or_default();
        let empty: Vec<&'static str> = (columns.iter().zip(counts.split(',')))
            .filter(|(_, n)| !n.is_empty() && *n != "0")
            .map(|(c, _)| *c)
            .collect();
        out.insert(*name, empty);
    }
    Ok(out)
}

/// `create`'s `CREATE TABLE` with `columns` declared without NOT NULL.
pub fn relax_not_null<D: ToolDialect>(
    table: &Table,
    create: &mut [Statement<D>],
    columns: &[&str],
) {
    let dialect = D::KIND.schema_dialect();
    let Some(ddl) = create
        .iter_mut()
        .find(|s| s.sql.starts_with("CREATE TABLE"))
    else {
        return;
    };
    for column in columns {
        if let Some(c) = table.all_columns().iter().find(|c| c.name == *column) {
            let declared = format!("{} {}", c.name, dialect.column_type(c.ty));
            ddl.sql = ddl
                .sql
                .replacen(&format!("{declared} NOT NULL"), &declared, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::catalog::LiveTable;
    use crate::store::tools::create_table_statements;
    use crate::store::{PgDialect, SqliteDialect};
    use fetchers::registry::TableName;

    #[test]
    fn a_taken_index_name_gets_the_first_free_suffix_and_others_keep_theirs() {
        let courses = TableName::COURSES.table();
        let mut statements = create_table_statements::<SqliteDialect>(courses, courses.name);
        let mut taken: BTreeSet<String> = ["idx_ra_mst_courses_region_code".to_string()].into();
        let renamed = free_index_names(&mut statements, &mut taken);
        assert_eq!(
            renamed,
            [(
                "idx_ra_mst_courses_region_code".to_string(),
                "idx_ra_mst_courses_region_code_2".to_string()
            )]
        );
        assert!(statements.iter().any(|s| s
            .sql
            .starts_with("CREATE INDEX idx_ra_mst_courses_region_code_2 ON")));
        assert_eq!(
            free_name(&mut taken, "idx_ra_mst_courses_region_code"),
            "idx_ra_mst_courses_region_code_3"
        );
    }

    /// A legacy `ra_bookmakers` as the catalog reads it: a serial surrogate `id`, the key in
    /// `code`, `is_active DEFAULT true`, `seen_at DEFAULT CURRENT_TIMESTAMP`.
    fn bookmakers_catalog() -> Catalog {
        let column = |name: &str, ty: &str, default: Option<&str>| LiveColumn {
            name: name.into(),
            ty: ty.into(),
            not_null: false,
            identity: false,
            has_default: default.is_some(),
            default: default.map(str::to_string),
        };
        let live = LiveTable {
            columns: vec![
                column(
                    "id",
                    "integer",
                    Some("nextval('ra_bookmakers_id_seq'::regclass)"),
                ),
                column("code", "character varying(50)", None),
                column("name", "character varying(100)", None),
                column("is_active", "boolean", Some("true")),
                column("seen_at", "timestamp", Some("CURRENT_TIMESTAMP")),
            ],
            ..LiveTable::default()
        };
        Catalog {
            tables: [("ra_bookmakers".to_string(), live)].into(),
        }
    }

    #[test]
    fn carried_columns_keep_their_legacy_defaults_but_the_surrogate_none() {
        let bookmakers = TableName::BOOKMAKERS.table();
        let carried = carried_into_new(&bookmakers_catalog(), bookmakers, Some("code")).unwrap();
        let defaults: Vec<(&str, Option<&str>)> = (carried.iter())
            .map(|c| (c.name.as_str(), c.default.as_deref()))
            .collect();
        assert_eq!(
            defaults,
            [
                ("is_active", Some("true")),
                ("seen_at", Some("CURRENT_TIMESTAMP")),
                ("legacy_id", None)
            ]
        );
        let (pg, notes) = add_carried_columns::<PgDialect>(bookmakers, &carried);
        let pg: Vec<&str> = pg.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            pg,
            [
                "ALTER TABLE ra_mst_bookmakers ADD COLUMN is_active boolean DEFAULT (true)",
                "ALTER TABLE ra_mst_bookmakers ADD COLUMN seen_at timestamp \
                 DEFAULT (CURRENT_TIMESTAMP)",
                "ALTER TABLE ra_mst_bookmakers ADD COLUMN legacy_id integer",
            ]
        );
        assert!(notes.is_empty(), "{notes:?}");
        let (sqlite, notes) = add_carried_columns::<SqliteDialect>(bookmakers, &carried);
        assert_eq!(
            sqlite[0].sql,
            "ALTER TABLE ra_mst_bookmakers ADD COLUMN is_active boolean DEFAULT true"
        );
        assert_eq!(
            sqlite[1].sql,
            "ALTER TABLE ra_mst_bookmakers ADD COLUMN seen_at timestamp"
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with(
                "ra_mst_bookmakers.seen_at carried without its legacy default CURRENT_TIMESTAMP"
            ),
            "{notes:?}"
        );
    }

    #[test]
    fn a_column_legacy_rows_leave_empty_is_declared_without_not_null() {
        let races = TableName::RACES.table();
        let mut statements = create_table_statements::<PgDialect>(races, races.name);
        relax_not_null(races, &mut statements, &["race_date"]);
        let ddl = &statements[0].sql;
        assert!(
            ddl.contains("race_date DATE,") && !ddl.contains("race_date DATE NOT NULL"),
            "{ddl}"
        );
        assert!(ddl.contains("course_id TEXT NOT NULL"), "{ddl}");
    }
}

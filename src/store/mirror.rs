//! The dual write's further tables. While a registry table is written under several physical
//! names (the rename's dual-write phases, [`PhysicalNames::written`]), the first name gets the
//! unit's upsert with every rule (ownership, no-erase, pre-race guard, change detection) and
//! each further name a copy of the first's rows for the keys the unit wrote, in the same
//! transaction. So the tables never disagree on a row both hold, even before the backfill has
//! copied history: a row the further table lacks is copied whole, never built from the
//! unit's columns alone (a racecard's horse stub would otherwise lack the profile's columns
//! and its `created_at`).
//!
//! A copied row may reference a master the further table lacks yet (a sire's `horse_id`):
//! those referenced rows are copied first, following the registry's foreign keys between
//! tables written under several names (acyclic, as the write order is).

use crate::store::dialect::{Conn, Dialect, Params};
use crate::store::physical::PhysicalNames;
use crate::store::plan::{value_of, WriteGroup};
use crate::store::upsert_sql::quote_ident;
use fetchers::registry::{self, ColumnType, Table};

/// Copies the rows of `group`'s keys from the table's first physical name to its `nth`.
pub async fn mirror_group<D: Dialect>(
    conn: &mut Conn<D>,
    physical: &PhysicalNames,
    group: &WriteGroup,
    nth: usize,
) -> Result<(), sqlx::Error> {
    let table = group.table;
    let per_statement = (D::LOOKUP_CHUNK / table.key.len()).max(1);
    for chunk in group.rows.chunks(per_statement) {
        let mut p = Params::<D>::new();
        let keys: Vec<String> = chunk
            .iter()
            .map(|row| {
                let items: Vec<String> = (table.key.iter())
                    .map(|k| p.add(value_of(row, k).clone(), key_type(table, k)))
                    .collect();
                format!("({})", items.join(", "))
            })
            .collect();
        let filter = format!("({}) IN ({})", column_list(table.key), keys.join(", "));
        let mut statements = Vec::new();
        mirror_statements(physical, table, nth, &filter, &mut statements);
        for sql in &statements {
            D::execute(conn, sql, p.values()).await?;
        }
    }
    Ok(())
}

fn key_type(table: &Table, column: &str) -> ColumnType {
    table.column(column).map_or(ColumnType::Text, |c| c.ty)
}

fn column_list(columns: &[&str]) -> String {
    (columns.iter())
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statements copying `table`'s rows matching `filter` (a condition on its first physical
/// table) to its `nth` name, after the rows they reference in tables also written under an
/// `nth` name. Each statement holds `filter` exactly once (its parameters bind once each).
pub fn mirror_statements(
    physical: &PhysicalNames,
    table: &Table,
    nth: usize,
    filter: &str,
    out: &mut Vec<String>,
) {
    let names = physical.written(table);
    let (Some(from), Some(to)) = (names.first(), names.get(nth)) else {
        return;
    };
    for fk in table.foreign_keys {
        let Some(parent) = registry::table(fk.ref_table) else {
            continue;
        };
        if parent.name == table.name || physical.written(parent).len() <= nth {
            continue;
        }
        let referenced = format!(
            "({}) IN (SELECT {} FROM {} WHERE {filter})",
            column_list(fk.ref_columns),
            column_list(fk.columns),
            quote_ident(from)
        );
        mirror_statements(physical, parent, nth, &referenced, out);
    }
    let mapped: Vec<&str> = (physical.mirrors(table).into_iter())
        .map(|(legacy, _)| legacy)
        .collect();
    out.push(copy_sql(table, from, to, filter, &mapped));
}

/// `INSERT INTO to … SELECT … FROM from WHERE filter ON CONFLICT (key) DO UPDATE` of every
/// registry column, writing only rows that differ. `legacy` columns (both tables have them: an
/// adopted table's mapped or carried legacy-only columns) are copied too, a NULL never erasing
/// a stored value.
pub fn copy_sql(table: &Table, from: &str, to: &str, filter: &str, legacy: &[&str]) -> String {
    let mut columns: Vec<&str> = table.all_columns().iter().map(|c| c.name).collect();
    columns.extend(legacy.iter().copied());
    let list = column_list(&columns);
    let target = quote_ident(to);
    let rest: Vec<&str> = (columns.iter().copied())
        .filter(|c| !table.key.contains(c))
        .collect();
    let on_conflict = if rest.is_empty() {
        "DO NOTHING".to_string()
    } else {
        let set: Vec<String> = (rest.iter())
            .map(|c| match legacy.contains(c) {
                false => format!("{0} = excluded.{0}", quote_ident(c)),
                true => format!("{0} = COALESCE(excluded.{0}, {target}.{0})", quote_ident(c)),
            })
            .collect();
        let differs: Vec<String> = (rest.iter().map(|c| quote_ident(c)))
            .map(|c| format!("{target}.{c} IS DISTINCT FROM excluded.{c}"))
            .collect();
        format!(
            "DO UPDATE SET {} WHERE {}",
            set.join(", "),
            differs.join(" OR ")
        )
    };
    format!(
        "INSERT INTO {target} ({list}) SELECT {list} FROM {} WHERE {filter} \
         ON CONFLICT ({}) {on_conflict}",
        quote_ident(from),
        column_list(table.key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fetchers::registry::names;

    #[test]
    fn a_mirrored_sire_brings_its_horse_first_and_tables_under_one_name_are_left_alone() {
        let physical = PhysicalNames::registry()
            .map(names::HORSES, &["ra_horses", "ra_mst_horses"])
            .unwrap()
            .map(names::SIRES, &["ra_sires", "ra_mst_sires"])
            .unwrap();
        let sires = registry::TableName::SIRES.table();
        let mut out = Vec::new();
        mirror_statements(&physical, sires, 1, "(\"id\") IN ($1)", &mut out);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(
            out[0].starts_with("INSERT INTO \"ra_mst_horses\"")
                && out[0].contains(
                    "FROM \"ra_horses\" WHERE (\"id\") IN (SELECT \"horse_id\" FROM \"ra_sires\" \
                     WHERE (\"id\") IN ($1))"
                ),
            "{}",
            out[0]
        );
        assert!(
            out[1].starts_with("INSERT INTO \"ra_mst_sires\""),
            "{}",
            out[1]
        );
        assert!(out[1].contains("IS DISTINCT FROM excluded."), "{}", out[1]);
        // Courses under one name: a race copies no course.
        let physical = PhysicalNames::registry()
            .map(names::RACES, &["ra_races", "ra_mst_races"])
            .unwrap();
        let mut out = Vec::new();
        let races = registry::TableName::RACES.table();
        mirror_statements(&physical, races, 1, "true", &mut out);
        assert_eq!(out.len(), 1);
        mirror_statements(&physical, races, 2, "true", &mut out);
        assert_eq!(out.len(), 1, "no third name: nothing to copy");
    }
}

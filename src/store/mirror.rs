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
//!
//! A key-mapped legacy table (`[adopt.keys]`, the predecessor's `ra_bookmakers`: a surrogate
//! `id`, the registry key in `code`) is copied under translation ([`End`], `physical.rs`): its key column
//! holds the new table's `id`, its surrogate goes to the new table's `legacy_id`
//! ([`surrogate_column`]); copied the other way the surrogate is never written (the legacy
//! default numbers a new row) and is read back into `legacy_id` ([`surrogate_back_sql`]).

use crate::store::dialect::{Conn, Dialect, Params};
use crate::store::physical::{surrogate_column, End, PhysicalNames};
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
    let first = physical.written(table)[0];
    let key: Vec<&str> = (table.key.iter())
        .map(|k| physical.column(table, first, k))
        .collect();
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
        let filter = format!("({}) IN ({})", column_list(&key), keys.join(", "));
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
        let parent_first = physical.written(parent)[0];
        let ref_columns: Vec<&str> = (fk.ref_columns.iter())
            .map(|r| physical.column(parent, parent_first, r))
            .collect();
        let referenced = format!(
            "({}) IN (SELECT {} FROM {} WHERE {filter})",
            column_list(&ref_columns),
            column_list(fk.columns),
            quote_ident(from)
        );
        mirror_statements(physical, parent, nth, &referenced, out);
    }
    let mapped: Vec<&str> = (physical.mirrors(table).into_iter())
        .map(|(legacy, _)| legacy)
        .collect();
    let (from, to) = (physical.end(table, from), physical.end(table, to));
    out.push(copy_sql(table, from, to, filter, &mapped));
    out.extend(surrogate_back_sql(table, from, to, filter));
}

/// After a copy from a new table to a key-mapped legacy one (`to` has a key column), the
/// statement reading each copied row's surrogate (numbered by the legacy default) back into
/// the new table's [`surrogate_column`] where that is empty; `filter` is the copy's, on `from`.
pub fn surrogate_back_sql(table: &Table, from: End, to: End, filter: &str) -> Option<String> {
    let (Some(held), None) = (to.key_column, from.key_column) else {
        return None;
    };
    let (key, surrogate) = (table.key[0], surrogate_column(table));
    Some(format!(
        "UPDATE {new} SET {s} = (SELECT l.{key} FROM {legacy} l WHERE l.{held} = {new}.{key}) \
         WHERE {s} IS NULL AND {filter}",
        new = quote_ident(from.table),
        legacy = quote_ident(to.table),
        s = quote_ident(&surrogate),
        key = quote_ident(key),
        held = quote_ident(held),
    ))
}

/// `INSERT INTO to … SELECT … FROM from WHERE filter ON CONFLICT (key) DO UPDATE` of every
/// registry column, writing only rows that differ. `legacy` columns (both tables have them: an
/// adopted table's mapped or carried legacy-only columns) are copied too, a NULL never erasing
/// a stored value. A key-mapped end ([`End::key_column`]) holds the key in its key column; a
/// copy from one to a table keyed by the registry carries its surrogate into
/// [`surrogate_column`] (as a legacy column), a copy the other way never writes the surrogate.
pub fn copy_sql(table: &Table, from: End, to: End, filter: &str, legacy: &[&str]) -> String {
    let mut pairs: Vec<(&str, &str, bool)> = (table.all_columns().iter())
        .map(|c| (from.column(table, c.name), to.column(table, c.name), false))
        .collect();
    pairs.extend(legacy.iter().map(|c| (*c, *c, true)));
    let surrogate = surrogate_column(table);
    if from.key_column.is_some() && to.key_column.is_none() {
        pairs.push((table.key[0], surrogate.as_str(), true));
    }
    let key: Vec<&str> = table.key.iter().map(|k| to.column(table, k)).collect();
    let sources: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    let targets: Vec<&str> = pairs.iter().map(|p| p.1).collect();
    let target = quote_ident(to.table);
    let rest: Vec<(&str, bool)> = (pairs.iter())
        .filter(|p| !key.contains(&p.1))
        .map(|p| (p.1, p.2))
        .collect();
    let on_conflict = if rest.is_empty() {
        "DO NOTHING".to_string()
    } else {
        let set: Vec<String> = (rest.iter())
            .map(|(c, legacy)| match legacy {
                false => format!("{0} = excluded.{0}", quote_ident(c)),
                true => format!("{0} = COALESCE(excluded.{0}, {target}.{0})", quote_ident(c)),
            })
            .collect();
        let differs: Vec<String> = (rest.iter().map(|(c, _)| quote_ident(c)))
            .map(|c| format!("{target}.{c} IS DISTINCT FROM excluded.{c}"))
            .collect();
        format!(
            "DO UPDATE SET {} WHERE {}",
            set.join(", "),
            differs.join(" OR ")
        )
    };
    format!(
        "INSERT INTO {target} ({}) SELECT {} FROM {} WHERE {filter} \
         ON CONFLICT ({}) {on_conflict}",
        column_list(&targets),
        column_list(&sources),
        quote_ident(from.table),
        column_list(&key)
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

    #[test]
    fn a_key_mapped_table_is_copied_under_the_translation_both_ways() {
        let mut maps = crate::config::AdoptMaps::default();
        maps.keys.insert(names::BOOKMAKERS.into(), "code".into());
        let bookmakers = registry::TableName::BOOKMAKERS.table();
        // Dual write: legacy first; its key column and surrogate land in id and legacy_id.
        let physical = PhysicalNames::registry()
            .map(names::BOOKMAKERS, &["ra_bookmakers", "ra_mst_bookmakers"])
            .unwrap()
            .with_maps(maps.clone());
        let mut out = Vec::new();
        mirror_statements(&physical, bookmakers, 1, "(\"code\") IN ($1)", &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(
            out[0].starts_with("INSERT INTO \"ra_mst_bookmakers\" (\"id\", ")
                && out[0].contains("\"legacy_id\") SELECT \"code\", ")
                && out[0].contains(", \"id\" FROM \"ra_bookmakers\"")
                && out[0].contains("ON CONFLICT (\"id\")")
                && out[0].contains("\"legacy_id\" = COALESCE(excluded.\"legacy_id\""),
            "{}",
            out[0]
        );
        // Switch-readers: new first; the key into code, the surrogate left to its default and
        // read back into legacy_id.
        let physical = PhysicalNames::registry()
            .map(names::BOOKMAKERS, &["ra_mst_bookmakers", "ra_bookmakers"])
            .unwrap()
            .with_maps(maps);
        let mut out = Vec::new();
        mirror_statements(&physical, bookmakers, 1, "(\"id\") IN ($1)", &mut out);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(
            out[0].starts_with("INSERT INTO \"ra_bookmakers\" (\"code\", ")
                && out[0].contains("SELECT \"id\", ")
                && out[0].contains("ON CONFLICT (\"code\")")
                && !out[0].contains("legacy_id"),
            "{}",
            out[0]
        );
        assert_eq!(
            out[1],
            "UPDATE \"ra_mst_bookmakers\" SET \"legacy_id\" = (SELECT l.\"id\" FROM \
             \"ra_bookmakers\" l WHERE l.\"code\" = \"ra_mst_bookmakers\".\"id\") WHERE \
             \"legacy_id\" IS NULL AND (\"id\") IN ($1)"
        );
    }
}

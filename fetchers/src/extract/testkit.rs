//! Test helpers for extractor output: find rows, and check that a unit of work is sound (every
//! row validates against the registry, every foreign key resolves inside the unit).

use crate::registry;
use crate::rows::{Row, UnitOfWork, Value};

/// The rows of one table, in order.
pub(crate) fn rows_of<'a>(unit: &'a UnitOfWork, table: &str) -> Vec<&'a Row> {
    unit.rows.iter().filter(|r| r.table == table).collect()
}

/// The first row of `table` whose natural key is `key`.
pub(crate) fn find<'a>(unit: &'a UnitOfWork, table: &str, key: &[&str]) -> Option<&'a Row> {
    unit.rows
        .iter()
        .find(|r| r.table == table && r.key() == key)
}

/// Every row validates, and for every row, every non-NULL foreign key names a row of the
/// referenced table present in the same unit.
pub(crate) fn assert_sound(unit: &UnitOfWork) {
    for row in &unit.rows {
        if let Err(e) = row.validate() {
            panic!("invalid row {row:?}: {e}");
        }
    }
    for row in &unit.rows {
        let table = registry::table(row.table).unwrap();
        for fk in table.foreign_keys {
            let values: Option<Vec<String>> = fk
                .columns
                .iter()
                .map(|c| match row.values.get(c) {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.key_text()),
                })
                .collect();
            let Some(values) = values else { continue };
            let found = unit.rows.iter().any(|r| {
                r.table == fk.ref_table
                    && fk
                        .ref_columns
                        .iter()
                        .zip(&values)
                        .all(|(c, v)| r.values.get(c).map(Value::key_text).as_ref() == Some(v))
            });
            assert!(
                found,
                "{}.{:?} = {:?} has no {} row in the unit",
                row.table, fk.columns, values, fk.ref_table
            );
        }
    }
}

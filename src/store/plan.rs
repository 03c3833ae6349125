//! The write plan of a unit of work, shared by both backends: every row validated against the
//! registry, rows merged by key per (table, source), and the groups put in the registry's
//! foreign-key order, each with the columns its source may write and its rows set.

use fetchers::order::registry_order;
use fetchers::registry::{self, Access, Column, Source, Table, TableKind};
use fetchers::rows::{dedupe, Reject, Row, RowError, Value};
use fetchers::store::StoreError;
use std::collections::BTreeMap;

/// One column an upsert writes, with how its source may write it.
#[derive(Debug, Clone, Copy)]
pub struct WriteColumn {
    pub column: &'static Column,
    pub access: Access,
}

impl WriteColumn {
    pub fn name(&self) -> &'static str {
        self.column.name
    }

    /// A NOT NULL column that is not part of the key: a row bringing NULL for it must take
    /// the stored value when the row exists (see [`WriteGroup::needs_stored_required_values`]).
    pub fn is_required_non_key(&self) -> bool {
        !self.column.nullable && self.access != Access::Key
    }
}

/// The columns one source writes in one table: the key columns plus every column the
/// source owns or fills, in declaration order.
pub fn write_columns(table: &'static Table, source: Source) -> Vec<WriteColumn> {
    table
        .writable_by(source)
        .into_iter()
        .map(|(column, access)| WriteColumn { column, access })
        .collect()
}

/// [`write_columns`] less the nullable non-key columns none of `rows` sets: such a column
/// changes nothing on either path (an insert stores NULL, which it would be anyway, no column
/// of a Paddock table having another default; an update keeps the stored value, as a NULL
/// never erases), so it stays out of the statement instead of costing a bound NULL per row —
/// a racecard runner sets about 12 of the 30 columns its source may write.
pub fn columns_set_by(table: &'static Table, source: Source, rows: &[Row]) -> Vec<WriteColumn> {
    write_columns(table, source)
        .into_iter()
        .filter(|c| {
            c.access == Access::Key
                || !c.column.nullable
                || rows.iter().any(|r| !value_of(r, c.name()).is_null())
        })
        .collect()
}

/// Rows of one table from one source, merged by key: applied as one bulk upsert.
#[derive(Debug)]
pub struct WriteGroup {
    pub table: &'static Table,
    pub source: Source,
    pub columns: Vec<WriteColumn>,
    pub rows: Vec<Row>,
}

static NULL: Value = Value::Null;

/// The value `row` brings for `column`: NULL when the row does not set it.
pub fn value_of<'r>(row: &'r Row, column: &str) -> &'r Value {
    row.values.get(column).unwrap_or(&NULL)
}

impl WriteGroup {
    /// Whether some row brings NULL for a NOT NULL non-key column. Such an upsert must take
    /// the stored value for rows that already exist, because both engines check NOT NULL on
    /// the proposed row before they look for a conflict.
    pub fn needs_stored_required_values(&self, rows: &[Row]) -> bool {
        self.columns
            .iter()
            .filter(|c| c.is_required_non_key())
            .any(|c| rows.iter().any(|r| value_of(r, c.name()).is_null()))
    }

    /// Whether the upsert has anything to update on conflict.
    pub fn has_updatable_columns(&self) -> bool {
        self.columns.iter().any(|c| c.access != Access::Key)
    }
}

/// Validates every row, then groups and orders them. Nothing is written when a row is invalid.
pub fn plan_unit(rows: &[Row]) -> Result<Vec<WriteGroup>, StoreError> {
    for row in rows {
        row.validate()?;
        let table = registry::table(row.table)
            .ok_or_else(|| RowError::UnknownTable(row.table.to_string()))?;
        // Bookkeeping and derived tables are never written from payloads.
        if matches!(table.kind, TableKind::Operations | TableKind::Derived) {
            return Err(RowError::UnknownTable(row.table.to_string()).into());
        }
    }
    let order = registry_order();
    let position = |name: &str| order.iter().position(|t| *t == name).unwrap_or(usize::MAX);
    let mut groups: Vec<WriteGroup> = dedupe(rows)
        .into_iter()
        .filter_map(|((table_name, source), rows)| {
            let table = registry::table(table_name)?;
            Some(WriteGroup {
                table,
                source,
                columns: columns_set_by(table, source, &rows),
                rows,
            })
        })
        .collect();
    // Stable: ties (one table from several sources) keep the sources' order.
    groups.sort_by_key(|g| position(g.table.name));
    Ok(groups)
}

/// Rejected records per target table.
pub fn rejects_per_table(rejects: &[Reject]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in rejects {
        *out.entry(r.table.to_string()).or_insert(0) += 1;
    }
    out
}

/// A row's key for messages: `hrs_1`, or `(rac_1, hrs_1)` for a composite key.
pub fn display_key(parts: &[String]) -> String {
    match parts {
        [single] => single.clone(),
        many => format!("({})", many.join(", ")),
    }
}

/// The rows per statement that keep `rows × columns_per_row + fixed` at or below `max_params`.
pub fn rows_per_chunk(columns_per_row: usize, fixed: usize, max_params: usize) -> usize {
    (max_params.saturating_sub(fixed) / columns_per_row.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_the_foreign_key_order_whatever_the_row_order() {
        let rows = vec![
            Row::new("ra_runners", Source::Racecard)
                .set("race_id", "rac_1")
                .set("horse_id", "hrs_1"),
            Row::new("ra_mst_races", Source::Racecard)
                .set("id", "rac_1")
                .set("course_id", "crs_1"),
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", "hrs_1")
                .set("name", "A"),
        ];
        let groups = plan_unit(&rows).unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.table.name).collect();
        assert_eq!(names, ["ra_mst_horses", "ra_mst_races", "ra_runners"]);
    }

    #[test]
    fn an_invalid_row_fails_the_whole_plan() {
        let rows = vec![Row::new("ra_runners", Source::Racecard)
            .set("race_id", "rac_1")
            .set("horse_id", "hrs_1")
            .set("position", 1i64)];
        assert!(matches!(plan_unit(&rows), Err(StoreError::InvalidRow(_))));
    }

    #[test]
    fn a_nullable_column_no_row_sets_stays_out_of_the_statement_and_keys_and_required_stay_in() {
        let runners = registry::table("ra_runners").unwrap();
        let rows = vec![
            Row::new("ra_runners", Source::Racecard)
                .set("race_id", "rac_1")
                .set("horse_id", "hrs_1")
                .set("draw", 3i64),
            Row::new("ra_runners", Source::Racecard)
                .set("race_id", "rac_1")
                .set("horse_id", "hrs_2")
                .set("spotlight", Value::Null),
        ];
        let names: Vec<&str> = columns_set_by(runners, Source::Racecard, &rows)
            .iter()
            .map(|c| c.name())
            .collect();
        let required: Vec<&str> = write_columns(runners, Source::Racecard)
            .iter()
            .filter(|c| c.access == Access::Key || !c.column.nullable)
            .map(|c| c.name())
            .collect();
        assert!(names.contains(&"draw"), "{names:?}");
        assert!(!names.contains(&"spotlight"), "{names:?}");
        assert!(!names.contains(&"jockey_id"), "{names:?}");
        assert!(required.iter().all(|c| names.contains(c)), "{names:?}");
        assert!(required.contains(&"race_id") && required.contains(&"horse_id"));
    }

    #[test]
    fn chunks_respect_the_parameter_limit() {
        assert_eq!(rows_per_chunk(55, 2, 32_000), 581);
        assert!(rows_per_chunk(55, 2, 32_000) * 55 + 2 <= 32_000);
        assert_eq!(rows_per_chunk(100_000, 2, 32_000), 1);
    }
}

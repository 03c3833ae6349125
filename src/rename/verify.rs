//! `paddock tables verify`: legacy vs `ra_mst_*` per table (row counts, key sets, every
//! column of every row) and orphan counts for every foreign key of the new layout. Each
//! difference is named by table, key and column.

use crate::config::AdoptMaps;
use crate::rename::carry::{carried_columns, legacy_end};
use crate::rename::phase::{legacy_name, renamed_tables};
use crate::store::dialect::ToolDialect;
use crate::store::physical::surrogate_column;
use crate::store::{SqlStore, TextRow};
use anyhow::Result;
use fetchers::registry::{Table, TABLES};

/// How many example keys a difference names.
const EXAMPLES: usize = 10;

/// Row counts of one renamed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCounts {
    pub table: &'static str,
    pub legacy_rows: i64,
    pub new_rows: i64,
}

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub counts: Vec<TableCounts>,
    /// Each difference in words: `ra_mst_horses: key hrs_1 column name differs`, …
    pub differences: Vec<String>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Every row of `sql` (no parameters: only registry names and constants).
async fn rows<D: ToolDialect>(store: &SqlStore<D>, sql: &str) -> Result<Vec<TextRow>> {
    store.text_rows(sql, &[]).await
}

/// The one integer `sql` returns (`SELECT COUNT(*) …`).
pub async fn count<D: ToolDialect>(store: &SqlStore<D>, sql: &str) -> Result<i64> {
    let rows = rows(store, sql).await?;
    let cell = rows.first().and_then(|r| r.first().cloned().flatten());
    Ok(cell.as_deref().unwrap_or("0").trim().parse()?)
}

/// Compares every renamed table with its legacy table and counts orphans of every foreign key
/// among the registry's (new) names.
pub async fn verify<D: ToolDialect>(store: &SqlStore<D>) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let maps = crate::rename::state::stored_maps(store).await?;
    for table in renamed_tables() {
        compare_table(store, &maps, table, &mut report).await?;
    }
    // A derived table Paddock skips holds another system's rows under its name (adopt).
    let skipped = crate::derive::skipped_in(store).await?;
    let checked =
        (TABLES.iter()).filter(|t| !t.foreign_keys.is_empty() && !skipped.contains_key(t.name));
    for table in checked {
        for (columns, parent, orphans) in orphan_counts(store, table).await? {
            if orphans > 0 {
                report.differences.push(format!(
                    "{}: {orphans} row(s) whose ({columns}) have no row in {parent}",
                    table.name
                ));
            }
        }
    }
    Ok(report)
}

/// Compares `table` with its legacy table, a key-mapped one (`maps`, `[adopt.keys]`) under the
/// translation: its key column against the new `id`, its surrogate against `legacy_id`.
async fn compare_table<D: ToolDialect>(
    store: &SqlStore<D>,
    maps: &AdoptMaps,
    table: &Table,
    report: &mut VerifyReport,
) -> Result<()> {
    let (legacy, new) = (legacy_name(table), table.name);
    let key = table.key[0];
    let held = legacy_end(maps, table, legacy).column(table, key);
    let legacy_rows = count(store, &format!("SELECT COUNT(*) FROM {legacy}")).await?;
    let new_rows = count(store, &format!("SELECT COUNT(*) FROM {new}")).await?;
    report.counts.push(TableCounts {
        table: new,
        legacy_rows,
        new_rows,
    });
    if legacy_rows != new_rows {
        report.differences.push(format!(
            "{new}: {new_rows} row(s) but {legacy} has {legacy_rows}"
        ));
    }
    for ((from, from_key), (to, to_key)) in
        [((legacy, held), (new, key)), ((new, key), (legacy, held))]
    {
        let missing = rows(
            store,
            &format!(
                "SELECT CAST(a.{from_key} AS TEXT) FROM {from} a WHERE NOT EXISTS \
                 (SELECT 1 FROM {to} b WHERE b.{to_key} = a.{from_key}) ORDER BY a.{from_key} \
                 LIMIT {EXAMPLES}"
            ),
        )
        .await?;
        for row in missing {
            report.differences.push(format!(
                "{to}: key {} of {from} is missing",
                row[0].clone().unwrap_or_default()
            ));
        }
    }
    // The registry's columns and the legacy-only ones `begin` carried (`carry.rs`), as
    // `(legacy column, new column)`: a key-mapped table's key in its key column, its
    // surrogate as `legacy_id`.
    let mut columns: Vec<(String, String)> = (table.all_columns().iter())
        .filter(|c| c.name != key)
        .map(|c| (c.name.into(), c.name.into()))
        .collect();
    columns.extend(
        carried_columns(store, table)
            .await?
            .into_iter()
            .map(|c| (c.clone(), c)),
    );
    if held != key {
        columns.push((key.into(), surrogate_column(table)));
    }
    let differing_columns = columns
        .iter()
        .map(|(a, b)| format!("CASE WHEN a.{a} IS DISTINCT FROM b.{b} THEN '{b} ' ELSE '' END"))
        .collect::<Vec<_>>()
        .join(" || ");
    let any_differs = columns
        .iter()
        .map(|(a, b)| format!("a.{a} IS DISTINCT FROM b.{b}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let differing = rows(
        store,
        &format!(
            "SELECT CAST(a.{held} AS TEXT), {differing_columns} FROM {legacy} a \
             JOIN {new} b ON b.{key} = a.{held} WHERE {any_differs} ORDER BY a.{held} \
             LIMIT {EXAMPLES}"
        ),
    )
    .await?;
    for row in differing {
        let key_value = row[0].clone().unwrap_or_default();
        for column in row[1].clone().unwrap_or_default().split_whitespace() {
            report.differences.push(format!(
                "{new}: key {key_value} column {column} differs from {legacy}"
            ));
        }
    }
    Ok(())
}

/// `(columns, parent table, orphan rows)` for every foreign key of `table`.
async fn orphan_counts<D: ToolDialect>(
    store: &SqlStore<D>,
    table: &Table,
) -> Result<Vec<(String, String, i64)>> {
    let mut out = Vec::new();
    for fk in table.foreign_keys {
        let present = fk
            .columns
            .iter()
            .map(|c| format!("c.{c} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let joined = fk
            .columns
            .iter()
            .zip(fk.ref_columns)
            .map(|(c, r)| format!("p.{r} = c.{c}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let orphans = count(
            store,
            &format!(
                "SELECT COUNT(*) FROM {} c WHERE {present} AND NOT EXISTS \
                 (SELECT 1 FROM {} p WHERE {joined})",
                table.name, fk.ref_table
            ),
        )
        .await?;
        out.push((fk.columns.join(", "), fk.ref_table.to_string(), orphans));
    }
    Ok(out)
}

//! Coverage: for every column a source owns, the share of non-null values, overall and per
//! month of race date, grouped by the owning source. One grouped scan per table computes every
//! column at once (never a scan per column). A column that was filling and then drops to
//! (almost) nothing in a later month is a *cliff*, a violation; gaps the registry expects
//! ([`fetchers::registry::EXPECTED_GAPS`]) are shown but never counted.
//!
//! Result-owned columns of races and runners count only rows of races that have a result: a
//! race still to be run has no result columns yet, which is not a gap.

use crate::audit::db::{count, ident, AuditDb};
use crate::audit::report::{ColumnCoverage, MonthCoverage};
use crate::store::catalog::Catalog;
use crate::store::TextRow;
use fetchers::registry::{expected_gap, names, Column, Source, Table, TableKind, Writers, TABLES};

/// A month at or above this share counts as filling…
pub const FILLING_SHARE: f64 = 0.5;
/// …and a following month at or below this share is a cliff.
pub const CLIFF_SHARE: f64 = 0.05;

/// Where a table's race date comes from.
enum RaceDate {
    /// The table is the races table.
    Own,
    /// Through `race_id` → `ra_mst_races`.
    Joined,
    None,
}

fn race_date_of(table: &Table) -> RaceDate {
    if table.name == names::RACES {
        RaceDate::Own
    } else if table
        .foreign_keys
        .iter()
        .any(|f| f.columns.first() == Some(&"race_id"))
        && table.column("race_id").is_some()
    {
        RaceDate::Joined
    } else {
        RaceDate::None
    }
}

fn owner(column: &Column) -> Option<Source> {
    match column.writers {
        Writers::Owned { owner, .. } => Some(owner),
        _ => None,
    }
}

fn share(filled: u64, rows: u64) -> Option<f64> {
    (rows > 0).then(|| filled as f64 / rows as f64)
}

/// Coverage of every owned column of every master and fact table present in the database.
pub async fn coverage(db: &AuditDb, catalog: &Catalog) -> anyhow::Result<Vec<ColumnCoverage>> {
    let mut out = Vec::new();
    let races_live = catalog.tables.get(names::RACES);
    let races_ok = races_live.is_some_and(|r| {
        r.column("id").is_some()
            && r.column("race_date").is_some()
            && r.column("has_result").is_some()
    });
    for table in TABLES.iter().filter(|t| t.kind != TableKind::Operations) {
        let Some(live) = catalog.tables.get(table.name) else {
            continue;
        };
        let mut columns: Vec<&Column> = table
            .columns
            .iter()
            .filter(|c| owner(c).is_some() && live.column(c.name).is_some())
            .collect();
        columns.sort_by_key(|c| (owner(c), c.name));
        if columns.is_empty() {
            continue;
        }
        let joined = matches!(race_date_of(table), RaceDate::Joined) && races_ok;
        let (from, month, resulted) = match race_date_of(table) {
            RaceDate::Own if races_ok => (
                format!("{} t", db.table(table.name)),
                Some(db.month_of("t.race_date")),
                "t.has_result".to_string(),
            ),
            RaceDate::Joined if races_ok => (
                format!(
                    "{} t LEFT JOIN {} r ON r.id = t.race_id",
                    db.table(table.name),
                    db.table(names::RACES)
                ),
                Some(db.month_of("r.race_date")),
                "r.has_result".to_string(),
            ),
            _ => (format!("{} t", db.table(table.name)), None, String::new()),
        };
        let dated = month.is_some();
        let counts: Vec<String> = columns
            .iter()
            .map(|c| {
                let col = format!("t.{}", ident(c.name));
                if dated && owner(c) == Some(Source::Result) {
                    format!("COUNT(CASE WHEN {resulted} THEN {col} END)")
                } else {
                    format!("COUNT({col})")
                }
            })
            .collect();
        let resulted_rows = if dated {
            format!("SUM(CASE WHEN {resulted} THEN 1 ELSE 0 END)")
        } else {
            "COUNT(*)".to_string()
        };
        let mut figure_list = vec!["COUNT(*)".to_string(), resulted_rows];
        figure_list.extend(counts);
        let figures = figure_list.join(", ");
        let rows = if joined {
            joined_by_month(db, table, &figure_list).await?
        } else {
            let sql = match &month {
                Some(m) => format!(
                    "SELECT {m} AS audit_month, {figures} FROM {from} GROUP BY {m} ORDER BY {m}"
                ),
                None => format!("SELECT NULL, {figures} FROM {from}"),
            };
            db.rows(&sql).await?
        };
        for (i, column) in columns.iter().enumerate() {
            let result_owned = dated && owner(column) == Some(Source::Result);
            let months: Vec<MonthCoverage> = rows
                .iter()
                .map(|r| {
                    let month = r[0].clone().unwrap_or_else(|| "unknown".to_string());
                    let total = if result_owned {
                        count(&r[2])
                    } else {
                        count(&r[1])
                    };
                    let filled = count(&r[3 + i]);
                    MonthCoverage {
                        expected_gap: expected_gap(table, column, Some(&month)).is_some(),
                        month,
                        rows: total,
                        filled,
                        share: share(filled, total),
                    }
                })
                .collect();
            out.push(judge(table, column, months, dated));
        }
    }
    Ok(out)
}

/// The monthly figures (`COUNT(*)`, resulted rows, one count per column: the aggregates
/// `figures`, over `t` and its race `r`) of a table whose race date is its race's, by month of race date, with the
/// rows whose race is missing as a last month `NULL`.
///
/// Grouped by race date first, joining each race's rows to it in race-date order: neither
/// engine sorts the table's rows (SQLite reads the races through their race-date index and
/// each race's runners through the key, then groups a few thousand dates by month; with the
/// runners first it sorted all 1.3 million of them, every counted column in each sort
/// record: 35–40 % of the audit's CPU on SQLite). Rows without a race are counted only when
/// the table has more rows than the join found.
async fn joined_by_month(
    db: &AuditDb,
    table: &Table,
    figures: &[String],
) -> anyhow::Result<Vec<TextRow>> {
    let races = db.table(names::RACES);
    let rows_table = db.table(table.name);
    let summed: Vec<String> = (0..figures.len())
        .map(|i| format!("CAST(SUM(d.f{i}) AS TEXT)"))
        .collect();
    let per_date: Vec<String> = (figures.iter().enumerate())
        .map(|(i, f)| format!("{f} AS f{i}"))
        .collect();
    let month = db.month_of("d.race_date");
    let mut rows = db
        .rows(&format!(
            "SELECT {month} AS audit_month, {} FROM (SELECT r.race_date AS race_date, {} \
             FROM {races} r JOIN {rows_table} t ON t.race_id = r.id GROUP BY r.race_date) d \
             GROUP BY {month} ORDER BY {month}",
            summed.join(", "),
            per_date.join(", "),
        ))
        .await?;
    let joined: u64 = rows.iter().map(|r| count(&r[1])).sum();
    let total = db
        .rows(&format!("SELECT COUNT(*) FROM {rows_table}"))
        .await?;
    if total.first().is_some_and(|t| count(&t[0]) > joined) {
        rows.extend(
            db.rows(&format!(
                "SELECT NULL, {} FROM {rows_table} t LEFT JOIN {races} r \
                 ON r.id = t.race_id WHERE r.id IS NULL",
                figures.join(", ")
            ))
            .await?,
        );
    }
    Ok(rows)
}

/// Status, cliff and violation of one column from its monthly figures.
fn judge(
    table: &Table,
    column: &Column,
    months: Vec<MonthCoverage>,
    dated: bool,
) -> ColumnCoverage {
    let rows: u64 = months.iter().map(|m| m.rows).sum();
    let filled: u64 = months.iter().map(|m| m.filled).sum();
    let gap = fetchers::registry::EXPECTED_GAPS.iter().find(|g| {
        g.covers(table, column, None)
            || months
                .iter()
                .any(|m| g.covers(table, column, Some(&m.month)))
    });
    let mut cliff_month = None;
    let mut previous: Option<&MonthCoverage> = None;
    for m in months.iter().filter(|m| m.rows > 0 && m.month != "unknown") {
        let filling_before = previous
            .is_some_and(|p| !p.expected_gap && p.share.is_some_and(|s| s >= FILLING_SHARE));
        if filling_before && !m.expected_gap && m.share.is_some_and(|s| s <= CLIFF_SHARE) {
            cliff_month = Some(m.month.clone());
            break;
        }
        previous = Some(m);
    }
    let counted_filled: u64 = months
        .iter()
        .filter(|m| !m.expected_gap)
        .map(|m| m.filled)
        .sum();
    let counted_rows: u64 = months
        .iter()
        .filter(|m| !m.expected_gap)
        .map(|m| m.rows)
        .sum();
    let status = if rows == 0 {
        "no_rows"
    } else if cliff_month.is_some() {
        "cliff"
    } else if counted_rows == 0 || expected_gap(table, column, None).is_some() {
        "expected_gap"
    } else if counted_filled == 0 {
        "empty"
    } else {
        "ok"
    };
    ColumnCoverage {
        table: table.name.to_string(),
        column: column.name.to_string(),
        source: owner(column).map(Source::name).unwrap_or("").to_string(),
        rows,
        filled,
        share: share(filled, rows),
        months: if dated { months } else { Vec::new() },
        status: status.to_string(),
        violation: cliff_month.is_some(),
        cliff_month,
        expected_gap: gap.map(|g| g.reason.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(month: &str, rows: u64, filled: u64) -> MonthCoverage {
        MonthCoverage {
            month: month.into(),
            rows,
            filled,
            share: share(filled, rows),
            expected_gap: false,
        }
    }

    #[test]
    fn a_column_that_stops_filling_is_a_cliff_at_the_first_empty_month() {
        let runners = fetchers::registry::TableName::RUNNERS.table();
        let column = runners.column("position").unwrap();
        let c = judge(
            runners,
            column,
            vec![
                month("2024-01", 10, 10),
                month("2024-02", 10, 0),
                month("2024-03", 10, 0),
            ],
            true,
        );
        assert_eq!(c.status, "cliff");
        assert_eq!(c.cliff_month.as_deref(), Some("2024-02"));
        assert!(c.violation);
    }

    #[test]
    fn a_column_that_starts_filling_or_never_fills_is_no_violation() {
        let runners = fetchers::registry::TableName::RUNNERS.table();
        let column = runners.column("position").unwrap();
        let rising = judge(
            runners,
            column,
            vec![month("2024-01", 10, 0), month("2024-02", 10, 10)],
            true,
        );
        assert_eq!(rising.status, "ok");
        let empty = judge(runners, column, vec![month("2024-01", 10, 0)], true);
        assert_eq!(empty.status, "empty");
        assert!(!rising.violation && !empty.violation);
    }
}

//! The write trail: rows changed per run (from the ledger's per-table counters), whether every
//! row traces to the run that last wrote it (`last_run_id` naming a ledger row), and tracing
//! one row to that run's job, parameters and time.

use crate::audit::db::{as_text, bind_integer, bind_text, count, ident, instant, text, AuditDb};
use crate::audit::report::{RowTrace, RunTableTrail, RunTrail, TableTrail, Trail};
use crate::store::catalog::Catalog;
use crate::store::TextRow;
use fetchers::registry::{TableKind, TABLES};

/// The latest `runs` runs with their per-table figures, and per table the rows that do not
/// trace to a run.
pub async fn trail(db: &AuditDb, catalog: &Catalog, runs: u32) -> anyhow::Result<Trail> {
    let ledger = db
        .query(|p| {
            format!(
                "{} ORDER BY run_id DESC LIMIT {}",
                run_select(db),
                bind_integer(p, i64::from(runs.max(1)))
            )
        })
        .await?;
    let mut run_trails: Vec<RunTrail> = ledger.iter().map(run_trail).collect();
    attach_tables(db, &mut run_trails).await?;
    let runs_table = db.table("paddock_runs");
    let mut tables = Vec::new();
    for table in TABLES.iter().filter(|t| t.kind != TableKind::Operations) {
        let traceable = catalog
            .tables
            .get(table.name)
            .is_some_and(|t| t.column("last_run_id").is_some());
        if !traceable {
            continue;
        }
        // Grouped by run first, so the ledger lookup is one small join, not one per row.
        let rows = db
            .rows(&format!(
                "SELECT CAST(SUM(g.n) AS TEXT), \
                 CAST(SUM(CASE WHEN g.last_run_id IS NULL THEN g.n ELSE 0 END) AS TEXT), \
                 CAST(SUM(CASE WHEN g.last_run_id IS NOT NULL AND p.run_id IS NULL \
                     THEN g.n ELSE 0 END) AS TEXT) \
                 FROM (SELECT last_run_id, COUNT(*) AS n FROM {} GROUP BY last_run_id) g \
                 LEFT JOIN {runs_table} p ON p.run_id = g.last_run_id",
                db.table(table.name)
            ))
            .await?;
        let row = rows.first().cloned().unwrap_or_default();
        let cell = |i: usize| row.get(i).map(count).unwrap_or(0);
        tables.push(TableTrail {
            table: table.name.to_string(),
            rows: cell(0),
            rows_without_run: cell(1),
            rows_with_unknown_run: cell(2),
        });
    }
    Ok(Trail {
        runs: run_trails,
        tables,
    })
}

fn run_select(db: &AuditDb) -> String {
    format!(
        "SELECT {}, job, run_trigger, status, {}, {}, {} FROM {}",
        as_text("run_id"),
        db.timestamp_text("started_at"),
        db.timestamp_text("finished_at"),
        as_text("params"),
        db.table("paddock_runs")
    )
}

fn run_trail(r: &TextRow) -> RunTrail {
    RunTrail {
        run_id: count(&r[0]) as i64,
        job: text(&r[1]),
        trigger: text(&r[2]),
        status: text(&r[3]),
        started_at: instant(&r[4]),
        finished_at: instant(&r[5]),
        params: r[6].as_deref().and_then(|p| serde_json::from_str(p).ok()),
        rows_changed: 0,
        tables: Vec::new(),
    }
}

async fn attach_tables(db: &AuditDb, runs: &mut [RunTrail]) -> anyhow::Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
    let figures = db
        .query(|p| {
            let ids: Vec<String> = (runs.iter()).map(|r| bind_integer(p, r.run_id)).collect();
            format!(
                "SELECT {}, table_name, {}, {}, {}, {} FROM {} WHERE run_id IN ({}) \
                 ORDER BY table_name",
                as_text("run_id"),
                as_text("inserted"),
                as_text("updated"),
                as_text("unchanged"),
                as_text("rejected"),
                db.table("paddock_run_tables"),
                ids.join(", ")
            )
        })
        .await?;
    for f in figures {
        let run_id = count(&f[0]) as i64;
        if let Some(run) = runs.iter_mut().find(|r| r.run_id == run_id) {
            let t = RunTableTrail {
                table: text(&f[1]),
                inserted: count(&f[2]),
                updated: count(&f[3]),
                unchanged: count(&f[4]),
                rejected: count(&f[5]),
            };
            run.rows_changed += t.inserted + t.updated;
            run.tables.push(t);
        }
    }
    Ok(())
}

/// The run that last wrote the row of `table` whose natural key is `key` (in key order), with
/// that run's job, parameters, times and figures; `None` when no such row exists.
pub async fn trace_row(
    db: &AuditDb,
    table: &str,
    key: &[String],
) -> anyhow::Result<Option<RowTrace>> {
    let t = fetchers::registry::table(table)
        .filter(|t| t.kind != TableKind::Operations)
        .ok_or_else(|| anyhow::anyhow!("{table:?} is not a data table of the registry"))?;
    anyhow::ensure!(
        key.len() == t.key.len(),
        "{table} has the key ({}): give {} value(s), got {}",
        t.key.join(", "),
        t.key.len(),
        key.len()
    );
    let rows = db
        .query(|p| {
            let condition: Vec<String> = (t.key.iter().zip(key))
                .map(|(c, v)| {
                    // Text keys compare as they are (served by the primary key); others as text.
                    let is_text = t
                        .column(c)
                        .is_some_and(|c| c.ty == fetchers::registry::ColumnType::Text);
                    let column = if is_text {
                        ident(c)
                    } else {
                        as_text(&ident(c))
                    };
                    format!("{column} = {}", bind_text(p, v))
                })
                .collect();
            format!(
                "SELECT {}, {} FROM {} WHERE {}",
                as_text("last_run_id"),
                db.timestamp_text("updated_at"),
                db.table(t.name),
                condition.join(" AND ")
            )
        })
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let last_run_id = row[0].as_deref().and_then(|s| s.parse::<i64>().ok());
    let run = match last_run_id {
        Some(id) => {
            let found = db
                .query(|p| format!("{} WHERE run_id = {}", run_select(db), bind_integer(p, id)))
                .await?;
            let mut runs: Vec<RunTrail> = found.iter().map(run_trail).collect();
            attach_tables(db, &mut runs).await?;
            runs.pop()
        }
        None => None,
    };
    Ok(Some(RowTrace {
        table: t.name.to_string(),
        key: key.to_vec(),
        updated_at: instant(&row[1]),
        last_run_id,
        run,
    }))
}

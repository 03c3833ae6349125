//! Carrying an adoption plan out, in ONE transaction through the store's tool door: the
//! registry columns the adopted tables lack (nullable), a unique index on the registry key
//! where none covers it (under a free name), the registry tables the database lacks (their
//! foreign keys to the masters' legacy names, their indexes under free names), Paddock's own
//! bookkeeping tables, sqlx's migrations ledger with every migration recorded as applied, the
//! rename phase (legacy) and the adoption in the run ledger. Foreign tables are never named;
//! no legacy column or row is dropped, renamed or rewritten.

use crate::adopt::baseline::{migrations_ledger, own_table_statements};
use crate::adopt::plan::{Disposition, Plan, TablePlan};
use crate::derive;
use crate::rename::phase::{legacy_name, renamed_tables, Phase};
use crate::rename::state::{maps_statement, phase_statement};
use crate::store::dialect::{Params, ToolDialect};
use crate::store::ledger::{delete_state_sql, set_state_sql};
use crate::store::tools::{create_table_statements, ForeignKeys, Statement};
use crate::store::SqlStore;
use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use fetchers::order::registry_order;
use fetchers::registry::{self, ColumnType};
use fetchers::rows::Value;
use fetchers::store::{RunStatus, RunTrigger};

/// Applies `plan` (which must not block) in one transaction.
pub async fn apply<D: ToolDialect>(store: &SqlStore<D>, plan: &Plan) -> Result<()> {
    if !plan.blocking().is_empty() {
        bail!("the adoption is blocked: {}", plan.blocking().join("; "));
    }
    let now = Utc::now();
    let mut statements: Vec<Statement<D>> = Vec::new();
    for table in &plan.tables {
        statements.extend(adopted_table::<D>(table));
    }
    statements.extend(moved_aside::<D>(plan));
    statements.extend(created_tables::<D>(plan));
    statements.extend(own_tables::<D>(plan));
    statements.extend(migrations_ledger::<D>());
    statements.extend(
        D::row_level_security_sql("_sqlx_migrations")
            .into_iter()
            .map(Into::into),
    );
    if plan.legacy_layout {
        statements.push(phase_statement(Phase::Legacy, now));
    }
    statements.push(maps_statement(&plan.maps, now));
    for table in &plan.skipped_derived {
        let why = format!(
            "another system's table holds the name {table} (adopted database): Paddock's \
             derived table is not kept; `paddock adopt --move-aside` moves it aside"
        );
        statements.push(set_state_sql::<D>(&derive::skipped_key(table), &why, now).into());
    }
    statements.push(ledger_entry(plan, now));
    store
        .run_statements(&statements, ForeignKeys::Enforced)
        .await
}

/// On a database adopted already: only the moves aside of `plan` and the tables created in
/// their place, in one transaction.
pub async fn move_aside_only<D: ToolDialect>(store: &SqlStore<D>, plan: &Plan) -> Result<()> {
    let mut only = plan.clone();
    (only.tables).retain(|t| matches!(t.disposition, Disposition::MovedAside { .. }));
    let mut statements = moved_aside::<D>(&only);
    statements.extend(created_tables::<D>(&only));
    for t in &only.tables {
        if let Disposition::MovedAside { registry, .. } = &t.disposition {
            statements.push(delete_state_sql::<D>(&derive::skipped_key(registry)).into());
        }
    }
    store
        .run_statements(&statements, ForeignKeys::Enforced)
        .await
}

/// The columns and key index an adopted table gains.
fn adopted_table<D: ToolDialect>(table: &TablePlan) -> Vec<Statement<D>> {
    if !matches!(
        table.disposition,
        Disposition::Legacy { .. } | Disposition::Registry
    ) {
        return Vec::new();
    }
    let mut out: Vec<Statement<D>> = (table.add_columns.iter())
        .map(|c| {
            format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                table.table, c.column, c.ty
            )
            .into()
        })
        .collect();
    if let Some(key) = &table.key {
        if let Some(index) = &key.add_index {
            out.push(
                format!(
                    "CREATE UNIQUE INDEX {index} ON {} ({})",
                    table.table,
                    key.columns.join(", ")
                )
                .into(),
            );
        }
    }
    out
}

/// Other systems' tables under registry names renamed aside (`--move-aside`; Paddock's are
/// created next).
fn moved_aside<D: ToolDialect>(plan: &Plan) -> Vec<Statement<D>> {
    let mut out = Vec::new();
    for t in &plan.tables {
        if let Disposition::MovedAside { to, .. } = &t.disposition {
            out.push(format!("ALTER TABLE {} RENAME TO {to}", t.table).into());
        }
    }
    out
}

/// The registry tables the database lacks, parents first, referencing the masters under the
/// names the plan keeps them by, their indexes under the names the plan chose.
fn created_tables<D: ToolDialect>(plan: &Plan) -> Vec<Statement<D>> {
    let mut out = Vec::new();
    for name in registry_order() {
        let Some(table) = registry::table(name) else {
            continue;
        };
        let Some(planned) = plan.tables.iter().find(|t| {
            matches!(t.disposition, Disposition::Create { registry }
                | Disposition::MovedAside { registry, .. } if registry == table.name)
        }) else {
            continue;
        };
        for statement in create_table_statements::<D>(table, &planned.table) {
            let mut sql = statement.sql;
            if plan.legacy_layout {
                for master in renamed_tables() {
                    let (from, to) = (master.name, legacy_name(master));
                    sql = sql.replace(
                        &format!("REFERENCES {from} ("),
                        &format!("REFERENCES {to} ("),
                    );
                    // A key-mapped master is referenced through the column holding its key.
                    if let Some(held) = plan.maps.key(master.name) {
                        let key = master.key.join(", ");
                        sql = sql.replace(
                            &format!("REFERENCES {to} ({key})"),
                            &format!("REFERENCES {to} ({held})"),
                        );
                    }
                }
            }
            for clash in &plan.clashes {
                let index = format!("INDEX {} ON {} ", clash.name, planned.table);
                let chosen = format!("INDEX {} ON {} ", clash.chosen, planned.table);
                sql = sql.replace(&index, &chosen);
            }
            out.push(Statement::new(sql, statement.params));
        }
    }
    out
}

/// Paddock's own bookkeeping tables the database lacks, as the migrations create them.
fn own_tables<D: ToolDialect>(plan: &Plan) -> Vec<Statement<D>> {
    let missing = |t: &str| {
        (plan.tables.iter()).any(|p| p.table == t && p.disposition == Disposition::PaddockOwn)
    };
    let mut out: Vec<Statement<D>> = Vec::new();
    for (table, sql) in own_table_statements::<D>() {
        if missing(&table) {
            let create = sql.starts_with("CREATE TABLE");
            out.push(sql.into());
            if create {
                out.extend(
                    D::row_level_security_sql(&table)
                        .into_iter()
                        .map(Into::into),
                );
            }
        }
    }
    out
}

/// The adoption in the run ledger: a finished run of job `adopt` with the plan's summary.
fn ledger_entry<D: ToolDialect>(plan: &Plan, now: DateTime<Utc>) -> Statement<D> {
    let count =
        |f: fn(&Disposition) -> bool| plan.tables.iter().filter(|t| f(&t.disposition)).count();
    let summary = serde_json::json!({
        "adopted": count(|d| matches!(d, Disposition::Legacy { .. } | Disposition::Registry)),
        "created": count(|d| matches!(d, Disposition::Create { .. } | Disposition::PaddockOwn)),
        "foreign": count(|d| matches!(d, Disposition::Foreign { .. })),
        "moved_aside": count(|d| matches!(d, Disposition::MovedAside { .. })),
        "derived_skipped": plan.skipped_derived,
        "columns_added": plan.tables.iter().map(|t| t.add_columns.len()).sum::<usize>(),
        "phase": if plan.legacy_layout { "legacy" } else { "dropped" },
    });
    let mut p = Params::<D>::new();
    let sql = format!(
        "INSERT INTO paddock_runs (job, run_trigger, params, started_at, finished_at, status, \
         api_requests, rows_rejected) VALUES ({}, {}, {}, {}, {}, {}, 0, 0)",
        p.add(Value::Text("adopt".into()), ColumnType::Text),
        p.add(
            Value::Text(RunTrigger::Manual.name().into()),
            ColumnType::Text
        ),
        p.add(Value::Json(summary), ColumnType::Json),
        p.add(Value::Timestamp(now), ColumnType::Timestamp),
        p.add(Value::Timestamp(now), ColumnType::Timestamp),
        p.add(
            Value::Text(RunStatus::Succeeded.name().into()),
            ColumnType::Text
        ),
    );
    Statement::new(sql, p)
}

//! The adoption plan as `paddock adopt` prints it: readable text, or the plan as JSON.

use crate::adopt::plan::{Disposition, Plan, TablePlan};
use crate::adopt::types::Bridge;
use std::fmt::Write as _;

/// The plan as text: one block per table, then the name clashes, the limits and what blocks.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let blocking = plan.blocking();
    let _ = writeln!(
        out,
        "adoption plan ({}): {} table(s), {} blocking item(s)",
        plan.backend,
        plan.tables.len(),
        blocking.len()
    );
    for table in &plan.tables {
        table_text(&mut out, table);
    }
    if !plan.clashes.is_empty() {
        out.push_str("name clashes:\n");
        for c in &plan.clashes {
            let _ = writeln!(
                out,
                "  {} ({}) is taken: {} chosen",
                c.name, c.wanted_by, c.chosen
            );
        }
    }
    for table in &plan.skipped_derived {
        let _ = writeln!(
            out,
            "skipped: Paddock's derived {table} (another system's table holds the name; \
             `paddock adopt --move-aside` moves it aside)"
        );
    }
    out.push_str("not supported yet:\n");
    for limit in &plan.limits {
        let _ = writeln!(out, "  - {limit}");
    }
    if blocking.is_empty() {
        out.push_str("nothing blocks the adoption\n");
    } else {
        out.push_str("BLOCKING (nothing is changed while any remains):\n");
        for item in &blocking {
            let _ = writeln!(out, "  - {item}");
        }
    }
    out
}

fn disposition(d: &Disposition) -> String {
    match d {
        Disposition::Legacy { registry } => format!("adopted as the legacy table of {registry}"),
        Disposition::Registry => "adopted as the registry table of that name".into(),
        Disposition::Create { registry } => format!("missing: created as {registry}"),
        Disposition::PaddockOwn => "Paddock's own bookkeeping: created".into(),
        Disposition::Foreign { why } => format!("left alone: {why}"),
        Disposition::MovedAside { registry, to } => {
            format!("another system's table: renamed to {to} (never dropped); {registry} created")
        }
    }
}

fn table_text(out: &mut String, t: &TablePlan) {
    let _ = writeln!(out, "{}: {}", t.table, disposition(&t.disposition));
    if let Some(key) = &t.key {
        let _ = writeln!(out, "  upsert key ({}): {}", key.columns.join(", "), key.by);
    }
    for c in &t.add_columns {
        let _ = writeln!(out, "  add column {} {} (nullable)", c.column, c.ty);
    }
    for d in &t.type_differences {
        let how = match &d.bridge {
            Bridge::Exact => "exact".to_string(),
            Bridge::Bridged(how) => format!("bridged: {how}"),
            Bridge::Blocking(why) => format!("BLOCKS: {why}"),
        };
        let _ = writeln!(
            out,
            "  type of {}: {} here, {} in Paddock; {how}",
            d.column, d.live, d.registry
        );
    }
    for c in &t.legacy_only {
        let _ = writeln!(
            out,
            "  legacy-only column {} {}: {}",
            c.column, c.ty, c.carried
        );
    }
    for c in &t.mapped {
        let how = match &c.bridge {
            Bridge::Exact => "exact".to_string(),
            Bridge::Bridged(how) => format!("bridged: {how}"),
            Bridge::Blocking(why) => format!("REFUSED: {why}"),
        };
        let _ = writeln!(
            out,
            "  mapped column {} {}: filled from {} on every write; {how}",
            c.column, c.ty, c.mirrors
        );
    }
    for c in &t.not_null_unfilled {
        let _ = writeln!(out, "  NOT NULL column {c}: Paddock would not fill it");
    }
    for w in &t.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
}

/// The plan as JSON (the shape of [`Plan`], plus the blocking items flattened).
pub fn json(plan: &Plan) -> String {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    value["blocking"] = serde_json::json!(plan.blocking());
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The tables moved aside and the tables created in their place, one line each (empty when
/// none was).
pub fn moved_aside(plan: &Plan) -> String {
    let mut out = String::new();
    for t in &plan.tables {
        if let Disposition::MovedAside { registry, to } = &t.disposition {
            let _ = writeln!(
                out,
                "moved aside: {} renamed to {to} (its rows kept); Paddock's {registry} created \
                 (`paddock derive --full` fills it)",
                t.table
            );
        }
    }
    out
}

//! The report on a terminal (one plain table per section, violations marked `!`) and as JSON.

use crate::audit::report::{
    AuditReport, ColumnCoverage, DriftFinding, DuplicateFinding, Freshness, OrphanFinding, Trail,
    WrongTarget,
};
use std::fmt::Write as _;

/// The report as pretty JSON (shape: README.md, "paddock audit").
pub fn json(report: &AuditReport) -> String {
    serde_json::to_string_pretty(report).expect("the report serialises")
}

fn percent(share: Option<f64>) -> String {
    share
        .map(|s| format!("{:.1}%", s * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn mark(violation: bool) -> &'static str {
    if violation {
        "!"
    } else {
        " "
    }
}

fn keys(samples: &[Vec<String>]) -> String {
    samples
        .iter()
        .map(|k| k.join("/"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report as readable text tables.
pub fn table(report: &AuditReport) -> String {
    let mut out = String::new();
    let w = &mut out;
    render_header(w, report);
    if let Some(orphans) = &report.orphans {
        render_orphans(w, orphans);
    }
    if let Some(dups) = &report.duplicates {
        render_duplicates(w, dups);
    }
    if let Some(wrong) = &report.wrong_targets {
        render_wrong_targets(w, wrong);
    }
    if let Some(drift) = &report.drift {
        render_drift(w, drift);
    }
    if let Some(coverage) = &report.coverage {
        render_coverage(w, coverage);
    }
    if let Some(f) = &report.freshness {
        render_freshness(w, f);
    }
    if let Some(t) = &report.trail {
        render_trail(w, t);
    }
    render_summary(w, report);
    out
}

/// The first line: backend, schema, time, duration and the checks run.
fn render_header(w: &mut String, report: &AuditReport) {
    let _ = writeln!(
        w,
        "paddock audit: {} {}at {} ({} ms) — checks: {}",
        report.backend,
        report
            .schema
            .as_ref()
            .map(|s| format!("schema {s} "))
            .unwrap_or_default(),
        report.generated_at.format("%Y-%m-%d %H:%M:%S UTC"),
        report.elapsed_ms,
        report.checks.join(", ")
    );
}

/// Rows whose reference has no target.
fn render_orphans(w: &mut String, orphans: &[OrphanFinding]) {
    let _ = writeln!(w, "\nOrphans (rows whose reference has no target)");
    let _ = writeln!(
        w,
        "  {:<18} {:<22} {:<18} {:>9} {:<8} samples",
        "table", "columns", "references", "orphans", "enforced"
    );
    for o in orphans {
        let detail = o.skipped.clone().unwrap_or_else(|| keys(&o.samples));
        let _ = writeln!(
            w,
            "{} {:<18} {:<22} {:<18} {:>9} {:<8} {}",
            mark(o.orphans > 0),
            o.table,
            o.columns.join(","),
            o.ref_table,
            if o.skipped.is_some() {
                "skipped".into()
            } else {
                o.orphans.to_string()
            },
            if o.enforced { "yes" } else { "no" },
            detail
        );
    }
}

/// Natural keys present more than once.
fn render_duplicates(w: &mut String, dups: &[DuplicateFinding]) {
    let _ = writeln!(
        w,
        "\nDuplicate natural keys (tables without the unique constraint)"
    );
    if dups.is_empty() {
        let _ = writeln!(w, "  every table has its key constraint");
    }
    for d in dups {
        let _ = writeln!(
            w,
            "{} {:<18} key ({}) duplicated {} time(s), {} extra row(s): {}",
            mark(d.duplicated_keys > 0),
            d.table,
            d.key.join(", "),
            d.duplicated_keys,
            d.extra_rows,
            keys(&d.samples)
        );
    }
}

/// Foreign keys pointing at another table than the registry says.
fn render_wrong_targets(w: &mut String, wrong: &[WrongTarget]) {
    let _ = writeln!(w, "\nForeign keys pointing at the wrong table");
    if wrong.is_empty() {
        let _ = writeln!(w, "  none");
    }
    for t in wrong {
        let _ = writeln!(
            w,
            "! {}.({}) constraint {} references {}, the registry says {}",
            t.table,
            t.columns.join(", "),
            t.constraint,
            t.actual,
            t.expected
        );
    }
}

/// The live schema against the registry and the migrations.
fn render_drift(w: &mut String, drift: &[DriftFinding]) {
    let _ = writeln!(
        w,
        "\nSchema drift (live database against registry and migrations)"
    );
    if drift.is_empty() {
        let _ = writeln!(w, "  none");
    }
    for d in drift {
        let place = match (&d.table, &d.column) {
            (Some(t), Some(c)) => format!("{t}.{c}"),
            (Some(t), None) => t.clone(),
            _ => String::new(),
        };
        let _ = writeln!(
            w,
            "{} {:<22} {:<36} expected {:<28} actual {}",
            mark(d.violation),
            d.kind,
            place,
            d.expected.clone().unwrap_or_else(|| "-".into()),
            d.actual.clone().unwrap_or_else(|| "-".into())
        );
    }
}

/// Latest dates, late results and overdue jobs.
fn render_freshness(w: &mut String, f: &Freshness) {
    let _ = writeln!(w, "\nFreshness");
    let _ = writeln!(
        w,
        "  latest race date {}, latest result date {}",
        f.latest_race_date.as_deref().unwrap_or("-"),
        f.latest_result_date.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        w,
        "{} {} race(s) past their start by more than {} min without a result{}",
        mark(f.races_without_result > 0),
        f.races_without_result,
        f.result_delay_minutes,
        if f.samples.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                f.samples
                    .iter()
                    .map(|r| format!(
                        "{} ({})",
                        r.race_id,
                        r.off_dt
                            .as_deref()
                            .or(r.race_date.as_deref())
                            .unwrap_or("-")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    let _ = writeln!(
        w,
        "  {:<24} {:<18} {:<8} {:<22} {:<22} overdue",
        "job", "cron", "enabled", "last success", "due since"
    );
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| "never".into())
    };
    for j in &f.jobs {
        let _ = writeln!(
            w,
            "{} {:<24} {:<18} {:<8} {:<22} {:<22} {}",
            mark(j.overdue),
            j.job,
            j.cron,
            if j.enabled { "yes" } else { "no" },
            time(&j.last_success),
            time(&j.due_since),
            if j.overdue { "yes" } else { "no" }
        );
    }
}

/// The latest runs and the rows tracing to them.
fn render_trail(w: &mut String, t: &Trail) {
    let _ = writeln!(w, "\nWrite trail (latest runs)");
    for r in &t.runs {
        let tables: Vec<String> = r
            .tables
            .iter()
            .map(|t| format!("{} +{} ~{}", t.table, t.inserted, t.updated))
            .collect();
        let _ = writeln!(
            w,
            "  run {:<6} {:<22} {:<9} {:<10} {} rows changed {}: {}",
            r.run_id,
            r.job,
            r.trigger,
            r.status,
            r.started_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            r.rows_changed,
            tables.join(", ")
        );
    }
    let _ = writeln!(w, "  rows tracing to their run (last_run_id):");
    for tt in &t.tables {
        let _ = writeln!(
            w,
            "{} {:<18} {:>10} rows, {} without a run, {} naming an unknown run",
            mark(tt.rows_with_unknown_run > 0),
            tt.table,
            tt.rows,
            tt.rows_without_run,
            tt.rows_with_unknown_run
        );
    }
}

/// The last line: the violations counted by kind.
fn render_summary(w: &mut String, report: &AuditReport) {
    let _ = writeln!(
        w,
        "\n{} violation(s): {}",
        report.total_violations,
        report
            .violations
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn render_coverage(w: &mut String, coverage: &[ColumnCoverage]) {
    let _ = writeln!(w, "\nCoverage (share of non-null values, by owning source)");
    let mut current: Option<(&str, &str)> = None;
    for c in coverage {
        if current != Some((&c.table, &c.source)) {
            let _ = writeln!(w, "  {} — owned by {}", c.table, c.source);
            current = Some((&c.table, &c.source));
        }
        let recent: Vec<String> = c
            .months
            .iter()
            .rev()
            .take(6)
            .rev()
            .map(|m| {
                format!(
                    "{} {}{}",
                    m.month,
                    percent(m.share),
                    if m.expected_gap { "*" } else { "" }
                )
            })
            .collect();
        let _ = writeln!(
            w,
            "{}   {:<26} {:>7} of {:>9} {:<12} {}{}",
            mark(c.violation),
            c.column,
            percent(c.share),
            c.rows,
            match &c.cliff_month {
                Some(m) => format!("cliff {m}"),
                None => c.status.clone(),
            },
            recent.join("  "),
            c.expected_gap
                .as_ref()
                .map(|g| format!("  (* expected: {g})"))
                .unwrap_or_default()
        );
    }
}

/// One traced row as text.
pub fn trace(t: &crate::audit::report::RowTrace) -> String {
    let mut out = format!(
        "{} {}: last written {} by run {}",
        t.table,
        t.key.join("/"),
        t.updated_at
            .map(|u| u.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "-".into()),
        t.last_run_id
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(none recorded)".into())
    );
    match &t.run {
        Some(r) => {
            let _ = write!(
                out,
                "\n  job {} ({}), {} , started {}, finished {}\n  params {}",
                r.job,
                r.trigger,
                r.status,
                r.started_at.map(|s| s.to_rfc3339()).unwrap_or_default(),
                r.finished_at.map(|s| s.to_rfc3339()).unwrap_or_default(),
                r.params
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into())
            );
        }
        None if t.last_run_id.is_some() => out.push_str("\n  ! that run is not in the ledger"),
        None => {}
    }
    out
}

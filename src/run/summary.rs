//! The text printed after a run: the pieces every summary shares — requests by endpoint, the
//! one counts table, the closing status line — and the summary of a job run
//! ([`render_summary`]). The backfill's and the replay's summaries open with their own line and
//! use the same pieces.

use super::result::RunResult;
use fetchers::rows::Counts;
use fetchers::store::RunStatus;
use std::collections::BTreeMap;

/// One line per endpoint with its request count.
pub fn endpoint_lines(requests: &BTreeMap<String, u64>) -> String {
    requests
        .iter()
        .map(|(endpoint, n)| format!("  {endpoint:<28} {n:>8}\n"))
        .collect()
}

/// The rows each table gained, changed, kept and refused, after a blank line; and deleted,
/// when a table lost rows (retention).
pub fn counts_table(counts: &Counts) -> String {
    let deletions = counts.0.values().any(|c| c.deleted > 0);
    let mut out = format!(
        "\n{:<22} {:>9} {:>9} {:>9} {:>9}{}\n",
        "table",
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        if deletions { "   deleted" } else { "" }
    );
    for (table, c) in &counts.0 {
        out.push_str(&format!(
            "{table:<22} {:>9} {:>9} {:>9} {:>9}{}\n",
            c.inserted,
            c.updated,
            c.unchanged,
            c.rejected,
            if deletions {
                format!(" {:>9}", c.deleted)
            } else {
                String::new()
            }
        ));
    }
    out
}

/// The status and error text of a run that did not succeed (empty when there is none).
pub fn error_line(status: RunStatus, error: Option<&str>) -> String {
    match error {
        Some(e) => format!("\n{}: {e}\n", status.name()),
        None => String::new(),
    }
}

/// The summary table printed after a job run (`paddock run`, `import`, `derive --full`).
pub fn render_summary<D>(result: &RunResult<D>, dry_run: bool) -> String {
    let report = &result.report;
    let mut out = format!(
        "run {} {} — {}{} in {:.1} s\n",
        result.run_id,
        result.job,
        result.status.name(),
        if dry_run {
            " (dry run: rolled back)"
        } else {
            ""
        },
        result.elapsed.as_secs_f64()
    );
    out.push_str("\nrequests by endpoint\n");
    if report.requests.is_empty() {
        out.push_str("  (none)\n");
    }
    out.push_str(&endpoint_lines(&report.requests));
    out.push_str(&format!(
        "  {:<28} {:>8}\n",
        "total",
        report.total_requests()
    ));
    out.push_str(&counts_table(&report.counts));
    if report.unknown_fields > 0 {
        out.push_str(&format!(
            "\nunknown fields tolerated in payloads: {}\n",
            report.unknown_fields
        ));
    }
    out.push_str(&error_line(result.status, result.error.as_deref()));
    out
}

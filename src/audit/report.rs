//! The audit's findings as plain data: what `paddock audit` prints as tables and serialises as
//! `--format json` (shape documented in README.md, "paddock audit"; `format_version` changes
//! when a field is removed or changes meaning, never when one is added).

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the JSON shape.
pub const FORMAT_VERSION: u32 = 1;

/// Everything one audit found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub format_version: u32,
    /// `"sqlite"` or `"postgres"`.
    pub backend: String,
    /// The PostgreSQL schema audited (`null` on SQLite).
    pub schema: Option<String>,
    pub generated_at: DateTime<Utc>,
    /// The checks that ran, by `--only` name.
    pub checks: Vec<String>,
    /// Violations per section (every section listed, 0 when clean or not run).
    pub violations: BTreeMap<String, u64>,
    pub total_violations: u64,
    pub elapsed_ms: u64,
    /// Sections: `null` when their check did not run.
    pub orphans: Option<Vec<OrphanFinding>>,
    pub duplicates: Option<Vec<DuplicateFinding>>,
    pub wrong_targets: Option<Vec<WrongTarget>>,
    pub drift: Option<Vec<DriftFinding>>,
    pub coverage: Option<Vec<ColumnCoverage>>,
    pub freshness: Option<Freshness>,
    pub trail: Option<Trail>,
}

/// Section names, in report order.
pub const SECTIONS: [&str; 7] = [
    "orphans",
    "duplicates",
    "wrong_targets",
    "drift",
    "coverage",
    "freshness",
    "trail",
];

impl AuditReport {
    /// Violation counts per section: the seam for metrics export and a scheduled audit.
    pub fn violation_counts(&self) -> BTreeMap<String, u64> {
        self.violations.clone()
    }

    /// Recomputes `violations` and `total_violations` from the sections.
    pub fn count_violations(&mut self) {
        let mut counts: BTreeMap<String, u64> =
            SECTIONS.iter().map(|s| (s.to_string(), 0)).collect();
        let mut add = |section: &str, n: u64| *counts.entry(section.to_string()).or_default() += n;
        for o in self.orphans.iter().flatten() {
            add("orphans", u64::from(o.orphans > 0));
        }
        for d in self.duplicates.iter().flatten() {
            add("duplicates", u64::from(d.duplicated_keys > 0));
        }
        add(
            "wrong_targets",
            self.wrong_targets.iter().flatten().count() as u64,
        );
        for d in self.drift.iter().flatten() {
            add("drift", u64::from(d.violation));
        }
        for c in self.coverage.iter().flatten() {
            add("coverage", u64::from(c.violation));
        }
        if let Some(f) = &self.freshness {
            add("freshness", u64::from(f.races_without_result > 0));
            add(
                "freshness",
                f.jobs.iter().filter(|j| j.overdue).count() as u64,
            );
        }
        if let Some(t) = &self.trail {
            add(
                "trail",
                t.tables
                    .iter()
                    .filter(|t| t.rows_with_unknown_run > 0)
                    .count() as u64,
            );
        }
        self.total_violations = counts.values().sum();
        self.violations = counts;
    }
}

/// One registry relation checked for rows whose target is missing.
#[derive(Debug, Clone, Serialize)]
pub struct OrphanFinding {
    pub table: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// Rows whose (non-null) reference has no target row.
    pub orphans: u64,
    /// Up to `sample_size` of their natural keys, as text.
    pub samples: Vec<Vec<String>>,
    /// Whether the live database enforces this relation with a valid foreign key.
    pub enforced: bool,
    /// Why it could not be checked (a table or column is missing; see drift).
    pub skipped: Option<String>,
}

/// A table without a unique constraint on its natural key, checked for duplicates.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateFinding {
    pub table: String,
    pub key: Vec<String>,
    /// Key values held by more than one row.
    pub duplicated_keys: u64,
    /// Rows beyond the first per duplicated key.
    pub extra_rows: u64,
    pub samples: Vec<Vec<String>>,
}

/// A live foreign key pointing at another table than the registry says.
#[derive(Debug, Clone, Serialize)]
pub struct WrongTarget {
    pub table: String,
    pub columns: Vec<String>,
    pub constraint: String,
    pub expected: String,
    pub actual: String,
}

/// One difference between the live database and the registry or the migrations.
#[derive(Debug, Clone, Serialize)]
pub struct DriftFinding {
    /// `missing_table`, `extra_table`, `legacy_table`, `missing_column`, `extra_column`,
    /// `type_mismatch`, `nullability_mismatch`, `primary_key_mismatch`, `missing_foreign_key`,
    /// `extra_foreign_key`, `foreign_key_not_valid`, `missing_index`, `unapplied_migration`,
    /// `unknown_migration`, `changed_migration`, `failed_migration`; not a violation:
    /// `rebuild_staging` (a derived full rebuild's staged table); on an adopted database,
    /// not violations: `foreign_table`, `legacy_only_column`, `mapped_column`, `type_bridged`,
    /// `nullable_in_adopted_table`, `key_by_unique_index`.
    pub kind: String,
    pub table: Option<String>,
    pub column: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// `false` for informational findings (a legacy table kept during a rename).
    pub violation: bool,
}

/// Coverage of one column: the share of non-null values, overall and per month of race date.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnCoverage {
    pub table: String,
    pub column: String,
    /// The source that owns the column (registry).
    pub source: String,
    /// Rows counted (for result-owned columns of races and runners: rows of resulted races).
    pub rows: u64,
    pub filled: u64,
    /// `filled / rows`, `null` when `rows` is 0.
    pub share: Option<f64>,
    /// Per month of race date, oldest first (empty for tables without a race date).
    pub months: Vec<MonthCoverage>,
    /// `ok`, `cliff` (stopped filling), `empty` (never filled), `expected_gap` or `no_rows`.
    pub status: String,
    /// The first month of the cliff.
    pub cliff_month: Option<String>,
    /// Why the gap is expected (registry annotation).
    pub expected_gap: Option<String>,
    pub violation: bool,
}

/// One month of a column's coverage.
#[derive(Debug, Clone, Serialize)]
pub struct MonthCoverage {
    /// `YYYY-MM`, or `unknown` for rows whose race is missing.
    pub month: String,
    pub rows: u64,
    pub filled: u64,
    pub share: Option<f64>,
    /// Inside a gap the registry expects: shown, never a violation.
    pub expected_gap: bool,
}

/// How current the data and the jobs are.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    /// `YYYY-MM-DD` of the latest race known (racecards run 7 days ahead).
    pub latest_race_date: Option<String>,
    /// `YYYY-MM-DD` of the latest race with a result.
    pub latest_result_date: Option<String>,
    pub result_delay_minutes: i64,
    /// Races past their start by more than the delay, without a result and not abandoned.
    pub races_without_result: u64,
    pub samples: Vec<LateRace>,
    pub jobs: Vec<JobFreshness>,
}

/// A race still waiting for its result.
#[derive(Debug, Clone, Serialize)]
pub struct LateRace {
    pub race_id: String,
    pub race_date: Option<String>,
    pub off_dt: Option<String>,
}

/// One job's last successful run against its schedule.
#[derive(Debug, Clone, Serialize)]
pub struct JobFreshness {
    pub job: String,
    pub cron: String,
    pub enabled: bool,
    /// When its last `succeeded` or `partial` run finished.
    pub last_success: Option<DateTime<Utc>>,
    /// The scheduled fire time it should have succeeded after (the one before the latest).
    pub due_since: Option<DateTime<Utc>>,
    pub overdue: bool,
}

/// The write trail: what the latest runs changed, and whether rows trace to their run.
#[derive(Debug, Clone, Serialize)]
pub struct Trail {
    pub runs: Vec<RunTrail>,
    pub tables: Vec<TableTrail>,
}

/// One run and the rows it changed per table.
#[derive(Debug, Clone, Serialize)]
pub struct RunTrail {
    pub run_id: i64,
    pub job: String,
    pub trigger: String,
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub params: Option<serde_json::Value>,
    pub rows_changed: u64,
    pub tables: Vec<RunTableTrail>,
}

/// One table's figures in one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunTableTrail {
    pub table: String,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

/// Whether a table's rows trace to the run that last wrote them (`last_run_id`).
#[derive(Debug, Clone, Serialize)]
pub struct TableTrail {
    pub table: String,
    pub rows: u64,
    /// Rows with `last_run_id` NULL (written by other tools).
    pub rows_without_run: u64,
    /// Rows whose `last_run_id` names no run in the ledger: a violation.
    pub rows_with_unknown_run: u64,
}

/// The run that last wrote one row ([`crate::audit::trace_row`]).
#[derive(Debug, Clone, Serialize)]
pub struct RowTrace {
    pub table: String,
    pub key: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub last_run_id: Option<i64>,
    /// The ledger row of that run, if it exists.
    pub run: Option<RunTrail>,
}

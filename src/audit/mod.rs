//! `paddock audit`: can the data be trusted? Integrity (orphans, duplicates), the schema
//! against the registry and migrations (drift, wrong foreign-key targets), coverage per column
//! and month, freshness of data and jobs, and the write trail, on SQLite and PostgreSQL.
//!
//! [`run_audit`] returns an [`AuditReport`]; [`AuditReport::violation_counts`] feeds the
//! recorded audit job ([`job`]) and through it the daemon's metrics. All database access goes
//! through [`db`] (read-only, through the store's tool door); the live schema it compares with
//! the registry is the store's (`store::catalog`, read by each engine).

pub mod coverage;
pub mod db;
pub mod drift;
pub mod freshness;
pub mod job;
pub mod layout;
pub mod orphans;
pub mod render;
pub mod report;
pub mod trail;

pub use db::AuditDb;
pub use freshness::{job_schedules, JobSchedule};
pub use report::{AuditReport, RowTrace};

use crate::store::AnyStore;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::time::Instant;

/// A group of checks, as named by `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Orphaned references and duplicated natural keys.
    Orphans,
    /// Schema drift, wrong foreign-key targets and unapplied migrations.
    Drift,
    /// Share of non-null values per column, overall and per month.
    Coverage,
    /// Latest dates, races without results, jobs against their schedules.
    Freshness,
    /// Rows changed per run; rows tracing to their run.
    Trail,
}

impl Check {
    pub const ALL: [Check; 5] = [
        Check::Orphans,
        Check::Drift,
        Check::Coverage,
        Check::Freshness,
        Check::Trail,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::Orphans => "orphans",
            Check::Drift => "drift",
            Check::Coverage => "coverage",
            Check::Freshness => "freshness",
            Check::Trail => "trail",
        }
    }

    /// Parses `--only` (`orphans,drift,…`); empty means every check.
    pub fn parse_list(list: &str) -> anyhow::Result<BTreeSet<Check>> {
        let mut out = BTreeSet::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let check = Check::ALL
                .into_iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown audit check {name:?} (choose from orphans, drift, coverage, freshness, trail)"
                    )
                })?;
            out.insert(check);
        }
        if out.is_empty() {
            out.extend(Check::ALL);
        }
        Ok(out)
    }
}

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub checks: BTreeSet<Check>,
    /// PostgreSQL schema of Paddock's tables.
    pub schema: String,
    /// A race is late when its start is more than this many minutes ago without a result.
    pub result_delay_minutes: i64,
    /// Sample keys shown per finding.
    pub sample_size: u32,
    /// Runs shown in the write trail.
    pub trail_runs: u32,
    pub schedules: Vec<JobSchedule>,
    /// The audit's "now" (injectable for tests).
    pub now: DateTime<Utc>,
}

impl AuditOptions {
    /// Every check, with the configuration's `[audit]` settings and job schedules.
    pub fn from_config(config: &crate::config::Config, now: DateTime<Utc>) -> AuditOptions {
        AuditOptions {
            checks: Check::ALL.into_iter().collect(),
            schema: config.audit.schema.clone(),
            result_delay_minutes: config.audit.result_delay_minutes,
            sample_size: config.audit.sample_size,
            trail_runs: config.audit.trail_runs,
            schedules: job_schedules(config),
            now,
        }
    }
}

/// Runs the selected checks against `store` (read-only; migrations are not applied).
pub async fn run_audit(store: &AnyStore, options: &AuditOptions) -> anyhow::Result<AuditReport> {
    let started = Instant::now();
    let db = AuditDb::new(store, &options.schema);
    let dialect = db.kind().schema_dialect();
    let catalog = db.catalog().await?;
    let runs_ledger = catalog.tables.contains_key("paddock_runs")
        && catalog.tables.contains_key("paddock_run_tables");
    let has = |c: Check| options.checks.contains(&c);
    let mut report = AuditReport {
        format_version: report::FORMAT_VERSION,
        backend: db.backend_name().to_string(),
        schema: db.schema().map(str::to_string),
        generated_at: options.now,
        checks: options
            .checks
            .iter()
            .map(|c| c.name().to_string())
            .collect(),
        violations: Default::default(),
        total_violations: 0,
        elapsed_ms: 0,
        orphans: None,
        duplicates: None,
        wrong_targets: None,
        drift: None,
        coverage: None,
        freshness: None,
        trail: None,
    };
    let layout = match has(Check::Orphans) || has(Check::Drift) {
        true => layout::read_layout(&db, &catalog).await?,
        false => layout::Layout::default(),
    };
    if has(Check::Orphans) {
        let size = options.sample_size;
        report.orphans = Some(orphans::orphans(&db, &catalog, &layout, size).await?);
        report.duplicates = Some(orphans::duplicates(&db, &catalog, &layout, size).await?);
    }
    if has(Check::Drift) {
        let mut found = drift::schema_drift(dialect, &catalog, &layout);
        let has_migrations = db.has_migrations_table().await?;
        found.extend(drift::migration_drift(&db, has_migrations).await?);
        report.drift = Some(found);
        report.wrong_targets = Some(drift::wrong_targets(&catalog, &layout));
    }
    if has(Check::Coverage) {
        report.coverage = Some(coverage::coverage(&db, &catalog).await?);
    }
    if has(Check::Freshness)
        && catalog
            .tables
            .contains_key(fetchers::registry::names::RACES)
        && runs_ledger
    {
        report.freshness = Some(
            freshness::freshness(
                &db,
                &options.schedules,
                options.now,
                options.result_delay_minutes,
                options.sample_size,
            )
            .await?,
        );
    }
    if has(Check::Trail) && runs_ledger {
        report.trail = Some(trail::trail(&db, &catalog, options.trail_runs).await?);
    }
    report.count_violations();
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The run that last wrote one row of `table` (natural key values in key order).
pub async fn trace_row(
    store: &AnyStore,
    schema: &str,
    table: &str,
    key: &[String],
) -> anyhow::Result<Option<RowTrace>> {
    trail::trace_row(&AuditDb::new(store, schema), table, key).await
}

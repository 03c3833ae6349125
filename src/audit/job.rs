//! The audit as a recorded job (`[jobs.audit]` in the daemon, off by default; `paddock run
//! audit`): every check, read-only, in a ledger run named `audit`. Makes no API request.
//!
//! The run is `succeeded` when the audit found nothing, `partial` when it found violations —
//! its error text then names the total and the count per section (`3 audit violations:
//! orphans 1, freshness 2`), so `paddock status` and the run list show it, and freshness
//! counts it as a completed run — and `failed` when the audit could not run. The counts
//! travel on in [`RunResult::audit`] for the daemon's metrics.

use crate::app::{run_recorded_with_findings, RunResult};
use crate::audit::{run_audit, AuditOptions};
use crate::config::{Config, JobKind};
use crate::store::AnyStore;
use chrono::{DateTime, Utc};
use fetchers::jobs::JobReport;
use fetchers::store::RunTrigger;
use std::collections::BTreeMap;

/// What one audit run found: when it ran and the violations per report section (the same
/// numbers as `paddock audit --format json`'s `violations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCounts {
    pub at: DateTime<Utc>,
    pub violations: BTreeMap<String, u64>,
}

impl AuditCounts {
    pub fn total(&self) -> u64 {
        self.violations.values().sum()
    }
}

/// Runs every audit check against `store` with the configuration's `[audit]` settings and job
/// schedules, recorded as a run of the audit job.
pub async fn run_recorded_audit(
    store: &AnyStore,
    config: &Config,
    trigger: RunTrigger,
) -> anyhow::Result<RunResult> {
    let options = AuditOptions::from_config(config, Utc::now());
    let params = serde_json::json!({
        "checks": options.checks.iter().map(|c| c.name()).collect::<Vec<_>>(),
    });
    let mut found: Option<AuditCounts> = None;
    let found_slot = &mut found;
    let mut result = run_recorded_with_findings(
        store,
        JobKind::Audit.name(),
        trigger,
        params,
        |_run_id| async move {
            let report = JobReport::default();
            match run_audit(store, &options).await {
                Ok(audit) => {
                    let counts = AuditCounts {
                        at: options.now,
                        violations: audit.violation_counts(),
                    };
                    let findings = findings(&counts);
                    *found_slot = Some(counts);
                    (Ok(()), report, findings)
                }
                Err(e) => (Err(format!("audit: {e:#}")), report, Vec::new()),
            }
        },
    )
    .await?;
    result.audit = found;
    Ok(result)
}

/// The run's finding: none when clean, else one line with the total and every section that
/// has violations.
fn findings(counts: &AuditCounts) -> Vec<String> {
    let total = counts.total();
    if total == 0 {
        return Vec::new();
    }
    let sections: Vec<String> = counts
        .violations
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(section, n)| format!("{section} {n}"))
        .collect();
    vec![format!(
        "{total} audit violation{}: {} (see paddock audit)",
        if total == 1 { "" } else { "s" },
        sections.join(", ")
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_audit_has_no_finding_and_violations_are_named_per_section() {
        let mut counts = AuditCounts {
            at: Utc::now(),
            violations: [("orphans", 0), ("drift", 0)]
                .map(|(s, n)| (s.to_string(), n))
                .into(),
        };
        assert!(findings(&counts).is_empty());
        counts.violations.insert("orphans".into(), 1);
        counts.violations.insert("freshness".into(), 2);
        assert_eq!(
            findings(&counts),
            vec!["3 audit violations: freshness 2, orphans 1 (see paddock audit)".to_string()]
        );
    }
}

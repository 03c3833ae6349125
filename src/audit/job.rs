//! What the audit as a recorded job (`[jobs.audit]` in the daemon, off by default; `paddock
//! run audit`) finds: the violations per report section ([`AuditCounts`]) and the run's
//! finding that names them. The run itself (the ledger row around every read-only check) is
//! `run::run_recorded_audit`, one floor up.
//!
//! The run is `succeeded` when the audit found nothing, `partial` when it found violations —
//! its error text then names the total and the count per section (`3 audit violations:
//! orphans 1, freshness 2`), so `paddock status` and the run list show it, and freshness
//! counts it as a completed run — and `failed` when the audit could not run. The counts
//! travel on in the run's result for the daemon's metrics.

use chrono::{DateTime, Utc};
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

/// The run's finding: none when clean, else one line with the total and every section that
/// has violations.
pub fn findings(counts: &AuditCounts) -> Vec<String> {
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
    use crate::audit::job::{findings, AuditCounts};
    use chrono::Utc;

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

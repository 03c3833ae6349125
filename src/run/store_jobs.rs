//! The two recorded jobs that make no API request and work on the store alone: the full
//! rebuild of the derived tables ([`run_full_rebuild`], the `derive_full` job, `paddock derive
//! --full`, weekly by the daemon) and the audit ([`run_recorded_audit`], the `audit` job).
//! The work itself stays below, in `derive` and `audit`; here it becomes a ledger run.

use super::error::RunError;
use super::recorded::{run_recorded, Ended};
use super::result::{JobDetail, RunResult};
use crate::audit::job::{findings, AuditCounts};
use crate::audit::{run_audit, AuditOptions};
use crate::config::{Config, JobKind};
use crate::store::AnyStore;
use chrono::Utc;
use fetchers::derived::DistanceBands;
use fetchers::jobs::JobReport;
use fetchers::store::RunTrigger;

/// The full rebuild of the derived tables as its own ledger job: opens a run, rebuilds in one
/// transaction ([`crate::derive::rebuild_full`]), closes the run with its status and counts.
pub async fn run_full_rebuild(
    store: &AnyStore,
    bands: &DistanceBands,
    trigger: RunTrigger,
) -> anyhow::Result<RunResult> {
    let params = serde_json::json!({ "distance_bands": bands.bounds() });
    let job = JobKind::DeriveFull.into();
    run_recorded(store, job, trigger, params, |run_id| async move {
        let mut report = JobReport::default();
        let outcome = crate::derive::rebuild_full(store, bands, run_id)
            .await
            .map(|counts| report.counts = counts)
            .map_err(RunError::from);
        Ended::new(outcome, report).with_detail(JobDetail::default())
    })
    .await
}

/// Runs every audit check against `store` with the configuration's `[audit]` settings and job
/// schedules, recorded as a run of the audit job: `succeeded` when clean, `partial` with the
/// violations named per section, `failed` when the audit could not run. What it found travels
/// on in [`JobDetail::audit`].
pub async fn run_recorded_audit(
    store: &AnyStore,
    config: &Config,
    trigger: RunTrigger,
) -> anyhow::Result<RunResult> {
    let options = AuditOptions::from_config(config, Utc::now());
    let params = serde_json::json!({
        "checks": options.checks.iter().map(|c| c.name()).collect::<Vec<_>>(),
    });
    let job = JobKind::Audit.into();
    run_recorded(store, job, trigger, params, |_run_id| async move {
        let report = JobReport::default();
        match run_audit(store, &options).await {
            Ok(audit) => {
                let counts = AuditCounts {
                    at: options.now,
                    violations: audit.violation_counts(),
                };
                Ended {
                    outcome: Ok(()),
                    report,
                    findings: findings(&counts),
                    detail: JobDetail {
                        audit: Some(counts),
                    },
                }
            }
            Err(e) => Ended::new(Err(RunError::Audit(e)), report).with_detail(JobDetail::default()),
        }
    })
    .await
}

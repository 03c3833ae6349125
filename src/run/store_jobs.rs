//! The recorded jobs that make no API request and work on the store alone: the full rebuild
//! of the derived tables ([`run_full_rebuild`], the `derive_full` job, `paddock derive
//! --full`, weekly by the daemon), the audit ([`run_recorded_audit`], the `audit` job) and the
//! analytics copy ([`run_publish`], the `publish` job, `paddock publish`) and retention
//! ([`run_retention`], the `retention` job, `paddock run retention`). The work itself stays
//! below, in `derive`, `audit`, `publish` and `retention`; here it becomes a ledger run.

use super::context::RunContext;
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
use fetchers::store::{ApplyMode, RunTrigger};
use std::path::Path;

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
                        ..JobDetail::default()
                    },
                }
            }
            Err(e) => Ended::new(Err(RunError::Audit(e)), report).with_detail(JobDetail::default()),
        }
    })
    .await
}

/// Publishes the SQLite analytics copy to `[publish] path` as a run of the publish job
/// ([`crate::publish`]): the ledger gets the per-table row counts, the publication (size,
/// time, checksums) travels on in [`JobDetail::publication`]. A configuration without a path,
/// or a PostgreSQL database, makes a failed run (the commands refuse before: exit 2).
pub async fn run_publish(
    store: &AnyStore,
    config: &Config,
    trigger: RunTrigger,
) -> anyhow::Result<RunResult> {
    let target = crate::publish::target(config).map(Path::to_path_buf);
    let params = serde_json::json!({
        "path": target.as_ref().ok().map(|p| p.display().to_string()),
    });
    let job = JobKind::Publish.into();
    run_recorded(store, job, trigger, params, |run_id| async move {
        let report = JobReport::default();
        let published = match &target {
            Ok(path) => crate::publish::publish_recorded(store, path, run_id).await,
            Err(refusal) => Err(refusal.clone().into()),
        };
        match published {
            Ok(publication) => Ended::new(Ok(()), report).with_detail(JobDetail {
                publication: Some(publication),
                ..JobDetail::default()
            }),
            Err(e) => {
                Ended::new(Err(RunError::Publish(e)), report).with_detail(JobDetail::default())
            }
        }
    })
    .await
}

/// Retention as a run of the retention job ([`crate::retention`]): the deletions are in the
/// ledger per table (`paddock_run_tables.deleted`, added batch by batch with each batch's
/// transaction) and in the report's counts. A dry run (`run.mode`) is recorded too, like every
/// dry run, with what it would delete in the report only: no row of any table is deleted.
/// The daemon's shutdown stops it between two batches (a failed run; the next one continues).
pub async fn run_retention(
    store: &AnyStore,
    config: &Config,
    run: &RunContext,
) -> anyhow::Result<RunResult> {
    let s = &config.retention;
    let dry_run = run.mode == ApplyMode::DryRun;
    let params = serde_json::json!({
        "raw_days": s.raw_days,
        "odds_days": s.odds_days,
        "odds_keep_move_percent": s.odds_keep_move_percent,
        "runs_days": s.runs_days,
        "rejects_days": s.rejects_days,
        "alerts_days": s.alerts_days,
        "batch_size": s.batch_size,
        "dry_run": dry_run,
    });
    let job = JobKind::Retention.into();
    run_recorded(store, job, run.trigger, params, |run_id| async move {
        let retention = crate::retention::Retention {
            store,
            settings: s,
            archive: &config.archive,
            now: Utc::now(),
            run_id: (!dry_run).then_some(run_id),
            cancel: run.cancel.clone(),
        };
        let mut report = JobReport::default();
        let outcome = match retention.apply().await {
            Ok(counts) => {
                report.counts = counts;
                Ok(())
            }
            Err(e) => Err(RunError::Retention(e)),
        };
        Ended::new(outcome, report).with_detail(JobDetail::default())
    })
    .await
}

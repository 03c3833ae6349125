//! [`RunResult`]: the one outcome of a recorded run — its ledger id, job, status, what it
//! requested and wrote, its error text, the counts the ledger holds — with a job-specific
//! `detail`: [`JobDetail`] for the scheduled jobs, the backfill's figures and plan, the
//! replay's response counts.

use super::name::JobName;
use super::verdict::exit_code;
use crate::audit::job::AuditCounts;
use crate::publish::Publication;
use fetchers::jobs::JobReport;
use fetchers::rows::Counts;
use fetchers::store::{RunId, RunStatus};
use std::time::Duration;

/// The outcome of one recorded run.
#[derive(Debug)]
pub struct RunResult<D = JobDetail> {
    pub run_id: RunId,
    pub job: JobName,
    pub status: RunStatus,
    pub report: JobReport,
    pub error: Option<String>,
    pub elapsed: Duration,
    /// Counts as stored in the ledger (equal to `report.counts` unless the run was a dry run).
    pub ledger_counts: Counts,
    /// What this kind of run adds to the common figures.
    pub detail: D,
}

impl<D> RunResult<D> {
    /// The process exit status for this run.
    pub fn exit_code(&self) -> i32 {
        exit_code(self.status)
    }

    /// The same result with its detail turned into another (the caller's richer one).
    pub fn map_detail<E>(self, f: impl FnOnce(D) -> E) -> RunResult<E> {
        RunResult {
            run_id: self.run_id,
            job: self.job,
            status: self.status,
            report: self.report,
            error: self.error,
            elapsed: self.elapsed,
            ledger_counts: self.ledger_counts,
            detail: f(self.detail),
        }
    }
}

/// The detail of a scheduled job's run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobDetail {
    /// What an audit run found (a run of the audit job that completed its checks; `None`
    /// otherwise): the daemon exports it as metrics.
    pub audit: Option<AuditCounts>,
    /// What a run of the publish job published: the daemon exports the copy's age and size.
    pub publication: Option<Publication>,
}

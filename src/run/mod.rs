//! Running one job as a recorded run: the floor above the work (the fetchers, `derive`,
//! `audit`) and below the commands that start runs (`paddock run`, import, backfill, replay,
//! the demo, the daemon).
//!
//! - `name.rs`: [`JobName`], the ledger's name of every kind of run.
//! - `context.rs`: [`RunContext`], a run's trigger, apply mode and cancellation token.
//! - `error.rs`: [`RunError`], why a run body stopped.
//! - `recorded.rs`: [`run_recorded`], the one run wrapper (ledger row, judge, close).
//! - `verdict.rs`: [`judge`] and the exit codes ([`EXIT_PARTIAL`], [`EXIT_FAILED`]).
//! - `result.rs`: [`RunResult`], the one run result, with a job-specific `detail`.
//! - `summary.rs`: the summary text and the one counts table.
//! - `dispatch.rs`: [`JobRequest`], [`run_any`] and [`run_job`].
//! - `store_jobs.rs`: the recorded full rebuild of the derived tables, the recorded audit and
//!   the analytics copy's publish.

pub mod context;
pub mod dispatch;
pub mod error;
pub mod name;
pub mod recorded;
pub mod result;
pub mod store_jobs;
pub mod summary;
pub mod verdict;

pub use context::RunContext;
pub use dispatch::{run_any, run_job, JobRequest};
pub use error::RunError;
pub use name::JobName;
pub use recorded::{run_recorded, Ended};
pub use result::{JobDetail, RunResult};
pub use store_jobs::{run_full_rebuild, run_publish, run_recorded_audit, run_retention};
pub use summary::render_summary;
pub use verdict::{exit_code, judge, EXIT_FAILED, EXIT_PARTIAL};

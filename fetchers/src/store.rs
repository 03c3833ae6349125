//! The store trait: everything the fetchers need from a database. The application implements
//! it for SQLite and PostgreSQL (`src/store/`); both pass the same tests.

use crate::rows::{Counts, UnitOfWork};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashSet};

/// The id of a row in the run ledger (`paddock_runs.run_id`).
pub type RunId = i64;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTrigger {
    Schedule,
    Manual,
    Backfill,
    CatchUp,
}

impl RunTrigger {
    pub fn name(self) -> &'static str {
        match self {
            RunTrigger::Schedule => "schedule",
            RunTrigger::Manual => "manual",
            RunTrigger::Backfill => "backfill",
            RunTrigger::CatchUp => "catch-up",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    /// Everything fetched and stored.
    Succeeded,
    /// Finished, but some records were rejected or some resources were missing.
    Partial,
    /// Stopped by an error.
    Failed,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }
}

/// The closing figures of a run, written to its ledger row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFinish {
    pub status: RunStatus,
    pub requests_by_endpoint: BTreeMap<String, u64>,
    pub error_text: Option<String>,
}

/// One row of the run ledger, as `paddock status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub run_id: RunId,
    pub job: String,
    pub trigger: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    pub api_requests: i64,
    pub rows_rejected: i64,
    pub error_text: Option<String>,
}

/// Whether [`Store::apply`] commits or rolls back (`--dry-run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    Commit,
    DryRun,
}

/// A store failure. A failed [`Store::apply`] has rolled its whole unit back.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A constraint violation, with the table and (where known) the offending key.
    #[error("{table}: constraint violated for key {key}: {message}")]
    Constraint {
        table: String,
        key: String,
        message: String,
    },
    /// A row that breaks the registry's rules (an extractor bug); nothing was written.
    #[error("invalid row: {0}")]
    InvalidRow(#[from] crate::rows::RowError),
    /// Any other database error, with the table being written where there was one.
    #[error("database error{}: {message}", table.as_ref().map(|t| format!(" writing {t}")).unwrap_or_default())]
    Database {
        table: Option<String>,
        message: String,
    },
}

/// Everything the fetchers need from a database.
#[async_trait]
pub trait Store: Send + Sync {
    /// Applies one unit of work in one transaction: rows (deduplicated by key, in the
    /// registry's foreign-key order, as bulk upserts that respect column ownership and never
    /// erase a known value with NULL), rejects, state and checkpoint, and the run's per-table
    /// counters. Returns per-table counts. Any failure rolls the whole unit back.
    async fn apply(
        &self,
        run_id: RunId,
        unit: &UnitOfWork,
        mode: ApplyMode,
    ) -> Result<Counts, StoreError>;

    /// Which of `keys` exist in `table.column` (a set lookup in chunks, never a scan).
    async fn existing_keys(
        &self,
        table: &str,
        column: &str,
        keys: &[String],
    ) -> Result<HashSet<String>, StoreError>;

    /// Opens a ledger row for a run (status `running`).
    async fn start_run(
        &self,
        job: &str,
        trigger: RunTrigger,
        params: serde_json::Value,
    ) -> Result<RunId, StoreError>;

    /// Closes a run's ledger row.
    async fn finish_run(&self, run_id: RunId, finish: &RunFinish) -> Result<(), StoreError>;

    /// The per-table counters accumulated for a run.
    async fn run_counts(&self, run_id: RunId) -> Result<Counts, StoreError>;

    /// The latest `limit` runs, newest first.
    async fn recent_runs(&self, limit: i64) -> Result<Vec<RunRecord>, StoreError>;

    /// Horses with no profile data yet (never fetched from `/horses/{id}/pro` and never seen on a
    /// racecard, which carries the same fields), most recently raced first.
    async fn horses_without_profile(&self, limit: i64) -> Result<Vec<String>, StoreError>;

    /// Ids in a pedigree master (`ra_mst_sires`, …) not yet linked to their horse row.
    async fn unlinked_pedigree_ids(&self, table: &str) -> Result<Vec<String>, StoreError>;

    /// A value from `paddock_state`.
    async fn get_state(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Number of rows in a table (for summaries and tests).
    async fn count_rows(&self, table: &str) -> Result<i64, StoreError>;

    /// Recomputes the derived tables (`ra_runner_statistics`, …) for every entity the races
    /// run `run_id` wrote touch, in one transaction, and adds the rows written to the run's
    /// ledger counters (the application's `src/derive/`). A store without derived tables fails.
    async fn update_derived(
        &self,
        run_id: RunId,
        bands: &crate::derived::DistanceBands,
    ) -> Result<Counts, StoreError> {
        let _ = (run_id, bands);
        Err(StoreError::Database {
            table: None,
            message: "this store keeps no derived tables".to_string(),
        })
    }
}

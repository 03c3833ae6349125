//! The store trait: everything the fetchers need from a database. The application implements
//! it for SQLite and PostgreSQL (`src/store/`); both pass the same tests.

pub use crate::ledger::{CheckpointStatus, RunId, RunStatus, RunTrigger, StateKey, UnknownName};
use crate::rows::{Counts, UnitOfWork};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashSet};

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
    pub trigger: RunTrigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub api_requests: i64,
    pub rows_rejected: i64,
    pub error_text: Option<String>,
}

/// A stored runner and its horse's names, to match names the API gives only as text (the
/// results' `non_runners`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerName {
    pub race_id: String,
    pub horse_id: String,
    pub name: String,
    pub name_with_suffix: Option<String>,
}

/// Whether [`Store::apply`] commits or rolls back (`--dry-run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    Commit,
    DryRun,
}

/// A store failure. A failed [`Store::apply`] has rolled its whole unit back.
/// [`StoreError::is_transient`] says whether trying again may succeed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A failure that may pass on its own: the connection was lost or refused, the pool timed
    /// out, a serialization failure, a deadlock, a lock or statement timeout, a busy SQLite
    /// database. Nothing was written; the same work may be tried again.
    #[error("transient database error{}: {message}", table.as_ref().map(|t| format!(" writing {t}")).unwrap_or_default())]
    Transient {
        table: Option<String>,
        message: String,
    },
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
    /// Any other database error (permanent: trying again will fail the same way), with the
    /// table being written where there was one.
    #[error("database error{}: {message}", table.as_ref().map(|t| format!(" writing {t}")).unwrap_or_default())]
    Database {
        table: Option<String>,
        message: String,
    },
}

impl StoreError {
    /// Whether trying the same work again may succeed (see [`StoreError::Transient`]);
    /// constraint violations, invalid rows and other database errors are permanent.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Transient { .. })
    }
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
    async fn get_state(&self, key: &StateKey) -> Result<Option<String>, StoreError>;

    /// Number of rows in a table (for summaries and tests).
    async fn count_rows(&self, table: &str) -> Result<i64, StoreError>;

    /// The stored runners of `race_ids`, with their horses' names.
    async fn runner_names(&self, race_ids: &[String]) -> Result<Vec<RunnerName>, StoreError>;

    /// Horses whose `/horses/{id}/pro` profile was stored before `cutoff`, oldest first.
    async fn horses_with_profile_older_than(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<String>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_errors_say_so() {
        let transient = StoreError::Transient {
            table: None,
            message: "connection reset".into(),
        };
        let permanent = StoreError::Database {
            table: None,
            message: "syntax error".into(),
        };
        assert!(transient.is_transient());
        assert!(!permanent.is_transient());
    }
}

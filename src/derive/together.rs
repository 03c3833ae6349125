//! Running a plan's statements: those of its own transaction one by one ([`run_statement`]),
//! and the jobs of a [`Step::Together`] step at the same time on connections of their own
//! beside the pool ([`Workers`]): PostgreSQL's full rebuild sorts 1.3 M runs two dozen times,
//! and one connection uses one of the server's cores. Each job runs in a transaction of its
//! own; after a failure no new job starts, the running ones finish, and the first error is
//! returned.
//!
//! [`Step::Together`]: super::steps::Step::Together

use super::steps::{Effect, Job, Statement};
use crate::store::dialect::{Conn, Dialect};
use crate::store::SqlStore;
use fetchers::store::StoreError;
use futures_util::future::join_all;
use sqlx::Connection;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// How many connections of its own a plan's jobs run on (the plan's transaction waits,
/// idle, meanwhile): two sorts at once, one per core of a small managed server, and two
/// connections more than the pool while the weekly rebuild runs.
pub(super) const CONNECTIONS: usize = 2;

/// The connections a plan's jobs run on, opened at its first [`Step::Together`] step.
///
/// [`Step::Together`]: super::steps::Step::Together
pub(super) struct Workers<'s, D: Dialect> {
    store: &'s SqlStore<D>,
    /// `None` until the first step asks; then the connections that could be opened (none: the
    /// jobs run in the plan's transaction).
    connections: Option<Vec<Conn<D>>>,
}

impl<'s, D: Dialect> Workers<'s, D> {
    pub(super) fn new(store: &'s SqlStore<D>) -> Self {
        Workers {
            store,
            connections: None,
        }
    }

    /// Runs `jobs` on the workers' connections, each job in a transaction of its own, and
    /// returns every statement's effect and row count; `None` when no connection could be
    /// opened (the caller runs them in its own transaction).
    pub(super) async fn run(
        &mut self,
        jobs: &[Job],
    ) -> Result<Option<Vec<(Effect, u64)>>, StoreError> {
        let connections = match &mut self.connections {
            Some(connections) => connections,
            None => self.connections.insert(open(self.store).await),
        };
        if connections.is_empty() {
            return Ok(None);
        }
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let workers = (connections.iter_mut()).map(|conn| work::<D>(conn, jobs, &next, &failed));
        let mut done = Vec::new();
        for result in join_all(workers).await {
            done.extend(result?);
        }
        Ok(Some(done))
    }

    /// After the plan failed: runs `undo` (best effort, each statement on its own) on one of
    /// the workers' connections, if any was opened (jobs ran on them); then closes them.
    pub(super) async fn finish(self, undo: &[String]) {
        let Some(mut connections) = self.connections else {
            return;
        };
        if let Some(conn) = connections.first_mut() {
            for sql in undo {
                if let Err(e) = D::execute_once(conn, sql).await {
                    tracing::warn!(error = %e, statement = %sql, "derived: undoing a failed rebuild");
                }
            }
        }
        for conn in connections {
            let _ = conn.close().await;
        }
    }
}

/// Up to [`CONNECTIONS`] connections with the pool's settings; fewer (with a warning) when the
/// server refuses more.
async fn open<D: Dialect>(store: &SqlStore<D>) -> Vec<Conn<D>> {
    let mut out = Vec::new();
    for _ in 0..CONNECTIONS {
        match store.separate_connection().await {
            Ok(conn) => out.push(conn),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    opened = out.len(),
                    "derived: fewer connections of their own for the rebuild's jobs"
                );
                break;
            }
        }
    }
    out
}

/// One worker: takes the next job not yet taken until none is left or one failed.
async fn work<D: Dialect>(
    conn: &mut Conn<D>,
    jobs: &[Job],
    next: &AtomicUsize,
    failed: &AtomicBool,
) -> Result<Vec<(Effect, u64)>, StoreError> {
    let mut done = Vec::new();
    while !failed.load(Ordering::SeqCst) {
        let Some(job) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) else {
            break;
        };
        match run_job::<D>(conn, job).await {
            Ok(rows) => done.extend(rows),
            Err(e) => {
                failed.store(true, Ordering::SeqCst);
                return Err(e);
            }
        }
    }
    Ok(done)
}

async fn run_job<D: Dialect>(
    conn: &mut Conn<D>,
    job: &Job,
) -> Result<Vec<(Effect, u64)>, StoreError> {
    let mut tx = conn.begin().await.map_err(|e| database_error(e, None))?;
    let mut done = Vec::new();
    for statement in job {
        done.push((
            statement.effect,
            run_statement::<D>(&mut tx, statement).await?,
        ));
    }
    tx.commit().await.map_err(|e| database_error(e, None))?;
    Ok(done)
}

/// Runs one statement; returns its row count (a [`Effect::Replaced`] statement's count).
pub(super) async fn run_statement<D: Dialect>(
    conn: &mut Conn<D>,
    statement: &Statement,
) -> Result<u64, StoreError> {
    let t = Instant::now();
    let rows = match statement.effect {
        Effect::Replaced(_) => count_of::<D>(conn, &statement.sql).await,
        _ => D::execute_once(conn, &statement.sql).await,
    }
    .map_err(|e| database_error(e, Some(statement)))?;
    tracing::debug!(
        elapsed_ms = t.elapsed().as_millis() as u64,
        rows,
        statement = %statement.sql.chars().take(100).collect::<String>(),
        "derive statement"
    );
    Ok(rows)
}

/// The one number a `SELECT COUNT(*)` statement gives.
async fn count_of<D: Dialect>(conn: &mut Conn<D>, sql: &str) -> Result<u64, sqlx::Error> {
    let rows = D::fetch_text(conn, sql, &[]).await?;
    let cell = rows.first().and_then(|row| row.first().cloned().flatten());
    Ok(cell.and_then(|n| n.parse().ok()).unwrap_or(0))
}

/// A database error of `statement` (of a transaction's begin or commit when `None`), naming
/// the table its effect names.
pub(super) fn database_error(e: sqlx::Error, statement: Option<&Statement>) -> StoreError {
    let table = match statement.map(|s| s.effect) {
        Some(Effect::Deleted(t) | Effect::Written(t) | Effect::Replaced(t)) => Some(t.to_string()),
        Some(Effect::None) => Some("derived scratch tables".to_string()),
        None => None,
    };
    StoreError::Database {
        table,
        message: e.to_string(),
    }
}

//! The rename's ledger of transition attempts, a table of its own (`paddock_rename_history`,
//! migration 0007): one row per attempt with its number, the phases, a typed
//! [`TransitionOutcome`], the reason of a refusal or failure and the time.
//!
//! Every transition and every recorded refusal runs in one transaction ([`run_transition`])
//! that first takes `paddock_state` exclusively (PostgreSQL: `LOCK TABLE … IN EXCLUSIVE MODE`,
//! which waits for the units of work in flight, since each holds a share lock on the phase row,
//! and holds off new units and other transitions until the commit; SQLite: `BEGIN IMMEDIATE`,
//! serialized with every unit), then checks that the phase is still the one the transition was
//! prepared from, and numbers its ledger entry as the greatest number stored plus one, read
//! inside that transaction (inserted, never overwritten). A transition whose work fails is
//! recorded as failed, in a transaction of its own. See `store::phase_follow` for the units'
//! side.

use crate::rename::phase::Phase;
use crate::rename::state::phase_statement;
use crate::store::dialect::{Fragment, Params, ToolDialect};
use crate::store::tools::{ForeignKeys, Statement, ToolTx, TransactionWork};
use crate::store::SqlStore;
use anyhow::{bail, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType::{Integer, Text, Timestamp};
use fetchers::rows::Value;
use std::fmt;

/// How a transition attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionOutcome {
    /// The phase changed.
    Succeeded,
    /// A check said no (verify found differences, the grace period runs); nothing changed.
    Refused,
    /// The transition's work failed and was rolled back; nothing changed.
    Failed,
}

impl TransitionOutcome {
    pub const ALL: [TransitionOutcome; 3] = [
        TransitionOutcome::Succeeded,
        TransitionOutcome::Refused,
        TransitionOutcome::Failed,
    ];

    /// The outcome's name as stored.
    pub fn name(self) -> &'static str {
        match self {
            TransitionOutcome::Succeeded => "succeeded",
            TransitionOutcome::Refused => "refused",
            TransitionOutcome::Failed => "failed",
        }
    }

    /// The outcome named `text`.
    pub fn parse(text: &str) -> Option<TransitionOutcome> {
        TransitionOutcome::ALL
            .into_iter()
            .find(|o| o.name() == text)
    }
}

impl fmt::Display for TransitionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One recorded transition attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub seq: i64,
    pub from: Phase,
    pub to: Phase,
    pub outcome: TransitionOutcome,
    /// Why it was refused or failed.
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

impl fmt::Display for Transition {
    /// `dual-write -> backfill: succeeded`, or with the reason after a colon.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}: {}", self.from, self.to, self.outcome)?;
        match &self.detail {
            Some(detail) => write!(f, ": {detail}"),
            None => Ok(()),
        }
    }
}

/// A phase change: `from → to` at `at`.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub from: Phase,
    pub to: Phase,
    pub at: DateTime<Utc>,
}

/// The phase moved on while a transition was being prepared (another transition committed
/// first): nothing was done, and the attempt is not recorded.
#[derive(Debug)]
struct PhaseMoved {
    found: String,
    change: Change,
}

impl fmt::Display for PhaseMoved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Change { from, to, .. } = self.change;
        write!(
            f,
            "the rename phase changed to {} while `{from} -> {to}` was being prepared; nothing \
             was done: run the command again",
            self.found
        )
    }
}

impl std::error::Error for PhaseMoved {}

/// Runs a transition's `statements` in one transaction together with the phase change and its
/// ledger entry; refused without effect if the phase is no longer `change.from`. A failure of
/// the work is recorded (its own transaction) and returned.
pub async fn run_transition<D: ToolDialect>(
    store: &SqlStore<D>,
    change: Change,
    statements: &[Statement<D>],
    foreign_keys: ForeignKeys,
) -> Result<()> {
    let work = TransitionWork {
        change,
        statements,
        refusal: None,
    };
    let outcome = store.write_transaction(&work, foreign_keys).await;
    if let Err(error) = &outcome {
        if error.downcast_ref::<PhaseMoved>().is_none() {
            let detail = format!("{error:#}");
            let recorded = record(store, change, TransitionOutcome::Failed, &detail).await;
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "recording a failed rename transition failed");
            }
        }
    }
    outcome
}

/// Runs `statements` in one transaction under the transitions' lock (`paddock_state` taken
/// exclusively first, as [`run_transition`] does), refused without effect unless the stored
/// phase is still `phase`: work that must not interleave with a transition (each batch of the
/// backfill, so an `advance` or `rollback` runs between two batches, never across one, and the
/// backfill stops once the phase moved).
pub async fn run_in_phase<D: ToolDialect>(
    store: &SqlStore<D>,
    phase: Phase,
    statements: &[Statement<D>],
) -> Result<()> {
    let work = InPhase { phase, statements };
    store.write_transaction(&work, ForeignKeys::Enforced).await
}

/// [`run_in_phase`]'s transaction.
struct InPhase<'a, D: ToolDialect> {
    phase: Phase,
    statements: &'a [Statement<D>],
}

#[async_trait]
impl<D: ToolDialect> TransactionWork<D> for InPhase<'_, D> {
    async fn run(&self, tx: &mut ToolTx<'_, D>) -> Result<()> {
        tx.lock_state_exclusively().await?;
        let found = tx.stored_phase().await?;
        if found.as_deref().and_then(Phase::parse) != Some(self.phase) {
            bail!(
                "the rename phase is {} now, no longer {}: a transition ran meanwhile; stopped \
                 before this batch (nothing of it written)",
                found.as_deref().unwrap_or("none"),
                self.phase.name()
            );
        }
        for statement in self.statements {
            tx.execute(statement).await?;
        }
        Ok(())
    }
}

/// Records a refused transition (its own transaction; the phase is unchanged).
pub async fn record_refusal<D: ToolDialect>(
    store: &SqlStore<D>,
    change: Change,
    reason: &str,
) -> Result<()> {
    record(store, change, TransitionOutcome::Refused, reason).await
}

async fn record<D: ToolDialect>(
    store: &SqlStore<D>,
    change: Change,
    outcome: TransitionOutcome,
    detail: &str,
) -> Result<()> {
    let work = TransitionWork {
        change,
        statements: &[],
        refusal: Some((outcome, detail)),
    };
    store.write_transaction(&work, ForeignKeys::Enforced).await
}

/// What a transition's transaction does, in order (see the module documentation).
struct TransitionWork<'a, D: ToolDialect> {
    change: Change,
    statements: &'a [Statement<D>],
    /// `Some`: only record this outcome and its detail.
    refusal: Option<(TransitionOutcome, &'a str)>,
}

#[async_trait]
impl<D: ToolDialect> TransactionWork<D> for TransitionWork<'_, D> {
    async fn run(&self, tx: &mut ToolTx<'_, D>) -> Result<()> {
        let change = self.change;
        tx.lock_state_exclusively().await?;
        if let Some(found) = tx.stored_phase().await? {
            if Phase::parse(&found) != Some(change.from) {
                bail!(PhaseMoved { found, change });
            }
        }
        for statement in self.statements {
            tx.execute(statement).await?;
        }
        let seq = next_seq(tx).await?;
        let (outcome, detail) = self.refusal.unwrap_or((TransitionOutcome::Succeeded, ""));
        let detail = (!detail.is_empty()).then_some(detail);
        tx.execute(&insert_entry(seq, change, outcome, detail))
            .await?;
        if outcome == TransitionOutcome::Succeeded {
            tx.execute(&phase_statement(change.to, change.at)).await?;
        }
        Ok(())
    }
}

/// The number after the newest entry's, as the transaction sees it (1 for the first).
async fn next_seq<D: ToolDialect>(tx: &mut ToolTx<'_, D>) -> Result<i64> {
    let sql = "SELECT CAST(MAX(seq) AS TEXT) FROM paddock_rename_history";
    let last = tx.text_rows(sql, &Params::new()).await?;
    match last.first().and_then(|r| r[0].as_deref()) {
        Some(n) => Ok(n.trim().parse::<i64>()? + 1),
        None => Ok(1),
    }
}

/// Inserts entry `seq` (a plain `INSERT`: a taken number fails, never overwrites).
fn insert_entry<D: ToolDialect>(
    seq: i64,
    change: Change,
    outcome: TransitionOutcome,
    detail: Option<&str>,
) -> Statement<D> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "INSERT INTO paddock_rename_history (seq, from_phase, to_phase, outcome, detail, at) \
         VALUES ({}, {}, {}, {}, {}, {})",
        p.add(Value::Integer(seq), Integer),
        p.add(Value::Text(change.from.name().into()), Text),
        p.add(Value::Text(change.to.name().into()), Text),
        p.add(Value::Text(outcome.name().into()), Text),
        p.add(detail.map_or(Value::Null, |d| Value::Text(d.into())), Text),
        p.add(Value::Timestamp(change.at), Timestamp),
    );
    Statement::new(sql, p)
}

/// Every recorded transition, oldest first.
pub async fn history<D: ToolDialect>(store: &SqlStore<D>) -> Result<Vec<Transition>> {
    let sql = format!(
        "SELECT seq, from_phase, to_phase, outcome, detail, {} \
         FROM paddock_rename_history ORDER BY seq",
        D::fragment(Fragment::TimestampText, "at")
    );
    let rows = store.text_rows(&sql, &[]).await?;
    rows.iter().map(|row| transition(row)).collect()
}

/// A stored entry as typed values; anything unreadable is an error naming the entry.
fn transition(row: &[Option<String>]) -> Result<Transition> {
    let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let bad = || anyhow::anyhow!("unreadable rename history entry {row:?}");
    let phase = |i: usize| Phase::parse(&cell(i)).ok_or_else(bad);
    Ok(Transition {
        seq: cell(0).parse().map_err(|_| bad())?,
        from: phase(1)?,
        to: phase(2)?,
        outcome: TransitionOutcome::parse(&cell(3)).ok_or_else(bad)?,
        detail: row.get(4).cloned().flatten(),
        at: DateTime::parse_from_rfc3339(&cell(5))
            .map_err(|_| bad())?
            .with_timezone(&Utc),
    })
}

#[cfg(test)]
mod tests {
    use crate::rename::history::{transition, TransitionOutcome};
    use crate::rename::phase::Phase;

    fn cells(values: &[Option<&str>]) -> Vec<Option<String>> {
        values.iter().map(|v| v.map(str::to_string)).collect()
    }

    #[test]
    fn stored_entries_read_back_as_typed_transitions() {
        let row = cells(&[
            Some("3"),
            Some("backfill"),
            Some("switch-readers"),
            Some("refused"),
            Some("verify found: x"),
            Some("2026-01-02T03:04:05.123000Z"),
        ]);
        let t = transition(&row).unwrap();
        assert_eq!(
            (t.seq, t.from, t.to, t.outcome),
            (
                3,
                Phase::Backfill,
                Phase::SwitchReaders,
                TransitionOutcome::Refused
            )
        );
        assert_eq!(
            t.to_string(),
            "backfill -> switch-readers: refused: verify found: x"
        );
        let mut unknown = row.clone();
        unknown[3] = Some("ok".into());
        assert!(transition(&unknown).is_err());
        for outcome in TransitionOutcome::ALL {
            assert_eq!(TransitionOutcome::parse(outcome.name()), Some(outcome));
        }
    }
}

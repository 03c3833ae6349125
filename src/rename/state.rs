//! The rename's persisted state in `paddock_state`: the current phase (`rename_phase`), the
//! ledger of transitions (`rename_history:NNNNNN`, one per attempt with its outcome and time)
//! and backfill cursors (`rename_backfill:TABLE`).
//!
//! Every transition and every recorded refusal runs in one transaction ([`run_transition`])
//! that first takes `paddock_state` (PostgreSQL: `LOCK TABLE … IN EXCLUSIVE MODE`, which
//! waits for the units of work in flight, since each holds a share lock on the phase row, and
//! holds off new units and other transitions until the commit; SQLite: `BEGIN IMMEDIATE`,
//! serialized with every unit), then checks that the phase is still the one the transition
//! was prepared from, and numbers its ledger entry as the greatest number stored plus one, read
//! inside that transaction (inserted, never overwritten). See `store::phase_follow` for the
//! units' side.

use crate::store::{AnyStore, PHASE_STATE_KEY};
use crate::rename::phase::{legacy_name, renamed_tables, Phase};
use crate::rename::sql::{fetch_texts, literal, run_steps, table_exists, Steps, TxConn};
use anyhow::{bail, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

const PHASE_KEY: &str = PHASE_STATE_KEY;
const HISTORY_PREFIX: &str = "rename_history:";
const CURSOR_PREFIX: &str = "rename_backfill:";

/// One recorded transition attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Phase,
    pub to: Phase,
    /// `ok`, or `refused: …` / `failed: …` with the reason.
    pub outcome: String,
    pub at: DateTime<Utc>,
}

/// The statement that sets `key` to `value` at `at`.
pub fn set_state_sql(key: &str, value: &str, at: DateTime<Utc>) -> String {
    format!(
        "INSERT INTO paddock_state (key, value, updated_at) VALUES ({}, {}, {}) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        literal(key),
        literal(value),
        literal(&at.to_rfc3339())
    )
}

pub fn delete_state_sql(key: &str) -> String {
    format!("DELETE FROM paddock_state WHERE key = {}", literal(key))
}

/// A phase change: `from → to` at `at`.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub from: Phase,
    pub to: Phase,
    pub at: DateTime<Utc>,
}

/// Runs a transition's `statements` in one transaction together with the phase change and
/// its ledger entry (`ok`); refused without effect if the phase is no longer `change.from`.
pub async fn run_transition(
    store: &AnyStore,
    change: Change,
    statements: &[String],
    foreign_keys_off: bool,
) -> Result<()> {
    let steps = TransitionSteps {
        change,
        statements,
        refusal: None,
    };
    run_steps(store, &steps, foreign_keys_off).await
}

/// Records a refused or failed transition (its own transaction; the phase is unchanged).
pub async fn record_refusal(
    store: &AnyStore,
    from: Phase,
    to: Phase,
    outcome: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let steps = TransitionSteps {
        change: Change { from, to, at },
        statements: &[],
        refusal: Some(outcome),
    };
    run_steps(store, &steps, false).await
}

/// What a transition's transaction does, in order (see the module documentation).
struct TransitionSteps<'a> {
    change: Change,
    statements: &'a [String],
    /// `Some(outcome)`: only record the refusal.
    refusal: Option<&'a str>,
}

#[async_trait]
impl Steps for TransitionSteps<'_> {
    async fn run(&self, tx: &mut TxConn<'_>) -> Result<()> {
        let Change { from, to, at } = self.change;
        if tx.is_postgres() {
            tx.execute("LOCK TABLE paddock_state IN EXCLUSIVE MODE")
                .await?;
        }
        let stored = tx.texts(&stored_phase_sql()).await?;
        if let Some(text) = stored.first().and_then(|r| r[0].as_deref()) {
            if Phase::parse(text) != Some(from) {
                bail!(
                    "the rename phase changed to {text} while `{from} -> {to}` was being \
                     prepared; nothing was done: run the command again"
                );
            }
        }
        for sql in self.statements {
            tx.execute(sql).await?;
        }
        let last = tx.texts(&last_history_seq_sql()).await?;
        let seq = match last.first().and_then(|r| r[0].as_deref()) {
            Some(n) => n.trim().parse::<u64>()? + 1,
            None => 1,
        };
        let outcome = self.refusal.unwrap_or("ok");
        tx.execute(&insert_history_sql(seq, from, to, outcome, at))
            .await?;
        if self.refusal.is_none() {
            tx.execute(&set_state_sql(PHASE_KEY, to.name(), at)).await?;
        }
        Ok(())
    }
}

/// The number of the newest ledger entry (as text; NULL when there is none).
fn last_history_seq_sql() -> String {
    format!(
        "SELECT CAST(MAX({}) AS TEXT) FROM paddock_state WHERE key LIKE {}",
        history_seq_expr(),
        literal(&format!("{HISTORY_PREFIX}%"))
    )
}

/// A ledger key's number, as an integer (both engines).
fn history_seq_expr() -> String {
    format!("CAST(substr(key, {}) AS INTEGER)", HISTORY_PREFIX.len() + 1)
}

/// Inserts ledger entry `seq` (a plain `INSERT`: a taken number fails, never overwrites).
fn insert_history_sql(
    seq: u64,
    from: Phase,
    to: Phase,
    outcome: &str,
    at: DateTime<Utc>,
) -> String {
    format!(
        "INSERT INTO paddock_state (key, value, updated_at) VALUES ({}, {}, {})",
        literal(&format!("{HISTORY_PREFIX}{seq:06}")),
        literal(&format!("{from}->{to}: {outcome}")),
        literal(&at.to_rfc3339())
    )
}

fn stored_phase_sql() -> String {
    format!(
        "SELECT value FROM paddock_state WHERE key = {}",
        literal(PHASE_KEY)
    )
}

/// Every recorded transition, oldest first.
pub async fn history(store: &AnyStore) -> Result<Vec<Transition>> {
    let rows = fetch_texts(
        store,
        &format!(
            "SELECT value, CAST(updated_at AS TEXT) FROM paddock_state WHERE key LIKE {} \
             ORDER BY {}",
            literal(&format!("{HISTORY_PREFIX}%")),
            history_seq_expr()
        ),
    )
    .await?;
    rows.into_iter()
        .map(|row| {
            let value = row[0].clone().unwrap_or_default();
            let at = row[1].clone().unwrap_or_default();
            parse_transition(&value, &at)
        })
        .collect()
}

fn parse_transition(value: &str, at: &str) -> Result<Transition> {
    let bad = || anyhow::anyhow!("unreadable rename history entry {value:?}");
    let (phases, outcome) = value.split_once(": ").ok_or_else(bad)?;
    let (from, to) = phases.split_once("->").ok_or_else(bad)?;
    Ok(Transition {
        from: Phase::parse(from).ok_or_else(bad)?,
        to: Phase::parse(to).ok_or_else(bad)?,
        outcome: outcome.to_string(),
        at: parse_time(at)?,
    })
}

/// A stored time: RFC 3339 (SQLite) or PostgreSQL's `timestamptz` text.
fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    bail!("unreadable time {text:?}")
}

/// The phase stored in `paddock_state`, if any (a database never transitioned has none).
pub async fn stored_phase(store: &AnyStore) -> Result<Option<Phase>> {
    let stored = fetch_texts(store, &stored_phase_sql()).await?;
    match stored.first().and_then(|r| r[0].clone()) {
        Some(text) => Phase::parse(&text)
            .map(Some)
            .ok_or_else(|| anyhow::anyhow!("unknown rename phase {text:?} in paddock_state")),
        None => Ok(None),
    }
}

/// The database's phase: as stored, else detected from its tables (legacy names only →
/// legacy; otherwise the registry's names → dropped, nothing to rename).
pub async fn current_phase(store: &AnyStore) -> Result<Phase> {
    if let Some(phase) = stored_phase(store).await? {
        return Ok(phase);
    }
    let first = renamed_tables()[0];
    let legacy = table_exists(store, legacy_name(first)).await?;
    let new = table_exists(store, first.name).await?;
    Ok(if legacy && !new {
        Phase::Legacy
    } else {
        Phase::Dropped
    })
}

/// The phase-setting statement alone (for `migrate --legacy-names`).
pub fn phase_sql(phase: Phase, at: DateTime<Utc>) -> String {
    set_state_sql(PHASE_KEY, phase.name(), at)
}

/// The backfill cursor of `table` (last copied key), if a pass is under way.
pub async fn backfill_cursor(store: &AnyStore, table: &str) -> Result<Option<String>> {
    let rows = fetch_texts(
        store,
        &format!(
            "SELECT value FROM paddock_state WHERE key = {}",
            literal(&cursor_key(table))
        ),
    )
    .await?;
    Ok(rows.into_iter().next().and_then(|mut r| r.remove(0)))
}

pub fn cursor_key(table: &str) -> String {
    format!("{CURSOR_PREFIX}{table}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_entries_read_back_with_postgres_and_sqlite_times() {
        let t = parse_transition("dual-write->backfill: ok", "2026-01-02 03:04:05.123+00").unwrap();
        assert_eq!(
            (t.from, t.to, t.outcome.as_str()),
            (Phase::DualWrite, Phase::Backfill, "ok")
        );
        let t = parse_transition(
            "backfill->switch-readers: refused: x",
            "2026-01-02T03:04:05+00:00",
        )
        .unwrap();
        assert_eq!(t.outcome, "refused: x");
        assert!(parse_transition("nonsense", "2026-01-02T03:04:05+00:00").is_err());
    }
}

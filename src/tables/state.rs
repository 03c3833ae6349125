//! The rename's persisted state in `paddock_state`: the current phase (`rename_phase`), the
//! ledger of transitions (`rename_history:NNNNNN`, one per attempt with its outcome and time)
//! and backfill cursors (`rename_backfill:TABLE`).

use crate::store::AnyStore;
use crate::tables::phase::{legacy_name, renamed_tables, Phase};
use crate::tables::sql::{fetch_texts, literal, table_exists};
use anyhow::{bail, Result};
use chrono::{DateTime, Utc};

const PHASE_KEY: &str = "rename_phase";
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

/// Statements recording the phase `to` and the transition `from → to` (`ok`), to run in the
/// transition's own transaction.
pub async fn transition_sql(
    store: &AnyStore,
    from: Phase,
    to: Phase,
    at: DateTime<Utc>,
) -> Result<Vec<String>> {
    Ok(vec![
        set_state_sql(PHASE_KEY, to.name(), at),
        history_sql(store, from, to, "ok", at).await?,
    ])
}

async fn history_sql(
    store: &AnyStore,
    from: Phase,
    to: Phase,
    outcome: &str,
    at: DateTime<Utc>,
) -> Result<String> {
    let seq = history(store).await?.len() + 1;
    Ok(set_state_sql(
        &format!("{HISTORY_PREFIX}{seq:06}"),
        &format!("{from}->{to}: {outcome}"),
        at,
    ))
}

/// Records a refused or failed transition (its own transaction).
pub async fn record_refusal(
    store: &AnyStore,
    from: Phase,
    to: Phase,
    outcome: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let sql = history_sql(store, from, to, outcome, at).await?;
    crate::tables::sql::run_in_transaction(store, &[sql], false).await
}

/// Every recorded transition, oldest first.
pub async fn history(store: &AnyStore) -> Result<Vec<Transition>> {
    let rows = fetch_texts(
        store,
        &format!(
            "SELECT value, CAST(updated_at AS TEXT) FROM paddock_state WHERE key LIKE {} \
             ORDER BY key",
            literal(&format!("{HISTORY_PREFIX}%"))
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

/// The database's phase: as stored, else detected from its tables (legacy names only →
/// legacy; otherwise the registry's names → dropped, nothing to rename).
pub async fn current_phase(store: &AnyStore) -> Result<Phase> {
    let stored = fetch_texts(
        store,
        &format!(
            "SELECT value FROM paddock_state WHERE key = {}",
            literal(PHASE_KEY)
        ),
    )
    .await?;
    if let Some(text) = stored.first().and_then(|r| r[0].clone()) {
        return Phase::parse(&text)
            .ok_or_else(|| anyhow::anyhow!("unknown rename phase {text:?} in paddock_state"));
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

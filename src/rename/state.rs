//! The rename's persisted state in `paddock_state`: the current phase (`rename_phase`, read by
//! the store's one phase reader, `store::phase_follow`) and the backfill cursors
//! (`rename_backfill:TABLE`); and an adopted database's column maps (`adopt_maps`, JSON,
//! written by `paddock adopt`, read by every store that follows the phase). The ledger of transitions has its own table (`history.rs`).

use crate::config::AdoptMaps;
use crate::rename::phase::{legacy_name, renamed_tables, Phase};
use crate::store::dialect::ToolDialect;
use crate::store::ledger::{delete_state_sql, set_state_sql};
use crate::store::tools::Statement;
use crate::store::{SqlStore, PHASE_STATE_KEY};
use anyhow::Result;
use chrono::{DateTime, Utc};
use fetchers::store::{StateKey, Store};

const CURSOR_PREFIX: &str = "rename_backfill:";

/// The `paddock_state` key of an adopted database's column and key maps.
pub const ADOPT_MAPS_KEY: &str = "adopt_maps";

/// The maps `paddock adopt` persisted (none: empty).
pub async fn stored_maps<D: ToolDialect>(store: &SqlStore<D>) -> Result<AdoptMaps> {
    let key = StateKey::Named(ADOPT_MAPS_KEY.into());
    match store.get_state(&key).await? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| anyhow::anyhow!("paddock_state {ADOPT_MAPS_KEY}: {e}")),
        None => Ok(AdoptMaps::default()),
    }
}

/// The statement persisting `maps` (or forgetting them, when empty).
pub fn maps_statement<D: ToolDialect>(maps: &AdoptMaps, at: DateTime<Utc>) -> Statement<D> {
    let key = StateKey::Named(ADOPT_MAPS_KEY.into());
    if maps.is_empty() {
        return delete_state_sql::<D>(&key).into();
    }
    let json = serde_json::to_string(maps).expect("the maps serialize");
    set_state_sql::<D>(&key, &json, at).into()
}

/// The phase a stored value names; an unknown name is an error.
pub fn parse_stored(stored: Option<String>) -> Result<Option<Phase>> {
    match stored {
        Some(text) => Phase::parse(&text)
            .map(Some)
            .ok_or_else(|| anyhow::anyhow!("unknown rename phase {text:?} in paddock_state")),
        None => Ok(None),
    }
}

/// The phase stored in `paddock_state`, if any (a database never transitioned has none).
pub async fn stored_phase<D: ToolDialect>(store: &SqlStore<D>) -> Result<Option<Phase>> {
    parse_stored(store.stored_phase().await?)
}

/// The database's phase: as stored, else detected from its tables (legacy names only →
/// legacy; otherwise the registry's names → dropped, nothing to rename).
pub async fn current_phase<D: ToolDialect>(store: &SqlStore<D>) -> Result<Phase> {
    if let Some(phase) = stored_phase(store).await? {
        return Ok(phase);
    }
    let first = renamed_tables()[0];
    let legacy = store.table_exists(legacy_name(first)).await?;
    let new = store.table_exists(first.name).await?;
    Ok(if legacy && !new {
        Phase::Legacy
    } else {
        Phase::Dropped
    })
}

/// The statement setting the stored phase to `phase`.
pub fn phase_statement<D: ToolDialect>(phase: Phase, at: DateTime<Utc>) -> Statement<D> {
    set_state_sql::<D>(&StateKey::from(PHASE_STATE_KEY), phase.name(), at).into()
}

/// The key of `table`'s backfill cursor.
fn cursor_key(table: &str) -> StateKey {
    StateKey::Named(format!("{CURSOR_PREFIX}{table}"))
}

/// The backfill cursor of `table` (last copied key), if a pass is under way.
pub async fn backfill_cursor<D: ToolDialect>(
    store: &SqlStore<D>,
    table: &str,
) -> Result<Option<String>> {
    Ok(store.get_state(&cursor_key(table)).await?)
}

/// The statement moving `table`'s backfill cursor to `key`.
pub fn set_cursor<D: ToolDialect>(table: &str, key: &str, at: DateTime<Utc>) -> Statement<D> {
    set_state_sql::<D>(&cursor_key(table), key, at).into()
}

/// The statement clearing `table`'s backfill cursor.
pub fn clear_cursor<D: ToolDialect>(table: &str) -> Statement<D> {
    delete_state_sql::<D>(&cursor_key(table)).into()
}

//! What the audit knows of the database's layout beyond the registry: the rename phase's
//! physical names (the drift section checks each registry table under the names the phase
//! keeps, not the registry's), an adopted database's column maps, whether `paddock adopt` took
//! the database over, and the derived tables Paddock skips because another system's table holds
//! their name. Read from `paddock_state` and the run ledger when they exist (a database never
//! migrated has the registry's layout).

use crate::audit::db::{text, AuditDb};
use crate::config::AdoptMaps;
use crate::rename::phase::names_for_stored_phase;
use crate::rename::state::ADOPT_MAPS_KEY;
use crate::store::catalog::Catalog;
use crate::store::{PhysicalNames, PHASE_STATE_KEY};
use fetchers::registry::ColumnType;
use fetchers::rows::Value;
use std::collections::BTreeSet;

/// The layout the drift section checks against.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The phase's physical names, with the adopted database's column maps.
    pub physical: PhysicalNames,
    /// `paddock adopt` took the database over (a run of job `adopt` in the ledger).
    pub adopted: bool,
    /// Derived tables Paddock skips (another system's table holds the name).
    pub skipped: BTreeSet<String>,
}

/// The layout of the audited database.
pub async fn read_layout(db: &AuditDb, catalog: &Catalog) -> anyhow::Result<Layout> {
    let mut layout = Layout::default();
    if catalog.tables.contains_key("paddock_state") {
        let phase = state_value(db, PHASE_STATE_KEY).await?;
        if let Some(names) = phase.as_deref().and_then(names_for_stored_phase) {
            layout.physical = names;
        }
        if let Some(json) = state_value(db, ADOPT_MAPS_KEY).await? {
            let maps: AdoptMaps = serde_json::from_str(&json)?;
            layout.physical = layout.physical.with_maps(maps);
        }
        let skipped = db
            .query(|p| {
                let prefix = p.add(
                    Value::Text(format!("{}%", crate::derive::SKIPPED_PREFIX)),
                    ColumnType::Text,
                );
                format!(
                    "SELECT key FROM {} WHERE key LIKE {prefix}",
                    db.table("paddock_state")
                )
            })
            .await?;
        layout.skipped = (skipped.iter())
            .filter_map(|r| {
                text(&r[0])
                    .strip_prefix(crate::derive::SKIPPED_PREFIX)
                    .map(str::to_string)
            })
            .collect();
    }
    if catalog.tables.contains_key("paddock_runs") {
        let adoptions = db
            .query(|p| {
                let job = p.add(Value::Text("adopt".into()), ColumnType::Text);
                format!(
                    "SELECT CAST(COUNT(*) AS TEXT) FROM {} WHERE job = {job}",
                    db.table("paddock_runs")
                )
            })
            .await?;
        layout.adopted = adoptions.first().is_some_and(|r| text(&r[0]) != "0");
    }
    Ok(layout)
}

async fn state_value(db: &AuditDb, key: &str) -> anyhow::Result<Option<String>> {
    let rows = db
        .query(|p| {
            let key = p.add(Value::Text(key.into()), ColumnType::Text);
            format!(
                "SELECT value FROM {} WHERE key = {key}",
                db.table("paddock_state")
            )
        })
        .await?;
    Ok(rows.first().map(|r| text(&r[0])))
}

//! `[adopt.columns.<legacy table>]` and `[adopt.keys]`: the column and key maps of an adopted
//! database (issue 19). A column map names a legacy column that mirrors a registry column
//! (`[adopt.columns.ra_races] date = "race_date"`): every write fills it too. A key map names
//! the legacy unique column holding a table's registry key (`ra_bookmakers = "code"`). Tables
//! and registry columns are checked here against the registry (an unknown one is a
//! configuration error with its line); legacy columns and types are checked by `paddock adopt`
//! against the live database, which persists the maps so every later command uses them.

use super::file::{FileAdopt, Locator};
use anyhow::{bail, Result};
use fetchers::registry::{self, Table};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The maps, keyed by registry table name (`ra_mst_races`), as `paddock adopt` persists them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptMaps {
    /// Registry table → (legacy column → the registry column it mirrors).
    #[serde(default)]
    pub columns: BTreeMap<String, BTreeMap<String, String>>,
    /// Registry table → the legacy unique column holding its registry key.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

impl AdoptMaps {
    /// No map at all.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty() && self.keys.is_empty()
    }

    /// `table`'s mapped legacy columns with the registry column each mirrors.
    pub fn mirrors(&self, table: &str) -> impl Iterator<Item = (&str, &str)> {
        (self.columns.get(table).into_iter().flatten()).map(|(l, r)| (l.as_str(), r.as_str()))
    }

    /// The legacy column holding `table`'s registry key, if mapped.
    pub fn key(&self, table: &str) -> Option<&str> {
        self.keys.get(table).map(String::as_str)
    }
}

/// The maps with where each entry was read (`"FILE, line N"`, by `table.column` as written),
/// so `paddock adopt` can name the line of a legacy column the database lacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdoptSettings {
    pub maps: AdoptMaps,
    /// `"<legacy table>.<legacy column>"` → where it was read.
    pub origins: BTreeMap<String, String>,
}

impl AdoptSettings {
    /// Where the map of `column` of registry table `table` was read.
    pub fn origin(&self, table: &str, column: &str) -> String {
        let written =
            registry::table(table).map_or(table.to_string(), |t| written_name(t).to_string());
        (self.origins.get(&format!("{written}.{column}")))
            .cloned()
            .unwrap_or_else(|| "the configuration".into())
    }
}

/// The name a map gives a table: its legacy name, else its registry name.
fn written_name(table: &Table) -> &'static str {
    table.legacy_name.unwrap_or(table.name)
}

/// The registry table a map's table name stands for: a legacy name (`ra_races`) or the name of
/// a table that keeps its registry name (`ra_runners`); derived and bookkeeping tables are
/// Paddock's own and have nothing to map.
fn mapped_table(name: &str) -> Option<&'static Table> {
    let table = (registry::TABLES.iter())
        .find(|t| t.legacy_name == Some(name))
        .or_else(|| registry::table(name).filter(|t| t.legacy_name.is_none()))?;
    matches!(
        table.kind,
        registry::TableKind::Master | registry::TableKind::Fact
    )
    .then_some(table)
}

fn unknown_table(name: &str, section: &str, at: String) -> anyhow::Error {
    anyhow::anyhow!(
        "{at}: {section}: unknown table {name:?}: name a legacy table of a registry table \
         (such as ra_races) or a registry table kept under its own name (such as ra_runners)"
    )
}

/// `[adopt]` from the file.
pub fn adopt_settings(file: &FileAdopt, at: &Locator) -> Result<AdoptSettings> {
    let mut settings = AdoptSettings::default();
    for (name, columns) in &file.columns {
        let section = format!("adopt.columns.{}", name.get_ref());
        let Some(table) = mapped_table(name.get_ref()) else {
            return Err(unknown_table(name.get_ref(), &section, at.at(name.span())));
        };
        let mut mapped = BTreeMap::new();
        for (legacy, registry_column) in columns {
            let (legacy, here) = (legacy.get_ref(), at.at(registry_column.span()));
            let column = registry_column.get_ref();
            if table.column(column).is_none() {
                bail!(
                    "{here}: {section}.{legacy}: {} has no column {column:?}",
                    table.name
                );
            }
            if table.column(legacy).is_some()
                || registry::AUDIT_COLUMNS.iter().any(|c| c.name == legacy)
            {
                bail!(
                    "{here}: {section}.{legacy}: {legacy} is a column of Paddock's {} itself, \
                     not a legacy column",
                    table.name
                );
            }
            let origin = format!("{}.{legacy}", name.get_ref());
            settings.origins.insert(origin, here);
            mapped.insert(legacy.to_string(), column.to_string());
        }
        settings.maps.columns.insert(table.name.to_string(), mapped);
    }
    for (name, column) in &file.keys {
        let Some(table) = mapped_table(name.get_ref()) else {
            return Err(unknown_table(
                name.get_ref(),
                "adopt.keys",
                at.at(name.span()),
            ));
        };
        let here = at.at(column.span());
        if table.key.len() != 1 {
            bail!(
                "{here}: adopt.keys.{}: {}'s key has {} columns; a key map holds a one-column key",
                name.get_ref(),
                table.name,
                table.key.len()
            );
        }
        let legacy = column.get_ref();
        if table.column(legacy).is_some() && legacy != table.key[0] {
            bail!(
                "{here}: adopt.keys.{}: {legacy} is a column of Paddock's {} itself",
                name.get_ref(),
                table.name
            );
        }
        settings
            .origins
            .insert(format!("{}.{legacy}", name.get_ref()), here);
        settings
            .maps
            .keys
            .insert(table.name.to_string(), legacy.to_string());
    }
    Ok(settings)
}

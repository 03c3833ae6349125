//! Physical table names: the one place that decides which database table(s) a registry table
//! is written to and read from. Today every table is stored under its registry name; the
//! dual-write migration will map, say, `ra_mst_horses` to `ra_horses` or to both. An adopted
//! database's column maps (`[adopt.columns.*]`, persisted by `paddock adopt`) ride along: the
//! legacy columns every write of a table fills from the registry column each mirrors.

use crate::config::AdoptMaps;
use fetchers::registry::Table;
use fetchers::store::StoreError;
use std::collections::BTreeMap;

/// The column of `ra_mst_*` carrying the surrogate of a key-mapped legacy table (`[adopt.keys]`:
/// the legacy `id`, whose registry key `ra_mst_*.id` holds what the legacy table kept in its key
/// column): `legacy_id` for a key `id`.
pub fn surrogate_column(table: &Table) -> String {
    format!("legacy_{}", table.key[0])
}

/// One end of a row copy: a physical table, and the column holding the table's one-column
/// registry key there when an adopted key map moved it (`[adopt.keys]`: the legacy table's
/// `code`; `None`: the key under its own name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End<'a> {
    pub table: &'a str,
    pub key_column: Option<&'a str>,
}

impl<'a> End<'a> {
    /// `table` with every registry column under its own name.
    pub fn plain(table: &'a str) -> Self {
        End {
            table,
            key_column: None,
        }
    }

    /// The column of this end holding `table`'s registry column `column`.
    pub fn column(&self, table: &Table, column: &'a str) -> &'a str {
        match self.key_column {
            Some(mapped) if table.key == [column] => mapped,
            _ => column,
        }
    }
}

/// Registry name → physical name(s). Unmapped tables use their registry name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhysicalNames {
    mapped: BTreeMap<&'static str, Vec<String>>,
    /// The adopted database's column maps (empty for a database Paddock created).
    maps: AdoptMaps,
}

impl PhysicalNames {
    /// Every table under its registry name.
    pub fn registry() -> Self {
        Self::default()
    }

    /// Stores registry table `table` under `physical` (written to every name in order, read
    /// from the first). Refuses an unknown table, an empty list and names that are not plain
    /// identifiers.
    pub fn map(mut self, table: &str, physical: &[&str]) -> Result<Self, StoreError> {
        let table = crate::store::names::registered_table(table)?;
        let plain = |n: &&str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if physical.is_empty() || !physical.iter().all(plain) {
            return Err(StoreError::Database {
                table: Some(table.name.to_string()),
                message: format!("invalid physical names {physical:?}"),
            });
        }
        self.mapped
            .insert(table.name, physical.iter().map(|n| n.to_string()).collect());
        Ok(self)
    }

    /// These names with an adopted database's column maps.
    pub fn with_maps(mut self, maps: AdoptMaps) -> Self {
        self.maps = maps;
        self
    }

    /// The adopted database's column maps.
    pub fn maps(&self) -> &AdoptMaps {
        &self.maps
    }

    /// The legacy columns mirroring `table`'s registry columns, `(legacy, registry)`: filled by
    /// every write of the table, under each of its physical names (`tables begin` carries them
    /// into `ra_mst_*` as legacy-only columns).
    pub fn mirrors(&self, table: &Table) -> Vec<(&str, &str)> {
        self.maps.mirrors(table.name).collect()
    }

    /// The legacy column holding `table`'s one-column registry key in physical table
    /// `physical` (an adopted database's `[adopt.keys]`, under the legacy name only: the
    /// registry name keeps the key under its own name), `None` when the key is stored as is.
    pub fn key_column(&self, table: &Table, physical: &str) -> Option<&str> {
        let legacy = table.legacy_name.is_some_and(|l| l == physical);
        self.maps.key(table.name).filter(|_| legacy)
    }

    /// The end of a row copy that is `table` under physical name `physical`.
    pub fn end<'a>(&'a self, table: &Table, physical: &'a str) -> End<'a> {
        End {
            table: physical,
            key_column: self.key_column(table, physical),
        }
    }

    /// The column of physical table `physical` holding `table`'s registry column `column`.
    pub fn column<'a>(&'a self, table: &Table, physical: &str, column: &'a str) -> &'a str {
        match self.key_column(table, physical) {
            Some(mapped) if table.key == [column] => mapped,
            _ => column,
        }
    }

    /// The physical tables a unit writes `table`'s rows to.
    pub fn written(&self, table: &Table) -> Vec<&str> {
        match self.mapped.get(table.name) {
            Some(names) => names.iter().map(String::as_str).collect(),
            None => vec![table.name],
        }
    }

    /// The physical table reads of `table` use.
    pub fn read(&self, table: &Table) -> &str {
        self.mapped
            .get(table.name)
            .and_then(|names| names.first())
            .map_or(table.name, String::as_str)
    }

    /// Read-only SQL written with registry table names, with each (a whole identifier) put
    /// under the name reads use: for hand-written queries such as `paddock query`'s.
    pub fn reading(&self, sql: &str) -> String {
        let mut out = String::with_capacity(sql.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            match fetchers::registry::table(word) {
                Some(table) => out.push_str(self.read(table)),
                None => out.push_str(word),
            }
            word.clear();
        };
        for c in sql.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fetchers::registry::{self, names};

    #[test]
    fn tables_keep_their_registry_name_unless_mapped() {
        let horses = registry::TableName::HORSES.table();
        let races = registry::TableName::RACES.table();
        let mapped = PhysicalNames::registry()
            .map(names::HORSES, &["ra_horses", "ra_mst_horses"])
            .unwrap();
        assert_eq!(mapped.written(horses), ["ra_horses", "ra_mst_horses"]);
        assert_eq!(mapped.read(horses), "ra_horses");
        assert_eq!(mapped.written(races), [names::RACES]);
        assert_eq!(mapped.read(races), names::RACES);
    }

    #[test]
    fn hand_written_reads_take_the_read_names_of_whole_identifiers_only() {
        let mapped = PhysicalNames::registry()
            .map(names::DAMS, &["ra_dams", "ra_mst_dams"])
            .unwrap();
        assert_eq!(
            mapped.reading("SELECT d.x FROM ra_mst_dams d JOIN ra_mst_damsires s ON s.id=d.id"),
            "SELECT d.x FROM ra_dams d JOIN ra_mst_damsires s ON s.id=d.id"
        );
    }

    #[test]
    fn unknown_tables_and_odd_names_are_refused() {
        let p = PhysicalNames::registry();
        assert!(p.clone().map("nope", &["x"]).is_err());
        assert!(p.clone().map(names::HORSES, &[]).is_err());
        assert!(p.map(names::HORSES, &["x; DROP TABLE y"]).is_err());
    }
}

//! The rename phases (legacy → dual-write → backfill → switch-readers → deprecate → dropped),
//! the tables they rename, and the physical names each phase reads and writes — the one
//! source of truth the store follows ([`names_for_stored_phase`], `store::phase_follow`).
//!
//! Reads may be one phase stale (a store reads the phase at a read's start, a transition may
//! commit before the query runs): every phase keeps the tables its neighbours read complete
//! (it writes them), which the tests below check.

use crate::store::PhysicalNames;
use fetchers::order::registry_order;
use fetchers::registry::{self, Table};
use std::fmt;

/// Where a database stands in the rename of the masters to `ra_mst_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Only the legacy names exist; Paddock reads and writes them.
    Legacy,
    /// `ra_mst_*` exist; every unit writes legacy and new in one transaction; reads legacy.
    DualWrite,
    /// As dual-write, while history is copied (`tables backfill`).
    Backfill,
    /// Reads use `ra_mst_*`, foreign keys point at them; legacy is still written.
    SwitchReaders,
    /// Legacy tables renamed `ra_old_*` (optionally legacy-named views); only `ra_mst_*` written.
    Deprecate,
    /// `ra_old_*` dropped (or a database created with the registry's names).
    Dropped,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Legacy,
        Phase::DualWrite,
        Phase::Backfill,
        Phase::SwitchReaders,
        Phase::Deprecate,
        Phase::Dropped,
    ];

    /// The phase's name as stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Legacy => "legacy",
            Phase::DualWrite => "dual-write",
            Phase::Backfill => "backfill",
            Phase::SwitchReaders => "switch-readers",
            Phase::Deprecate => "deprecate",
            Phase::Dropped => "dropped",
        }
    }

    /// The phase named `text`.
    pub fn parse(text: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.name() == text)
    }

    /// Physical table names the store uses in this phase.
    pub fn physical_names(self) -> PhysicalNames {
        let mut names = PhysicalNames::registry();
        for t in renamed_tables() {
            let legacy = legacy_name(t);
            let mapped: Option<Vec<&str>> = match self {
                Phase::Legacy => Some(vec![legacy]),
                Phase::DualWrite | Phase::Backfill => Some(vec![legacy, t.name]),
                Phase::SwitchReaders => Some(vec![t.name, legacy]),
                Phase::Deprecate | Phase::Dropped => None,
            };
            if let Some(mapped) = mapped {
                names = names
                    .map(t.name, &mapped)
                    .expect("registry names are plain identifiers");
            }
        }
        names
    }
}

/// The names a store uses while `paddock_state` holds `value` (`None`: no such phase); what a
/// store following the phase is given (`store::PhaseFollower`).
pub fn names_for_stored_phase(value: &str) -> Option<PhysicalNames> {
    Phase::parse(value).map(Phase::physical_names)
}

/// Phases one transition apart (`advance`/`backfill`/`begin`/`drop-archived` forward,
/// `rollback` back).
pub fn neighbours(phase: Phase) -> Vec<Phase> {
    let i = Phase::ALL.iter().position(|p| *p == phase).unwrap_or(0);
    [i.checked_sub(1), Some(i + 1)]
        .into_iter()
        .flatten()
        .filter_map(|j| Phase::ALL.get(j).copied())
        .collect()
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The tables the rename moves (every table with a legacy name), in write order.
pub fn renamed_tables() -> Vec<&'static Table> {
    registry_order()
        .iter()
        .filter_map(|name| registry::table(name))
        .filter(|t| t.legacy_name.is_some())
        .collect()
}

/// `ra_horses` for `ra_mst_horses`.
pub fn legacy_name(table: &Table) -> &'static str {
    table
        .legacy_name
        .expect("a renamed table has a legacy name")
}

/// `ra_old_horses` for `ra_mst_horses`: where deprecate archives the legacy table.
pub fn archived_name(table: &Table) -> String {
    legacy_name(table).replacen("ra_", "ra_old_", 1)
}

/// Tables that keep their name but hold foreign keys to renamed tables (runners, pedigree,
/// runner odds): their keys are re-pointed when readers switch.
pub fn referencing_tables() -> Vec<&'static Table> {
    registry_order()
        .iter()
        .filter_map(|name| registry::table(name))
        .filter(|t| t.legacy_name.is_none())
        .filter(|t| {
            t.foreign_keys
                .iter()
                .any(|f| registry::table(f.ref_table).is_some_and(|r| r.legacy_name.is_some()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fetchers::registry::names;

    #[test]
    fn each_phase_reads_and_writes_the_documented_tables() {
        let horses = fetchers::registry::TableName::HORSES.table();
        let runners = fetchers::registry::TableName::RUNNERS.table();
        let cases = [
            (Phase::Legacy, vec!["ra_horses"], "ra_horses"),
            (
                Phase::DualWrite,
                vec!["ra_horses", "ra_mst_horses"],
                "ra_horses",
            ),
            (
                Phase::Backfill,
                vec!["ra_horses", "ra_mst_horses"],
                "ra_horses",
            ),
            (
                Phase::SwitchReaders,
                vec!["ra_mst_horses", "ra_horses"],
                "ra_mst_horses",
            ),
            (Phase::Deprecate, vec!["ra_mst_horses"], "ra_mst_horses"),
            (Phase::Dropped, vec!["ra_mst_horses"], "ra_mst_horses"),
        ];
        for (phase, written, read) in cases {
            let p = phase.physical_names();
            assert_eq!(p.written(horses), written, "{phase}");
            assert_eq!(p.read(horses), read, "{phase}");
            assert_eq!(p.written(runners), ["ra_runners"], "{phase}");
            assert_eq!(Phase::parse(phase.name()), Some(phase));
        }
    }

    #[test]
    fn a_read_one_phase_stale_reads_a_table_the_current_phase_keeps_complete() {
        for phase in Phase::ALL {
            for now in neighbours(phase) {
                for table in registry::TABLES {
                    let stale = phase.physical_names();
                    let read = stale.read(table);
                    assert!(
                        now.physical_names().written(table).contains(&read),
                        "{phase} reads {read}, which {now} does not write"
                    );
                }
            }
        }
        assert_eq!(neighbours(Phase::Legacy), [Phase::DualWrite]);
        assert_eq!(
            neighbours(Phase::Deprecate),
            [Phase::SwitchReaders, Phase::Dropped]
        );
        assert_eq!(
            names_for_stored_phase("switch-readers"),
            Some(Phase::SwitchReaders.physical_names())
        );
        assert_eq!(names_for_stored_phase("soon"), None);
    }

    #[test]
    fn facts_and_derived_tables_are_re_pointed_and_regions_keeps_its_name() {
        let referencing: Vec<_> = referencing_tables().iter().map(|t| t.name).collect();
        // The facts, and the derived tables (whose entity columns reference the masters).
        assert_eq!(
            referencing,
            [
                "ra_runners",
                "ra_horse_pedigree",
                "ra_runner_odds",
                "ra_runner_odds_latest",
                "ra_runner_statistics",
                "ra_entity_combinations",
                "ra_performance_by_distance",
                "ra_performance_by_venue"
            ]
        );
        assert!(renamed_tables().iter().all(|t| t.name != names::REGIONS));
        assert_eq!(renamed_tables().len(), 10);
    }
}

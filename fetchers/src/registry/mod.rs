//! The table registry: the single source of truth for every table Paddock owns.
//!
//! Each [`Table`] lists its columns (with type, nullability and the source that owns each
//! column), its natural key, its foreign keys and, for masters, its legacy name. The DDL in
//! `migrations/`, the upsert SQL, the write order (see [`crate::order`]) and the schema-parity
//! test all derive from or are checked against [`TABLES`].
//!
//! Files: [`types`] (the vocabulary), `build` (compact constructors), [`tables`] (the list and
//! the look-ups), [`gaps`] (the audit's expected gaps), [`names`] (typed table handles,
//! [`TableName`], and the pedigree masters).

mod build;
pub mod gaps;
pub mod names;
pub mod tables;
pub mod types;

pub use gaps::{expected_gap, ExpectedGap, EXPECTED_GAPS, RACECARDS_FIRST_DATE};
pub use names::{PedigreeMaster, TableName, PEDIGREE_MASTERS};
pub use tables::{table, TABLES};
pub use types::{
    Access, Column, ColumnType, ForeignKey, ResultMarker, Source, Table, TableKind, Writers,
    AUDIT_COLUMNS, RESULT_MARKER,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_foreign_key_names_declared_columns() {
        for t in TABLES {
            for k in t.key {
                assert!(
                    t.column(k).is_some(),
                    "{}: key column {k} undeclared",
                    t.name
                );
            }
            for f in t.foreign_keys {
                let target = table(f.ref_table).unwrap_or_else(|| {
                    panic!("{}: foreign key to unknown table {}", t.name, f.ref_table)
                });
                assert_eq!(f.columns.len(), f.ref_columns.len());
                for c in f.columns {
                    assert!(t.column(c).is_some(), "{}: fk column {c}", t.name);
                }
                // A foreign key must reference the target's natural key.
                assert_eq!(f.ref_columns, target.key, "{} -> {}", t.name, f.ref_table);
            }
        }
    }

    #[test]
    fn identity_columns_are_not_null_and_result_columns_are_nullable() {
        let runners = table("ra_runners").unwrap();
        assert!(!runners.column("race_id").unwrap().nullable);
        assert!(runners.column("position").unwrap().nullable);
        assert!(runners.column("finish_status").unwrap().nullable);
    }

    #[test]
    fn expected_gaps_name_registered_columns_and_cover_only_their_months() {
        for gap in EXPECTED_GAPS {
            let t = table(gap.table).unwrap_or_else(|| panic!("gap on unknown {}", gap.table));
            for c in gap.columns {
                assert!(t.column(c).is_some(), "gap on unknown {}.{c}", t.name);
            }
        }
        let runners = table("ra_runners").unwrap();
        let spotlight = runners.column("spotlight").unwrap();
        let position = runners.column("position").unwrap();
        assert!(expected_gap(runners, spotlight, Some("2022-12")).is_some());
        assert!(expected_gap(runners, spotlight, Some("2023-01")).is_some());
        assert!(expected_gap(runners, spotlight, Some("2023-02")).is_none());
        assert!(expected_gap(runners, position, Some("2022-12")).is_none());
        assert!(expected_gap(runners, spotlight, None).is_none());
    }

    #[test]
    fn pre_race_state_lives_only_on_tables_that_can_see_their_race_result() {
        let mut seen = 0;
        for t in TABLES {
            if t.columns.iter().any(|c| c.writers == Writers::PreRace) {
                seen += 1;
                assert!(t.result_marker().is_some(), "{}: no result marker", t.name);
            }
        }
        assert_eq!(seen, 2, "races and runners carry pre-race state");
        assert_eq!(
            table("ra_mst_races").unwrap().result_marker(),
            Some(ResultMarker::Own)
        );
        let runners = table("ra_runners").unwrap();
        match runners.result_marker() {
            Some(ResultMarker::Via(f)) => assert_eq!(f.ref_table, "ra_mst_races"),
            other => panic!("runners: {other:?}"),
        }
        let jockey = runners.column("jockey_id").unwrap();
        assert_eq!(jockey.access(Source::Racecard), Access::UntilResult);
        assert_eq!(jockey.access(Source::Result), Access::Overwrite);
        assert_eq!(jockey.access(Source::Odds), Access::None);
    }

    #[test]
    fn derived_tables_are_never_written_from_api_payloads() {
        let derived: Vec<&Table> = TABLES
            .iter()
            .filter(|t| t.kind == TableKind::Derived)
            .collect();
        assert_eq!(derived.len(), 4);
        for t in derived {
            for source in Source::ALL.into_iter().filter(|s| *s != Source::Derived) {
                let writable: Vec<&str> = t
                    .writable_by(source)
                    .into_iter()
                    .filter(|(_, a)| *a != Access::Key)
                    .map(|(c, _)| c.name)
                    .collect();
                assert!(
                    writable.is_empty(),
                    "{} by {source:?}: {writable:?}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn every_master_has_a_legacy_name_except_regions() {
        for t in TABLES.iter().filter(|t| t.name.starts_with("ra_mst_")) {
            assert!(t.legacy_name.is_some(), "{}", t.name);
        }
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn every_named_table_and_pedigree_master_is_in_the_registry() {
        let named = [
            names::REGIONS,
            names::COURSES,
            names::BOOKMAKERS,
            names::JOCKEYS,
            names::TRAINERS,
            names::OWNERS,
            names::HORSES,
            names::RACES,
            names::RUNNERS,
            names::HORSE_PEDIGREE,
            names::RUNNER_ODDS,
            names::SIRES,
            names::DAMS,
            names::DAMSIRES,
            names::RUNNER_STATISTICS,
            names::ENTITY_COMBINATIONS,
            names::PERFORMANCE_BY_DISTANCE,
            names::PERFORMANCE_BY_VENUE,
        ];
        for name in named {
            assert!(table(name).is_some(), "{name}");
        }
        let pedigree = table(names::HORSE_PEDIGREE).unwrap();
        let runners = table(names::RUNNERS).unwrap();
        for m in PEDIGREE_MASTERS {
            let master = table(m.table).unwrap();
            assert!(master.column("horse_id").is_some(), "{}", m.table);
            assert!(runners.column(m.id_column).is_some(), "{}", m.id_column);
            assert!(pedigree.column(m.id_column).is_some(), "{}", m.id_column);
            assert!(
                pedigree.column(m.region_column).is_some(),
                "{}",
                m.region_column
            );
        }
    }

    #[test]
    fn every_table_handle_resolves_to_its_registry_table() {
        for handle in TableName::ALL {
            assert_eq!(handle.table().name, handle.as_str());
            assert_eq!(
                table(handle.as_str()).map(|t| t.name),
                Some(handle.as_str())
            );
        }
        assert_eq!(TableName::HORSES.as_str(), names::HORSES);
        assert_eq!(TableName::RUNNERS.to_string(), "ra_runners");
    }
}

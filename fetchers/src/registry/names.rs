//! The names of the registry tables that code outside the registry refers to (read queries,
//! jobs), as typed handles ([`TableName`]) and as text, so that no SQL or job spells a table
//! name itself. These are registry names: the store maps them to physical names
//! (`paddock::store::PhysicalNames`). Also the list of pedigree masters.

/// A registry table named by a constant: [`TableName::table`] cannot fail (every handle is
/// checked once by the registry's tests). Names that come from outside (the catalog, a command
/// line) are looked up with the fallible [`super::table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName(&'static str);

impl TableName {
    pub const REGIONS: TableName = TableName("ra_regions");
    pub const COURSES: TableName = TableName("ra_mst_courses");
    pub const BOOKMAKERS: TableName = TableName("ra_mst_bookmakers");
    pub const JOCKEYS: TableName = TableName("ra_mst_jockeys");
    pub const TRAINERS: TableName = TableName("ra_mst_trainers");
    pub const OWNERS: TableName = TableName("ra_mst_owners");
    pub const HORSES: TableName = TableName("ra_mst_horses");
    pub const RACES: TableName = TableName("ra_mst_races");
    pub const RUNNERS: TableName = TableName("ra_runners");
    pub const HORSE_PEDIGREE: TableName = TableName("ra_horse_pedigree");
    pub const RUNNER_ODDS: TableName = TableName("ra_runner_odds");
    pub const RUNNER_ODDS_LATEST: TableName = TableName("ra_runner_odds_latest");
    pub const SIRES: TableName = TableName("ra_mst_sires");
    pub const DAMS: TableName = TableName("ra_mst_dams");
    pub const DAMSIRES: TableName = TableName("ra_mst_damsires");
    pub const RUNNER_STATISTICS: TableName = TableName("ra_runner_statistics");
    pub const ENTITY_COMBINATIONS: TableName = TableName("ra_entity_combinations");
    pub const PERFORMANCE_BY_DISTANCE: TableName = TableName("ra_performance_by_distance");
    pub const PERFORMANCE_BY_VENUE: TableName = TableName("ra_performance_by_venue");

    /// Every handle.
    pub const ALL: [TableName; 19] = [
        TableName::REGIONS,
        TableName::COURSES,
        TableName::BOOKMAKERS,
        TableName::JOCKEYS,
        TableName::TRAINERS,
        TableName::OWNERS,
        TableName::HORSES,
        TableName::RACES,
        TableName::RUNNERS,
        TableName::HORSE_PEDIGREE,
        TableName::RUNNER_ODDS,
        TableName::RUNNER_ODDS_LATEST,
        TableName::SIRES,
        TableName::DAMS,
        TableName::DAMSIRES,
        TableName::RUNNER_STATISTICS,
        TableName::ENTITY_COMBINATIONS,
        TableName::PERFORMANCE_BY_DISTANCE,
        TableName::PERFORMANCE_BY_VENUE,
    ];

    /// The registry name.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

pub const REGIONS: &str = TableName::REGIONS.as_str();
pub const COURSES: &str = TableName::COURSES.as_str();
pub const BOOKMAKERS: &str = TableName::BOOKMAKERS.as_str();
pub const JOCKEYS: &str = TableName::JOCKEYS.as_str();
pub const TRAINERS: &str = TableName::TRAINERS.as_str();
pub const OWNERS: &str = TableName::OWNERS.as_str();
pub const HORSES: &str = TableName::HORSES.as_str();
pub const RACES: &str = TableName::RACES.as_str();
pub const RUNNERS: &str = TableName::RUNNERS.as_str();
pub const HORSE_PEDIGREE: &str = TableName::HORSE_PEDIGREE.as_str();
pub const RUNNER_ODDS: &str = TableName::RUNNER_ODDS.as_str();
pub const RUNNER_ODDS_LATEST: &str = TableName::RUNNER_ODDS_LATEST.as_str();
pub const SIRES: &str = TableName::SIRES.as_str();
pub const DAMS: &str = TableName::DAMS.as_str();
pub const DAMSIRES: &str = TableName::DAMSIRES.as_str();
pub const RUNNER_STATISTICS: &str = TableName::RUNNER_STATISTICS.as_str();
pub const ENTITY_COMBINATIONS: &str = TableName::ENTITY_COMBINATIONS.as_str();
pub const PERFORMANCE_BY_DISTANCE: &str = TableName::PERFORMANCE_BY_DISTANCE.as_str();
pub const PERFORMANCE_BY_VENUE: &str = TableName::PERFORMANCE_BY_VENUE.as_str();

/// A pedigree master (sires, dams, damsires): its table, the runner/pedigree columns that
/// hold its id and region. Its ids map to horse ids by prefix (`sir_123` ↔ `hrs_123`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PedigreeMaster {
    pub table: &'static str,
    pub id_column: &'static str,
    pub region_column: &'static str,
}

/// The one list of pedigree masters.
pub const PEDIGREE_MASTERS: [PedigreeMaster; 3] = [
    PedigreeMaster {
        table: SIRES,
        id_column: "sire_id",
        region_column: "sire_region",
    },
    PedigreeMaster {
        table: DAMS,
        id_column: "dam_id",
        region_column: "dam_region",
    },
    PedigreeMaster {
        table: DAMSIRES,
        id_column: "damsire_id",
        region_column: "damsire_region",
    },
];

//! What the derived tables group by: the entities (horse, jockey, … damsire), the pairs
//! (trainer–jockey, horse–jockey, owner–trainer) and the distance bands. The SQL that fills the
//! tables lives in the application (`src/derive/`); these definitions are shared with it, the
//! configuration and the `paddock query` command.
//!
//! The figures themselves are defined once, in `src/derive/sql.rs`'s module comment.

use crate::registry::names;

/// One kind of entity the derived tables report on: its name in `entity_type`, the
/// `ra_runners` column naming it (which is also the derived tables' foreign-key column for it)
/// and its master table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityKind {
    pub name: &'static str,
    pub runner_column: &'static str,
    pub master: &'static str,
}

const fn entity(
    name: &'static str,
    runner_column: &'static str,
    master: &'static str,
) -> EntityKind {
    EntityKind {
        name,
        runner_column,
        master,
    }
}

/// Every entity kind, in the order reports show them.
pub const ENTITIES: [EntityKind; 7] = [
    entity("horse", "horse_id", names::HORSES),
    entity("jockey", "jockey_id", names::JOCKEYS),
    entity("trainer", "trainer_id", names::TRAINERS),
    entity("owner", "owner_id", names::OWNERS),
    entity("sire", "sire_id", names::SIRES),
    entity("dam", "dam_id", names::DAMS),
    entity("damsire", "damsire_id", names::DAMSIRES),
];

/// The entity kind called `name` (`"jockey"`, …).
pub fn entity_kind(name: &str) -> Option<EntityKind> {
    ENTITIES.into_iter().find(|e| e.name == name)
}

/// A pair of entities reported together in `ra_entity_combinations`: `first_id` is the
/// `first` entity's id and `second_id` the `second`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairKind {
    pub name: &'static str,
    pub first: EntityKind,
    pub second: EntityKind,
}

/// Every pair kind.
pub const PAIRS: [PairKind; 3] = [
    PairKind {
        name: "trainer_jockey",
        first: ENTITIES[2],
        second: ENTITIES[1],
    },
    PairKind {
        name: "horse_jockey",
        first: ENTITIES[0],
        second: ENTITIES[1],
    },
    PairKind {
        name: "owner_trainer",
        first: ENTITIES[3],
        second: ENTITIES[2],
    },
];

/// Currencies prize money is summed in, each into its own column (`prize_gbp`, `prize_eur`):
/// amounts in different currencies are never added together.
pub const PRIZE_CURRENCIES: [(&str, &str); 2] = [("GBP", "prize_gbp"), ("EUR", "prize_eur")];

/// Distance bands in whole furlongs, given by their lower bounds: band `i` holds races of at
/// least `bounds[i]` and less than `bounds[i + 1]` furlongs; the last band is open-ended and the
/// first also takes anything shorter than its bound. Races without a distance are in no band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistanceBands {
    bounds: Vec<u32>,
}

impl Default for DistanceBands {
    /// 5–6, 7–8, 9–11, 12–15 and 16+ furlongs.
    fn default() -> Self {
        DistanceBands {
            bounds: vec![5, 7, 9, 12, 16],
        }
    }
}

/// An invalid list of band bounds.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("distance bands must be one or more strictly increasing whole furlongs, got {0:?}")]
pub struct BandsError(pub Vec<u32>);

impl DistanceBands {
    /// Bands from their lower bounds (strictly increasing, at least one).
    pub fn new(bounds: Vec<u32>) -> Result<Self, BandsError> {
        if bounds.is_empty() || bounds.windows(2).any(|w| w[0] >= w[1]) {
            return Err(BandsError(bounds));
        }
        Ok(DistanceBands { bounds })
    }

    /// The lower bounds, ascending.
    pub fn bounds(&self) -> &[u32] {
        &self.bounds
    }

    /// Each band's label, in ascending order: `"5-6f"`, …, `"16f+"` (`"7f"` for a one-furlong
    /// band).
    pub fn labels(&self) -> Vec<String> {
        (0..self.bounds.len()).map(|i| self.label(i)).collect()
    }

    fn label(&self, i: usize) -> String {
        let low = self.bounds[i];
        match self.bounds.get(i + 1) {
            None => format!("{low}f+"),
            Some(next) if next - 1 == low => format!("{low}f"),
            Some(next) => format!("{low}-{}f", next - 1),
        }
    }

    /// The label of the band a distance in furlongs falls in.
    pub fn band_of(&self, furlongs: f64) -> String {
        let i = self
            .bounds
            .iter()
            .rposition(|b| furlongs >= f64::from(*b))
            .unwrap_or(0);
        self.label(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_bands_are_labelled_and_fractional_distances_fall_below_the_next_bound() {
        let bands = DistanceBands::default();
        assert_eq!(
            bands.labels(),
            vec!["5-6f", "7-8f", "9-11f", "12-15f", "16f+"]
        );
        assert_eq!(bands.band_of(6.5), "5-6f");
        assert_eq!(bands.band_of(7.0), "7-8f");
        assert_eq!(bands.band_of(4.5), "5-6f");
        assert_eq!(bands.band_of(24.0), "16f+");
    }

    #[test]
    fn bands_must_increase() {
        assert!(DistanceBands::new(vec![]).is_err());
        assert!(DistanceBands::new(vec![5, 5]).is_err());
        assert_eq!(
            DistanceBands::new(vec![5, 6, 8]).unwrap().labels(),
            vec!["5f", "6-7f", "8f+"]
        );
    }

    #[test]
    fn every_entity_column_is_a_runner_column_and_a_derived_foreign_key() {
        let runners = crate::registry::TableName::RUNNERS.table();
        let stats = crate::registry::TableName::RUNNER_STATISTICS.table();
        for e in ENTITIES {
            assert!(runners.column(e.runner_column).is_some(), "{}", e.name);
            assert!(
                stats
                    .foreign_keys
                    .iter()
                    .any(|f| f.columns == [e.runner_column] && f.ref_table == e.master),
                "{}",
                e.name
            );
        }
    }
}

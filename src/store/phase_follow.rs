//! How a store follows the database's rename phase while it runs (issue 11: "phase changes
//! are safe while a daemon runs").
//!
//! The phase is a value in `paddock_state` ([`PHASE_STATE_KEY`]); which physical tables a
//! phase reads and writes is the rename's policy (`rename::phase`), handed to the store as a
//! function ([`NamesForPhase`]), so the store knows no phase itself. A store that follows the
//! phase ([`PhaseFollower`], set up by `open_store`) reads that one row:
//!
//! - **at the start of every unit of work, inside the unit's transaction** ([`read_stored_phase`]
//!   with `lock`). PostgreSQL: `SELECT … FOR SHARE`, which holds a share lock on
//!   `paddock_state` until the unit ends; every transition takes `paddock_state` in `EXCLUSIVE`
//!   mode first (`rename::state`), so a transition waits for the units in flight, and a unit
//!   that starts during a transition waits for it and then reads the new phase. SQLite: a
//!   unit's transaction is `BEGIN IMMEDIATE`, like every transition's, so the two are
//!   serialized by the database's write lock and the unit reads the committed phase.
//! - **at the start of every read** outside a unit (the store's read queries, the derived
//!   tables), without a lock. A transition may commit between that read and the query; that is
//!   safe because a read is never more than one phase stale and every phase keeps the table
//!   its neighbours read complete (`rename::phase` tests this).
//!
//! A phase change seen by a running store is logged at info, with the old and the new phase;
//! the store then follows it (the configured `expected_rename_phase` is a start-up check).
//! The names are built once per phase change: the per-unit cost is one indexed single-row
//! read.

use crate::config::AdoptMaps;
use crate::store::dialect::{self, Conn, Dialect, Params};
use crate::store::physical::PhysicalNames;
use fetchers::registry::ColumnType;
use fetchers::rows::Value;
use fetchers::store::StoreError;
use std::sync::{Arc, Mutex, PoisonError};

/// The `paddock_state` key holding the database's rename phase (written by `rename::state`).
pub const PHASE_STATE_KEY: &str = "rename_phase";

/// The names a store uses while `paddock_state` holds the phase `value`; `None` for a value
/// that names no phase.
pub type NamesForPhase = fn(&str) -> Option<PhysicalNames>;

/// Where a store's physical names come from.
#[derive(Debug, Clone)]
pub enum NameSource {
    /// Decided when the store was made (tools, tests, a database that is not being renamed).
    Fixed(Arc<PhysicalNames>),
    /// The database's phase, read at every unit and read.
    Phase(Arc<PhaseFollower>),
}

impl NameSource {
    /// The names last decided (fixed, or of the phase last read).
    pub fn last(&self) -> Arc<PhysicalNames> {
        match self {
            NameSource::Fixed(names) => names.clone(),
            NameSource::Phase(follower) => follower.last(),
        }
    }
}

/// Follows the phase stored in `paddock_state`: turns each value read into names, building
/// them again only when the value changes, and logs a change.
#[derive(Debug)]
pub struct PhaseFollower {
    names_for: NamesForPhase,
    /// An adopted database's column maps, given to every phase's names.
    maps: AdoptMaps,
    /// The names while no phase is stored (a database never transitioned): decided at open.
    unstored: Arc<PhysicalNames>,
    /// The value last read and its names.
    last: Mutex<(Option<String>, Arc<PhysicalNames>)>,
}

impl PhaseFollower {
    /// A follower whose store was opened with `opened` stored (`None`: no phase row, then
    /// `unstored` names apply).
    pub fn new(
        names_for: NamesForPhase,
        opened: Option<&str>,
        unstored: PhysicalNames,
    ) -> Result<Self, StoreError> {
        let unstored = Arc::new(unstored);
        let names = match opened {
            Some(value) => Arc::new(names_of(names_for, value)?),
            None => unstored.clone(),
        };
        Ok(PhaseFollower {
            names_for,
            maps: AdoptMaps::default(),
            unstored,
            last: Mutex::new((opened.map(str::to_string), names)),
        })
    }

    /// This follower with an adopted database's column maps (read when the store was opened:
    /// `paddock adopt` changes them, never a running store).
    pub fn with_maps(mut self, maps: AdoptMaps) -> Self {
        let with = |names: &PhysicalNames| Arc::new(names.clone().with_maps(maps.clone()));
        self.unstored = with(&self.unstored);
        let last = self.last.get_mut().unwrap_or_else(PoisonError::into_inner);
        last.1 = with(&last.1);
        self.maps = maps;
        self
    }

    /// The names of the phase last read.
    pub fn last(&self) -> Arc<PhysicalNames> {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone()
    }

    /// The names for the stored value `stored`; a change from the value last read is logged.
    pub fn names(&self, stored: Option<&str>) -> Result<Arc<PhysicalNames>, StoreError> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.0.as_deref() == stored {
            return Ok(last.1.clone());
        }
        let names = match stored {
            Some(value) => Arc::new(names_of(self.names_for, value)?.with_maps(self.maps.clone())),
            None => self.unstored.clone(),
        };
        tracing::info!(
            from = last.0.as_deref().unwrap_or("(none stored)"),
            to = stored.unwrap_or("(none stored)"),
            "the rename phase changed; following it"
        );
        *last = (stored.map(str::to_string), names.clone());
        Ok(names)
    }
}

fn names_of(names_for: NamesForPhase, value: &str) -> Result<PhysicalNames, StoreError> {
    names_for(value).ok_or_else(|| StoreError::Database {
        table: Some("paddock_state".into()),
        message: format!("unknown rename phase {value:?} in paddock_state"),
    })
}

/// The stored phase value, read on `conn`. With `lock` (at the start of a unit's
/// transaction) the row is share-locked until the transaction ends where the engine needs it
/// ([`Dialect::SHARE_LOCK`]).
pub async fn read_stored_phase<D: Dialect>(
    conn: &mut Conn<D>,
    lock: bool,
) -> Result<Option<String>, sqlx::Error> {
    let mut p = Params::<D>::new();
    let key = p.add(Value::Text(PHASE_STATE_KEY.into()), ColumnType::Text);
    let clause = if lock { D::SHARE_LOCK } else { "" };
    let sql = format!("SELECT value FROM paddock_state WHERE key = {key}{clause}");
    let rows = dialect::fetch::<D>(conn, &sql, p.values(), &[ColumnType::Text]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| row.into_iter().next())
        .find_map(|v| match v {
            Value::Text(text) => Some(text),
            _ => None,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fetchers::registry::{self, names};

    fn names_for(value: &str) -> Option<PhysicalNames> {
        match value {
            "old" => PhysicalNames::registry()
                .map(names::HORSES, &["ra_horses"])
                .ok(),
            "both" => PhysicalNames::registry()
                .map(names::HORSES, &["ra_horses", "ra_mst_horses"])
                .ok(),
            _ => None,
        }
    }

    #[test]
    fn a_follower_turns_each_stored_value_into_its_names_and_keeps_the_last() {
        let horses = registry::TableName::HORSES.table();
        let f = PhaseFollower::new(names_for, Some("old"), PhysicalNames::registry()).unwrap();
        assert_eq!(f.last().written(horses), ["ra_horses"]);
        let both = f.names(Some("both")).unwrap();
        assert_eq!(both.written(horses), ["ra_horses", "ra_mst_horses"]);
        assert!(
            Arc::ptr_eq(&both, &f.names(Some("both")).unwrap()),
            "cached"
        );
        assert_eq!(f.last().written(horses), ["ra_horses", "ra_mst_horses"]);
        // No stored value: the names decided at open.
        assert_eq!(f.names(None).unwrap().written(horses), [names::HORSES]);
        let error = f.names(Some("soon")).unwrap_err().to_string();
        assert!(error.contains("soon"), "{error}");
        assert_eq!(
            f.last().written(horses),
            [names::HORSES],
            "unchanged by an error"
        );
    }
}

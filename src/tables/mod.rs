//! The rename of the master tables from their legacy names (`ra_horses`) to `ra_mst_*`, in
//! phases persisted in the database (see `phase.rs`): `paddock tables status|begin|backfill|
//! verify|advance|rollback|drop-archived` and `paddock migrate --legacy-names`. The store
//! follows the phase through [`PhysicalNames`](crate::store::PhysicalNames): dual writes are
//! one unit's transaction writing both tables. `ra_odds_*` tables are never touched.

pub mod cli;
pub mod ops;
pub mod phase;
pub mod sql;
pub mod state;
pub mod verify;

pub use ops::{
    advance, backfill, begin, drop_archived, migrate_legacy_names, rollback, DEFAULT_GRACE_DAYS,
};
pub use phase::Phase;
pub use state::{current_phase, history, Transition};
pub use verify::{verify, VerifyReport};

use crate::store::AnyStore;
use anyhow::Result;

/// `store` reading and writing the physical tables of the database's current phase.
pub async fn for_current_phase(store: AnyStore) -> Result<AnyStore> {
    let phase = current_phase(&store).await?;
    Ok(store.with_physical_names(phase.physical_names()))
}

/// Refuses to go on when the configuration pins a phase the database is not in.
pub async fn check_pinned_phase(store: &AnyStore, pinned: Option<Phase>) -> Result<()> {
    if let Some(expected) = pinned {
        let actual = current_phase(store).await?;
        if actual != expected {
            anyhow::bail!(
                "the configuration expects rename phase {expected}, but the database is in phase \
                 {actual}"
            );
        }
    }
    Ok(())
}

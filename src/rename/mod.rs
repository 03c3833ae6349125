//! The rename of the master tables from their legacy names (`ra_horses`) to `ra_mst_*`, in
//! phases persisted in the database (see `phase.rs`): `paddock tables status|begin|backfill|
//! verify|advance|rollback|drop-archived` and `paddock migrate --legacy-names`. The store
//! follows the phase through [`PhysicalNames`](crate::store::PhysicalNames), read at the start
//! of every unit inside its transaction ([`for_current_phase`]): dual writes are one unit's
//! transaction writing both tables, and transitions wait for the units in flight
//! (`state::run_transition`). `ra_odds_*` tables are never touched.

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
pub use state::{current_phase, history, stored_phase, Transition};
pub use verify::{verify, VerifyReport};

use crate::store::{AnyStore, PhaseFollower};
use anyhow::Result;

/// `store` following the database's rename phase: every unit of work reads the phase inside
/// its transaction and writes that phase's tables, every read reads it first
/// (`store::phase_follow`), so a store that keeps running across `tables begin|advance|
/// rollback|…` follows each transition (logged at info).
pub async fn for_current_phase(store: AnyStore) -> Result<AnyStore> {
    let stored = stored_phase(&store).await?;
    let current = current_phase(&store).await?;
    let follower = PhaseFollower::new(
        phase::names_for_stored_phase,
        stored.map(Phase::name),
        current.physical_names(),
    )?;
    Ok(store.following_phase(follower))
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

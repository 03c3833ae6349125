//! The rename of the master tables from their legacy names (`ra_horses`) to `ra_mst_*`, in
//! phases persisted in the database (see `phase.rs`): `paddock tables status|begin|backfill|
//! verify|advance|rollback|drop-archived` and `paddock migrate --legacy-names`. The store
//! follows the phase through [`PhysicalNames`](crate::store::PhysicalNames), read at the start
//! of every unit inside its transaction ([`for_current_phase`]): dual writes are one unit's
//! transaction writing both tables, and transitions wait for the units in flight
//! (`history::run_transition`). `ra_odds_*` tables are never touched.
//!
//! Everything here reaches the database through the store's tool door (`store::tools`),
//! written once over `SqlStore<D>`; the functions below take an [`AnyStore`] and dispatch.

pub mod carry;
pub mod cli;
pub mod history;
pub mod ops;
pub mod phase;
pub mod state;
pub mod verify;

pub use history::{Transition, TransitionOutcome};
pub use ops::DEFAULT_GRACE_DAYS;
pub use phase::Phase;
pub use verify::VerifyReport;

use crate::store::{with_backend, AnyStore, PhaseFollower};
use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

/// Creates the schema with the legacy names (`paddock migrate --legacy-names`).
pub async fn migrate_legacy_names(store: &AnyStore, now: DateTime<Utc>) -> Result<()> {
    with_backend!(store, |s| ops::migrate_legacy_names(s, now).await)
}

/// legacy → dual-write ([`ops::begin`]); a note for each index created under another name and
/// each column created nullable.
pub async fn begin(store: &AnyStore, now: DateTime<Utc>) -> Result<Vec<String>> {
    with_backend!(store, |s| ops::begin(s, now).await)
}

/// Copies legacy → new in batches ([`ops::backfill`]); rows copied per table.
pub async fn backfill(
    store: &AnyStore,
    batch: usize,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, u64)>> {
    with_backend!(store, |s| ops::backfill(s, batch, now).await)
}

/// The next phase ([`ops::advance`]).
pub async fn advance(
    store: &AnyStore,
    compatibility_views: bool,
    now: DateTime<Utc>,
) -> Result<Phase> {
    with_backend!(store, |s| ops::advance(s, compatibility_views, now).await)
}

/// One phase back ([`ops::rollback`]).
pub async fn rollback(store: &AnyStore, now: DateTime<Utc>) -> Result<Phase> {
    with_backend!(store, |s| ops::rollback(s, now).await)
}

/// deprecate → dropped ([`ops::drop_archived`]); the tables dropped.
pub async fn drop_archived(
    store: &AnyStore,
    grace: Duration,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    with_backend!(store, |s| ops::drop_archived(s, grace, force, now).await)
}

/// Legacy vs new, and foreign-key orphans ([`verify::verify`]).
pub async fn verify(store: &AnyStore) -> Result<VerifyReport> {
    with_backend!(store, |s| verify::verify(s).await)
}

/// The phase stored in `paddock_state`, if any.
pub async fn stored_phase(store: &AnyStore) -> Result<Option<Phase>> {
    with_backend!(store, |s| state::stored_phase(s).await)
}

/// The database's phase, stored or detected ([`state::current_phase`]).
pub async fn current_phase(store: &AnyStore) -> Result<Phase> {
    with_backend!(store, |s| state::current_phase(s).await)
}

/// Every recorded transition attempt, oldest first.
pub async fn history(store: &AnyStore) -> Result<Vec<Transition>> {
    with_backend!(store, |s| history::history(s).await)
}

/// `store` following the database's rename phase: every unit of work reads the phase inside
/// its transaction and writes that phase's tables, every read reads it first
/// (`store::phase_follow`), so a store that keeps running across `tables begin|advance|
/// rollback|…` follows each transition (logged at info).
pub async fn for_current_phase(store: AnyStore) -> Result<AnyStore> {
    let stored = stored_phase(&store).await?;
    let current = current_phase(&store).await?;
    let maps = with_backend!(&store, |s| state::stored_maps(s).await)?;
    let follower = PhaseFollower::new(
        phase::names_for_stored_phase,
        stored.map(Phase::name),
        current.physical_names(),
    )?
    .with_maps(maps);
    Ok(store.following_phase(follower))
}

/// Logs a warning when the configuration's `[adopt]` maps differ from those `paddock adopt`
/// recorded: the recorded ones stay in force until `paddock adopt` records the new ones.
pub async fn warn_changed_maps(
    store: &AnyStore,
    configured: &crate::config::AdoptMaps,
) -> Result<()> {
    let stored = with_backend!(store, |s| state::stored_maps(s).await)?;
    if &stored != configured {
        tracing::warn!(
            recorded = %serde_json::to_string(&stored).unwrap_or_default(),
            configured = %serde_json::to_string(configured).unwrap_or_default(),
            "the [adopt] maps in the configuration differ from those `paddock adopt` recorded; \
             the recorded ones are used until `paddock adopt` records the new ones"
        );
    }
    Ok(())
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

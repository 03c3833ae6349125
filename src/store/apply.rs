//! The one `apply` flow both backends share: upsert every group of the plan in foreign-key
//! order inside one transaction, then record rejects, state, checkpoint and run counters in
//! the same transaction, then commit (or roll back for a dry run). A failure anywhere rolls
//! the whole unit back and is turned into an error naming the table and, for a constraint
//! violation, the offending key. A table written under several physical names (dual-write) is
//! upserted into the first and copied to the others (`mirror.rs`). Each attempt begins with the
//! `begin` its caller passes (`SqlStore::begin_unit`, which reads the rename phase inside the
//! transaction), so this flow sits below the store type and the ledger.
//!
//! A unit that failed is tried again ([`apply_unit`]) when trying may pass: a transient
//! failure (the connection lost, the server restarting, a deadlock; see
//! [`crate::store::transient`]) for up to [`RETRY_WINDOW`] after the first one, with a
//! doubling pause, unless the attempt itself already waited that long (a lock or busy
//! timeout); and a constraint failure once, because another writer may have committed
//! the conflicting row while the unit ran (a NOT NULL value missing from a row is taken from
//! the stored row as the statement's snapshot sees it, and both engines check NOT NULL before
//! they look for a conflict). A failed commit is
//! never tried again: it may have committed, and the ledger counters must not count a unit
//! twice.
//!
//! After the odds step, the unit's alert rules are evaluated in the same transaction
//! (`alerts.rs`; the rows the non-price rules compare with are read before the first group).

use crate::config::AlertRule;
use crate::store::alerts;
use crate::store::diagnose::{database_error, diagnose_failed_group, violation_of, TupleLookup};
use crate::store::dialect::{Dialect, GroupWrite};
use crate::store::ledger::{self, BookkeepingError};
use crate::store::mirror::mirror_group;
use crate::store::odds;
use crate::store::physical::PhysicalNames;
use crate::store::plan::{rejects_per_table, WriteGroup};
use chrono::{DateTime, SubsecRound, Utc};
use fetchers::rows::{Counts, TableCounts, UnitOfWork};
use fetchers::store::{ApplyMode, RunId, StoreError};
use sqlx::Transaction;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long after its first transient failure a unit keeps being tried again.
pub const RETRY_WINDOW: Duration = Duration::from_secs(15);
/// The pause before the first retry; each further one doubles it, up to [`MAX_RETRY_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(250);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(4);

/// The one timestamp of a unit: now, at the microsecond precision both backends store.
pub fn unit_timestamp() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A unit's write transaction, opened, with the physical names it writes.
pub type UnitTransaction<D> = (Transaction<'static, <D as Dialect>::Db>, Arc<PhysicalNames>);

/// A unit of work planned for its transaction: its groups in write order, the alert rules it
/// evaluates after them (`store::alerts`), its run and the unit itself (rejects, state,
/// checkpoint).
pub struct PlannedUnit<'a> {
    pub groups: &'a [WriteGroup],
    pub rules: &'a [AlertRule],
    pub run_id: RunId,
    pub unit: &'a UnitOfWork,
}

/// Applies a planned unit in its own transaction, tried again as the module documentation
/// says: each attempt opens its transaction with `begin`; `lookup` answers the diagnosis of a
/// failed group (which keys exist). The alerts a committed unit triggered are counted for
/// `/metrics` (`alerts::count_triggered`).
pub async fn apply_unit<D, Begin, Opened>(
    begin: Begin,
    lookup: &dyn TupleLookup,
    planned: &PlannedUnit<'_>,
    mode: ApplyMode,
) -> Result<Counts, StoreError>
where
    D: Dialect,
    Begin: Fn() -> Opened,
    Opened: Future<Output = Result<UnitTransaction<D>, StoreError>>,
{
    let mut first_failure: Option<std::time::Instant> = None;
    let mut constraint_retried = false;
    let mut pause = FIRST_RETRY_PAUSE;
    let mut attempt = 0u32;
    let run_id = planned.run_id;
    loop {
        attempt += 1;
        let now = unit_timestamp();
        let started = std::time::Instant::now();
        let written = match begin().await {
            Ok((tx, physical)) => write_planned::<D>(lookup, &physical, tx, planned, now).await,
            Err(error) => Err(error),
        };
        let error = match written {
            // The commit (or the dry run's rollback) is final either way.
            Ok((tx, counts, fired)) => {
                finish::<D>(tx, mode).await?;
                if mode == ApplyMode::Commit {
                    alerts::count_triggered(&fired);
                }
                return Ok(counts);
            }
            Err(error) => error,
        };
        let failed_at = *first_failure.get_or_insert_with(std::time::Instant::now);
        let again = match &error {
            // An attempt that already waited the whole window (a lock or busy timeout) is
            // not repeated.
            StoreError::Transient { .. } => {
                started.elapsed() < RETRY_WINDOW && failed_at.elapsed() + pause <= RETRY_WINDOW
            }
            StoreError::Constraint { .. } => !std::mem::replace(&mut constraint_retried, true),
            _ => false,
        };
        if !again {
            return Err(error);
        }
        tracing::warn!(
            run_id = run_id.get(),
            attempt,
            pause_ms = pause.as_millis() as u64,
            error = %error,
            "a unit of work failed; trying it again"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_RETRY_PAUSE);
    }
}

async fn finish<D: Dialect>(
    tx: Transaction<'static, D::Db>,
    mode: ApplyMode,
) -> Result<(), StoreError> {
    let finished = match mode {
        ApplyMode::Commit => tx.commit().await,
        ApplyMode::DryRun => tx.rollback().await,
    };
    finished.map_err(|e| database_error(None, &e))
}

/// Writes a planned unit inside `tx` (see the module documentation), each group to every
/// physical name [`PhysicalNames::written`] gives its table (upserted into the first, copied
/// from it to the others), and its bookkeeping; returns the open transaction for the caller to
/// commit, with the alerts it triggered per rule.
async fn write_planned<D: Dialect>(
    lookup: &dyn TupleLookup,
    physical: &PhysicalNames,
    mut tx: Transaction<'static, D::Db>,
    planned: &PlannedUnit<'_>,
    now: DateTime<Utc>,
) -> Result<(Transaction<'static, D::Db>, Counts, alerts::Fired), StoreError> {
    let PlannedUnit {
        groups,
        rules,
        run_id,
        unit,
    } = *planned;
    let mut counts = Counts::default();
    // The rows the non-price rules compare with, as they were before this unit.
    let before = match alerts::watch_before::<D>(&mut tx, physical, groups, rules).await {
        Ok(before) => before,
        Err(error) => {
            rollback_quietly::<D>(tx).await;
            return Err(database_error(Some(alerts::ALERTS), &error));
        }
    };
    for (index, group) in groups.iter().enumerate() {
        let mirrors = physical.mirrors(group.table);
        for (nth, physical_name) in physical.written(group.table).into_iter().enumerate() {
            let started = std::time::Instant::now();
            let marker_table = match group.table.result_marker() {
                Some(fetchers::registry::ResultMarker::Via(fk)) => {
                    physical.read(crate::store::names::registered_table(fk.ref_table)?)
                }
                _ => physical_name,
            };
            let write = GroupWrite {
                group,
                physical_name,
                marker_table,
                mirrors: &mirrors,
                key_column: physical.key_column(group.table, physical_name),
                run_id,
                now,
            };
            let outcome = if nth == 0 {
                D::upsert_group(&mut tx, &write).await
            } else {
                mirror_group::<D>(&mut tx, physical, group, nth)
                    .await
                    .map(|()| TableCounts::default())
            };
            match outcome {
                Ok(written) => {
                    tracing::debug!(
                        table = physical_name,
                        source = group.source.name(),
                        rows = group.rows.len(),
                        inserted = written.inserted,
                        updated = written.updated,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "upserted group"
                    );
                    // A table written under several names counts its rows once.
                    if nth == 0 {
                        counts.entry(group.table.name).add(written);
                    }
                }
                Err(error) => {
                    rollback_quietly::<D>(tx).await;
                    return Err(diagnose_failed_group(
                        lookup,
                        groups,
                        index,
                        physical_name,
                        &error,
                    )
                    .await);
                }
            }
        }
    }
    if let Err(error) = odds_step::<D>(&mut tx, physical, groups, run_id, now, &mut counts).await {
        rollback_quietly::<D>(tx).await;
        return Err(error);
    }
    let evaluated =
        alerts::evaluate::<D>(&mut tx, physical, groups, rules, before, run_id, now).await;
    let fired = match evaluated {
        Ok(fired) => fired,
        Err(error) => {
            rollback_quietly::<D>(tx).await;
            return Err(database_error(Some(alerts::ALERTS), &error));
        }
    };
    if !fired.is_empty() {
        counts.entry(alerts::ALERTS).inserted += fired.values().sum::<u64>();
    }
    for (table, rejected) in rejects_per_table(&unit.rejects) {
        counts.entry(&table).rejected += rejected;
    }
    let marked =
        ledger::mark_derived_pending::<D>(&mut tx, physical, run_id, unit, &counts, now).await;
    if let Err(error) = marked {
        rollback_quietly::<D>(tx).await;
        return Err(database_error(Some(ledger::DERIVED_PENDING), &error));
    }
    if let Err(failed) = ledger::record_unit::<D>(&mut tx, run_id, unit, &counts, now).await {
        rollback_quietly::<D>(tx).await;
        return Err(bookkeeping_error(run_id, &failed));
    }
    Ok((tx, counts, fired))
}

/// The odds step ([`crate::store::odds`]) when the unit wrote odds: a repeated price is no
/// new history row, so it counts as unchanged rather than inserted.
async fn odds_step<D: Dialect>(
    tx: &mut Transaction<'static, D::Db>,
    physical: &PhysicalNames,
    groups: &[WriteGroup],
    run_id: RunId,
    now: DateTime<Utc>,
    counts: &mut Counts,
) -> Result<(), StoreError> {
    let history = odds::HISTORY.table();
    if !groups.iter().any(|g| g.table.name == history.name) {
        return Ok(());
    }
    for latest in physical.written(odds::LATEST.table()) {
        odds::keep_latest::<D>(tx, physical.read(history), latest, run_id, now)
            .await
            .map_err(|e| database_error(Some(latest), &e))?;
    }
    for physical_name in physical.written(history) {
        let dropped = odds::drop_unchanged_prices::<D>(tx, physical_name, run_id, now)
            .await
            .map_err(|e| database_error(Some(physical_name), &e))?;
        let entry = counts.entry(history.name);
        let dropped = dropped.min(entry.inserted);
        entry.inserted -= dropped;
        entry.unchanged += dropped;
    }
    Ok(())
}

async fn rollback_quietly<D: Dialect>(tx: Transaction<'static, D::Db>) {
    if let Err(e) = tx.rollback().await {
        // The connection is discarded by the pool; nothing was committed.
        tracing::warn!(error = %e, "rolling back a failed unit of work failed");
    }
}

fn bookkeeping_error(run_id: RunId, failed: &BookkeepingError) -> StoreError {
    match violation_of(&failed.error) {
        Some(_) => StoreError::Constraint {
            table: failed.table.to_string(),
            key: format!("run_id {run_id}"),
            message: failed.error.to_string(),
        },
        None => database_error(Some(failed.table), &failed.error),
    }
}

/// Inserted/updated/unchanged of a group of `rows` of which `inserted` were new and
/// `updated` changed.
pub fn group_counts(rows: usize, inserted: u64, updated: u64) -> TableCounts {
    TableCounts {
        inserted,
        updated,
        unchanged: (rows as u64).saturating_sub(inserted + updated),
        rejected: 0,
        deleted: 0,
    }
}

#[cfg(test)]
mod tests {
    use crate::store::apply::group_counts;

    #[test]
    fn unchanged_is_what_was_neither_inserted_nor_updated() {
        let c = group_counts(10, 3, 2);
        assert_eq!((c.inserted, c.updated, c.unchanged), (3, 2, 5));
    }
}

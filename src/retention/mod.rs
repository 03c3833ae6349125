//! Retention (issue 22): deleting what `[retention]` says is old enough, and nothing else —
//! the raw archive (`raw_days`, the database's `paddock_raw_responses` and the archive
//! directory when configured), the price history thinned (`odds_days`, `thin.rs`), rejects
//! (`rejects_days`), ledger runs with their per-table counts (`runs_days`) and sent alerts
//! (`alerts_days`). Masters, races, runners, the current prices
//! (`ra_runner_odds_latest`) and the derived tables are never touched.
//!
//! [`apply`] works in bounded batches, each one transaction that also adds its deletions to the
//! run's ledger counts (SQL in `store/retention.rs`), so a process killed mid-way loses no row
//! it should keep and the next run finishes the work. A dry run counts what it would delete.
//! The recorded run is `run::run_retention` (`paddock run retention [--dry-run]`, the daily
//! `retention` job).

pub mod thin;

use crate::archive::{directory, ArchiveTarget};
use crate::config::{ArchiveSettings, RetentionSettings};
use crate::store::retention::{self as sql, AgedTable, SeriesKey};
use crate::store::AnyStore;
use chrono::{DateTime, Duration, Utc};
use fetchers::registry::names;
use fetchers::rows::Counts;
use fetchers::store::RunId;
use tokio_util::sync::CancellationToken;

/// The name the archive directory's files are counted under in the ledger.
pub const ARCHIVE_DIRECTORY: &str = "archive_directory";

/// Where retention works and how: the run whose ledger counts take the deletions (`None`:
/// a dry run, counting only) and the token that stops it between batches.
pub struct Retention<'a> {
    pub store: &'a AnyStore,
    pub settings: &'a RetentionSettings,
    pub archive: &'a ArchiveSettings,
    pub now: DateTime<Utc>,
    pub run_id: Option<RunId>,
    pub cancel: CancellationToken,
}

fn cutoff_of(now: DateTime<Utc>, days: Option<u32>) -> Option<DateTime<Utc>> {
    days.map(|d| now - Duration::days(i64::from(d)))
}

impl Retention<'_> {
    /// Applies the whole policy; returns the rows deleted (or, in a dry run, that would be)
    /// per table. Stops with an error between two batches once cancelled: what it committed
    /// stays, and is in the ledger.
    pub async fn apply(&self) -> anyhow::Result<Counts> {
        let s = self.settings;
        let mut counts = Counts::default();
        if let Some(cutoff) = cutoff_of(self.now, s.raw_days) {
            self.aged(AgedTable::RawResponses, cutoff, &mut counts)
                .await?;
            if let ArchiveTarget::Directory(dir) =
                ArchiveTarget::from_settings(self.archive, self.store)
            {
                let files = match self.run_id {
                    Some(_) => directory::prune_before(&dir, cutoff)?,
                    None => directory::count_before(&dir, cutoff)?,
                };
                counts.entry(ARCHIVE_DIRECTORY).deleted += files;
            }
        }
        if let Some(cutoff) = cutoff_of(self.now, s.odds_days) {
            self.thin_prices(cutoff, &mut counts).await?;
        }
        if let Some(cutoff) = cutoff_of(self.now, s.rejects_days) {
            self.aged(AgedTable::Rejects, cutoff, &mut counts).await?;
        }
        // After the rejects: a run whose rejects just went may go too.
        if let Some(cutoff) = cutoff_of(self.now, s.runs_days) {
            self.runs(cutoff, &mut counts).await?;
        }
        if let Some(cutoff) = cutoff_of(self.now, s.alerts_days) {
            self.aged(AgedTable::SentAlerts, cutoff, &mut counts)
                .await?;
        }
        counts.0.retain(|_, c| c.deleted > 0);
        Ok(counts)
    }

    fn check_cancelled(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.cancel.is_cancelled(),
            "stopped by a shutdown between two batches: what was deleted is committed and \
             counted, the next run continues"
        );
        Ok(())
    }

    async fn aged(
        &self,
        table: AgedTable,
        cutoff: DateTime<Utc>,
        counts: &mut Counts,
    ) -> anyhow::Result<()> {
        let Some(run_id) = self.run_id else {
            counts.entry(table.table()).deleted +=
                sql::count_aged(self.store, table, cutoff).await?;
            return Ok(());
        };
        loop {
            self.check_cancelled()?;
            let n =
                sql::delete_aged_batch(self.store, table, cutoff, self.settings.batch_size, run_id)
                    .await?;
            counts.entry(table.table()).deleted += n;
            if n == 0 {
                return Ok(());
            }
        }
    }

    async fn runs(&self, cutoff: DateTime<Utc>, counts: &mut Counts) -> anyhow::Result<()> {
        let Some(run_id) = self.run_id else {
            let rejects_going = cutoff_of(self.now, self.settings.rejects_days);
            let (runs, tables) = sql::count_old_runs(self.store, cutoff, rejects_going).await?;
            counts.entry("paddock_runs").deleted += runs;
            counts.entry("paddock_run_tables").deleted += tables;
            return Ok(());
        };
        loop {
            self.check_cancelled()?;
            let (runs, tables) =
                sql::delete_old_runs(self.store, cutoff, self.settings.batch_size, run_id).await?;
            if runs == 0 {
                return Ok(());
            }
            counts.entry("paddock_runs").deleted += runs;
            counts.entry("paddock_run_tables").deleted += tables;
        }
    }

    async fn thin_prices(&self, cutoff: DateTime<Utc>, counts: &mut Counts) -> anyhow::Result<()> {
        let percent = self.settings.odds_keep_move_percent;
        let rule = move |history: &[sql::PriceRow]| thin::keep_rows(history, cutoff, percent);
        let mut after: Option<SeriesKey> = None;
        loop {
            self.check_cancelled()?;
            let batch = sql::thin_price_batch(
                self.store,
                after.as_ref(),
                self.settings.batch_size,
                &rule,
                self.run_id,
            )
            .await?;
            counts.entry(names::RUNNER_ODDS).deleted += batch.deleted;
            match batch.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }
}

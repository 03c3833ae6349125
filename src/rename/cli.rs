//! `paddock tables …`: the rename commands as the command line shows them.

use crate::rename::history::history;
use crate::rename::phase::{archived_name, legacy_name, renamed_tables};
use crate::rename::state::current_phase;
use crate::rename::verify::count;
use crate::rename::{self, ops};
use crate::store::dialect::ToolDialect;
use crate::store::{with_backend, AnyStore, SqlStore};
use anyhow::Result;
use chrono::{Duration, Utc};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum TablesCommand {
    /// Show the rename phase, its history and legacy vs new row counts per table.
    Status,
    /// legacy → dual-write: create the ra_mst_* tables; from now on units write both.
    Begin,
    /// Copy history from the legacy tables in key-ordered batches (resumable, idempotent).
    Backfill {
        #[arg(long, default_value_t = 5000)]
        batch: usize,
    },
    /// Compare legacy and new tables (counts, keys, every column) and foreign-key orphans.
    /// Exits 1 naming each difference.
    Verify,
    /// Move to the next phase (backfill → switch-readers needs a clean verify).
    Advance {
        /// On entering deprecate, serve the legacy names as views of ra_mst_*.
        #[arg(long)]
        compatibility_views: bool,
    },
    /// Step back one phase (from dual-write up to deprecate).
    Rollback,
    /// Drop the ra_old_* tables, refused within the grace period after deprecation.
    DropArchived {
        #[arg(long, default_value_t = ops::DEFAULT_GRACE_DAYS)]
        grace_days: i64,
        #[arg(long)]
        force: bool,
    },
}

/// Runs one `tables` command; returns the exit status.
pub async fn run(store: &AnyStore, command: TablesCommand) -> Result<i32> {
    let now = Utc::now();
    match command {
        TablesCommand::Status => {
            print!("{}", status(store).await?);
            Ok(0)
        }
        TablesCommand::Begin => {
            for note in rename::begin(store, now).await? {
                println!("{note}");
            }
            println!("phase dual-write: ra_mst_* created; units now write both");
            Ok(0)
        }
        TablesCommand::Backfill { batch } => {
            for (table, rows) in rename::backfill(store, batch.max(1), now).await? {
                println!("{table:<18} {rows:>10} rows copied");
            }
            Ok(0)
        }
        TablesCommand::Verify => {
            let report = rename::verify(store).await?;
            for d in &report.differences {
                println!("DIFFERENCE {d}");
            }
            println!(
                "{}",
                if report.is_clean() {
                    "verify: clean"
                } else {
                    "verify: differences found"
                }
            );
            Ok(if report.is_clean() { 0 } else { 1 })
        }
        TablesCommand::Advance {
            compatibility_views,
        } => {
            let phase = rename::advance(store, compatibility_views, now).await?;
            println!("phase {phase}");
            Ok(0)
        }
        TablesCommand::Rollback => {
            let phase = rename::rollback(store, now).await?;
            println!("phase {phase}");
            Ok(0)
        }
        TablesCommand::DropArchived { grace_days, force } => {
            for table in
                rename::drop_archived(store, Duration::days(grace_days), force, now).await?
            {
                println!("dropped {table}");
            }
            Ok(0)
        }
    }
}

/// The `tables status` text.
pub async fn status(store: &AnyStore) -> Result<String> {
    with_backend!(store, |s| status_of(s).await)
}

async fn status_of<D: ToolDialect>(store: &SqlStore<D>) -> Result<String> {
    let mut out = format!("phase: {}\n", current_phase(store).await?);
    out.push_str("history:\n");
    for t in history(store).await? {
        out.push_str(&format!("  {}  {t}\n", t.at.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    out.push_str(&format!(
        "{:<18} {:>12} {:>12}\n",
        "table", "legacy rows", "new rows"
    ));
    for table in renamed_tables() {
        let legacy = if store.table_exists(legacy_name(table)).await? {
            Some(legacy_name(table).to_string())
        } else if store.table_exists(&archived_name(table)).await? {
            Some(archived_name(table))
        } else {
            None
        };
        let rows = |name: Option<String>| async move {
            match name {
                Some(n) => count(store, &format!("SELECT COUNT(*) FROM {n}"))
                    .await
                    .map(|c| c.to_string()),
                None => Ok("-".to_string()),
            }
        };
        let new = (store.table_exists(table.name).await?).then(|| table.name.to_string());
        out.push_str(&format!(
            "{:<18} {:>12} {:>12}\n",
            table.name,
            rows(legacy).await?,
            rows(new).await?
        ));
    }
    // An adopted database: its column maps and the derived tables Paddock skips.
    let maps = crate::rename::state::stored_maps(store).await?;
    for (table, columns) in &maps.columns {
        let written = fetchers::registry::table(table)
            .map_or(table.as_str(), |t| t.legacy_name.unwrap_or(t.name));
        for (legacy, registry) in columns {
            out.push_str(&format!(
                "mapped legacy column {written}.{legacy}: filled from {registry} by every write\n"
            ));
        }
    }
    for (table, column) in &maps.keys {
        let written = fetchers::registry::table(table)
            .map_or(table.as_str(), |t| t.legacy_name.unwrap_or(t.name));
        out.push_str(&format!(
            "key map {written}: its key held in {column} (upserted on; the rename copies it \
             into the new table's id and its surrogate into legacy_id)\n"
        ));
    }
    for (table, why) in crate::derive::skipped_in(store).await? {
        out.push_str(&format!("skipped: Paddock's derived {table}: {why}\n"));
    }
    for (table, column) in ops::extra_legacy_columns(store).await? {
        out.push_str(&format!(
            "kept legacy column {table}.{column} (not in the registry)\n"
        ));
    }
    Ok(out)
}

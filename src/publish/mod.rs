//! The SQLite analytics copy (`paddock publish`, the `publish` job; issue 20): a consistent
//! copy of the database for readers (models, dashboards), written to `[publish] path` while
//! the writer goes on.
//!
//! How ([`publish_copy`]): on ONE source connection a read transaction is opened; every
//! table's row count and checksum are taken in it ([`figures`]); SQLite's online backup API
//! copies the database inside that same transaction ([`backup`]), so the copy is the instant
//! the figures describe; into a temporary file beside the target ([`target`]). On the copy:
//! `journal_mode=DELETE` (a WAL copy renamed over another would share its `-wal`/`-shm` with
//! the old copy's readers), `integrity_check` (must say ok), `ANALYZE`; then fsync and an
//! atomic rename over the target, and fsync of the directory. A reader holding the previous
//! copy open keeps reading it (the rename unlinks, it does not overwrite); a new reader opens
//! the new one. A failure leaves no temporary file.
//!
//! The run ([`crate::run::run_publish`]) records the per-table row counts in the ledger's
//! `paddock_run_tables` (as `unchanged`: rows copied, none changed) and the publication — path,
//! size, time, elapsed, counts and checksums — in `paddock_state` under [`STATE_KEY`], where
//! `paddock status` and the daemon's `/metrics` read the copy's age. PostgreSQL has no copy:
//! readers use `[database] read_url` (a replica or a reader role).

mod backup;
pub mod figures;
mod target;

pub use figures::{table_figures, Figures, TableFigures};

use crate::config::{Config, ANALYTICS_PATH_ENV};
use crate::store::dialect::Dialect;
use crate::store::ledger::{add_run_counts, set_state_sql};
use crate::store::{AnyStore, BackendKind, SqliteDialect, SqliteStore};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use fetchers::rows::{Counts, TableCounts};
use fetchers::store::{RunId, StateKey, Store};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::path::{Path, PathBuf};
use std::time::Instant;
use target::TempCopy;

/// The `paddock_state` key of the latest publication.
pub const STATE_KEY: &str = "analytics_copy";

/// One publication of the analytics copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    pub path: PathBuf,
    /// The copy's size on disk.
    pub bytes: u64,
    /// When the snapshot's transaction ended (the instant the copy shows is just before).
    pub published_at: DateTime<Utc>,
    pub elapsed_ms: u64,
    /// The ledger run that published it (none for a copy made outside a run).
    pub run_id: Option<i64>,
    /// Every table's row count and checksum, taken in the snapshot's transaction.
    pub tables: Figures,
}

impl Publication {
    /// The per-table counts for the ledger: the rows copied, as `unchanged`.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for (table, f) in &self.tables {
            counts.0.insert(
                table.clone(),
                TableCounts {
                    unchanged: f.rows,
                    ..TableCounts::default()
                },
            );
        }
        counts
    }

    /// How old the copy is at `now` (its sync lag), in seconds, never negative.
    pub fn age_seconds(&self, now: DateTime<Utc>) -> f64 {
        ((now - self.published_at).num_milliseconds() as f64 / 1000.0).max(0.0)
    }
}

/// Why `paddock publish` will not start (the command's exit status 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "no analytics copy path: set `path` in the config file's [publish] section or the \
         environment variable {ANALYTICS_PATH_ENV} (e.g. /var/lib/paddock/analytics.db)"
    )]
    NoPath,
    #[error(
        "the analytics copy is SQLite's: on PostgreSQL, point readers at a replica or a reader \
         role (`paddock grants --reader ROLE`) and the reporting commands at it with \
         [database] read_url (env PADDOCK_READ_DATABASE_URL)"
    )]
    Postgres,
}

/// The copy's path, or why there is no copy to make with this configuration.
pub fn target(config: &Config) -> Result<&Path, Refusal> {
    if BackendKind::of_url(config.database_url.expose()).is_postgres() {
        return Err(Refusal::Postgres);
    }
    config.publish.path.as_deref().ok_or(Refusal::NoPath)
}

/// Publishes `store`'s database to `target` and records it for run `run_id` (see the module
/// doc). Refused on PostgreSQL.
pub async fn publish_recorded(
    store: &AnyStore,
    target: &Path,
    run_id: RunId,
) -> Result<Publication> {
    let AnyStore::Sqlite(sqlite) = store else {
        return Err(Refusal::Postgres.into());
    };
    let mut publication = publish_copy(sqlite, target).await?;
    publication.run_id = Some(run_id.get());
    record(sqlite, run_id, &publication).await?;
    Ok(publication)
}

/// The copy itself (see the module doc); nothing recorded.
pub async fn publish_copy(store: &SqliteStore, target: &Path) -> Result<Publication> {
    let started = Instant::now();
    let temp = TempCopy::beside(target)?;
    let mut copy = SqliteConnectOptions::new()
        .filename(temp.path())
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .connect()
        .await
        .with_context(|| format!("creating {}", temp.path().display()))?;
    let outcome = snapshot_into(store, target, &mut copy).await;
    let checked = match outcome {
        Ok(tables) => prepare_for_readers(&mut copy).await.map(|()| tables),
        Err(e) => Err(e),
    };
    let closed = copy.close().await.context("closing the copy");
    let tables = checked?;
    closed?;
    let bytes = temp.install()?;
    Ok(Publication {
        path: target.to_path_buf(),
        bytes,
        published_at: Utc::now(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        run_id: None,
        tables,
    })
}

/// One read transaction on one source connection: the figures, then the backup into `copy`.
async fn snapshot_into(
    store: &SqliteStore,
    target: &Path,
    copy: &mut SqliteConnection,
) -> Result<Figures> {
    let mut source = store.connection(None).await?;
    refuse_own_file(&mut source, target).await?;
    let mut snapshot = source
        .begin()
        .await
        .context("opening the read transaction")?;
    let tables = table_figures(&mut snapshot)
        .await
        .context("counting the rows in the snapshot")?;
    backup::copy(&mut snapshot, copy).await?;
    snapshot
        .commit()
        .await
        .context("ending the read transaction")?;
    Ok(tables)
}

/// Refuses a target that is the database itself.
async fn refuse_own_file(source: &mut SqliteConnection, target: &Path) -> Result<()> {
    let file: Option<String> =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_optional(&mut *source)
            .await?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let Some(file) = file.filter(|f| !f.is_empty()) {
        anyhow::ensure!(
            !same(Path::new(&file), target),
            "{}: the analytics copy cannot replace the database itself",
            target.display()
        );
    }
    Ok(())
}

/// Rollback journal (not WAL), integrity checked, statistics for the readers' planner.
async fn prepare_for_readers(copy: &mut SqliteConnection) -> Result<()> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode = DELETE")
        .fetch_one(&mut *copy)
        .await?;
    anyhow::ensure!(
        mode.eq_ignore_ascii_case("delete"),
        "the copy stayed in journal mode {mode}"
    );
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *copy)
        .await?;
    anyhow::ensure!(
        problems == ["ok"],
        "the copy failed its integrity check: {}",
        problems.join("; ")
    );
    sqlx::query("ANALYZE").execute(&mut *copy).await?;
    Ok(())
}

/// The per-table counts in `paddock_run_tables` and the publication in `paddock_state`, in
/// one transaction.
async fn record(store: &SqliteStore, run_id: RunId, publication: &Publication) -> Result<()> {
    let text = serde_json::to_string(publication)?;
    let mut tx = store.begin_write().await?;
    add_run_counts::<SqliteDialect>(&mut tx, run_id, &publication.counts()).await?;
    let key = StateKey::from(STATE_KEY);
    let (sql, params) = set_state_sql::<SqliteDialect>(&key, &text, publication.published_at);
    SqliteDialect::execute(&mut tx, &sql, params.values()).await?;
    tx.commit().await.context("recording the publication")?;
    Ok(())
}

/// The latest publication recorded in `store` (none yet, or a PostgreSQL database: `None`).
pub async fn last_publication(store: &AnyStore) -> Result<Option<Publication>> {
    let Some(text) = store.get_state(&StateKey::from(STATE_KEY)).await? else {
        return Ok(None);
    };
    let publication = serde_json::from_str(&text)
        .with_context(|| format!("reading paddock_state `{STATE_KEY}`"))?;
    Ok(Some(publication))
}

/// What a publication produced, for `paddock publish` and `paddock run publish`.
pub fn render(publication: &Publication) -> String {
    let rows: u64 = publication.tables.values().map(|t| t.rows).sum();
    let mut out = format!(
        "analytics copy {}: {} bytes, {} tables, {rows} rows, in {:.1} s\n",
        publication.path.display(),
        publication.bytes,
        publication.tables.len(),
        publication.elapsed_ms as f64 / 1000.0
    );
    for (table, f) in &publication.tables {
        out.push_str(&format!("  {table:<34} {:>10}  {}\n", f.rows, f.checksum));
    }
    out
}

/// `paddock status`'s line about the copy at `now`.
pub fn status_line(
    configured: Option<&Path>,
    last: Option<&Publication>,
    now: DateTime<Utc>,
) -> String {
    match (configured, last) {
        (None, None) => "analytics copy: none ([publish] path not set)\n".into(),
        (Some(path), None) => format!("analytics copy: {} (never published)\n", path.display()),
        (_, Some(p)) => {
            let on_disk = std::fs::metadata(&p.path).map(|m| m.len()).ok();
            format!(
                "analytics copy: {}, published {} (age {:.0} s), {} bytes{}\n",
                p.path.display(),
                p.published_at.format("%Y-%m-%dT%H:%M:%SZ"),
                p.age_seconds(now),
                p.bytes,
                match on_disk {
                    Some(_) => "",
                    None => " (file missing)",
                }
            )
        }
    }
}

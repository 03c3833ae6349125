//! The raw response archive: every API response body a backfill or daemon run receives, kept
//! zstd-compressed with its endpoint, query, status and fetch time, so that `paddock replay`
//! can rebuild the tables without asking the API again.
//!
//! - [`ArchiveSettings`]: the `[archive]` configuration section (on by default; database or
//!   directory; retention).
//! - [`Archive`]: a [`ResponseHook`] for the HTTP client that hands each response to a
//!   background writer, and [`Archive::close`] that waits until everything is written.
//! - `codec.rs`: compression; `directory.rs`: the directory alternative.
//! - [`read_all`], [`figures`], [`prune`]: reading back, `paddock archive stats`, retention.

pub mod codec;
pub mod directory;

use crate::client::ResponseHook;
use crate::store::archive::{self as sql, StoredResponse};
use crate::store::AnyStore;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use fetchers::api::ApiRequest;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The `[archive]` section, defined with the rest of the configuration.
pub use crate::config::ArchiveSettings;

/// Where archived responses go.
#[derive(Debug, Clone)]
pub enum ArchiveTarget {
    Database(AnyStore),
    Directory(PathBuf),
}

impl ArchiveTarget {
    /// The target the settings name for `store`.
    pub fn from_settings(settings: &ArchiveSettings, store: &AnyStore) -> ArchiveTarget {
        match &settings.directory {
            Some(dir) => ArchiveTarget::Directory(dir.clone()),
            None => ArchiveTarget::Database(store.clone()),
        }
    }
}

/// One response as archived: metadata and the compressed, encoded body.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedResponse {
    /// The endpoint template, e.g. `/results`.
    pub endpoint: String,
    /// Path and query as sent.
    pub query: String,
    pub status: u16,
    pub fetched_at: DateTime<Utc>,
    /// Length of the body before compression.
    pub body_bytes: usize,
    /// The body, zstd-compressed.
    pub body_zstd: Vec<u8>,
}

impl ArchivedResponse {
    /// Compresses one response.
    pub fn new(
        request: &ApiRequest,
        status: u16,
        fetched_at: DateTime<Utc>,
        body: &str,
    ) -> anyhow::Result<Self> {
        Ok(ArchivedResponse {
            endpoint: request.endpoint().template().to_string(),
            query: request.path_and_query(),
            status,
            fetched_at,
            body_bytes: body.len(),
            body_zstd: codec::encode_body(body)?,
        })
    }

    /// The body, decompressed.
    pub fn body(&self) -> anyhow::Result<String> {
        codec::decode_body(&self.body_zstd, self.body_bytes)
    }

    fn stored(&self) -> StoredResponse {
        StoredResponse {
            response_id: 0,
            endpoint: self.endpoint.clone(),
            query: self.query.clone(),
            status: i64::from(self.status),
            fetched_at: self.fetched_at,
            body_bytes: self.body_bytes as i64,
            body_zstd: self.body_zstd.clone(),
        }
    }

    fn from_stored(s: StoredResponse) -> Self {
        ArchivedResponse {
            endpoint: s.endpoint,
            query: s.query,
            status: u16::try_from(s.status).unwrap_or(0),
            fetched_at: s.fetched_at,
            body_bytes: usize::try_from(s.body_bytes).unwrap_or(0),
            body_zstd: s.body_zstd,
        }
    }
}

/// The client hook that archives every response, written by a background task in batches.
pub struct Archive {
    sender: Mutex<Option<mpsc::UnboundedSender<ArchivedResponse>>>,
    writer: Mutex<Option<JoinHandle<anyhow::Result<u64>>>>,
    /// The first failure to compress a body (reported by [`Archive::close`]).
    failed: Mutex<Option<String>>,
}

impl Archive {
    /// Starts the writer for `target` on the current runtime.
    pub fn start(target: ArchiveTarget) -> Arc<Archive> {
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_all(target, rx));
        Arc::new(Archive {
            sender: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            failed: Mutex::new(None),
        })
    }

    /// Stops accepting responses and waits until every one received is written. Returns how
    /// many were written, or the first error (a response that could not be archived).
    pub async fn close(&self) -> anyhow::Result<u64> {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let written = match writer {
            Some(w) => w.await.context("the archive writer panicked")??,
            None => 0,
        };
        if let Some(e) = self
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            anyhow::bail!("a response could not be archived: {e}");
        }
        Ok(written)
    }
}

impl ResponseHook for Archive {
    fn on_response(
        &self,
        request: &ApiRequest,
        status: u16,
        fetched_at: DateTime<Utc>,
        body: &str,
    ) {
        let record = match ArchivedResponse::new(request, status, fetched_at, body) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(path = %request.path_and_query(), error = %e, "cannot archive a response");
                self.failed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert_with(|| e.to_string());
                return;
            }
        };
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = sender.as_ref() {
            if tx.send(record).is_err() {
                self.failed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert_with(|| "the archive writer stopped".to_string());
            }
        }
    }
}

/// Writes records as they come, in batches of what has queued up.
async fn write_all(
    target: ArchiveTarget,
    mut rx: mpsc::UnboundedReceiver<ArchivedResponse>,
) -> anyhow::Result<u64> {
    const BATCH: usize = 64;
    let mut written = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        match &target {
            ArchiveTarget::Database(store) => {
                let rows: Vec<StoredResponse> =
                    batch.iter().map(ArchivedResponse::stored).collect();
                sql::insert(store, &rows)
                    .await
                    .context("writing to paddock_raw_responses")?;
            }
            ArchiveTarget::Directory(dir) => {
                for r in &batch {
                    directory::write(dir, r).await?;
                }
            }
        }
        written += batch.len() as u64;
        batch.clear();
    }
    Ok(written)
}

/// Reads archived responses fetched in `[from, to)` (when given) back in fetch order, a batch
/// at a time.
pub struct Reader {
    target: ArchiveTarget,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    after_id: i64,
    files: Option<std::collections::VecDeque<PathBuf>>,
}

impl Reader {
    pub fn new(
        target: ArchiveTarget,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Self {
        Reader {
            target,
            from,
            to,
            after_id: 0,
            files: None,
        }
    }

    /// The next batch; empty at the end.
    pub async fn next_batch(&mut self) -> anyhow::Result<Vec<ArchivedResponse>> {
        const BATCH: usize = 200;
        match &self.target {
            ArchiveTarget::Database(store) => {
                let batch =
                    sql::read_batch(store, self.after_id, self.from, self.to, BATCH as i64).await?;
                if let Some(last) = batch.last() {
                    self.after_id = last.response_id;
                }
                Ok(batch
                    .into_iter()
                    .map(ArchivedResponse::from_stored)
                    .collect())
            }
            ArchiveTarget::Directory(dir) => {
                if self.files.is_none() {
                    self.files = Some(directory::files(dir)?.into());
                }
                let files = self.files.as_mut().expect("listed above");
                let mut out = Vec::new();
                while out.len() < BATCH {
                    let Some(path) = files.pop_front() else { break };
                    let r = directory::read(&path)?;
                    if self.from.is_none_or(|f| r.fetched_at >= f)
                        && self.to.is_none_or(|t| r.fetched_at < t)
                    {
                        out.push(r);
                    }
                }
                Ok(out)
            }
        }
    }
}

/// Size and span of the archive.
pub async fn figures(target: &ArchiveTarget) -> anyhow::Result<sql::ArchiveFigures> {
    match target {
        ArchiveTarget::Database(store) => sql::figures(store).await,
        ArchiveTarget::Directory(dir) => directory::figures(dir),
    }
}

/// Deletes responses fetched more than `days` days before `now`; returns how many.
pub async fn prune(target: &ArchiveTarget, days: u32, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let cutoff = now - chrono::Duration::days(i64::from(days));
    match target {
        ArchiveTarget::Database(store) => sql::prune_before(store, cutoff).await,
        ArchiveTarget::Directory(dir) => directory::prune_before(dir, cutoff),
    }
}

/// The `paddock archive stats` text.
pub fn render_figures(f: &sql::ArchiveFigures) -> String {
    let mut out = format!(
        "responses      {}\nbody bytes     {}\nstored bytes   {}{}\n",
        f.responses,
        f.body_bytes,
        f.stored_bytes,
        if f.body_bytes > 0 {
            format!(
                " ({:.1}% of the bodies)",
                100.0 * f.stored_bytes as f64 / f.body_bytes as f64
            )
        } else {
            String::new()
        }
    );
    match (f.first, f.last) {
        (Some(a), Some(b)) => out.push_str(&format!(
            "span           {} … {}\n",
            a.to_rfc3339(),
            b.to_rfc3339()
        )),
        _ => out.push_str("span           (empty)\n"),
    }
    for (endpoint, n) in &f.by_endpoint {
        out.push_str(&format!("  {endpoint:<28} {n:>8}\n"));
    }
    out
}

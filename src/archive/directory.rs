//! The directory alternative to `paddock_raw_responses`: one file per response under
//! `DIR/YYYY-MM-DD/` (the fetch date), named by fetch time so that name order is fetch order.
//! A file is one JSON line of metadata followed by the zstd-compressed body.

use super::ArchivedResponse;
use crate::store::archive::ArchiveFigures;
use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    endpoint: String,
    query: String,
    status: u16,
    fetched_at: DateTime<Utc>,
    body_bytes: usize,
}

/// Writes one response.
pub async fn write(dir: &Path, r: &ArchivedResponse) -> anyhow::Result<()> {
    let day = dir.join(r.fetched_at.date_naive().to_string());
    tokio::fs::create_dir_all(&day)
        .await
        .with_context(|| format!("creating {}", day.display()))?;
    let name = format!(
        "{}-{:06}.zst",
        r.fetched_at.format("%Y%m%dT%H%M%S%.6fZ"),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    let header = Header {
        endpoint: r.endpoint.clone(),
        query: r.query.clone(),
        status: r.status,
        fetched_at: r.fetched_at,
        body_bytes: r.body_bytes,
    };
    let mut bytes = serde_json::to_vec(&header)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&r.body_zstd);
    let path = day.join(name);
    tokio::fs::write(&path, bytes)
        .await
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads one file written by [`write`].
pub fn read(path: &Path) -> anyhow::Result<ArchivedResponse> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let split = bytes
        .iter()
        .position(|b| *b == b'\n')
        .with_context(|| format!("{}: no header line", path.display()))?;
    let header: Header = serde_json::from_slice(&bytes[..split])
        .with_context(|| format!("{}: bad header", path.display()))?;
    Ok(ArchivedResponse {
        endpoint: header.endpoint,
        query: header.query,
        status: header.status,
        fetched_at: header.fetched_at,
        body_bytes: header.body_bytes,
        body_zstd: bytes[split + 1..].to_vec(),
    })
}

/// Day directories in date order.
fn days(dir: &Path) -> anyhow::Result<Vec<(NaiveDate, PathBuf)>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        if let Some(date) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<NaiveDate>().ok())
        {
            out.push((date, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Every archive file in fetch order.
pub fn files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for (_, day) in days(dir)? {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&day)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "zst"))
            .collect();
        names.sort();
        out.extend(names);
    }
    Ok(out)
}

/// Size and span of a directory archive.
pub fn figures(dir: &Path) -> anyhow::Result<ArchiveFigures> {
    let mut f = ArchiveFigures::default();
    let mut by_endpoint = std::collections::BTreeMap::<String, i64>::new();
    for path in files(dir)? {
        let r = read(&path)?;
        f.responses += 1;
        f.body_bytes += r.body_bytes as i64;
        f.stored_bytes += std::fs::metadata(&path)?.len() as i64;
        f.first = Some(f.first.map_or(r.fetched_at, |a| a.min(r.fetched_at)));
        f.last = Some(f.last.map_or(r.fetched_at, |a| a.max(r.fetched_at)));
        *by_endpoint.entry(r.endpoint).or_default() += 1;
    }
    f.by_endpoint = by_endpoint.into_iter().collect();
    Ok(f)
}

/// How many files [`prune_before`] would remove (whole days fetched before `cutoff`'s date).
pub fn count_before(dir: &Path, cutoff: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut files = 0;
    for (date, day) in days(dir)? {
        if date < cutoff.date_naive() {
            files += std::fs::read_dir(&day)?.count() as u64;
        }
    }
    Ok(files)
}

/// Removes whole days fetched before `cutoff`'s date; returns the files removed.
pub fn prune_before(dir: &Path, cutoff: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut removed = 0;
    for (date, day) in days(dir)? {
        if date < cutoff.date_naive() {
            removed += std::fs::read_dir(&day)?.count() as u64;
            std::fs::remove_dir_all(&day).with_context(|| format!("removing {}", day.display()))?;
        }
    }
    Ok(removed)
}

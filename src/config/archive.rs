//! `[archive]`: the raw response archive's settings (on by default; database or directory;
//! retention). The archive itself (`crate::archive`) turns them into a target.

use std::path::PathBuf;

/// The `[archive]` section.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveSettings {
    /// Archive backfill and daemon runs' responses (default true).
    pub enabled: bool,
    /// Keep the archive in this directory (one zstd file per response) instead of the
    /// database's `paddock_raw_responses`.
    pub directory: Option<PathBuf>,
    /// Delete archived responses older than this many days when a backfill starts
    /// (default: keep everything).
    pub retention_days: Option<u32>,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        ArchiveSettings {
            enabled: true,
            directory: None,
            retention_days: None,
        }
    }
}

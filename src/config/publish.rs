//! `[publish]`: where `paddock publish` (and the `publish` job) writes the SQLite analytics copy
//! (`path`, env `PADDOCK_ANALYTICS_PATH`). No default: without a path there is no copy, and the
//! `publish` job is off unless its section says `enabled = true`.

use super::file::FilePublish;
use super::secrets::Env;
use std::path::PathBuf;

/// The analytics copy's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishSettings {
    /// The copy's file: `PADDOCK_ANALYTICS_PATH`, else `[publish] path`; `None` when neither
    /// (or an empty value) gives one.
    pub path: Option<PathBuf>,
}

/// The environment variable naming the copy's file.
pub const ANALYTICS_PATH_ENV: &str = "PADDOCK_ANALYTICS_PATH";

/// `[publish]` with its environment override.
pub fn publish_settings(file: &FilePublish, env: &dyn Env) -> PublishSettings {
    let path = env
        .var(ANALYTICS_PATH_ENV)
        .or_else(|| file.path.clone())
        .filter(|p| !p.trim().is_empty())
        .map(PathBuf::from);
    PublishSettings { path }
}

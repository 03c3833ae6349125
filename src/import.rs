//! `paddock import`: loads saved API responses (files or a directory of `*.json`) through the
//! same extractor and store as a fetch, as one ledger run with one unit of work per file.

use crate::run::{run_recorded, Ended, JobName, RunError, RunResult};
use crate::store::AnyStore;
use anyhow::Context;
use fetchers::api::{ApiError, ApiRequest, ApiSource, Endpoint, RawResponse};
use fetchers::jobs::{import_document, JobContext};
use fetchers::store::{ApplyMode, RunTrigger};
use std::path::{Path, PathBuf};

/// Imports never call the API; this source refuses every request.
struct NoApi;

#[async_trait::async_trait]
impl ApiSource for NoApi {
    async fn fetch(&self, request: &ApiRequest) -> Result<RawResponse, ApiError> {
        Err(ApiError::Rejected {
            status: 0,
            path: request.path_and_query(),
            excerpt: "import makes no API requests".into(),
        })
    }
}

/// The files an import reads: `path` itself, or the `*.json` files of a directory by name.
pub fn files_to_import(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        Ok(files)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

/// Imports `path`; a file that cannot be read or parsed fails the run (earlier files stay
/// stored, one transaction each). The derived tables of what it touched are recomputed after.
pub async fn import_path(
    store: &AnyStore,
    path: &Path,
    endpoint: Option<Endpoint>,
    bands: &fetchers::derived::DistanceBands,
) -> anyhow::Result<RunResult<()>> {
    let files = files_to_import(path)?;
    let params = serde_json::json!({ "path": path.display().to_string(), "files": files.len() });
    let job = JobName::Import;
    run_recorded(
        store,
        job,
        RunTrigger::Manual,
        params,
        |run_id| async move {
            let api = NoApi;
            let mut ctx = JobContext::new(&api, store, run_id, ApplyMode::Commit, vec![]);
            let mut outcome = import_files(&mut ctx, &files, endpoint).await;
            let mut report = ctx.report;
            // Imported results change the derived tables as fetched ones do.
            if outcome.is_ok() {
                outcome = crate::derive::update_touched(store, bands, run_id)
                    .await
                    .map(|derived| report.counts.add(&derived))
                    .map_err(RunError::from);
            }
            Ended::new(outcome, report)
        },
    )
    .await
}

/// Imports `files` in order, each in its own transaction; stops at the first that cannot be
/// read or parsed.
async fn import_files(
    ctx: &mut JobContext<'_>,
    files: &[PathBuf],
    endpoint: Option<Endpoint>,
) -> Result<(), RunError> {
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|source| RunError::ReadFile {
            path: name.clone(),
            source,
        })?;
        import_document(ctx, &name, &text, endpoint).await?;
    }
    Ok(())
}

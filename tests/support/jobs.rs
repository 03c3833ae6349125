//! Running jobs in tests the way the application does: configurations without a file and a
//! manual, committed run of a job request.

use super::db::TestDb;
use fetchers::api::ApiSource;
use fetchers::store::{ApplyMode, RunTrigger};
use paddock::config::Config;
use paddock::run::{self, JobRequest, RunContext};
use std::collections::BTreeMap;

/// The configuration from `text` (TOML) with an empty environment.
pub fn config_from_toml(text: &str) -> Config {
    Config::from_toml(text, &BTreeMap::<String, String>::new()).unwrap()
}

/// The built-in defaults: no file, no environment.
pub fn default_config() -> Config {
    config_from_toml("")
}

/// A manual, committed run of `request` on `db` with `config`; its result (which may be a
/// failed run: the caller checks the status).
pub async fn run_with_config(
    config: &Config,
    db: &TestDb,
    api: &dyn ApiSource,
    request: JobRequest,
) -> run::RunResult {
    run::run_job(
        config,
        api,
        &db.store,
        &request,
        &RunContext::new(RunTrigger::Manual, ApplyMode::Commit),
    )
    .await
    .unwrap()
}

/// A manual, committed run of `request` on `db` with [`default_config`].
pub async fn run(db: &TestDb, api: &dyn ApiSource, request: JobRequest) -> run::RunResult {
    run_with_config(&default_config(), db, api, request).await
}

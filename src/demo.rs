//! `paddock demo`: the real pipeline (HTTP client, rate limiter, extractor, store) against the
//! bundled simulator on a loopback port, into the configured database. No credentials needed.

use crate::app::{self, JobRequest};
use crate::config::{Config, Secret};
use crate::simulator::{SimConfig, SimServer};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunTrigger, Store};

/// The simulator is local, so the demo may go faster than the real API's 2 requests/s.
const DEMO_RATE_LIMIT: f64 = 20.0;

/// Runs MasterReference, RacesAndRunners for today − `days` … today + `days`, and
/// MasterEntities (daily), printing each run's summary. Returns the worst exit status. (The
/// weekly pass, which walks the pedigree back a generation, is left to `paddock run`.)
pub async fn run_demo(config: &Config, seed: u64, days: u32) -> anyhow::Result<i32> {
    let server = SimServer::start(SimConfig::new(seed, "demo", "demo")).await?;
    let mut config = config.clone();
    config.api.base_url = server.base_url.clone();
    config.api.username = Some(Secret::new("demo"));
    config.api.password = Some(Secret::new("demo"));
    config.api.rate_limit_per_second = DEMO_RATE_LIMIT;
    println!(
        "demo: simulated Racing API at {}, database {}\n",
        server.base_url, config.database_url
    );
    let store = crate::open_store(&config).await?;
    let api = crate::api_client(&config)?;
    let today = crate::today(&config);
    let span = chrono::Duration::days(days as i64);
    let requests = [
        JobRequest::MasterReference,
        JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(
            today - span,
            today + span,
            today,
        )),
        JobRequest::MasterEntities { weekly: false },
    ];
    let mut worst = 0;
    for request in &requests {
        let result = app::run_job(
            &config,
            &api,
            &store,
            request,
            RunTrigger::Manual,
            ApplyMode::Commit,
        )
        .await?;
        println!("{}", app::render_summary(&result, false));
        worst = worst.max(result.exit_code());
    }
    println!("rows now stored:");
    for table in fetchers::order::registry_order() {
        let is_data = fetchers::registry::table(table)
            .is_some_and(|t| t.kind != fetchers::registry::TableKind::Operations);
        if is_data {
            println!("  {table:<22} {:>9}", store.count_rows(table).await?);
        }
    }
    server.shutdown().await;
    Ok(worst)
}

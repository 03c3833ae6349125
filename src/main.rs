//! The `paddock` command line: a thin shell over the library (see `paddock --help`).

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunTrigger, Store};
use paddock::app::{self, JobRequest};
use paddock::config::{Config, Overrides, ProcessEnv};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for an invalid configuration or command line.
const EXIT_USAGE: u8 = 2;

/// Paddock keeps a horse-racing database in step with The Racing API (UK and Irish racecards,
/// results, horses, jockeys, trainers, owners, courses, odds), in SQLite (default) or
/// PostgreSQL.
#[derive(Parser, Debug)]
#[command(name = "paddock", version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: $PADDOCK_CONFIG, else config/paddock.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://… (default: $PADDOCK_DATABASE_URL,
    /// $DATABASE_URL, the config file, else sqlite://paddock.db).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply pending database migrations (safe to run repeatedly).
    Migrate {
        /// Create a new database with the legacy master table names (ra_horses, …), to start
        /// the rename from the old layout.
        #[arg(long)]
        legacy_names: bool,
    },
    /// The rename of the master tables to ra_mst_* (phases: legacy, dual-write, backfill,
    /// switch-readers, deprecate, dropped).
    Tables {
        #[command(subcommand)]
        command: paddock::tables::cli::TablesCommand,
    },
    /// Validate the configuration; print it with secrets masked and each job's next three fire
    /// times. Exits 2 if it is invalid.
    CheckConfig,
    /// Show the latest runs from the run ledger.
    Status {
        /// How many runs to show.
        #[arg(long, default_value_t = 10)]
        limit: i64,
    },
    /// Run one job once (recorded in the ledger as a manual run) and print a summary.
    /// Exits 1 if the run failed, 3 if records were rejected or resources missing.
    Run {
        #[arg(value_enum)]
        job: JobArg,
        /// master-entities: run the weekly pass (pedigree links, larger profile budget).
        #[arg(long)]
        weekly: bool,
        /// races-and-runners: fetch exactly this date.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        date: Option<NaiveDate>,
        /// races-and-runners: first date of an explicit range (with --to).
        #[arg(long, requires = "to")]
        from: Option<NaiveDate>,
        /// races-and-runners: last date of an explicit range (with --from).
        #[arg(long, requires = "from")]
        to: Option<NaiveDate>,
        /// Fetch and extract, then roll every write back.
        #[arg(long)]
        dry_run: bool,
    },
    /// Load saved API responses (a body as the API returns it, or {request, status, body})
    /// through the same extractor and store.
    Import {
        /// A file, or a directory whose *.json files are imported in name order.
        path: PathBuf,
        /// The endpoint the files came from (default: recognised from the envelope).
        #[arg(long, value_enum)]
        endpoint: Option<EndpointArg>,
    },
    /// Run the demo: the real pipeline against the bundled API simulator, into the configured
    /// database (default sqlite://paddock.db). Needs no credentials.
    Demo {
        /// Simulator seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Days of results before today and racecards after it to load.
        #[arg(long, default_value_t = 2)]
        days: u32,
    },
    /// Serve a faithful simulator of The Racing API (for tests, demos and development).
    SimulateApi {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: std::net::SocketAddr,
        /// Seed of the generated data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Fault injection, e.g. "latency_ms=50,rate_limit_every=10,retry_after_secs=2,
        /// server_error_rate=0.1,hang_every=20,truncate_every=7,malformed_values,extra_fields"
        /// (default: the config file's [simulator.faults] section, else none).
        #[arg(long)]
        faults: Option<String>,
        /// Accepted user name (default: $RACING_API_USERNAME).
        #[arg(long, env = "RACING_API_USERNAME", hide_env_values = true)]
        username: String,
        /// Accepted password (default: $RACING_API_PASSWORD).
        #[arg(long, env = "RACING_API_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Print the schema DDL generated from the table registry.
    SchemaSql {
        #[arg(value_enum)]
        backend: BackendArg,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum JobArg {
    MasterReference,
    MasterEntities,
    RacesAndRunners,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BackendArg {
    Postgres,
    Sqlite,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EndpointArg {
    Racecards,
    Results,
    Courses,
    Regions,
    Horse,
}

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PADDOCK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async_main(cli))
}

async fn async_main(cli: Cli) -> ExitCode {
    let overrides = Overrides {
        config_path: cli.config.clone(),
        database_url: cli.database_url.clone(),
    };
    let config = match Config::load(&overrides, &ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: invalid configuration: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run_command(cli.command, config).await {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_command(command: Command, config: Config) -> anyhow::Result<i32> {
    match command {
        Command::CheckConfig => {
            print!("{}", config.describe(Utc::now()));
            Ok(0)
        }
        Command::SchemaSql { backend } => {
            let dialect = match backend {
                BackendArg::Postgres => fetchers::schema::Dialect::Postgres,
                BackendArg::Sqlite => fetchers::schema::Dialect::Sqlite,
            };
            print!("{}", fetchers::schema::full_schema(dialect));
            Ok(0)
        }
        Command::Migrate { legacy_names } => {
            if legacy_names {
                let store = paddock::store::connect(config.database_url.expose()).await?;
                paddock::tables::migrate_legacy_names(&store, Utc::now()).await?;
            }
            paddock::open_store(&config).await?;
            println!("migrations applied to {}", config.database_url);
            Ok(0)
        }
        Command::Status { limit } => {
            let store = paddock::open_store(&config).await?;
            let runs = store.recent_runs(limit).await?;
            println!(
                "{:>6}  {:<22} {:<9} {:<10} {:<20} {:>8} {:>8}  error",
                "run", "job", "trigger", "status", "started", "requests", "rejected"
            );
            for r in runs {
                println!(
                    "{:>6}  {:<22} {:<9} {:<10} {:<20} {:>8} {:>8}  {}",
                    r.run_id,
                    r.job,
                    r.trigger,
                    r.status,
                    r.started_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    r.api_requests,
                    r.rows_rejected,
                    r.error_text.unwrap_or_default()
                );
            }
            Ok(0)
        }
        Command::Run {
            job,
            weekly,
            date,
            from,
            to,
            dry_run,
        } => {
            let today = paddock::today(&config);
            let request = match job {
                JobArg::MasterReference => JobRequest::MasterReference,
                JobArg::MasterEntities => JobRequest::MasterEntities { weekly },
                JobArg::RacesAndRunners => match (date, from, to) {
                    (Some(d), _, _) => {
                        JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(d, d, today))
                    }
                    (None, Some(f), Some(t)) => {
                        anyhow::ensure!(f <= t, "--from {f} is after --to {t}");
                        JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(f, t, today))
                    }
                    _ => JobRequest::scheduled(
                        paddock::config::JobKind::RacesAndRunners,
                        &config,
                        today,
                    ),
                },
            };
            let store = paddock::open_store(&config).await?;
            paddock::tables::check_pinned_phase(&store, config.expected_rename_phase).await?;
            let api = paddock::api_client(&config)?;
            let mode = if dry_run {
                ApplyMode::DryRun
            } else {
                ApplyMode::Commit
            };
            let result =
                app::run_job(&config, &api, &store, &request, RunTrigger::Manual, mode).await?;
            print!("{}", app::render_summary(&result, dry_run));
            Ok(result.exit_code())
        }
        Command::Import { path, endpoint } => {
            let store = paddock::open_store(&config).await?;
            let endpoint = endpoint.map(|e| match e {
                EndpointArg::Racecards => fetchers::api::Endpoint::RacecardsPro,
                EndpointArg::Results => fetchers::api::Endpoint::Results,
                EndpointArg::Courses => fetchers::api::Endpoint::Courses,
                EndpointArg::Regions => fetchers::api::Endpoint::Regions,
                EndpointArg::Horse => fetchers::api::Endpoint::HorsePro,
            });
            let result = paddock::import::import_path(&store, &path, endpoint)
                .await
                .with_context(|| format!("importing {}", path.display()))?;
            print!("{}", app::render_summary(&result, false));
            Ok(result.exit_code())
        }
        Command::Tables { command } => {
            let store = paddock::open_store(&config).await?;
            paddock::tables::cli::run(&store, command).await
        }
        Command::Demo { seed, days } => paddock::demo::run_demo(&config, seed, days).await,
        Command::SimulateApi {
            listen,
            seed,
            faults,
            username,
            password,
        } => {
            let mut sim = paddock::simulator::SimConfig::new(seed, &username, &password);
            sim.faults = match faults {
                Some(spec) => paddock::simulator::Faults::parse_flags(&spec)?,
                None => config.simulator_faults.clone(),
            };
            let server = paddock::simulator::SimServer::start_on(sim, listen).await?;
            println!(
                "simulating The Racing API at {} (Ctrl-C to stop)",
                server.base_url
            );
            tokio::signal::ctrl_c().await?;
            server.shutdown().await;
            Ok(0)
        }
    }
}

//! The `paddock` command line: a thin shell over the library (see `paddock --help`).

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunTrigger, Store};
use paddock::config::{Config, Overrides, ProcessEnv};
use paddock::run::{self, JobRequest, RunContext};
use std::path::PathBuf;
use std::process::ExitCode;

mod cli_values;
use cli_values::{BackendArg, EndpointArg, FormatArg, JobArg, QueryArg};

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
    /// Log format: human on a terminal, JSON under systemd ($JOURNAL_STREAM) when `auto`.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    log_format: paddock::logging::LogFormat,
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
    /// Take over a database Paddock did not create (the predecessor's): print the plan per
    /// table, then apply it in one transaction. Exits 1 listing what blocks (nothing changed).
    Adopt(paddock::adopt::AdoptArgs),
    /// The alerts the [[alerts.rules]] triggered, oldest first (read-only).
    Alerts(paddock::alerts::cli::AlertsArgs),
    /// The rename of the master tables to ra_mst_* (phases: legacy, dual-write, backfill,
    /// switch-readers, deprecate, dropped).
    Tables {
        #[command(subcommand)]
        command: paddock::rename::cli::TablesCommand,
    },
    /// Validate the configuration; print it with secrets masked and each job's next three fire
    /// times. Exits 2 if it is invalid.
    CheckConfig,
    /// Run every enabled job on its schedules until SIGTERM/SIGINT; SIGHUP reloads the
    /// configuration. Exits 0 after a clean shutdown.
    Daemon,
    /// Show each job's last run, row counts, last success and next fire time, then the latest
    /// runs from the run ledger.
    Status {
        /// How many runs to show.
        #[arg(long, default_value_t = 10)]
        limit: i64,
    },
    /// Run one job once (recorded in the ledger as a manual run) and print a summary.
    /// Exits 1 if the run failed, 3 if records were rejected, resources missing or (audit)
    /// violations found.
    Run(RunArgs),
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
        /// Days to backfill, up to today (results, racecards and missing profiles).
        #[arg(long, default_value_t = 14)]
        days: u32,
    },
    /// Serve a faithful simulator of The Racing API (for tests, demos and development).
    SimulateApi(SimulateApiArgs),
    /// Audit the database (read-only): orphans and duplicates, schema drift and wrong foreign-key
    /// targets, coverage per column and month, freshness, the write trail. With --strict, exits
    /// 1 when anything is violated.
    Audit(AuditArgs),
    /// Load history in the fewest requests: results over multi-day ranges, racecards one
    /// request per served day, profiles for horses lacking them. Resumable: run the same
    /// command again after an interruption. Exits 1 if it failed, 3 if records were rejected.
    Backfill(BackfillArgs),
    /// SQLite: a consistent copy of the database at [publish] path for readers, recorded as a
    /// run. Exits 2 without a path or on PostgreSQL (use [database] read_url there).
    Publish,
    /// Rebuild the tables from the raw response archive, without one API request.
    Replay {
        /// First fetch date of the responses to replay.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Last fetch date of the responses to replay.
        #[arg(long)]
        to: Option<NaiveDate>,
    },
    /// The raw response archive.
    Archive {
        #[command(subcommand)]
        command: ArchiveCommand,
    },
    /// Recompute the derived tables (runner statistics, combinations, performance by distance
    /// and venue) from the stored runners, recorded in the ledger as its own run. No API request.
    Derive {
        /// Rebuild every row from scratch (results runs update the touched rows themselves).
        #[arg(long, required = true)]
        full: bool,
    },
    /// Show an entity's figures with its best courses and distances, or a race's card with each
    /// runner's form and latest odds, from the derived tables.
    Query {
        #[arg(value_enum)]
        what: QueryArg,
        /// The entity's or race's id (e.g. jky_…, trn_…, hrs_…, rac_…).
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Table)]
        format: FormatArg,
    },
    /// PostgreSQL: let ROLE read Paddock's data tables (USAGE on the schema, SELECT and a read
    /// policy per table, default privileges for future tables); every table keeps row-level
    /// security. Safe to run again.
    Grants(GrantsArgs),
    /// Print the schema DDL generated from the table registry.
    SchemaSql {
        #[arg(value_enum)]
        backend: BackendArg,
    },
}

/// `paddock grants`'s arguments.
#[derive(Args, Debug)]
struct GrantsArgs {
    /// The role to let read (created beforehand, e.g. CREATE ROLE analyst LOGIN PASSWORD …).
    #[arg(long, value_name = "ROLE")]
    reader: String,
    /// Print the SQL instead of running it.
    #[arg(long)]
    dry_run: bool,
    /// Take the access back.
    #[arg(long)]
    revoke: bool,
    /// Also the paddock_* bookkeeping tables and the migrations ledger.
    #[arg(long)]
    include_internal: bool,
}

// `paddock run`'s arguments (its help text is the `Command::Run` variant's).
#[derive(Args, Debug)]
struct RunArgs {
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
    /// Fetch and extract, then roll every write back (retention: count what it would delete).
    #[arg(long)]
    dry_run: bool,
    /// master-entities: fetch these horses' profiles again, even if already fetched or
    /// recorded missing (counts toward the profile budget).
    #[arg(long = "horse", value_name = "ID", num_args = 1..)]
    horses: Vec<String>,
    /// master-entities: fetch again the profiles stored more than DAYS ago, oldest first,
    /// within the profile budget.
    #[arg(long, value_name = "DAYS")]
    refresh_older_than: Option<u32>,
}

// `paddock audit`'s arguments.
#[derive(Args, Debug)]
struct AuditArgs {
    /// Output: readable tables, or JSON (shape documented in README.md).
    #[arg(long, value_enum, default_value = "table")]
    format: FormatArg,
    /// Exit 1 on any violation (for cron and monitoring).
    #[arg(long)]
    strict: bool,
    /// Comma-separated checks to run: orphans,drift,coverage,freshness,trail (default: all).
    #[arg(long, value_name = "CHECKS", default_value = "")]
    only: String,
    /// Instead, trace one row to the run that last wrote it: TABLE=KEY[/KEY…], key values in
    /// key order (e.g. ra_runners=rac_1/hrs_2).
    #[arg(long, value_name = "TABLE=KEY")]
    trace: Option<String>,
}

// `paddock backfill`'s arguments.
#[derive(Args, Debug)]
struct BackfillArgs {
    /// First date.
    #[arg(long)]
    from: NaiveDate,
    /// Last date.
    #[arg(long)]
    to: NaiveDate,
    /// Parts to fetch: results,racecards,profiles (default: all); odds only when named.
    #[arg(long, default_value = "results,racecards,profiles")]
    only: String,
    /// Print the requests per endpoint and the time they take, and exit without fetching.
    #[arg(long)]
    dry_run: bool,
    /// The most horse profile requests (default: the daily MasterEntities budget).
    #[arg(long)]
    profile_budget: Option<u32>,
}

// `paddock simulate-api`'s arguments.
#[derive(Args, Debug)]
struct SimulateApiArgs {
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
}

#[derive(Subcommand, Debug)]
enum ArchiveCommand {
    /// Size and span of the archive.
    Stats,
}

fn main() -> ExitCode {
    // Before any thread starts, and before `.env` (glibc reads its own variables at start).
    let malloc = paddock::allocator::configure();
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    paddock::logging::init(cli.log_format);
    tracing::debug!(?malloc, "malloc settings");
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
        application_name: Some(cli.command.application_name()),
    };
    let config = match Config::load(&overrides, &ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: invalid configuration: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Command::Daemon = cli.command {
        return run_daemon(overrides, config).await;
    }
    match run_command(cli.command, config).await {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

impl Command {
    /// The PostgreSQL `application_name` of this command's sessions: `paddock:<command>`,
    /// `paddock:<job>` for `paddock run`, so operators can tell Paddock's sessions apart.
    fn application_name(&self) -> String {
        let name = match self {
            Command::Run(args) => args
                .job
                .to_possible_value()
                .map_or("run".to_string(), |v| v.get_name().to_string()),
            // The variant's name in kebab case, as clap spells the subcommand.
            other => format!("{other:?}")
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or_default()
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let dash = (i > 0 && c.is_uppercase()).then_some('-');
                    dash.into_iter().chain(c.to_lowercase())
                })
                .collect(),
        };
        format!("paddock:{name}")
    }
}

/// Runs one command (all but the daemon) and returns its exit status.
async fn run_command(command: Command, config: Config) -> anyhow::Result<i32> {
    match command {
        Command::CheckConfig => check_config(&config),
        Command::SchemaSql { backend } => schema_sql(backend),
        Command::Grants(args) => grants(&config, args).await,
        Command::Migrate { legacy_names } => migrate(&config, legacy_names).await,
        Command::Daemon => unreachable!("handled in async_main"),
        Command::Status { limit } => status(&config, limit).await,
        Command::Run(args) => run_one_job(&config, args).await,
        Command::Import { path, endpoint } => import(&config, &path, endpoint).await,
        Command::Audit(args) => audit(&config, args).await,
        Command::Backfill(args) => backfill(&config, args).await,
        Command::Replay { from, to } => replay(&config, from, to).await,
        Command::Archive {
            command: ArchiveCommand::Stats,
        } => archive_stats(&config).await,
        Command::Derive { full } => derive(&config, full).await,
        Command::Publish => publish(&config, false).await,
        Command::Query { what, id, format } => {
            let store = paddock::open_store_read_only(&config).await?;
            query(&store, &config, what, &id, format).await
        }
        Command::Adopt(args) => paddock::adopt::run(&config, args).await,
        Command::Alerts(args) => paddock::alerts::cli::run(&config, args).await,
        Command::Tables { command } => {
            let store = match command {
                paddock::rename::cli::TablesCommand::Status => {
                    paddock::open_store_read_only(&config).await?
                }
                _ => paddock::open_store(&config).await?,
            };
            paddock::rename::cli::run(&store, command).await
        }
        Command::Demo { seed, days } => paddock::demo::run_demo(&config, seed, days).await,
        Command::SimulateApi(args) => simulate_api(&config, args).await,
    }
}

/// `paddock check-config`: the configuration with secrets masked and the next fire times.
fn check_config(config: &Config) -> anyhow::Result<i32> {
    print!("{}", config.describe(Utc::now()));
    Ok(0)
}

/// `paddock schema-sql`: the DDL generated from the registry.
fn schema_sql(backend: BackendArg) -> anyhow::Result<i32> {
    let dialect = match backend {
        BackendArg::Postgres => fetchers::schema::Dialect::Postgres,
        BackendArg::Sqlite => fetchers::schema::Dialect::Sqlite,
    };
    print!("{}", fetchers::schema::full_schema(dialect));
    Ok(0)
}

/// `paddock migrate [--legacy-names]`.
async fn migrate(config: &Config, legacy_names: bool) -> anyhow::Result<i32> {
    if legacy_names {
        let store = paddock::connect_store(config).await?;
        paddock::rename::migrate_legacy_names(&store, Utc::now()).await?;
    }
    paddock::open_store(config).await?;
    println!("migrations applied to {}", config.database_url);
    Ok(0)
}

/// `paddock grants --reader ROLE [--dry-run] [--revoke] [--include-internal]`.
async fn grants(config: &Config, args: GrantsArgs) -> anyhow::Result<i32> {
    use paddock::grants::{GrantRequest, ReaderRole};
    let request = GrantRequest {
        reader: ReaderRole::parse(&args.reader)?,
        revoke: args.revoke,
        include_internal: args.include_internal,
    };
    let store = paddock::open_store(config).await?;
    let statements = paddock::grants::grants(&store, &request, args.dry_run).await?;
    if args.dry_run {
        statements.iter().for_each(|s| println!("{s};"));
    } else {
        let done = if args.revoke {
            "revoked from"
        } else {
            "granted to"
        };
        println!(
            "read access {done} {} ({} statements)",
            args.reader,
            statements.len()
        );
    }
    Ok(0)
}

/// `paddock status`: each job's state, then the latest runs.
async fn status(config: &Config, limit: i64) -> anyhow::Result<i32> {
    let store = paddock::open_store_read_only(config).await?;
    print!(
        "{}",
        paddock::daemon::status::render_job_status(config, &store, Utc::now()).await?
    );
    for (table, why) in paddock::derive::skipped(&store).await? {
        println!("skipped: Paddock's derived {table}: {why}");
    }
    println!();
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

/// `paddock publish` (`run publish`): the analytics copy as a manual run; exit 2 if none to make.
async fn publish(config: &Config, dry_run: bool) -> anyhow::Result<i32> {
    if let Err(refusal) = paddock::publish::target(config) {
        eprintln!("error: {refusal}");
        return Ok(i32::from(EXIT_USAGE));
    }
    anyhow::ensure!(!dry_run, "publish has no dry run");
    let store = paddock::open_store(config).await?;
    let result = run::run_publish(&store, config, RunTrigger::Manual).await?;
    print!("{}", run::render_summary(&result, false));
    if let Some(publication) = &result.detail.publication {
        print!("\n{}", paddock::publish::render(publication));
    }
    Ok(result.exit_code())
}

/// `paddock run JOB`: one run, recorded as manual, and its summary.
async fn run_one_job(config: &Config, args: RunArgs) -> anyhow::Result<i32> {
    if let JobArg::Publish = args.job {
        return publish(config, args.dry_run).await;
    }
    let dry_run = args.dry_run;
    let request = job_request(config, args)?;
    if request.uses_api() {
        config.api.require_credentials()?;
    }
    let store = paddock::open_store(config).await?;
    paddock::rename::check_pinned_phase(&store, config.expected_rename_phase).await?;
    let api = paddock::api_client(config)?;
    let mode = if dry_run {
        ApplyMode::DryRun
    } else {
        ApplyMode::Commit
    };
    let context = RunContext::new(RunTrigger::Manual, mode);
    let result = run::run_any(config, &api, &store, &request, &context).await?;
    print!("{}", run::render_summary(&result, dry_run));
    Ok(result.exit_code())
}

/// What `paddock run`'s arguments ask for.
fn job_request(config: &Config, args: RunArgs) -> anyhow::Result<JobRequest> {
    let today = paddock::today(config);
    let RunArgs {
        job,
        weekly,
        date,
        from,
        to,
        horses,
        refresh_older_than,
        ..
    } = args;
    Ok(match job {
        JobArg::MasterReference => JobRequest::MasterReference,
        JobArg::MasterEntities if !horses.is_empty() || refresh_older_than.is_some() => {
            JobRequest::RefreshProfiles(fetchers::jobs::ProfileRefresh {
                horses,
                older_than_days: refresh_older_than,
            })
        }
        JobArg::MasterEntities => JobRequest::MasterEntities { weekly },
        JobArg::RacesAndRunners => match (date, from, to) {
            (Some(d), _, _) => JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(d, d, today)),
            (None, Some(f), Some(t)) => {
                anyhow::ensure!(f <= t, "--from {f} is after --to {t}");
                JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(f, t, today))
            }
            _ => JobRequest::scheduled(paddock::config::JobKind::RacesAndRunners, config, today),
        },
        JobArg::DeriveFull => JobRequest::DeriveFull,
        JobArg::Audit => JobRequest::Audit,
        JobArg::Publish => JobRequest::Publish,
        JobArg::Retention => JobRequest::Retention,
    })
}

/// `paddock import PATH [--endpoint E]`.
async fn import(
    config: &Config,
    path: &std::path::Path,
    endpoint: Option<EndpointArg>,
) -> anyhow::Result<i32> {
    let store = paddock::open_store(config).await?;
    let endpoint = endpoint.map(|e| match e {
        EndpointArg::Racecards => fetchers::api::Endpoint::RacecardsPro,
        EndpointArg::Results => fetchers::api::Endpoint::Results,
        EndpointArg::Courses => fetchers::api::Endpoint::Courses,
        EndpointArg::Regions => fetchers::api::Endpoint::Regions,
        EndpointArg::Horse => fetchers::api::Endpoint::HorsePro,
    });
    let result = paddock::import::import_path(&store, path, endpoint, &config.distance_bands)
        .await
        .with_context(|| format!("importing {}", path.display()))?;
    print!("{}", run::render_summary(&result, false));
    Ok(result.exit_code())
}

/// `paddock audit`: the report, or with `--trace` one row's trail.
async fn audit(config: &Config, args: AuditArgs) -> anyhow::Result<i32> {
    let AuditArgs {
        format,
        strict,
        only,
        trace,
    } = args;
    // Read-only: connect without migrating, so unapplied migrations show as drift.
    let store = paddock::connect_reader(config).await?;
    if let Some(spec) = trace {
        return trace_row(config, &store, &spec, format).await;
    }
    let mut options = paddock::audit::AuditOptions::from_config(config, Utc::now());
    options.checks = paddock::audit::Check::parse_list(&only)?;
    let report = paddock::audit::run_audit(&store, &options).await?;
    match format {
        FormatArg::Json => println!("{}", paddock::audit::render::json(&report)),
        FormatArg::Table => print!("{}", paddock::audit::render::table(&report)),
    }
    Ok(if strict && report.total_violations > 0 {
        1
    } else {
        0
    })
}

/// `paddock audit --trace TABLE=KEY[/KEY…]`: the run that last wrote one row.
async fn trace_row(
    config: &Config,
    store: &paddock::store::AnyStore,
    spec: &str,
    format: FormatArg,
) -> anyhow::Result<i32> {
    let (table, key) = spec
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--trace wants TABLE=KEY[/KEY…], got {spec:?}"))?;
    let key: Vec<String> = key.split('/').map(str::to_string).collect();
    let traced = paddock::audit::trace_row(store, &config.audit.schema, table, &key).await?;
    let Some(traced) = traced else {
        anyhow::bail!("no row of {table} has the key {}", key.join("/"));
    };
    match format {
        FormatArg::Json => println!("{}", serde_json::to_string_pretty(&traced)?),
        FormatArg::Table => println!("{}", paddock::audit::render::trace(&traced)),
    }
    Ok(0)
}

/// `paddock backfill`: the plan with `--dry-run`, else the run and its summary.
async fn backfill(config: &Config, args: BackfillArgs) -> anyhow::Result<i32> {
    let BackfillArgs {
        from,
        to,
        only,
        dry_run,
        profile_budget,
    } = args;
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let parts = paddock::backfill::plan::Part::parse_list(&only)?;
    let options =
        paddock::backfill::BackfillOptions::configured(config, from, to, parts, profile_budget);
    if dry_run {
        print!("{}", paddock::backfill::dry_run(config, &options).await?);
        return Ok(0);
    }
    let store = paddock::open_store(config).await?;
    let (result, archived) = paddock::backfill::backfill_with_config(
        config,
        &store,
        &options,
        paddock::backfill::progress::Reporter::auto(std::time::Duration::from_secs(10)),
    )
    .await?;
    print!("{}", paddock::backfill::render_summary(&result));
    if archived > 0 {
        println!("\n{archived} responses archived");
    }
    Ok(result.exit_code())
}

/// `paddock replay [--from D] [--to D]`.
async fn replay(
    config: &Config,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> anyhow::Result<i32> {
    let store = paddock::open_store(config).await?;
    let target = paddock::archive::ArchiveTarget::from_settings(&config.archive, &store);
    let start = |d: NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
    let result = paddock::replay::replay(
        &store,
        &config.distance_bands,
        target,
        from.map(start),
        to.map(|d| start(d + chrono::Duration::days(1))),
    )
    .await?;
    print!("{}", paddock::replay::render_summary(&result));
    Ok(result.exit_code())
}

/// `paddock archive stats`.
async fn archive_stats(config: &Config) -> anyhow::Result<i32> {
    let store = paddock::open_store(config).await?;
    let target = paddock::archive::ArchiveTarget::from_settings(&config.archive, &store);
    let figures = paddock::archive::figures(&target).await?;
    print!("{}", paddock::archive::render_figures(&figures));
    Ok(0)
}

/// `paddock derive --full`: the full rebuild as its own run.
async fn derive(config: &Config, full: bool) -> anyhow::Result<i32> {
    anyhow::ensure!(full, "only --full is supported");
    let store = paddock::open_store(config).await?;
    let result = run::run_full_rebuild(&store, &config.distance_bands, RunTrigger::Manual).await?;
    print!("{}", run::render_summary(&result, false));
    Ok(result.exit_code())
}

/// `paddock simulate-api`: serves the simulator until Ctrl-C.
async fn simulate_api(config: &Config, args: SimulateApiArgs) -> anyhow::Result<i32> {
    let SimulateApiArgs {
        listen,
        seed,
        faults,
        username,
        password,
    } = args;
    let mut sim = paddock::simulator::SimConfig::new(seed, &username, &password);
    sim.faults = paddock::simulate_api::faults(faults.as_deref(), &config.simulator_faults)?;
    let server = paddock::simulator::SimServer::start_on(sim, listen).await?;
    println!(
        "simulating The Racing API at {} (Ctrl-C to stop)",
        server.base_url
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(0)
}

/// `paddock daemon`: runs until a signal stops it; exits 0 after a clean shutdown.
async fn run_daemon(overrides: Overrides, config: Config) -> ExitCode {
    let controls = match paddock::daemon::signal_controls() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The first load was checked by the caller; reloads read the same file again.
    let first = std::sync::Mutex::new(Some(config));
    let load: paddock::daemon::ConfigLoader = std::sync::Arc::new(move || {
        if let Some(c) = first.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Ok(c);
        }
        Config::load(&overrides, &ProcessEnv)
    });
    let clock = std::sync::Arc::new(paddock::daemon::clock::SystemClock);
    match paddock::daemon::run(load, clock, controls).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the daemon could not start");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `paddock query`: prints the report, or says there is none (exit 1).
async fn query(
    store: &paddock::store::AnyStore,
    config: &Config,
    what: QueryArg,
    id: &str,
    format: FormatArg,
) -> anyhow::Result<i32> {
    use paddock::derive::query::{entity_report, race_report};
    let kind = match what {
        QueryArg::Jockey => Some("jockey"),
        QueryArg::Trainer => Some("trainer"),
        QueryArg::Horse => Some("horse"),
        QueryArg::Race => None,
    }
    .and_then(fetchers::derived::entity_kind);
    let (json, table) = match kind {
        Some(kind) => match entity_report(store, kind, id, &config.distance_bands).await? {
            Some(r) => (serde_json::to_string_pretty(&r)?, r.render()),
            None => {
                eprintln!("no runs recorded for {} {id}", kind.name);
                return Ok(1);
            }
        },
        None => match race_report(store, id).await? {
            Some(r) => (serde_json::to_string_pretty(&r)?, r.render()),
            None => {
                eprintln!("no race {id}");
                return Ok(1);
            }
        },
    };
    match format {
        FormatArg::Json => println!("{json}"),
        FormatArg::Table => print!("{table}"),
    }
    Ok(0)
}

//! `paddock adopt [--dry-run] [--format table|json]`: taking over a database Paddock did not
//! create, such as the production database of the system it replaces (issue 19). The plan
//! (`plan.rs`) reads the live catalog through the store's tool door and sets every table
//! against the registry; `render.rs` prints it; `types.rs` judges each type difference;
//! `baseline.rs` holds what makes the database one `paddock migrate` knows; `apply.rs` carries
//! the plan out in one transaction. Nothing legacy is ever dropped, renamed or rewritten.

pub mod apply;
pub mod baseline;
pub mod plan;
pub mod render;
pub mod types;

pub use plan::Plan;

use crate::config::{AdoptSettings, Config};
use crate::store::{with_backend, AnyStore};
use anyhow::Result;

/// `paddock adopt`'s arguments.
#[derive(clap::Args, Debug)]
pub struct AdoptArgs {
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output: readable text, or the plan as JSON.
    #[arg(long, value_enum, default_value = "table")]
    pub format: AdoptFormat,
    /// Rename another system's table that holds the name of a Paddock table (such as the
    /// predecessor's ra_entity_combinations) aside, under a free name (never dropped), and
    /// create Paddock's; works on a database adopted already too.
    #[arg(long)]
    pub move_aside: bool,
}

/// How the plan is printed.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdoptFormat {
    Table,
    Json,
}

/// Exit status when something blocks the adoption (nothing changed).
pub const EXIT_BLOCKED: i32 = 1;

/// The adoption plan of the database behind `store` (`move_aside`: see [`AdoptArgs`]).
pub async fn plan(store: &AnyStore, move_aside: bool, adopt: &AdoptSettings) -> Result<Plan> {
    with_backend!(store, |s| plan::plan(s, move_aside, adopt).await)
}

/// Exit status when the maps name a table or column the database lacks (nothing changed).
pub const EXIT_CONFIG: i32 = 2;

/// Carries `plan` out in one transaction (see `apply.rs`).
pub async fn apply(store: &AnyStore, plan: &Plan) -> Result<()> {
    with_backend!(store, |s| apply::apply(s, plan).await)
}

/// Runs `paddock adopt`: prints the plan; exits 1 when something blocks, else applies it
/// unless `--dry-run`. The store is opened without its migrations (they would fail on the
/// predecessor's tables), read-only for a dry run.
pub async fn run(config: &Config, args: AdoptArgs) -> Result<i32> {
    let mut options = crate::store_options(config);
    if args.dry_run {
        options = options.read_only();
    }
    let store = crate::store::connect_with(config.database_url.expose(), &options).await?;
    let plan = plan(&store, args.move_aside, &config.adopt).await?;
    let config_errors = plan.config_errors();
    if !config_errors.is_empty() {
        for error in &config_errors {
            eprintln!("configuration error: {error}");
        }
        return Ok(EXIT_CONFIG);
    }
    if plan.already_paddock {
        println!(
            "the database is Paddock's already (its migrations are recorded): nothing to adopt"
        );
        return adopted_already(&store, &plan, &args).await;
    }
    match args.format {
        AdoptFormat::Table => print!("{}", render::text(&plan)),
        AdoptFormat::Json => println!("{}", render::json(&plan)),
    }
    if !plan.blocking().is_empty() {
        return Ok(EXIT_BLOCKED);
    }
    if args.dry_run {
        return Ok(0);
    }
    apply(&store, &plan).await?;
    if args.format == AdoptFormat::Table {
        print!("{}", render::moved_aside(&plan));
        println!(
            "adopted: phase legacy; `paddock migrate` and `paddock tables …` work from now on"
        );
    }
    Ok(0)
}

/// `paddock adopt` on a database adopted (or created) already: says which derived tables are
/// skipped; with `--move-aside` renames the tables holding their names aside and creates
/// Paddock's, in one transaction (nothing else of the plan is applied).
async fn adopted_already(store: &AnyStore, plan: &Plan, args: &AdoptArgs) -> Result<i32> {
    let stored = with_backend!(store, |s| crate::rename::state::stored_maps(s).await)?;
    if stored != plan.maps {
        return changed_maps(store, plan, args).await;
    }
    if !args.move_aside {
        for (table, why) in crate::derive::skipped(store).await? {
            println!("skipped: Paddock's derived {table}: {why}");
        }
        return Ok(0);
    }
    if args.dry_run {
        print!("{}", render::moved_aside(plan));
        return Ok(0);
    }
    with_backend!(store, |s| apply::move_aside_only(s, plan).await)?;
    print!("{}", render::moved_aside(plan));
    Ok(0)
}

/// `paddock adopt` on an adopted database whose configured maps differ from the persisted
/// ones: the maps are judged again against the live tables (an inexact one refused, exit 1;
/// refused too once `tables begin` has carried the mapped columns) and, unless `--dry-run`,
/// persisted in their place; every command opened afterwards uses them.
async fn changed_maps(store: &AnyStore, plan: &Plan, args: &AdoptArgs) -> Result<i32> {
    let refused: Vec<String> = (plan.blocking().into_iter())
        .filter(|b| b.contains(" mapped from ") || b.contains("[adopt.keys]"))
        .collect();
    for table in plan.tables.iter().filter(|t| !t.mapped.is_empty()) {
        for c in &table.mapped {
            println!(
                "{}: mapped column {} filled from {}",
                table.table, c.column, c.mirrors
            );
        }
    }
    let phase = crate::rename::current_phase(store).await?;
    let mut refused = refused;
    let stored = with_backend!(store, |s| crate::rename::state::stored_maps(s).await)?;
    if stored.keys != plan.maps.keys {
        refused.push(
            "[adopt.keys] is fixed at adoption (the rows written since are keyed by it)".into(),
        );
    }
    if phase != crate::rename::Phase::Legacy {
        refused.push(format!(
            "the maps can change in rename phase legacy only (before `tables begin` carries the \
             mapped columns into ra_mst_*); the database is in phase {phase}"
        ));
    }
    if !refused.is_empty() {
        println!("BLOCKING (the maps are not changed):");
        for item in &refused {
            println!("  - {item}");
        }
        return Ok(EXIT_BLOCKED);
    }
    if args.dry_run {
        println!("the configured maps differ from the adopted ones: `paddock adopt` records them");
        return Ok(0);
    }
    let now = chrono::Utc::now();
    with_backend!(store, |s| s
        .run_statements(
            &[crate::rename::state::maps_statement(&plan.maps, now)],
            crate::store::tools::ForeignKeys::Enforced
        )
        .await)?;
    println!("the maps are recorded: every command opened from now on writes them");
    Ok(0)
}

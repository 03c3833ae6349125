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

use crate::config::Config;
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
}

/// How the plan is printed.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdoptFormat {
    Table,
    Json,
}

/// Exit status when something blocks the adoption (nothing changed).
pub const EXIT_BLOCKED: i32 = 1;

/// The adoption plan of the database behind `store`.
pub async fn plan(store: &AnyStore) -> Result<Plan> {
    with_backend!(store, |s| plan::plan(s).await)
}

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
    let plan = plan(&store).await?;
    if plan.already_paddock {
        println!(
            "the database is Paddock's already (its migrations are recorded): nothing to adopt"
        );
        return Ok(0);
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
        println!(
            "adopted: phase legacy; `paddock migrate` and `paddock tables …` work from now on"
        );
    }
    Ok(0)
}

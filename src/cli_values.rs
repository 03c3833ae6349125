//! The command line's value lists (`--job`, `--format`, `query`'s kinds, `schema-sql`'s
//! backend, `import`'s endpoint): clap `ValueEnum`s of the `paddock` binary only (declared by
//! `main.rs`, not part of the library), so `main.rs` stays a list of commands.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum JobArg {
    MasterReference,
    MasterEntities,
    RacesAndRunners,
    /// The full rebuild of the derived tables, as `paddock derive --full` (no API request).
    DeriveFull,
    /// The audit recorded as a run: partial when it finds violations (no API request).
    Audit,
    /// The SQLite analytics copy to [publish] path, as `paddock publish` (no API request).
    Publish,
    /// Deletes what [retention] says (no API request; --dry-run counts instead).
    Retention,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QueryArg {
    Jockey,
    Trainer,
    Horse,
    Race,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    Postgres,
    Sqlite,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EndpointArg {
    Racecards,
    Results,
    Courses,
    Regions,
    Horse,
}

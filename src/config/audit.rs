//! `[audit]`: the settings of `paddock audit` and the audit job (schema, lateness, sample and
//! trail sizes).

use super::database::is_plain_schema_name;
use super::defaults::{
    DEFAULT_RESULT_DELAY_MINUTES, DEFAULT_SAMPLE_SIZE, DEFAULT_SCHEMA, DEFAULT_TRAIL_RUNS,
};
use super::file::{FileAudit, Locator};
use anyhow::{bail, Result};

/// `paddock audit` settings (`[audit]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The PostgreSQL schema the audit reads (default: `[database] schema`).
    pub schema: String,
    /// A race is late when it started more than this many minutes ago without a result.
    pub result_delay_minutes: i64,
    /// Sample keys shown per finding.
    pub sample_size: u32,
    /// Latest runs shown in the write trail.
    pub trail_runs: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            schema: DEFAULT_SCHEMA.into(),
            result_delay_minutes: DEFAULT_RESULT_DELAY_MINUTES,
            sample_size: DEFAULT_SAMPLE_SIZE,
            trail_runs: DEFAULT_TRAIL_RUNS,
        }
    }
}

/// `[audit]` from the file; the schema must be a plain name (it is put into SQL text) and
/// defaults to `database_schema`, the one Paddock's tables are in.
pub fn audit_settings(
    file: &FileAudit,
    at: &Locator,
    database_schema: &str,
) -> Result<AuditSettings> {
    let defaults = AuditSettings::default();
    let schema = match &file.schema {
        Some(name) => {
            if !is_plain_schema_name(name.get_ref()) {
                bail!(
                    "{}: audit.schema {:?} is not a plain schema name (lower-case letters, digits, _)",
                    at.at(name.span()),
                    name.get_ref()
                );
            }
            name.get_ref().clone()
        }
        None => database_schema.to_string(),
    };
    Ok(AuditSettings {
        schema,
        result_delay_minutes: file
            .result_delay_minutes
            .unwrap_or(defaults.result_delay_minutes)
            .max(0),
        sample_size: file.sample_size.unwrap_or(defaults.sample_size),
        trail_runs: file.trail_runs.unwrap_or(defaults.trail_runs),
    })
}

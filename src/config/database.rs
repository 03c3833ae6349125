//! `[database]`: which database (flag > `PADDOCK_DATABASE_URL` > `DATABASE_URL` > file >
//! default), where the reporting commands read (`read_url`), how connections are made
//! (timeouts, the daemon's retry window, session settings, TLS: `tls.rs`) and the rename phase
//! it must be in.

use super::defaults::{
    DEFAULT_APPLICATION_NAME, DEFAULT_CONNECT_RETRY_SECS, DEFAULT_CONNECT_TIMEOUT_SECS,
    DEFAULT_DATABASE_URL, DEFAULT_LOCK_TIMEOUT_SECS, DEFAULT_SCHEMA,
    DEFAULT_STATEMENT_TIMEOUT_SECS,
};
use super::file::{FileDatabase, Locator};
use super::secrets::{DatabaseUrl, Env};
use super::tls::{tls_settings, TlsSettings};
use crate::rename::Phase;
use anyhow::{anyhow, Result};

/// How Paddock connects, besides the URL.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `[database] read_url` / `PADDOCK_READ_DATABASE_URL`: the reporting commands (`query`,
    /// `status`, `audit`, `tables status`) read there when set; writes never do.
    pub read_url: Option<DatabaseUrl>,
    /// One connection attempt's limit, the handshake included.
    pub connect_timeout_secs: u64,
    /// How long the daemon retries its first connection at start (interactive commands do not).
    pub connect_retry_secs: u64,
    /// PostgreSQL `statement_timeout` of every session (0: none).
    pub statement_timeout_secs: u64,
    /// PostgreSQL `lock_timeout` of every session (0: none).
    pub lock_timeout_secs: u64,
    /// PostgreSQL `application_name` of every session: `paddock`, or `paddock:<command>` as
    /// the command line sets it (see `Overrides::application_name`).
    pub application_name: String,
    /// `[database] schema` / `PADDOCK_DATABASE_SCHEMA`: the PostgreSQL schema that holds every
    /// table Paddock creates, its migrations ledger included (every session's `search_path`;
    /// created by `migrate` if missing). SQLite has one namespace per file and ignores it.
    pub schema: String,
    /// `sslmode`, `sslrootcert`, `sslcert`, `sslkey`: each, when set, overrides the URL's.
    pub tls: TlsSettings,
}

/// Whether `name` is a plain lower-case identifier PostgreSQL keeps as written (it goes into
/// SQL text and the `search_path`): a letter or `_`, then letters, digits or `_`, at most 63.
pub fn is_plain_schema_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_lowercase() || (i > 0 && c.is_ascii_digit()))
}

/// The database URL, from the first of: the `--database-url` flag, `PADDOCK_DATABASE_URL`,
/// `DATABASE_URL`, the file, the default SQLite file.
pub fn database_url(flag: Option<&str>, file: &FileDatabase, env: &dyn Env) -> DatabaseUrl {
    let url = flag
        .map(str::to_string)
        .or_else(|| env.var("PADDOCK_DATABASE_URL"))
        .or_else(|| env.var("DATABASE_URL"))
        .or_else(|| file.url.clone())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
    DatabaseUrl::new(url)
}

/// `[database]`'s connection settings, each overridden by its `PADDOCK_…` variable.
pub fn database_settings(
    file: &FileDatabase,
    env: &dyn Env,
    application_name: Option<&str>,
    at: &Locator,
) -> Result<DatabaseSettings> {
    let seconds = |name: &str, from_file: Option<u64>, default: u64| -> Result<u64> {
        match env.var(name) {
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map_err(|_| anyhow!("{name}: {v:?} is not a whole number of seconds")),
            None => Ok(from_file.unwrap_or(default)),
        }
    };
    Ok(DatabaseSettings {
        read_url: env
            .var("PADDOCK_READ_DATABASE_URL")
            .or_else(|| file.read_url.clone())
            .filter(|u| !u.trim().is_empty())
            .map(DatabaseUrl::new),
        connect_timeout_secs: seconds(
            "PADDOCK_DATABASE_CONNECT_TIMEOUT_SECS",
            file.connect_timeout_secs,
            DEFAULT_CONNECT_TIMEOUT_SECS,
        )?
        .max(1),
        connect_retry_secs: seconds(
            "PADDOCK_DATABASE_CONNECT_RETRY_SECS",
            file.connect_retry_secs,
            DEFAULT_CONNECT_RETRY_SECS,
        )?,
        statement_timeout_secs: seconds(
            "PADDOCK_DATABASE_STATEMENT_TIMEOUT_SECS",
            file.statement_timeout_secs,
            DEFAULT_STATEMENT_TIMEOUT_SECS,
        )?,
        lock_timeout_secs: seconds(
            "PADDOCK_DATABASE_LOCK_TIMEOUT_SECS",
            file.lock_timeout_secs,
            DEFAULT_LOCK_TIMEOUT_SECS,
        )?,
        application_name: application_name
            .unwrap_or(DEFAULT_APPLICATION_NAME)
            .to_string(),
        schema: schema(file, env, at)?,
        tls: tls_settings(file, env, at)?,
    })
}

/// `PADDOCK_DATABASE_SCHEMA`, else `[database] schema`, else `public`; a plain name.
fn schema(file: &FileDatabase, env: &dyn Env, at: &Locator) -> Result<String> {
    let refuse = |origin: String, name: &str| {
        anyhow!(
            "{origin}: database schema {name:?} is not a plain lower-case schema name \
             (a letter or _, then letters, digits or _; at most 63)"
        )
    };
    if let Some(name) = env.var("PADDOCK_DATABASE_SCHEMA") {
        let name = name.trim().to_string();
        return match is_plain_schema_name(&name) {
            true => Ok(name),
            false => Err(refuse("PADDOCK_DATABASE_SCHEMA".into(), &name)),
        };
    }
    match &file.schema {
        Some(name) if !is_plain_schema_name(name.get_ref()) => {
            Err(refuse(at.at(name.span()), name.get_ref()))
        }
        Some(name) => Ok(name.get_ref().clone()),
        None => Ok(DEFAULT_SCHEMA.to_string()),
    }
}

/// `[database] expected_rename_phase`, one of the rename phases' names.
pub fn expected_rename_phase(file: &FileDatabase, at: &Locator) -> Result<Option<Phase>> {
    let Some(name) = &file.expected_rename_phase else {
        return Ok(None);
    };
    let phase = Phase::parse(name.get_ref()).ok_or_else(|| {
        anyhow!(
            "{}: database.expected_rename_phase {:?} is not one of {}",
            at.at(name.span()),
            name.get_ref(),
            Phase::ALL.map(|p| p.name()).join(", ")
        )
    })?;
    Ok(Some(phase))
}

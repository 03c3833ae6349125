//! `[database]`: which database (flag > `PADDOCK_DATABASE_URL` > `DATABASE_URL` > file >
//! default) and the rename phase it must be in.

use super::defaults::DEFAULT_DATABASE_URL;
use super::file::{FileDatabase, Locator};
use super::secrets::{DatabaseUrl, Env};
use crate::rename::Phase;
use anyhow::{anyhow, Result};

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

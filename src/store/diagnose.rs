//! Turning a failed bulk statement into an error that names the table and the offending row.
//!
//! A bulk upsert fails as a whole and the engines do not say which row broke a constraint
//! (SQLite does not even name the foreign key), so after the unit has been rolled back the
//! offending rows are found again with set lookups: a referenced key is missing when neither
//! the unit itself nor the database holds it.

use crate::store::plan::{display_key, value_of, WriteGroup};
use async_trait::async_trait;
use fetchers::registry::ForeignKey;
use fetchers::store::StoreError;
use std::collections::{BTreeSet, HashSet};

/// Which of a set of key tuples exist in a table (text columns only).
#[async_trait]
pub trait TupleLookup: Sync {
    async fn existing_tuples(
        &self,
        table: &str,
        columns: &[&str],
        tuples: &[Vec<String>],
    ) -> Result<HashSet<Vec<String>>, StoreError>;
}

/// The kind of constraint a database error reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    ForeignKey,
    /// A NOT NULL column, named where the engine says which.
    NotNull(Option<String>),
    Unique,
    Check,
}

/// The violated constraint, if `error` is a constraint violation.
pub fn violation_of(error: &sqlx::Error) -> Option<Violation> {
    use sqlx::error::ErrorKind;
    let db = error.as_database_error()?;
    match db.kind() {
        ErrorKind::ForeignKeyViolation => Some(Violation::ForeignKey),
        ErrorKind::UniqueViolation => Some(Violation::Unique),
        ErrorKind::CheckViolation => Some(Violation::Check),
        ErrorKind::NotNullViolation => Some(Violation::NotNull(not_null_column(db))),
        _ => None,
    }
}

fn not_null_column(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return pg.column().map(str::to_string);
    }
    // SQLite: "NOT NULL constraint failed: table.column".
    db.message()
        .rsplit_once(": ")
        .and_then(|(_, qualified)| qualified.rsplit_once('.'))
        .map(|(_, column)| column.to_string())
}

/// A database error while writing `table`, without diagnosis: transient or permanent as
/// [`crate::store::transient::is_transient`] judges.
pub fn database_error(table: Option<&str>, error: &sqlx::Error) -> StoreError {
    let table = table.map(str::to_string);
    let message = error.to_string();
    if crate::store::transient::is_transient(error) {
        StoreError::Transient { table, message }
    } else {
        StoreError::Database { table, message }
    }
}

/// The error for a failed upsert of `groups[failed]` into `physical_name`, after rollback.
pub async fn diagnose_failed_group(
    lookup: &dyn TupleLookup,
    groups: &[WriteGroup],
    failed: usize,
    physical_name: &str,
    error: &sqlx::Error,
) -> StoreError {
    let Some(violation) = violation_of(error) else {
        return database_error(Some(physical_name), error);
    };
    let group = &groups[failed];
    let found = match &violation {
        Violation::ForeignKey => missing_reference(lookup, groups, group).await,
        Violation::NotNull(column) => {
            missing_required_value(lookup, groups, failed, column.as_deref()).await
        }
        Violation::Unique | Violation::Check => Ok(None),
    };
    let (key, detail) = match found {
        Ok(Some(found)) => found,
        Ok(None) => ("unknown".to_string(), format!("{violation:?} violation")),
        Err(lookup_error) => (
            "unknown".to_string(),
            format!("{violation:?} violation (diagnosis failed: {lookup_error})"),
        ),
    };
    StoreError::Constraint {
        table: physical_name.to_string(),
        key,
        message: format!("{detail} ({error})"),
    }
}

/// The first row of `group` whose foreign key points at a row neither the unit nor the
/// database holds, as `(row key, explanation)`.
async fn missing_reference(
    lookup: &dyn TupleLookup,
    groups: &[WriteGroup],
    group: &WriteGroup,
) -> Result<Option<(String, String)>, StoreError> {
    for fk in group.table.foreign_keys {
        let referenced: BTreeSet<Vec<String>> = group
            .rows
            .iter()
            .filter_map(|row| referenced_tuple(row, fk))
            .collect();
        if referenced.is_empty() {
            continue;
        }
        let in_unit = tuples_in_unit(groups, fk.ref_table, fk.ref_columns);
        let candidates: Vec<Vec<String>> = referenced
            .into_iter()
            .filter(|t| !in_unit.contains(t))
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let stored = lookup
            .existing_tuples(fk.ref_table, fk.ref_columns, &candidates)
            .await?;
        let missing: HashSet<&Vec<String>> =
            candidates.iter().filter(|t| !stored.contains(*t)).collect();
        if missing.is_empty() {
            continue;
        }
        let offending: Vec<&fetchers::rows::Row> = group
            .rows
            .iter()
            .filter(|row| referenced_tuple(row, fk).is_some_and(|t| missing.contains(&t)))
            .collect();
        let Some(first) = offending.first() else {
            continue;
        };
        let missing_key = referenced_tuple(first, fk).unwrap_or_default();
        let key = display_key(&first.key());
        let detail = format!(
            "{} {key} references {} {}, which does not exist ({} row(s) of this unit reference missing {} rows)",
            group.table.name,
            fk.ref_table,
            display_key(&missing_key),
            offending.len(),
            fk.ref_table
        );
        return Ok(Some((key, detail)));
    }
    Ok(None)
}

/// The first row of `groups[failed]` that leaves a NOT NULL column NULL while its key exists
/// neither in the unit's earlier groups nor in the database (a stored row would have
/// supplied the value).
async fn missing_required_value(
    lookup: &dyn TupleLookup,
    groups: &[WriteGroup],
    failed: usize,
    column: Option<&str>,
) -> Result<Option<(String, String)>, StoreError> {
    let group = &groups[failed];
    let required: Vec<&str> = group
        .columns
        .iter()
        .filter(|c| !c.column.nullable && column.is_none_or(|name| name == c.name()))
        .map(|c| c.name())
        .collect();
    let rows_with_null: Vec<&fetchers::rows::Row> = group
        .rows
        .iter()
        .filter(|row| required.iter().any(|c| value_of(row, c).is_null()))
        .collect();
    if rows_with_null.is_empty() {
        return Ok(None);
    }
    let in_unit = tuples_in_unit(&groups[..failed], group.table.name, group.table.key);
    let candidates: Vec<Vec<String>> = rows_with_null
        .iter()
        .map(|row| row.key())
        .filter(|k| !in_unit.contains(k))
        .collect();
    let stored = if candidates.is_empty() {
        HashSet::new()
    } else {
        lookup
            .existing_tuples(group.table.name, group.table.key, &candidates)
            .await?
    };
    let Some(first) = candidates.iter().find(|k| !stored.contains(*k)) else {
        return Ok(None);
    };
    let key = display_key(first);
    let detail = format!(
        "{} {key} is a new row without a value for NOT NULL column(s) {}",
        group.table.name,
        required.join(", ")
    );
    Ok(Some((key, detail)))
}

/// The values of `fk`'s columns in `row`, when all are set.
fn referenced_tuple(row: &fetchers::rows::Row, fk: &ForeignKey) -> Option<Vec<String>> {
    fk.columns
        .iter()
        .map(|c| {
            let v = value_of(row, c);
            (!v.is_null()).then(|| v.key_text())
        })
        .collect()
}

/// The `columns` tuples of every row the unit writes to `table`.
fn tuples_in_unit(groups: &[WriteGroup], table: &str, columns: &[&str]) -> HashSet<Vec<String>> {
    groups
        .iter()
        .filter(|g| g.table.name == table)
        .flat_map(|g| g.rows.iter())
        .filter_map(|row| {
            columns
                .iter()
                .map(|c| {
                    let v = value_of(row, c);
                    (!v.is_null()).then(|| v.key_text())
                })
                .collect()
        })
        .collect()
}

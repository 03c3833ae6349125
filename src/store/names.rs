//! Table and column names that reach SQL text are checked against the registry first, so a
//! caller-supplied name can never inject SQL.

use fetchers::registry::{self, Column, Table};
use fetchers::store::StoreError;

fn refused(message: String) -> StoreError {
    StoreError::Database {
        table: None,
        message,
    }
}

/// The registry table called `name`.
pub fn registered_table(name: &str) -> Result<&'static Table, StoreError> {
    registry::table(name).ok_or_else(|| refused(format!("unknown table {name:?}")))
}

/// A declared column of a registry table.
pub fn registered_column(
    table: &'static Table,
    column: &str,
) -> Result<&'static Column, StoreError> {
    table
        .columns
        .iter()
        .find(|c| c.name == column)
        .ok_or_else(|| refused(format!("{}: unknown column {column:?}", table.name)))
}

/// The declared columns `names` of the registry table `table`, in that order.
pub fn registered_columns(
    table: &str,
    names: &[&str],
) -> Result<(&'static Table, Vec<&'static Column>), StoreError> {
    let table = registered_table(table)?;
    let columns = names
        .iter()
        .map(|n| registered_column(table, n))
        .collect::<Result<Vec<_>, _>>()?;
    if columns.is_empty() {
        return Err(refused(format!("{}: no columns to look up", table.name)));
    }
    Ok((table, columns))
}

/// A pedigree master (`ra_mst_sires`, `ra_mst_dams`, `ra_mst_damsires`): a master with a
/// `horse_id` link column.
pub fn pedigree_master(name: &str) -> Result<&'static Table, StoreError> {
    let table = registered_table(name)?;
    let is_pedigree = table.kind == registry::TableKind::Master
        && table.column("horse_id").is_some()
        && table.key == ["id"];
    if !is_pedigree {
        return Err(refused(format!("{name} is not a pedigree master table")));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_outside_the_registry_are_refused() {
        assert!(registered_table("ra_runners; DROP TABLE ra_runners").is_err());
        let horses = registered_table("ra_mst_horses").unwrap();
        assert!(registered_column(horses, "id").is_ok());
        assert!(registered_column(horses, "id) OR (1=1").is_err());
        assert!(registered_columns("ra_mst_horses", &[]).is_err());
        assert!(pedigree_master("ra_mst_sires").is_ok());
        assert!(pedigree_master("ra_mst_horses").is_err());
    }
}

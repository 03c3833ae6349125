//! Read queries, written once for both backends: table names come from [`PhysicalNames`],
//! placeholders from the caller's dialect.

use crate::store::names::registered_table;
use crate::store::physical::PhysicalNames;
use crate::store::upsert_sql::quote_ident;
use fetchers::registry::{names, Table};
use fetchers::store::StoreError;

/// Horses without profile data (no `/horses/{id}/pro` fetched and no racecard seen: racecards
/// already carry dob, sex, colour, breeder and pedigree), most recently raced first (by their
/// latest runner's race date, through the `ra_runners.horse_id` index and the races' primary
/// key), then by id. `limit` is the placeholder of the row limit.
pub fn horses_without_profile_sql(
    physical: &PhysicalNames,
    limit: &str,
) -> Result<String, StoreError> {
    let horses = quote_ident(physical.read(registered_table(names::HORSES)?));
    let runners = quote_ident(physical.read(registered_table(names::RUNNERS)?));
    let races = quote_ident(physical.read(registered_table(names::RACES)?));
    Ok(format!(
        "SELECT h.id FROM {horses} AS h \
         WHERE h.profile_fetched_at IS NULL AND h.dob IS NULL \
         ORDER BY (SELECT MAX(r.race_date) FROM {runners} AS ru \
                   JOIN {races} AS r ON r.id = ru.race_id \
                   WHERE ru.horse_id = h.id) DESC NULLS LAST, h.id \
         LIMIT {limit}"
    ))
}

/// Ids of a pedigree master not yet linked to their horse row.
pub fn unlinked_pedigree_ids_sql(physical: &PhysicalNames, table: &Table) -> String {
    format!(
        "SELECT id FROM {} WHERE horse_id IS NULL ORDER BY id",
        quote_ident(physical.read(table))
    )
}

/// The number of rows of a registry table.
pub fn count_rows_sql(physical: &PhysicalNames, table: &Table) -> String {
    format!("SELECT COUNT(*) FROM {}", quote_ident(physical.read(table)))
}

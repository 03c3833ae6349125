//! Read queries, written once for both backends: table names come from [`PhysicalNames`],
//! placeholders from the caller's dialect.

use crate::store::physical::PhysicalNames;
use crate::store::upsert_sql::quote_ident;
use fetchers::registry::{Table, TableName};
use fetchers::store::StoreError;

/// Horses without profile data (no `/horses/{id}/pro` fetched and no racecard seen: racecards
/// already carry dob, sex, colour, breeder and pedigree), most recently raced first (by their
/// latest runner's race date, through the `ra_runners.horse_id` index and the races' primary
/// key), then by id. `limit` is the placeholder of the row limit.
pub fn horses_without_profile_sql(
    physical: &PhysicalNames,
    limit: &str,
) -> Result<String, StoreError> {
    let horses = quote_ident(physical.read(TableName::HORSES.table()));
    let runners = quote_ident(physical.read(TableName::RUNNERS.table()));
    let races = quote_ident(physical.read(TableName::RACES.table()));
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

/// The stored runners of some races with their horses' names (for matching the names of a
/// result's `non_runners` text); `race_list` is the placeholder list of race ids.
pub fn runner_names_sql(physical: &PhysicalNames, race_list: &str) -> Result<String, StoreError> {
    let runners = quote_ident(physical.read(TableName::RUNNERS.table()));
    let horses = quote_ident(physical.read(TableName::HORSES.table()));
    Ok(format!(
        "SELECT ru.race_id, ru.horse_id, h.name, h.name_with_suffix \
         FROM {runners} AS ru JOIN {horses} AS h ON h.id = ru.horse_id \
         WHERE ru.race_id IN ({race_list}) ORDER BY ru.race_id, ru.horse_id"
    ))
}

/// Horses whose stored profile was fetched before `cutoff`, oldest first (what
/// `paddock run master-entities --refresh-older-than DAYS` asks for again).
pub fn horses_with_profile_older_than_sql(
    physical: &PhysicalNames,
    cutoff: &str,
    limit: &str,
) -> Result<String, StoreError> {
    let horses = quote_ident(physical.read(TableName::HORSES.table()));
    Ok(format!(
        "SELECT id FROM {horses} WHERE profile_fetched_at < {cutoff} \
         ORDER BY profile_fetched_at, id LIMIT {limit}"
    ))
}

//! Read queries whose SQL is the same on both backends apart from the placeholder style.

use crate::store::upsert_sql::quote_ident;
use fetchers::registry::Table;

/// Horses without profile data (no `/horses/{id}/pro` fetched and no racecard seen: racecards
/// already carry dob, sex, colour, breeder and pedigree), most recently raced first (by their
/// latest runner's race date, through the `ra_runners.horse_id` index and the races' primary
/// key), then by id. `limit` is the placeholder of the row limit (`?` or `$1`).
pub fn horses_without_profile_sql(limit: &str) -> String {
    format!(
        "SELECT h.id FROM ra_mst_horses AS h \
         WHERE h.profile_fetched_at IS NULL AND h.dob IS NULL \
         ORDER BY (SELECT MAX(r.race_date) FROM ra_runners AS ru \
                   JOIN ra_mst_races AS r ON r.id = ru.race_id \
                   WHERE ru.horse_id = h.id) DESC NULLS LAST, h.id \
         LIMIT {limit}"
    )
}

/// Ids of a pedigree master not yet linked to their horse row.
pub fn unlinked_pedigree_ids_sql(table: &Table) -> String {
    format!(
        "SELECT id FROM {} WHERE horse_id IS NULL ORDER BY id",
        quote_ident(table.name)
    )
}

/// The number of rows of a registry table.
pub fn count_rows_sql(table: &Table) -> String {
    format!("SELECT COUNT(*) FROM {}", quote_ident(table.name))
}

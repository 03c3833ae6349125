//! The stored runners of some races with their horses' names ([`Store::runner_names`]), used
//! to match the names a result's `non_runners` text gives to runners. One query, the
//! placeholder list per backend.
//!
//! [`Store::runner_names`]: fetchers::store::Store::runner_names

use crate::store::diagnose::database_error;
use fetchers::store::{RunnerName, StoreError};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

/// Race ids per SQLite statement (well under its parameter limit).
const CHUNK: usize = 500;

/// The query, with `race_ids` the placeholder list (`?, ?` or `= ANY($1)`).
fn sql(race_filter: &str) -> String {
    format!(
        "SELECT ru.race_id, ru.horse_id, h.name, h.name_with_suffix \
         FROM ra_runners AS ru JOIN ra_mst_horses AS h ON h.id = ru.horse_id \
         WHERE ru.race_id {race_filter} ORDER BY ru.race_id, ru.horse_id"
    )
}

type NameRow = (String, String, String, Option<String>);

fn runner_name((race_id, horse_id, name, name_with_suffix): NameRow) -> RunnerName {
    RunnerName {
        race_id,
        horse_id,
        name,
        name_with_suffix,
    }
}

fn read_error(e: sqlx::Error) -> StoreError {
    database_error(Some("ra_runners"), &e)
}

/// SQLite: `IN (?, …)` in chunks.
pub async fn sqlite(pool: &SqlitePool, race_ids: &[String]) -> Result<Vec<RunnerName>, StoreError> {
    let mut out = Vec::new();
    for chunk in race_ids.chunks(CHUNK) {
        let list = vec!["?"; chunk.len()].join(", ");
        let statement = sql(&format!("IN ({list})"));
        let mut query = sqlx::query_as::<_, NameRow>(&statement);
        for id in chunk {
            query = query.bind(id);
        }
        let rows = query.fetch_all(pool).await.map_err(read_error)?;
        out.extend(rows.into_iter().map(runner_name));
    }
    Ok(out)
}

/// PostgreSQL: one array parameter.
pub async fn postgres(pool: &PgPool, race_ids: &[String]) -> Result<Vec<RunnerName>, StoreError> {
    if race_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as::<_, NameRow>(&sql("= ANY($1)"))
        .bind(race_ids)
        .fetch_all(pool)
        .await
        .map_err(read_error)?;
    Ok(rows.into_iter().map(runner_name).collect())
}

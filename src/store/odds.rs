//! The odds step of a unit's transaction (issue 22): `ra_runner_odds` is a price history
//! stored on change. The extractor turns every priced observation of a payload into a row; the
//! unit upserts them all, then this step deletes, in one set-based statement, each row the unit
//! inserted whose price (fractional, decimal, each-way terms) equals that of the row before it
//! for the same race, horse and bookmaker (the latest stored before it, or an earlier row of
//! the same unit). So a refresh whose price did not change but whose `updated` time did adds
//! nothing, and a history replayed adds nothing. A kept row holds the API's time
//! (`observed_at`) and the fetch time (`created_at`, the unit's timestamp).

use crate::store::dialect::{Conn, Dialect, Params};
use chrono::{DateTime, Utc};
use fetchers::registry::{ColumnType, TableName};
use fetchers::rows::Value;
use fetchers::store::RunId;

/// The registry table this step keeps.
pub const HISTORY: TableName = TableName::RUNNER_ODDS;

/// Deletes the rows of `history` (a physical name of `ra_runner_odds`) that this unit inserted
/// (`created_at` = `now`, `last_run_id` = `run_id`) and that repeat the price of the row
/// before them; returns how many it deleted. Rows of other units are never touched.
pub async fn drop_unchanged_prices<D: Dialect>(
    conn: &mut Conn<D>,
    history: &str,
    run_id: RunId,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut p = Params::<D>::new();
    let same_runner = |a: &str, b: &str| {
        format!(
            "{a}.race_id = {b}.race_id AND {a}.horse_id = {b}.horse_id \
             AND {a}.bookmaker_id = {b}.bookmaker_id"
        )
    };
    let same_price = ["fractional", "decimal", "ew_places", "ew_denom"]
        .iter()
        .map(|c| format!("p.{c} IS NOT DISTINCT FROM {history}.{c}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let sql = format!(
        "DELETE FROM {history} WHERE created_at = {now} AND last_run_id = {run} \
         AND EXISTS (SELECT 1 FROM {history} p WHERE {p_same} AND {same_price} \
         AND p.observed_at = (SELECT MAX(q.observed_at) FROM {history} q \
         WHERE {q_same} AND q.observed_at < {history}.observed_at))",
        now = p.add(Value::Timestamp(now), ColumnType::Timestamp),
        run = p.add(Value::Integer(run_id.get()), ColumnType::Integer),
        p_same = same_runner("p", history),
        q_same = same_runner("q", history),
    );
    D::execute(conn, &sql, p.values()).await
}

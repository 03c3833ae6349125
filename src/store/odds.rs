//! The odds step of a unit's transaction (issue 22): `ra_runner_odds` is a price history
//! stored on change. The extractor turns every priced observation of a payload into a row; the
//! unit upserts them all, then this step deletes, in one set-based statement, each row the unit
//! inserted whose price (fractional, decimal, each-way terms) equals that of the row before it
//! for the same race, horse and bookmaker (the latest stored before it, or an earlier row of
//! the same unit). So a refresh whose price did not change but whose `updated` time did adds
//! nothing, and a history replayed adds nothing. A kept row holds the API's time
//! (`observed_at`) and the fetch time (`created_at`, the unit's timestamp).
//!
//! Before that, in the same transaction, `ra_runner_odds_latest` takes, per race, horse and
//! bookmaker the unit wrote, the newest of its history rows (an unchanged price's newer
//! `updated` time included), unless it already holds a newer one: the current price is one
//! primary-key read, and the best price per runner one range read.

use crate::store::dialect::{Conn, Dialect, Params};
use chrono::{DateTime, Utc};
use fetchers::registry::{ColumnType, TableName};
use fetchers::rows::Value;
use fetchers::store::RunId;

/// The registry tables this step keeps.
pub const HISTORY: TableName = TableName::RUNNER_ODDS;
pub const LATEST: TableName = TableName::RUNNER_ODDS_LATEST;

/// The price columns, in both tables.
const PRICE: [&str; 4] = ["fractional", "decimal", "ew_places", "ew_denom"];

fn same_runner(a: &str, b: &str) -> String {
    format!(
        "{a}.race_id = {b}.race_id AND {a}.horse_id = {b}.horse_id \
         AND {a}.bookmaker_id = {b}.bookmaker_id"
    )
}

/// Upserts into `latest` the newest `history` row of every runner and bookmaker whose history
/// this unit wrote (`updated_at` = `now`, `last_run_id` = `run_id`), where it is newer than, or
/// as new as and priced differently from, what `latest` holds; returns the rows written.
pub async fn keep_latest<D: Dialect>(
    conn: &mut Conn<D>,
    history: &str,
    latest: &str,
    run_id: RunId,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut p = Params::<D>::new();
    let columns = "race_id, horse_id, bookmaker_id, observed_at, fractional, decimal, \
                   ew_places, ew_denom";
    let changed = PRICE
        .iter()
        .map(|c| format!("excluded.{c} IS DISTINCT FROM {latest}.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sets = ["observed_at", "updated_at", "last_run_id"]
        .iter()
        .chain(PRICE.iter())
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {latest} ({columns}, created_at, updated_at, last_run_id) \
         SELECT o.race_id, o.horse_id, o.bookmaker_id, o.observed_at, o.fractional, o.decimal, \
         o.ew_places, o.ew_denom, {now}, {now2}, {run} FROM {history} o \
         WHERE o.updated_at = {now3} AND o.last_run_id = {run2} \
         AND NOT EXISTS (SELECT 1 FROM {history} n WHERE {n_same} \
         AND n.observed_at > o.observed_at) \
         ON CONFLICT (race_id, horse_id, bookmaker_id) DO UPDATE SET {sets} \
         WHERE {latest}.observed_at IS NULL OR excluded.observed_at > {latest}.observed_at \
         OR (excluded.observed_at = {latest}.observed_at AND ({changed}))",
        now = p.add(Value::Timestamp(now), ColumnType::Timestamp),
        now2 = p.add(Value::Timestamp(now), ColumnType::Timestamp),
        run = p.add(Value::Integer(run_id.get()), ColumnType::Integer),
        now3 = p.add(Value::Timestamp(now), ColumnType::Timestamp),
        run2 = p.add(Value::Integer(run_id.get()), ColumnType::Integer),
        n_same = same_runner("n", "o"),
    );
    D::execute(conn, &sql, p.values()).await
}

/// Deletes, among the runners and bookmakers this unit inserted rows for (`created_at` =
/// `now`, `last_run_id` = `run_id`) in `history` (a physical name of `ra_runner_odds`), each
/// row that repeats the price of the row before it where either of the two is the unit's;
/// returns how many it deleted. So a row the unit slots in before stored ones (an odds
/// endpoint's history, older than the racecards stored) makes the stored row after it go when
/// that row no longer changes the price; other rows are never touched. One statement over one
/// snapshot: every repeat goes at once, leaving each run of a price's first row.
pub async fn drop_unchanged_prices<D: Dialect>(
    conn: &mut Conn<D>,
    history: &str,
    run_id: RunId,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut p = Params::<D>::new();
    let same_price = PRICE
        .iter()
        .map(|c| format!("p.{c} IS NOT DISTINCT FROM {history}.{c}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let sql = format!(
        "DELETE FROM {history} WHERE (race_id, horse_id, bookmaker_id) IN \
         (SELECT u.race_id, u.horse_id, u.bookmaker_id FROM {history} u \
         WHERE u.created_at = {now} AND u.last_run_id = {run}) \
         AND EXISTS (SELECT 1 FROM {history} p WHERE {p_same} AND {same_price} \
         AND p.observed_at = (SELECT MAX(q.observed_at) FROM {history} q \
         WHERE {q_same} AND q.observed_at < {history}.observed_at) \
         AND (({history}.created_at = {now2} AND {history}.last_run_id = {run2}) \
         OR (p.created_at = {now3} AND p.last_run_id = {run3})))",
        now = p.add(Value::Timestamp(now), ColumnType::Timestamp),
        run = p.add(Value::Integer(run_id.get()), ColumnType::Integer),
        p_same = same_runner("p", history),
        q_same = same_runner("q", history),
        now2 = p.add(Value::Timestamp(now), ColumnType::Timestamp),
        run2 = p.add(Value::Integer(run_id.get()), ColumnType::Integer),
        now3 = p.add(Value::Timestamp(now), ColumnType::Timestamp),
        run3 = p.add(Value::Integer(run_id.get()), ColumnType::Integer),
    );
    D::execute(conn, &sql, p.values()).await
}

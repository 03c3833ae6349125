//! SQL for retention (`crate::retention`), written once over [`SqlStore`]: each deletion is one
//! bounded batch in one transaction, with the rows it deleted added to the run's ledger counts
//! (`paddock_run_tables.deleted`) in that same transaction, so a batch is committed whole or
//! not at all and the ledger always says what is gone. A dry run counts instead of deleting.
//!
//! - [`AgedTable`]: the operations tables pruned by age, oldest id first (the raw archive,
//!   rejects, sent alerts).
//! - [`delete_old_runs`]: ledger runs with their per-table counts.
//! - [`thin_price_batch`]: one batch of the price history, each runner's and bookmaker's
//!   history read and thinned whole in one transaction by the caller's rule.
//!
//! Nothing here touches masters, races, runners or derived tables.

use super::dialect::{self, Cells, Conn, Dialect, Params};
use super::ledger::add_run_counts;
use super::{with_backend, AnyStore, SqlStore};
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType::{Boolean, Decimal, Integer, Text, Timestamp};
use fetchers::registry::TableName;
use fetchers::rows::{Counts, Value};
use fetchers::store::{RunId, RunStatus};

/// An operations table whose rows retention deletes once they are older than a cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgedTable {
    /// `paddock_raw_responses` by `fetched_at`.
    RawResponses,
    /// `paddock_rejects` by `created_at`.
    Rejects,
    /// `paddock_alerts` (migration 0013, when present): sent alerts by `sent_at`; unsent ones
    /// are never deleted.
    SentAlerts,
}

impl AgedTable {
    /// The table's name.
    pub fn table(self) -> &'static str {
        match self {
            AgedTable::RawResponses => "paddock_raw_responses",
            AgedTable::Rejects => "paddock_rejects",
            AgedTable::SentAlerts => "paddock_alerts",
        }
    }

    fn id(self) -> &'static str {
        match self {
            AgedTable::RawResponses => "response_id",
            AgedTable::Rejects => "reject_id",
            AgedTable::SentAlerts => "id",
        }
    }

    /// The condition a row to delete meets.
    fn condition<D: Dialect>(self, p: &mut Params<D>, cutoff: DateTime<Utc>) -> String {
        // Parameters in order of appearance (SQLite's are anonymous).
        match self {
            AgedTable::RawResponses => {
                format!(
                    "fetched_at < {}",
                    p.add(Value::Timestamp(cutoff), Timestamp)
                )
            }
            AgedTable::Rejects => {
                format!(
                    "created_at < {}",
                    p.add(Value::Timestamp(cutoff), Timestamp)
                )
            }
            AgedTable::SentAlerts => {
                let sent = p.add(Value::Boolean(true), Boolean);
                let cutoff = p.add(Value::Timestamp(cutoff), Timestamp);
                format!("sent = {sent} AND sent_at IS NOT NULL AND sent_at < {cutoff}")
            }
        }
    }
}

fn deleted(table: &str, n: u64) -> Counts {
    let mut counts = Counts::default();
    if n > 0 {
        counts.entry(table).deleted = n;
    }
    counts
}

async fn count<D: Dialect>(
    conn: &mut Conn<D>,
    sql: &str,
    p: &Params<D>,
) -> Result<u64, sqlx::Error> {
    let rows = dialect::fetch::<D>(conn, sql, p.values(), &[Integer]).await?;
    let n = rows.first().and_then(|r| Cells(r).integer(0)).unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many rows of `table` are older than `cutoff`.
async fn count_aged_in<D: Dialect>(
    store: &SqlStore<D>,
    table: AgedTable,
    cutoff: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {}",
        table.table(),
        table.condition(&mut p, cutoff)
    );
    let mut conn = store.connection(Some(table.table())).await?;
    Ok(count::<D>(&mut conn, &sql, &p).await?)
}

/// Deletes up to `limit` rows of `table` older than `cutoff`, oldest id first, and adds them
/// to run `run_id`'s counts: one transaction. Returns how many it deleted (0: none left).
async fn delete_aged_batch_in<D: Dialect>(
    store: &SqlStore<D>,
    table: AgedTable,
    cutoff: DateTime<Utc>,
    limit: u32,
    run_id: RunId,
) -> anyhow::Result<u64> {
    let mut p = Params::<D>::new();
    let (name, id) = (table.table(), table.id());
    let condition = table.condition(&mut p, cutoff);
    let sql = format!(
        "DELETE FROM {name} WHERE {id} IN (SELECT {id} FROM {name} WHERE {condition} \
         ORDER BY {id} LIMIT {})",
        p.add(Value::Integer(i64::from(limit)), Integer)
    );
    let mut tx = store.begin_write().await?;
    let n = D::execute(&mut tx, &sql, p.values()).await?;
    add_run_counts::<D>(&mut tx, run_id, &deleted(name, n)).await?;
    tx.commit().await?;
    Ok(n)
}

/// The runs retention may delete: finished before `cutoff`, not a job's newest run (the
/// daemon's timetable and `paddock status` read it), no rejects of theirs left (a reject keeps
/// its run), never one still `running`.
/// `rejects_going`: the rejects cutoff of the same retention run, when it deletes rejects
/// first — a count (the dry run) leaves out the rejects that will be gone by then.
fn old_runs_condition<D: Dialect>(
    p: &mut Params<D>,
    cutoff: DateTime<Utc>,
    rejects_going: Option<DateTime<Utc>>,
) -> String {
    let mut sql = format!(
        "r.status <> {running} AND COALESCE(r.finished_at, r.started_at) < {cutoff} \
         AND r.run_id < (SELECT MAX(l.run_id) FROM paddock_runs l WHERE l.job = r.job) \
         AND NOT EXISTS (SELECT 1 FROM paddock_rejects j WHERE j.run_id = r.run_id",
        running = p.add(Value::Text(RunStatus::Running.name().into()), Text),
        cutoff = p.add(Value::Timestamp(cutoff), Timestamp),
    );
    if let Some(going) = rejects_going {
        let going = p.add(Value::Timestamp(going), Timestamp);
        sql.push_str(&format!(" AND j.created_at >= {going}"));
    }
    sql.push(')');
    sql
}

/// How many runs, and rows of their per-table counts, [`delete_old_runs`] would delete after
/// the rejects created before `rejects_going` (when given) are gone.
async fn count_old_runs_in<D: Dialect>(
    store: &SqlStore<D>,
    cutoff: DateTime<Utc>,
    rejects_going: Option<DateTime<Utc>>,
) -> anyhow::Result<(u64, u64)> {
    let mut p = Params::<D>::new();
    let runs = format!(
        "SELECT r.run_id FROM paddock_runs r WHERE {}",
        old_runs_condition(&mut p, cutoff, rejects_going)
    );
    let mut conn = store.connection(Some("paddock_runs")).await?;
    let n_runs = count::<D>(&mut conn, &format!("SELECT COUNT(*) FROM ({runs}) x"), &p).await?;
    let tables = format!("SELECT COUNT(*) FROM paddock_run_tables WHERE run_id IN ({runs})");
    Ok((n_runs, count::<D>(&mut conn, &tables, &p).await?))
}

/// Deletes up to `limit` runs finished before `cutoff` (see the condition above) with their
/// `paddock_run_tables` rows, oldest first, and adds both to run `run_id`'s counts: one
/// transaction. Returns the runs and per-table rows deleted (no runs: none left).
async fn delete_old_runs_in<D: Dialect>(
    store: &SqlStore<D>,
    cutoff: DateTime<Utc>,
    limit: u32,
    run_id: RunId,
) -> anyhow::Result<(u64, u64)> {
    let mut p = Params::<D>::new();
    let select = format!(
        "SELECT r.run_id FROM paddock_runs r WHERE {} ORDER BY r.run_id LIMIT {}",
        old_runs_condition(&mut p, cutoff, None),
        p.add(Value::Integer(i64::from(limit)), Integer)
    );
    let mut tx = store.begin_write().await?;
    let ids: Vec<i64> = dialect::fetch::<D>(&mut tx, &select, p.values(), &[Integer])
        .await?
        .iter()
        .filter_map(|r| Cells(r).integer(0))
        .collect();
    if ids.is_empty() {
        return Ok((0, 0));
    }
    let mut counts = Counts::default();
    for table in ["paddock_run_tables", "paddock_runs"] {
        let mut p = Params::<D>::new();
        let list: Vec<String> = ids
            .iter()
            .map(|id| p.add(Value::Integer(*id), Integer))
            .collect();
        let sql = format!("DELETE FROM {table} WHERE run_id IN ({})", list.join(", "));
        let n = D::execute(&mut tx, &sql, p.values()).await?;
        counts.add(&deleted(table, n));
    }
    add_run_counts::<D>(&mut tx, run_id, &counts).await?;
    tx.commit().await?;
    Ok((ids.len() as u64, counts.table("paddock_run_tables").deleted))
}

/// Which runner's and bookmaker's history a price row belongs to: `(race_id, horse_id,
/// bookmaker_id)`.
pub type SeriesKey = (String, String, String);

/// One stored price (`ra_runner_odds`), as retention judges it.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceRow {
    pub series: SeriesKey,
    pub observed_at: DateTime<Utc>,
    pub fractional: Option<String>,
    pub decimal: Option<f64>,
    pub ew_places: Option<i64>,
    pub ew_denom: Option<i64>,
}

/// What one batch of the price history did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceBatch {
    /// The last history the batch judged (the next batch starts after it); `None`: the
    /// history is done.
    pub next: Option<SeriesKey>,
    /// Rows deleted (or, in a dry run, that would be).
    pub deleted: u64,
}

/// The rule judging one whole history, oldest row first: whether to keep each row.
pub type KeepRule<'a> = &'a (dyn Fn(&[PriceRow]) -> Vec<bool> + Sync);

/// One batch of the price history, in one write transaction: reads up to `limit` rows after
/// history `after` in key order, judges each history read whole with `keep` and deletes the
/// rows it does not keep (from every physical name of `ra_runner_odds`), adding them to run
/// `run_id`'s counts; a dry run (`run_id` `None`) rolls back. A history longer than `limit` is
/// read alone, whole. `ra_runner_odds_latest` is never touched.
async fn thin_price_batch_in<D: Dialect>(
    store: &SqlStore<D>,
    after: Option<&SeriesKey>,
    limit: u32,
    keep: KeepRule<'_>,
    run_id: Option<RunId>,
) -> anyhow::Result<PriceBatch> {
    let table = TableName::RUNNER_ODDS.table();
    let (mut tx, names) = store.begin_unit().await?;
    let read = names.read(table).to_string();
    let mut rows = read_prices::<D>(&mut tx, &read, after, None, limit).await?;
    let cut = rows.len() >= limit as usize;
    if cut {
        let last = rows.last().map(|r| r.series.clone()).expect("limit >= 1");
        rows.retain(|r| r.series != last);
        if rows.is_empty() {
            rows = read_prices::<D>(&mut tx, &read, None, Some(&last), limit).await?;
        }
    }
    let Some(next) = rows.last().map(|r| r.series.clone()) else {
        return Ok(PriceBatch::default());
    };
    let mut doomed = Vec::new();
    for series in rows.chunk_by(|a, b| a.series == b.series) {
        let kept = keep(series);
        doomed.extend(series.iter().zip(kept).filter(|(_, k)| !k).map(|(r, _)| r));
    }
    let deleted_rows = doomed.len() as u64;
    if let Some(run_id) = run_id {
        for physical in names.written(table) {
            for chunk in doomed.chunks(200) {
                delete_prices::<D>(&mut tx, physical, chunk).await?;
            }
        }
        add_run_counts::<D>(&mut tx, run_id, &deleted(table.name, deleted_rows)).await?;
        tx.commit().await?;
    }
    Ok(PriceBatch {
        next: Some(next),
        deleted: deleted_rows,
    })
}

/// Price rows in key order: after history `after` (up to `limit`), or history `only` whole.
async fn read_prices<D: Dialect>(
    conn: &mut Conn<D>,
    table: &str,
    after: Option<&SeriesKey>,
    only: Option<&SeriesKey>,
    limit: u32,
) -> Result<Vec<PriceRow>, sqlx::Error> {
    let mut p = Params::<D>::new();
    let key = |k: &SeriesKey, p: &mut Params<D>| {
        [&k.0, &k.1, &k.2].map(|v| p.add(Value::Text(v.clone()), Text))
    };
    let filter = match (after, only) {
        (_, Some(k)) => {
            let [r, h, b] = key(k, &mut p);
            format!("WHERE race_id = {r} AND horse_id = {h} AND bookmaker_id = {b}")
        }
        (Some(k), None) => {
            let [r, h, b] = key(k, &mut p);
            format!("WHERE (race_id, horse_id, bookmaker_id) > ({r}, {h}, {b})")
        }
        (None, None) => String::new(),
    };
    let limit = match only {
        Some(_) => String::new(),
        None => format!("LIMIT {}", p.add(Value::Integer(i64::from(limit)), Integer)),
    };
    let sql = format!(
        "SELECT race_id, horse_id, bookmaker_id, observed_at, fractional, \
         CAST(decimal AS DOUBLE PRECISION), ew_places, \
         ew_denom FROM {table} {filter} \
         ORDER BY race_id, horse_id, bookmaker_id, observed_at {limit}"
    );
    let types = [Text, Text, Text, Timestamp, Text, Decimal, Integer, Integer];
    let rows = dialect::fetch::<D>(conn, &sql, p.values(), &types).await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let c = Cells(row);
            Some(PriceRow {
                series: (c.text(0)?, c.text(1)?, c.text(2)?),
                observed_at: c.timestamp(3)?,
                fractional: c.text(4),
                decimal: match row.get(5) {
                    Some(Value::Decimal(d)) => Some(*d),
                    _ => None,
                },
                ew_places: c.integer(6),
                ew_denom: c.integer(7),
            })
        })
        .collect())
}

async fn delete_prices<D: Dialect>(
    conn: &mut Conn<D>,
    table: &str,
    rows: &[&PriceRow],
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut p = Params::<D>::new();
    let tuples: Vec<String> = rows
        .iter()
        .map(|r| {
            let (race, horse, bookmaker) = &r.series;
            format!(
                "(race_id = {} AND horse_id = {} AND bookmaker_id = {} AND observed_at = {})",
                p.add(Value::Text(race.clone()), Text),
                p.add(Value::Text(horse.clone()), Text),
                p.add(Value::Text(bookmaker.clone()), Text),
                p.add(Value::Timestamp(r.observed_at), Timestamp)
            )
        })
        .collect();
    let sql = format!("DELETE FROM {table} WHERE {}", tuples.join(" OR "));
    D::execute(conn, &sql, p.values()).await
}

/// How many rows of `table` are older than `cutoff`.
pub async fn count_aged(
    store: &AnyStore,
    table: AgedTable,
    cutoff: DateTime<Utc>,
) -> anyhow::Result<u64> {
    with_backend!(store, |s| count_aged_in(s, table, cutoff).await)
}

/// One batch of `table`'s rows older than `cutoff` deleted (see `delete_aged_batch_in`).
pub async fn delete_aged_batch(
    store: &AnyStore,
    table: AgedTable,
    cutoff: DateTime<Utc>,
    limit: u32,
    run_id: RunId,
) -> anyhow::Result<u64> {
    with_backend!(store, |s| delete_aged_batch_in(
        s, table, cutoff, limit, run_id
    )
    .await)
}

/// How many runs, and rows of their per-table counts, [`delete_old_runs`] would delete (see
/// `count_old_runs_in`).
pub async fn count_old_runs(
    store: &AnyStore,
    cutoff: DateTime<Utc>,
    rejects_going: Option<DateTime<Utc>>,
) -> anyhow::Result<(u64, u64)> {
    with_backend!(store, |s| count_old_runs_in(s, cutoff, rejects_going).await)
}

/// One batch of old runs deleted with their per-table counts (see `delete_old_runs_in`).
pub async fn delete_old_runs(
    store: &AnyStore,
    cutoff: DateTime<Utc>,
    limit: u32,
    run_id: RunId,
) -> anyhow::Result<(u64, u64)> {
    with_backend!(store, |s| delete_old_runs_in(s, cutoff, limit, run_id)
        .await)
}

/// One batch of the price history thinned (see `thin_price_batch_in`).
pub async fn thin_price_batch(
    store: &AnyStore,
    after: Option<&SeriesKey>,
    limit: u32,
    keep: KeepRule<'_>,
    run_id: Option<RunId>,
) -> anyhow::Result<PriceBatch> {
    with_backend!(store, |s| thin_price_batch_in(
        s, after, limit, keep, run_id
    )
    .await)
}

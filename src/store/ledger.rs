//! The bookkeeping, written once for both backends: the run ledger (`paddock_runs`,
//! `paddock_run_tables`), rejects, state and checkpoints. Placeholders and bulk bindings come
//! from the [`Dialect`]; instants travel as [`Value::Timestamp`] (`timestamptz` on
//! PostgreSQL, RFC 3339 text on SQLite).

use crate::store::dialect::{self, count, text, BulkInsert, Cells, Conn, Dialect, Params};
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType::{self, Integer, Json, Text, Timestamp};
use fetchers::rows::{Counts, TableCounts, UnitOfWork, Value};
use fetchers::store::{RunFinish, RunId, RunRecord, RunStatus, RunTrigger, StateKey, UnknownName};

/// A bookkeeping write that failed, with the operations table it was writing.
pub struct BookkeepingError {
    pub table: &'static str,
    pub error: sqlx::Error,
}

impl BookkeepingError {
    pub fn wrap(table: &'static str) -> impl FnOnce(sqlx::Error) -> BookkeepingError {
        move |error| BookkeepingError { table, error }
    }
}

/// The unit's state entries with later values for a key winning, in first-seen key order.
pub fn latest_state(state: &[(StateKey, String)]) -> Vec<(&StateKey, &str)> {
    let mut out: Vec<(&StateKey, &str)> = Vec::new();
    for (key, value) in state {
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value.as_str(),
            None => out.push((key, value.as_str())),
        }
    }
    out
}

/// The races whose derived figures wait for the next derived update (migration 0009).
pub const DERIVED_PENDING: &str = "paddock_derived_pending";

/// The races the unit writes (its runners' races and its races), each once, in order.
fn races_written(unit: &UnitOfWork) -> Vec<&str> {
    use fetchers::registry::names::{RACES, RUNNERS};
    let mut races: Vec<&str> = unit
        .rows
        .iter()
        .filter_map(|row| match row.table {
            t if t == RUNNERS => row.values.get("race_id"),
            t if t == RACES => row.values.get("id"),
            _ => None,
        })
        .filter_map(|v| match v {
            Value::Text(id) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    races.sort_unstable();
    races.dedup();
    races
}

/// Marks the races whose race or runner rows the unit changed as waiting for the derived
/// update, in the unit's transaction (see `crate::derive`). A row the unit inserted or updated
/// carries the run's id (`last_run_id`) under its physical name; an unchanged reload changes
/// nothing, so it marks nothing and costs no statement.
pub async fn mark_derived_pending<D: Dialect>(
    conn: &mut Conn<D>,
    physical: &crate::store::PhysicalNames,
    run_id: RunId,
    unit: &UnitOfWork,
    counts: &Counts,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    use fetchers::registry::names::{RACES, RUNNERS};
    let changed = |table: &str| {
        let c = counts.table(table);
        c.inserted + c.updated > 0
    };
    let races = races_written(unit);
    if races.is_empty() || !(changed(RUNNERS) || changed(RACES)) {
        return Ok(());
    }
    let table = |name: &str| fetchers::registry::table(name).map(|t| physical.read(t));
    let (Some(runners), Some(races_table)) = (table(RUNNERS), table(RACES)) else {
        return Ok(());
    };
    // Placeholders in the order they appear (SQLite's are positional `?`).
    let mut p = Params::<D>::new();
    let run = Value::Integer(run_id.get());
    let ids = |p: &mut Params<D>| {
        (races.iter())
            .map(|race| p.add(Value::Text(race.to_string()), Text))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let head = format!(
        "INSERT INTO {DERIVED_PENDING} (race_id, run_id, marked_at) SELECT race_id, {}, {} FROM (",
        p.add(run.clone(), Integer),
        p.add(Value::Timestamp(now), Timestamp),
    );
    let of_runners = format!(
        "SELECT race_id FROM {runners} WHERE last_run_id = {} AND race_id IN ({})",
        p.add(run.clone(), Integer),
        ids(&mut p)
    );
    let of_races = format!(
        "SELECT id FROM {races_table} WHERE last_run_id = {} AND id IN ({})",
        p.add(run, Integer),
        ids(&mut p)
    );
    let sql = format!("{head}{of_runners} UNION {of_races}) changed");
    D::execute(conn, &sql, p.values()).await.map(|_| ())
}

const REJECT_COLUMNS: &[(&str, ColumnType)] = &[
    ("run_id", Integer),
    ("endpoint", Text),
    ("entity", Text),
    ("entity_key", Text),
    ("reason", Text),
    ("payload", Text),
    ("created_at", Timestamp),
];

const STATE_COLUMNS: &[(&str, ColumnType)] = &[
    ("\"key\"", Text),
    ("value", Text),
    ("updated_at", Timestamp),
];

const RUN_TABLE_COLUMNS: &[(&str, ColumnType)] = &[
    ("run_id", Integer),
    ("table_name", Text),
    ("inserted", Integer),
    ("updated", Integer),
    ("unchanged", Integer),
    ("rejected", Integer),
    ("deleted", Integer),
];

/// Writes a unit's rejects, state, checkpoint and run counters (inside its transaction).
pub async fn record_unit<D: Dialect>(
    conn: &mut Conn<D>,
    run_id: RunId,
    unit: &UnitOfWork,
    counts: &Counts,
    now: DateTime<Utc>,
) -> Result<(), BookkeepingError> {
    insert_rejects::<D>(conn, run_id, unit, now)
        .await
        .map_err(BookkeepingError::wrap("paddock_rejects"))?;
    set_state::<D>(conn, unit, now)
        .await
        .map_err(BookkeepingError::wrap("paddock_state"))?;
    set_checkpoint::<D>(conn, run_id, unit, now)
        .await
        .map_err(BookkeepingError::wrap("paddock_checkpoints"))?;
    add_run_counts::<D>(conn, run_id, counts)
        .await
        .map_err(BookkeepingError::wrap("paddock_run_tables"))?;
    if !unit.rejects.is_empty() {
        let mut p = Params::<D>::new();
        let sql = format!(
            "UPDATE paddock_runs SET rows_rejected = rows_rejected + {} WHERE run_id = {}",
            p.add(count(unit.rejects.len() as u64), Integer),
            p.add(Value::Integer(run_id.get()), Integer),
        );
        D::execute(conn, &sql, p.values())
            .await
            .map_err(BookkeepingError::wrap("paddock_runs"))?;
    }
    Ok(())
}

async fn insert_rejects<D: Dialect>(
    conn: &mut Conn<D>,
    run_id: RunId,
    unit: &UnitOfWork,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if unit.rejects.is_empty() {
        return Ok(());
    }
    let rows = unit
        .rejects
        .iter()
        .map(|r| {
            vec![
                Value::Integer(run_id.get()),
                Value::Text(r.endpoint.clone()),
                Value::Text(r.entity.clone()),
                text(r.key.as_deref()),
                Value::Text(r.reason.clone()),
                text(r.payload.as_deref()),
                Value::Timestamp(now),
            ]
        })
        .collect();
    let insert = BulkInsert {
        table: "paddock_rejects",
        columns: REJECT_COLUMNS,
        rows,
        on_conflict: "",
    };
    D::insert_rows(conn, &insert).await
}

/// How a `paddock_state` entry is set: the new value replaces the old.
const STATE_UPSERT: &str =
    "ON CONFLICT (\"key\") DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

async fn set_state<D: Dialect>(
    conn: &mut Conn<D>,
    unit: &UnitOfWork,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let entries = latest_state(&unit.state);
    if entries.is_empty() {
        return Ok(());
    }
    let rows = entries
        .iter()
        .map(|(k, v)| vec![Value::Text(k.text()), text(Some(v)), Value::Timestamp(now)])
        .collect();
    let insert = BulkInsert {
        table: "paddock_state",
        columns: STATE_COLUMNS,
        rows,
        on_conflict: STATE_UPSERT,
    };
    D::insert_rows(conn, &insert).await
}

/// The statement setting one `paddock_state` entry, and its parameters (for the tools; a
/// unit's entries are written in bulk by [`record_unit`]).
pub fn set_state_sql<D: Dialect>(
    key: &StateKey,
    value: &str,
    at: DateTime<Utc>,
) -> (String, Params<D>) {
    let mut p = Params::<D>::new();
    let names: Vec<&str> = STATE_COLUMNS.iter().map(|(name, _)| *name).collect();
    let sql = format!(
        "INSERT INTO paddock_state ({}) VALUES ({}, {}, {}) {STATE_UPSERT}",
        names.join(", "),
        p.add(Value::Text(key.text()), Text),
        p.add(text(Some(value)), Text),
        p.add(Value::Timestamp(at), Timestamp),
    );
    (sql, p)
}

/// The statement removing one `paddock_state` entry, and its parameters.
pub fn delete_state_sql<D: Dialect>(key: &StateKey) -> (String, Params<D>) {
    let mut p = Params::<D>::new();
    let sql = format!(
        "DELETE FROM paddock_state WHERE \"key\" = {}",
        p.add(Value::Text(key.text()), Text)
    );
    (sql, p)
}

async fn set_checkpoint<D: Dialect>(
    conn: &mut Conn<D>,
    run_id: RunId,
    unit: &UnitOfWork,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let Some(cp) = &unit.checkpoint else {
        return Ok(());
    };
    let mut p = Params::<D>::new();
    let sql = format!(
        "INSERT INTO paddock_checkpoints (name, job, \"cursor\", status, run_id, updated_at) \
         VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (name) DO UPDATE SET job = excluded.job, \
         \"cursor\" = excluded.\"cursor\", status = excluded.status, \
         run_id = excluded.run_id, updated_at = excluded.updated_at",
        p.add(text(Some(&cp.name)), Text),
        p.add(text(Some(&cp.job)), Text),
        p.add(text(cp.cursor.as_deref()), Text),
        p.add(text(Some(cp.status.name())), Text),
        p.add(Value::Integer(run_id.get()), Integer),
        p.add(Value::Timestamp(now), Timestamp),
    );
    D::execute(conn, &sql, p.values()).await.map(|_| ())
}

/// Adds `counts` to run `run_id`'s per-table counters (`paddock_run_tables`).
pub async fn add_run_counts<D: Dialect>(
    conn: &mut Conn<D>,
    run_id: RunId,
    counts: &Counts,
) -> Result<(), sqlx::Error> {
    if counts.0.is_empty() {
        return Ok(());
    }
    let rows = counts
        .0
        .iter()
        .map(|(table, c)| {
            vec![
                Value::Integer(run_id.get()),
                Value::Text(table.clone()),
                count(c.inserted),
                count(c.updated),
                count(c.unchanged),
                count(c.rejected),
                count(c.deleted),
            ]
        })
        .collect();
    let insert = BulkInsert {
        table: "paddock_run_tables",
        columns: RUN_TABLE_COLUMNS,
        rows,
        on_conflict: "ON CONFLICT (run_id, table_name) DO UPDATE SET \
                      inserted = paddock_run_tables.inserted + excluded.inserted, \
                      updated = paddock_run_tables.updated + excluded.updated, \
                      unchanged = paddock_run_tables.unchanged + excluded.unchanged, \
                      rejected = paddock_run_tables.rejected + excluded.rejected, \
                      deleted = paddock_run_tables.deleted + excluded.deleted",
    };
    D::insert_rows(conn, &insert).await
}

/// Opens a ledger row (status `running`).
pub async fn start_run<D: Dialect>(
    conn: &mut Conn<D>,
    job: &str,
    trigger: RunTrigger,
    params: &serde_json::Value,
) -> Result<RunId, sqlx::Error> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "INSERT INTO paddock_runs (job, run_trigger, params, started_at, status, api_requests, \
         rows_rejected) VALUES ({}, {}, {}, {}, {}, 0, 0) RETURNING run_id",
        p.add(text(Some(job)), Text),
        p.add(text(Some(trigger.name())), Text),
        p.add(Value::Json(params.clone()), Json),
        p.add(Value::Timestamp(Utc::now()), Timestamp),
        p.add(text(Some(RunStatus::Running.name())), Text),
    );
    let rows = dialect::fetch::<D>(conn, &sql, p.values(), &[Integer]).await?;
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Integer(id)) => Ok(RunId(*id)),
        _ => Err(sqlx::Error::RowNotFound),
    }
}

/// Closes a ledger row; returns whether the run existed.
pub async fn finish_run<D: Dialect>(
    conn: &mut Conn<D>,
    run_id: RunId,
    finish: &RunFinish,
) -> Result<bool, sqlx::Error> {
    let requests: u64 = finish.requests_by_endpoint.values().sum();
    let by_endpoint = serde_json::to_value(&finish.requests_by_endpoint)
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let mut p = Params::<D>::new();
    let sql = format!(
        "UPDATE paddock_runs SET finished_at = {}, status = {}, api_requests = {}, \
         requests_by_endpoint = {}, error_text = {} WHERE run_id = {}",
        p.add(Value::Timestamp(Utc::now()), Timestamp),
        p.add(text(Some(finish.status.name())), Text),
        p.add(count(requests), Integer),
        p.add(Value::Json(by_endpoint), Json),
        p.add(text(finish.error_text.as_deref()), Text),
        p.add(Value::Integer(run_id.get()), Integer),
    );
    Ok(D::execute(conn, &sql, p.values()).await? == 1)
}

/// The counters accumulated for a run.
pub async fn run_counts<D: Dialect>(
    conn: &mut Conn<D>,
    run_id: RunId,
) -> Result<Counts, sqlx::Error> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "SELECT table_name, inserted, updated, unchanged, rejected, deleted FROM paddock_run_tables \
         WHERE run_id = {} ORDER BY table_name",
        p.add(Value::Integer(run_id.get()), Integer)
    );
    let rows = dialect::fetch::<D>(
        conn,
        &sql,
        p.values(),
        &[Text, Integer, Integer, Integer, Integer, Integer],
    )
    .await?;
    let mut counts = Counts::default();
    for row in rows {
        let n = |i: usize| match row.get(i) {
            Some(Value::Integer(n)) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        };
        *counts.entry(&row[0].key_text()) = TableCounts {
            inserted: n(1),
            updated: n(2),
            unchanged: n(3),
            rejected: n(4),
            deleted: n(5),
        };
    }
    Ok(counts)
}

/// The latest `limit` runs, newest first.
pub async fn recent_runs<D: Dialect>(
    conn: &mut Conn<D>,
    limit: i64,
) -> Result<Vec<RunRecord>, sqlx::Error> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "SELECT run_id, job, run_trigger, started_at, finished_at, status, api_requests, \
         rows_rejected, error_text FROM paddock_runs ORDER BY run_id DESC LIMIT {}",
        p.add(Value::Integer(limit), Integer)
    );
    let columns = [
        Integer, Text, Text, Timestamp, Timestamp, Text, Integer, Integer, Text,
    ];
    let rows = dialect::fetch::<D>(conn, &sql, p.values(), &columns).await?;
    rows.iter().map(|row| run_record(row)).collect()
}

/// A ledger row as typed values; an unknown trigger or status, or a missing start, is a
/// decode error.
fn run_record(row: &[Value]) -> Result<RunRecord, sqlx::Error> {
    let cells = Cells(row);
    let integer = |i: usize| cells.integer(i).unwrap_or(0);
    let text = |i: usize| cells.text(i);
    let time = |i: usize| cells.timestamp(i);
    let decode = |e: UnknownName| sqlx::Error::Decode(Box::new(e));
    Ok(RunRecord {
        run_id: RunId(integer(0)),
        job: text(1).unwrap_or_default(),
        trigger: RunTrigger::parse(&text(2).unwrap_or_default()).map_err(decode)?,
        started_at: time(3).ok_or_else(|| sqlx::Error::Decode("a run without a start".into()))?,
        finished_at: time(4),
        status: RunStatus::parse(&text(5).unwrap_or_default()).map_err(decode)?,
        api_requests: integer(6),
        rows_rejected: integer(7),
        error_text: text(8),
    })
}

/// A value from `paddock_state`.
pub async fn get_state<D: Dialect>(
    conn: &mut Conn<D>,
    key: &StateKey,
) -> Result<Option<String>, sqlx::Error> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "SELECT value FROM paddock_state WHERE \"key\" = {}",
        p.add(Value::Text(key.text()), Text)
    );
    let rows = dialect::fetch::<D>(conn, &sql, p.values(), &[Text]).await?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|row| match row.into_iter().next() {
            Some(Value::Text(s)) => Some(s),
            _ => None,
        }))
}

#[cfg(test)]
mod tests {
    use crate::store::ledger::latest_state;
    use fetchers::store::StateKey;

    #[test]
    fn later_state_values_win() {
        let state = vec![
            (StateKey::from("a"), "1".to_string()),
            (StateKey::from("b"), "2".to_string()),
            (StateKey::from("a"), "3".to_string()),
        ];
        let (a, b) = (StateKey::from("a"), StateKey::from("b"));
        assert_eq!(latest_state(&state), vec![(&a, "3"), (&b, "2")]);
    }
}

//! The alert step of a unit's transaction (issue 22): the `[[alerts.rules]]` evaluated after the
//! unit's rows (and the odds step) are written, each alert inserted into `paddock_alerts` with
//! `ON CONFLICT DO NOTHING` against its unique key (rule, race, horse, bookmaker), so an event
//! alerts once, never again on a re-run or a replay of the same pages.
//!
//! - Price rules (`price_shortened`, `price_drifted`): one set-based statement per rule over the
//!   history rows this unit kept (`created_at` = the unit's instant, `last_run_id` = its run):
//!   the implied probability 1/decimal against its extreme (the minimum for shortened, the
//!   maximum for drifted) over the stored history of the same runner and bookmaker in the
//!   preceding `within_minutes` of API time (`observed_at`), the price in effect at the
//!   window's start included (history is stored on change: the last row before the window is
//!   the price the window opened with). The move in percent is compared with a tolerance of
//!   1e-9 (SQLite keeps decimals as binary floats).
//! - The other kinds compare the rows before the write ([`watch_before`], read inside the same
//!   transaction before any group is written) with the rows after it: a non-runner flag set, a
//!   race abandoned, a going or a jockey that changed from one known value to another. A row
//!   that did not exist before is no change.
//!
//! Alerts triggered per rule are counted for `/metrics` once their unit committed
//! ([`count_triggered`], [`triggered_totals`]).

use crate::config::{AlertKind, AlertRule};
use crate::store::dialect::{self, Cells, Conn, Dialect, Fragment, Params};
use crate::store::physical::PhysicalNames;
use crate::store::plan::{value_of, WriteGroup};
use chrono::{DateTime, Utc};
use fetchers::registry::{ColumnType, TableName};
use fetchers::rows::Value;
use fetchers::store::RunId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

/// The alerts' table (the outbox).
pub const ALERTS: &str = "paddock_alerts";

/// Alerts inserted per rule by one unit.
pub type Fired = BTreeMap<String, u64>;

static TRIGGERED: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// Adds a committed unit's alerts to the process-wide totals per rule.
pub fn count_triggered(fired: &Fired) {
    let mut totals = TRIGGERED.lock().unwrap_or_else(|e| e.into_inner());
    for (rule, n) in fired {
        *totals.entry(rule.clone()).or_default() += n;
    }
}

/// Alerts triggered per rule by this process's committed units (`paddock_alerts_total`).
pub fn triggered_totals() -> BTreeMap<String, u64> {
    TRIGGERED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A race's watched values: (going, abandoned).
type RaceState = (Option<String>, bool);
/// A runner's watched values: (jockey, non-runner).
type RunnerState = (Option<String>, bool);

/// The watched values of the races (and their runners) a unit writes, as stored.
#[derive(Debug, Default)]
pub struct Watched {
    races: HashMap<String, RaceState>,
    runners: HashMap<(String, String), RunnerState>,
}

/// Race ids per statement when reading the watched rows.
const RACES_PER_READ: usize = 500;

fn watches_rows(rules: &[AlertRule]) -> bool {
    rules.iter().any(|r| !r.kind.is_price())
}

/// The race ids of the unit's race and runner rows.
fn race_ids(groups: &[WriteGroup]) -> Vec<String> {
    let mut ids = BTreeSet::new();
    for group in groups {
        let column = match group.table.name {
            n if n == TableName::RACES.as_str() => "id",
            n if n == TableName::RUNNERS.as_str() => "race_id",
            _ => continue,
        };
        for row in &group.rows {
            if let Value::Text(id) = value_of(row, column) {
                ids.insert(id.clone());
            }
        }
    }
    ids.into_iter().collect()
}

/// Reads the watched values of the unit's races and runners (none without a rule that needs
/// them, or a unit without race or runner rows).
pub async fn watch_before<D: Dialect>(
    conn: &mut Conn<D>,
    physical: &PhysicalNames,
    groups: &[WriteGroup],
    rules: &[AlertRule],
) -> Result<Option<Watched>, sqlx::Error> {
    if !watches_rows(rules) {
        return Ok(None);
    }
    let ids = race_ids(groups);
    if ids.is_empty() {
        return Ok(None);
    }
    read_watched::<D>(conn, physical, &ids).await.map(Some)
}

async fn read_watched<D: Dialect>(
    conn: &mut Conn<D>,
    physical: &PhysicalNames,
    ids: &[String],
) -> Result<Watched, sqlx::Error> {
    let races = physical.read(TableName::RACES.table());
    let runners = physical.read(TableName::RUNNERS.table());
    let mut watched = Watched::default();
    for chunk in ids.chunks(RACES_PER_READ) {
        let mut p = Params::<D>::new();
        let list = chunk
            .iter()
            .map(|id| p.add(Value::Text(id.clone()), ColumnType::Text))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT id, going, is_abandoned FROM {races} WHERE id IN ({list})");
        let columns = [ColumnType::Text, ColumnType::Text, ColumnType::Boolean];
        for row in dialect::fetch::<D>(conn, &sql, p.values(), &columns).await? {
            let abandoned = matches!(row.get(2), Some(Value::Boolean(true)));
            let cells = Cells(&row);
            let id = cells.text(0).unwrap_or_default();
            watched.races.insert(id, (cells.text(1), abandoned));
        }
        let sql = format!(
            "SELECT race_id, horse_id, jockey_id, is_non_runner FROM {runners} \
             WHERE race_id IN ({list})"
        );
        let columns = [
            ColumnType::Text,
            ColumnType::Text,
            ColumnType::Text,
            ColumnType::Boolean,
        ];
        for row in dialect::fetch::<D>(conn, &sql, p.values(), &columns).await? {
            let non_runner = matches!(row.get(3), Some(Value::Boolean(true)));
            let cells = Cells(&row);
            let key = (
                cells.text(0).unwrap_or_default(),
                cells.text(1).unwrap_or_default(),
            );
            watched.runners.insert(key, (cells.text(2), non_runner));
        }
    }
    Ok(watched)
}

/// One alert of a non-price rule, before it is inserted.
struct RowAlert {
    race_id: String,
    horse_id: Option<String>,
    message: String,
}

/// What changed between `before` and `after` that `kind` watches.
fn row_alerts(kind: AlertKind, before: &Watched, after: &Watched) -> Vec<RowAlert> {
    let mut out = Vec::new();
    let changed = |old: &Option<String>, new: &Option<String>| match (old, new) {
        (Some(o), Some(n)) if o != n => Some(format!("from {o} to {n}")),
        _ => None,
    };
    match kind {
        AlertKind::Abandoned | AlertKind::GoingChanged => {
            let mut races: Vec<_> = after.races.iter().collect();
            races.sort();
            for (race, (going, abandoned)) in races {
                let Some((old_going, was_abandoned)) = before.races.get(race) else {
                    continue;
                };
                let message = match kind {
                    AlertKind::Abandoned if *abandoned && !was_abandoned => {
                        format!("race {race} abandoned")
                    }
                    AlertKind::GoingChanged => match changed(old_going, going) {
                        Some(change) => format!("race {race}: going changed {change}"),
                        None => continue,
                    },
                    _ => continue,
                };
                out.push(RowAlert {
                    race_id: race.clone(),
                    horse_id: None,
                    message,
                });
            }
        }
        AlertKind::NonRunner | AlertKind::JockeyChanged => {
            let mut runners: Vec<_> = after.runners.iter().collect();
            runners.sort();
            for ((race, horse), (jockey, non_runner)) in runners {
                let Some((old_jockey, was_non_runner)) =
                    before.runners.get(&(race.clone(), horse.clone()))
                else {
                    continue;
                };
                let message = match kind {
                    AlertKind::NonRunner if *non_runner && !was_non_runner => {
                        format!("race {race}: {horse} is a non-runner")
                    }
                    AlertKind::JockeyChanged => match changed(old_jockey, jockey) {
                        Some(change) => format!("race {race}: {horse}'s jockey changed {change}"),
                        None => continue,
                    },
                    _ => continue,
                };
                out.push(RowAlert {
                    race_id: race.clone(),
                    horse_id: Some(horse.clone()),
                    message,
                });
            }
        }
        AlertKind::PriceShortened | AlertKind::PriceDrifted => {}
    }
    out
}

/// The columns every alert insert writes, in order.
const INSERT_COLUMNS: &str = "triggered_at, rule_name, kind, race_id, horse_id, bookmaker_id, \
     threshold, actual, observed_at, message, run_id, sent, delivery_attempts";

/// Evaluates every rule for the unit just written (see the module documentation); `before`
/// is what [`watch_before`] read. Returns the alerts inserted per rule.
pub async fn evaluate<D: Dialect>(
    conn: &mut Conn<D>,
    physical: &PhysicalNames,
    groups: &[WriteGroup],
    rules: &[AlertRule],
    before: Option<Watched>,
    run_id: RunId,
    now: DateTime<Utc>,
) -> Result<Fired, sqlx::Error> {
    let mut fired = Fired::new();
    let history = TableName::RUNNER_ODDS.table();
    let wrote_prices = groups.iter().any(|g| g.table.name == history.name);
    let after = match &before {
        Some(_) => Some(read_watched::<D>(conn, physical, &race_ids(groups)).await?),
        None => None,
    };
    for rule in rules {
        let inserted = if rule.kind.is_price() {
            if !wrote_prices {
                continue;
            }
            insert_price_alerts::<D>(conn, physical.read(history), rule, run_id, now).await?
        } else if let (Some(before), Some(after)) = (&before, &after) {
            let mut n = 0;
            for alert in row_alerts(rule.kind, before, after) {
                n += insert_row_alert::<D>(conn, rule, &alert, run_id, now).await?;
            }
            n
        } else {
            continue;
        };
        if inserted > 0 {
            *fired.entry(rule.name.clone()).or_default() += inserted;
        }
    }
    Ok(fired)
}

async fn insert_row_alert<D: Dialect>(
    conn: &mut Conn<D>,
    rule: &AlertRule,
    alert: &RowAlert,
    run_id: RunId,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    use ColumnType::{Boolean, Decimal, Integer, Text, Timestamp};
    let mut p = Params::<D>::new();
    let values = [
        (Value::Timestamp(now), Timestamp),
        (Value::Text(rule.name.clone()), Text),
        (Value::Text(rule.kind.name().to_string()), Text),
        (Value::Text(alert.race_id.clone()), Text),
        (dialect::text(alert.horse_id.as_deref()), Text),
        (Value::Null, Text),
        (Value::Null, Decimal),
        (Value::Null, Decimal),
        (Value::Null, Timestamp),
        (Value::Text(alert.message.clone()), Text),
        (Value::Integer(run_id.get()), Integer),
        (Value::Boolean(false), Boolean),
        (Value::Integer(0), Integer),
    ]
    .into_iter()
    .map(|(v, ty)| p.add(v, ty))
    .collect::<Vec<_>>()
    .join(", ");
    let sql =
        format!("INSERT INTO {ALERTS} ({INSERT_COLUMNS}) VALUES ({values}) ON CONFLICT DO NOTHING");
    D::execute(conn, &sql, p.values()).await
}

fn same_price_series(a: &str, b: &str) -> String {
    format!(
        "{a}.race_id = {b}.race_id AND {a}.horse_id = {b}.horse_id \
         AND {a}.bookmaker_id = {b}.bookmaker_id"
    )
}

/// One price rule over the history rows this unit kept: see the module documentation.
async fn insert_price_alerts<D: Dialect>(
    conn: &mut Conn<D>,
    history: &str,
    rule: &AlertRule,
    run_id: RunId,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    use ColumnType::{Boolean, Decimal, Integer, Text, Timestamp};
    let (extreme, moved) = match rule.kind {
        AlertKind::PriceShortened => ("MAX", "(x.extreme / x.decimal - 1) * 100"),
        _ => ("MIN", "(1 - x.extreme / x.decimal) * 100"),
    };
    let percent = rule.percent.unwrap_or(0.0);
    let epoch = |e: &str| D::fragment(Fragment::EpochSeconds, e);
    let window_secs = i64::from(rule.within_minutes) * 60;
    let mut p = Params::<D>::new();
    let prefix = format!(
        "{}: {} by {percent}% or more within {} minutes: ",
        rule.name,
        rule.kind.name(),
        rule.within_minutes
    );
    let sql = format!(
        "INSERT INTO {ALERTS} ({INSERT_COLUMNS}) \
         SELECT {now}, {rule_name}, {kind}, x.race_id, x.horse_id, x.bookmaker_id, {threshold}, \
         {moved}, x.observed_at, {prefix} || x.horse_id || ' at ' || x.bookmaker_id || ' now ' \
         || COALESCE(x.fractional, '?'), {run}, {unsent}, 0 \
         FROM (SELECT o.race_id, o.horse_id, o.bookmaker_id, o.observed_at, o.fractional, \
         o.decimal, (SELECT {extreme}(h.decimal) FROM {history} h WHERE {h_same} \
         AND h.decimal > 0 AND h.observed_at < o.observed_at \
         AND ({h_epoch} >= {o_epoch} - {window} OR h.observed_at = \
         (SELECT MAX(q.observed_at) FROM {history} q WHERE {q_same} \
         AND {q_epoch} <= {o_epoch} - {window2}))) AS extreme \
         FROM {history} o WHERE o.created_at = {now2} AND o.last_run_id = {run2} \
         AND o.decimal > 0 AND o.observed_at IS NOT NULL) x \
         WHERE x.extreme IS NOT NULL AND {moved} >= {threshold2} - 0.000000001 \
         ORDER BY x.observed_at ON CONFLICT DO NOTHING",
        now = p.add(Value::Timestamp(now), Timestamp),
        rule_name = p.add(Value::Text(rule.name.clone()), Text),
        kind = p.add(Value::Text(rule.kind.name().to_string()), Text),
        threshold = p.add(Value::Decimal(percent), Decimal),
        prefix = p.add(Value::Text(prefix.clone()), Text),
        run = p.add(Value::Integer(run_id.get()), Integer),
        unsent = p.add(Value::Boolean(false), Boolean),
        h_same = same_price_series("h", "o"),
        h_epoch = epoch("h.observed_at"),
        o_epoch = epoch("o.observed_at"),
        window = p.add(Value::Integer(window_secs), Integer),
        q_same = same_price_series("q", "o"),
        q_epoch = epoch("q.observed_at"),
        window2 = p.add(Value::Integer(window_secs), Integer),
        now2 = p.add(Value::Timestamp(now), Timestamp),
        run2 = p.add(Value::Integer(run_id.get()), Integer),
        threshold2 = p.add(Value::Decimal(percent), Decimal),
    );
    D::execute(conn, &sql, p.values()).await
}

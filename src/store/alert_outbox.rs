//! The alerts' outbox on `paddock_alerts` (issue 22): the stored alerts read back (all, the
//! unsent ones, those since an instant; `paddock alerts`, the delivery), an alert marked sent
//! after a 2xx, a failed delivery recorded (attempts and the last error). Written once over
//! [`SqlStore`]; the [`AnyStore`] functions choose the backend.

use super::alerts::ALERTS;
use super::dialect::{self, Cells, Dialect, Params};
use super::{with_backend, AnyStore, SqlStore};
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType::{Boolean, Decimal, Integer, Text, Timestamp};
use fetchers::rows::Value;

/// One stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub alert_id: i64,
    pub rule: String,
    pub kind: String,
    pub race_id: String,
    pub horse_id: Option<String>,
    /// `None` for a rule that is not about one bookmaker's prices.
    pub bookmaker_id: Option<String>,
    pub threshold: Option<f64>,
    pub actual: Option<f64>,
    pub triggered_at: DateTime<Utc>,
    /// The API's time of the price that fired a price rule.
    pub observed_at: Option<DateTime<Utc>>,
    pub message: String,
    pub sent: bool,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivery_attempts: i64,
    pub last_error: Option<String>,
}

/// Which alerts to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlertFilter {
    /// Only the alerts not delivered yet.
    pub unsent: bool,
    /// Only the alerts triggered at or after this instant.
    pub since: Option<DateTime<Utc>>,
}

/// The alerts `filter` selects, oldest first (by id).
pub async fn read_alerts(
    store: &AnyStore,
    filter: AlertFilter,
) -> anyhow::Result<Vec<StoredAlert>> {
    with_backend!(store, |s| read_alerts_in(s, filter).await)
}

async fn read_alerts_in<D: Dialect>(
    store: &SqlStore<D>,
    filter: AlertFilter,
) -> anyhow::Result<Vec<StoredAlert>> {
    let mut p = Params::<D>::new();
    let mut conditions = vec!["1 = 1".to_string()];
    if filter.unsent {
        conditions.push(format!("sent = {}", p.add(Value::Boolean(false), Boolean)));
    }
    if let Some(since) = filter.since {
        conditions.push(format!(
            "triggered_at >= {}",
            p.add(Value::Timestamp(since), Timestamp)
        ));
    }
    let sql = format!(
        "SELECT id, rule_name, kind, race_id, horse_id, bookmaker_id, \
         CAST(threshold AS DOUBLE PRECISION), CAST(actual AS DOUBLE PRECISION), \
         triggered_at, observed_at, message, sent, sent_at, delivery_attempts, last_error \
         FROM {ALERTS} WHERE {} ORDER BY id",
        conditions.join(" AND ")
    );
    let columns = [
        Integer, Text, Text, Text, Text, Text, Decimal, Decimal, Timestamp, Timestamp, Text,
        Boolean, Timestamp, Integer, Text,
    ];
    let mut conn = store.connection(Some(ALERTS)).await?;
    let rows = dialect::fetch::<D>(&mut conn, &sql, p.values(), &columns).await?;
    Ok(rows.iter().map(|row| stored_alert(row)).collect())
}

fn stored_alert(row: &[Value]) -> StoredAlert {
    let cells = Cells(row);
    let decimal = |i: usize| match row.get(i) {
        Some(Value::Decimal(d)) => Some(*d),
        Some(Value::Integer(n)) => Some(*n as f64),
        _ => None,
    };
    StoredAlert {
        alert_id: cells.integer(0).unwrap_or_default(),
        rule: cells.text(1).unwrap_or_default(),
        kind: cells.text(2).unwrap_or_default(),
        race_id: cells.text(3).unwrap_or_default(),
        horse_id: cells.text(4),
        bookmaker_id: cells.text(5),
        threshold: decimal(6),
        actual: decimal(7),
        triggered_at: cells.timestamp(8).unwrap_or_default(),
        observed_at: cells.timestamp(9),
        message: cells.text(10).unwrap_or_default(),
        sent: matches!(row.get(11), Some(Value::Boolean(true))),
        sent_at: cells.timestamp(12),
        delivery_attempts: cells.integer(13).unwrap_or_default(),
        last_error: cells.text(14),
    }
}

/// Records a delivery of alert `id` that took `attempts` attempts: sent at `at` when
/// `error` is `None` (a 2xx), else still unsent with `error` as its last error.
pub async fn record_delivery(
    store: &AnyStore,
    id: i64,
    attempts: u32,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> anyhow::Result<()> {
    with_backend!(store, |s| record_delivery_in(s, id, attempts, at, error)
        .await)
}

async fn record_delivery_in<D: Dialect>(
    store: &SqlStore<D>,
    id: i64,
    attempts: u32,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> anyhow::Result<()> {
    let mut p = Params::<D>::new();
    let sql = match error {
        None => format!(
            "UPDATE {ALERTS} SET sent = {}, sent_at = {}, last_error = NULL, \
             delivery_attempts = delivery_attempts + {} WHERE id = {}",
            p.add(Value::Boolean(true), Boolean),
            p.add(Value::Timestamp(at), Timestamp),
            p.add(Value::Integer(i64::from(attempts)), Integer),
            p.add(Value::Integer(id), Integer),
        ),
        Some(error) => format!(
            "UPDATE {ALERTS} SET last_error = {}, \
             delivery_attempts = delivery_attempts + {} WHERE id = {}",
            p.add(dialect::text(Some(error)), Text),
            p.add(Value::Integer(i64::from(attempts)), Integer),
            p.add(Value::Integer(id), Integer),
        ),
    };
    let mut conn = store.connection(Some(ALERTS)).await?;
    D::execute(&mut conn, &sql, p.values()).await?;
    Ok(())
}

//! Alerts (issue 22) beyond the store: the JSON object an alert is, the same for the webhook's
//! body and each element of `paddock alerts --format json` ([`AlertJson`]); the outbox's
//! delivery after commit (`delivery.rs`: signed POSTs, retried with backoff, marked sent only
//! after a 2xx); the `paddock alerts` command (`cli.rs`). The rules are `config::AlertRule`;
//! they are evaluated in each unit's transaction by `store::alerts`; the outbox table's reads
//! and marks are `store::alert_outbox`.

pub mod cli;
pub mod delivery;

use crate::store::alert_outbox::StoredAlert;
use chrono::SecondsFormat;
use serde::Serialize;

/// One alert as JSON: the webhook's body, and (with its delivery state) each element of
/// `paddock alerts --format json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertJson {
    pub alert_id: i64,
    pub rule: String,
    pub kind: String,
    pub race_id: String,
    pub horse_id: Option<String>,
    /// `null` for a rule that is not about one bookmaker's prices.
    pub bookmaker_id: Option<String>,
    /// Price rules: the rule's percent.
    pub threshold: Option<f64>,
    /// Price rules: the move of the implied probability, in percent.
    pub actual: Option<f64>,
    /// RFC 3339, UTC.
    pub triggered_at: String,
    /// Price rules: the API's time of the price that fired the rule.
    pub observed_at: Option<String>,
    pub message: String,
}

impl From<&StoredAlert> for AlertJson {
    fn from(a: &StoredAlert) -> Self {
        let time = |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        AlertJson {
            alert_id: a.alert_id,
            rule: a.rule.clone(),
            kind: a.kind.clone(),
            race_id: a.race_id.clone(),
            horse_id: a.horse_id.clone(),
            bookmaker_id: a.bookmaker_id.clone(),
            threshold: a.threshold,
            actual: a.actual,
            triggered_at: time(&a.triggered_at),
            observed_at: a.observed_at.as_ref().map(time),
            message: a.message.clone(),
        }
    }
}

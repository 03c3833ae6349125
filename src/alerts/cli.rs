//! `paddock alerts [--unsent] [--since …] [--format table|json]`: the stored alerts, oldest
//! first, read-only (the reporting connection: `[database] read_url` when set). JSON is one
//! array of [`super::AlertJson`] objects, each with its delivery state.

use super::AlertJson;
use crate::config::Config;
use crate::store::alert_outbox::{read_alerts, AlertFilter, StoredAlert};
use anyhow::{anyhow, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// `paddock alerts`' arguments.
#[derive(clap::Args, Debug)]
pub struct AlertsArgs {
    /// Only the alerts not delivered yet.
    #[arg(long)]
    pub unsent: bool,
    /// Only the alerts triggered since this instant (RFC 3339) or day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Output: a readable table, or a JSON array.
    #[arg(long, value_enum, default_value = "table")]
    pub format: AlertsFormat,
}

/// `paddock alerts --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlertsFormat {
    Table,
    Json,
}

/// One element of `paddock alerts --format json`.
#[derive(Debug, Serialize)]
struct ListedAlert {
    #[serde(flatten)]
    alert: AlertJson,
    sent: bool,
    sent_at: Option<String>,
    delivery_attempts: i64,
    last_error: Option<String>,
}

/// Runs `paddock alerts`; returns the exit status (0).
pub async fn run(config: &Config, args: AlertsArgs) -> Result<i32> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let store = crate::open_store_read_only(config).await?;
    let filter = AlertFilter {
        unsent: args.unsent,
        since,
    };
    let alerts = read_alerts(&store, filter).await?;
    match args.format {
        AlertsFormat::Json => println!("{}", render_json(&alerts)?),
        AlertsFormat::Table => print!("{}", render_table(&alerts)),
    }
    Ok(0)
}

/// `--since`: an RFC 3339 instant, or a day (its midnight, UTC).
pub fn parse_since(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        anyhow!("--since {text:?}: neither an RFC 3339 instant nor a day (YYYY-MM-DD)")
    })?;
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// The alerts as one JSON array.
pub fn render_json(alerts: &[StoredAlert]) -> Result<String> {
    let listed: Vec<ListedAlert> = alerts
        .iter()
        .map(|a| ListedAlert {
            alert: AlertJson::from(a),
            sent: a.sent,
            sent_at: a.sent_at.map(|t| t.to_rfc3339()),
            delivery_attempts: a.delivery_attempts,
            last_error: a.last_error.clone(),
        })
        .collect();
    Ok(serde_json::to_string_pretty(&listed)?)
}

/// The alerts as a table, one line each.
pub fn render_table(alerts: &[StoredAlert]) -> String {
    if alerts.is_empty() {
        return "no alerts\n".to_string();
    }
    let mut out = format!(
        "{:>6}  {:<20}  {:<16}  {:<15}  {:>8}  {:<6}  {}\n",
        "id", "triggered (UTC)", "rule", "kind", "move %", "sent", "message"
    );
    for a in alerts {
        let moved = a.actual.map(|m| format!("{m:.1}")).unwrap_or_default();
        let sent = if a.sent { "yes" } else { "no" };
        out.push_str(&format!(
            "{:>6}  {:<20}  {:<16}  {:<15}  {:>8}  {:<6}  {}\n",
            a.alert_id,
            a.triggered_at.format("%Y-%m-%d %H:%M:%S"),
            a.rule,
            a.kind,
            moved,
            sent,
            a.message
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_an_instant_or_a_day_at_midnight_utc_and_refuses_anything_else() {
        let at = parse_since("2025-06-15T10:30:00+01:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2025-06-15T09:30:00+00:00");
        let day = parse_since("2025-06-15").unwrap();
        assert_eq!(day.to_rfc3339(), "2025-06-15T00:00:00+00:00");
        let err = parse_since("yesterday").unwrap_err().to_string();
        assert!(err.contains("yesterday"), "{err}");
    }

    #[test]
    fn the_json_list_is_one_array_with_the_issues_keys_and_the_delivery_state() {
        let alert = StoredAlert {
            alert_id: 7,
            rule: "steamer".into(),
            kind: "price_shortened".into(),
            race_id: "rac_1".into(),
            horse_id: Some("hrs_1".into()),
            bookmaker_id: None,
            threshold: Some(20.0),
            actual: Some(25.0),
            triggered_at: parse_since("2025-06-15T12:00:00Z").unwrap(),
            observed_at: None,
            message: "m".into(),
            sent: false,
            sent_at: None,
            delivery_attempts: 2,
            last_error: Some("the webhook answered 500".into()),
        };
        let listed: serde_json::Value =
            serde_json::from_str(&render_json(std::slice::from_ref(&alert)).unwrap()).unwrap();
        let one = &listed.as_array().unwrap()[0];
        assert_eq!(one["alert_id"], 7);
        assert_eq!(one["bookmaker_id"], serde_json::Value::Null);
        assert_eq!(one["triggered_at"], "2025-06-15T12:00:00Z");
        assert_eq!(one["delivery_attempts"], 2);
        assert!(render_table(&[alert]).contains("steamer"));
        assert_eq!(render_table(&[]), "no alerts\n");
    }
}

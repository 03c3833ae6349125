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

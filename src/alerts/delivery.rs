//! The outbox's delivery (issue 22): every unsent alert, oldest first, POSTed as JSON
//! ([`super::AlertJson`]) to `[alerts.webhook] url` after the units that triggered it
//! committed; each attempt signed ([`signature`]: header [`TIMESTAMP_HEADER`] with the unix
//! seconds, header [`SIGNATURE_HEADER`] `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`,
//! the secret from `PADDOCK_ALERTS_WEBHOOK_SECRET`), so a receiver can reject forgeries and
//! replays. A failed attempt is tried again with exponential backoff (backon); the alert is
//! marked sent only after a 2xx; an alert whose attempts all failed keeps its attempts and last
//! error and stays unsent (the next run, or the daemon's next start, tries again). An alert the
//! receiver rejects (it answered, not with a 2xx) does not hold back the others: the pass goes
//! on with the next alert. A receiver that cannot be reached (refused, timed out) stops the
//! pass: every following alert would wait out the same failures. Every run of a
//! fetch job delivers what is unsent (`run::run_job`), and so does the daemon at start: an
//! alert committed by a process killed before its delivery is delivered by the next one.
//!
//! One pass runs at a time in a process. Delivery is at least once: a process killed after a
//! 2xx and before the mark, or two processes delivering at once, may send an alert twice;
//! receivers deduplicate on `alert_id`.
//!
//! The secret is never logged; errors are logged without the URL (it may carry credentials).

use super::AlertJson;
use crate::config::{AlertSettings, Secret};
use crate::store::alert_outbox::{read_alerts, record_delivery, AlertFilter};
use crate::store::AnyStore;
use backon::{BackoffBuilder, ExponentialBuilder};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The header carrying the signing time (unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Paddock-Timestamp";
/// The header carrying `sha256=<hex HMAC>`.
pub const SIGNATURE_HEADER: &str = "X-Paddock-Signature";

/// Attempts after the first one, per alert and delivery.
const RETRIES: usize = 3;
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// How long one POST may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

static FAILURES: AtomicU64 = AtomicU64::new(0);

/// One delivery pass at a time in this process (the daemon's runs and its start may overlap):
/// two passes reading the same unsent alerts would send them twice.
static ONE_PASS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Failed delivery attempts in this process (`paddock_alert_delivery_failures_total`).
pub fn delivery_failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// What one delivery pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Alerts marked sent.
    pub sent: usize,
    /// Alerts whose attempts all failed (each keeps its last error, and stays unsent).
    pub failed: usize,
}

/// Why an attempt failed.
#[derive(Debug)]
struct AttemptFailure {
    /// Logged and stored as the alert's last error (without the URL).
    message: String,
    /// The receiver answered (a non-2xx): the next alert may still go through.
    answered: bool,
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &Secret, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = (mac.finalize().into_bytes().iter())
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Delivers every unsent alert (see the module documentation); without a webhook URL,
/// nothing (the alerts stay listed by `paddock alerts --unsent`).
pub async fn deliver_unsent(
    store: &AnyStore,
    settings: &AlertSettings,
) -> anyhow::Result<DeliveryReport> {
    let mut report = DeliveryReport::default();
    let Some(url) = &settings.webhook_url else {
        return Ok(report);
    };
    let _one_pass = ONE_PASS.lock().await;
    let filter = AlertFilter {
        unsent: true,
        since: None,
    };
    let unsent = read_alerts(store, filter).await?;
    if unsent.is_empty() {
        return Ok(report);
    }
    if settings.webhook_secret.is_none() {
        tracing::warn!(
            "no {}: alert deliveries go unsigned",
            crate::config::WEBHOOK_SECRET_ENV
        );
    }
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    for alert in &unsent {
        let body = serde_json::to_string(&AlertJson::from(alert))?;
        let (attempts, outcome) =
            post_with_retries(&client, url, settings.webhook_secret.as_ref(), &body).await;
        let now = chrono::Utc::now();
        match outcome {
            Ok(()) => {
                record_delivery(store, alert.alert_id, attempts, now, None).await?;
                report.sent += 1;
            }
            Err(failure) => {
                tracing::warn!(
                    alert_id = alert.alert_id,
                    attempts,
                    error = %failure.message,
                    "an alert was not delivered; the next run tries again"
                );
                let error = Some(failure.message.as_str());
                record_delivery(store, alert.alert_id, attempts, now, error).await?;
                report.failed += 1;
                if !failure.answered {
                    break;
                }
            }
        }
    }
    tracing::info!(
        sent = report.sent,
        failed = report.failed,
        "alert deliveries"
    );
    Ok(report)
}

/// POSTs `body` until a 2xx or the retries run out; returns the attempts made and the last
/// error.
async fn post_with_retries(
    client: &reqwest::Client,
    url: &str,
    secret: Option<&Secret>,
    body: &str,
) -> (u32, Result<(), AttemptFailure>) {
    let mut pauses = ExponentialBuilder::default()
        .with_min_delay(FIRST_PAUSE)
        .with_max_delay(MAX_PAUSE)
        .with_max_times(RETRIES)
        .build();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let error = match post_once(client, url, secret, body).await {
            Ok(()) => return (attempts, Ok(())),
            Err(error) => error,
        };
        FAILURES.fetch_add(1, Ordering::Relaxed);
        match pauses.next() {
            Some(pause) => tokio::time::sleep(pause).await,
            None => return (attempts, Err(error)),
        }
    }
}

async fn post_once(
    client: &reqwest::Client,
    url: &str,
    secret: Option<&Secret>,
    body: &str,
) -> Result<(), AttemptFailure> {
    let timestamp = chrono::Utc::now().timestamp();
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string());
    if let Some(secret) = secret {
        request = request.header(SIGNATURE_HEADER, signature(secret, timestamp, body));
    }
    match request.body(body.to_string()).send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(AttemptFailure {
            message: format!("the webhook answered {}", response.status()),
            answered: true,
        }),
        Err(error) => Err(AttemptFailure {
            message: format!("the webhook failed: {}", error.without_url()),
            answered: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    /// HMAC-SHA256 by its definition (RFC 2104), for a key of at most one block.
    fn hmac_by_hand(key: &[u8], message: &[u8]) -> String {
        let mut block = [0u8; 64];
        block[..key.len()].copy_from_slice(key);
        let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
        let inner = Sha256::new()
            .chain_update(pad(0x36))
            .chain_update(message)
            .finalize();
        let outer = Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize();
        outer.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_signature_is_the_hmac_sha256_of_timestamp_dot_body_in_hex() {
        // RFC 4231, test case 2: the hand-made HMAC is right.
        assert_eq!(
            hmac_by_hand(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let secret = Secret::new("whsec-test");
        let body = r#"{"alert_id":1}"#;
        assert_eq!(
            signature(&secret, 1_700_000_000, body),
            format!(
                "sha256={}",
                hmac_by_hand(b"whsec-test", format!("1700000000.{body}").as_bytes())
            )
        );
        assert_ne!(
            signature(&secret, 1_700_000_001, body),
            signature(&secret, 1_700_000_000, body)
        );
    }
}

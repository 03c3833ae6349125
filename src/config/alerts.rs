//! `[[alerts.rules]]` and `[alerts.webhook]` (issue 22): the rules the store evaluates in each
//! unit's transaction ([`AlertRule`], [`AlertKind`]) and where the alerts go (the webhook's URL,
//! and the secret that signs each delivery: env `PADDOCK_ALERTS_WEBHOOK_SECRET`, `.env` or the
//! systemd credential of that name, a [`Secret`] never printed). An unknown kind, a price rule
//! without `percent`, a `percent` on a rule that is not about prices or two rules of one name
//! are errors naming the file and line.

use super::alert_rules::{AlertKind, AlertRule};
use super::file::{FileAlertRule, FileAlerts, Locator};
use super::secrets::{Env, Secret};
use anyhow::{bail, Result};

/// The environment variable (or systemd credential) holding the webhook's signing secret.
pub const WEBHOOK_SECRET_ENV: &str = "PADDOCK_ALERTS_WEBHOOK_SECRET";

/// A price rule's window when the rule names none (minutes of API time).
pub const DEFAULT_WITHIN_MINUTES: u32 = 60;

/// The alerts' settings (`[alerts]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertSettings {
    pub rules: Vec<AlertRule>,
    /// `[alerts.webhook] url`: where each alert is POSTed as JSON (none: alerts are only
    /// stored, listed by `paddock alerts`).
    pub webhook_url: Option<String>,
    /// The HMAC-SHA256 key signing each delivery ([`WEBHOOK_SECRET_ENV`]).
    pub webhook_secret: Option<Secret>,
}

/// `[alerts]` from the file, with the secret from the environment.
pub fn alert_settings(file: &FileAlerts, env: &dyn Env, at: &Locator) -> Result<AlertSettings> {
    let mut rules: Vec<AlertRule> = Vec::new();
    for rule in file.rules.iter().flatten() {
        let converted = alert_rule(rule, at)?;
        if rules.iter().any(|r| r.name == converted.name) {
            bail!(
                "{}: alerts.rules: a second rule named {:?} (names key the alerts: one rule each)",
                at.at(rule.name.span()),
                converted.name
            );
        }
        rules.push(converted);
    }
    let webhook_url = file
        .webhook
        .as_ref()
        .and_then(|w| w.url.clone())
        .filter(|u| !u.trim().is_empty());
    let webhook_secret = env
        .var(WEBHOOK_SECRET_ENV)
        .map(|s| Secret::new(s.trim_end_matches(['\n', '\r']).to_string()));
    Ok(AlertSettings {
        rules,
        webhook_url,
        webhook_secret,
    })
}

fn alert_rule(rule: &FileAlertRule, at: &Locator) -> Result<AlertRule> {
    let name = rule.name.get_ref().trim().to_string();
    if name.is_empty() {
        bail!(
            "{}: alerts.rules: a rule needs a name",
            at.at(rule.name.span())
        );
    }
    let Some(kind) = AlertKind::from_name(rule.kind.get_ref()) else {
        let known: Vec<&str> = AlertKind::ALL.iter().map(|(_, n)| *n).collect();
        bail!(
            "{}: alerts.rules {name:?}: unknown kind {:?} (one of {})",
            at.at(rule.kind.span()),
            rule.kind.get_ref(),
            known.join(", ")
        );
    };
    let percent = match (&rule.percent, kind.is_price()) {
        (Some(p), true) if *p.get_ref() > 0.0 && p.get_ref().is_finite() => Some(*p.get_ref()),
        (Some(p), true) => bail!(
            "{}: alerts.rules {name:?}: percent must be above 0, not {}",
            at.at(p.span()),
            p.get_ref()
        ),
        (None, true) => bail!(
            "{}: alerts.rules {name:?}: a {} rule needs percent",
            at.at(rule.kind.span()),
            kind.name()
        ),
        (Some(p), false) => bail!(
            "{}: alerts.rules {name:?}: percent is for price rules only, not {}",
            at.at(p.span()),
            kind.name()
        ),
        (None, false) => None,
    };
    let within_minutes = match &rule.within_minutes {
        Some(w) if !kind.is_price() => bail!(
            "{}: alerts.rules {name:?}: within_minutes is for price rules only, not {}",
            at.at(w.span()),
            kind.name()
        ),
        Some(w) if *w.get_ref() == 0 => bail!(
            "{}: alerts.rules {name:?}: within_minutes must be above 0",
            at.at(w.span())
        ),
        Some(w) => *w.get_ref(),
        None => DEFAULT_WITHIN_MINUTES,
    };
    Ok(AlertRule {
        name,
        kind,
        percent,
        within_minutes,
    })
}

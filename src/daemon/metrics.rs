//! The daemon's Prometheus metrics (`/metrics`): API responses by endpoint and status,
//! requests and retries, 429 pauses and limiter wait, rows written by table and kind, run
//! durations and outcomes, the last success time per job, the last audit's violations, and
//! the alerts triggered by rule and failed alert deliveries (process-wide counts caught up at
//! scrape time).
//!
//! The audit metrics (`paddock_audit_violations{check}`, one gauge per report section, and
//! `paddock_audit_last_run_timestamp_seconds`) come from the audit job's runs in this process:
//! until the first one completes, nothing about the audit is exported.
//!
//! The analytics copy's metrics (`paddock_analytics_copy_published_timestamp_seconds`,
//! `paddock_analytics_copy_size_bytes`, and `paddock_analytics_copy_age_seconds`, its sync lag
//! computed at scrape time) appear with the first publication known to this process: the one
//! recorded when the daemon started, or a run of the publish job.

use crate::audit::job::AuditCounts;
use crate::client::{ResponseHook, SharedLimiter};
use crate::publish::Publication;
use crate::run::RunResult;
use chrono::{DateTime, Utc};
use fetchers::api::ApiRequest;
use prometheus::{
    Counter, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec,
    Opts, Registry, TextEncoder,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Once};

/// Every metric, in one registry.
pub struct Metrics {
    registry: Registry,
    responses: IntCounterVec,
    requests: IntCounterVec,
    retries: IntCounterVec,
    rows: IntCounterVec,
    runs: IntCounterVec,
    run_duration: HistogramVec,
    last_success: GaugeVec,
    limiter_wait: Counter,
    pauses: IntCounter,
    audit_violations: IntGaugeVec,
    audit_last_run: Gauge,
    /// Alerts triggered by rule, and failed delivery attempts (process-wide counts).
    alerts: IntCounterVec,
    alert_delivery_failures: IntCounter,
    /// The audit metrics join the registry with the first audit result.
    audit_registered: Once,
    copy: CopyGauges,
    limiter: Arc<SharedLimiter>,
    /// Attempts beyond the first per endpoint, since the process started (the client's
    /// counters).
    retry_counts: Box<dyn Fn() -> BTreeMap<String, u64> + Send + Sync>,
}

impl Metrics {
    /// Metrics reading the limiter's counters and the client's retry counts at scrape time.
    pub fn new(
        limiter: Arc<SharedLimiter>,
        retry_counts: Box<dyn Fn() -> BTreeMap<String, u64> + Send + Sync>,
    ) -> anyhow::Result<Arc<Metrics>> {
        let registry = Registry::new();
        let responses = IntCounterVec::new(
            Opts::new(
                "paddock_api_responses_total",
                "API responses by endpoint and HTTP status, retried ones included",
            ),
            &["endpoint", "status"],
        )?;
        let requests = IntCounterVec::new(
            Opts::new(
                "paddock_api_requests_total",
                "Logical API requests by endpoint (one per page or resource)",
            ),
            &["endpoint"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "paddock_api_retries_total",
                "API attempts beyond the first, by endpoint",
            ),
            &["endpoint"],
        )?;
        let rows = IntCounterVec::new(
            Opts::new(
                "paddock_rows_total",
                "Rows by table and kind (inserted, updated, unchanged, rejected)",
            ),
            &["table", "kind"],
        )?;
        let runs = IntCounterVec::new(
            Opts::new("paddock_runs_total", "Runs by job and outcome"),
            &["job", "status"],
        )?;
        let run_duration = HistogramVec::new(
            HistogramOpts::new("paddock_run_duration_seconds", "How long runs took, by job")
                .buckets(vec![
                    1.0,
                    5.0,
                    15.0,
                    60.0,
                    300.0,
                    900.0,
                    3600.0,
                    4.0 * 3600.0,
                ]),
            &["job"],
        )?;
        let last_success = GaugeVec::new(
            Opts::new(
                "paddock_last_success_timestamp_seconds",
                "Unix time of each job's last successful run",
            ),
            &["job"],
        )?;
        let limiter_wait = Counter::new(
            "paddock_limiter_wait_seconds_total",
            "Time requests waited for the process-wide rate limiter",
        )?;
        let pauses = IntCounter::new(
            "paddock_api_429_pauses_total",
            "Pauses ordered by 429 Retry-After answers",
        )?;
        let audit_violations = IntGaugeVec::new(
            Opts::new(
                "paddock_audit_violations",
                "Violations the last audit run found, by report section",
            ),
            &["check"],
        )?;
        let audit_last_run = Gauge::new(
            "paddock_audit_last_run_timestamp_seconds",
            "Unix time of the last audit run that completed its checks",
        )?;
        let (alerts, alert_delivery_failures) = alert_counters(&registry)?;
        for c in [
            responses.clone(),
            requests.clone(),
            rows.clone(),
            runs.clone(),
        ] {
            registry.register(Box::new(c))?;
        }
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(run_duration.clone()))?;
        registry.register(Box::new(last_success.clone()))?;
        registry.register(Box::new(limiter_wait.clone()))?;
        registry.register(Box::new(pauses.clone()))?;
        Ok(Arc::new(Metrics {
            registry,
            responses,
            requests,
            retries,
            rows,
            runs,
            run_duration,
            last_success,
            limiter_wait,
            pauses,
            audit_violations,
            audit_last_run,
            alerts,
            alert_delivery_failures,
            audit_registered: Once::new(),
            copy: CopyGauges::new()?,
            limiter,
            retry_counts,
        }))
    }

    /// Records a finished run.
    pub fn record_run(&self, job: &str, result: &RunResult) {
        self.runs
            .with_label_values(&[job, result.status.name()])
            .inc();
        self.run_duration
            .with_label_values(&[job])
            .observe(result.elapsed.as_secs_f64());
        for (endpoint, n) in &result.report.requests {
            self.requests.with_label_values(&[endpoint]).inc_by(*n);
        }
        for (table, c) in &result.report.counts.0 {
            for (kind, n) in [
                ("inserted", c.inserted),
                ("updated", c.updated),
                ("unchanged", c.unchanged),
                ("rejected", c.rejected),
            ] {
                self.rows.with_label_values(&[table, kind]).inc_by(n);
            }
        }
        if let Some(audit) = &result.detail.audit {
            self.set_audit(audit);
        }
        if let Some(publication) = &result.detail.publication {
            self.set_analytics_copy(publication);
        }
    }

    /// Exports the analytics copy's publication time and size (its age follows at each scrape).
    pub fn set_analytics_copy(&self, publication: &Publication) {
        let copy = &self.copy;
        copy.registered.call_once(|| {
            for g in [&copy.published, &copy.bytes, &copy.age] {
                if let Err(e) = self.registry.register(Box::new(g.clone())) {
                    tracing::error!(error = %e, "analytics copy metrics not registered");
                }
            }
        });
        copy.published
            .set(publication.published_at.timestamp_millis() as f64 / 1000.0);
        copy.bytes.set(publication.bytes as f64);
    }

    /// Exports what an audit run found (replacing the previous audit's figures).
    pub fn set_audit(&self, audit: &AuditCounts) {
        self.audit_registered.call_once(|| {
            for c in [
                Box::new(self.audit_violations.clone()) as Box<dyn prometheus::core::Collector>,
                Box::new(self.audit_last_run.clone()),
            ] {
                if let Err(e) = self.registry.register(c) {
                    tracing::error!(error = %e, "audit metrics not registered");
                }
            }
        });
        self.audit_violations.reset();
        for (section, n) in &audit.violations {
            self.audit_violations
                .with_label_values(&[section])
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.audit_last_run
            .set(audit.at.timestamp_millis() as f64 / 1000.0);
    }

    /// Records a run that could not even be recorded in the ledger.
    pub fn record_unrecorded_failure(&self, job: &str) {
        self.runs.with_label_values(&[job, "unrecorded"]).inc();
    }

    /// Sets a job's last success time.
    pub fn set_last_success(&self, job: &str, at: DateTime<Utc>) {
        self.last_success
            .with_label_values(&[job])
            .set(at.timestamp_millis() as f64 / 1000.0);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        // The limiter and the client count for the whole process; the counters catch up
        // with them (the sources only grow, so a counter never goes down).
        let waited = self.limiter.total_wait().as_secs_f64() - self.limiter_wait.get();
        if waited > 0.0 {
            self.limiter_wait.inc_by(waited);
        }
        let pauses = self.limiter.pauses_ordered();
        self.pauses.inc_by(pauses.saturating_sub(self.pauses.get()));
        for (endpoint, retried) in (self.retry_counts)() {
            let counter = self.retries.with_label_values(&[&endpoint]);
            counter.inc_by(retried.saturating_sub(counter.get()));
        }
        for (rule, triggered) in crate::store::alerts::triggered_totals() {
            let counter = self.alerts.with_label_values(&[&rule]);
            counter.inc_by(triggered.saturating_sub(counter.get()));
        }
        let failures = crate::alerts::delivery::delivery_failures();
        (self.alert_delivery_failures)
            .inc_by(failures.saturating_sub(self.alert_delivery_failures.get()));
        if self.copy.registered.is_completed() {
            let now = Utc::now().timestamp_millis() as f64 / 1000.0;
            self.copy
                .age
                .set((now - self.copy.published.get()).max(0.0));
        }
        let mut out = String::new();
        let _ = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out);
        out
    }
}

/// `paddock_alerts_total{rule}` and `paddock_alert_delivery_failures_total`, registered.
fn alert_counters(registry: &Registry) -> anyhow::Result<(IntCounterVec, IntCounter)> {
    let alerts = IntCounterVec::new(
        Opts::new(
            "paddock_alerts_total",
            "Alerts triggered (committed to the outbox), by rule",
        ),
        &["rule"],
    )?;
    let failures = IntCounter::new(
        "paddock_alert_delivery_failures_total",
        "Alert webhook delivery attempts that failed (retried ones included)",
    )?;
    registry.register(Box::new(alerts.clone()))?;
    registry.register(Box::new(failures.clone()))?;
    Ok((alerts, failures))
}

/// The analytics copy's gauges, registered with the first publication.
struct CopyGauges {
    published: Gauge,
    bytes: Gauge,
    age: Gauge,
    registered: Once,
}

impl CopyGauges {
    fn new() -> prometheus::Result<CopyGauges> {
        Ok(CopyGauges {
            published: Gauge::new(
                "paddock_analytics_copy_published_timestamp_seconds",
                "Unix time the SQLite analytics copy was last published",
            )?,
            bytes: Gauge::new(
                "paddock_analytics_copy_size_bytes",
                "Size of the SQLite analytics copy last published",
            )?,
            age: Gauge::new(
                "paddock_analytics_copy_age_seconds",
                "Age of the SQLite analytics copy (its lag behind the database) at scrape time",
            )?,
            registered: Once::new(),
        })
    }
}

/// Counts every response the client receives, by endpoint and status.
pub struct ResponseCounter(pub Arc<Metrics>);

impl ResponseHook for ResponseCounter {
    fn on_response(&self, request: &ApiRequest, status: u16, _at: DateTime<Utc>, _body: &str) {
        self.0
            .responses
            .with_label_values(&[request.endpoint().template(), &status.to_string()])
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_metrics_appear_with_the_first_audit_and_follow_the_latest() {
        let metrics = Metrics::new(SharedLimiter::new(2.0), Box::new(BTreeMap::new)).unwrap();
        assert!(!metrics.render().contains("paddock_audit"));
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let counts = |orphans: u64| AuditCounts {
            at,
            violations: [("orphans", orphans), ("drift", 0)]
                .map(|(s, n)| (s.to_string(), n))
                .into(),
        };
        metrics.set_audit(&counts(2));
        let text = metrics.render();
        assert!(
            text.contains("paddock_audit_violations{check=\"orphans\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("paddock_audit_violations{check=\"drift\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("paddock_audit_last_run_timestamp_seconds 1800000000"),
            "{text}"
        );
        metrics.set_audit(&counts(0));
        let text = metrics.render();
        assert!(
            text.contains("paddock_audit_violations{check=\"orphans\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn retries_follow_the_clients_count_as_a_counter() {
        let limiter = SharedLimiter::new(2.0);
        let retried = Arc::new(std::sync::atomic::AtomicU64::new(2));
        let source = retried.clone();
        let metrics = Metrics::new(
            limiter,
            Box::new(move || {
                BTreeMap::from([(
                    "/results".to_string(),
                    source.load(std::sync::atomic::Ordering::Relaxed),
                )])
            }),
        )
        .unwrap();
        let text = metrics.render();
        assert!(
            text.contains("paddock_api_retries_total{endpoint=\"/results\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE paddock_api_retries_total counter"),
            "{text}"
        );
        retried.store(5, std::sync::atomic::Ordering::Relaxed);
        let text = metrics.render();
        assert!(
            text.contains("paddock_api_retries_total{endpoint=\"/results\"} 5"),
            "{text}"
        );
    }

    #[test]
    fn alerts_by_rule_and_delivery_failures_are_counters_caught_up_at_scrape_time() {
        let metrics = Metrics::new(SharedLimiter::new(2.0), Box::new(BTreeMap::new)).unwrap();
        let rule = "metrics_test_steamer";
        crate::store::alerts::count_triggered(&BTreeMap::from([(rule.to_string(), 2)]));
        let text = metrics.render();
        assert!(
            text.contains(&format!("paddock_alerts_total{{rule=\"{rule}\"}} 2")),
            "{text}"
        );
        assert!(
            text.contains("# TYPE paddock_alerts_total counter"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE paddock_alert_delivery_failures_total counter"),
            "{text}"
        );
        crate::store::alerts::count_triggered(&BTreeMap::from([(rule.to_string(), 1)]));
        let text = metrics.render();
        assert!(
            text.contains(&format!("paddock_alerts_total{{rule=\"{rule}\"}} 3")),
            "{text}"
        );
    }

    #[test]
    fn every_total_is_declared_a_counter() {
        let metrics = Metrics::new(SharedLimiter::new(2.0), Box::new(BTreeMap::new)).unwrap();
        metrics.requests.with_label_values(&["/results"]).inc();
        let text = metrics.render();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let mut words = line.split_whitespace().skip(2);
            let (name, kind) = (words.next().unwrap(), words.next().unwrap());
            if name.ends_with("_total") {
                assert_eq!(kind, "counter", "{line}");
            }
        }
        assert!(text.contains("# TYPE paddock_limiter_wait_seconds_total counter"));
        assert!(text.contains("# TYPE paddock_api_429_pauses_total counter"));
    }
}

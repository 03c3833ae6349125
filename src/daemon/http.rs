//! The optional loopback listener (`[daemon] listen`): `/healthz` (200, or 503 when the
//! database does not answer or a job has not succeeded within twice its period) and
//! Prometheus `/metrics`.

use super::metrics::Metrics;
use super::timetable::previous_fire;
use crate::config::Config;
use crate::store::{job_status, AnyStore};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use tokio_util::sync::CancellationToken;

/// What the listener reads: the running configuration (swapped on reload), the store and the
/// metrics.
pub struct Shared {
    pub config: RwLock<Arc<Config>>,
    pub store: AnyStore,
    pub metrics: Arc<Metrics>,
    pub started: DateTime<Utc>,
}

impl Shared {
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Binds `addr` and serves until `stop` is cancelled. Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("daemon.listen {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(shared);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the health and metrics listener stopped");
        }
    });
    tracing::info!(%bound, "serving /healthz and /metrics");
    Ok(bound)
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        shared.metrics.render(),
    )
}

async fn healthz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let problems = health_problems(&shared, Utc::now()).await;
    if problems.is_empty() {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy\n{}\n", problems.join("\n")),
        )
    }
}

/// Why the daemon is unhealthy at `now` (empty when healthy).
pub async fn health_problems(shared: &Shared, now: DateTime<Utc>) -> Vec<String> {
    if let Err(e) = job_status::ping(&shared.store).await {
        return vec![format!("database unreachable: {e}")];
    }
    let config = shared.config();
    let mut problems = Vec::new();
    for job in config.jobs.values().filter(|j| j.enabled) {
        // Twice its period: the job should have succeeded since the fire time before last.
        let Some(before_last) = previous_fire(&config, job, now)
            .and_then(|last| previous_fire(&config, job, last - chrono::Duration::milliseconds(1)))
        else {
            continue;
        };
        let last = match job_status::last_success(&shared.store, job.kind.name()).await {
            Ok(last) => last,
            Err(e) => {
                problems.push(format!("{}: cannot read the ledger: {e}", job.kind.name()));
                continue;
            }
        };
        let stale = match last {
            Some(t) => t < before_last,
            None => shared.started < before_last,
        };
        if stale {
            problems.push(format!(
                "{}: no success since {} (last success: {})",
                job.kind.name(),
                before_last.to_rfc3339(),
                last.map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "never".into())
            ));
        }
    }
    problems
}

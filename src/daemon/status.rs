//! `paddock status`'s per-job view: each job's last run with its outcome and row counts, its
//! last success and its next fire time; then the analytics copy: path, age (sync lag), size.

use crate::config::Config;
use crate::store::{job_status, AnyStore};
use chrono::{DateTime, Utc};
use fetchers::store::Store;

/// The per-job table at `now`.
pub async fn render_job_status(
    config: &Config,
    store: &AnyStore,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let tz = config.time_zone;
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string();
    let mut out = format!(
        "{:<24} {:<28} {:<10} {:>9} {:>9} {:>9}  {:<19}  {:<19}\n",
        "job", "last run", "outcome", "inserted", "updated", "rejected", "last success", "next run"
    );
    for job in config.jobs.values() {
        let name = job.kind.name();
        let latest = job_status::latest_run(store, name).await?;
        let last_success = job_status::last_success(store, name).await?;
        let (run, outcome, counts) = match &latest {
            Some(r) => {
                let counts = store.run_counts(r.run_id).await?;
                let total = counts.0.values().fold((0, 0, 0), |(i, u, x), c| {
                    (i + c.inserted, u + c.updated, x + c.rejected)
                });
                (
                    format!("#{} {} {}", r.run_id, r.trigger, local(r.started_at)),
                    r.status.clone(),
                    total,
                )
            }
            None => ("never".to_string(), "-".to_string(), (0, 0, 0)),
        };
        let next = if job.enabled {
            job.next_fire_times(now.with_timezone(&tz), 1)
                .first()
                .map(|t| local(t.to_utc()))
                .unwrap_or_else(|| "none".into())
        } else {
            "disabled".into()
        };
        out.push_str(&format!(
            "{name:<24} {run:<28} {outcome:<10} {:>9} {:>9} {:>9}  {:<19}  {next:<19}\n",
            counts.0,
            counts.1,
            counts.2,
            last_success.map(local).unwrap_or_else(|| "never".into()),
        ));
    }
    out.push_str(&format!("(times in {})\n", tz.name()));
    let last = crate::publish::last_publication(store).await?;
    if config.publish.path.is_some() || last.is_some() {
        out.push_str(&crate::publish::status_line(
            config.publish.path.as_deref(),
            last.as_ref(),
            now,
        ));
    }
    Ok(out)
}

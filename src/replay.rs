//! `paddock replay [--from D --to D]`: rebuilds the tables from the raw response archive,
//! through the same parsers, extractor and store as a fetch, without one API request. After a
//! parser fix it re-derives every row. `--from`/`--to` select responses by fetch date.

use crate::app::run_recorded;
use crate::archive::{ArchiveTarget, Reader};
use crate::backfill::decode::{decode, endpoint_of_template};
use chrono::{DateTime, Utc};
use fetchers::api::Endpoint;
use fetchers::jobs::late_non_runners::add_late_non_runners;
use fetchers::jobs::{missing_profile_key, JobError, JobReport};
use fetchers::rows::UnitOfWork;
use fetchers::store::{ApplyMode, RunId, RunStatus, RunTrigger, Store};
use std::time::Duration;

/// What a replay did.
#[derive(Debug)]
pub struct ReplayResult {
    pub run_id: RunId,
    pub status: RunStatus,
    /// Responses read from the archive.
    pub responses: u64,
    /// Of which applied (2xx responses of endpoints Paddock reads).
    pub applied: u64,
    pub report: JobReport,
    pub error: Option<String>,
    pub elapsed: Duration,
}

impl ReplayResult {
    pub fn exit_code(&self) -> i32 {
        crate::app::exit_code(self.status)
    }
}

/// Replays the archive at `archive` into `store` (a `replay` run in the ledger, through
/// [`crate::app::run_recorded`], the one run wrapper).
pub async fn replay(
    store: &dyn Store,
    archive: ArchiveTarget,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> anyhow::Result<ReplayResult> {
    let params = serde_json::json!({
        "from": from.map(|t| t.to_rfc3339()),
        "to": to.map(|t| t.to_rfc3339()),
    });
    let (mut responses, mut applied) = (0u64, 0u64);
    let read = (&mut responses, &mut applied);
    let run = run_recorded(
        store,
        "replay",
        RunTrigger::Manual,
        params,
        |run_id| async move {
            let mut reader = Reader::new(archive, from, to);
            let mut report = JobReport::default();
            let (responses, applied) = read;
            let outcome: anyhow::Result<()> = async {
                loop {
                    let batch = reader.next_batch().await?;
                    if batch.is_empty() {
                        return Ok(());
                    }
                    for r in batch {
                        *responses += 1;
                        let Some(mut unit) = unit_for(&r, &mut report)? else {
                            continue;
                        };
                        // Late non-runners are matched against the stored runners, as a fetch does.
                        add_late_non_runners(store, &mut unit, &r.query).await?;
                        *applied += 1;
                        if !unit.is_empty() {
                            let counts = store.apply(run_id, &unit, ApplyMode::Commit).await?;
                            report.counts.add(&counts);
                        }
                    }
                }
            }
            .await;
            (outcome.map_err(|e| format!("{e:#}")), report)
        },
    )
    .await?;
    Ok(ReplayResult {
        run_id: run.run_id,
        status: run.status,
        responses,
        applied,
        report: run.report,
        error: run.error,
        elapsed: run.elapsed,
    })
}

/// The unit one archived response yields, or None for a response that carries no rows (an
/// error answer, an endpoint Paddock does not read). A 404 for a horse profile is remembered
/// as missing, exactly as the fetch did.
fn unit_for(
    r: &crate::archive::ArchivedResponse,
    report: &mut JobReport,
) -> anyhow::Result<Option<UnitOfWork>> {
    let Some(endpoint) = endpoint_of_template(&r.endpoint) else {
        return Ok(None);
    };
    if r.status == 404 && endpoint == Endpoint::HorsePro {
        let horse_id = r
            .query
            .trim_start_matches("/horses/")
            .trim_end_matches("/pro")
            .to_string();
        report.missing.push(r.query.clone());
        return Ok(Some(UnitOfWork {
            state: vec![(missing_profile_key(&horse_id), r.fetched_at.to_rfc3339())],
            ..Default::default()
        }));
    }
    if !(200..300).contains(&r.status) {
        return Ok(None);
    }
    let body = r.body()?;
    let decoded = decode(endpoint, &body, &r.query, r.fetched_at)
        .map_err(|e: JobError| anyhow::anyhow!(e))?;
    report.unknown_fields += decoded.unknown_fields;
    Ok(Some(decoded.unit))
}

/// The summary printed after a replay.
pub fn render_summary(r: &ReplayResult) -> String {
    let mut out = format!(
        "replay run {} — {} in {:.1} s: {} archived responses read, {} applied, 0 API requests\n",
        r.run_id,
        r.status.name(),
        r.elapsed.as_secs_f64(),
        r.responses,
        r.applied
    );
    out.push_str(&format!(
        "\n{:<22} {:>9} {:>9} {:>9} {:>9}\n",
        "table", "inserted", "updated", "unchanged", "rejected"
    ));
    for (table, c) in &r.report.counts.0 {
        out.push_str(&format!(
            "{table:<22} {:>9} {:>9} {:>9} {:>9}\n",
            c.inserted, c.updated, c.unchanged, c.rejected
        ));
    }
    if let Some(e) = &r.error {
        out.push_str(&format!("\n{}: {e}\n", r.status.name()));
    }
    out
}

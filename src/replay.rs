//! `paddock replay [--from D --to D]`: rebuilds the tables from the raw response archive,
//! through the same parsers, extractor and store as a fetch, without one API request. After a
//! parser fix it re-derives every row. `--from`/`--to` select responses by fetch date. The
//! derived tables are brought up to date at the end, as after a fetch.

use crate::archive::{ArchiveTarget, ArchivedResponse, Reader};
use crate::backfill::decode::{decode, endpoint_of_template};
use crate::run::summary::{counts_table, error_line};
use crate::run::{run_recorded, Ended, JobName, RunError, RunResult};
use chrono::{DateTime, Utc};
use fetchers::api::Endpoint;
use fetchers::jobs::late_non_runners::add_late_non_runners;
use fetchers::jobs::{missing_profile_key, JobError, JobReport};
use fetchers::rows::UnitOfWork;
use fetchers::store::{ApplyMode, RunId, RunTrigger, Store};

/// What a replay adds to the run's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayDetail {
    /// Responses read from the archive.
    pub responses: u64,
    /// Of which applied (2xx responses of endpoints Paddock reads).
    pub applied: u64,
}

/// What a replay did.
pub type ReplayResult = RunResult<ReplayDetail>;

/// Replays the archive at `archive` into `store` (a `replay` run in the ledger, through
/// [`run_recorded`], the one run wrapper).
pub async fn replay(
    store: &crate::store::AnyStore,
    bands: &fetchers::derived::DistanceBands,
    archive: ArchiveTarget,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> anyhow::Result<ReplayResult> {
    let params = serde_json::json!({
        "from": from.map(|t| t.to_rfc3339()),
        "to": to.map(|t| t.to_rfc3339()),
    });
    let job = JobName::Replay;
    run_recorded(
        store,
        job,
        RunTrigger::Manual,
        params,
        |run_id| async move {
            let mut reader = Reader::new(archive, from, to);
            let mut report = JobReport::default();
            let mut detail = ReplayDetail::default();
            let mut outcome = apply_archive(store, run_id, &mut reader, &mut report, &mut detail)
                .await
                .map_err(RunError::Replay);
            // The derived tables follow what was replayed (and any race still marked).
            match crate::derive::update_touched(store, bands, run_id).await {
                Ok(derived) => report.counts.add(&derived),
                Err(e) if outcome.is_ok() => outcome = Err(RunError::from(e)),
                Err(e) => {
                    tracing::error!(error = %e, "the derived tables were not brought up to date")
                }
            }
            Ended::new(outcome, report).with_detail(detail)
        },
    )
    .await
}

/// Applies every archived response `reader` yields, counting them in `detail` and what they
/// wrote in `report`.
async fn apply_archive(
    store: &dyn Store,
    run_id: RunId,
    reader: &mut Reader,
    report: &mut JobReport,
    detail: &mut ReplayDetail,
) -> anyhow::Result<()> {
    loop {
        let batch = reader.next_batch().await?;
        if batch.is_empty() {
            return Ok(());
        }
        for r in batch {
            detail.responses += 1;
            let Some(mut unit) = unit_for(&r, report)? else {
                continue;
            };
            // Late non-runners are matched against the stored runners, as a fetch does.
            add_late_non_runners(store, &mut unit, &r.query).await?;
            detail.applied += 1;
            if !unit.is_empty() {
                let counts = store.apply(run_id, &unit, ApplyMode::Commit).await?;
                report.counts.add(&counts);
            }
        }
    }
}

/// The unit one archived response yields, or None for a response that carries no rows (an
/// error answer, an endpoint Paddock does not read). A 404 for a horse profile is remembered
/// as missing, exactly as the fetch did.
fn unit_for(r: &ArchivedResponse, report: &mut JobReport) -> anyhow::Result<Option<UnitOfWork>> {
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
        r.detail.responses,
        r.detail.applied
    );
    out.push_str(&counts_table(&r.report.counts));
    out.push_str(&error_line(r.status, r.error.as_deref()));
    out
}

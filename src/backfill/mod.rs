//! `paddock backfill --from D --to D [--only …] [--dry-run]`: loading history in the fewest
//! requests the API allows, resumable after any interruption.
//!
//! - `plan.rs`: results over multi-day ranges, racecards one request per served day, the
//!   checkpoint format and the dry-run estimate.
//! - `pipeline.rs`: the one-page-deep request pipeline, checkpoints committed with each page,
//!   refetch of a range whose total changed, profiles within a budget.
//! - `odds.rs`: `--only odds`, the odds endpoint for the races `[odds.backfill]` chooses.
//! - `decode.rs`: one body → one unit of work (shared with `paddock replay`).
//! - `progress.rs`: the progress bar or the steady log line.
//!
//! Every page is committed with its checkpoint in one transaction, so running the same command
//! again after Ctrl-C, a crash or `kill -9` requests nothing that was committed.

pub mod decode;
pub mod odds;
pub mod pipeline;
pub mod plan;
pub mod progress;

use crate::run::summary::{counts_table, endpoint_lines, error_line};
use crate::run::{run_recorded, Ended, JobName, RunError, RunResult};
use crate::store::AnyStore;
use chrono::NaiveDate;
use fetchers::api::ApiSource;
use fetchers::jobs::JobError;
use fetchers::store::{RunId, RunTrigger};
use pipeline::{horses_needing_profiles, Figures, Pipeline};
use plan::{Part, Plan, Progress, JOB};
use progress::Reporter;
use std::collections::{BTreeSet, HashMap};

/// What to backfill.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub parts: BTreeSet<Part>,
    /// The most profile requests this backfill may make.
    pub profile_budget: u32,
    /// Regions (lower case).
    pub regions: Vec<String>,
    /// The racing day "today" (results exist before it; racecards up to 7 days after).
    pub today: NaiveDate,
    /// Requests per second, for the plan's time estimate.
    pub rate_per_second: f64,
    /// The distance bands of the derived tables, brought up to date at the end.
    pub distance_bands: fetchers::derived::DistanceBands,
    /// The races `--only odds` asks the odds endpoint about, and its request budget.
    pub odds: crate::config::OddsBackfillSettings,
}

impl BackfillOptions {
    /// `paddock backfill`'s options for `from..=to`: the configuration's regions, rate,
    /// distance bands and daily profile budget (unless `profile_budget` says otherwise).
    pub fn configured(
        config: &crate::config::Config,
        from: NaiveDate,
        to: NaiveDate,
        parts: BTreeSet<Part>,
        profile_budget: Option<u32>,
    ) -> Self {
        let daily = config.job(crate::config::JobKind::MasterEntitiesDaily);
        BackfillOptions {
            from,
            to,
            parts,
            profile_budget: profile_budget.unwrap_or(daily.profile_budget),
            regions: config.api.regions.clone(),
            today: crate::today(config),
            rate_per_second: config.api.rate_limit_per_second,
            distance_bands: config.distance_bands.clone(),
            odds: config.odds.backfill.clone(),
        }
    }

    /// The odds requests this backfill makes: the runners still to ask about, within the
    /// budget (none unless `--only` names the odds).
    pub async fn odds_targets(&self, store: &AnyStore) -> anyhow::Result<Vec<odds::OddsTarget>> {
        if !self.parts.contains(&Part::Odds) {
            return Ok(Vec::new());
        }
        let mut targets = odds::odds_targets(
            store,
            &self.odds,
            self.from,
            self.to,
            self.today,
            chrono::Utc::now(),
        )
        .await?;
        targets.truncate(self.odds.max_requests as usize);
        Ok(targets)
    }
}

/// What a backfill adds to the run's figures: what its pipeline did, and the plan it followed.
#[derive(Debug)]
pub struct BackfillDetail {
    pub figures: Figures,
    pub plan: Plan,
}

/// The outcome of a backfill.
pub type BackfillResult = RunResult<BackfillDetail>;

/// The `--dry-run` text: requests per endpoint and the time they take at the configured rate.
/// Results pages are an estimate (their totals are only known once asked); racecard days
/// are exact; profiles are at most the budget; odds requests are exact (`odds_requests`: the
/// runners still to ask about, within the budget).
pub fn render_plan(options: &BackfillOptions, plan: &Plan, odds_requests: u64) -> String {
    let results = plan.estimated_results_pages();
    let racecards = plan.racecards.len() as u64;
    let profiles = if plan.profiles {
        u64::from(options.profile_budget)
    } else {
        0
    };
    let total = results + racecards + profiles + odds_requests;
    let secs = total as f64 / options.rate_per_second;
    let mut out = format!(
        "backfill plan {} … {} ({} results ranges, {} racecard days)\n\n",
        options.from,
        options.to,
        plan.results.len(),
        plan.racecards.len()
    );
    out.push_str(&format!(
        "  {:<28} {:>8}  (estimate: {} races a day, {} a page)\n",
        "/results",
        results,
        plan::ESTIMATED_RACES_PER_DAY,
        plan::RESULTS_PAGE
    ));
    out.push_str(&format!(
        "  {:<28} {:>8}  (one per served day)\n",
        "/racecards/pro", racecards
    ));
    out.push_str(&format!(
        "  {:<28} {:>8}  (at most: horses lacking a profile, within the budget)\n",
        "/horses/{id}/pro", profiles
    ));
    if options.parts.contains(&Part::Odds) {
        out.push_str(&format!(
            "  {:<28} {:>8}  (runners of the races [odds.backfill] chooses, from {}, at most {})\n",
            "/odds/{race_id}/{horse_id}",
            odds_requests,
            odds::HISTORY_FROM,
            options.odds.max_requests
        ));
    }
    out.push_str(&format!(
        "  {:<28} {:>8}\n\nat {} requests/s: about {}\n",
        "total",
        total,
        options.rate_per_second,
        human_duration(secs)
    ));
    if let (Some(a), Some(b)) = (
        plan.racecard_dates_skipped.first(),
        plan.racecard_dates_skipped.last(),
    ) {
        out.push_str(&format!(
            "note: racecards skipped for {} dates the API does not serve ({a} … {b})\n",
            plan.racecard_dates_skipped.len()
        ));
    }
    out
}

/// `paddock backfill --dry-run`'s text: the plan, with the odds requests counted on the
/// database (read only) when `--only` names the odds.
pub async fn dry_run(
    config: &crate::config::Config,
    options: &BackfillOptions,
) -> anyhow::Result<String> {
    let plan = Plan::new(options.from, options.to, options.today, &options.parts);
    let odds_requests = if options.parts.contains(&Part::Odds) {
        let store = crate::open_store_read_only(config).await?;
        options.odds_targets(&store).await?.len() as u64
    } else {
        0
    };
    Ok(render_plan(options, &plan, odds_requests))
}

fn human_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    format!("{}h {:02}m {:02}s", s / 3600, (s / 60) % 60, s % 60)
}

/// Runs (or resumes) a backfill, recorded in the ledger as a `backfill` run (through
/// [`run_recorded`], the one run wrapper).
pub async fn run_backfill(
    api: &dyn ApiSource,
    store: &AnyStore,
    options: &BackfillOptions,
    reporter: Reporter,
) -> anyhow::Result<BackfillResult> {
    let plan = Plan::new(options.from, options.to, options.today, &options.parts);
    if let (Some(a), Some(b)) = (
        plan.racecard_dates_skipped.first(),
        plan.racecard_dates_skipped.last(),
    ) {
        tracing::info!(
            dates = plan.racecard_dates_skipped.len(),
            first = %a,
            last = %b,
            "racecards skipped for dates the API does not serve (2023-01-23 … today + 7)"
        );
    }
    let params = serde_json::json!({
        "from": options.from.to_string(),
        "to": options.to.to_string(),
        "only": options.parts.iter().map(|p| p.name()).collect::<Vec<_>>(),
        "profile_budget": options.profile_budget,
        "odds_max_requests": options.parts.contains(&Part::Odds).then_some(options.odds.max_requests),
    });
    let plan_ref = &plan;
    let run = run_recorded(store, JobName::Backfill, RunTrigger::Backfill, params, |run_id| async move {
        tracing::info!(run_id = run_id.get(), from = %options.from, to = %options.to, "backfill started");
        let (outcome, figures) =
            backfill_pages(api, store, options, plan_ref, run_id, reporter).await;
        Ended::new(outcome, figures.report()).with_detail(figures)
    })
    .await?;
    Ok(run.map_detail(|figures| BackfillDetail { figures, plan }))
}

/// The body of a backfill run: resumes from the saved checkpoints, pages every stream, then
/// the profiles. Returns how it ended and what it did.
async fn backfill_pages(
    api: &dyn ApiSource,
    store: &AnyStore,
    options: &BackfillOptions,
    plan: &Plan,
    run_id: RunId,
    reporter: Reporter,
) -> (Result<(), RunError>, Figures) {
    let saved: HashMap<String, Progress> =
        match crate::store::checkpoints::for_job(store, JOB).await {
            Ok(checkpoints) => checkpoints
                .into_iter()
                .filter_map(|c| {
                    Progress::from_checkpoint(c.cursor.as_deref(), &c.status).map(|p| (c.name, p))
                })
                .collect(),
            Err(e) => return (Err(RunError::Checkpoints(e)), Figures::default()),
        };
    let mut pipeline = Pipeline {
        api,
        store,
        run_id,
        regions: options.regions.clone(),
        figures: Figures::default(),
        reporter,
    };
    let streams: Vec<_> = plan.streams().cloned().collect();
    let mut outcome: Result<(), JobError> = pipeline.run_streams(&streams, &saved).await;
    if outcome.is_ok() && plan.profiles {
        outcome = match horses_needing_profiles(store, options.profile_budget).await {
            Ok(horses) => pipeline.run_profiles(&horses).await,
            Err(e) => Err(e),
        };
    }
    if outcome.is_ok() && options.parts.contains(&Part::Odds) {
        outcome = match options.odds_targets(store).await {
            Ok(targets) => pipeline.run_odds(&targets).await,
            Err(e) => Err(JobError::Payload {
                path: "/odds/{race_id}/{horse_id}".to_string(),
                reason: format!("choosing the runners: {e:#}"),
            }),
        };
    }
    let mut figures = pipeline.figures;
    let mut outcome = outcome.map_err(RunError::from);
    // The derived tables follow what the backfill committed, even when it stopped early: one
    // update at the end, over every race still marked (an earlier, killed run's too).
    match crate::derive::update_touched(store, &options.distance_bands, run_id).await {
        Ok(derived) => figures.counts.add(&derived),
        Err(e) if outcome.is_ok() => outcome = Err(RunError::from(e)),
        Err(e) => tracing::error!(error = %e, "the derived tables were not brought up to date"),
    }
    let mut reporter = pipeline.reporter;
    reporter.finish(progress::Snapshot {
        pages_done: figures.pages_done,
        pages_planned: figures.pages_planned,
        requests: figures.total_requests(),
        rows_written: figures.counts.written(),
    });
    (outcome, figures)
}

/// The summary printed after a backfill.
pub fn render_summary(r: &BackfillResult) -> String {
    let f = &r.detail.figures;
    let mut out = format!(
        "backfill run {} — {} in {:.1} s: {} pages, {} requests ({:.2}/s), {} rows written\n",
        r.run_id,
        r.status.name(),
        r.elapsed.as_secs_f64(),
        f.pages_done,
        f.total_requests(),
        f.total_requests() as f64 / r.elapsed.as_secs_f64().max(1e-9),
        f.counts.written()
    );
    out.push_str("\nrequests by endpoint\n");
    out.push_str(&endpoint_lines(&f.requests));
    if f.streams_already_done > 0 {
        out.push_str(&format!(
            "\n{} ranges/days already complete from an earlier run (not requested again)\n",
            f.streams_already_done
        ));
    }
    for note in &f.refetched {
        out.push_str(&format!("refetched in full: {note}\n"));
    }
    for note in &f.split {
        out.push_str(&format!("split in two: {note}\n"));
    }
    let skipped = &r.detail.plan.racecard_dates_skipped;
    if !skipped.is_empty() {
        out.push_str(&format!(
            "racecards skipped for {} dates the API does not serve\n",
            skipped.len()
        ));
    }
    out.push_str(&counts_table(&f.counts));
    out.push_str(&error_line(r.status, r.error.as_deref()));
    out
}

/// `paddock backfill` with the configuration's API client, archive (on by default, with
/// retention applied first) and a progress display. Returns the result and the number of
/// responses archived.
pub async fn backfill_with_config(
    config: &crate::config::Config,
    store: &AnyStore,
    options: &BackfillOptions,
    reporter: Reporter,
) -> anyhow::Result<(BackfillResult, u64)> {
    config.api.require_credentials()?;
    let mut client = crate::api_client(config)?;
    let archive = if config.archive.enabled {
        let target = crate::archive::ArchiveTarget::from_settings(&config.archive, store);
        if let Some(days) = config.retention.raw_days {
            let pruned = crate::archive::prune(&target, days, chrono::Utc::now()).await?;
            if pruned > 0 {
                tracing::info!(pruned, days, "archive retention: old responses deleted");
            }
        }
        let archive = crate::archive::Archive::start(target);
        client = client.with_hook(archive.clone());
        Some(archive)
    } else {
        None
    };
    let result = run_backfill(&client, store, options, reporter).await;
    let archived = match &archive {
        Some(a) => a.close().await?,
        None => 0,
    };
    Ok((result?, archived))
}

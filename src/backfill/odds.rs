//! `paddock backfill --only odds`: the odds endpoint (`/odds/{race_id}/{horse_id}`, price
//! history from [`HISTORY_FROM`] on) for every runner of the stored races `[odds.backfill]`
//! chooses in `--from … --to`: not abandoned, non-runners left out, at most `max_requests`
//! requests. Runners are asked in race order (date, off time, race id) and, within a race, in
//! horse-id order; each response is committed with its race's checkpoint
//! (`backfill:odds:RACE`, cursor `horse=HORSE`, done after the race's last runner), so a run
//! again asks only for the runners no earlier run committed. The rows go through the odds
//! history like racecards' (stored on change), so what racecards stored is not stored again.

use super::decode::decode;
use super::pipeline::Pipeline;
use super::plan::JOB;
use crate::config::OddsBackfillSettings;
use crate::store::dialect::{Dialect, Params};
use crate::store::{with_backend, AnyStore, SqlStore, TextRow};
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use fetchers::api::{ApiError, ApiRequest, Endpoint};
use fetchers::jobs::JobError;
use fetchers::registry::{names, ColumnType};
use fetchers::rows::{Checkpoint, UnitOfWork, Value};
use fetchers::store::CheckpointStatus;
use std::collections::HashMap;

/// The first race date the API serves price history for.
pub const HISTORY_FROM: NaiveDate = match NaiveDate::from_ymd_opt(2025, 3, 17) {
    Some(d) => d,
    None => panic!("bad date"),
};

/// One runner to ask the odds endpoint about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OddsTarget {
    pub race_id: String,
    pub horse_id: String,
    /// The race's last runner in the selection: its checkpoint is then done.
    pub last_of_race: bool,
}

impl OddsTarget {
    fn request(&self) -> ApiRequest {
        ApiRequest::Odds {
            race_id: self.race_id.clone(),
            horse_id: self.horse_id.clone(),
        }
    }
}

/// The checkpoint name of `race_id`'s odds.
pub fn checkpoint_name(race_id: &str) -> String {
    format!("backfill:odds:{race_id}")
}

/// The runners a backfill of `from … to` asks about, in order, less those committed by an
/// earlier run; all of them (the budget is applied by the caller).
pub async fn odds_targets(
    store: &AnyStore,
    settings: &OddsBackfillSettings,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<OddsTarget>> {
    let from = from.max(HISTORY_FROM);
    if from > to {
        return Ok(Vec::new());
    }
    let rows = with_backend!(store, |s| {
        chosen_runners(s, settings, from, to, today, now).await
    })?;
    let mut runners: Vec<(String, String, String, String)> = rows
        .into_iter()
        .filter_map(|r| {
            let mut r = r.into_iter();
            let date = r.next()??;
            let off = r.next()?.unwrap_or_default();
            Some((date, off, r.next()??, r.next()??))
        })
        .collect();
    runners.sort();
    let saved: HashMap<String, (CheckpointStatus, Option<String>)> =
        crate::store::checkpoints::for_job(store, JOB)
            .await?
            .into_iter()
            .filter(|c| c.name.starts_with("backfill:odds:"))
            .filter_map(|c| {
                let status = CheckpointStatus::parse(&c.status).ok()?;
                let horse = c
                    .cursor
                    .as_deref()
                    .and_then(|h| h.strip_prefix("horse="))
                    .map(str::to_string);
                Some((c.name, (status, horse)))
            })
            .collect();
    let mut targets: Vec<OddsTarget> = Vec::new();
    for (i, (_, _, race_id, horse_id)) in runners.iter().enumerate() {
        let last_of_race = runners.get(i + 1).is_none_or(|next| &next.2 != race_id);
        let done = match saved.get(&checkpoint_name(race_id)) {
            Some((CheckpointStatus::Done, _)) => true,
            Some((_, Some(cursor))) => horse_id <= cursor,
            _ => false,
        };
        if !done {
            targets.push(OddsTarget {
                race_id: race_id.clone(),
                horse_id: horse_id.clone(),
                last_of_race,
            });
        }
    }
    Ok(targets)
}

/// `(race_date, off_dt, race_id, horse_id)` of every runner (non-runners left out) of the
/// races in `from … to`, not abandoned, matching any criterion of `settings`.
async fn chosen_runners<D: Dialect>(
    store: &SqlStore<D>,
    settings: &OddsBackfillSettings,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<TextRow>> {
    let mut p = Params::<D>::new();
    let from = p.add(Value::Date(from), ColumnType::Date);
    let to = p.add(Value::Date(to), ColumnType::Date);
    let mut criteria = Vec::new();
    if settings.big_races {
        criteria.push("(x.big_race IS NOT NULL AND x.big_race)".to_string());
    }
    if !settings.courses.is_empty() {
        let ids: Vec<String> = settings
            .courses
            .iter()
            .map(|c| p.add(Value::Text(c.clone()), ColumnType::Text))
            .collect();
        criteria.push(format!("x.course_id IN ({})", ids.join(", ")));
    }
    if let Some(min) = settings.min_prize {
        let min = p.add(Value::Decimal(min), ColumnType::Decimal);
        criteria.push(format!("CAST(x.prize_amount AS REAL) >= {min}"));
    }
    if settings.today_before_off {
        let today = p.add(Value::Date(today), ColumnType::Date);
        let now = p.add(Value::Timestamp(now), ColumnType::Timestamp);
        criteria.push(format!("(x.race_date = {today} AND x.off_dt > {now})"));
    }
    if criteria.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT CAST(x.race_date AS TEXT), CAST(x.off_dt AS TEXT), r.race_id, r.horse_id \
         FROM {runners} r JOIN {races} x ON x.id = r.race_id \
         WHERE x.race_date >= {from} AND x.race_date <= {to} \
         AND (x.is_abandoned IS NULL OR NOT x.is_abandoned) \
         AND (r.is_non_runner IS NULL OR NOT r.is_non_runner) AND ({})",
        criteria.join(" OR "),
        runners = names::RUNNERS,
        races = names::RACES,
    );
    let sql = store.current_physical_names().await?.reading(&sql);
    store
        .text_rows(&sql, p.values())
        .await
        .context("choosing the races for the odds backfill")
}

impl Pipeline<'_> {
    /// Asks the odds endpoint about each target, committing each response with its race's
    /// checkpoint. A 404 (no odds for that runner) is recorded as missing and checkpointed.
    pub async fn run_odds(&mut self, targets: &[OddsTarget]) -> Result<(), JobError> {
        self.figures.pages_planned += targets.len() as u64;
        for target in targets {
            let request = target.request();
            self.count_request(&request);
            let mut unit = match self.api.fetch(&request).await {
                Ok(raw) => {
                    decode(
                        Endpoint::Odds,
                        &raw.body,
                        &raw.path_and_query,
                        raw.fetched_at,
                    )?
                    .unit
                }
                Err(ApiError::NotFound { path }) => {
                    self.figures.missing.push(path);
                    UnitOfWork::default()
                }
                Err(e) => return Err(e.into()),
            };
            unit.checkpoint = Some(Checkpoint {
                name: checkpoint_name(&target.race_id),
                job: JOB.to_string(),
                cursor: Some(format!("horse={}", target.horse_id)),
                status: if target.last_of_race {
                    CheckpointStatus::Done
                } else {
                    CheckpointStatus::Running
                },
            });
            self.apply(&unit).await?;
            self.figures.pages_done += 1;
            self.report_progress();
        }
        Ok(())
    }
}

//! MasterEntities: horse profiles for horses that have none yet (newest first, within a
//! request budget), and — weekly — sires, dams and damsires linked to their own horse rows
//! through the `sir_`/`dam_`/`dsi_` → `hrs_` id mapping. There are no list endpoints for
//! jockeys, trainers or owners: RacesAndRunners keeps them current from racecards and results.

use super::{JobContext, JobError};
use crate::api::{ApiError, ApiRequest};
use crate::registry::Source;
use crate::rows::{Row, UnitOfWork};

use crate::registry::{names, PEDIGREE_MASTERS};
use crate::store::StateKey;

/// How much MasterEntities may do in one run.
#[derive(Debug, Clone, Copy)]
pub struct MasterEntitiesOptions {
    /// The most `/horses/{id}/pro` requests this run may make.
    pub profile_budget: u32,
    /// Also fetch profiles for sires/dams/damsires whose horse row is unknown.
    pub include_pedigree_horses: bool,
    /// Link sires/dams/damsires to their horse rows (the weekly pass).
    pub link_pedigree: bool,
}

/// Profiles to ask for again on purpose (`paddock run master-entities --horse ID…` and
/// `--refresh-older-than DAYS`), even if they were fetched or recorded missing before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileRefresh {
    /// These horses, in this order.
    pub horses: Vec<String>,
    /// Then horses whose profile is older than this many days, oldest first.
    pub older_than_days: Option<u32>,
}

/// Re-fetches the profiles `refresh` names, at most `budget` requests: the named horses first
/// (more of them than the budget is an error, before any request), then the oldest profiles
/// older than the cutoff. A 404 is recorded as missing, as in [`master_entities`].
pub async fn refresh_profiles(
    ctx: &mut JobContext<'_>,
    refresh: &ProfileRefresh,
    budget: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), JobError> {
    let mut horses: Vec<String> = Vec::new();
    for h in &refresh.horses {
        if !horses.contains(h) {
            horses.push(h.clone());
        }
    }
    if horses.len() > budget as usize {
        return Err(JobError::Payload {
            path: "/horses/{id}/pro".into(),
            reason: format!(
                "{} horses asked for, but the profile budget is {budget} requests",
                horses.len()
            ),
        });
    }
    if let Some(days) = refresh.older_than_days {
        let room = budget as usize - horses.len();
        let cutoff = now - chrono::Duration::days(i64::from(days));
        let older = ctx
            .store
            .horses_with_profile_older_than(cutoff, budget as i64)
            .await?;
        let extra: Vec<String> = older
            .into_iter()
            .filter(|h| !horses.contains(h))
            .take(room)
            .collect();
        horses.extend(extra);
    }
    fetch_profiles(ctx, &horses).await?;
    Ok(())
}

/// The horse id a sire/dam/damsire id maps to (`sir_123` → `hrs_123`).
pub fn horse_id_for(pedigree_id: &str) -> Option<String> {
    let (_, digits) = pedigree_id.split_once('_')?;
    (!digits.is_empty()).then(|| format!("hrs_{digits}"))
}

/// Runs MasterEntities.
pub async fn master_entities(
    ctx: &mut JobContext<'_>,
    options: MasterEntitiesOptions,
) -> Result<(), JobError> {
    let mut budget = options.profile_budget as usize;
    // Ask for more candidates than the budget: horses the API has no profile for are skipped.
    let candidates = ctx
        .store
        .horses_without_profile((budget as i64).saturating_mul(4))
        .await?;
    let horses: Vec<String> = without_known_missing(ctx, candidates)
        .await?
        .into_iter()
        .take(budget)
        .collect();
    budget -= fetch_profiles(ctx, &horses).await?;

    if options.include_pedigree_horses && budget > 0 {
        let mut wanted = Vec::new();
        for master in PEDIGREE_MASTERS {
            for id in ctx.store.unlinked_pedigree_ids(master.table).await? {
                if let Some(h) = horse_id_for(&id) {
                    wanted.push(h);
                }
            }
        }
        wanted.sort();
        wanted.dedup();
        let known = ctx
            .store
            .existing_keys(names::HORSES, "id", &wanted)
            .await?;
        let unknown: Vec<String> = wanted.into_iter().filter(|h| !known.contains(h)).collect();
        let unknown: Vec<String> = without_known_missing(ctx, unknown)
            .await?
            .into_iter()
            .take(budget)
            .collect();
        fetch_profiles(ctx, &unknown).await?;
    }

    if options.link_pedigree {
        link_pedigree(ctx).await?;
    }
    Ok(())
}

/// The `paddock_state` key that remembers a horse the API answered 404 for, so the daily quota
/// is not spent on it again. Deleting the row makes Paddock ask again.
pub fn missing_profile_key(horse_id: &str) -> StateKey {
    StateKey::HorseProfileMissing(horse_id.to_string())
}

/// `horse_ids` less those already known to have no profile (one set lookup).
async fn without_known_missing(
    ctx: &JobContext<'_>,
    horse_ids: Vec<String>,
) -> Result<Vec<String>, JobError> {
    let keys: Vec<String> = horse_ids
        .iter()
        .map(|h| missing_profile_key(h).text())
        .collect();
    let missing = ctx
        .store
        .existing_keys("paddock_state", "key", &keys)
        .await?;
    Ok(horse_ids
        .into_iter()
        .filter(|h| !missing.contains(&missing_profile_key(h).text()))
        .collect())
}

/// Fetches and stores one profile per horse (one unit each). A 404 is recorded as missing in
/// the run and remembered in `paddock_state`. Returns the number of requests made.
async fn fetch_profiles(ctx: &mut JobContext<'_>, horse_ids: &[String]) -> Result<usize, JobError> {
    for id in horse_ids {
        let request = ApiRequest::HorsePro {
            horse_id: id.clone(),
        };
        match ctx.fetch_page(&request).await {
            Ok(profile) => {
                ctx.apply(&profile.unit).await?;
            }
            Err(JobError::Api(ApiError::NotFound { path })) => {
                ctx.report.missing.push(path);
                let unit = UnitOfWork {
                    state: vec![(missing_profile_key(id), chrono::Utc::now().to_rfc3339())],
                    ..Default::default()
                };
                ctx.apply(&unit).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(horse_ids.len())
}

/// Sets `horse_id` on every unlinked sire/dam/damsire whose `hrs_` row exists (one unit).
async fn link_pedigree(ctx: &mut JobContext<'_>) -> Result<(), JobError> {
    let mut unit = UnitOfWork::default();
    for master in PEDIGREE_MASTERS {
        let ids = ctx.store.unlinked_pedigree_ids(master.table).await?;
        let pairs: Vec<(String, String)> = ids
            .into_iter()
            .filter_map(|id| horse_id_for(&id).map(|h| (id, h)))
            .collect();
        let horse_ids: Vec<String> = pairs.iter().map(|(_, h)| h.clone()).collect();
        let known = ctx
            .store
            .existing_keys(names::HORSES, "id", &horse_ids)
            .await?;
        for (id, horse) in pairs {
            if known.contains(&horse) {
                unit.push(
                    Row::new(master.table, Source::Derived)
                        .set("id", id)
                        .set("horse_id", horse),
                );
            }
        }
    }
    ctx.apply(&unit).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pedigree_ids_map_to_horse_ids_with_the_same_digits() {
        assert_eq!(horse_id_for("sir_3188248").as_deref(), Some("hrs_3188248"));
        assert_eq!(horse_id_for("dsi_468524").as_deref(), Some("hrs_468524"));
        assert_eq!(horse_id_for(""), None);
    }
}

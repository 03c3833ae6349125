//! RacesAndRunners: racecards and results for a window of dates, every page fetched, one
//! transaction per page. Results complete the runners racecards created (each source owns its
//! columns, so neither erases the other).

use super::endpoints::spec;
use super::late_non_runners::add_late_non_runners;
use super::{JobContext, JobError};
use crate::api::{ApiRequest, Endpoint};
use chrono::NaiveDate;

/// Racecards are served from this date on.
pub const FIRST_RACECARD_DATE: (i32, u32, u32) = (2023, 1, 23);
/// The largest page a paged endpoint serves (from the endpoint table).
fn page_size(endpoint: Endpoint) -> u32 {
    spec(endpoint).page_size.unwrap_or(1)
}

/// Which dates to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RacesAndRunnersPlan {
    /// One racecard request sequence per date.
    pub racecard_dates: Vec<NaiveDate>,
    /// One results request sequence for the whole inclusive range.
    pub results: Option<(NaiveDate, NaiveDate)>,
}

impl RacesAndRunnersPlan {
    /// The scheduled window: racecards for today … today + `ahead`, results for
    /// today − `back` … today − 1 (today's results are fetched by tomorrow's window as well,
    /// and by runs later in the day).
    pub fn window(today: NaiveDate, ahead: u32, back: u32) -> Self {
        let racecard_dates = (0..=ahead as i64)
            .map(|d| today + chrono::Duration::days(d))
            .collect();
        let results = (back > 0).then(|| (today - chrono::Duration::days(back as i64), today));
        RacesAndRunnersPlan {
            racecard_dates,
            results,
        }
    }

    /// Exactly the dates `from` … `to`: results for the whole range (up to today), racecards
    /// only where the API serves them (2023-01-23 … today + 7).
    pub fn dates(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Self {
        let (y, m, d) = FIRST_RACECARD_DATE;
        let first_card = NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        let last_card = today + chrono::Duration::days(7);
        let racecard_dates = from
            .iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| *d >= first_card && *d <= last_card)
            .collect();
        let results_end = to.min(today);
        let results = (from <= results_end).then_some((from, results_end));
        RacesAndRunnersPlan {
            racecard_dates,
            results,
        }
    }
}

/// Runs RacesAndRunners for `plan`.
pub async fn races_and_runners(
    ctx: &mut JobContext<'_>,
    plan: &RacesAndRunnersPlan,
) -> Result<(), JobError> {
    for date in &plan.racecard_dates {
        let regions = ctx.regions.clone();
        fetch_all_pages(ctx, |skip| ApiRequest::RacecardsPro {
            date: *date,
            region_codes: regions.clone(),
            limit: page_size(Endpoint::RacecardsPro),
            skip,
        })
        .await?;
    }
    if let Some((start, end)) = plan.results {
        let regions = ctx.regions.clone();
        fetch_all_pages(ctx, |skip| ApiRequest::Results {
            start_date: start,
            end_date: end,
            regions: regions.clone(),
            limit: page_size(Endpoint::Results),
            skip,
        })
        .await?;
    }
    Ok(())
}

/// The one paging loop: fetch, read through the endpoint table (parse, extract), check the
/// query echo, apply (one transaction per page), until the envelope's `total` is reached.
/// Pages that end short of `total` are an error, never silence.
pub(crate) async fn fetch_all_pages(
    ctx: &mut JobContext<'_>,
    request_for_skip: impl Fn(u32) -> ApiRequest,
) -> Result<(), JobError> {
    let mut account = super::accounting::RangeAccount::default();
    let mut skip: u32 = 0;
    loop {
        let request = request_for_skip(skip);
        let mut page = ctx.fetch_page(&request).await?;
        let n = page.records;
        let path = request.path_and_query();
        add_late_non_runners(ctx.store, &mut page.unit, &path).await?;
        let counts = ctx.apply(&page.unit).await?;
        account.page(&request, n, &page.unit, &counts)?;
        // The next page starts where this one was asked to end, so a record missing from a
        // page shows as a range short of its total rather than being paged over.
        skip += request.page_limit().unwrap_or(n as u32);
        if u64::from(skip) >= page.total || account.tally.received >= page.total {
            return account.finish(page.total);
        }
        if n == 0 {
            return Err(crate::api::ApiError::ShortPaging {
                path: request.path_and_query(),
                received: account.tally.received,
                total: page.total,
            }
            .into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn explicit_dates_fetch_racecards_only_where_the_api_serves_them() {
        let plan = RacesAndRunnersPlan::dates(d("2023-01-21"), d("2023-01-24"), d("2026-11-21"));
        assert_eq!(plan.racecard_dates, vec![d("2023-01-23"), d("2023-01-24")]);
        assert_eq!(plan.results, Some((d("2023-01-21"), d("2023-01-24"))));
        let future = RacesAndRunnersPlan::dates(d("2026-11-27"), d("2026-12-01"), d("2026-11-21"));
        assert_eq!(future.racecard_dates.len(), 2);
        assert_eq!(future.results, None);
    }

    #[test]
    fn the_window_matches_the_api_limits() {
        let plan = RacesAndRunnersPlan::window(d("2026-11-21"), 7, 3);
        assert_eq!(plan.racecard_dates.len(), 8);
        assert_eq!(plan.results, Some((d("2026-11-18"), d("2026-11-21"))));
    }
}

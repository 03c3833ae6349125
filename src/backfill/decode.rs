//! One response body → one unit of work, for every endpoint: the same parsers and extractor a
//! fetch uses, shared by the backfill pipeline and `paddock replay` so that both derive rows
//! identically.

use chrono::{DateTime, Utc};
use fetchers::api::models::{self, Page};
use fetchers::api::Endpoint;
use fetchers::extract;
use fetchers::jobs::JobError;
use fetchers::rows::UnitOfWork;

/// A decoded page: its envelope figures and the rows it yields.
#[derive(Debug)]
pub struct Decoded {
    pub total: u64,
    /// Records on the page (parsed or rejected).
    pub records: u64,
    pub echo: Vec<(String, String)>,
    pub unknown_fields: u64,
    pub unit: UnitOfWork,
}

fn figures<T>(page: &Page<T>, unit: UnitOfWork) -> Decoded {
    Decoded {
        total: page.total,
        records: page.records.len() as u64,
        echo: page.query.clone(),
        unknown_fields: page.unknown_fields,
        unit,
    }
}

/// The endpoint named by its path template (as archived), if Paddock reads it.
pub fn endpoint_of_template(template: &str) -> Option<Endpoint> {
    [
        Endpoint::Regions,
        Endpoint::Courses,
        Endpoint::RacecardsPro,
        Endpoint::RacecardPro,
        Endpoint::RacecardSummaries,
        Endpoint::Results,
        Endpoint::Result,
        Endpoint::HorsePro,
    ]
    .into_iter()
    .find(|e| e.template() == template)
}

/// Parses and extracts one 2xx body from `endpoint`, fetched as `path` at `fetched_at`.
pub fn decode(
    endpoint: Endpoint,
    body: &str,
    path: &str,
    fetched_at: DateTime<Utc>,
) -> Result<Decoded, JobError> {
    let bad = |e: models::ParseError| JobError::Payload {
        path: path.to_string(),
        reason: e.to_string(),
    };
    Ok(match endpoint {
        Endpoint::Results => {
            let page = models::parse_results_page(body).map_err(bad)?;
            let unit = extract::extract_results(&page, path);
            figures(&page, unit)
        }
        Endpoint::Result => {
            let page = models::parse_result(body).map_err(bad)?;
            let unit = extract::extract_results(&page, path);
            figures(&page, unit)
        }
        Endpoint::RacecardsPro => {
            let page = models::parse_racecards_page(body).map_err(bad)?;
            let unit = extract::extract_racecards(&page, path);
            figures(&page, unit)
        }
        Endpoint::RacecardPro => {
            let page = models::parse_racecard(body).map_err(bad)?;
            let unit = extract::extract_racecards(&page, path);
            figures(&page, unit)
        }
        Endpoint::HorsePro => {
            let page = models::parse_horse_pro(body).map_err(bad)?;
            let unit = extract::extract_horse_profile(&page, fetched_at, path);
            figures(&page, unit)
        }
        Endpoint::Courses => {
            let page = models::parse_courses_page(body).map_err(bad)?;
            let unit = extract::extract_courses(&page, path);
            figures(&page, unit)
        }
        Endpoint::Regions => {
            let page = models::parse_regions(body).map_err(bad)?;
            let unit = extract::extract_regions(&page, path);
            figures(&page, unit)
        }
        Endpoint::RacecardSummaries => {
            let page = models::parse_summaries_page(body).map_err(bad)?;
            figures(&page, UnitOfWork::default())
        }
    })
}

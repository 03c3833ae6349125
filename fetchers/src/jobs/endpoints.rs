//! The endpoint table: for every API endpoint, the largest page it serves, the source its rows
//! are written as, and how a body becomes a unit of work (its page parser and extractor),
//! declared once. The fetchers' paging loop and `paddock import` (and later the archive and
//! replay) read every body through [`read`]; a new endpoint is one entry here plus its model
//! and extractor.

use crate::api::models::{self, Page, ParseError};
use crate::api::Endpoint;
use crate::extract;
use crate::registry::Source;
use crate::rows::UnitOfWork;
use chrono::{DateTime, Utc};

/// A body read through its endpoint's parser and extractor.
#[derive(Debug, Clone)]
pub struct PageRead {
    pub unit: UnitOfWork,
    /// Records on the page (parsed or rejected).
    pub records: u64,
    /// The envelope's `total`.
    pub total: u64,
    /// The API's echo of the query it applied.
    pub query: Vec<(String, String)>,
    pub unknown_fields: u64,
}

impl PageRead {
    fn of<T>(page: &Page<T>, unit: UnitOfWork) -> PageRead {
        PageRead {
            unit,
            records: page.records.len() as u64,
            total: page.total,
            query: page.query.clone(),
            unknown_fields: page.unknown_fields,
        }
    }
}

/// Reads a body: `path` names the response (in rejects), `fetched_at` is when it arrived.
pub type ReadBody =
    fn(body: &str, path: &str, fetched_at: DateTime<Utc>) -> Result<PageRead, ParseError>;

/// One endpoint's entry.
#[derive(Debug, Clone, Copy)]
pub struct EndpointSpec {
    pub endpoint: Endpoint,
    /// The largest `limit` the API accepts (paged endpoints).
    pub page_size: Option<u32>,
    /// The source its rows are written as; `None` for an endpoint Paddock stores nothing from.
    pub source: Option<Source>,
    /// Parser and extractor; `None` where there is nothing to store.
    pub read: Option<ReadBody>,
}

/// Every endpoint Paddock knows.
pub const ENDPOINTS: [EndpointSpec; 9] = [
    EndpointSpec {
        endpoint: Endpoint::Regions,
        page_size: None,
        source: Some(Source::Reference),
        read: Some(read_regions),
    },
    EndpointSpec {
        endpoint: Endpoint::Courses,
        page_size: None,
        source: Some(Source::Reference),
        read: Some(read_courses),
    },
    EndpointSpec {
        endpoint: Endpoint::RacecardsPro,
        page_size: Some(500),
        source: Some(Source::Racecard),
        read: Some(read_racecards),
    },
    EndpointSpec {
        endpoint: Endpoint::RacecardPro,
        page_size: None,
        source: Some(Source::Racecard),
        read: Some(read_racecard),
    },
    EndpointSpec {
        endpoint: Endpoint::RacecardSummaries,
        page_size: None,
        source: None,
        read: None,
    },
    EndpointSpec {
        endpoint: Endpoint::Results,
        page_size: Some(50),
        source: Some(Source::Result),
        read: Some(read_results),
    },
    EndpointSpec {
        endpoint: Endpoint::Result,
        page_size: None,
        source: Some(Source::Result),
        read: Some(read_result),
    },
    EndpointSpec {
        endpoint: Endpoint::HorsePro,
        page_size: None,
        source: Some(Source::HorseProfile),
        read: Some(read_horse_profile),
    },
    EndpointSpec {
        endpoint: Endpoint::Odds,
        page_size: None,
        source: Some(Source::Odds),
        read: Some(read_runner_odds),
    },
];

/// The entry of `endpoint`.
pub fn spec(endpoint: Endpoint) -> &'static EndpointSpec {
    ENDPOINTS
        .iter()
        .find(|s| s.endpoint == endpoint)
        .expect("every endpoint has an entry")
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("{} carries no rows Paddock stores", .0.template())]
    NothingToStore(Endpoint),
}

/// Reads a body of `endpoint` through its parser and extractor.
pub fn read(
    endpoint: Endpoint,
    body: &str,
    path: &str,
    fetched_at: DateTime<Utc>,
) -> Result<PageRead, ReadError> {
    let read = spec(endpoint)
        .read
        .ok_or(ReadError::NothingToStore(endpoint))?;
    Ok(read(body, path, fetched_at)?)
}

fn read_regions(body: &str, path: &str, _: DateTime<Utc>) -> Result<PageRead, ParseError> {
    let page = models::parse_regions(body)?;
    Ok(PageRead::of(&page, extract::extract_regions(&page, path)))
}

fn read_courses(body: &str, path: &str, _: DateTime<Utc>) -> Result<PageRead, ParseError> {
    let page = models::parse_courses_page(body)?;
    Ok(PageRead::of(&page, extract::extract_courses(&page, path)))
}

fn read_racecards(body: &str, path: &str, _: DateTime<Utc>) -> Result<PageRead, ParseError> {
    let page = models::parse_racecards_page(body)?;
    Ok(PageRead::of(&page, extract::extract_racecards(&page, path)))
}

fn read_racecard(body: &str, path: &str, _: DateTime<Utc>) -> Result<PageRead, ParseError> {
    let page = models::parse_racecard(body)?;
    Ok(PageRead::of(&page, extract::extract_racecards(&page, path)))
}

fn read_results(body: &str, path: &str, _: DateTime<Utc>) -> Result<PageRead, ParseError> {
    let page = models::parse_results_page(body)?;
    Ok(PageRead::of(&page, extract::extract_results(&page, path)))
}

fn read_result(body: &str, path: &str, _: DateTime<Utc>) -> Result<PageRead, ParseError> {
    let page = models::parse_result(body)?;
    Ok(PageRead::of(&page, extract::extract_results(&page, path)))
}

fn read_horse_profile(
    body: &str,
    path: &str,
    fetched_at: DateTime<Utc>,
) -> Result<PageRead, ParseError> {
    let page = models::parse_horse_pro(body)?;
    let unit = extract::extract_horse_profile(&page, fetched_at, path);
    Ok(PageRead::of(&page, unit))
}

fn read_runner_odds(body: &str, path: &str, _: DateTime<Utc>) -> Result<PageRead, ParseError> {
    let page = models::parse_runner_odds(body)?;
    Ok(PageRead::of(
        &page,
        extract::extract_runner_odds(&page, path),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_exactly_one_entry() {
        for spec in ENDPOINTS {
            let entries = ENDPOINTS
                .iter()
                .filter(|s| s.endpoint == spec.endpoint)
                .count();
            assert_eq!(entries, 1, "{:?}", spec.endpoint);
            assert_eq!(
                spec.read.is_some(),
                spec.source.is_some(),
                "{:?}",
                spec.endpoint
            );
        }
    }

    #[test]
    fn an_endpoint_without_rows_says_so() {
        let err = read(Endpoint::RacecardSummaries, "{}", "x", Utc::now()).unwrap_err();
        assert!(matches!(err, ReadError::NothingToStore(_)), "{err}");
    }
}

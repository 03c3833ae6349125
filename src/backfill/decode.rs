//! One response body → one unit of work, for every endpoint, through the endpoint table
//! ([`fetchers::jobs::endpoints`]): the same parsers and extractors a fetch and `paddock import`
//! use, shared by the backfill pipeline and `paddock replay` so that all derive rows identically.

use chrono::{DateTime, Utc};
use fetchers::api::Endpoint;
use fetchers::jobs::endpoints::{self, ReadError, ENDPOINTS};
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

/// The endpoint named by its path template (as archived), if Paddock knows it.
pub fn endpoint_of_template(template: &str) -> Option<Endpoint> {
    ENDPOINTS
        .iter()
        .map(|spec| spec.endpoint)
        .find(|e| e.template() == template)
}

/// Parses and extracts one 2xx body from `endpoint`, fetched as `path` at `fetched_at`. An
/// endpoint Paddock stores nothing from (racecard summaries) decodes to an empty unit.
pub fn decode(
    endpoint: Endpoint,
    body: &str,
    path: &str,
    fetched_at: DateTime<Utc>,
) -> Result<Decoded, JobError> {
    match endpoints::read(endpoint, body, path, fetched_at) {
        Ok(page) => Ok(Decoded {
            total: page.total,
            records: page.records,
            echo: page.query,
            unknown_fields: page.unknown_fields,
            unit: page.unit,
        }),
        Err(ReadError::NothingToStore(_)) => Ok(Decoded {
            total: 0,
            records: 0,
            echo: Vec::new(),
            unknown_fields: 0,
            unit: UnitOfWork::default(),
        }),
        Err(ReadError::Parse(e)) => Err(JobError::Payload {
            path: path.to_string(),
            reason: e.to_string(),
        }),
    }
}

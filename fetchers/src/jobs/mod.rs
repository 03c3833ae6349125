//! The three grouped fetchers (MasterReference, MasterEntities, RacesAndRunners) and the
//! context they share: one fetch loop that counts requests, applies one unit of work per page
//! and accumulates the run's figures.

pub mod endpoints;
mod import;
mod master_entities;
mod master_reference;
mod races_and_runners;

pub use import::import_document;
pub use master_entities::{master_entities, MasterEntitiesOptions};
pub use master_reference::master_reference;
pub use races_and_runners::{races_and_runners, RacesAndRunnersPlan};

use crate::api::{ApiError, ApiRequest, ApiSource, RawResponse};
use crate::rows::{Counts, UnitOfWork};
use crate::store::{ApplyMode, RunId, Store, StoreError};
use std::collections::BTreeMap;

/// Why a job stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A page that could not be read at all (its envelope was broken).
    #[error("{path}: {reason}")]
    Payload { path: String, reason: String },
    /// The API answered a different query from the one sent (a parameter was ignored).
    #[error("{path}: the API echoed a different query ({echo}); refusing unfiltered data")]
    QueryMismatch { path: String, echo: String },
}

/// What a job run did, for the ledger and the summary table.
#[derive(Debug, Default, Clone)]
pub struct JobReport {
    /// Logical requests by endpoint template.
    pub requests: BTreeMap<String, u64>,
    pub counts: Counts,
    /// Resources the API answered 404 for (recorded, not fatal).
    pub missing: Vec<String>,
    /// Unknown fields seen in payloads (tolerated, counted).
    pub unknown_fields: u64,
}

impl JobReport {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

/// What a job needs: the API, the store, the run it belongs to and whether to commit.
pub struct JobContext<'a> {
    pub api: &'a dyn ApiSource,
    pub store: &'a dyn Store,
    pub run_id: RunId,
    pub mode: ApplyMode,
    /// Region codes to fetch (lower case).
    pub regions: Vec<String>,
    pub report: JobReport,
}

impl<'a> JobContext<'a> {
    pub fn new(
        api: &'a dyn ApiSource,
        store: &'a dyn Store,
        run_id: RunId,
        mode: ApplyMode,
        regions: Vec<String>,
    ) -> Self {
        JobContext {
            api,
            store,
            run_id,
            mode,
            regions,
            report: JobReport::default(),
        }
    }

    /// One request, counted by endpoint.
    pub async fn fetch(&mut self, request: &ApiRequest) -> Result<RawResponse, ApiError> {
        *self
            .report
            .requests
            .entry(request.endpoint().template().to_string())
            .or_default() += 1;
        self.api.fetch(request).await
    }

    /// One request read through the endpoint table: fetched (counted), parsed and extracted,
    /// its query echo checked and its unknown fields counted. Not yet applied.
    pub async fn fetch_page(
        &mut self,
        request: &ApiRequest,
    ) -> Result<endpoints::PageRead, JobError> {
        let response = self.fetch(request).await?;
        let page = endpoints::read(
            request.endpoint(),
            &response.body,
            &response.path_and_query,
            response.fetched_at,
        )
        .map_err(|e| JobError::Payload {
            path: response.path_and_query.clone(),
            reason: e.to_string(),
        })?;
        check_query_echo(request, &page.query)?;
        self.report.unknown_fields += page.unknown_fields;
        Ok(page)
    }

    /// Applies one unit of work (one transaction) and adds its counts to the report.
    pub async fn apply(&mut self, unit: &UnitOfWork) -> Result<Counts, StoreError> {
        if unit.is_empty() {
            return Ok(Counts::default());
        }
        let counts = self.store.apply(self.run_id, unit, self.mode).await?;
        self.report.counts.add(&counts);
        Ok(counts)
    }
}

/// Checks the envelope's `query` echo against what was sent: every parameter sent must come
/// back (lesson: a misspelt parameter is silently ignored by the API and returns unfiltered
/// data). An empty echo is accepted (single-object endpoints have none).
pub fn check_query_echo(request: &ApiRequest, echo: &[(String, String)]) -> Result<(), JobError> {
    if echo.is_empty() {
        return Ok(());
    }
    for (k, v) in request.query() {
        if !echo.iter().any(|(ek, ev)| ek == k && ev == &v) {
            return Err(JobError::QueryMismatch {
                path: request.path_and_query(),
                echo: echo
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&"),
            });
        }
    }
    Ok(())
}

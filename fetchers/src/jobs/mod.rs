//! The three grouped fetchers (MasterReference, MasterEntities, RacesAndRunners) and the
//! context they share: one fetch loop that counts requests, applies one unit of work per page
//! and accumulates the run's figures.

pub mod accounting;
#[cfg(test)]
mod echo_tests;
pub mod endpoints;
mod import;
pub mod late_non_runners;
mod master_entities;
mod master_reference;
mod races_and_runners;

pub use import::import_document;
pub use master_entities::missing_profile_key;
pub use master_entities::{
    master_entities, refresh_profiles, MasterEntitiesOptions, ProfileRefresh,
};
pub use master_reference::master_reference;
pub use races_and_runners::{races_and_runners, RacesAndRunnersPlan};

use crate::api::{ApiError, ApiRequest, ApiSource, RawResponse};
use crate::rows::{Counts, UnitOfWork};
use crate::store::{ApplyMode, RunId, Store, StoreError};
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;

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
    /// Records lost between the API and the store (see [`accounting`]).
    #[error(
        "{path}: records do not add up: received {received}, stored {stored}, rejected {rejected}{}",
        total.map(|t| format!(", total {t}")).unwrap_or_default()
    )]
    Accounting {
        path: String,
        received: u64,
        stored: u64,
        rejected: u64,
        total: Option<u64>,
    },
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
    /// Cancelled when the run must stop (daemon shutdown): checked before every request, so a
    /// run stops between pages and never leaves a page half-written.
    pub cancel: CancellationToken,
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
            cancel: CancellationToken::new(),
        }
    }

    /// One request, counted by endpoint.
    pub async fn fetch(&mut self, request: &ApiRequest) -> Result<RawResponse, ApiError> {
        let cancelled = || ApiError::Cancelled {
            path: request.path_and_query(),
        };
        if self.cancel.is_cancelled() {
            return Err(cancelled());
        }
        *self
            .report
            .requests
            .entry(request.endpoint().template().to_string())
            .or_default() += 1;
        // A request in flight is abandoned on cancellation; nothing of its page was written.
        match self
            .cancel
            .run_until_cancelled(self.api.fetch(request))
            .await
        {
            Some(answer) => answer,
            None => Err(cancelled()),
        }
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
/// data). An empty or missing echo is accepted only where the endpoint does not always echo
/// (single-object endpoints, `/courses`).
pub fn check_query_echo(request: &ApiRequest, echo: &[(String, String)]) -> Result<(), JobError> {
    if echo.is_empty() && !request.endpoint().always_echoes_query() {
        return Ok(());
    }
    for (k, v) in request.query() {
        if !echo.iter().any(|(ek, ev)| ek == k && ev == &v) {
            return Err(JobError::QueryMismatch {
                path: request.path_and_query(),
                echo: if echo.is_empty() {
                    "no echo at all".to_string()
                } else {
                    echo.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("&")
                },
            });
        }
    }
    Ok(())
}

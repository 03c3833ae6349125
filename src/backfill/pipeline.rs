//! The backfill pipeline: pages requested in order with the next request in flight while the
//! previous page is written (a pipeline one page deep, so the limiter stays saturated), each
//! page committed together with its checkpoint, a range whose `total` changes refetched in
//! full, and horse profiles fetched the same way.

use super::decode::{decode, Decoded};
use super::plan::{self, Progress, Stream, JOB};
use super::progress::{Reporter, Snapshot};
use fetchers::api::{ApiError, ApiRequest, ApiSource, Endpoint, RawResponse};
use fetchers::jobs::late_non_runners::add_late_non_runners;
use fetchers::jobs::{check_query_echo, missing_profile_key, JobError, JobReport};
use fetchers::rows::{Checkpoint, Counts, UnitOfWork};
use fetchers::store::{ApplyMode, RunId, Store};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// How often a range may change its total while being paged before the backfill gives up.
const MAX_REFETCHES: u32 = 5;

/// What the pipeline did.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    /// Requests by endpoint template.
    pub requests: BTreeMap<String, u64>,
    pub counts: Counts,
    pub pages_done: u64,
    pub pages_planned: u64,
    /// Streams whose total changed while paging, refetched in full (with the two totals).
    pub refetched: Vec<String>,
    /// Ranges too large to page, split in two.
    pub split: Vec<String>,
    /// Streams already complete from an earlier run (not requested again).
    pub streams_already_done: u64,
    /// Resources the API answered 404 for.
    pub missing: Vec<String>,
    pub unknown_fields: u64,
}

impl Figures {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }

    /// The figures every run reports (requests, counts, missing resources, unknown fields).
    pub fn report(&self) -> JobReport {
        JobReport {
            requests: self.requests.clone(),
            counts: self.counts.clone(),
            missing: self.missing.clone(),
            unknown_fields: self.unknown_fields,
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            pages_done: self.pages_done,
            pages_planned: self.pages_planned,
            requests: self.total_requests(),
            rows_written: self.counts.written(),
        }
    }
}

/// The pipeline's shared parts.
pub struct Pipeline<'a> {
    pub api: &'a dyn ApiSource,
    pub store: &'a dyn Store,
    pub run_id: RunId,
    pub regions: Vec<String>,
    pub figures: Figures,
    pub reporter: Reporter,
}

/// A stream waiting in the queue: where it resumes and the total it was paged under.
#[derive(Debug, Clone)]
struct Position {
    stream: Stream,
    skip: u64,
    total: Option<u64>,
    refetches: u32,
}

impl Position {
    fn remaining_pages(&self) -> u64 {
        match self.total {
            Some(t) => {
                plan::pages_for(t, self.stream.page_size())
                    - self.skip / u64::from(self.stream.page_size())
            }
            None => plan::estimated_pages(&self.stream),
        }
    }
}

impl<'a> Pipeline<'a> {
    pub(super) fn count_request(&mut self, request: &ApiRequest) {
        *self
            .figures
            .requests
            .entry(request.endpoint().template().to_string())
            .or_default() += 1;
    }

    pub(super) fn report_progress(&mut self) {
        self.reporter.update(self.figures.snapshot());
    }

    pub(super) async fn apply(&mut self, unit: &UnitOfWork) -> Result<(), JobError> {
        if !unit.is_empty() {
            let counts = self
                .store
                .apply(self.run_id, unit, ApplyMode::Commit)
                .await?;
            self.figures.counts.add(&counts);
        }
        Ok(())
    }

    /// Pages every stream to its end, resuming each from its checkpoint (`saved`, by
    /// checkpoint name). Streams already done are not requested.
    pub async fn run_streams(
        &mut self,
        streams: &[Stream],
        saved: &HashMap<String, Progress>,
    ) -> Result<(), JobError> {
        let mut queue = VecDeque::new();
        let mut pending: Vec<Stream> = streams.iter().rev().cloned().collect();
        while let Some(stream) = pending.pop() {
            match saved.get(&stream.checkpoint_name()) {
                Some(Progress::Done) => self.figures.streams_already_done += 1,
                Some(Progress::Split) => match stream.halves() {
                    Some((a, b)) => {
                        pending.push(b);
                        pending.push(a);
                    }
                    None => queue.push_back(fresh(stream)),
                },
                Some(Progress::Paging { skip, total }) => queue.push_back(Position {
                    stream,
                    skip: *skip,
                    total: Some(*total),
                    refetches: 0,
                }),
                None => queue.push_back(fresh(stream)),
            }
        }
        self.figures.pages_planned += queue.iter().map(Position::remaining_pages).sum::<u64>();
        self.reporter.update(self.figures.snapshot());

        let Some(mut current) = queue.pop_front() else {
            return Ok(());
        };
        let mut request = current.stream.request(&self.regions, current.skip);
        self.count_request(&request);
        let mut response = self.api.fetch(&request).await;
        loop {
            let raw = response?;
            let endpoint = request.endpoint();
            let mut decoded = decode(endpoint, &raw.body, &raw.path_and_query, raw.fetched_at)?;
            // Late non-runners are matched against the stored runners, as a fetch does.
            add_late_non_runners(self.store, &mut decoded.unit, &raw.path_and_query).await?;
            drop(raw);
            check_query_echo(&request, &decoded.echo)?;
            self.figures.unknown_fields += decoded.unknown_fields;

            let (progress, next) = self.advance(&mut current, &decoded, &mut queue)?;
            let (cursor, status) = progress.to_checkpoint();
            decoded.unit.checkpoint = Some(Checkpoint {
                name: current.stream.checkpoint_name(),
                job: JOB.to_string(),
                cursor,
                status,
            });
            let next_request = next
                .as_ref()
                .map(|p| p.stream.request(&self.regions, p.skip));
            if let Some(r) = &next_request {
                self.count_request(r);
            }
            // The next request is in flight while this page is written.
            let api = self.api;
            let (applied, next_response) = tokio::join!(self.apply(&decoded.unit), async {
                match &next_request {
                    Some(r) => Some(api.fetch(r).await),
                    None => None,
                }
            });
            applied?;
            self.figures.pages_done += 1;
            self.reporter.update(self.figures.snapshot());
            match (next, next_request, next_response) {
                (Some(p), Some(r), Some(resp)) => {
                    current = p;
                    request = r;
                    response = resp;
                }
                _ => return Ok(()),
            }
        }
    }

    /// Decides what a page means for its stream: the checkpoint to commit with it and the next
    /// position to request (None when everything is fetched).
    fn advance(
        &mut self,
        current: &mut Position,
        page: &Decoded,
        queue: &mut VecDeque<Position>,
    ) -> Result<(Progress, Option<Position>), JobError> {
        let name = current.stream.checkpoint_name();
        let request_path = current
            .stream
            .request(&self.regions, current.skip)
            .path_and_query();
        // (At skip 0 nothing was read under the old total: a different total just starts over.)
        let changed = current
            .total
            .filter(|t| *t != page.total && current.skip > 0);
        if let Some(expected) = changed {
            // The range changed under us: page it again from the start under the new total,
            // so that no race shifted across a page boundary is lost or doubled.
            current.refetches += 1;
            if current.refetches > MAX_REFETCHES {
                return Err(JobError::Payload {
                    path: request_path,
                    reason: format!(
                        "the range's total kept changing ({MAX_REFETCHES} refetches); try again later"
                    ),
                });
            }
            tracing::warn!(
                range = %name,
                was = expected,
                now = page.total,
                "a range's total changed while paging: refetching it in full"
            );
            self.figures
                .refetched
                .push(format!("{name} (total {expected} → {})", page.total));
            let mut again = current.clone();
            again.skip = 0;
            again.total = Some(page.total);
            self.figures.pages_planned += again.remaining_pages();
            let progress = Progress::Paging {
                skip: 0,
                total: page.total,
            };
            return Ok((progress, Some(again)));
        }
        if current.skip == 0 && page.total > current.stream.reachable() {
            let Some((a, b)) = current.stream.halves() else {
                return Err(JobError::Payload {
                    path: request_path,
                    reason: format!(
                        "{} records in one day: more than paging can reach ({})",
                        page.total,
                        current.stream.reachable()
                    ),
                });
            };
            tracing::info!(range = %name, total = page.total, "range too large to page: splitting it");
            self.figures
                .split
                .push(format!("{name} ({} records)", page.total));
            self.figures.pages_planned = self
                .figures
                .pages_planned
                .saturating_sub(current.remaining_pages());
            let (a, b) = (fresh(a), fresh(b));
            self.figures.pages_planned += a.remaining_pages() + b.remaining_pages();
            queue.push_front(b);
            return Ok((Progress::Split, Some(a)));
        }
        if current.total.is_none() {
            // First page: replace the estimate by the real count.
            self.figures.pages_planned = self
                .figures
                .pages_planned
                .saturating_sub(current.remaining_pages());
            current.total = Some(page.total);
            self.figures.pages_planned += current.remaining_pages();
        }
        let received = current.skip + page.records;
        if received >= page.total {
            return Ok((Progress::Done, queue.pop_front()));
        }
        if page.records == 0 {
            return Err(ApiError::ShortPaging {
                path: request_path,
                received,
                total: page.total,
            }
            .into());
        }
        let mut next = current.clone();
        next.skip = received;
        Ok((
            Progress::Paging {
                skip: received,
                total: page.total,
            },
            Some(next),
        ))
    }

    /// Fetches one profile per horse, the next request in flight while the previous profile
    /// is written. A 404 is recorded as missing and remembered in `paddock_state`.
    pub async fn run_profiles(&mut self, horse_ids: &[String]) -> Result<(), JobError> {
        self.figures.pages_planned += horse_ids.len() as u64;
        let request_for = |id: &String| ApiRequest::HorsePro {
            horse_id: id.clone(),
        };
        let Some(first) = horse_ids.first() else {
            return Ok(());
        };
        let first = request_for(first);
        self.count_request(&first);
        let mut response = self.api.fetch(&first).await;
        for (i, id) in horse_ids.iter().enumerate() {
            let unit = self.profile_unit(id, response)?;
            let next_request = horse_ids.get(i + 1).map(request_for);
            if let Some(r) = &next_request {
                self.count_request(r);
            }
            let api = self.api;
            let (applied, next_response) = tokio::join!(self.apply(&unit), async {
                match &next_request {
                    Some(r) => Some(api.fetch(r).await),
                    None => None,
                }
            });
            applied?;
            self.figures.pages_done += 1;
            self.reporter.update(self.figures.snapshot());
            match next_response {
                Some(r) => response = r,
                None => break,
            }
        }
        Ok(())
    }

    fn profile_unit(
        &mut self,
        horse_id: &str,
        response: Result<RawResponse, ApiError>,
    ) -> Result<UnitOfWork, JobError> {
        match response {
            Ok(raw) => {
                let decoded = decode(
                    Endpoint::HorsePro,
                    &raw.body,
                    &raw.path_and_query,
                    raw.fetched_at,
                )?;
                Ok(decoded.unit)
            }
            Err(ApiError::NotFound { path }) => {
                self.figures.missing.push(path);
                Ok(UnitOfWork {
                    state: vec![(
                        missing_profile_key(horse_id),
                        chrono::Utc::now().to_rfc3339(),
                    )],
                    ..Default::default()
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn fresh(stream: Stream) -> Position {
    Position {
        stream,
        skip: 0,
        total: None,
        refetches: 0,
    }
}

/// Horses that lack profile data, less those the API is known to have none for, at most
/// `budget` of them.
pub async fn horses_needing_profiles(
    store: &dyn Store,
    budget: u32,
) -> Result<Vec<String>, JobError> {
    let candidates = store
        .horses_without_profile(i64::from(budget).saturating_mul(4).max(1))
        .await?;
    let keys: Vec<String> = candidates
        .iter()
        .map(|h| missing_profile_key(h).text())
        .collect();
    let missing = store.existing_keys("paddock_state", "key", &keys).await?;
    Ok(candidates
        .into_iter()
        .filter(|h| !missing.contains(&missing_profile_key(h).text()))
        .take(budget as usize)
        .collect())
}

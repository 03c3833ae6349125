//! The backfill plan: which paged request sequences ("streams") cover the dates, their
//! checkpoint names and cursors, and the dry-run estimate of requests and time.
//!
//! Results are paged over multi-day ranges (50 a page, `skip` ≤ 20,000), so a range is at most
//! [`RESULTS_RANGE_DAYS`] long and split in two if its `total` still exceeds what paging can
//! reach. Racecards are one stream per day, only for dates the API serves.

use crate::run::JobName;
use chrono::NaiveDate;
use fetchers::api::ApiRequest;
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::CheckpointStatus;
use std::collections::BTreeSet;

/// Results per page (the API's maximum).
pub const RESULTS_PAGE: u32 = 50;
/// The largest `skip` the results endpoint accepts.
pub const RESULTS_MAX_SKIP: u64 = 20_000;
/// Racecards per page (the API's maximum).
pub const RACECARDS_PAGE: u32 = 500;
/// Longest results range planned up front (GB+IRE run about 13,500–14,500 races a year, well
/// under the 20,050 a range can page through).
pub const RESULTS_RANGE_DAYS: i64 = 366;
/// For the dry run only: GB+IRE races per day on average, to estimate results pages.
pub const ESTIMATED_RACES_PER_DAY: f64 = 38.0;

/// The job name of backfill checkpoints and ledger rows.
pub const JOB: &str = JobName::Backfill.as_str();

/// What a backfill fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Results,
    Racecards,
    Profiles,
    /// The odds endpoint for the races `[odds.backfill]` chooses; only when asked for by name.
    Odds,
}

impl Part {
    pub fn name(self) -> &'static str {
        match self {
            Part::Results => "results",
            Part::Racecards => "racecards",
            Part::Profiles => "profiles",
            Part::Odds => "odds",
        }
    }

    /// Parses `results,racecards,profiles,odds`.
    pub fn parse_list(spec: &str) -> anyhow::Result<BTreeSet<Part>> {
        let mut out = BTreeSet::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.insert(match item {
                "results" => Part::Results,
                "racecards" => Part::Racecards,
                "profiles" => Part::Profiles,
                "odds" => Part::Odds,
                other => anyhow::bail!(
                    "unknown part `{other}` (known: results, racecards, profiles, odds)"
                ),
            });
        }
        anyhow::ensure!(!out.is_empty(), "--only names no part");
        Ok(out)
    }

    /// The parts a backfill fetches unless `--only` says otherwise (not the odds).
    pub fn all() -> BTreeSet<Part> {
        Part::all_list().into_iter().collect()
    }

    pub fn all_list() -> Vec<Part> {
        vec![Part::Results, Part::Racecards, Part::Profiles]
    }
}

/// One paged request sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// Results for an inclusive date range.
    Results { start: NaiveDate, end: NaiveDate },
    /// Racecards for one day.
    Racecards { date: NaiveDate },
}

impl Stream {
    /// The checkpoint's name: unique per stream, stable across runs.
    pub fn checkpoint_name(&self) -> String {
        match self {
            Stream::Results { start, end } => format!("backfill:results:{start}..{end}"),
            Stream::Racecards { date } => format!("backfill:racecards:{date}"),
        }
    }

    pub fn page_size(&self) -> u32 {
        match self {
            Stream::Results { .. } => RESULTS_PAGE,
            Stream::Racecards { .. } => RACECARDS_PAGE,
        }
    }

    /// The most records paging can reach in this stream.
    pub fn reachable(&self) -> u64 {
        match self {
            Stream::Results { .. } => RESULTS_MAX_SKIP + u64::from(RESULTS_PAGE),
            // Racecards: skip ≤ 500; no day has that many races.
            Stream::Racecards { .. } => 500 + u64::from(RACECARDS_PAGE),
        }
    }

    /// The request for the page starting at `skip`.
    pub fn request(&self, regions: &[String], skip: u64) -> ApiRequest {
        let skip = u32::try_from(skip).unwrap_or(u32::MAX);
        match self {
            Stream::Results { start, end } => ApiRequest::Results {
                start_date: *start,
                end_date: *end,
                regions: regions.to_vec(),
                limit: RESULTS_PAGE,
                skip,
            },
            Stream::Racecards { date } => ApiRequest::RacecardsPro {
                date: *date,
                region_codes: regions.to_vec(),
                limit: RACECARDS_PAGE,
                skip,
            },
        }
    }

    /// A results range cut in two halves (None for a single day or racecards).
    pub fn halves(&self) -> Option<(Stream, Stream)> {
        match self {
            Stream::Results { start, end } if start < end => {
                let mid = *start + chrono::Duration::days((*end - *start).num_days() / 2);
                Some((
                    Stream::Results {
                        start: *start,
                        end: mid,
                    },
                    Stream::Results {
                        start: mid + chrono::Duration::days(1),
                        end: *end,
                    },
                ))
            }
            _ => None,
        }
    }
}

/// Where a stream stands, as stored in its checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// `skip` is the next page; `total` is the range's total when paging started.
    Paging { skip: u64, total: u64 },
    /// Every page committed.
    Done,
    /// Too large to page: replaced by its two halves.
    Split,
}

impl Progress {
    /// `(cursor, status)` for the checkpoint row.
    pub fn to_checkpoint(self) -> (Option<String>, CheckpointStatus) {
        match self {
            Progress::Paging { skip, total } => (
                Some(format!("skip={skip};total={total}")),
                CheckpointStatus::Running,
            ),
            Progress::Done => (None, CheckpointStatus::Done),
            Progress::Split => (None, CheckpointStatus::Split),
        }
    }

    /// Reads a checkpoint row back (None for anything unrecognised: the stream starts over).
    pub fn from_checkpoint(cursor: Option<&str>, status: &str) -> Option<Progress> {
        match CheckpointStatus::parse(status).ok()? {
            CheckpointStatus::Done => Some(Progress::Done),
            CheckpointStatus::Split => Some(Progress::Split),
            CheckpointStatus::Running => {
                let mut skip = None;
                let mut total = None;
                for part in cursor?.split(';') {
                    match part.split_once('=')? {
                        ("skip", v) => skip = v.parse().ok(),
                        ("total", v) => total = v.parse().ok(),
                        _ => return None,
                    }
                }
                Some(Progress::Paging {
                    skip: skip?,
                    total: total?,
                })
            }
        }
    }
}

/// The streams for `from` … `to`: results ranges (up to yesterday), then racecard days (only those
/// the API serves), and the dates skipped for racecards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub results: Vec<Stream>,
    pub racecards: Vec<Stream>,
    /// Dates in the range the API has no racecards for (skipped with a note).
    pub racecard_dates_skipped: Vec<NaiveDate>,
    pub profiles: bool,
}

impl Plan {
    pub fn new(from: NaiveDate, to: NaiveDate, today: NaiveDate, parts: &BTreeSet<Part>) -> Plan {
        let dates = RacesAndRunnersPlan::dates(from, to, today);
        let mut results = Vec::new();
        // Results up to yesterday: a checkpointed range is never asked for again, and today's
        // results are still arriving (the scheduled RacesAndRunners job fetches them).
        let results_range = dates
            .results
            .map(|(start, end)| (start, end.min(today - chrono::Duration::days(1))))
            .filter(|(start, end)| start <= end);
        if let (true, Some((start, end))) = (parts.contains(&Part::Results), results_range) {
            let mut s = start;
            while s <= end {
                let e = (s + chrono::Duration::days(RESULTS_RANGE_DAYS - 1)).min(end);
                results.push(Stream::Results { start: s, end: e });
                s = e + chrono::Duration::days(1);
            }
        }
        let (racecards, racecard_dates_skipped) = if parts.contains(&Part::Racecards) {
            let served: BTreeSet<NaiveDate> = dates.racecard_dates.iter().copied().collect();
            let skipped = from
                .iter_days()
                .take_while(|d| *d <= to)
                .filter(|d| !served.contains(d))
                .collect();
            (
                dates
                    .racecard_dates
                    .iter()
                    .map(|d| Stream::Racecards { date: *d })
                    .collect(),
                skipped,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Plan {
            results,
            racecards,
            racecard_dates_skipped,
            profiles: parts.contains(&Part::Profiles),
        }
    }

    /// Every paged stream, results first.
    pub fn streams(&self) -> impl Iterator<Item = &Stream> {
        self.results.iter().chain(&self.racecards)
    }

    /// Estimated results pages (before any total is known).
    pub fn estimated_results_pages(&self) -> u64 {
        self.results.iter().map(estimated_pages).sum()
    }
}

/// Estimated pages of a stream whose total is not known yet.
pub fn estimated_pages(stream: &Stream) -> u64 {
    match stream {
        Stream::Results { start, end } => {
            let days = (*end - *start).num_days() + 1;
            ((days as f64 * ESTIMATED_RACES_PER_DAY) / f64::from(RESULTS_PAGE)).ceil() as u64
        }
        Stream::Racecards { .. } => 1,
    }
}

/// Pages needed for `total` records at `page_size` (at least one: an empty range still
/// answers with its total).
pub fn pages_for(total: u64, page_size: u32) -> u64 {
    total.div_ceil(u64::from(page_size)).max(1)
}

#[cfg(test)]
mod tests {
    use crate::backfill::plan::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn results_ranges_cover_the_dates_once_and_racecards_only_served_days() {
        let plan = Plan::new(
            d("2022-01-01"),
            d("2023-01-31"),
            d("2026-11-30"),
            &Part::all(),
        );
        assert_eq!(
            plan.results,
            vec![
                Stream::Results {
                    start: d("2022-01-01"),
                    end: d("2023-01-01")
                },
                Stream::Results {
                    start: d("2023-01-02"),
                    end: d("2023-01-31")
                },
            ]
        );
        assert_eq!(plan.racecards.len(), 9);
        assert_eq!(plan.racecard_dates_skipped.len(), 365 + 22);
    }

    #[test]
    fn checkpoint_cursors_round_trip_and_junk_starts_over() {
        for p in [
            Progress::Paging {
                skip: 150,
                total: 13_530,
            },
            Progress::Done,
            Progress::Split,
        ] {
            let (cursor, status) = p.to_checkpoint();
            assert_eq!(
                Progress::from_checkpoint(cursor.as_deref(), status.name()),
                Some(p)
            );
        }
        assert_eq!(Progress::from_checkpoint(Some("skip=x"), "running"), None);
    }

    #[test]
    fn a_range_halves_into_two_ranges_that_cover_it() {
        let s = Stream::Results {
            start: d("2024-01-01"),
            end: d("2024-01-04"),
        };
        let (a, b) = s.halves().unwrap();
        assert_eq!(
            a,
            Stream::Results {
                start: d("2024-01-01"),
                end: d("2024-01-02")
            }
        );
        assert_eq!(
            b,
            Stream::Results {
                start: d("2024-01-03"),
                end: d("2024-01-04")
            }
        );
        assert!(Stream::Racecards {
            date: d("2024-01-01")
        }
        .halves()
        .is_none());
    }
}

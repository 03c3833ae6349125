//! Page accounting: every record a page brings is either stored or rejected, and a paged range
//! brings exactly the `total` its envelope announced. A mismatch fails the run with the figures
//! (received, stored, rejected, total), which then stand in its ledger row's error text.

use super::JobError;
use crate::api::{ApiRequest, Endpoint};
use crate::registry::names;
use crate::rows::{Counts, UnitOfWork};

/// The table that holds one record of `endpoint`'s pages (a race for racecards and results).
pub fn record_table(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Regions => names::REGIONS,
        Endpoint::Courses => names::COURSES,
        Endpoint::RacecardsPro
        | Endpoint::RacecardPro
        | Endpoint::RacecardSummaries
        | Endpoint::Results
        | Endpoint::Result => names::RACES,
        Endpoint::HorsePro => names::HORSES,
        Endpoint::Odds => names::RUNNER_ODDS,
    }
}

/// The figures of one page or of a whole range of pages.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Records the API sent.
    pub received: u64,
    /// Records whose row is stored (inserted, updated or already identical).
    pub stored: u64,
    /// Records that went to `paddock_rejects`.
    pub rejected: u64,
}

impl Tally {
    /// The figures of one applied page: `records` received, the record table's rows stored
    /// (from the store's counts) and the record table's rejects in the unit.
    pub fn of_page(records: u64, table: &str, unit: &UnitOfWork, counts: &Counts) -> Tally {
        let c = counts.table(table);
        Tally {
            received: records,
            stored: c.inserted + c.updated + c.unchanged,
            rejected: unit.rejects.iter().filter(|r| r.table == table).count() as u64,
        }
    }

    /// Received = stored + rejected, or an error naming `path` and the figures.
    pub fn check(&self, path: &str, total: Option<u64>) -> Result<(), JobError> {
        let balanced = self.received == self.stored + self.rejected;
        let complete = total.is_none_or(|t| t == self.received);
        if balanced && complete {
            return Ok(());
        }
        Err(JobError::Accounting {
            path: path.to_string(),
            received: self.received,
            stored: self.stored,
            rejected: self.rejected,
            total,
        })
    }

    pub fn add(&mut self, page: Tally) {
        self.received += page.received;
        self.stored += page.stored;
        self.rejected += page.rejected;
    }
}

/// The accounting of one paged range: each page is checked as it lands, the whole range
/// against `total` at the end.
#[derive(Debug, Default)]
pub struct RangeAccount {
    first_path: Option<String>,
    pub tally: Tally,
}

impl RangeAccount {
    /// Checks one applied page (received = stored + rejected) and adds it to the range.
    pub fn page(
        &mut self,
        request: &ApiRequest,
        records: u64,
        unit: &UnitOfWork,
        counts: &Counts,
    ) -> Result<(), JobError> {
        let path = request.path_and_query();
        let page = Tally::of_page(records, record_table(request.endpoint()), unit, counts);
        page.check(&path, None)?;
        self.first_path.get_or_insert(path);
        self.tally.add(page);
        Ok(())
    }

    /// Checks the whole range against the envelope's `total`.
    pub fn finish(&self, total: u64) -> Result<(), JobError> {
        self.tally
            .check(self.first_path.as_deref().unwrap_or(""), Some(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Source;
    use crate::rows::{Reject, Row, TableCounts};

    fn counts(table: &str, inserted: u64, unchanged: u64) -> Counts {
        let mut c = Counts::default();
        *c.entry(table) = TableCounts {
            inserted,
            unchanged,
            ..Default::default()
        };
        c
    }

    fn reject(table: &'static str) -> Reject {
        Reject {
            endpoint: "/results".into(),
            entity: "race".into(),
            key: None,
            reason: "race_id: missing".into(),
            payload: None,
            table,
        }
    }

    #[test]
    fn a_page_balances_when_every_record_is_stored_or_rejected() {
        let mut unit = UnitOfWork::default();
        unit.push(Row::new("ra_mst_races", Source::Result).set("id", "rac_1"));
        unit.rejects.push(reject("ra_mst_races"));
        // A runner reject does not account for a race record.
        unit.rejects.push(reject("ra_runners"));
        let page = Tally::of_page(3, "ra_mst_races", &unit, &counts("ra_mst_races", 1, 1));
        assert_eq!(
            page,
            Tally {
                received: 3,
                stored: 2,
                rejected: 1
            }
        );
        assert!(page.check("/results", None).is_ok());
        let short = Tally::of_page(4, "ra_mst_races", &unit, &counts("ra_mst_races", 1, 1));
        let err = short
            .check("/results?skip=0", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("received 4") && err.contains("stored 2"),
            "{err}"
        );
        assert!(err.contains("rejected 1"), "{err}");
    }

    #[test]
    fn a_range_short_of_its_total_fails_with_all_four_figures() {
        let range = RangeAccount {
            first_path: Some("/results?skip=0".into()),
            tally: Tally {
                received: 99,
                stored: 98,
                rejected: 1,
            },
        };
        assert!(range.finish(99).is_ok());
        let err = range.finish(100).unwrap_err().to_string();
        for figure in ["received 99", "stored 98", "rejected 1", "total 100"] {
            assert!(err.contains(figure), "{figure} missing from {err}");
        }
    }
}

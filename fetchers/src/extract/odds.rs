//! Odds items, wherever they come from: a racecard runner's `odds[]` and the odds endpoint
//! (`/odds/{race_id}/{horse_id}`, [`extract_runner_odds`]), each item with its `history[]`.
//! Every priced observation is one `ra_runner_odds` row (`observed_at` = the item's `updated`,
//! or a history entry's `changed_at`) with [`Source::Odds`], plus the bookmaker it names; the
//! store keeps the history on change. A history entry carries no bookmaker or each-way terms:
//! it takes its item's, so an entry and the racecard observation of the same price at the same
//! time are the same row.

use super::{each_record, id, raw, record_reject, reject, text, Problems};
use crate::api::models::{OddsItem, Page, Parsed, RunnerOdds};
use crate::api::parse;
use crate::registry::{names, Source};
use crate::rows::{Reject, Row, UnitOfWork};

/// Every runner of an odds endpoint body (a one-record page): its odds items and their
/// history. The runner must already be stored (a backfill asks only for stored runners).
pub fn extract_runner_odds(page: &Page<RunnerOdds>, endpoint_path: &str) -> UnitOfWork {
    each_record(page, endpoint_path, names::RUNNER_ODDS, |r| {
        let mut unit = UnitOfWork::default();
        let (Some(race_id), Some(horse_id)) = (id(&r.race_id), id(&r.horse_id)) else {
            unit.rejects.push(reject(
                endpoint_path,
                "runner_odds",
                id(&r.race_id),
                "race_id/horse_id: missing (odds belong to a runner)".into(),
                &r.raw,
                names::RUNNER_ODDS,
            ));
            return unit;
        };
        let ctx = OddsContext {
            race_id: &race_id,
            horse_id: &horse_id,
            endpoint_path,
        };
        let mut rows = Vec::new();
        for item in &r.odds {
            ctx.item(item, None, &mut rows, &mut unit.rejects);
        }
        for row in rows {
            unit.push(row);
        }
        unit
    })
}

/// What a history entry takes from its item: the bookmaker and the each-way terms.
#[derive(Debug, Clone, Default)]
pub(super) struct Inherited {
    bookmaker: Option<String>,
    ew_places: Option<i64>,
    ew_denom: Option<i64>,
}

/// Where odds items belong: the runner they price and the endpoint they came from.
pub(super) struct OddsContext<'a> {
    pub race_id: &'a str,
    pub horse_id: &'a str,
    pub endpoint_path: &'a str,
}

impl OddsContext<'_> {
    /// One odds item (and its history): a bookmaker row and a `ra_runner_odds` snapshot per
    /// priced observation. An item with no price at all is no observation and is skipped; one
    /// that names no bookmaker or time, or holds garbage, is a reject.
    pub(super) fn item(
        &self,
        item: &Parsed<OddsItem>,
        parent: Option<&Inherited>,
        rows: &mut Vec<Row>,
        rejects: &mut Vec<Reject>,
    ) {
        let parent_bookmaker = parent.and_then(|p| p.bookmaker.as_deref());
        let key = |bookmaker: Option<&str>| {
            let mut k = format!("{}/{}", self.race_id, self.horse_id);
            if let Some(b) = bookmaker {
                k.push('/');
                k.push_str(b);
            }
            k
        };
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                let mut rej = record_reject(e, self.endpoint_path, names::RUNNER_ODDS);
                rej.key = Some(key(e.key.as_deref().or(parent_bookmaker)));
                rejects.push(rej);
                return;
            }
        };
        let bookmaker = text(&item.bookmaker).or(parent_bookmaker.map(str::to_string));
        let fractional = text(&item.fractional);
        let mut p = Problems::default();
        let decimal = p.take("decimal", parse::decimal(raw(&item.decimal)));
        let decimal = decimal.or_else(|| {
            parse::fraction(raw(&item.fractional))
                .ok()
                .flatten()
                .map(|f| f.decimal)
        });
        let ew_places = p
            .take("ew_places", parse::int(raw(&item.ew_places)))
            .or(parent.and_then(|p| p.ew_places));
        let ew_denom = p
            .take("ew_denom", parse::int(raw(&item.ew_denom)))
            .or(parent.and_then(|p| p.ew_denom));
        let when = if text(&item.updated).is_some() {
            &item.updated
        } else {
            &item.changed_at
        };
        let observed_at = p.take("updated", parse::uk_local(raw(when)));
        let priced = fractional.is_some() || decimal.is_some();
        let bookmaker_id = bookmaker
            .as_deref()
            .map(super::bookmaker_id)
            .filter(|b| !b.is_empty());
        if priced {
            p.require(
                "bookmaker",
                bookmaker_id.as_ref(),
                "odds name their bookmaker",
            );
            p.require("updated", observed_at, "odds are snapshots in time");
        }
        if let Some(reason) = p.reason() {
            rejects.push(reject(
                self.endpoint_path,
                "odds",
                Some(key(bookmaker.as_deref())),
                reason,
                &item.raw,
                names::RUNNER_ODDS,
            ));
        } else if let (true, Some(b_id), Some(at)) = (priced, &bookmaker_id, observed_at) {
            rows.push(
                Row::new(names::BOOKMAKERS, Source::Odds)
                    .set("id", b_id.as_str())
                    .set("name", bookmaker.clone()),
            );
            rows.push(
                Row::new(names::RUNNER_ODDS, Source::Odds)
                    .set("race_id", self.race_id)
                    .set("horse_id", self.horse_id)
                    .set("bookmaker_id", b_id.as_str())
                    .set("observed_at", at)
                    .set("fractional", fractional)
                    .set("decimal", decimal)
                    .set("ew_places", ew_places)
                    .set("ew_denom", ew_denom),
            );
        }
        let inherited = Inherited {
            bookmaker,
            ew_places,
            ew_denom,
        };
        for h in &item.history {
            self.item(h, Some(&inherited), rows, rejects);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::api::Endpoint;
    use crate::extract::testkit::rows_of;
    use crate::jobs::endpoints;
    use crate::rows::Value;
    use chrono::Utc;
    use serde_json::json;

    /// An odds endpoint body: one bookmaker with two history entries, one unpriced bookmaker.
    fn body() -> String {
        json!({
            "race_id": "rac_1",
            "horse_id": "hrs_1",
            "horse": "Quillwort",
            "odds": [
                {
                    "bookmaker": "Fenwick Bet", "fractional": "3/1", "decimal": "4",
                    "ew_places": "3", "ew_denom": "5", "updated": "2025-06-15 12:10:00",
                    "history": [
                        {"changed_at": "2025-06-15 10:50:00", "fractional": "5/2", "decimal": "3.5"},
                        {"changed_at": "2025-06-15 11:30:00", "fractional": "3/1", "decimal": "4"}
                    ]
                },
                {
                    "bookmaker": "Quayside Sports", "fractional": "", "decimal": "",
                    "ew_places": "", "ew_denom": "", "updated": "", "history": []
                }
            ]
        })
        .to_string()
    }

    #[test]
    fn an_odds_body_is_a_row_per_priced_observation_and_history_takes_its_items_terms() {
        let read = endpoints::read(Endpoint::Odds, &body(), "/odds/rac_1/hrs_1", Utc::now())
            .expect("reads");
        assert_eq!((read.records, read.unit.rejects.len()), (1, 0));
        let odds = rows_of(&read.unit, "ra_runner_odds");
        assert_eq!(odds.len(), 3);
        for row in &odds {
            assert_eq!(row.values["race_id"], Value::from("rac_1"));
            assert_eq!(row.values["horse_id"], Value::from("hrs_1"));
            assert_eq!(row.values["bookmaker_id"], Value::from("fenwick-bet"));
            assert_eq!(row.values["ew_places"], Value::Integer(3));
            assert_eq!(row.values["ew_denom"], Value::Integer(5));
        }
        // UK summer time: 10:50 local is 09:50 UTC.
        assert_eq!(
            odds[1].values["observed_at"].key_text(),
            "2025-06-15T09:50:00.000000Z"
        );
        assert_eq!(odds[1].values["decimal"], Value::Decimal(3.5));
        assert_eq!(rows_of(&read.unit, "ra_mst_bookmakers").len(), 3);
    }

    #[test]
    fn an_odds_body_without_its_runner_is_one_reject() {
        let body = json!({"race_id": "rac_1", "horse": "X", "odds": []}).to_string();
        let read = endpoints::read(Endpoint::Odds, &body, "/odds/rac_1/x", Utc::now()).unwrap();
        assert!(read.unit.rows.is_empty());
        assert_eq!(read.unit.rejects.len(), 1);
        assert_eq!(read.unit.rejects[0].table, "ra_runner_odds");
    }
}

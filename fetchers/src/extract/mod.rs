//! The entity extractor: parsed payloads ([`crate::api::models`]) become a
//! [`UnitOfWork`](crate::rows::UnitOfWork) of registry rows plus the rejects found on the way.
//!
//! Rules every extractor here follows:
//!
//! * **Every referenced entity gets a row in the same unit.** A runner brings its horse, jockey,
//!   trainer, owner, sire, dam and damsire (a stub from id + name when that is all the payload
//!   says), its race brings its course and region, an odds item its bookmaker. No id is ever
//!   dropped to get past a foreign key: an id the payload leaves empty (`damsire_id: ""`) is
//!   NULL because there is no such entity.
//! * **A record that cannot land becomes a [`Reject`]**, with the reason (naming the field at
//!   fault) and its raw payload, and the rest of the page still lands: a runner without a
//!   `horse_id`, a race without a `race_id`, a numeric field holding garbage. A value whose raw
//!   text is stored alongside (starting price, finishing time, last run, distance text) only
//!   loses its parsed form instead.
//! * **Each row carries the [`Source`] of its payload** and sets only the columns that source
//!   may write (every row passes [`Row::validate`]).
//!
//! The extractors are pure functions; they know nothing of databases or HTTP.

mod horses;
mod odds;
mod racecards;
mod reference;
mod results;

pub use horses::{extract_horse, extract_horse_profile};
pub use odds::extract_runner_odds;
pub use racecards::{extract_racecard, extract_racecards};
pub use reference::{bookmaker_id, extract_bookmakers, extract_courses, extract_regions};
pub use results::{extract_result, extract_results};

use crate::api::models::{Page, RecordError};
use crate::api::parse::{self, ValueError};
use crate::registry::{names, Source};
use crate::rows::{Reject, Row, UnitOfWork};

/// The text of an optional payload field (`""` when absent), for the parsers.
fn raw(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// An optional payload field as text, with the API's "missing" spellings removed.
fn text(v: &Option<String>) -> Option<String> {
    parse::text(raw(v))
}

/// An optional payload id (an empty id means "none").
fn id(v: &Option<String>) -> Option<String> {
    parse::id(raw(v)).map(str::to_string)
}

/// The values of one record that would not read, each naming its field.
#[derive(Debug, Default)]
struct Problems(Vec<String>);

impl Problems {
    /// The parsed value, or `None` after noting why it would not read.
    fn take<T>(&mut self, field: &str, parsed: Result<Option<T>, ValueError>) -> Option<T> {
        match parsed {
            Ok(v) => v,
            Err(e) => {
                self.0.push(format!("{field}: {e}"));
                None
            }
        }
    }

    /// Notes a value the record cannot do without.
    fn require<T>(&mut self, field: &str, value: Option<T>, why: &str) -> Option<T> {
        if value.is_none() {
            self.0.push(format!("{field}: missing ({why})"));
        }
        value
    }

    /// All problems as one reason, or `None` when there were none.
    fn reason(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join("; "))
    }
}

/// A reject for a record the models could not read.
/// The region (when known) and course a race is run at, as rows from `source`: stubs that
/// make the race's foreign keys resolve in the same unit.
fn course_and_region(
    unit: &mut UnitOfWork,
    source: Source,
    course_id: &str,
    course_name: Option<String>,
    region: &Option<String>,
) {
    if let Some(code) = region {
        unit.push(Row::new(names::REGIONS, source).set("code", code.as_str()));
    }
    unit.push(
        Row::new(names::COURSES, source)
            .set("id", course_id)
            .set("name", course_name)
            .set("region_code", region.clone()),
    );
}

/// Every record of a page: `extract_one` for each record that parsed, a reject (meant for
/// `table`) for each that did not. The one loop behind every page extractor.
fn each_record<T>(
    page: &Page<T>,
    endpoint_path: &str,
    table: &'static str,
    extract_one: impl Fn(&T) -> UnitOfWork,
) -> UnitOfWork {
    let mut unit = UnitOfWork::default();
    for record in &page.records {
        match record {
            Ok(r) => unit.extend(extract_one(r)),
            Err(e) => unit.rejects.push(record_reject(e, endpoint_path, table)),
        }
    }
    unit
}

fn record_reject(err: &RecordError, endpoint: &str, table: &'static str) -> Reject {
    Reject {
        endpoint: endpoint.to_string(),
        entity: err.entity.to_string(),
        key: err.key.clone(),
        reason: err.reason.clone(),
        payload: Some(err.payload.clone()),
        table,
    }
}

/// A reject for a record that read but cannot land.
fn reject(
    endpoint: &str,
    entity: &str,
    key: Option<String>,
    reason: String,
    payload: &str,
    table: &'static str,
) -> Reject {
    Reject {
        endpoint: endpoint.to_string(),
        entity: entity.to_string(),
        key,
        reason,
        payload: Some(payload.to_string()),
        table,
    }
}

/// The reject key of a runner: `race_id/horse_id`, or the race id alone without a horse id.
fn runner_key(race_id: &str, horse_id: Option<&str>) -> String {
    match horse_id {
        Some(h) => format!("{race_id}/{h}"),
        None => race_id.to_string(),
    }
}

/// A person stub (`ra_mst_jockeys`, `ra_mst_trainers`, `ra_mst_owners`): id and name.
fn person(table: &'static str, source: Source, id: &str, name: Option<String>) -> Row {
    Row::new(table, source).set("id", id).set("name", name)
}

/// The three pedigree masters (from [`crate::registry::PEDIGREE_MASTERS`]), with the
/// runner/pedigree columns that hold their id and region.
const PEDIGREE: [(&str, &str, &str); 3] = {
    let [a, b, c] = crate::registry::PEDIGREE_MASTERS;
    [
        (a.table, a.id_column, a.region_column),
        (b.table, b.id_column, b.region_column),
        (c.table, c.id_column, c.region_column),
    ]
};

/// A sire/dam/damsire stub: id, name with any country suffix stripped, and (racecards only)
/// the region; results and profiles also keep the name as given, suffix included
/// (`"Galileo (IRE)"`), as horses do. The link to its own horse row is derived elsewhere,
/// never here.
fn pedigree_stub(
    table: &'static str,
    source: Source,
    id: &str,
    name: &Option<String>,
    region: Option<String>,
) -> Row {
    let given = text(name);
    let bare = given
        .as_deref()
        .map(|n| parse::split_country(n).0.to_string());
    let row = Row::new(table, source).set("id", id).set("name", bare);
    if source == Source::Racecard {
        row.set("region", region)
    } else {
        row.set("name_with_suffix", given)
    }
}

#[cfg(test)]
pub(crate) mod testkit;

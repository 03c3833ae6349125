//! Rows and units of work: what the extractor produces and the store applies.
//!
//! A [`Row`] is a set of typed column values for one registry table, tagged with the
//! [`Source`] that produced it (which decides the columns it may write). A [`UnitOfWork`] is
//! everything one page of work writes in one transaction: rows for many tables, the rejects
//! found on the way, and checkpoint/state updates.

use crate::registry::{self, Access, ColumnType, Source};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// The exact decimal type of money values ([`Value::Money`]).
pub use rust_decimal::Decimal;

/// One typed value, already parsed at the API boundary.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    Decimal(f64),
    /// An exact amount (money): never converted to a float on its way to the database.
    Money(rust_decimal::Decimal),
    Boolean(bool),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    Json(serde_json::Value),
    /// Raw bytes (an archived body, compressed).
    Bytes(Vec<u8>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this value may be stored in a column of type `ty`.
    pub fn fits(&self, ty: ColumnType) -> bool {
        matches!(
            (self, ty),
            (Value::Null, _)
                | (Value::Text(_), ColumnType::Text)
                | (Value::Integer(_), ColumnType::Integer)
                | (Value::Decimal(_), ColumnType::Decimal)
                | (Value::Money(_), ColumnType::Money)
                | (Value::Boolean(_), ColumnType::Boolean)
                | (Value::Date(_), ColumnType::Date)
                | (Value::Timestamp(_), ColumnType::Timestamp)
                | (Value::Json(_), ColumnType::Json)
                | (Value::Bytes(_), ColumnType::Bytes)
        )
    }

    /// The value as key text (keys are text, or a timestamp for odds snapshots).
    pub fn key_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Text(s) => s.clone(),
            Value::Integer(i) => i.to_string(),
            Value::Decimal(d) => d.to_string(),
            Value::Money(m) => m.to_string(),
            Value::Boolean(b) => b.to_string(),
            Value::Date(d) => d.to_string(),
            Value::Timestamp(t) => format_timestamp(t),
            Value::Json(j) => j.to_string(),
            Value::Bytes(b) => b.iter().map(|byte| format!("{byte:02x}")).collect(),
        }
    }
}

/// The one text form of an instant that Paddock stores where a backend has no timestamp type.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Decimal(v)
    }
}
impl From<rust_decimal::Decimal> for Value {
    fn from(v: rust_decimal::Decimal) -> Self {
        Value::Money(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Self {
        Value::Date(v)
    }
}
impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::Timestamp(v)
    }
}
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Json(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

/// One row for one registry table, from one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub table: &'static str,
    pub source: Source,
    pub values: Values,
}

/// A row's column values: one vector sorted by column name (a page holds thousands of rows, so
/// no map per row), looked up by binary search. Reads like a `BTreeMap<&str, Value>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values(Vec<(&'static str, Value)>);

impl Values {
    fn position(&self, column: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (*k).cmp(column))
    }

    /// The value of `column`, if set.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.position(column).ok().map(|i| &self.0[i].1)
    }

    /// Sets `column`, returning the value it replaces.
    pub fn insert(&mut self, column: &'static str, value: Value) -> Option<Value> {
        match self.position(column) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (column, value));
                None
            }
        }
    }

    pub fn contains_key(&self, column: &str) -> bool {
        self.position(column).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Columns and values in column-name order.
    pub fn iter(&self) -> impl Iterator<Item = (&&'static str, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Column names in order.
    pub fn keys(&self) -> impl Iterator<Item = &&'static str> {
        self.0.iter().map(|(k, _)| k)
    }
}

impl<'a> IntoIterator for &'a Values {
    type Item = (&'a &'static str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (&'static str, Value)>,
        fn(&'a (&'static str, Value)) -> (&'a &'static str, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl std::ops::Index<&str> for Values {
    type Output = Value;
    fn index(&self, column: &str) -> &Value {
        self.get(column)
            .unwrap_or_else(|| panic!("no value for column {column}"))
    }
}

/// A row that breaks the registry's rules (a programming error in an extractor).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RowError {
    #[error("unknown table {0}")]
    UnknownTable(String),
    #[error("{table}: unknown column {column}")]
    UnknownColumn { table: String, column: String },
    #[error("{table}.{column} is not written by source {writer}")]
    NotOwned {
        table: String,
        column: String,
        writer: &'static str,
    },
    #[error("{table}.{column}: value {value} does not fit the column type")]
    WrongType {
        table: String,
        column: String,
        value: String,
    },
    #[error("{table}: key column {column} is missing or null")]
    MissingKey { table: String, column: String },
}

impl Row {
    /// An empty row for `table` from `source`.
    pub fn new(table: &'static str, source: Source) -> Self {
        Row {
            table,
            source,
            values: Values::default(),
        }
    }

    /// Sets a column (builder style).
    pub fn set(mut self, column: &'static str, value: impl Into<Value>) -> Self {
        self.values.insert(column, value.into());
        self
    }

    /// The natural key's values, in key order, as text.
    pub fn key(&self) -> Vec<String> {
        let table = registry::table(self.table).expect("row of a registry table");
        table
            .key
            .iter()
            .map(|k| self.values.get(k).map(Value::key_text).unwrap_or_default())
            .collect()
    }

    /// Checks the row against the registry: known table and columns, the source may write
    /// every column it sets, values fit their types, and the key is complete.
    pub fn validate(&self) -> Result<(), RowError> {
        let table = registry::table(self.table)
            .ok_or_else(|| RowError::UnknownTable(self.table.to_string()))?;
        for (name, value) in &self.values {
            let column = table.column(name).ok_or_else(|| RowError::UnknownColumn {
                table: self.table.to_string(),
                column: name.to_string(),
            })?;
            if column.access(self.source) == Access::None {
                return Err(RowError::NotOwned {
                    table: self.table.to_string(),
                    column: name.to_string(),
                    writer: self.source.name(),
                });
            }
            if !value.fits(column.ty) {
                return Err(RowError::WrongType {
                    table: self.table.to_string(),
                    column: name.to_string(),
                    value: format!("{value:?}"),
                });
            }
        }
        for k in table.key {
            if self.values.get(k).is_none_or(Value::is_null) {
                return Err(RowError::MissingKey {
                    table: self.table.to_string(),
                    column: k.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Merges a later row for the same key into this one: its non-null values win.
    pub fn merge_from(&mut self, later: &Row) {
        for (k, v) in &later.values {
            if !v.is_null() {
                self.values.insert(k, v.clone());
            }
        }
    }
}

/// A record the extractor could not turn into rows, kept with the reason and its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub endpoint: String,
    /// What kind of record: `runner`, `race`, `horse`, `course`, …
    pub entity: String,
    /// The record's id where it had one.
    pub key: Option<String>,
    pub reason: String,
    /// The raw record as received.
    pub payload: Option<String>,
    /// The table the record was meant for, for the per-table rejected count.
    pub table: &'static str,
}

/// Everything one page of work writes, in one transaction.
#[derive(Debug, Default, Clone)]
pub struct UnitOfWork {
    pub rows: Vec<Row>,
    pub rejects: Vec<Reject>,
    /// Key–value state to set in `paddock_state` in the same transaction.
    pub state: Vec<(crate::ledger::StateKey, String)>,
    /// A backfill checkpoint to advance in the same transaction.
    pub checkpoint: Option<Checkpoint>,
}

impl UnitOfWork {
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn extend(&mut self, other: UnitOfWork) {
        self.rows.extend(other.rows);
        self.rejects.extend(other.rejects);
        self.state.extend(other.state);
        if other.checkpoint.is_some() {
            self.checkpoint = other.checkpoint;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
            && self.rejects.is_empty()
            && self.state.is_empty()
            && self.checkpoint.is_none()
    }
}

/// A named resumable cursor (backfills) written with the unit that advanced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub name: String,
    pub job: String,
    pub cursor: Option<String>,
    pub status: crate::ledger::CheckpointStatus,
}

/// Rows written to one table by one unit of work (or a whole run).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TableCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Rows deleted (retention runs only).
    pub deleted: u64,
}

impl TableCounts {
    pub fn add(&mut self, other: TableCounts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
        self.deleted += other.deleted;
    }

    /// Rows actually written (inserted or updated).
    pub fn written(&self) -> u64 {
        self.inserted + self.updated
    }
}

/// Per-table counts, keyed by table name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<String, TableCounts>);

impl Counts {
    pub fn table(&self, name: &str) -> TableCounts {
        self.0.get(name).copied().unwrap_or_default()
    }

    pub fn entry(&mut self, name: &str) -> &mut TableCounts {
        self.0.entry(name.to_string()).or_default()
    }

    pub fn add(&mut self, other: &Counts) {
        for (t, c) in &other.0 {
            self.entry(t).add(*c);
        }
    }

    /// Rows written across all tables.
    pub fn written(&self) -> u64 {
        self.0.values().map(TableCounts::written).sum()
    }

    pub fn rejected(&self) -> u64 {
        self.0.values().map(|c| c.rejected).sum()
    }
}

/// Groups rows by (table, source) and merges duplicates by key, keeping first-seen order.
/// The store applies each group as one bulk upsert.
pub fn dedupe(rows: &[Row]) -> BTreeMap<(&'static str, Source), Vec<Row>> {
    /// The rows of one group, and where each key sits in them.
    type Group = (Vec<Row>, BTreeMap<Vec<String>, usize>);
    let mut groups: BTreeMap<(&'static str, Source), Group> = BTreeMap::new();
    for row in rows {
        let (list, seen) = groups.entry((row.table, row.source)).or_default();
        let key = row.key();
        match seen.get(&key) {
            Some(&i) => list[i].merge_from(row),
            None => {
                seen.insert(key, list.len());
                list.push(row.clone());
            }
        }
    }
    groups.into_iter().map(|(k, (v, _))| (k, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_writing_a_column_its_source_does_not_own_is_refused() {
        let row = Row::new("ra_runners", Source::Result)
            .set("race_id", "rac_1")
            .set("horse_id", "hrs_1")
            .set("spotlight", "text");
        assert!(matches!(row.validate(), Err(RowError::NotOwned { .. })));
    }

    #[test]
    fn a_row_without_its_key_is_refused() {
        let row = Row::new("ra_mst_horses", Source::Racecard).set("name", "X");
        assert!(matches!(row.validate(), Err(RowError::MissingKey { .. })));
    }

    #[test]
    fn row_values_read_like_a_map_in_column_order() {
        let row = Row::new("ra_mst_trainers", Source::Racecard)
            .set("name", "A")
            .set("id", "trn_1")
            .set("name", "B");
        assert_eq!(row.values.len(), 2);
        assert_eq!(row.values["name"], Value::Text("B".into()));
        assert_eq!(
            row.values.keys().copied().collect::<Vec<_>>(),
            ["id", "name"]
        );
        assert!(row.values.get("location").is_none());
        assert!(!row.values.contains_key("location"));
    }

    #[test]
    fn duplicates_merge_with_later_non_null_values_winning() {
        let a = Row::new("ra_mst_trainers", Source::Racecard)
            .set("id", "trn_1")
            .set("name", "A")
            .set("location", Value::Null);
        let b = Row::new("ra_mst_trainers", Source::Racecard)
            .set("id", "trn_1")
            .set("location", "Lambourn");
        let groups = dedupe(&[a, b]);
        let rows = &groups[&("ra_mst_trainers", Source::Racecard)];
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].values["name"], Value::Text("A".into()));
        assert_eq!(rows[0].values["location"], Value::Text("Lambourn".into()));
    }
}

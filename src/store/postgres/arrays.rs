//! One typed array per column: how a chunk of rows is bound to a PostgreSQL `UNNEST` upsert.
//! Decimals travel as `float8[]` and JSON as `text[]`; the statement casts them to `numeric`
//! and `jsonb` (see [`crate::store::upsert_sql::postgres_upsert_sql`]).

use crate::store::plan::{value_of, WriteColumn};
use chrono::{DateTime, NaiveDate, Utc};
use fetchers::registry::ColumnType;
use fetchers::rows::{Row, Value};
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::query::{Query, QueryAs};

/// A column's values for a chunk of rows.
pub enum ColumnArray<'r> {
    Text(Vec<Option<&'r str>>),
    OwnedText(Vec<Option<String>>),
    Integer(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Boolean(Vec<Option<bool>>),
    Date(Vec<Option<NaiveDate>>),
    Timestamp(Vec<Option<DateTime<Utc>>>),
    Bytes(Vec<Option<&'r [u8]>>),
}

fn mismatch(column: &str, ty: ColumnType, value: &Value) -> sqlx::Error {
    sqlx::Error::Encode(format!("value {value:?} does not fit column {column} ({ty:?})").into())
}

/// Collects `column`'s values from `rows` (NULL where a row does not set it).
pub fn column_array<'r>(
    rows: &'r [Row],
    column: &WriteColumn,
) -> Result<ColumnArray<'r>, sqlx::Error> {
    let values = rows.iter().map(|r| value_of(r, column.name()));
    values_array(values, column.name(), column.column.ty)
}

/// Collects values of type `ty` (for column `name`) into one array.
pub fn values_array<'r>(
    values: impl Iterator<Item = &'r Value>,
    name: &str,
    ty: ColumnType,
) -> Result<ColumnArray<'r>, sqlx::Error> {
    macro_rules! collect {
        ($variant:ident, $pattern:pat => $out:expr) => {
            values
                .map(|v| match v {
                    Value::Null => Ok(None),
                    $pattern => Ok(Some($out)),
                    other => Err(mismatch(name, ty, other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(ColumnArray::$variant)
        };
    }
    match ty {
        ColumnType::Text => collect!(Text, Value::Text(s) => s.as_str()),
        ColumnType::Json => collect!(OwnedText, Value::Json(j) => j.to_string()),
        ColumnType::Integer | ColumnType::Serial => collect!(Integer, Value::Integer(i) => *i),
        ColumnType::Decimal => collect!(Float, Value::Decimal(d) => *d),
        ColumnType::Money => collect!(OwnedText, Value::Money(m) => m.to_string()),
        ColumnType::Boolean => collect!(Boolean, Value::Boolean(b) => *b),
        ColumnType::Date => collect!(Date, Value::Date(d) => *d),
        ColumnType::Timestamp => collect!(Timestamp, Value::Timestamp(t) => *t),
        ColumnType::Bytes => collect!(Bytes, Value::Bytes(b) => b.as_slice()),
    }
}

/// Something an array can be bound to (plain and typed-row queries).
pub trait BindArray<'q>: Sized {
    fn bind_array(self, array: ColumnArray<'q>) -> Self;
}

macro_rules! bind_array_impl {
    ($query:ident, $array:ident) => {
        match $array {
            ColumnArray::Text(v) => $query.bind(v),
            ColumnArray::OwnedText(v) => $query.bind(v),
            ColumnArray::Integer(v) => $query.bind(v),
            ColumnArray::Float(v) => $query.bind(v),
            ColumnArray::Boolean(v) => $query.bind(v),
            ColumnArray::Date(v) => $query.bind(v),
            ColumnArray::Timestamp(v) => $query.bind(v),
            ColumnArray::Bytes(v) => $query.bind(v),
        }
    };
}

impl<'q, O> BindArray<'q> for QueryAs<'q, Postgres, O, PgArguments> {
    fn bind_array(self, array: ColumnArray<'q>) -> Self {
        bind_array_impl!(self, array)
    }
}

impl<'q> BindArray<'q> for Query<'q, Postgres, PgArguments> {
    fn bind_array(self, array: ColumnArray<'q>) -> Self {
        bind_array_impl!(self, array)
    }
}

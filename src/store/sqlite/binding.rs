//! How values are bound on SQLite, which has no date, timestamp, boolean or JSON types:
//! dates as `YYYY-MM-DD` text, instants as RFC 3339 UTC text with microseconds (one format,
//! so text comparison is time comparison), booleans as 0/1, JSON as compact text, decimals as
//! REAL.

use fetchers::rows::{format_timestamp, Value};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::sqlite::{Sqlite, SqliteArguments};

/// The SQLite text of a date.
pub fn date_text(date: &chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Something a value can be bound to (plain, typed-row and scalar queries).
pub trait BindValue<'q>: Sized {
    fn bind_value(self, value: &'q Value) -> Self;
}

macro_rules! bind_value_impl {
    ($self:ident, $value:ident) => {
        match $value {
            Value::Null => $self.bind(None::<String>),
            Value::Text(s) => $self.bind(s.as_str()),
            Value::Integer(i) => $self.bind(*i),
            Value::Decimal(d) => $self.bind(*d),
            Value::Money(m) => $self.bind(m.to_string()),
            Value::Boolean(b) => $self.bind(i64::from(*b)),
            Value::Date(d) => $self.bind(date_text(d)),
            Value::Timestamp(t) => $self.bind(format_timestamp(t)),
            Value::Json(j) => $self.bind(j.to_string()),
            Value::Bytes(b) => $self.bind(b.as_slice()),
        }
    };
}

impl<'q> BindValue<'q> for Query<'q, Sqlite, SqliteArguments<'q>> {
    fn bind_value(self, value: &'q Value) -> Self {
        bind_value_impl!(self, value)
    }
}

impl<'q, O> BindValue<'q> for QueryAs<'q, Sqlite, O, SqliteArguments<'q>> {
    fn bind_value(self, value: &'q Value) -> Self {
        bind_value_impl!(self, value)
    }
}

impl<'q, O> BindValue<'q> for QueryScalar<'q, Sqlite, O, SqliteArguments<'q>> {
    fn bind_value(self, value: &'q Value) -> Self {
        bind_value_impl!(self, value)
    }
}

/// `(?,?),(?,?)…`: `rows` groups of `width` anonymous placeholders.
pub fn placeholder_rows(rows: usize, width: usize) -> String {
    let one = format!("({})", vec!["?"; width].join(","));
    vec![one; rows].join(",")
}

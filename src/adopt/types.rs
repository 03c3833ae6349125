//! Whether a legacy column's type holds what Paddock writes into the registry column it stands
//! for: exactly, bridged by the engine's own assignment (said how), or not at all (said why).
//! PostgreSQL is judged by `format_type`; SQLite by the type affinity its declared type gets.

use fetchers::registry::ColumnType;
use fetchers::schema::Dialect;
use serde::Serialize;

/// How a value of a registry type reaches a legacy column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "how", rename_all = "snake_case")]
pub enum Bridge {
    /// The same type: nothing to bridge.
    Exact,
    /// Written through the engine's assignment; the text says how.
    Bridged(String),
    /// Cannot be written without losing or refusing values; the text says why.
    Blocking(String),
}

impl Bridge {
    pub fn is_blocking(&self) -> bool {
        matches!(self, Bridge::Blocking(_))
    }
}

/// How registry type `ty` reaches a live column of type `live` on `backend`.
pub fn bridge(dialect: Dialect, ty: ColumnType, live: &str) -> Bridge {
    match dialect {
        Dialect::Postgres => postgres(ty, &live.to_ascii_lowercase()),
        Dialect::Sqlite => sqlite(ty, &live.to_ascii_uppercase()),
    }
}

fn postgres(ty: ColumnType, live: &str) -> Bridge {
    use ColumnType as T;
    let base = live.split('(').next().unwrap_or(live).trim();
    let blocking = |why: &str| Bridge::Blocking(format!("{live} {why}"));
    match (ty, base) {
        (T::Text, "text") => Bridge::Exact,
        (T::Text, "character varying") => Bridge::Bridged(format!(
            "{live}: a longer value is refused, never cut (the API's values are short)"
        )),
        (T::Integer | T::Serial, "bigint") => Bridge::Exact,
        (T::Integer, "integer" | "smallint") => Bridge::Bridged(format!(
            "{live}: a value beyond its range is refused, never changed"
        )),
        (T::Decimal | T::Money, "numeric") if live == "numeric" => Bridge::Exact,
        (T::Decimal | T::Money, "numeric") => blocking("would round to its scale (not exact)"),
        (T::Boolean, "boolean") => Bridge::Exact,
        (T::Date, "date") => Bridge::Exact,
        (T::Timestamp, "timestamp with time zone") => Bridge::Exact,
        (T::Timestamp, "timestamp without time zone") => Bridge::Bridged(
            "timestamp without time zone: the instant written as the session's wall time \
             (run Paddock with TimeZone UTC)"
                .into(),
        ),
        (T::Json, "jsonb") => Bridge::Exact,
        (T::Json, "json") => Bridge::Bridged("json: stored as text, read back the same".into()),
        (T::Date, "text" | "character varying") => {
            blocking("holds text where Paddock writes a date")
        }
        _ => blocking(&format!("cannot hold Paddock's {}", type_name(ty))),
    }
}

/// How registry type `ty` reaches a legacy column of type `live` that mirrors it (an adopted
/// database's `[adopt.columns.*]`): as [`bridge`], and further where the engine's assignment is
/// exact — any number or date into a text column (its text), an integer into a numeric one;
/// anything else is refused (not exact).
pub fn mapped_bridge(dialect: Dialect, ty: ColumnType, live: &str) -> Bridge {
    let plain = bridge(dialect, ty, live);
    if !plain.is_blocking() {
        return plain;
    }
    use ColumnType as T;
    let (text, numeric) = match dialect {
        Dialect::Postgres => {
            let lower = live.to_ascii_lowercase();
            let base = lower.split('(').next().unwrap_or("").trim().to_string();
            (
                base == "text" || base == "character varying",
                base == "numeric",
            )
        }
        Dialect::Sqlite => {
            let upper = live.to_ascii_uppercase();
            (affinity(&upper) == "TEXT", affinity(&upper) == "NUMERIC")
        }
    };
    match ty {
        T::Integer | T::Serial | T::Decimal | T::Money | T::Boolean | T::Date if text => {
            Bridge::Bridged(format!(
                "{live}: written as its text (a longer value is refused)"
            ))
        }
        T::Integer | T::Serial if numeric => Bridge::Bridged(format!(
            "{live}: an integer is never rounded (a value beyond its precision is refused)"
        )),
        _ => plain,
    }
}

/// SQLite's affinity for a declared type (its documented rules, in order).
fn affinity(declared: &str) -> &'static str {
    if declared.contains("INT") {
        "INTEGER"
    } else if ["CHAR", "CLOB", "TEXT"]
        .iter()
        .any(|t| declared.contains(t))
    {
        "TEXT"
    } else if declared.contains("BLOB") || declared.is_empty() {
        "BLOB"
    } else if ["REAL", "FLOA", "DOUB"]
        .iter()
        .any(|t| declared.contains(t))
    {
        "REAL"
    } else {
        "NUMERIC"
    }
}

fn sqlite(ty: ColumnType, live: &str) -> Bridge {
    use fetchers::schema::Dialect;
    let wanted = affinity(Dialect::Sqlite.column_type(ty));
    let got = affinity(live);
    if live == Dialect::Sqlite.column_type(ty) {
        Bridge::Exact
    } else if got == wanted {
        Bridge::Bridged(format!(
            "{live}: the same {got} affinity, values kept as written"
        ))
    } else if got == "BLOB" {
        Bridge::Bridged(format!("{live}: no affinity, values kept as written"))
    } else if ty == ColumnType::Boolean && got == "NUMERIC" {
        Bridge::Bridged(format!("{live}: booleans are stored as 0/1 all the same"))
    } else if matches!(ty, ColumnType::Date | ColumnType::Timestamp) && got == "NUMERIC" {
        Bridge::Bridged(format!(
            "{live}: NUMERIC affinity, but a date or instant never reads as a number: kept as text"
        ))
    } else {
        Bridge::Blocking(format!(
            "{live} has {got} affinity: Paddock's {} would be converted (not exact)",
            type_name(ty)
        ))
    }
}

/// The registry type as a plan shows it.
pub fn type_name(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "text",
        ColumnType::Integer => "integer",
        ColumnType::Decimal => "decimal",
        ColumnType::Money => "money (exact decimal)",
        ColumnType::Boolean => "boolean",
        ColumnType::Date => "date",
        ColumnType::Timestamp => "timestamp",
        ColumnType::Json => "json",
        ColumnType::Serial => "serial",
        ColumnType::Bytes => "bytes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fetchers::schema::Dialect::{Postgres, Sqlite};
    use ColumnType as T;

    #[test]
    fn postgres_types_are_exact_bridged_or_blocking_as_documented() {
        assert_eq!(bridge(Postgres, T::Text, "text"), Bridge::Exact);
        assert!(matches!(
            bridge(Postgres, T::Text, "character varying(50)"),
            Bridge::Bridged(_)
        ));
        assert!(matches!(
            bridge(Postgres, T::Integer, "integer"),
            Bridge::Bridged(_)
        ));
        assert_eq!(bridge(Postgres, T::Money, "numeric"), Bridge::Exact);
        assert!(bridge(Postgres, T::Money, "numeric(5,2)").is_blocking());
        assert!(bridge(Postgres, T::Text, "bigint").is_blocking());
        assert!(bridge(Postgres, T::Date, "text").is_blocking());
        assert!(matches!(
            bridge(Postgres, T::Timestamp, "timestamp without time zone"),
            Bridge::Bridged(_)
        ));
    }

    #[test]
    fn mapped_columns_take_exact_conversions_and_refuse_the_rest() {
        for dialect in [Postgres, Sqlite] {
            let text = if dialect == Postgres {
                "character varying(20)"
            } else {
                "VARCHAR(20)"
            };
            assert!(matches!(
                mapped_bridge(dialect, T::Money, text),
                Bridge::Bridged(_)
            ));
            assert!(matches!(
                mapped_bridge(dialect, T::Integer, "numeric(10,2)"),
                Bridge::Bridged(_)
            ));
            assert!(mapped_bridge(dialect, T::Text, "date").is_blocking());
            assert!(mapped_bridge(dialect, T::Money, "numeric(10,2)").is_blocking());
        }
        assert_eq!(mapped_bridge(Postgres, T::Date, "date"), Bridge::Exact);
    }

    #[test]
    fn sqlite_types_are_judged_by_affinity() {
        assert_eq!(bridge(Sqlite, T::Text, "TEXT"), Bridge::Exact);
        assert!(matches!(
            bridge(Sqlite, T::Text, "VARCHAR(50)"),
            Bridge::Bridged(_)
        ));
        // TIMESTAMP has NUMERIC affinity, and an instant's text never reads as a number.
        assert!(matches!(
            bridge(Sqlite, T::Timestamp, "TIMESTAMP"),
            Bridge::Bridged(_)
        ));
        assert!(bridge(Sqlite, T::Money, "NUMERIC(10,2)").is_blocking());
        assert!(matches!(
            bridge(Sqlite, T::Boolean, "BOOLEAN"),
            Bridge::Bridged(_)
        ));
        assert!(bridge(Sqlite, T::Text, "INTEGER").is_blocking());
    }
}

//! Decoding machinery for the payload models: [`Page`] and [`Parsed`] records, the errors, the
//! field deserializers that accept the API's loose scalars, and the `payload!` / `record!`
//! macros that declare a model in a few lines.

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;

/// One record of a page: the model, or why it could not be read.
pub type Parsed<T> = Result<T, RecordError>;

/// A record that could not be read into its model, kept with its raw payload for the rejects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{entity} {}: {reason}", key.as_deref().unwrap_or("(no id)"))]
pub struct RecordError {
    /// What kind of record: `race`, `runner`, `odds`, `horse`, `course`, `region`, `summary`.
    pub entity: &'static str,
    /// The record's id, when it had a readable one.
    pub key: Option<String>,
    /// What was wrong, naming the field where one was at fault.
    pub reason: String,
    /// The record as received (JSON).
    pub payload: String,
}

/// A response body that is not JSON, or not the envelope the endpoint promises.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    Json(String),
    #[error("the body is not the expected envelope: {0}")]
    Shape(String),
}

/// A page of records with its envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub records: Vec<Parsed<T>>,
    /// The envelope's `total` (the record count where the endpoint sends none).
    pub total: u64,
    pub limit: Option<u64>,
    pub skip: Option<u64>,
    /// The API's echo of the query it applied, as key/value pairs.
    pub query: Vec<(String, String)>,
    /// How many unknown fields were seen, in the envelope and in every record.
    pub unknown_fields: u64,
    /// Their names, as `entity.field` (`runner.new_thing`).
    pub unknown_field_names: BTreeSet<String>,
}

impl<T> Page<T> {
    /// The records that parsed.
    pub fn ok(&self) -> impl Iterator<Item = &T> {
        self.records.iter().filter_map(|r| r.as_ref().ok())
    }

    /// The records that did not.
    pub fn errors(&self) -> impl Iterator<Item = &RecordError> {
        self.records.iter().filter_map(|r| r.as_ref().err())
    }
}

/// A model of one API record: how to name it and where its unknown fields are.
pub trait Record: DeserializeOwned {
    /// What kind of record (`race`, `runner`, …), for rejects and unknown-field names.
    const ENTITY: &'static str;
    /// The field that identifies the record (`race_id`, `horse_id`, `id`, …).
    const KEY_FIELD: &'static str;
    /// The record as received (JSON), for rejects.
    fn raw(&self) -> &str;
    fn set_raw(&mut self, raw: String);
    /// Calls `seen(entity, field)` for every unknown field here and in nested records.
    fn visit_unknown(&self, seen: &mut dyn FnMut(&'static str, &str));
}

/// Reads one record from raw JSON. On failure the reason names the field at fault.
pub fn parse_record<T: Record>(value: Value) -> Parsed<T> {
    let key = value
        .get(T::KEY_FIELD)
        .and_then(scalar_text)
        .filter(|k| !k.trim().is_empty());
    let payload = value.to_string();
    let fail = |reason: String, payload: String| RecordError {
        entity: T::ENTITY,
        key: key.clone(),
        reason,
        payload,
    };
    let Value::Object(map) = &value else {
        return Err(fail(
            format!("expected an object, got {}", json_kind(&value)),
            payload,
        ));
    };
    match serde_json::from_value::<T>(value.clone()) {
        Ok(mut record) => {
            record.set_raw(payload);
            Ok(record)
        }
        Err(whole) => {
            // Every field is optional, so a one-field object only fails on a wrong-typed field:
            // try each field alone to name the culprit.
            let culprit = map.iter().find_map(|(k, v)| {
                let alone = Value::Object([(k.clone(), v.clone())].into_iter().collect());
                serde_json::from_value::<T>(alone)
                    .err()
                    .map(|e| format!("field `{k}`: {e}"))
            });
            Err(fail(culprit.unwrap_or_else(|| whole.to_string()), payload))
        }
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON scalar as text (strings as is, numbers and booleans printed); `None` otherwise.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---- field deserializers ----

/// A scalar that may arrive as a string, a number or null, as `Option<String>`. Anything else
/// (an object, an array, a boolean) is an error, which makes the record a [`RecordError`].
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string, a number or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// A boolean that may arrive as `true`/`false`, as `"true"`/`"false"` or as null.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean or null")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                "" => Ok(None),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// A count that may arrive as a number or a numeric string (envelope `total`, `limit`, `skip`).
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match text(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a count, got {s:?}"))),
    }
}

/// A list of nested records, each parsed on its own (null or absent → empty).
pub(crate) fn records<'de, D: Deserializer<'de>, T: Record>(
    d: D,
) -> Result<Vec<Parsed<T>>, D::Error> {
    let items: Option<Vec<Value>> = Option::deserialize(d)?;
    Ok(items
        .unwrap_or_default()
        .into_iter()
        .map(parse_record)
        .collect())
}

/// Declares a payload struct whose listed scalar fields are all `Option<String>` read with
/// [`text`]; the remaining fields are written out as usual.
macro_rules! payload {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            text: [ $( $(#[$fmeta:meta])* $field:ident ),* $(,)? ],
            $($rest:tt)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Deserialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, deserialize_with = "text")]
                pub $field: Option<String>,
            )*
            $($rest)*
            /// Fields this model does not know, as received.
            #[serde(flatten)]
            pub extra: BTreeMap<String, Value>,
            /// The record as received (JSON), set by [`parse_record`].
            #[serde(skip)]
            pub raw: String,
        }
    };
}

/// Implements [`Record`] for a model; `nested` lists the fields holding nested records.
macro_rules! record {
    ($name:ident, $entity:literal, $key:literal $(, nested: [$($nested:ident),*])?) => {
        impl Record for $name {
            const ENTITY: &'static str = $entity;
            const KEY_FIELD: &'static str = $key;
            fn raw(&self) -> &str {
                &self.raw
            }
            fn set_raw(&mut self, raw: String) {
                self.raw = raw;
            }
            fn visit_unknown(&self, seen: &mut dyn FnMut(&'static str, &str)) {
                for k in self.extra.keys() {
                    seen($entity, k);
                }
                $($(
                    for item in self.$nested.iter().flatten() {
                        item.visit_unknown(seen);
                    }
                )*)?
            }
        }
    };
}

//! A tiny order-preserving JSON tree. `serde_json::Value` sorts object keys (the workspace does
//! not enable `preserve_order`), but the simulator must reproduce the API's key order, so bodies
//! are built as [`J`] and serialised directly.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum J {
    Str(String),
    Bool(bool),
    Int(i64),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub(crate) fn to_value(&self) -> Value {
        match self {
            J::Str(s) => Value::String(s.clone()),
            J::Bool(b) => Value::Bool(*b),
            J::Int(i) => Value::from(*i),
            J::Arr(xs) => Value::Array(xs.iter().map(J::to_value).collect()),
            J::Obj(kv) => {
                Value::Object(kv.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serialising a J tree cannot fail")
    }

    /// Sets an existing key's value (no-op when absent).
    pub(crate) fn set(&mut self, key: &str, v: J) {
        if let J::Obj(kv) = self {
            if let Some(slot) = kv.iter_mut().find(|(k, _)| k == key) {
                slot.1 = v;
            }
        }
    }

    /// A string value's text (`None` when absent or not a string).
    pub(crate) fn str_of(&self, key: &str) -> Option<&str> {
        match self {
            J::Obj(kv) => kv
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| match v {
                    J::Str(s) => Some(s.as_str()),
                    _ => None,
                }),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, key: &str) {
        if let J::Obj(kv) = self {
            kv.retain(|(k, _)| k != key);
        }
    }

    /// Inserts a key at a position (clamped to the end).
    pub(crate) fn insert_at(&mut self, pos: usize, key: &str, v: J) {
        if let J::Obj(kv) = self {
            let pos = pos.min(kv.len());
            kv.insert(pos, (key.to_string(), v));
        }
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Str(v) => s.serialize_str(v),
            J::Bool(b) => s.serialize_bool(*b),
            J::Int(i) => s.serialize_i64(*i),
            J::Arr(xs) => {
                let mut seq = s.serialize_seq(Some(xs.len()))?;
                for x in xs {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            J::Obj(kv) => {
                let mut map = s.serialize_map(Some(kv.len()))?;
                for (k, v) in kv {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl From<&str> for J {
    fn from(s: &str) -> J {
        J::Str(s.to_string())
    }
}

impl From<String> for J {
    fn from(s: String) -> J {
        J::Str(s)
    }
}

impl From<&String> for J {
    fn from(s: &String) -> J {
        J::Str(s.clone())
    }
}

impl From<bool> for J {
    fn from(b: bool) -> J {
        J::Bool(b)
    }
}

impl From<i64> for J {
    fn from(i: i64) -> J {
        J::Int(i)
    }
}

impl From<usize> for J {
    fn from(i: usize) -> J {
        J::Int(i as i64)
    }
}

impl From<Vec<J>> for J {
    fn from(xs: Vec<J>) -> J {
        J::Arr(xs)
    }
}

/// `obj! { "key" => value, … }` builds a [`J::Obj`] keeping the written key order.
macro_rules! obj {
    ($($k:expr => $v:expr),* $(,)?) => {
        $crate::json::J::Obj(vec![$(($k.to_string(), $crate::json::J::from($v))),*])
    };
}
pub(crate) use obj;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order() {
        let j = obj! { "b" => "1", "a" => true, "c" => 3i64, "d" => vec![J::from("x")] };
        assert_eq!(
            String::from_utf8(j.to_bytes()).unwrap(),
            r#"{"b":"1","a":true,"c":3,"d":["x"]}"#
        );
        assert_eq!(j.to_value()["c"], 3);
    }
}

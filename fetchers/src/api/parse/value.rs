//! The shared ground of the parsers: [`ValueError`], the spellings of "no value" and the plain
//! scalars (text, ids, region codes, integers, decimals, dates).

use chrono::NaiveDate;

/// A value that is present but does not read as what the field should hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got {raw:?}")]
pub struct ValueError {
    /// What the field should hold, e.g. `"an integer"`.
    pub expected: &'static str,
    /// The text as received.
    pub raw: String,
}

pub(super) fn bad<T>(expected: &'static str, raw: &str) -> Result<T, ValueError> {
    Err(ValueError {
        expected,
        raw: raw.to_string(),
    })
}

/// The text trimmed, or `None` for the API's spellings of "no value": `""`, `"-"`, the en dash
/// `"–"` (results), the em dash and blanks.
pub fn missing(s: &str) -> Option<&str> {
    match s.trim() {
        "" | "-" | "–" | "—" => None,
        t => Some(t),
    }
}

/// Optional text as an owned string ([`missing`] applied).
pub fn text(s: &str) -> Option<String> {
    missing(s).map(str::to_string)
}

/// An entity id (`hrs_…`, `dsi_…`); an empty `damsire_id` means there is none.
pub fn id(s: &str) -> Option<&str> {
    missing(s)
}

/// A lower-case region code (`"GB"` → `"gb"`), the form `ra_regions.code` holds.
pub fn region_code(s: &str) -> Option<String> {
    missing(s).map(str::to_ascii_lowercase)
}

/// The digits of a plain decimal number: optional sign, digits, at most one point (`".5"`).
pub(super) fn decimal_text(t: &str) -> Option<f64> {
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    let points = body.chars().filter(|c| *c == '.').count();
    if digits == 0 || points > 1 || digits + points != body.len() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// An integer sent as text: `"7"`, `"147"`; `"12.0"` reads as 12.
pub fn int(s: &str) -> Result<Option<i64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let t = t.strip_prefix('+').unwrap_or(t);
    if let Ok(v) = t.parse::<i64>() {
        return Ok(Some(v));
    }
    match decimal_text(t) {
        Some(d) if d.fract() == 0.0 && d.abs() < 1e15 => Ok(Some(d as i64)),
        _ => bad("an integer", s),
    }
}

/// A decimal number sent as text: `"4.75"`, `".5"`, `"0"`.
pub fn decimal(s: &str) -> Result<Option<f64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    match decimal_text(t) {
        Some(d) => Ok(Some(d)),
        None => bad("a decimal number", s),
    }
}

/// A calendar date `YYYY-MM-DD`.
pub fn date(s: &str) -> Result<Option<NaiveDate>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) => Ok(Some(d)),
        Err(_) => bad("a date (YYYY-MM-DD)", s),
    }
}

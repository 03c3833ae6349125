//! Prices: fractional odds with their decimal equivalent and the favourite marker.

use super::value::{bad, missing, ValueError};

/// A price: the fractional text without any favourite marker, its decimal equivalent
/// (stake included) and whether it carried the favourite marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub fractional: String,
    pub decimal: f64,
    pub favourite: bool,
}

/// A fractional price: `"11/4"` (3.75), `"15/8F"` (favourite; also `JF`/`CF`), `"Evens"`/`"evs"`
/// (2.0), and a bare `"4"` meaning 4/1 (5.0).
pub fn fraction(s: &str) -> Result<Option<Price>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let expected = "a fractional price like 11/4";
    let upper = t.to_ascii_uppercase();
    let marker = if upper.ends_with("JF") || upper.ends_with("CF") {
        2
    } else if upper.ends_with('F') {
        1
    } else {
        0
    };
    let body = t[..t.len() - marker].trim();
    let favourite = marker > 0;
    let decimal = if ["evens", "evs", "even", "evn"]
        .iter()
        .any(|e| body.eq_ignore_ascii_case(e))
    {
        2.0
    } else if let Some((n, d)) = body.split_once('/') {
        match (n.trim().parse::<u32>(), d.trim().parse::<u32>()) {
            (Ok(n), Ok(d)) if d > 0 => 1.0 + f64::from(n) / f64::from(d),
            _ => return bad(expected, s),
        }
    } else if let Ok(n) = body.parse::<u32>() {
        1.0 + f64::from(n)
    } else {
        return bad(expected, s);
    };
    Ok(Some(Price {
        fractional: body.to_string(),
        decimal,
        favourite,
    }))
}

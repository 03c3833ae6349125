//! Distances: race distances in yards, furlongs and beaten lengths.

use super::value::{bad, decimal_text, missing, ValueError};

const YARDS_PER_MILE: f64 = 1760.0;
const YARDS_PER_FURLONG: f64 = 220.0;

/// A race distance as text (`"2m41y"`, `"1m5f187y"`, `"1m"`, `"5f"`, `"2m½f"`) in yards.
pub fn distance_yards(s: &str) -> Result<Option<i64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let mut total = 0.0;
    let mut parts = 0;
    let mut num = String::new();
    let mut half = false;
    for c in t.chars().filter(|c| !c.is_whitespace()) {
        match c {
            '0'..='9' if !half => num.push(c),
            '½' if !half => half = true,
            'm' | 'M' | 'f' | 'F' | 'y' | 'Y' => {
                if num.is_empty() && !half {
                    return bad("a distance like 1m5f187y", s);
                }
                let n: f64 = if num.is_empty() {
                    0.0
                } else {
                    num.parse().unwrap_or(0.0)
                };
                let n = n + if half { 0.5 } else { 0.0 };
                let unit = match c.to_ascii_lowercase() {
                    'm' => YARDS_PER_MILE,
                    'f' => YARDS_PER_FURLONG,
                    _ => 1.0,
                };
                total += n * unit;
                parts += 1;
                num.clear();
                half = false;
            }
            _ => return bad("a distance like 1m5f187y", s),
        }
    }
    if parts == 0 || !num.is_empty() || half {
        return bad("a distance like 1m5f187y", s);
    }
    Ok(Some(total.round() as i64))
}

/// A distance in furlongs: `"12.0"` (racecards) or `"7f"` (results), `"5½f"`.
pub fn furlongs(s: &str) -> Result<Option<f64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let body = t.trim_end_matches(['f', 'F']).trim();
    let (body, half) = match body.strip_suffix('½') {
        Some(b) => (b, 0.5),
        None => (body, 0.0),
    };
    let whole = if body.is_empty() && half > 0.0 {
        Some(0.0)
    } else {
        decimal_text(body)
    };
    match whole {
        Some(f) => Ok(Some(f + half)),
        None => bad("furlongs like 16.0 or 8f", s),
    }
}

/// Beaten lengths: numbers (`".5"`, `"1.25"`) and the usual short distances
/// (`nse`, `shd`, `hd`, `snk`, `nk`, `dht`, `dist`).
pub fn lengths(s: &str) -> Result<Option<f64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    if let Some(v) = decimal_text(t) {
        return Ok(Some(v));
    }
    let v = match t.to_ascii_lowercase().as_str() {
        "dht" => 0.0,
        "nse" | "ns" => 0.05,
        "shd" | "sh" | "s.h." => 0.1,
        "hd" | "h" => 0.2,
        "snk" | "sht-nk" => 0.25,
        "nk" => 0.3,
        "dist" | "ds" => 30.0,
        _ => return bad("beaten lengths", s),
    };
    Ok(Some(v))
}

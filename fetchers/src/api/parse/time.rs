//! Instants and times: ISO 8601 with an offset, UK local wall-clock time (Europe/London, with
//! its DST rules) and finishing times in seconds.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::London;

use super::value::{bad, decimal_text, missing, ValueError};

/// An instant from an ISO 8601 text with its offset (`off_dt`: `2031-05-02T14:10:00+01:00`).
/// Text without an offset is refused: it would not name one instant.
pub fn instant(s: &str) -> Result<Option<DateTime<Utc>>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(Some(d.with_timezone(&Utc)));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(t, f) {
            return Ok(Some(d.with_timezone(&Utc)));
        }
    }
    bad("a date-time with an offset", s)
}

/// UK local wall-clock time (odds `updated`, `"YYYY-MM-DD HH:MM:SS"`, no zone) as the instant it
/// names in Europe/London. The repeated autumn hour takes the earlier instant; a time inside
/// the spring gap is shifted forward by the gap.
pub fn uk_local(s: &str) -> Result<Option<DateTime<Utc>>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(Some(london_to_utc(naive)));
        }
    }
    bad("a local date-time (YYYY-MM-DD HH:MM:SS)", s)
}

/// A Europe/London wall-clock time as an instant (see [`uk_local`] for the DST rules).
pub fn london_to_utc(naive: NaiveDateTime) -> DateTime<Utc> {
    if let Some(t) = London.from_local_datetime(&naive).earliest() {
        return t.with_timezone(&Utc);
    }
    // Inside the spring-forward gap: the clock reads an hour later at that instant.
    let shifted = naive + Duration::hours(1);
    match London.from_local_datetime(&shifted).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => Utc.from_utc_datetime(&naive),
    }
}

/// A finishing time in seconds: `"1:47.15"`, `"0:59.85"`, `"59.85s"`, and the results'
/// `winning_time_detail` form `"1m 47.15s (slow by 3.20s)"`.
pub fn finish_time_seconds(s: &str) -> Result<Option<f64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let main = t.split('(').next().unwrap_or("").trim();
    let expected = "a time like 1:47.15 or 1m 47.15s";
    let secs = |x: &str| decimal_text(x.trim().trim_end_matches(['s', 'S']).trim());
    let value = if main.contains(':') {
        let mut parts: Vec<&str> = main.split(':').collect();
        let last = parts.pop().and_then(secs);
        let mut whole = 0.0;
        for p in parts {
            match p.trim().parse::<u32>() {
                Ok(v) => whole = whole * 60.0 + f64::from(v),
                Err(_) => return bad(expected, s),
            }
        }
        last.map(|l| whole * 60.0 + l)
    } else if let Some((m, rest)) = main.split_once(['m', 'M']) {
        match (m.trim().parse::<u32>(), secs(rest)) {
            (Ok(m), Some(sec)) => Some(f64::from(m) * 60.0 + sec),
            (Ok(m), None) if rest.trim().is_empty() => Some(f64::from(m) * 60.0),
            _ => None,
        }
    } else {
        secs(main)
    };
    match value {
        Some(v) if v >= 0.0 => Ok(Some((v * 1000.0).round() / 1000.0)),
        _ => bad(expected, s),
    }
}

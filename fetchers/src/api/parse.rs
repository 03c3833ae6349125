//! Value parsing at the API boundary: the Racing API's string-typed scalars become typed domain
//! values here, once, so nothing downstream ever handles `"–"`, `"NR"`, `"£5,327"` or `"15/8F"`.
//!
//! Every parser takes the raw text and follows one convention:
//!
//! * `Ok(None)` when the text means "no value" (see [`missing`]: `""`, `"-"`, `"–"`, blanks);
//! * `Ok(Some(value))` when it reads;
//! * `Err(`[`ValueError`]`)` when it is something else (garbage).
//!
//! What garbage costs is the extractor's decision, not this module's: a value whose raw text is
//! stored alongside it (starting price, finishing time, last run, distance text) just loses its
//! parsed form; any other value rejects the record it came in.
//!
//! A few values never fail: [`position`] keeps any text as [`FinishStatus::Other`], and the
//! helpers that only split text ([`split_country`], [`jockey_name`]) return what they can.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::London;

/// A value that is present but does not read as what the field should hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got {raw:?}")]
pub struct ValueError {
    /// What the field should hold, e.g. `"an integer"`.
    pub expected: &'static str,
    /// The text as received.
    pub raw: String,
}

fn bad<T>(expected: &'static str, raw: &str) -> Result<T, ValueError> {
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
fn decimal_text(t: &str) -> Option<f64> {
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

/// A currency Paddock stores prize money in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    GBP,
    EUR,
}

impl Currency {
    /// ISO 4217 code, as stored in `prize_currency`.
    pub fn code(self) -> &'static str {
        match self {
            Currency::GBP => "GBP",
            Currency::EUR => "EUR",
        }
    }

    /// The currency an amount without a symbol is in: euros in Ireland, pounds elsewhere.
    pub fn for_region(region: &str) -> Currency {
        if region.trim().eq_ignore_ascii_case("ire") {
            Currency::EUR
        } else {
            Currency::GBP
        }
    }
}

/// An amount of money with its currency: an exact decimal, never a binary float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Money {
    /// Normalised (`"4193.50"` → `4193.5`), so equal amounts compare and store equal.
    pub amount: rust_decimal::Decimal,
    pub currency: Currency,
}

/// Money: `"2871.46"` (in `default`), `"£5,327"`, `"€6150"`, `"EUR 6150"`.
pub fn money(s: &str, default: Currency) -> Result<Option<Money>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let mut currency = default;
    let mut body = t;
    for (marks, c) in [
        (&["£", "GBP"][..], Currency::GBP),
        (&["€", "EUR"][..], Currency::EUR),
    ] {
        for m in marks {
            if let Some(rest) = body.strip_prefix(m) {
                body = rest;
                currency = c;
            } else if let Some(rest) = body.strip_suffix(m) {
                body = rest;
                currency = c;
            }
        }
    }
    let digits: String = body
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    // The same shape check as every decimal, then an exact parse.
    let exact = decimal_text(&digits)
        .and_then(|_| digits.parse::<rust_decimal::Decimal>().ok())
        .filter(|amount| !amount.is_sign_negative());
    match exact {
        Some(amount) => Ok(Some(Money {
            amount: amount.normalize(),
            currency,
        })),
        None => bad("an amount of money", s),
    }
}

/// Tote dividends (`"£2.10 £1.40"`) are several amounts in one string: they stay text.
pub fn tote(s: &str) -> Option<String> {
    text(s)
}

/// How a runner's race ended, from its `position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinishStatus {
    Finished,
    PulledUp,
    UnseatedRider,
    Fell,
    BroughtDown,
    RanOut,
    RefusedToRace,
    /// Refused at an obstacle (`REF`, `R`), as opposed to refusing to race (`RR`).
    Refused,
    SlippedUp,
    CarriedOut,
    Disqualified,
    Void,
    /// Anything else, e.g. free text such as "Died after the third fence"; the raw text is kept.
    Other,
}

impl FinishStatus {
    /// The stable snake_case name stored in `ra_runners.finish_status`.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishStatus::Finished => "finished",
            FinishStatus::PulledUp => "pulled_up",
            FinishStatus::UnseatedRider => "unseated_rider",
            FinishStatus::Fell => "fell",
            FinishStatus::BroughtDown => "brought_down",
            FinishStatus::RanOut => "ran_out",
            FinishStatus::RefusedToRace => "refused_to_race",
            FinishStatus::Refused => "refused",
            FinishStatus::SlippedUp => "slipped_up",
            FinishStatus::CarriedOut => "carried_out",
            FinishStatus::Disqualified => "disqualified",
            FinishStatus::Void => "void",
            FinishStatus::Other => "other",
        }
    }

    /// The status a position code stands for (case-insensitive), if it is one. Besides the
    /// result codes (`PU`, `UR`, `BD`, …) the single letters of form figures are understood.
    pub fn from_code(code: &str) -> Option<FinishStatus> {
        Some(match code.trim().to_ascii_uppercase().as_str() {
            "PU" | "P" => FinishStatus::PulledUp,
            "UR" | "U" => FinishStatus::UnseatedRider,
            "F" => FinishStatus::Fell,
            "BD" | "B" => FinishStatus::BroughtDown,
            "RO" => FinishStatus::RanOut,
            "RR" => FinishStatus::RefusedToRace,
            "REF" | "R" => FinishStatus::Refused,
            "SU" | "S" => FinishStatus::SlippedUp,
            "CO" | "C" => FinishStatus::CarriedOut,
            "DSQ" | "DQ" => FinishStatus::Disqualified,
            "VO" | "VOID" => FinishStatus::Void,
            _ => return None,
        })
    }
}

/// A finishing position: the place when there is one, the raw text always, and the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub number: Option<i64>,
    pub raw: String,
    pub status: FinishStatus,
}

/// A result `position`: `"1"`…`"20"` (dead heats may carry `=`), a code (`PU`, `UR`, `F`, …) or
/// free text. `None` only when nothing was given (no result yet); any text is kept.
pub fn position(s: &str) -> Option<Position> {
    let t = missing(s)?;
    let raw = t.to_string();
    let numeric = t.trim_matches('=').trim();
    if let Ok(n) = numeric.parse::<i64>() {
        if n >= 1 {
            return Some(Position {
                number: Some(n),
                raw,
                status: FinishStatus::Finished,
            });
        }
    }
    let status = FinishStatus::from_code(t).unwrap_or(FinishStatus::Other);
    Some(Position {
        number: None,
        raw,
        status,
    })
}

/// A racecard saddle-cloth `number`: `"7"`, or `"NR"` for a non-runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerNumber {
    pub number: Option<i64>,
    pub non_runner: bool,
}

/// Reads `number`; `"NR"` is a non-runner without a number.
pub fn number(s: &str) -> Result<RunnerNumber, ValueError> {
    if missing(s).is_some_and(|t| t.eq_ignore_ascii_case("NR")) {
        return Ok(RunnerNumber {
            number: None,
            non_runner: true,
        });
    }
    Ok(RunnerNumber {
        number: int(s)?,
        non_runner: false,
    })
}

/// A stall `draw`: `"0"` (racecards) and `""` (results) both mean "no draw".
pub fn draw(s: &str) -> Result<Option<i64>, ValueError> {
    Ok(int(s)?.filter(|d| *d > 0))
}

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

/// Splits a country suffix off a name: `"Tarn Gap (IRE)"` → (`"Tarn Gap"`, `Some("IRE")`). Names
/// without a suffix come back whole.
pub fn split_country(s: &str) -> (&str, Option<&str>) {
    let t = s.trim();
    if let Some(inner) = t.strip_suffix(')') {
        if let Some(open) = inner.rfind('(') {
            let code = &inner[open + 1..];
            let name = inner[..open].trim_end();
            if (2..=4).contains(&code.len())
                && code.chars().all(|c| c.is_ascii_uppercase())
                && !name.is_empty()
            {
                return (name, Some(code));
            }
        }
    }
    (t, None)
}

/// One horse named in a result's `non_runners` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonRunner {
    /// The name as given, any country suffix included.
    pub name: String,
    /// The stated reason, without its parentheses.
    pub reason: Option<String>,
}

/// Reads a result's `non_runners` text: `"How's The Guvnor (unsuitable ground), Just King
/// High (travel problems)"` → two names with their reasons. Commas inside parentheses do not
/// split; a last parenthesised group that is a country code (`"Odd Job (IRE)"`) is part of the
/// name, not a reason. Empty or missing text gives no one.
pub fn non_runners(s: &str) -> Vec<NonRunner> {
    let Some(s) = missing(s) else {
        return Vec::new();
    };
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&s[start..]);
    items
        .into_iter()
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            if split_country(item).1.is_none() {
                if let Some(inner) = item.strip_suffix(')') {
                    if let Some(open) = inner.rfind('(') {
                        let name = inner[..open].trim_end();
                        let reason = inner[open + 1..].trim();
                        if !name.is_empty() {
                            return NonRunner {
                                name: name.to_string(),
                                reason: (!reason.is_empty()).then(|| reason.to_string()),
                            };
                        }
                    }
                }
            }
            NonRunner {
                name: item.to_string(),
                reason: None,
            }
        })
        .collect()
}

/// The form of a horse's name two spellings are compared by: country suffix removed, case and
/// surrounding space ignored (`"Just King High (IRE)"` and `"just king high"` match).
pub fn name_for_matching(s: &str) -> String {
    split_country(s).0.trim().to_lowercase()
}

/// A sex code from the word racecards use (`"gelding"` → `"G"`); a code is returned as is.
pub fn sex_code(s: &str) -> Option<&'static str> {
    Some(match missing(s)?.to_ascii_lowercase().as_str() {
        "gelding" | "g" => "G",
        "mare" | "m" => "M",
        "filly" | "f" => "F",
        "colt" | "c" => "C",
        "horse" | "stallion" | "entire" | "h" => "H",
        "rig" | "ridgling" | "r" => "R",
        _ => return None,
    })
}

/// The word for a sex code (`"G"` → `"gelding"`).
pub fn sex_word(code: &str) -> Option<&'static str> {
    Some(match sex_code(code)? {
        "G" => "gelding",
        "M" => "mare",
        "F" => "filly",
        "C" => "colt",
        "H" => "horse",
        "R" => "rig",
        _ => return None,
    })
}

/// A weight in pounds (`lbs`, `weight_lbs`): a whole number up to 300.
pub fn lbs(s: &str) -> Result<Option<i64>, ValueError> {
    match int(s) {
        Ok(Some(v)) if !(0..=300).contains(&v) => bad("a weight in pounds", s),
        Ok(v) => Ok(v),
        Err(_) => bad("a weight in pounds", s),
    }
}

/// A weight in stones and pounds (`"9-3"`) in pounds (129).
pub fn weight_st_lbs(s: &str) -> Result<Option<i64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let expected = "a weight like 9-3 (stones-pounds)";
    let Some((st, lb)) = t.split_once('-') else {
        return bad(expected, s);
    };
    match (st.trim().parse::<i64>(), lb.trim().parse::<i64>()) {
        (Ok(st), Ok(lb)) if (0..14).contains(&lb) && (0..=21).contains(&st) => {
            Ok(Some(st * 14 + lb))
        }
        _ => bad(expected, s),
    }
}

/// A racecard jockey: `"Pat Cooley(5)"` → (`Some("Pat Cooley")`, `Some(5)` claim). A
/// `"NON-RUNNER…"` placeholder has no name.
pub fn jockey_name(s: &str) -> (Option<&str>, Option<i64>) {
    let Some(t) = missing(s) else {
        return (None, None);
    };
    let (name, claim) = match t
        .strip_suffix(')')
        .and_then(|i| i.rfind('(').map(|o| (i, o)))
    {
        Some((inner, open)) => match inner[open + 1..].trim().parse::<i64>() {
            Ok(c) => (inner[..open].trim(), Some(c)),
            Err(_) => (t, None),
        },
        None => (t, None),
    };
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("NON-RUNNER") || upper.starts_with("NON RUNNER") || name.is_empty() {
        return (None, claim);
    }
    (Some(name), claim)
}

/// Days since the last run, from `last_run`: `"143 (21F)"` → 143 (the bracket is the other
/// code's figure); `"(47F)"` alone → no figure under this code.
pub fn last_run(s: &str) -> Result<Option<i64>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let head = t.split('(').next().unwrap_or("").trim();
    if head.is_empty() {
        return Ok(None);
    }
    match head.parse::<i64>() {
        Ok(d) if d >= 0 => Ok(Some(d)),
        _ => bad("days since the last run", s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn numbers_arrive_as_text() {
        assert_eq!(int("7"), Ok(Some(7)));
        assert_eq!(int(" 147 "), Ok(Some(147)));
        assert_eq!(int("12.0"), Ok(Some(12)));
        assert_eq!(decimal("4.75"), Ok(Some(4.75)));
    }

    #[test]
    fn en_dash_is_missing() {
        assert_eq!(missing("–"), None);
        assert_eq!(int("–"), Ok(None));
        assert_eq!(decimal("–"), Ok(None));
        assert_eq!(position("–"), None);
    }

    #[test]
    fn hyphen_empty_and_blank_are_missing() {
        for s in ["", "-", "  ", "—"] {
            assert_eq!(missing(s), None, "{s:?}");
            assert_eq!(int(s), Ok(None), "{s:?}");
        }
        assert_eq!(missing(" Good "), Some("Good"));
    }

    #[test]
    fn garbage_number_is_an_error_not_missing() {
        assert!(int("abc").is_err());
        assert!(decimal("1.2.3").is_err());
        assert!(decimal("inf").is_err());
        assert!(lbs("abc").is_err());
        assert!(lbs("900").is_err());
    }

    #[test]
    fn decimal_accepts_leading_point() {
        assert_eq!(decimal(".5"), Ok(Some(0.5)));
        assert_eq!(decimal(".75"), Ok(Some(0.75)));
        assert_eq!(decimal("-0.5"), Ok(Some(-0.5)));
    }

    #[test]
    fn nr_number_is_non_runner() {
        assert_eq!(
            number("NR"),
            Ok(RunnerNumber {
                number: None,
                non_runner: true
            })
        );
        assert_eq!(
            number("7"),
            Ok(RunnerNumber {
                number: Some(7),
                non_runner: false
            })
        );
        assert!(number("seven").is_err());
    }

    #[test]
    fn draw_zero_is_none() {
        assert_eq!(draw("0"), Ok(None));
        assert_eq!(draw(""), Ok(None));
        assert_eq!(draw("11"), Ok(Some(11)));
    }

    #[test]
    fn numbered_position_is_finished() {
        let p = position("3").unwrap();
        assert_eq!(p.number, Some(3));
        assert_eq!(p.status, FinishStatus::Finished);
        assert_eq!(p.raw, "3");
        assert_eq!(position("1=").unwrap().number, Some(1));
    }

    #[test]
    fn pulled_up_keeps_raw_code_and_status() {
        let p = position("PU").unwrap();
        assert_eq!(p.number, None);
        assert_eq!(p.raw, "PU");
        assert_eq!(p.status, FinishStatus::PulledUp);
        assert_eq!(p.status.as_str(), "pulled_up");
    }

    #[test]
    fn every_position_code_has_a_status() {
        let cases = [
            ("PU", FinishStatus::PulledUp),
            ("UR", FinishStatus::UnseatedRider),
            ("U", FinishStatus::UnseatedRider),
            ("F", FinishStatus::Fell),
            ("BD", FinishStatus::BroughtDown),
            ("RO", FinishStatus::RanOut),
            ("RR", FinishStatus::RefusedToRace),
            ("REF", FinishStatus::Refused),
            ("SU", FinishStatus::SlippedUp),
            ("CO", FinishStatus::CarriedOut),
            ("DSQ", FinishStatus::Disqualified),
            ("VO", FinishStatus::Void),
            ("pu", FinishStatus::PulledUp),
        ];
        for (code, status) in cases {
            let p = position(code).unwrap();
            assert_eq!(p.status, status, "{code}");
            assert_eq!(p.raw, code);
            assert_eq!(p.number, None);
        }
        assert_eq!(FinishStatus::UnseatedRider.as_str(), "unseated_rider");
        assert_eq!(FinishStatus::RefusedToRace.as_str(), "refused_to_race");
    }

    #[test]
    fn died_free_text_position() {
        let p = position("Died after the third fence").unwrap();
        assert_eq!(p.status, FinishStatus::Other);
        assert_eq!(p.raw, "Died after the third fence");
        assert_eq!(p.number, None);
    }

    #[test]
    fn off_time_twelve_hour_is_not_used_for_the_start() {
        // `off` says "7:45" for an evening race; only `off_dt` names the instant.
        let start = instant("2031-06-04T19:45:00+01:00").unwrap().unwrap();
        assert_eq!(start.to_rfc3339(), "2031-06-04T18:45:00+00:00");
        assert!(instant("7:45").is_err());
    }

    #[test]
    fn off_dt_keeps_its_offset_and_refuses_none() {
        let winter = instant("2031-01-10T13:05:00+00:00").unwrap().unwrap();
        assert_eq!(winter.to_rfc3339(), "2031-01-10T13:05:00+00:00");
        assert!(instant("2031-01-10T13:05:00").is_err());
    }

    #[test]
    fn irish_prize_is_euros() {
        let m = money("€6150", Currency::GBP).unwrap().unwrap();
        assert_eq!(m.currency, Currency::EUR);
        assert_eq!(m.amount.to_string(), "6150");
        let m = money("5120.50", Currency::for_region("IRE"))
            .unwrap()
            .unwrap();
        assert_eq!(m.currency, Currency::EUR);
        assert_eq!(m.currency.code(), "EUR");
        // Exact: pence survive, trailing zeros do not make a different amount.
        assert_eq!(m.amount.to_string(), "5120.5");
        let sum = money("0.10", Currency::GBP).unwrap().unwrap().amount
            + money("0.20", Currency::GBP).unwrap().unwrap().amount;
        assert_eq!(
            sum.to_string(),
            "0.3",
            "no binary rounding: 0.1 + 0.2 is 0.3"
        );
        assert!(money("-5", Currency::GBP).is_err());
    }

    #[test]
    fn british_prize_without_symbol_is_in_the_default_currency() {
        let m = money("2871.46", Currency::for_region("GB"))
            .unwrap()
            .unwrap();
        assert_eq!(m.currency, Currency::GBP);
        assert_eq!(m.amount.to_string(), "2871.46");
    }

    #[test]
    fn money_with_thousands_separator() {
        let m = money("£5,327", Currency::EUR).unwrap().unwrap();
        assert_eq!(m.currency, Currency::GBP);
        assert_eq!(m.amount.to_string(), "5327");
        let m = money("€1,250,000", Currency::GBP).unwrap().unwrap();
        assert_eq!(m.amount.to_string(), "1250000");
        assert_eq!(money("", Currency::GBP), Ok(None));
        assert!(money("lots", Currency::GBP).is_err());
    }

    #[test]
    fn tote_dividends_stay_text() {
        assert_eq!(tote("£2.10 £1.40"), Some("£2.10 £1.40".to_string()));
        assert_eq!(tote(""), None);
    }

    #[test]
    fn distance_text_to_yards() {
        assert_eq!(distance_yards("2m41y"), Ok(Some(3561)));
        assert_eq!(distance_yards("1m5f187y"), Ok(Some(1760 + 5 * 220 + 187)));
        assert_eq!(distance_yards("1m"), Ok(Some(1760)));
        assert_eq!(distance_yards("5f"), Ok(Some(1100)));
        assert_eq!(distance_yards("2m½f"), Ok(Some(3520 + 110)));
        assert!(distance_yards("far").is_err());
        assert!(distance_yards("1760").is_err());
    }

    #[test]
    fn distance_f_with_or_without_f() {
        assert_eq!(furlongs("12.0"), Ok(Some(12.0)));
        assert_eq!(furlongs("7f"), Ok(Some(7.0)));
        assert_eq!(furlongs("5½f"), Ok(Some(5.5)));
        assert!(furlongs("eight").is_err());
    }

    #[test]
    fn finishing_time_minutes_seconds() {
        assert_eq!(finish_time_seconds("1:47.15"), Ok(Some(107.15)));
        assert_eq!(finish_time_seconds("0:59.85"), Ok(Some(59.85)));
        assert_eq!(finish_time_seconds("59.85s"), Ok(Some(59.85)));
        assert_eq!(finish_time_seconds("–"), Ok(None));
    }

    #[test]
    fn winning_time_detail_reads_the_time_before_the_comparison() {
        assert_eq!(
            finish_time_seconds("1m 47.15s (slow by 3.20s)"),
            Ok(Some(107.15))
        );
        assert_eq!(
            finish_time_seconds("3m 8.07s (fast by 0.10s)"),
            Ok(Some(188.07))
        );
        assert_eq!(
            finish_time_seconds("59.85s (slow by 0.65s)"),
            Ok(Some(59.85))
        );
        assert!(finish_time_seconds("not timed").is_err());
    }

    #[test]
    fn fractional_price_four_means_four_to_one() {
        let p = fraction("4").unwrap().unwrap();
        assert!(close(p.decimal, 5.0));
        assert_eq!(p.fractional, "4");
        assert!(close(fraction("11/4").unwrap().unwrap().decimal, 3.75));
        assert!(fraction("1.46").is_err());
    }

    #[test]
    fn evens_is_two_decimal() {
        for s in ["Evens", "evs", "EvensF"] {
            assert!(close(fraction(s).unwrap().unwrap().decimal, 2.0), "{s}");
        }
        assert!(fraction("EvensF").unwrap().unwrap().favourite);
    }

    #[test]
    fn favourite_marker_on_sp() {
        let p = fraction("15/8F").unwrap().unwrap();
        assert!(p.favourite);
        assert_eq!(p.fractional, "15/8");
        assert!(close(p.decimal, 2.875));
        assert!(fraction("5/2JF").unwrap().unwrap().favourite);
        assert!(!fraction("5/2").unwrap().unwrap().favourite);
    }

    #[test]
    fn damsire_id_empty_is_missing() {
        assert_eq!(id(""), None);
        assert_eq!(id("dsi_12"), Some("dsi_12"));
    }

    #[test]
    fn sex_word_and_code() {
        assert_eq!(sex_code("gelding"), Some("G"));
        assert_eq!(sex_code("Mare"), Some("M"));
        assert_eq!(sex_code("filly"), Some("F"));
        assert_eq!(sex_code("colt"), Some("C"));
        assert_eq!(sex_code("G"), Some("G"));
        assert_eq!(sex_code(""), None);
        assert_eq!(sex_code("unicorn"), None);
        assert_eq!(sex_word("G"), Some("gelding"));
        assert_eq!(sex_word("f"), Some("filly"));
    }

    #[test]
    fn name_country_suffix_split() {
        assert_eq!(split_country("Tarn Gap (IRE)"), ("Tarn Gap", Some("IRE")));
        assert_eq!(
            split_country("Kestrel Run (GB)"),
            ("Kestrel Run", Some("GB"))
        );
        assert_eq!(split_country("Bare Name"), ("Bare Name", None));
        assert_eq!(split_country("Odd (name)"), ("Odd (name)", None));
    }

    #[test]
    fn odds_updated_is_uk_local_time() {
        let t = uk_local("2031-07-01 15:42:19").unwrap().unwrap();
        assert_eq!(t.to_rfc3339(), "2031-07-01T14:42:19+00:00");
        let t = uk_local("2031-01-15 15:42:19").unwrap().unwrap();
        assert_eq!(t.to_rfc3339(), "2031-01-15T15:42:19+00:00");
        assert!(uk_local("15:42").is_err());
    }

    #[test]
    fn ambiguous_autumn_hour_takes_the_earlier_instant() {
        // Clocks go back at 02:00 BST on the last Sunday of October 2030 (27th).
        let t = uk_local("2030-10-27 01:30:00").unwrap().unwrap();
        assert_eq!(t.to_rfc3339(), "2030-10-27T00:30:00+00:00");
    }

    #[test]
    fn nonexistent_spring_hour_shifts_forward() {
        // Clocks go forward at 01:00 GMT on the last Sunday of March 2030 (31st).
        let t = uk_local("2030-03-31 01:30:00").unwrap().unwrap();
        assert_eq!(t.to_rfc3339(), "2030-03-31T01:30:00+00:00");
    }

    #[test]
    fn weight_stones_and_pounds() {
        assert_eq!(weight_st_lbs("9-3"), Ok(Some(129)));
        assert_eq!(weight_st_lbs("10-0"), Ok(Some(140)));
        assert!(weight_st_lbs("8-15").is_err());
        assert_eq!(lbs("147"), Ok(Some(147)));
    }

    #[test]
    fn jockey_claim_is_split_from_the_name() {
        assert_eq!(jockey_name("Pat Cooley(5)"), (Some("Pat Cooley"), Some(5)));
        assert_eq!(jockey_name("Pat Cooley"), (Some("Pat Cooley"), None));
        assert_eq!(jockey_name("NON-RUNNER(5)"), (None, Some(5)));
        assert_eq!(jockey_name("NON-RUNNER"), (None, None));
    }

    #[test]
    fn last_run_days_before_the_other_code() {
        assert_eq!(last_run("143 (21F)"), Ok(Some(143)));
        assert_eq!(last_run("12"), Ok(Some(12)));
        assert_eq!(last_run("(47F)"), Ok(None));
        assert!(last_run("ages").is_err());
    }

    #[test]
    fn beaten_lengths_numbers_and_abbreviations() {
        assert_eq!(lengths(".5"), Ok(Some(0.5)));
        assert_eq!(lengths("nk"), Ok(Some(0.3)));
        assert_eq!(lengths("–"), Ok(None));
        assert!(lengths("miles").is_err());
    }

    #[test]
    fn region_code_is_lower_case() {
        assert_eq!(region_code("IRE"), Some("ire".to_string()));
        assert_eq!(region_code(""), None);
    }

    #[test]
    fn dates_read_and_garbage_does_not() {
        assert_eq!(date("2031-02-03"), Ok(NaiveDate::from_ymd_opt(2031, 2, 3)));
        assert!(date("03/02/2031").is_err());
    }

    #[test]
    fn non_runner_text_gives_names_and_reasons() {
        let nr = non_runners(
            "How's The Guvnor (unsuitable ground), Just King High (IRE) (travel problems), \
             Odd Job (IRE), Plain Name, Comma Case (vet, lame)",
        );
        let pairs: Vec<(&str, Option<&str>)> = nr
            .iter()
            .map(|n| (n.name.as_str(), n.reason.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("How's The Guvnor", Some("unsuitable ground")),
                ("Just King High (IRE)", Some("travel problems")),
                ("Odd Job (IRE)", None),
                ("Plain Name", None),
                ("Comma Case", Some("vet, lame")),
            ]
        );
        assert!(non_runners("").is_empty());
        assert!(non_runners("-").is_empty());
        assert_eq!(
            name_for_matching(" Just King High (IRE) "),
            "just king high"
        );
    }
}

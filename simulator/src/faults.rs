//! Fault injection settings for the simulator's HTTP layer, and their `--faults` flag syntax.

use anyhow::{anyhow, bail, Context};

/// Faults the simulator injects. Everything is deterministic (request counters and the seed),
/// except `max_rate_per_sec`, which depends on the client's real timing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Added to every response.
    pub latency_ms: u64,
    /// Every Nth request answers 429 with `Retry-After`.
    pub rate_limit_every: Option<u64>,
    /// `Retry-After` seconds for injected 429s (1 when 0).
    pub retry_after_secs: u64,
    /// 429 whenever the client sends faster than this (minimum interval between accepted
    /// requests, `1 / rate` seconds, with a 10 ms tolerance).
    pub max_rate_per_sec: Option<f64>,
    /// Fraction (0..1) of requests answered 500, decided by the request counter and the seed.
    pub server_error_rate: f64,
    /// Every Nth request sleeps `hang_ms` before answering.
    pub hang_every: Option<u64>,
    /// How long a hang lasts (60 000 ms when 0).
    pub hang_ms: u64,
    /// Every Nth 200 response body is cut in half (invalid JSON).
    pub truncate_every: Option<u64>,
    /// A few values per page are garbage (`"lbs":"abc"`, a runner without `horse_id`, …).
    pub malformed_values: bool,
    /// Unknown extra keys on races, runners and horses.
    pub extra_fields: bool,
    /// Every Nth racecards or results page leaves out its last record, while its `total`
    /// still counts it (pages are counted, 1-based, per simulator).
    pub drop_record_every: Option<u64>,
    /// The pre-race-changes scenario on the day before today (see the simulator's
    /// `scenario` module): racecard stages advanced by `POST /__scenario/advance`.
    pub pre_race_changes: bool,
    /// The moving market on every racecard day (see the simulator's `market_moves` module):
    /// prices move at each `POST /__scenario/advance`.
    pub market_moves: bool,
    /// The newest race of every results range is withheld from the first N `/results`
    /// requests (a late result), so a range's `total` changes mid-paging.
    pub late_result_requests: Option<u64>,
}

impl Faults {
    /// Parses `"latency_ms=50,rate_limit_every=10,retry_after_secs=2,server_error_rate=0.1,
    /// truncate_every=7,malformed_values,extra_fields"`. Boolean flags may be bare or `=true/false`;
    /// an empty string (or `none`) means no faults.
    pub fn parse_flags(spec: &str) -> anyhow::Result<Faults> {
        let mut f = Faults::default();
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("none") {
            return Ok(f);
        }
        for item in spec.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (item, None),
            };
            let need = || value.ok_or_else(|| anyhow!("fault `{key}` needs a value (`{key}=…`)"));
            let int = || -> anyhow::Result<u64> {
                let v = need()?;
                v.parse::<u64>()
                    .with_context(|| format!("fault `{key}`: `{v}` is not a whole number"))
            };
            let every = || -> anyhow::Result<Option<u64>> {
                let n = int()?;
                if n == 0 {
                    bail!("fault `{key}` must be at least 1");
                }
                Ok(Some(n))
            };
            let flag = || -> anyhow::Result<bool> {
                match value {
                    None => Ok(true),
                    Some(v) => match v.to_ascii_lowercase().as_str() {
                        "true" | "1" | "yes" | "on" => Ok(true),
                        "false" | "0" | "no" | "off" => Ok(false),
                        _ => bail!("fault `{key}`: `{v}` is not a boolean"),
                    },
                }
            };
            match key {
                "latency_ms" => f.latency_ms = int()?,
                "rate_limit_every" => f.rate_limit_every = every()?,
                "retry_after_secs" => f.retry_after_secs = int()?,
                "max_rate_per_sec" => {
                    let v = need()?;
                    let r: f64 = v
                        .parse()
                        .with_context(|| format!("fault `{key}`: `{v}` is not a number"))?;
                    if !(r > 0.0 && r.is_finite()) {
                        bail!("fault `{key}` must be a positive number");
                    }
                    f.max_rate_per_sec = Some(r);
                }
                "server_error_rate" => {
                    let v = need()?;
                    let r: f64 = v
                        .parse()
                        .with_context(|| format!("fault `{key}`: `{v}` is not a number"))?;
                    if !(0.0..=1.0).contains(&r) {
                        bail!("fault `{key}` must be between 0 and 1");
                    }
                    f.server_error_rate = r;
                }
                "hang_every" => f.hang_every = every()?,
                "hang_ms" => f.hang_ms = int()?,
                "truncate_every" => f.truncate_every = every()?,
                "malformed_values" => f.malformed_values = flag()?,
                "extra_fields" => f.extra_fields = flag()?,
                "drop_record_every" => f.drop_record_every = every()?,
                "pre_race_changes" => f.pre_race_changes = flag()?,
                "market_moves" => f.market_moves = flag()?,
                "late_result_requests" => f.late_result_requests = every()?,
                other => bail!(
                    "unknown fault `{other}` (known: latency_ms, rate_limit_every, retry_after_secs, \
                     max_rate_per_sec, server_error_rate, hang_every, hang_ms, truncate_every, \
                     malformed_values, extra_fields, drop_record_every, pre_race_changes, market_moves, \
                     late_result_requests)"
                ),
            }
        }
        Ok(f)
    }

    pub(crate) fn retry_after(&self) -> u64 {
        if self.retry_after_secs == 0 {
            1
        } else {
            self.retry_after_secs
        }
    }

    pub(crate) fn hang_duration_ms(&self) -> u64 {
        if self.hang_ms == 0 {
            60_000
        } else {
            self.hang_ms
        }
    }
}

/// Whether request number `n` (1-based) hits an "every Nth" fault.
pub(crate) fn hits(every: Option<u64>, n: u64) -> bool {
    matches!(every, Some(k) if k > 0 && n.is_multiple_of(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let f = Faults::parse_flags(
            "latency_ms=50,rate_limit_every=10,retry_after_secs=2,server_error_rate=0.1,truncate_every=7,malformed_values,extra_fields",
        )
        .unwrap();
        assert_eq!(f.latency_ms, 50);
        assert_eq!(f.rate_limit_every, Some(10));
        assert_eq!(f.retry_after_secs, 2);
        assert_eq!(f.server_error_rate, 0.1);
        assert_eq!(f.truncate_every, Some(7));
        assert!(f.malformed_values && f.extra_fields);
        assert_eq!(Faults::parse_flags("").unwrap(), Faults::default());
    }

    #[test]
    fn rejects_unknown_or_bad_values() {
        assert!(Faults::parse_flags("bogus=1").is_err());
        assert!(Faults::parse_flags("latency_ms=abc").is_err());
        assert!(Faults::parse_flags("rate_limit_every=0").is_err());
        assert!(Faults::parse_flags("server_error_rate=2").is_err());
        assert!(Faults::parse_flags("latency_ms").is_err());
        let f =
            Faults::parse_flags("hang_every=3, hang_ms=10, max_rate_per_sec=2, extra_fields=false")
                .unwrap();
        assert_eq!(f.hang_every, Some(3));
        assert_eq!(f.max_rate_per_sec, Some(2.0));
        assert!(!f.extra_fields);
        let f = Faults::parse_flags("drop_record_every=2,pre_race_changes").unwrap();
        assert_eq!(f.drop_record_every, Some(2));
        assert!(f.pre_race_changes);
        assert!(Faults::parse_flags("drop_record_every=0").is_err());
    }

    #[test]
    fn every_nth() {
        assert!(!hits(None, 3));
        assert!(hits(Some(3), 3));
        assert!(!hits(Some(3), 4));
    }
}

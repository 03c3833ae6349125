//! Typed requests: one variant per endpoint Paddock uses, with the API's real parameter names
//! (list parameters as repeated keys), so a misspelt parameter cannot reach the API.

use chrono::NaiveDate;

/// The endpoints Paddock calls, named by their path template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    Regions,
    Courses,
    RacecardsPro,
    RacecardPro,
    RacecardSummaries,
    Results,
    Result,
    HorsePro,
    /// A runner's odds with their price history (Pro plan; history from 2025-03-17).
    Odds,
}

impl Endpoint {
    /// Whether the API always echoes the query it applied (`query` in the envelope), so a
    /// missing or empty echo means something is wrong. `/courses` does not echo today; its
    /// echo is checked when present.
    pub fn always_echoes_query(self) -> bool {
        matches!(
            self,
            Endpoint::RacecardsPro | Endpoint::RacecardSummaries | Endpoint::Results
        )
    }

    /// The path template, as used in logs, the ledger and the simulator's counters.
    pub fn template(self) -> &'static str {
        match self {
            Endpoint::Regions => "/courses/regions",
            Endpoint::Courses => "/courses",
            Endpoint::RacecardsPro => "/racecards/pro",
            Endpoint::RacecardPro => "/racecards/{race_id}/pro",
            Endpoint::RacecardSummaries => "/racecards/summaries",
            Endpoint::Results => "/results",
            Endpoint::Result => "/results/{race_id}",
            Endpoint::HorsePro => "/horses/{id}/pro",
            Endpoint::Odds => "/odds/{race_id}/{horse_id}",
        }
    }
}

/// One request to the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRequest {
    Regions,
    Courses {
        region_codes: Vec<String>,
    },
    /// `limit` ≤ 500, `skip` ≤ 500.
    RacecardsPro {
        date: NaiveDate,
        region_codes: Vec<String>,
        limit: u32,
        skip: u32,
    },
    RacecardPro {
        race_id: String,
    },
    RacecardSummaries {
        date: NaiveDate,
        region_codes: Vec<String>,
    },
    /// `limit` ≤ 50, `skip` ≤ 20000.
    Results {
        start_date: NaiveDate,
        end_date: NaiveDate,
        regions: Vec<String>,
        limit: u32,
        skip: u32,
    },
    Result {
        race_id: String,
    },
    HorsePro {
        horse_id: String,
    },
    Odds {
        race_id: String,
        horse_id: String,
    },
}

impl ApiRequest {
    pub fn endpoint(&self) -> Endpoint {
        match self {
            ApiRequest::Regions => Endpoint::Regions,
            ApiRequest::Courses { .. } => Endpoint::Courses,
            ApiRequest::RacecardsPro { .. } => Endpoint::RacecardsPro,
            ApiRequest::RacecardPro { .. } => Endpoint::RacecardPro,
            ApiRequest::RacecardSummaries { .. } => Endpoint::RacecardSummaries,
            ApiRequest::Results { .. } => Endpoint::Results,
            ApiRequest::Result { .. } => Endpoint::Result,
            ApiRequest::HorsePro { .. } => Endpoint::HorsePro,
            ApiRequest::Odds { .. } => Endpoint::Odds,
        }
    }

    /// The path below the base URL (`/racecards/pro`, `/horses/hrs_1/pro`, …).
    pub fn path(&self) -> String {
        match self {
            ApiRequest::RacecardPro { race_id } => format!("/racecards/{race_id}/pro"),
            ApiRequest::Result { race_id } => format!("/results/{race_id}"),
            ApiRequest::HorsePro { horse_id } => format!("/horses/{horse_id}/pro"),
            ApiRequest::Odds { race_id, horse_id } => format!("/odds/{race_id}/{horse_id}"),
            other => other.endpoint().template().to_string(),
        }
    }

    /// The page size asked for, on paged endpoints.
    pub fn page_limit(&self) -> Option<u32> {
        match self {
            ApiRequest::RacecardsPro { limit, .. } | ApiRequest::Results { limit, .. } => {
                Some(*limit)
            }
            _ => None,
        }
    }

    /// Query parameters in the order they are sent; list parameters repeat their key.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let list = |key: &'static str, values: &[String]| {
            values
                .iter()
                .map(move |v| (key, v.clone()))
                .collect::<Vec<_>>()
        };
        match self {
            ApiRequest::Regions
            | ApiRequest::RacecardPro { .. }
            | ApiRequest::Result { .. }
            | ApiRequest::HorsePro { .. }
            | ApiRequest::Odds { .. } => vec![],
            ApiRequest::Courses { region_codes } => list("region_codes", region_codes),
            ApiRequest::RacecardsPro {
                date,
                region_codes,
                limit,
                skip,
            } => {
                let mut q = vec![("date", date.to_string())];
                q.extend(list("region_codes", region_codes));
                q.push(("limit", limit.to_string()));
                q.push(("skip", skip.to_string()));
                q
            }
            ApiRequest::RacecardSummaries { date, region_codes } => {
                let mut q = vec![("date", date.to_string())];
                q.extend(list("region_codes", region_codes));
                q
            }
            ApiRequest::Results {
                start_date,
                end_date,
                regions,
                limit,
                skip,
            } => {
                let mut q = vec![
                    ("start_date", start_date.to_string()),
                    ("end_date", end_date.to_string()),
                ];
                q.extend(list("region", regions));
                q.push(("limit", limit.to_string()));
                q.push(("skip", skip.to_string()));
                q
            }
        }
    }

    /// Path plus encoded query string, as logged and archived.
    pub fn path_and_query(&self) -> String {
        let q = self.query();
        if q.is_empty() {
            return self.path();
        }
        let encoded: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("{}?{}", self.path(), encoded.join("&"))
    }
}

/// Percent-encodes a query value (ids, dates and region codes are plain ASCII already).
fn encode(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.~".contains(c) {
                c.to_string()
            } else {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_request_repeats_region_and_uses_the_real_parameter_names() {
        let r = ApiRequest::Results {
            start_date: NaiveDate::from_ymd_opt(2025, 10, 7).unwrap(),
            end_date: NaiveDate::from_ymd_opt(2025, 10, 7).unwrap(),
            regions: vec!["gb".into(), "ire".into()],
            limit: 50,
            skip: 0,
        };
        assert_eq!(
            r.path_and_query(),
            "/results?start_date=2025-10-07&end_date=2025-10-07&region=gb&region=ire&limit=50&skip=0"
        );
    }

    #[test]
    fn racecards_request_uses_region_codes() {
        let r = ApiRequest::RacecardsPro {
            date: NaiveDate::from_ymd_opt(2025, 10, 13).unwrap(),
            region_codes: vec!["gb".into()],
            limit: 500,
            skip: 0,
        };
        assert_eq!(
            r.path_and_query(),
            "/racecards/pro?date=2025-10-13&region_codes=gb&limit=500&skip=0"
        );
    }
}

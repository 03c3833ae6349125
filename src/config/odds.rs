//! `[odds]`: the odds endpoint's settings. `[odds.backfill]` chooses the races
//! `paddock backfill --only odds` asks `/odds/{race_id}/{horse_id}` about (a race is chosen
//! when it matches any of the criteria set) and caps its requests.

/// The `[odds]` section.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OddsSettings {
    pub backfill: OddsBackfillSettings,
}

/// `[odds.backfill]`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OddsBackfillSettings {
    /// Races flagged `big_race` (default true).
    pub big_races: bool,
    /// Races at these course ids (default none).
    pub courses: Vec<String>,
    /// Races whose prize is at least this, in the race's currency (default: not a criterion).
    pub min_prize: Option<f64>,
    /// Today's races not yet off (default false).
    pub today_before_off: bool,
    /// The most odds requests one backfill makes (default 500, at 2 a second about 4 minutes).
    pub max_requests: u32,
}

impl Default for OddsBackfillSettings {
    fn default() -> Self {
        OddsBackfillSettings {
            big_races: true,
            courses: Vec::new(),
            min_prize: None,
            today_before_off: false,
            max_requests: 500,
        }
    }
}

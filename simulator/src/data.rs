//! [`SimData`]: the simulator's ground truth, built from a seed. Days are generated lazily and
//! deterministically (a small cache keeps recent ones); the body functions return exactly what
//! the HTTP endpoints serve.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::Value;

use super::day::{build_day, Day};
use super::json::{obj, J};
use super::market_moves::{self, MarketMoves};
use super::names::REGIONS;
use super::odds::{self, CardAt};
use super::plan::{day_number, parse_race_id, plan_day};
use super::race::Race;
use super::render::{self, Opts};
use super::scenario::{self, PreRaceChanges, PreRaceFacts};
use super::world::World;
use std::borrow::Cow;

/// First date with racecards (the API's pro history starts here).
pub const RACECARDS_FROM: NaiveDate = match NaiveDate::from_ymd_opt(2023, 1, 23) {
    Some(d) => d,
    None => panic!("bad date"),
};
/// Racecards are published up to this many days ahead of today.
pub const RACECARDS_DAYS_AHEAD: i64 = 7;
/// First date with results in the simulator (the real API goes back further with an add-on).
pub const RESULTS_FROM: NaiveDate = match NaiveDate::from_ymd_opt(2015, 1, 1) {
    Some(d) => d,
    None => panic!("bad date"),
};

const CACHE_DAYS: usize = 48;

/// One runner of a simulated race (ids only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRunner {
    pub horse_id: String,
    pub horse: String,
    pub number: String,
    pub jockey_id: String,
    pub trainer_id: String,
    pub owner_id: String,
    pub non_runner: bool,
    /// Finishing position or code ("1", "PU", …); `None` for non-runners.
    pub position: Option<String>,
}

/// A simulated race, as ground truth for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRace {
    pub race_id: String,
    pub date: NaiveDate,
    /// "GB" or "IRE".
    pub region: String,
    pub course_id: String,
    pub course: String,
    pub race_name: String,
    /// 12-hour clock without am/pm, as the API.
    pub off_time: String,
    /// ISO 8601 with the UK/Irish offset.
    pub off_dt: String,
    /// "Flat", "Hurdle", "Chase", "NH Flat".
    pub race_type: String,
    pub is_abandoned: bool,
    /// Whether `/results` lists it (not abandoned and strictly before `today`).
    pub has_result: bool,
    /// Horses that ran, in racecard order.
    pub runner_horse_ids: Vec<String>,
    pub non_runner_horse_ids: Vec<String>,
    /// Every declared runner (non-runners included), in racecard order.
    pub runners: Vec<SimRunner>,
}

/// The moving market's casualties of one racecard day (see `market_moves`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketCasualties {
    /// `(race_id, horse_id)`: a non-runner from stage [`NON_RUNNER_STAGE`] on.
    pub non_runner: Option<(String, String)>,
    /// A race abandoned from stage [`ABANDONED_STAGE`] on.
    pub abandoned_race_id: Option<String>,
}

pub use market_moves::{ABANDONED_STAGE, NON_RUNNER_STAGE};

/// The simulator's world and its days.
pub struct SimData {
    seed: u64,
    today: NaiveDate,
    world: World,
    cache: Mutex<HashMap<i64, Arc<Day>>>,
    /// The pre-race-changes scenario, when switched on (see [`scenario`]).
    pre_race: Option<PreRaceChanges>,
    /// The moving market, when switched on (see `market_moves`).
    market: Option<MarketMoves>,
}

impl std::fmt::Debug for SimData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimData")
            .field("seed", &self.seed)
            .field("today", &self.today)
            .field("horses", &self.world.horses.len())
            .finish()
    }
}

fn region_matches(regions: &[String], race_region: &str) -> bool {
    regions.is_empty() || regions.iter().any(|r| r.eq_ignore_ascii_case(race_region))
}

fn course_matches(courses: &[String], course_id: &str) -> bool {
    courses.is_empty() || courses.iter().any(|c| c == course_id)
}

fn query_j(query: &[(String, String)]) -> J {
    J::Arr(
        query
            .iter()
            .map(|(k, v)| J::Arr(vec![J::from(k.as_str()), J::from(v.as_str())]))
            .collect(),
    )
}

impl SimData {
    /// Builds the populations for `seed`. `today` decides which days have results
    /// (strictly before it) and racecards (up to `today + 7`).
    pub fn new(seed: u64, today: NaiveDate) -> SimData {
        let last_crop = (today + Duration::days(RACECARDS_DAYS_AHEAD)).year() - 2;
        SimData {
            seed,
            today,
            world: World::build(seed, last_crop),
            cache: Mutex::new(HashMap::new()),
            pre_race: None,
            market: None,
        }
    }

    /// Switches the moving market on (every racecard day).
    pub fn with_market_moves(mut self, on: bool) -> SimData {
        self.market = on.then(MarketMoves::default);
        self
    }

    /// Switches the pre-race-changes scenario on (on the day before today).
    pub fn with_pre_race_changes(mut self, on: bool) -> SimData {
        self.pre_race = on.then(PreRaceChanges::default);
        self
    }

    /// The scenario's race on its day, if the scenario is on and the day has one.
    fn scenario_race(&self) -> Option<(Arc<Day>, usize)> {
        self.pre_race.as_ref()?;
        let day = self.day(self.today - Duration::days(1));
        let i = scenario::scenario_race_index(&day.races)?;
        Some((day, i))
    }

    /// What the pre-race-changes scenario changes (`None` when it is off).
    pub fn pre_race_facts(&self) -> Option<PreRaceFacts> {
        let (day, i) = self.scenario_race()?;
        Some(scenario::facts(&self.world, &day.races[i]))
    }

    /// Moves the scenario's racecards to their next stage; returns the new stage.
    pub fn advance_scenario(&self) -> Option<u32> {
        let market = self.market.as_ref().map(MarketMoves::advance);
        self.pre_race
            .as_ref()
            .map(PreRaceChanges::advance)
            .or(market)
    }

    fn is_scenario_race(&self, race: &Race) -> bool {
        self.pre_race.is_some()
            && race.date == self.today - Duration::days(1)
            && self
                .scenario_race()
                .is_some_and(|(day, i)| day.races[i].id == race.id)
    }

    /// The racecard version of `race` (the scenario's current stage, or the race itself).
    fn card_version<'r>(&self, race: &'r Race) -> Cow<'r, Race> {
        match &self.pre_race {
            Some(state) if self.is_scenario_race(race) => scenario::card(state, &self.world, race),
            _ => Cow::Borrowed(race),
        }
    }

    /// The result version of `race` (the scenario's final state, or the race itself).
    fn result_version<'r>(&self, race: &'r Race) -> Cow<'r, Race> {
        if self.is_scenario_race(race) {
            scenario::result(&self.world, race)
        } else {
            Cow::Borrowed(race)
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn today(&self) -> NaiveDate {
        self.today
    }

    /// First and last date with racecards.
    pub fn racecards_window(&self) -> (NaiveDate, NaiveDate) {
        (
            RACECARDS_FROM,
            self.today + Duration::days(RACECARDS_DAYS_AHEAD),
        )
    }

    /// First and last date with results (`today - 1` is the last).
    pub fn results_window(&self) -> (NaiveDate, NaiveDate) {
        (RESULTS_FROM, self.today - Duration::days(1))
    }

    fn has_racecards(&self, date: NaiveDate) -> bool {
        let (a, b) = self.racecards_window();
        date >= a && date <= b
    }

    fn has_results(&self, date: NaiveDate) -> bool {
        let (a, b) = self.results_window();
        date >= a && date <= b
    }

    /// Any date in the simulated range (results floor .. racecards horizon).
    fn in_range(&self, date: NaiveDate) -> bool {
        date >= RESULTS_FROM && date <= self.racecards_window().1
    }

    pub(crate) fn day(&self, date: NaiveDate) -> Arc<Day> {
        let key = day_number(date);
        if let Some(d) = self.cache.lock().expect("cache lock").get(&key) {
            return d.clone();
        }
        let built = Arc::new(build_day(&self.world, self.seed, date));
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= CACHE_DAYS {
            cache.clear();
        }
        cache.insert(key, built.clone());
        built
    }

    fn sim_race(&self, race: &Race) -> SimRace {
        let c = &self.world.courses[race.course as usize];
        let runners: Vec<SimRunner> = race
            .runners
            .iter()
            .map(|r| {
                let h = &self.world.horses[r.horse as usize];
                SimRunner {
                    horse_id: h.id(),
                    horse: h.name.clone(),
                    number: if r.nr {
                        "NR".to_string()
                    } else {
                        r.number.to_string()
                    },
                    jockey_id: format!("jky_{}", self.world.jockeys[r.jockey as usize].num),
                    trainer_id: format!("trn_{}", self.world.trainers[r.trainer as usize].num),
                    owner_id: format!("own_{}", self.world.owners[r.owner as usize].num),
                    non_runner: r.nr,
                    position: (!r.nr).then(|| r.position.clone()),
                }
            })
            .collect();
        SimRace {
            race_id: race.id.clone(),
            date: race.date,
            region: race.region.to_string(),
            course_id: c.id.clone(),
            course: c.name.to_string(),
            race_name: race.name.clone(),
            off_time: race.off_time.clone(),
            off_dt: race.off_dt.clone(),
            race_type: race.rtype.label().to_string(),
            is_abandoned: race.abandoned,
            has_result: !race.abandoned && self.has_results(race.date),
            runner_horse_ids: runners
                .iter()
                .filter(|r| !r.non_runner)
                .map(|r| r.horse_id.clone())
                .collect(),
            non_runner_horse_ids: runners
                .iter()
                .filter(|r| r.non_runner)
                .map(|r| r.horse_id.clone())
                .collect(),
            runners,
        }
    }

    /// All GB + IRE races of a day (abandoned ones included), sorted by `off_dt` then race id.
    /// Empty outside the simulated range (`RESULTS_FROM` .. today + 7).
    pub fn races_on(&self, date: NaiveDate) -> Vec<SimRace> {
        if !self.in_range(date) {
            return Vec::new();
        }
        self.day(date)
            .races
            .iter()
            .map(|r| self.sim_race(r))
            .collect()
    }

    /// One race by id (any date in the simulated range).
    pub fn race(&self, race_id: &str) -> Option<SimRace> {
        self.with_race(race_id, |r| self.sim_race(r))
    }

    fn with_race<T>(&self, race_id: &str, f: impl FnOnce(&Race) -> T) -> Option<T> {
        let (date, idx) = parse_race_id(race_id)?;
        if !self.in_range(date) {
            return None;
        }
        let day = self.day(date);
        let race = day.races.get(idx)?;
        (race.id == race_id).then(|| f(race))
    }

    /// Number of races of a day that get a result (not abandoned), from the cheap plan.
    pub fn race_count(&self, date: NaiveDate) -> usize {
        if !self.in_range(date) {
            return 0;
        }
        plan_day(&self.world, self.seed, date)
            .races
            .iter()
            .filter(|r| !r.abandoned)
            .count()
    }

    /// The first day in `from..=to` with at least `min_races` non-abandoned races.
    pub fn find_busy_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        min_races: usize,
    ) -> Option<NaiveDate> {
        let mut d = from;
        while d <= to {
            if self.race_count(d) >= min_races {
                return Some(d);
            }
            d += Duration::days(1);
        }
        None
    }

    /// Every horse id (racehorses, stallions and broodmares) with a `/horses/{id}/pro` profile.
    pub fn horse_ids(&self) -> impl Iterator<Item = String> + '_ {
        self.world.horses.iter().map(|h| h.id())
    }

    // ---- bodies (public: canonical query echo, no faults) ----

    /// `/racecards/pro?date=D&region_codes=..&limit=L&skip=S` (parameters echoed in that order).
    pub fn racecards_body(
        &self,
        date: NaiveDate,
        regions: &[String],
        limit: usize,
        skip: usize,
    ) -> Value {
        let mut q = vec![("date".to_string(), date.to_string())];
        q.extend(
            regions
                .iter()
                .map(|r| ("region_codes".to_string(), r.clone())),
        );
        q.push(("limit".to_string(), limit.to_string()));
        q.push(("skip".to_string(), skip.to_string()));
        self.racecards_page(date, regions, &[], limit, skip, &q, Opts::default())
            .to_value()
    }

    /// `/results?start_date=A&end_date=B&region=..&limit=L&skip=S` (echoed in that order).
    pub fn results_body(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        regions: &[String],
        limit: usize,
        skip: usize,
    ) -> Value {
        let mut q = vec![
            ("start_date".to_string(), start.to_string()),
            ("end_date".to_string(), end.to_string()),
        ];
        q.extend(regions.iter().map(|r| ("region".to_string(), r.clone())));
        q.push(("limit".to_string(), limit.to_string()));
        q.push(("skip".to_string(), skip.to_string()));
        self.results_page(
            Some(start),
            Some(end),
            regions,
            &[],
            limit,
            skip,
            &q,
            Opts::default(),
        )
        .to_value()
    }

    /// `/racecards/summaries?date=D&region_codes=..`.
    pub fn summaries_body(&self, date: NaiveDate, regions: &[String]) -> Value {
        let mut q = vec![("date".to_string(), date.to_string())];
        q.extend(
            regions
                .iter()
                .map(|r| ("region_codes".to_string(), r.clone())),
        );
        self.summaries_page(date, regions, &[], &q).to_value()
    }

    /// `/racecards/{race_id}/pro`.
    pub fn racecard_body(&self, race_id: &str) -> Option<Value> {
        self.racecard_j(race_id, Opts::default())
            .map(|j| j.to_value())
    }

    /// `/results/{race_id}`.
    pub fn result_body(&self, race_id: &str) -> Option<Value> {
        self.result_j(race_id, Opts::default())
            .map(|j| j.to_value())
    }

    /// `/horses/{horse_id}/pro`.
    pub fn horse_pro_body(&self, horse_id: &str) -> Option<Value> {
        self.horse_pro_j(horse_id, Opts::default())
            .map(|j| j.to_value())
    }

    /// `/odds/{race_id}/{horse_id}` at the market's current stage.
    pub fn odds_body(&self, race_id: &str, horse_id: &str) -> Option<Value> {
        self.odds_j(race_id, horse_id).map(|j| j.to_value())
    }

    /// The moving market's casualties on `date` (`None` when the market does not move or the
    /// day has no racecards).
    pub fn market_casualties(&self, date: NaiveDate) -> Option<MarketCasualties> {
        self.market.as_ref()?;
        if !self.has_racecards(date) {
            return None;
        }
        let day = self.day(date);
        let c = market_moves::casualties(&day.races);
        Some(MarketCasualties {
            non_runner: c.non_runner.map(|(i, k)| {
                let race = &day.races[i];
                let horse = race.runners[k].horse as usize;
                (race.id.clone(), self.world.horses[horse].id())
            }),
            abandoned_race_id: c.abandoned.map(|i| day.races[i].id.clone()),
        })
    }

    /// `/courses?region_codes=..` (all courses when `regions` is empty).
    pub fn courses_body(&self, regions: &[String]) -> Value {
        self.courses_j(regions).to_value()
    }

    /// `/courses/regions`.
    pub fn regions_body(&self) -> Value {
        regions_j().to_value()
    }

    // ---- bodies as ordered JSON (used by the server) ----

    fn racecards_sorted(
        &self,
        date: NaiveDate,
        regions: &[String],
        courses: &[String],
    ) -> (Arc<Day>, Vec<usize>) {
        let day = self.day(date);
        let mut idx: Vec<usize> = (0..day.races.len())
            .filter(|&i| {
                let r = &day.races[i];
                region_matches(regions, r.region)
                    && course_matches(courses, &self.world.courses[r.course as usize].id)
            })
            .collect();
        // Grouped by meeting: course name, then off time.
        idx.sort_by_key(|&i| {
            let r = &day.races[i];
            (self.world.courses[r.course as usize].name, r.off_min, r.num)
        });
        (day, idx)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn racecards_page(
        &self,
        date: NaiveDate,
        regions: &[String],
        courses: &[String],
        limit: usize,
        skip: usize,
        query: &[(String, String)],
        opts: Opts,
    ) -> J {
        let stage = self.market.as_ref().map(MarketMoves::stage);
        let market_opts = Opts {
            market_stage: stage,
            ..opts
        };
        let (cards, total) = if self.has_racecards(date) {
            let (day, idx) = self.racecards_sorted(date, regions, courses);
            let casualties = stage
                .map(|_| market_moves::casualties(&day.races))
                .unwrap_or_default();
            let cards = idx
                .iter()
                .skip(skip)
                .take(limit)
                .map(|&i| {
                    let race = self.card_version(&day.races[i]);
                    let (race, ew_runners) =
                        market_moves::card_at(race, i, casualties, stage.unwrap_or(0));
                    let opts = Opts {
                        ew_runners,
                        ..market_opts
                    };
                    render::racecard(&self.world, self.seed, &race, opts)
                })
                .collect();
            (cards, idx.len())
        } else {
            (Vec::new(), 0)
        };
        obj! {
            "racecards" => cards,
            "total" => total,
            "limit" => limit,
            "skip" => skip,
            "query" => query_j(query),
        }
    }

    pub(crate) fn summaries_page(
        &self,
        date: NaiveDate,
        regions: &[String],
        courses: &[String],
        query: &[(String, String)],
    ) -> J {
        let items = if self.has_racecards(date) {
            let (day, idx) = self.racecards_sorted(date, regions, courses);
            idx.iter()
                .map(|&i| render::summary(&self.world, &day.races[i]))
                .collect()
        } else {
            Vec::new()
        };
        obj! { "racecard_summaries" => items, "query" => query_j(query) }
    }

    /// Results newest first: days from `end` back to `start`, within a day latest off first.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn results_page(
        &self,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
        regions: &[String],
        courses: &[String],
        limit: usize,
        skip: usize,
        query: &[(String, String)],
        opts: Opts,
    ) -> J {
        let (floor, ceil) = self.results_window();
        let start = start.unwrap_or(floor).max(floor);
        let end = end.unwrap_or(ceil).min(ceil);
        let mut total = 0usize;
        let mut out = Vec::new();
        let mut d = end;
        while d >= start {
            let plan = plan_day(&self.world, self.seed, d);
            let count = plan
                .races
                .iter()
                .filter(|r| {
                    let c = &self.world.courses[r.course as usize];
                    !r.abandoned
                        && region_matches(regions, c.region)
                        && course_matches(courses, &c.id)
                })
                .count();
            let (lo, hi) = (total, total + count);
            if count > 0 && hi > skip && lo < skip + limit {
                let day = self.day(d);
                let mut races: Vec<&Race> = day
                    .races
                    .iter()
                    .filter(|r| {
                        let c = &self.world.courses[r.course as usize];
                        !r.abandoned
                            && region_matches(regions, r.region)
                            && course_matches(courses, &c.id)
                    })
                    .collect();
                races.sort_by_key(|r| std::cmp::Reverse((r.off_min, r.num)));
                for (k, r) in races.iter().enumerate() {
                    let pos = lo + k;
                    if pos >= skip && pos < skip + limit {
                        out.push(render::result(&self.world, &self.result_version(r), opts));
                    }
                }
            }
            total = hi;
            d -= Duration::days(1);
        }
        obj! {
            "results" => out,
            "total" => total,
            "limit" => limit,
            "skip" => skip,
            "query" => query_j(query),
        }
    }

    pub(crate) fn racecard_j(&self, race_id: &str, opts: Opts) -> Option<J> {
        let (date, _) = parse_race_id(race_id)?;
        if !self.has_racecards(date) {
            return None;
        }
        self.with_race(race_id, |r| {
            render::racecard(&self.world, self.seed, &self.card_version(r), opts)
        })
    }

    /// The odds endpoint's body: the runner's prices at the market's stage, with the history
    /// its racecards showed at every stage so far.
    pub(crate) fn odds_j(&self, race_id: &str, horse_id: &str) -> Option<J> {
        let (date, index) = parse_race_id(race_id)?;
        if !self.has_racecards(date) {
            return None;
        }
        let day = self.day(date);
        let generated = day.races.get(index).filter(|r| r.id == race_id)?;
        let base = self.card_version(generated);
        let stage = self.market.as_ref().map(MarketMoves::stage);
        let versions: Vec<(Cow<Race>, Option<usize>)> = match stage {
            Some(now) => {
                let casualties = market_moves::casualties(&day.races);
                (0..=now)
                    .map(|s| market_moves::card_at(base.clone(), index, casualties, s))
                    .collect()
            }
            None => vec![(base, None)],
        };
        let cards: Vec<CardAt> = versions
            .iter()
            .enumerate()
            .map(|(s, (race, ew_runners))| CardAt {
                race,
                ew: render::each_way(
                    race,
                    Opts {
                        ew_runners: *ew_runners,
                        ..Opts::default()
                    },
                ),
                stage: stage.map(|_| s as u32),
            })
            .collect();
        odds::runner_odds(&self.world, &cards, horse_id)
    }

    pub(crate) fn result_j(&self, race_id: &str, opts: Opts) -> Option<J> {
        let (date, _) = parse_race_id(race_id)?;
        if !self.has_results(date) {
            return None;
        }
        self.with_race(race_id, |r| {
            (!r.abandoned).then(|| render::result(&self.world, &self.result_version(r), opts))
        })
        .flatten()
    }

    pub(crate) fn horse_pro_j(&self, horse_id: &str, opts: Opts) -> Option<J> {
        let digits = horse_id.strip_prefix("hrs_")?;
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let idx = *self.world.by_num.get(&digits.parse::<u64>().ok()?)?;
        Some(render::horse_pro(&self.world, idx, self.today, opts))
    }

    pub(crate) fn courses_j(&self, regions: &[String]) -> J {
        let mut list: Vec<&super::world::Course> = self
            .world
            .courses
            .iter()
            .filter(|c| region_matches(regions, c.region))
            .collect();
        list.sort_by_key(|c| c.name);
        let total = list.len();
        obj! {
            "courses" => list.into_iter().map(render::course).collect::<Vec<_>>(),
            "total" => total,
        }
    }
}

pub(crate) fn regions_j() -> J {
    J::Arr(
        REGIONS
            .iter()
            .map(|(name, code)| obj! { "region" => *name, "region_code" => *code })
            .collect(),
    )
}

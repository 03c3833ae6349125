//! One race, built in named steps from the race's random stream: [`conditions`] (the meeting's
//! ground and the race's type, class, ages, distance, prize and name), [`field`] (declared
//! horses and their jockeys, ratings and headgear), [`weights`], then the field's numbers,
//! draws and non-runners, [`market`] (fair probabilities and starting prices), [`result`]
//! (finishing order, non-finishers, distances, times, prizes), the racecard's betting extras
//! and the Tote. The order of the steps in [`build_race`] is the order of the draws from the
//! race's stream: changing it changes every race after the change.

mod conditions;
mod field;
mod market;
mod result;
mod weights;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use super::format;
use super::plan::PlanRace;
use super::rng::{tag, Rng};
use super::world::World;

pub(crate) use conditions::RType;
pub(crate) use field::Used;

/// One declared runner with everything the racecard and the result need.
#[derive(Clone, Debug)]
pub(crate) struct Runner {
    pub horse: u32,
    pub number: u32,
    pub nr: bool,
    pub nr_reason: &'static str,
    pub draw: u32,
    pub lbs: u32,
    pub ofr: Option<u32>,
    pub rpr: Option<u32>,
    pub ts: Option<u32>,
    pub jockey: u16,
    pub trainer: u16,
    pub owner: u16,
    pub headgear: &'static str,
    pub headgear_first: bool,
    pub wind_run: u8,
    /// Ladder index of the starting price (also the centre of the bookmakers' prices).
    pub price: usize,
    pub fair_p: f64,
    /// Finishing position ("1".., or a code like "PU"); empty for non-runners.
    pub position: String,
    pub finished: bool,
    pub btn: String,
    pub ovr_btn: String,
    pub time: String,
    pub prize: String,
    pub res_rpr: Option<u32>,
    pub res_tsr: Option<u32>,
    pub seed: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Race {
    pub num: u64,
    pub id: String,
    pub date: NaiveDate,
    pub course: u16,
    pub region: &'static str,
    pub off_min: u32,
    pub off_dt: String,
    pub off_time: String,
    pub rtype: RType,
    pub surface: &'static str,
    pub class: u8,
    pub pattern: &'static str,
    pub handicap: bool,
    pub age_band: &'static str,
    pub rating_band: String,
    pub sex_rest: &'static str,
    pub name: String,
    pub dist_y: u32,
    pub going: &'static str,
    pub going_detailed: String,
    pub rail_movements: String,
    pub stalls: &'static str,
    pub weather: &'static str,
    pub jumps: String,
    pub big_race: bool,
    pub abandoned: bool,
    /// GB: winner's prize in pence; IRE: total fund in euros.
    pub prize: u64,
    pub runners: Vec<Runner>,
    pub odds_updated: String,
    pub bookies: Vec<&'static str>,
    pub exchange: bool,
    pub tip: String,
    pub verdict: String,
    pub betting_forecast: String,
    pub winning_time_detail: String,
    pub non_runners: String,
    pub tote: [String; 6],
    pub seed: u64,
}

impl Race {
    pub(crate) fn running(&self) -> impl Iterator<Item = &Runner> {
        self.runners.iter().filter(|r| !r.nr)
    }
}

/// Builds the planned race `p` of `date`, marking its horses in `used` (a horse runs once a
/// day).
pub(crate) fn build_race(
    world: &World,
    seed: u64,
    date: NaiveDate,
    p: &PlanRace,
    used: &mut Used,
) -> Race {
    let mut rng = Rng::from(&[seed, tag("race"), p.num]);
    let course = &world.courses[p.course as usize];
    let ire = course.region == "IRE";
    let month = date.month();

    let meeting = conditions::Meeting::draw(&mut Rng::new(p.meeting_seed), p.kind, month, ire);
    let cond = conditions::Conditions::draw(&mut rng, p, month, ire);
    let mut runners = field::declare(world, seed, date, p.num, &cond, &mut rng, used);
    weights::assign(world, &cond, &mut runners);
    let mut runners = field::number_and_draw(world, &cond, runners, &mut rng);
    field::mark_non_runners(&mut runners);
    market::price(world, &cond, &mut runners, &mut rng);
    let outcome = result::run(&cond, meeting.going, &mut runners, &mut rng);
    let betting = market::card_betting(world, date, p.off_min, &runners, &mut rng);

    let non_runners = runners
        .iter()
        .filter(|r| r.nr)
        .map(|r| format!("{} ({})", world.horses[r.horse as usize].name, r.nr_reason))
        .collect::<Vec<_>>()
        .join(", ");
    let tote = result::tote_dividends(
        &mut rng,
        &runners,
        &outcome.finishers,
        cond.handicap,
        if ire { "€" } else { "£" },
    );
    let off_local = NaiveDateTime::new(date, NaiveTime::MIN) + Duration::minutes(p.off_min as i64);
    let off_dt = course
        .tz
        .from_local_datetime(&off_local)
        .earliest()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_default();

    Race {
        num: p.num,
        id: format!("rac_{}", p.num),
        date,
        course: p.course,
        region: course.region,
        off_min: p.off_min,
        off_dt,
        off_time: format::off_time(p.off_min),
        rtype: cond.rtype,
        surface: cond.surface,
        class: cond.class,
        pattern: cond.pattern,
        handicap: cond.handicap,
        age_band: cond.age_band,
        rating_band: cond.rating_band,
        sex_rest: cond.sex_rest,
        name: cond.name,
        dist_y: cond.dist_y,
        going: meeting.going,
        going_detailed: meeting.going_detailed,
        rail_movements: meeting.rail_movements,
        stalls: meeting.stalls,
        weather: meeting.weather,
        jumps: cond.jumps,
        big_race: cond.big_race,
        abandoned: p.abandoned,
        prize: cond.prize,
        runners,
        odds_updated: betting.odds_updated,
        bookies: betting.bookies,
        exchange: betting.exchange,
        tip: betting.tip,
        verdict: betting.verdict,
        betting_forecast: betting.betting_forecast,
        winning_time_detail: format::winning_time_detail(outcome.win_cs, outcome.std_cs),
        non_runners,
        tote,
        seed: rng.next_u64(),
    }
}

/// What the step tests share: one world and the races of a few days spread over a year (Flat
/// and jumps, GB and IRE, summer and winter), each drawn step by step as [`build_race`] does.
#[cfg(test)]
mod testkit {
    use std::sync::OnceLock;

    use chrono::{Datelike, NaiveDate};

    use super::conditions::{Conditions, Meeting};
    use super::result::Outcome;
    use super::{field, market, result, weights, Runner};
    use crate::plan::{plan_day, PlanRace};
    use crate::rng::{tag, Rng};
    use crate::world::World;

    pub(super) const SEED: u64 = 7;

    pub(super) fn world() -> &'static World {
        static WORLD: OnceLock<World> = OnceLock::new();
        WORLD.get_or_init(|| World::build(SEED, 2023))
    }

    /// One race part-built: its conditions, its declared field and the race's stream where the
    /// steps so far left it.
    pub(super) struct Sample {
        pub date: NaiveDate,
        pub plan: PlanRace,
        pub meeting: Meeting,
        pub cond: Conditions,
        pub runners: Vec<Runner>,
        pub rng: Rng,
    }

    impl Sample {
        /// Weights, numbers, draws and non-runners.
        pub(super) fn weigh(&mut self) {
            let w = world();
            weights::assign(w, &self.cond, &mut self.runners);
            let runners = std::mem::take(&mut self.runners);
            self.runners = field::number_and_draw(w, &self.cond, runners, &mut self.rng);
            field::mark_non_runners(&mut self.runners);
        }

        /// Everything up to and including the market.
        pub(super) fn price(&mut self) {
            self.weigh();
            market::price(world(), &self.cond, &mut self.runners, &mut self.rng);
        }

        /// Everything up to and including the result.
        pub(super) fn run(&mut self) -> Outcome {
            self.price();
            result::run(
                &self.cond,
                self.meeting.going,
                &mut self.runners,
                &mut self.rng,
            )
        }

        pub(super) fn running(&self) -> impl Iterator<Item = &Runner> {
            self.runners.iter().filter(|r| !r.nr)
        }
    }

    pub(super) const DATES: [(i32, u32, u32); 5] = [
        (2024, 6, 15),
        (2024, 8, 7),
        (2024, 10, 5),
        (2024, 12, 26),
        (2024, 3, 12),
    ];

    /// Every race of [`DATES`] with its conditions drawn and its field declared (one `Used` per
    /// day, as [`crate::day::build_day`]).
    pub(super) fn samples() -> Vec<Sample> {
        let w = world();
        let mut out = Vec::new();
        for (y, m, d) in DATES {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("date");
            let mut used = field::Used::new(w.horses.len());
            for p in plan_day(w, SEED, date).races {
                let ire = w.courses[p.course as usize].region == "IRE";
                let meeting =
                    Meeting::draw(&mut Rng::new(p.meeting_seed), p.kind, date.month(), ire);
                let mut rng = Rng::from(&[SEED, tag("race"), p.num]);
                let cond = Conditions::draw(&mut rng, &p, date.month(), ire);
                let runners = field::declare(w, SEED, date, p.num, &cond, &mut rng, &mut used);
                out.push(Sample {
                    date,
                    plan: p,
                    meeting,
                    cond,
                    runners,
                    rng,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::{samples, world, SEED};
    use super::*;

    #[test]
    fn the_steps_in_order_build_the_same_race_as_build_race() {
        let w = world();
        let mut used = Used::new(w.horses.len());
        let mut day = None;
        for mut s in samples() {
            if day != Some(s.date) {
                used = Used::new(w.horses.len());
                day = Some(s.date);
            }
            let race = build_race(w, SEED, s.date, &s.plan, &mut used);
            s.run();
            assert_eq!(format!("{:?}", race.runners), format!("{:?}", s.runners));
            assert_eq!(race.going, s.meeting.going);
            assert_eq!(race.name, s.cond.name);
        }
    }

    #[test]
    fn the_samples_cover_both_codes_both_countries_handicaps_and_sex_restrictions() {
        let all = samples();
        let has = |f: &dyn Fn(&testkit::Sample) -> bool| all.iter().any(f);
        assert!(all.len() > 150, "{} races", all.len());
        assert!(has(&|s| s.cond.ire) && has(&|s| !s.cond.ire));
        for t in [RType::Flat, RType::Hurdle, RType::Chase, RType::NhFlat] {
            assert!(has(&|s| s.cond.rtype == t), "no {t:?} race");
        }
        assert!(has(&|s| s.cond.handicap) && has(&|s| !s.cond.handicap));
        assert!(has(&|s| !s.cond.sex_rest.is_empty()));
    }
}

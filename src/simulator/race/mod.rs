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

use super::day::PlanRace;
use super::format;
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

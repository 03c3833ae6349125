//! The full day: each race of the day's meeting plan ([`super::plan`]) built by
//! [`super::race`], drawing horses from one pool per day.

use chrono::NaiveDate;

use super::plan::plan_day;
use super::race::{build_race, Race, Used};
use super::world::World;

pub(crate) struct Day {
    pub races: Vec<Race>,
}

pub(crate) fn build_day(world: &World, seed: u64, date: NaiveDate) -> Day {
    let plan = plan_day(world, seed, date);
    let mut used = Used::new(world.horses.len());
    let races = plan
        .races
        .iter()
        .map(|p| build_race(world, seed, date, p, &mut used))
        .collect();
    Day { races }
}

//! Step 3 of a race: the weight each runner carries, in pounds (rendered `"9-4"` / `"130"` by
//! `format::weight` and the racecard). In a handicap the top-rated horse carries the top
//! weight and every other horse a pound less per rating point, down to a floor; otherwise the
//! race's base weight, a per-horse variation and the fillies'/mares' allowance.

use super::conditions::{Conditions, RType};
use super::Runner;
use crate::simulator::rng::Rng;
use crate::simulator::world::{Gender, World};

/// Handicap weights on the Flat: top and floor.
pub(super) const FLAT_HANDICAP: (u32, u32) = (140, 112);
/// Handicap weights over jumps: top and floor.
pub(super) const JUMPS_HANDICAP: (u32, u32) = (166, 140);

/// A conditions race's base weight (before the variation of −3..+6 lb and the allowance).
pub(super) fn base_weight(c: &Conditions) -> i64 {
    match c.rtype {
        RType::Flat if c.age_min == 2 => 128,
        RType::Flat => 131,
        RType::NhFlat => 157,
        _ => 158,
    }
}

/// The allowance a filly or mare receives in a race open to both sexes.
pub(super) fn sex_allowance(c: &Conditions) -> i64 {
    if c.flat() {
        3
    } else {
        7
    }
}

/// Sets `lbs` on every runner (each runner's variation from its own stream).
pub(super) fn assign(world: &World, c: &Conditions, runners: &mut [Runner]) {
    let flat = c.flat();
    let max_or = runners.iter().filter_map(|r| r.ofr).max().unwrap_or(0);
    for r in runners.iter_mut() {
        let horse = &world.horses[r.horse as usize];
        let mut wr = Rng::new(r.seed ^ 0x5157);
        let fem = horse.gender == Gender::Female;
        r.lbs = if c.handicap {
            let (top, floor) = if flat { FLAT_HANDICAP } else { JUMPS_HANDICAP };
            top.saturating_sub(max_or - r.ofr.unwrap_or(max_or))
                .max(floor)
        } else {
            let allowance = if fem && c.sex_rest.is_empty() {
                sex_allowance(c)
            } else {
                0
            };
            (base_weight(c) + wr.range(-3, 6) - allowance) as u32
        };
    }
}

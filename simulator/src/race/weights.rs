//! Step 3 of a race: the weight each runner carries, in pounds (rendered `"9-4"` / `"130"` by
//! `format::weight` and the racecard). In a handicap the top-rated horse carries the top
//! weight and every other horse a pound less per rating point, down to a floor; otherwise the
//! race's base weight, a per-horse variation and the fillies'/mares' allowance.

use super::conditions::{Conditions, RType};
use super::Runner;
use crate::rng::Rng;
use crate::world::{Gender, World};

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

#[cfg(test)]
mod tests {
    use super::super::super::format;
    use super::super::testkit::{samples, world};
    use super::*;

    #[test]
    fn handicap_weights_follow_the_ratings_between_the_floor_and_the_top() {
        let mut handicaps = 0;
        for mut s in samples().into_iter().filter(|s| s.cond.handicap) {
            s.weigh();
            handicaps += 1;
            let (top, floor) = if s.cond.flat() {
                FLAT_HANDICAP
            } else {
                JUMPS_HANDICAP
            };
            let best = s.runners.iter().filter_map(|r| r.ofr).max();
            for r in &s.runners {
                assert!((floor..=top).contains(&r.lbs), "{} lb", r.lbs);
                if r.ofr == best {
                    assert_eq!(r.lbs, top, "the top-rated horse carries top weight");
                }
            }
            for a in &s.runners {
                for b in &s.runners {
                    let (Some(oa), Some(ob)) = (a.ofr, b.ofr) else {
                        continue;
                    };
                    if a.lbs > floor && b.lbs > floor {
                        assert_eq!(a.lbs as i64 - b.lbs as i64, oa as i64 - ob as i64);
                    } else if oa > ob {
                        assert!(a.lbs >= b.lbs);
                    }
                }
            }
        }
        assert!(handicaps > 50, "{handicaps} handicaps");
    }

    #[test]
    fn other_races_carry_the_base_weight_varied_and_less_the_allowance() {
        let w = world();
        for mut s in samples().into_iter().filter(|s| !s.cond.handicap) {
            s.weigh();
            let base = base_weight(&s.cond);
            for r in &s.runners {
                let female = w.horses[r.horse as usize].gender == Gender::Female;
                let allowance = if female && s.cond.sex_rest.is_empty() {
                    sex_allowance(&s.cond)
                } else {
                    0
                };
                let lbs = r.lbs as i64;
                assert!(
                    (base - 3 - allowance..=base + 6 - allowance).contains(&lbs),
                    "{lbs} lb, base {base}, allowance {allowance}"
                );
            }
        }
    }

    #[test]
    fn weights_read_as_stones_and_pounds_like_the_api() {
        for mut s in samples() {
            s.weigh();
            for r in &s.runners {
                let text = format::weight(r.lbs);
                let (st, lb) = text.split_once('-').expect("st-lb");
                let (st, lb): (u32, u32) = (st.parse().unwrap(), lb.parse().unwrap());
                assert!(lb < 14 && (7..=12).contains(&st), "{text}");
                assert_eq!(st * 14 + lb, r.lbs, "{text}");
            }
        }
    }
}

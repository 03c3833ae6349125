//! Step 2 of a race: the field. Which horses are declared (each horse at most once a day, of the
//! race's discipline, age band and sex), their jockeys (distinct within a race where the pool
//! allows), ratings, headgear, and the trainer and owner every horse keeps; after the weights,
//! the racecard numbers (weight order in handicaps, else alphabetical) and stall draws (Flat
//! only); and the non-runners (about 5%, always leaving at least two to run).

use chrono::{Datelike, NaiveDate};

use super::conditions::{Conditions, RType};
use super::Runner;
use crate::names::NR_REASONS;
use crate::rng::{tag, Rng};
use crate::world::{Disc, Gender, World};

const HEADGEAR: &[&str] = &["t", "p", "h", "b", "v", "cp", "tp", "hp", "tv", "bt"];

/// The horses already declared on a day (a bit set over the world's horses).
pub(crate) struct Used(Vec<u64>);

impl Used {
    pub(crate) fn new(horses: usize) -> Used {
        Used(vec![0; horses / 64 + 1])
    }
    fn get(&self, i: u32) -> bool {
        self.0[i as usize / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, i: u32) {
        self.0[i as usize / 64] |= 1 << (i % 64);
    }
}

/// The bounds the declared field size is drawn between (the mean of two draws, plus one in ten
/// races, never more than 20).
pub(super) fn size_bounds(c: &Conditions) -> (i64, i64) {
    match c.rtype {
        RType::Flat if c.age_min == 2 => (5, 12),
        RType::Flat if c.handicap && c.class <= 2 => (10, 20),
        RType::Flat if c.handicap => (6, 16),
        RType::Flat => (5, 14),
        RType::Chase => (5, 12),
        RType::NhFlat => (6, 16),
        RType::Hurdle => (5, 15),
    }
}

/// Declares the field: the horses (from the race's stream, marked in `used`) and each runner's
/// attributes (from the runner's own stream). Numbers, draws, weights, prices and the result are
/// filled by the later steps.
pub(super) fn declare(
    world: &World,
    seed: u64,
    date: NaiveDate,
    race_num: u64,
    c: &Conditions,
    rng: &mut Rng,
    used: &mut Used,
) -> Vec<Runner> {
    let flat = c.flat();
    let disc = if flat { Disc::Flat } else { Disc::Jumps };
    let base: u8 = u8::from(c.ire);
    let declared = {
        let (lo, hi) = size_bounds(c);
        ((rng.range(lo, hi) + rng.range(lo, hi)) / 2 + i64::from(rng.chance(0.1))).min(20) as usize
    };
    let female_only = !c.sex_rest.is_empty();
    let mut horses: Vec<u32> = Vec::with_capacity(declared);
    for _ in 0..declared {
        let b = if rng.chance(0.06) { 1 - base } else { base };
        let wanted = Wanted {
            date,
            disc,
            base: b,
            age_min: c.age_min,
            age_max: c.age_max,
            female_only,
        };
        if let Some(h) = pick_horse(world, rng, used, &wanted) {
            used.set(h);
            horses.push(h);
        }
    }

    let jockey_pool = &world.jockey_pools[usize::from(c.ire) * 2 + disc as usize];
    let mut jockeys_taken: Vec<u16> = Vec::new();
    horses
        .iter()
        .map(|&h| {
            let horse = &world.horses[h as usize];
            let mut r = Rng::from(&[seed, tag("runner"), race_num, horse.num]);
            let mut jockey = *r.pick(jockey_pool);
            for _ in 0..20 {
                if !jockeys_taken.contains(&jockey) {
                    break;
                }
                jockey = *r.pick(jockey_pool);
            }
            jockeys_taken.push(jockey);
            let spread = if flat { 25 } else { 30 };
            let rating = c
                .rating_top
                .saturating_sub(r.range(0, spread) as u32)
                .max(20);
            let rated = c.handicap || !c.pattern.is_empty() || r.chance(0.45);
            let ofr = rated.then_some(if c.pattern.is_empty() {
                rating
            } else if flat {
                95 + r.range(0, 30) as u32
            } else {
                130 + r.range(0, 40) as u32
            });
            let rpr = if r.chance(0.8) {
                Some((ofr.unwrap_or(rating) as i64 + r.range(-12, 10)).max(10) as u32)
            } else {
                None
            };
            let ts = if r.chance(0.65) {
                Some((rpr.unwrap_or(rating) as i64 - r.range(0, 40)).max(1) as u32)
            } else {
                None
            };
            let headgear = if r.chance(0.35) {
                *r.pick(HEADGEAR)
            } else {
                ""
            };
            let headgear_first = !headgear.is_empty() && r.chance(0.1);
            let wind_run = if r.chance(0.04) {
                r.range(1, 2) as u8
            } else {
                0
            };
            Runner {
                horse: h,
                number: 0,
                nr: false,
                nr_reason: "",
                draw: 0,
                lbs: 0,
                ofr,
                rpr,
                ts,
                jockey,
                trainer: horse.trainer,
                owner: horse.owner,
                headgear,
                headgear_first,
                wind_run,
                price: 0,
                fair_p: 0.0,
                position: String::new(),
                finished: false,
                btn: String::new(),
                ovr_btn: String::new(),
                time: String::new(),
                prize: String::new(),
                res_rpr: None,
                res_tsr: None,
                seed: r.next_u64(),
            }
        })
        .collect()
}

/// What a race asks of a horse.
struct Wanted {
    date: NaiveDate,
    disc: Disc,
    /// The pool: 0 GB-trained, 1 Irish-trained.
    base: u8,
    age_min: i32,
    age_max: i32,
    female_only: bool,
}

/// A horse not yet declared today that fits the race: random draws first (younger horses more
/// often on the Flat), then the first that fits, searching the other pool last.
fn pick_horse(world: &World, rng: &mut Rng, used: &Used, w: &Wanted) -> Option<u32> {
    let y_hi = w.date.year() - w.age_min;
    let y_lo = w.date.year() - w.age_max;
    let ok = |h: u32| {
        !used.get(h) && (!w.female_only || world.horses[h as usize].gender == Gender::Female)
    };
    for _ in 0..60 {
        // Younger horses run more often on the Flat.
        let span = (y_hi - y_lo + 1) as usize;
        let off = if w.disc == Disc::Flat {
            rng.skewed(span, 1.6)
        } else {
            rng.skewed(span, 1.2)
        };
        let pool = world.pool(y_hi - off as i32, w.disc, w.base);
        if pool.is_empty() {
            continue;
        }
        let h = pool[rng.below(pool.len())];
        if ok(h) {
            return Some(h);
        }
    }
    for b in [w.base, 1 - w.base] {
        for y in (y_lo..=y_hi).rev() {
            if let Some(&h) = world.pool(y, w.disc, b).iter().find(|&&h| ok(h)) {
                return Some(h);
            }
        }
    }
    None
}

/// Numbers the runners (weight order, then name, in handicaps; else by name) and draws stalls
/// on the Flat (a shuffle from the race's stream; 0 over jumps). Returns them in number order.
pub(super) fn number_and_draw(
    world: &World,
    c: &Conditions,
    runners: Vec<Runner>,
    rng: &mut Rng,
) -> Vec<Runner> {
    let mut order: Vec<usize> = (0..runners.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&runners[a], &runners[b]);
        let na = &world.horses[ra.horse as usize].name;
        let nb = &world.horses[rb.horse as usize].name;
        if c.handicap {
            rb.lbs.cmp(&ra.lbs).then_with(|| na.cmp(nb))
        } else {
            na.cmp(nb)
        }
    });
    let mut sorted: Vec<Runner> = order.iter().map(|&i| runners[i].clone()).collect();
    let mut draws: Vec<u32> = (1..=sorted.len() as u32).collect();
    rng.shuffle(&mut draws);
    let flat = c.flat();
    for (i, r) in sorted.iter_mut().enumerate() {
        r.number = i as u32 + 1;
        r.draw = if flat { draws[i] } else { 0 };
    }
    sorted
}

/// Marks non-runners (about 5%, each decided by the runner's own stream), always leaving at
/// least two runners.
pub(super) fn mark_non_runners(runners: &mut [Runner]) {
    let n = runners.len();
    let mut nr_count = 0;
    for r in runners.iter_mut() {
        let mut nrng = Rng::new(r.seed ^ 0x4e52);
        if n - nr_count > 2 && nrng.chance(0.05) {
            r.nr = true;
            r.nr_reason = *nrng.pick(NR_REASONS);
            nr_count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::testkit::{samples, world};
    use super::*;

    #[test]
    fn a_day_declares_each_horse_once_and_every_field_fits_its_race() {
        let w = world();
        let mut seen: HashSet<(NaiveDate, u32)> = HashSet::new();
        for s in samples() {
            let c = &s.cond;
            let (lo, hi) = size_bounds(c);
            let n = s.runners.len() as i64;
            assert!(
                n >= lo && n <= (hi + 1).min(20),
                "{}: {n} runners, bounds {lo}..={hi} for {:?}",
                s.plan.num,
                c.rtype
            );
            let disc = if c.flat() { Disc::Flat } else { Disc::Jumps };
            for r in &s.runners {
                assert!(
                    seen.insert((s.date, r.horse)),
                    "horse {} twice on {}",
                    r.horse,
                    s.date
                );
                let h = &w.horses[r.horse as usize];
                let age = h.age_on(s.date);
                assert!(
                    (c.age_min..=c.age_max).contains(&age),
                    "age {age} in {}",
                    c.age_band
                );
                if !c.sex_rest.is_empty() {
                    assert_eq!(h.gender, Gender::Female, "{} is restricted", c.sex_rest);
                }
                let in_pool = |base| w.pool(h.dob.year(), disc, base).contains(&r.horse);
                assert!(in_pool(0) || in_pool(1), "horse of another discipline");
                assert_eq!((r.trainer, r.owner), (h.trainer, h.owner));
            }
            let jockeys: HashSet<u16> = s.runners.iter().map(|r| r.jockey).collect();
            assert_eq!(
                jockeys.len(),
                s.runners.len(),
                "a jockey rides twice in a race"
            );
        }
    }

    #[test]
    fn numbers_run_from_1_and_flat_draws_are_a_permutation_of_the_stalls() {
        for mut s in samples() {
            s.weigh();
            let n = s.runners.len() as u32;
            let numbers: Vec<u32> = s.runners.iter().map(|r| r.number).collect();
            assert_eq!(numbers, (1..=n).collect::<Vec<_>>());
            let mut draws: Vec<u32> = s.runners.iter().map(|r| r.draw).collect();
            draws.sort_unstable();
            if s.cond.flat() {
                assert_eq!(draws, (1..=n).collect::<Vec<_>>());
            } else {
                assert!(draws.iter().all(|&d| d == 0), "a draw over jumps");
            }
            if s.cond.handicap {
                assert!(
                    s.runners.windows(2).all(|p| p[0].lbs >= p[1].lbs),
                    "handicap not numbered in weight order"
                );
            } else {
                let names: Vec<&str> = s
                    .runners
                    .iter()
                    .map(|r| world().horses[r.horse as usize].name.as_str())
                    .collect();
                assert!(names.windows(2).all(|p| p[0] <= p[1]), "not alphabetical");
            }
        }
    }

    #[test]
    fn non_runners_are_about_one_in_twenty_with_a_reason_and_two_always_run() {
        let (mut declared, mut out) = (0usize, 0usize);
        for mut s in samples() {
            s.weigh();
            let n = s.runners.len();
            let running = s.running().count();
            assert!(running >= n.min(2), "{running} of {n} left to run");
            for r in &s.runners {
                assert_eq!(r.nr, !r.nr_reason.is_empty());
            }
            declared += n;
            out += n - running;
        }
        let share = out as f64 / declared as f64;
        assert!((0.02..0.09).contains(&share), "non-runner share {share}");
    }
}

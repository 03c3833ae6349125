//! The stable populations: courses, horses (racehorses, stallions, broodmares), jockeys,
//! trainers and owners. Built once per [`super::SimData`] from the seed; a horse's attributes never
//! change across days.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;

use super::names::*;
use super::rng::{mix, tag, Rng};

pub(crate) const NONE: u32 = u32::MAX;

/// Oldest racehorse crop (12 years old in 2015, the results floor).
pub(crate) const FIRST_CROP: i32 = 2003;
pub(crate) const CROP_SIZE: usize = 800;
const N_STALLIONS: usize = 300;
const N_MARES: usize = 4000;
const N_GB_JOCKEYS: usize = 180;
const N_IRE_JOCKEYS: usize = 80;
const N_GB_TRAINERS: usize = 140;
const N_IRE_TRAINERS: usize = 60;
const N_OWNERS: usize = 1500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gender {
    Female,
    Entire,
    Gelding,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disc {
    Flat = 0,
    Jumps = 1,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Racer,
    Stallion,
    Mare,
}

pub(crate) struct Horse {
    pub num: u64,
    pub name: String,
    /// Country of breeding ("GB", "IRE", "FR", …), the `region` / name suffix.
    pub country: &'static str,
    pub dob: NaiveDate,
    pub gender: Gender,
    pub colour: &'static str,
    pub breeder: String,
    pub sire: u32,
    pub dam: u32,
    pub role: Role,
    pub trainer: u16,
    pub owner: u16,
    pub ability: u8,
    pub seed: u64,
}

impl Horse {
    pub fn id(&self) -> String {
        format!("hrs_{}", self.num)
    }

    pub fn suffixed(&self) -> String {
        format!("{} ({})", self.name, self.country)
    }

    /// Racing age on a date (horses age on 1 January).
    pub fn age_on(&self, date: NaiveDate) -> i32 {
        date.year() - self.dob.year()
    }

    /// (word, code) for the sex on a date.
    pub fn sex_on(&self, date: NaiveDate) -> (&'static str, &'static str) {
        let young = self.age_on(date) < 5;
        match (self.gender, young) {
            (Gender::Female, true) => ("filly", "F"),
            (Gender::Female, false) => ("mare", "M"),
            (Gender::Entire, true) => ("colt", "C"),
            (Gender::Entire, false) => ("horse", "H"),
            (Gender::Gelding, _) => ("gelding", "G"),
        }
    }
}

pub(crate) struct Jockey {
    pub num: u64,
    pub name: String,
    pub claim: u8,
}

pub(crate) struct Trainer {
    pub num: u64,
    pub name: String,
    pub location: String,
}

pub(crate) struct Owner {
    pub num: u64,
    pub name: String,
    pub silk: u64,
}

pub(crate) struct Course {
    pub id: String,
    pub name: &'static str,
    pub region: &'static str,
    pub kinds: &'static str,
    pub tz: Tz,
}

pub(crate) struct World {
    pub horses: Vec<Horse>,
    pub by_num: HashMap<u64, u32>,
    /// Racehorse pools: `pools[(crop - FIRST_CROP) * 4 + disc * 2 + base]`.
    pub pools: Vec<Vec<u32>>,
    pub last_crop: i32,
    pub jockeys: Vec<Jockey>,
    /// `jockey_pools[region * 2 + disc]` (region 0 GB, 1 IRE).
    pub jockey_pools: [Vec<u16>; 4],
    pub trainers: Vec<Trainer>,
    pub owners: Vec<Owner>,
    pub courses: Vec<Course>,
}

const COLOURS: &[(&str, u32)] = &[
    ("b", 45),
    ("ch", 20),
    ("br", 10),
    ("gr", 10),
    ("b/br", 8),
    ("bl", 4),
    ("gr/ro", 3),
];

fn pick_colour(rng: &mut Rng) -> &'static str {
    let w: Vec<u32> = COLOURS.iter().map(|c| c.1).collect();
    COLOURS[rng.weighted(&w)].0
}

fn pick_country(rng: &mut Rng, table: &[(&'static str, u32)]) -> &'static str {
    let w: Vec<u32> = table.iter().map(|c| c.1).collect();
    table[rng.weighted(&w)].0
}

const GB_BRED: &[(&str, u32)] = &[
    ("GB", 52),
    ("IRE", 30),
    ("FR", 10),
    ("USA", 4),
    ("GER", 2),
    ("ITY", 1),
    ("AUS", 1),
];
const IRE_BRED: &[(&str, u32)] = &[("IRE", 78), ("GB", 10), ("FR", 10), ("USA", 2)];
const SIRE_BRED: &[(&str, u32)] = &[
    ("IRE", 35),
    ("GB", 25),
    ("USA", 15),
    ("FR", 12),
    ("GER", 5),
    ("AUS", 4),
    ("JPN", 2),
    ("CAN", 2),
];

fn initial(rng: &mut Rng) -> char {
    (b'A' + rng.below(26) as u8) as char
}

pub(crate) fn person_name(rng: &mut Rng, female_share: f64) -> String {
    let first = if rng.chance(female_share) {
        *rng.pick(FEMALE_FIRST)
    } else {
        *rng.pick(MALE_FIRST)
    };
    format!("{} {}", first, rng.pick(SURNAMES))
}

fn breeder_name(rng: &mut Rng) -> String {
    match rng.below(7) {
        0 => format!("{} Stud", rng.pick(SURNAMES)),
        1 => format!("Mr & Mrs {} {}", initial(rng), rng.pick(SURNAMES)),
        2 => format!("{} Bloodstock Ltd", rng.pick(SURNAMES)),
        3 => format!("{} {} Stud", rng.pick(HORSE_A), rng.pick(HORSE_B)),
        4 => format!("{} {} {}", initial(rng), initial(rng), rng.pick(SURNAMES)),
        5 => format!("{} Farms", rng.pick(SURNAMES)),
        _ => person_name(rng, 0.3),
    }
}

fn owner_name(rng: &mut Rng) -> String {
    match rng.below(9) {
        0 => format!("Mr {} {}", initial(rng), rng.pick(SURNAMES)),
        1 => format!("Mrs {} {}", initial(rng), rng.pick(SURNAMES)),
        2 => format!(
            "Ms {} {} {}",
            initial(rng),
            initial(rng),
            rng.pick(SURNAMES)
        ),
        3 => format!(
            "The {} {} Partnership",
            rng.pick(HORSE_A),
            rng.pick(HORSE_B)
        ),
        4 => format!("{} Racing Club", rng.pick(SURNAMES)),
        5 => format!("{} {} Syndicate", rng.pick(HORSE_A), rng.pick(HORSE_B)),
        6 => format!("{} & {}", rng.pick(SURNAMES), rng.pick(SURNAMES)),
        7 => format!("{} Bloodstock Limited", rng.pick(SURNAMES)),
        _ => person_name(rng, 0.3),
    }
}

fn trainer_name(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => format!("{} {} {}", initial(rng), initial(rng), rng.pick(SURNAMES)),
        1 => {
            let s = *rng.pick(SURNAMES);
            format!(
                "{} & {} {}",
                rng.pick(MALE_FIRST),
                rng.pick(FEMALE_FIRST),
                s
            )
        }
        _ => person_name(rng, 0.25),
    }
}

fn village(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(VILLAGE_PRE), rng.pick(VILLAGE_SUF))
}

/// An unused horse name. Deterministic given the generation order.
fn horse_name(rng: &mut Rng, used: &mut HashSet<String>, stallion: bool) -> String {
    for attempt in 0..40 {
        let name = if stallion && rng.chance(0.6) {
            rng.pick(HORSE_SINGLE).to_string()
        } else {
            match rng.weighted(&[60, 12, 8, 8, 6, 6]) {
                0 => format!("{} {}", rng.pick(HORSE_A), rng.pick(HORSE_B)),
                1 => {
                    let first = if rng.chance(0.5) {
                        *rng.pick(FEMALE_FIRST)
                    } else {
                        *rng.pick(MALE_FIRST)
                    };
                    format!("{}'s {}", first, rng.pick(HORSE_B))
                }
                2 => format!("The {} {}", rng.pick(HORSE_A), rng.pick(HORSE_B)),
                3 => format!("{} Of The {}", rng.pick(HORSE_B), rng.pick(HORSE_B)),
                4 => format!("{}{}", rng.pick(HORSE_B), rng.pick(HORSE_B).to_lowercase()),
                _ => format!("{} {}", rng.pick(HORSE_SINGLE), rng.pick(HORSE_B)),
            }
        };
        let name = if attempt >= 30 {
            format!("{} {}", name, ["II", "III", "IV", "V"][attempt % 4])
        } else {
            name
        };
        if used.insert(name.clone()) {
            return name;
        }
    }
    // Practically unreachable; still unique because of the counter.
    let name = format!("{} {}", rng.pick(HORSE_A), used.len());
    used.insert(name.clone());
    name
}

fn dob_in(rng: &mut Rng, year: i32) -> NaiveDate {
    let day = rng.range(20, 150) as u32; // late January .. end of May
    NaiveDate::from_yo_opt(year, day).expect("valid ordinal")
}

/// Index range of a sorted `years` vector whose values lie in `lo..=hi`.
fn year_range(years: &[i32], lo: i32, hi: i32) -> std::ops::Range<usize> {
    let a = years.partition_point(|&y| y < lo);
    let b = years.partition_point(|&y| y <= hi);
    a..b.max(a)
}

/// The birth years of the stallions and mares, for picking a foal's parents by age.
struct Ancestry {
    stallion_years: Vec<i32>,
    mare_years: Vec<i32>,
    /// Index of the first mare in the horse list (the stallions come first).
    first_mare: usize,
}

impl Ancestry {
    /// A sire 4 to 24 years older than the foal (`NONE` when no stallion is that old).
    fn pick_sire(&self, rng: &mut Rng, foal_year: i32) -> u32 {
        let r = year_range(&self.stallion_years, foal_year - 24, foal_year - 4);
        if r.is_empty() {
            NONE
        } else {
            (r.start + rng.skewed(r.len(), 1.0)) as u32
        }
    }

    /// A dam 4 to 19 years older than the foal (`NONE` when no mare is that old).
    fn pick_dam(&self, rng: &mut Rng, foal_year: i32) -> u32 {
        let r = year_range(&self.mare_years, foal_year - 19, foal_year - 4);
        if r.is_empty() {
            NONE
        } else {
            (self.first_mare + r.start + rng.below(r.len())) as u32
        }
    }
}

/// The courses (fixed across seeds).
fn build_courses() -> Vec<Course> {
    COURSES
        .iter()
        .enumerate()
        .map(|(i, c)| Course {
            id: format!("crs_{}", 1040 + i * 277 + (i * i * 7) % 211),
            name: c.name,
            region: c.region,
            kinds: c.kinds,
            tz: if c.region == "IRE" {
                chrono_tz::Europe::Dublin
            } else {
                chrono_tz::Europe::London
            },
        })
        .collect()
}

/// Appends the stallions (oldest first), then the mares, to `horses`.
fn push_stallions_and_mares(
    seed: u64,
    names: &mut HashSet<String>,
    horses: &mut Vec<Horse>,
) -> Ancestry {
    let mut stallion_years = Vec::with_capacity(N_STALLIONS);
    for i in 0..N_STALLIONS {
        let mut rng = Rng::from(&[seed, tag("stallion"), i as u64]);
        let year = 1978 + (i * 43 / N_STALLIONS) as i32;
        stallion_years.push(year);
        horses.push(Horse {
            num: 3_000_000 + i as u64 * 97 + rng.below(97) as u64,
            name: horse_name(&mut rng, names, true),
            country: pick_country(&mut rng, SIRE_BRED),
            dob: dob_in(&mut rng, year),
            gender: Gender::Entire,
            colour: pick_colour(&mut rng),
            breeder: breeder_name(&mut rng),
            sire: NONE,
            dam: NONE,
            role: Role::Stallion,
            trainer: 0,
            owner: 0,
            ability: 0,
            seed: rng.next_u64(),
        });
    }
    let first_mare = horses.len();
    let mut mare_years = Vec::with_capacity(N_MARES);
    for j in 0..N_MARES {
        let mut rng = Rng::from(&[seed, tag("mare"), j as u64]);
        let year = 1985 + (j * 37 / N_MARES) as i32;
        mare_years.push(year);
        horses.push(Horse {
            num: 5_000_000 + j as u64 * 53 + rng.below(53) as u64,
            name: horse_name(&mut rng, names, false),
            country: pick_country(&mut rng, SIRE_BRED),
            dob: dob_in(&mut rng, year),
            gender: Gender::Female,
            colour: pick_colour(&mut rng),
            breeder: breeder_name(&mut rng),
            sire: NONE,
            dam: NONE,
            role: Role::Mare,
            trainer: 0,
            owner: 0,
            ability: 0,
            seed: rng.next_u64(),
        });
    }
    Ancestry {
        stallion_years,
        mare_years,
        first_mare,
    }
}

/// Pedigrees of the ancestors (older stallions and mares only; the oldest are "foundation"
/// horses with unknown parents).
fn assign_ancestors_parents(seed: u64, horses: &mut [Horse], ancestry: &Ancestry) {
    for (i, h) in horses.iter_mut().enumerate() {
        let mut rng = Rng::from(&[seed, tag("ancestry"), i as u64]);
        let year = h.dob.year();
        let sire = if h.role == Role::Mare && rng.chance(0.01) {
            NONE
        } else {
            ancestry.pick_sire(&mut rng, year)
        };
        h.sire = sire;
        h.dam = ancestry.pick_dam(&mut rng, year);
    }
}

fn build_trainers(seed: u64) -> Vec<Trainer> {
    let mut trainers = Vec::new();
    for i in 0..N_GB_TRAINERS + N_IRE_TRAINERS {
        let mut rng = Rng::from(&[seed, tag("trainer"), i as u64]);
        let ire = i >= N_GB_TRAINERS;
        let county = if ire {
            *rng.pick(IRE_COUNTIES)
        } else {
            *rng.pick(GB_COUNTIES)
        };
        trainers.push(Trainer {
            num: 1_000 + i as u64 * 1_847 + rng.below(1_800) as u64,
            name: trainer_name(&mut rng),
            location: format!("{}, {}", village(&mut rng), county),
        });
    }
    trainers
}

/// The jockeys and their pools by region and discipline (`region * 2 + disc`).
fn build_jockeys(seed: u64) -> (Vec<Jockey>, [Vec<u16>; 4]) {
    let mut jockeys = Vec::new();
    let mut jockey_pools: [Vec<u16>; 4] = Default::default();
    for i in 0..N_GB_JOCKEYS + N_IRE_JOCKEYS {
        let mut rng = Rng::from(&[seed, tag("jockey"), i as u64]);
        let region = usize::from(i >= N_GB_JOCKEYS);
        let disc = usize::from(rng.chance(0.45));
        let claim = if rng.chance(0.18) {
            *rng.pick(&[3u8, 5, 7])
        } else {
            0
        };
        jockey_pools[region * 2 + disc].push(i as u16);
        jockeys.push(Jockey {
            num: 40_000 + i as u64 * 1_013 + rng.below(1_000) as u64,
            name: person_name(&mut rng, 0.2),
            claim,
        });
    }
    (jockeys, jockey_pools)
}

fn build_owners(seed: u64) -> Vec<Owner> {
    let mut owners = Vec::new();
    for i in 0..N_OWNERS {
        let mut rng = Rng::from(&[seed, tag("owner"), i as u64]);
        owners.push(Owner {
            num: 400_000 + i as u64 * 673 + rng.below(670) as u64,
            name: owner_name(&mut rng),
            silk: 100_000 + rng.below(300_000) as u64,
        });
    }
    owners
}

/// Appends the racehorse crops to `horses`; returns the pools by crop, discipline and base
/// (`crop * 4 + disc * 2 + base`).
fn push_racehorse_crops(
    seed: u64,
    last_crop: i32,
    names: &mut HashSet<String>,
    horses: &mut Vec<Horse>,
    ancestry: &Ancestry,
) -> Vec<Vec<u32>> {
    let crops = (last_crop - FIRST_CROP + 1) as usize;
    let mut pools: Vec<Vec<u32>> = vec![Vec::new(); crops * 4];
    let mut k: u64 = 0;
    for crop in FIRST_CROP..=last_crop {
        for n in 0..CROP_SIZE {
            let mut rng = Rng::from(&[seed, tag("racer"), crop as u64, n as u64]);
            let base: u8 = u8::from(rng.chance(0.25));
            let disc = if rng.chance(0.58) {
                Disc::Flat
            } else {
                Disc::Jumps
            };
            let gender = match (disc, rng.below(100)) {
                (Disc::Flat, 0..=39) => Gender::Female,
                (Disc::Flat, 40..=64) => Gender::Entire,
                (Disc::Jumps, 0..=29) => Gender::Female,
                (Disc::Jumps, 30..=32) => Gender::Entire,
                _ => Gender::Gelding,
            };
            let trainer = if base == 0 {
                rng.skewed(N_GB_TRAINERS, 1.8)
            } else {
                N_GB_TRAINERS + rng.skewed(N_IRE_TRAINERS, 1.8)
            } as u16;
            let idx = horses.len() as u32;
            let sire = ancestry.pick_sire(&mut rng, crop);
            let dam = ancestry.pick_dam(&mut rng, crop);
            horses.push(Horse {
                num: 20_000_000 + k * 29 + rng.below(29) as u64,
                name: horse_name(&mut rng, names, false),
                country: pick_country(&mut rng, if base == 0 { GB_BRED } else { IRE_BRED }),
                dob: dob_in(&mut rng, crop),
                gender,
                colour: pick_colour(&mut rng),
                breeder: breeder_name(&mut rng),
                sire,
                dam,
                role: Role::Racer,
                trainer,
                owner: rng.skewed(N_OWNERS, 1.5) as u16,
                ability: rng.below(100) as u8,
                seed: rng.next_u64(),
            });
            k += 1;
            pools[(crop - FIRST_CROP) as usize * 4 + disc as usize * 2 + base as usize].push(idx);
        }
    }
    pools
}

impl World {
    /// The whole world of a seed. Every entity draws from its own stream; horse names are
    /// unique across the world, so the order stallions, mares, racehorse crops is kept.
    pub(crate) fn build(seed: u64, last_crop: i32) -> World {
        let last_crop = last_crop.max(FIRST_CROP);
        let mut names: HashSet<String> = HashSet::new();
        let mut horses: Vec<Horse> = Vec::new();
        let courses = build_courses();
        let ancestry = push_stallions_and_mares(seed, &mut names, &mut horses);
        assign_ancestors_parents(seed, &mut horses, &ancestry);
        let trainers = build_trainers(seed);
        let (jockeys, jockey_pools) = build_jockeys(seed);
        let owners = build_owners(seed);
        let pools = push_racehorse_crops(seed, last_crop, &mut names, &mut horses, &ancestry);
        let by_num = horses
            .iter()
            .enumerate()
            .map(|(i, h)| (h.num, i as u32))
            .collect();
        World {
            horses,
            by_num,
            pools,
            last_crop,
            jockeys,
            jockey_pools,
            trainers,
            owners,
            courses,
        }
    }

    pub(crate) fn horse(&self, idx: u32) -> Option<&Horse> {
        if idx == NONE {
            None
        } else {
            self.horses.get(idx as usize)
        }
    }

    /// The damsire is the dam's sire.
    pub(crate) fn damsire_of(&self, h: &Horse) -> Option<&Horse> {
        self.horse(h.dam).and_then(|d| self.horse(d.sire))
    }

    pub(crate) fn pool(&self, crop: i32, disc: Disc, base: u8) -> &[u32] {
        if crop < FIRST_CROP || crop > self.last_crop {
            return &[];
        }
        &self.pools[(crop - FIRST_CROP) as usize * 4 + disc as usize * 2 + base as usize]
    }

    pub(crate) fn silk_url(&self, owner: u16) -> String {
        let n = self.owners[owner as usize].silk;
        let d = n.to_string();
        let b = d.as_bytes();
        let l = b.len();
        format!(
            "https://silks.paddock-sim.invalid/svg/{}/{}/{}/{}.svg",
            b[l - 1] as char,
            b[l - 2] as char,
            b[l - 3] as char,
            d
        )
    }
}

/// A stable per-entity hash stream (used for attributes derived lazily, e.g. previous trainers).
pub(crate) fn entity_rng(seed: u64, what: &str, id: u64) -> Rng {
    Rng::new(mix(&[seed, tag(what), id]))
}

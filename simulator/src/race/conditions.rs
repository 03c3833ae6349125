//! Step 1 of a race: its conditions, drawn before the field. Meeting-level going, stalls,
//! weather and rail movements come from the meeting's stream (every race of a meeting shares
//! them); the race's type, class, pattern, handicap, age band, sex restriction, rating scale,
//! distance, prize and name come from the race's own stream.

use crate::names::{SPONSOR_A, SPONSOR_B};
use crate::plan::{MeetKind, PlanRace};
use crate::rng::Rng;
use crate::world::person_name;

/// The race type, as the API's `type` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RType {
    Flat,
    Hurdle,
    Chase,
    NhFlat,
}

impl RType {
    pub(crate) fn label(self) -> &'static str {
        match self {
            RType::Flat => "Flat",
            RType::Hurdle => "Hurdle",
            RType::Chase => "Chase",
            RType::NhFlat => "NH Flat",
        }
    }
}

/// What a meeting's races share: the ground and the day's weather.
#[derive(Clone, Debug)]
pub(super) struct Meeting {
    pub going: &'static str,
    pub stalls: &'static str,
    pub weather: &'static str,
    pub going_detailed: String,
    pub rail_movements: String,
}

impl Meeting {
    /// Draws the meeting's conditions from the meeting's stream (`PlanRace::meeting_seed`).
    pub(super) fn draw(mrng: &mut Rng, kind: MeetKind, month: u32, ire: bool) -> Meeting {
        let going = pick_going(mrng, kind, month, ire);
        let stalls = if kind == MeetKind::Flat {
            ["Stands Side", "Centre", "Far Side", "Inside", ""][mrng.below(5)]
        } else {
            ""
        };
        let weather = if mrng.chance(0.2) {
            ["Overcast", "Sunny", "Light Rain", "Cloudy", "Showers"][mrng.below(5)]
        } else {
            ""
        };
        let going_detailed = if mrng.chance(0.1) && kind != MeetKind::Aw {
            format!("{going} (watered)")
        } else {
            String::new()
        };
        let rail_movements = if mrng.chance(0.08) && kind != MeetKind::Aw {
            format!("Rail movements add approx {} yards", 5 * mrng.range(2, 12))
        } else {
            String::new()
        };
        Meeting {
            going,
            stalls,
            weather,
            going_detailed,
            rail_movements,
        }
    }
}

/// A race's conditions: everything the later steps (field, weights, market, result) read.
#[derive(Clone, Debug)]
pub(super) struct Conditions {
    /// An Irish race (euros, no class).
    pub ire: bool,
    pub rtype: RType,
    pub surface: &'static str,
    /// 1–7 in GB; 0 (no class) in Ireland.
    pub class: u8,
    pub pattern: &'static str,
    pub handicap: bool,
    pub age_band: &'static str,
    pub age_min: i32,
    pub age_max: i32,
    /// `"F"` (Flat) or `"M"` (jumps) for fillies'/mares' races, else empty.
    pub sex_rest: &'static str,
    /// The top of the race's official-rating scale.
    pub rating_top: u32,
    pub rating_band: String,
    pub dist_y: u32,
    pub jumps: String,
    pub big_race: bool,
    /// GB: winner's prize in pence; IRE: total fund in euros.
    pub prize: u64,
    pub name: String,
}

impl Conditions {
    pub(super) fn flat(&self) -> bool {
        self.rtype == RType::Flat
    }

    /// Draws the race's conditions from the race's stream (the first draws of that stream),
    /// step by step in the order below: the order is the data.
    pub(super) fn draw(rng: &mut Rng, p: &PlanRace, month: u32, ire: bool) -> Conditions {
        let rtype = draw_rtype(rng, p);
        let surface = if p.kind == MeetKind::Aw { "AW" } else { "Turf" };
        let flat = rtype == RType::Flat;
        let class = draw_class(rng, p.kind, rtype, ire);
        let pattern = draw_pattern(rng, p.kind, rtype, class, ire);
        let handicap = pattern.is_empty()
            && rtype != RType::NhFlat
            && rng.chance(if flat { 0.58 } else { 0.5 });
        let (age_band, age_min, age_max) = draw_ages(rng, rtype, month, handicap);
        let sex_rest = if rng.chance(0.12) {
            if flat {
                "F"
            } else {
                "M"
            }
        } else {
            ""
        };
        let rating_top = draw_rating_top(rng, flat, ire, class);
        let rating_band = if handicap {
            if ire && rng.chance(0.4) {
                format!("{}-{}", rating_top - 20, rating_top)
            } else {
                format!("0-{rating_top}")
            }
        } else {
            String::new()
        };
        let dist_y = draw_distance_yards(rng, rtype, age_min);
        let jumps = match rtype {
            RType::Hurdle => format!("{} hurdles", (dist_y as f64 / 440.0).round() as u32),
            RType::Chase => format!("{} fences", (dist_y as f64 / 293.0).round() as u32),
            _ => String::new(),
        };
        let big_race = matches!(pattern, "Group 1" | "Grade 1") || (class <= 2 && rng.chance(0.03));
        let prize = draw_prize(rng, rtype, class, pattern, ire);
        let name = race_name(rng, rtype, handicap, class, pattern, age_min, sex_rest, ire);
        Conditions {
            ire,
            rtype,
            surface,
            class,
            pattern,
            handicap,
            age_band,
            age_min,
            age_max,
            sex_rest,
            rating_top,
            rating_band,
            dist_y,
            jumps,
            big_race,
            prize,
            name,
        }
    }
}

/// Flat for flat and all-weather meetings; a jumps meeting's last race may be a bumper.
fn draw_rtype(rng: &mut Rng, p: &PlanRace) -> RType {
    match p.kind {
        MeetKind::Flat | MeetKind::Aw => RType::Flat,
        MeetKind::Jumps => {
            if p.last_of_meeting && rng.chance(0.45) {
                RType::NhFlat
            } else if rng.chance(0.42) {
                RType::Chase
            } else {
                RType::Hurdle
            }
        }
    }
}

/// GB class 1–7 (Irish races have none: 0).
fn draw_class(rng: &mut Rng, kind: MeetKind, rtype: RType, ire: bool) -> u8 {
    if ire {
        return 0;
    }
    let w: &[u32] = match (kind, rtype) {
        (MeetKind::Aw, _) => &[1, 4, 8, 15, 30, 32, 10],
        (_, RType::Flat) => &[4, 8, 12, 20, 26, 24, 6],
        (_, RType::NhFlat) => &[1, 2, 4, 35, 45, 13, 0],
        _ => &[4, 8, 18, 38, 32, 0, 0],
    };
    rng.weighted(w) as u8 + 1
}

/// Group / Grade / Listed, or `""`.
fn draw_pattern(rng: &mut Rng, kind: MeetKind, rtype: RType, class: u8, ire: bool) -> &'static str {
    let pattern_chance = if ire {
        0.04
    } else if class == 1 {
        0.7
    } else {
        0.0
    };
    if rtype != RType::NhFlat && kind != MeetKind::Aw && rng.chance(pattern_chance) {
        let i = rng.weighted(&[1, 2, 3, 4]);
        if rtype == RType::Flat {
            ["Group 1", "Group 2", "Group 3", "Listed"][i]
        } else {
            ["Grade 1", "Grade 2", "Grade 3", "Listed"][i]
        }
    } else {
        ""
    }
}

/// The age band and its limits.
fn draw_ages(rng: &mut Rng, rtype: RType, month: u32, handicap: bool) -> (&'static str, i32, i32) {
    let two_yo_season = (4..=11).contains(&month);
    match rtype {
        RType::Flat => {
            if two_yo_season && rng.chance(if handicap { 0.06 } else { 0.25 }) {
                ("2yo", 2, 2)
            } else if month <= 8 && rng.chance(0.18) {
                ("3yo", 3, 3)
            } else if rng.chance(0.25) {
                ("4yo+", 4, 9)
            } else {
                ("3yo+", 3, 9)
            }
        }
        RType::NhFlat => ("4-6yo", 4, 6),
        RType::Hurdle => {
            if !handicap && rng.chance(0.12) {
                ("4yo", 4, 4)
            } else if rng.chance(0.3) {
                ("5yo+", 5, 12)
            } else {
                ("4yo+", 4, 12)
            }
        }
        RType::Chase => {
            if rng.chance(0.7) {
                ("5yo+", 5, 12)
            } else {
                ("4yo+", 4, 12)
            }
        }
    }
}

/// Official rating scale of the race (its top).
fn draw_rating_top(rng: &mut Rng, flat: bool, ire: bool, class: u8) -> u32 {
    if flat {
        match (ire, class) {
            (true, _) => *rng.pick(&[65, 70, 75, 80, 85, 95, 102]),
            (_, 1) | (_, 2) => *rng.pick(&[100, 105]),
            (_, 3) => *rng.pick(&[90, 95]),
            (_, 4) => *rng.pick(&[80, 85]),
            (_, 5) => *rng.pick(&[70, 75]),
            (_, 6) => *rng.pick(&[60, 65]),
            _ => *rng.pick(&[50, 55]),
        }
    } else {
        match (ire, class) {
            (true, _) => *rng.pick(&[102, 109, 116, 123, 130]),
            (_, 1) | (_, 2) => *rng.pick(&[140, 145]),
            (_, 3) => *rng.pick(&[125, 135]),
            (_, 4) => *rng.pick(&[110, 115]),
            _ => *rng.pick(&[95, 100]),
        }
    }
}

/// The distance in yards: whole furlongs plus, most of the time, some odd yards.
fn draw_distance_yards(rng: &mut Rng, rtype: RType, age_min: i32) -> u32 {
    let furlongs: u32 = match rtype {
        RType::Flat => {
            if age_min == 2 {
                *rng.pick(&[5, 5, 6, 6, 7, 7, 8])
            } else {
                *rng.pick(&[5, 6, 6, 7, 7, 8, 8, 9, 10, 10, 11, 12, 12, 14, 16])
            }
        }
        RType::Hurdle => *rng.pick(&[16, 16, 17, 18, 19, 20, 21, 22, 24, 24, 26]),
        RType::Chase => *rng.pick(&[16, 17, 18, 20, 21, 22, 24, 24, 25, 26, 28, 29, 32]),
        RType::NhFlat => *rng.pick(&[16, 16, 17, 18]),
    };
    let extra = if rng.chance(0.4) {
        0
    } else {
        rng.range(1, 215) as u32
    };
    furlongs * 220 + extra
}

/// The prize fund in the smallest unit (euros for Ireland, pence for GB).
fn draw_prize(rng: &mut Rng, rtype: RType, class: u8, pattern: &str, ire: bool) -> u64 {
    if ire {
        if pattern.is_empty() {
            8_000 + 500 * rng.range(0, 44) as u64
        } else {
            let tier = match pattern {
                "Group 1" | "Grade 1" => 0,
                p if p.ends_with('2') => 1,
                p if p.ends_with('3') => 2,
                _ => 3,
            };
            [150_000u64, 75_000, 50_000, 35_000][tier]
        }
    } else {
        gb_prize_pounds(rng, rtype, class, pattern) * 100 + rng.below(100) as u64
    }
}

fn pick_going(rng: &mut Rng, kind: MeetKind, month: u32, ire: bool) -> &'static str {
    if kind == MeetKind::Aw {
        return [
            "Standard",
            "Standard",
            "Standard",
            "Standard To Slow",
            "Slow",
        ][rng.below(5)];
    }
    let summer = (5..=9).contains(&month);
    if ire && rng.chance(0.25) {
        return ["Yielding", "Yielding To Soft", "Good To Yielding"][rng.below(3)];
    }
    if summer {
        [
            "Good To Firm",
            "Good",
            "Good",
            "Good To Soft",
            "Firm",
            "Soft",
        ][rng.below(6)]
    } else {
        ["Soft", "Heavy", "Good To Soft", "Good", "Soft", "Yielding"]
            [rng.below(if ire { 6 } else { 5 })]
    }
}

fn gb_prize_pounds(rng: &mut Rng, rtype: RType, class: u8, pattern: &str) -> u64 {
    let flat = rtype == RType::Flat;
    let (lo, hi) = match (pattern, flat) {
        ("Group 1", _) | ("Grade 1", _) => {
            if flat {
                (180_000, 600_000)
            } else {
                (60_000, 250_000)
            }
        }
        ("Group 2", _) | ("Grade 2", _) => {
            if flat {
                (60_000, 150_000)
            } else {
                (25_000, 60_000)
            }
        }
        ("Group 3", _) | ("Grade 3", _) => (25_000, 60_000),
        ("Listed", _) => (14_000, 30_000),
        _ => match (class, flat) {
            (1, _) => (20_000, 50_000),
            (2, _) => (9_000, 30_000),
            (3, true) => (6_000, 10_000),
            (3, false) => (5_500, 9_000),
            (4, true) => (4_500, 7_000),
            (4, false) => (3_500, 5_500),
            (5, true) => (3_200, 4_500),
            (5, false) => (2_500, 3_500),
            (6, _) => (2_700, 3_400),
            _ => (2_200, 2_800),
        },
    };
    rng.range(lo, hi) as u64
}

#[allow(clippy::too_many_arguments)]
fn race_name(
    rng: &mut Rng,
    rtype: RType,
    handicap: bool,
    class: u8,
    pattern: &str,
    age_min: i32,
    sex_rest: &str,
    ire: bool,
) -> String {
    let sponsor = if rng.chance(0.8) {
        format!("{} {}", rng.pick(SPONSOR_A), rng.pick(SPONSOR_B))
    } else {
        format!("{} Memorial", person_name(rng, 0.3))
    };
    let fem = !sex_rest.is_empty();
    let core = match rtype {
        RType::Flat => {
            if !pattern.is_empty() {
                let p = if pattern == "Listed" {
                    "Listed Race".to_string()
                } else {
                    pattern.to_string()
                };
                format!("{}Stakes ({p})", if fem { "Fillies' " } else { "" })
            } else if handicap {
                if age_min == 2 {
                    "Nursery Handicap".to_string()
                } else if fem {
                    "Fillies' Handicap".to_string()
                } else {
                    "Handicap".to_string()
                }
            } else {
                let opts: &[&str] = if class >= 6 {
                    &["Classified Stakes", "Selling Stakes", "Maiden Stakes"]
                } else if age_min == 2 {
                    &["Maiden Stakes", "Novice Stakes", "Conditions Stakes"]
                } else {
                    &[
                        "Maiden Stakes",
                        "Novice Stakes",
                        "Conditions Stakes",
                        "Stakes",
                    ]
                };
                format!("{}{}", if fem { "Fillies' " } else { "" }, rng.pick(opts))
            }
        }
        RType::Hurdle => {
            if !pattern.is_empty() {
                format!("{}Hurdle ({pattern})", if fem { "Mares' " } else { "" })
            } else if handicap {
                format!("{}Handicap Hurdle", if fem { "Mares' " } else { "" })
            } else {
                let opts: &[&str] = if age_min == 4 && !fem && rng.chance(0.4) {
                    &["Juvenile Hurdle"]
                } else {
                    &["Novices' Hurdle", "Maiden Hurdle"]
                };
                let mut s = format!("{}{}", if fem { "Mares' " } else { "" }, rng.pick(opts));
                if !ire && rng.chance(0.3) {
                    s.push_str(" (GBB Race)");
                }
                s
            }
        }
        RType::Chase => {
            if !pattern.is_empty() {
                format!("{}Chase ({pattern})", if fem { "Mares' " } else { "" })
            } else if handicap {
                format!("{}Handicap Chase", if fem { "Mares' " } else { "" })
            } else if ire {
                "Beginners' Chase".to_string()
            } else {
                rng.pick(&["Novices' Chase", "Novices' Limited Handicap Chase"])
                    .to_string()
            }
        }
        RType::NhFlat => {
            if ire {
                format!("{}INH Flat Race", if fem { "Mares' " } else { "" })
            } else {
                format!(
                    "{}Standard Open National Hunt Flat Race",
                    if fem { "Mares' " } else { "" }
                )
            }
        }
    };
    format!("{sponsor} {core}")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::testkit::samples;
    use super::*;

    #[test]
    fn conditions_agree_with_each_other_and_with_the_meeting() {
        let mut going_of_meeting: HashMap<u64, &str> = HashMap::new();
        for s in samples() {
            let c = &s.cond;
            let aw = s.plan.kind == MeetKind::Aw;
            assert_eq!(c.ire, c.class == 0, "class {} (IRE {})", c.class, c.ire);
            assert!(c.class <= 7);
            if c.rtype == RType::NhFlat || aw {
                assert!(c.pattern.is_empty(), "{} on AW or in a bumper", c.pattern);
            }
            if c.handicap {
                assert!(c.pattern.is_empty());
                assert!(c.rating_band.ends_with(&format!("-{}", c.rating_top)));
            } else {
                assert!(c.rating_band.is_empty());
            }
            assert!(
                (5 * 220..=32 * 220 + 215).contains(&c.dist_y),
                "{} yards",
                c.dist_y
            );
            assert_eq!(
                c.jumps.is_empty(),
                !matches!(c.rtype, RType::Hurdle | RType::Chase)
            );
            assert_eq!(c.surface, if aw { "AW" } else { "Turf" });
            if matches!(c.pattern, "Group 1" | "Grade 1") {
                assert!(c.big_race);
            }
            assert!(!c.name.is_empty());
            let first = going_of_meeting
                .entry(s.plan.meeting_seed)
                .or_insert(s.meeting.going);
            assert_eq!(*first, s.meeting.going, "two goings at one meeting");
        }
    }
}

//! The meeting plan of a day (cheap: courses, meeting kinds, off times, race ids) and the race
//! id scheme. The full day builds each planned race from it (see [`super::day`]).

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::rng::{mix, tag, Rng};
use super::world::World;

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("bad epoch"),
};
const RACE_ID_BASE: u64 = 10_000_000;
pub(crate) const MAX_RACES_PER_DAY: u64 = 100;

pub(crate) fn day_number(date: NaiveDate) -> i64 {
    (date - EPOCH).num_days()
}

pub(crate) fn date_of(day: i64) -> NaiveDate {
    EPOCH + Duration::days(day)
}

pub(crate) fn race_num(date: NaiveDate, idx: usize) -> u64 {
    RACE_ID_BASE + day_number(date) as u64 * MAX_RACES_PER_DAY + idx as u64
}

/// `rac_<digits>` → (date, index within the day).
pub(crate) fn parse_race_id(id: &str) -> Option<(NaiveDate, usize)> {
    let digits = id.strip_prefix("rac_")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let rel = n.checked_sub(RACE_ID_BASE)?;
    Some((
        date_of((rel / MAX_RACES_PER_DAY) as i64),
        (rel % MAX_RACES_PER_DAY) as usize,
    ))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MeetKind {
    Flat,
    Jumps,
    Aw,
}

#[derive(Clone, Debug)]
pub(crate) struct PlanRace {
    pub num: u64,
    pub course: u16,
    pub off_min: u32,
    pub kind: MeetKind,
    pub meeting_seed: u64,
    pub last_of_meeting: bool,
    pub abandoned: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct DayPlan {
    pub races: Vec<PlanRace>,
}

/// Whether a day is one of the "busy" days (55–75 races): one per block of ten days.
pub(crate) fn is_busy(seed: u64, day: i64) -> bool {
    let block = day.div_euclid(10);
    let pick = mix(&[seed, tag("busy"), block as u64]) % 10;
    day.rem_euclid(10) as u64 == pick
}

fn split_meetings(rng: &mut Rng, mut races: i64) -> Vec<i64> {
    let mut out = Vec::new();
    while races > 0 {
        let mut m = if races <= 9 { races } else { rng.range(6, 8) };
        let left = races - m;
        if left > 0 && left < 5 {
            m = if races <= 10 { races } else { races - 6 };
        }
        out.push(m);
        races -= m;
    }
    out
}

fn kind_weights(month: u32) -> [u32; 3] {
    // Flat turf, Jumps, AW
    match month {
        4..=9 => [60, 20, 20],
        3 | 10 => [25, 45, 30],
        _ => [0, 60, 40],
    }
}

pub(crate) fn plan_day(world: &World, seed: u64, date: NaiveDate) -> DayPlan {
    let day = day_number(date);
    let mut rng = Rng::from(&[seed, tag("plan"), day as u64]);
    let month = date.month();
    let busy = is_busy(seed, day);
    let total = if busy {
        rng.range(55, 75)
    } else {
        let bonus = match date.weekday() {
            Weekday::Sat => 6,
            Weekday::Wed | Weekday::Thu | Weekday::Fri => 2,
            _ => 0,
        };
        (rng.range(25, 39) + bonus).clamp(25, 45)
    };
    let ire = (total as f64 * rng.range(22, 32) as f64 / 100.0).round() as i64;
    let gb = total - ire;
    let mut used = vec![false; world.courses.len()];
    let mut races = Vec::new();
    let mut meeting_no = 0u64;
    for (region, count) in [("GB", gb), ("IRE", ire)] {
        let mut candidates: Vec<usize> = (0..world.courses.len())
            .filter(|&i| world.courses[i].region == region)
            .collect();
        rng.shuffle(&mut candidates);
        for size in split_meetings(&mut rng, count) {
            meeting_no += 1;
            let want = match rng.weighted(&kind_weights(month)) {
                0 => 'F',
                1 => 'J',
                _ => 'A',
            };
            let course = candidates
                .iter()
                .copied()
                .find(|&i| !used[i] && world.courses[i].kinds.contains(want))
                .or_else(|| candidates.iter().copied().find(|&i| !used[i]));
            let Some(course) = course else { break };
            used[course] = true;
            let c = &world.courses[course];
            let kind = if c.kinds.contains(want) {
                want
            } else {
                c.kinds.chars().next().unwrap_or('F')
            };
            let kind = match kind {
                'J' => MeetKind::Jumps,
                'A' => MeetKind::Aw,
                _ => MeetKind::Flat,
            };
            let summer = (4..=9).contains(&month);
            let evening = match kind {
                MeetKind::Aw => rng.chance(0.4),
                _ => summer && rng.chance(0.3),
            };
            let interval = *rng.pick(&[30u32, 30, 30, 30, 35, 35, 25]);
            let mut start = if evening {
                16 * 60 + 30 + 5 * rng.below(19) as u32
            } else if kind == MeetKind::Jumps && !summer {
                12 * 60 + 5 * rng.below(13) as u32
            } else {
                12 * 60 + 5 * rng.below(31) as u32
            };
            let latest_last = 21 * 60 + 10;
            let span = (size as u32 - 1) * interval;
            if start + span > latest_last {
                start = (latest_last - span) / 5 * 5;
            }
            let winter = matches!(month, 12 | 1 | 2);
            let abandon_p = match (kind, winter) {
                (MeetKind::Aw, _) => 0.002,
                (_, true) => 0.02,
                _ => 0.003,
            };
            // Busy days never lose a meeting, so each holds more than 50 results.
            let abandoned = rng.chance(abandon_p) && !busy;
            let meeting_seed = mix(&[seed, tag("meeting"), day as u64, meeting_no]);
            for k in 0..size as u32 {
                races.push(PlanRace {
                    num: 0,
                    course: course as u16,
                    off_min: start + k * interval,
                    kind,
                    meeting_seed,
                    last_of_meeting: k + 1 == size as u32,
                    abandoned,
                });
            }
        }
    }
    races.sort_by_key(|r| (r.off_min, r.course));
    for (i, r) in races.iter_mut().enumerate() {
        r.num = race_num(date, i);
    }
    DayPlan { races }
}

//! Scripted scenarios layered on the generated days, for tests of what changes before the off.
//!
//! **Pre-race changes** (fault flag `pre_race_changes`): on the day before the simulator's
//! today, the first race (by off time) with at least seven runners and stalls is served in
//! versions. The racecard has two stages, advanced by [`SimServer::advance_scenario`] (or
//! `POST /__scenario/advance`):
//!
//! | | morning card (stage 0) | noon card (stage 1+) | result |
//! |---|---|---|---|
//! | runner A's jockey | another jockey | the real one | the real one |
//! | runner B | running | non-runner | in `non_runners` |
//! | runner C's draw | 20 stalls out | the real one | the real one |
//! | going | another going | the real one | the real one |
//! | runner D's jockey | the real one | the real one | another jockey (changed after the last card) |
//! | runner E | running | running | in `non_runners` (withdrawn after the last card) |
//!
//! Everything else is the generated race. The stage affects racecards only; results always
//! show the final state. [`PreRaceFacts`] states every change, as ground truth for tests.
//!
//! [`SimServer::advance_scenario`]: super::SimServer::advance_scenario

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::NaiveDate;

use super::race::{Race, Runner};
use super::world::World;

/// The reason the scenario's non-runners give.
const REASON_B: &str = "self certificate";
const REASON_E: &str = "unsuitable ground";

/// What the pre-race-changes scenario changes, with the ids a test compares the store to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreRaceFacts {
    pub race_id: String,
    pub date: NaiveDate,
    /// Runner A: `(horse_id, morning jockey_id, noon jockey_id)`.
    pub jockey_change: (String, String, String),
    /// Runner B: a non-runner from the noon card on, with its reason.
    pub new_non_runner: (String, String),
    /// Runner C: `(horse_id, morning draw, noon draw)`.
    pub draw_correction: (String, i64, i64),
    /// `(morning going, noon going)`.
    pub going: (String, String),
    /// Runner D: `(horse_id, jockey_id on every card, jockey_id in the result)`.
    pub late_jockey_change: (String, String, String),
    /// Runner E: withdrawn after the last card; only the result's `non_runners` says so.
    pub late_non_runner: (String, String),
}

/// Which runners play which part, as indices into the race's runners.
#[derive(Clone, Copy, Debug)]
struct Cast {
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
}

/// The scenario's state: which stage the racecards are at.
#[derive(Debug, Default)]
pub(crate) struct PreRaceChanges {
    stage: AtomicU32,
}

impl PreRaceChanges {
    pub(crate) fn advance(&self) -> u32 {
        self.stage.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn morning(&self) -> bool {
        self.stage.load(Ordering::SeqCst) == 0
    }
}

/// Whether `race` can carry the scenario: not abandoned, stalls, at least seven runners.
fn eligible(race: &Race) -> bool {
    !race.abandoned && race.running().count() >= 7 && race.running().all(|r| r.draw > 0)
}

/// The scenario's race among `races` (one day): the first eligible by off time.
pub(crate) fn scenario_race_index(races: &[Race]) -> Option<usize> {
    (0..races.len())
        .filter(|&i| eligible(&races[i]))
        .min_by_key(|&i| (races[i].off_min, races[i].num))
}

/// A, C and D are the first runners by number; B and E the two that finished last, so the
/// result's positions stay contiguous without them.
fn cast(race: &Race) -> Cast {
    let mut by_number: Vec<usize> = (0..race.runners.len())
        .filter(|&i| !race.runners[i].nr)
        .collect();
    by_number.sort_by_key(|&i| race.runners[i].number);
    let mut by_finish = by_number.clone();
    by_finish.sort_by_key(|&i| {
        let r = &race.runners[i];
        (
            r.finished,
            r.position.parse::<u32>().map(std::cmp::Reverse).ok(),
        )
    });
    // Not-finished first, then the highest positions: the last two runners home.
    let (b, e) = (by_finish[0], by_finish[1]);
    let mut front = by_number.into_iter().filter(|i| *i != b && *i != e);
    let (a, c, d) = (
        front.next().expect("seven runners"),
        front.next().expect("seven runners"),
        front.next().expect("seven runners"),
    );
    Cast { a, b, c, d, e }
}

fn other_jockey(world: &World, jockey: u16) -> u16 {
    ((jockey as usize + 1) % world.jockeys.len()) as u16
}

fn other_going(going: &'static str) -> &'static str {
    if going == "Good To Soft" {
        "Good"
    } else {
        "Good To Soft"
    }
}

fn jockey_id(world: &World, jockey: u16) -> String {
    format!("jky_{}", world.jockeys[jockey as usize].num)
}

/// The final state both the noon card and the result share: runner B is a non-runner.
fn with_b_withdrawn(race: &Race, cast: Cast) -> Race {
    let mut race = race.clone();
    withdraw(&mut race.runners[cast.b], REASON_B);
    race
}

fn withdraw(runner: &mut Runner, reason: &'static str) {
    runner.nr = true;
    runner.nr_reason = reason;
    runner.position = String::new();
    runner.finished = false;
}

/// The racecard version of `race` at the current stage.
pub(crate) fn card<'r>(state: &PreRaceChanges, world: &World, race: &'r Race) -> Cow<'r, Race> {
    let cast = cast(race);
    if state.morning() {
        let mut morning = race.clone();
        morning.runners[cast.a].jockey = other_jockey(world, race.runners[cast.a].jockey);
        morning.runners[cast.c].draw += 20;
        morning.going = other_going(race.going);
        Cow::Owned(morning)
    } else {
        Cow::Owned(with_b_withdrawn(race, cast))
    }
}

/// The result version of `race`: B and E withdrawn, D ridden by another jockey.
pub(crate) fn result<'r>(world: &World, race: &'r Race) -> Cow<'r, Race> {
    let cast = cast(race);
    let mut fin = with_b_withdrawn(race, cast);
    withdraw(&mut fin.runners[cast.e], REASON_E);
    fin.runners[cast.d].jockey = other_jockey(world, race.runners[cast.d].jockey);
    fin.non_runners = fin
        .runners
        .iter()
        .filter(|r| r.nr)
        .map(|r| format!("{} ({})", world.horses[r.horse as usize].name, r.nr_reason))
        .collect::<Vec<_>>()
        .join(", ");
    Cow::Owned(fin)
}

/// The facts of the scenario on `race`.
pub(crate) fn facts(world: &World, race: &Race) -> PreRaceFacts {
    let cast = cast(race);
    let horse = |i: usize| world.horses[race.runners[i].horse as usize].id();
    let (a, c, d) = (
        &race.runners[cast.a],
        &race.runners[cast.c],
        &race.runners[cast.d],
    );
    PreRaceFacts {
        race_id: race.id.clone(),
        date: race.date,
        jockey_change: (
            horse(cast.a),
            jockey_id(world, other_jockey(world, a.jockey)),
            jockey_id(world, a.jockey),
        ),
        new_non_runner: (horse(cast.b), REASON_B.to_string()),
        draw_correction: (horse(cast.c), i64::from(c.draw + 20), i64::from(c.draw)),
        going: (other_going(race.going).to_string(), race.going.to_string()),
        late_jockey_change: (
            horse(cast.d),
            jockey_id(world, d.jockey),
            jockey_id(world, other_jockey(world, d.jockey)),
        ),
        late_non_runner: (horse(cast.e), REASON_E.to_string()),
    }
}

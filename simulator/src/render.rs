//! Rendering generated races and horses into the API's JSON objects (key order, value types and
//! quirks as the live API), with the optional `malformed_values` / `extra_fields` faults.

use chrono::{Duration, NaiveDate};

use super::format::{self, ladder_decimal, LADDER};
use super::json::{obj, J};
use super::names::*;
use super::plan::day_number;
use super::race::{RType, Race, Runner};
use super::rng::{mix, tag, unit, Rng};
use super::world::{entity_rng, Horse, Role, World};

/// Render-time faults.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Opts {
    pub malformed: bool,
    pub extra: bool,
    /// The moving market's stage (`market_moves`; `None` when off).
    pub market_stage: Option<u32>,
    /// The runners the each-way terms count (the field before the market's non-runner);
    /// `None`: the card's running runners.
    pub ew_runners: Option<usize>,
}

fn s(x: impl ToString) -> J {
    J::Str(x.to_string())
}

fn opt_num(x: Option<u32>, missing: &str) -> J {
    match x {
        Some(v) => s(v),
        None => s(missing),
    }
}

fn race_class(race: &Race) -> String {
    if race.class == 0 {
        String::new()
    } else {
        format!("Class {}", race.class)
    }
}

fn name_of(h: Option<&Horse>) -> (String, String, String) {
    // (bare name, suffixed name, country)
    match h {
        Some(h) => (h.name.clone(), h.suffixed(), h.country.to_string()),
        None => (String::new(), String::new(), String::new()),
    }
}

fn ped_id(prefix: &str, h: Option<&Horse>) -> String {
    h.map(|h| format!("{prefix}_{}", h.num)).unwrap_or_default()
}

/// Deterministic "this one is damaged" decision for the malformed-values fault.
fn damaged(seed: u64, what: &str, p: f64) -> Option<u64> {
    let h = mix(&[seed, tag(what)]);
    (unit(h) < p).then_some(h >> 8)
}

fn add_extras(j: &mut J, what: &str) {
    if let J::Obj(kv) = j {
        let mid = kv.len() / 2;
        j.insert_at(mid, &format!("sim_extra_{what}"), s("unexpected"));
        j.insert_at(
            usize::MAX,
            "sim_meta",
            obj! { "version" => 2i64, "tags" => vec![s("x"), s("y")] },
        );
    }
}

/// The each-way terms `(places, denominator)` of `race`'s card.
pub(crate) fn each_way(race: &Race, opts: Opts) -> (&'static str, &'static str) {
    match opts.ew_runners.unwrap_or_else(|| race.running().count()) {
        0..=4 => ("", ""),
        5..=7 => ("2", "4"),
        8..=11 => ("3", "5"),
        12..=15 if race.handicap => ("3", "4"),
        12..=15 => ("3", "5"),
        _ => ("4", "4"),
    }
}

pub(crate) fn racecard(world: &World, seed: u64, race: &Race, opts: Opts) -> J {
    let c = &world.courses[race.course as usize];
    let running = race.running().count();
    let prize = if race.region == "IRE" {
        format::card_prize("€", race.prize)
    } else {
        format::card_prize("£", race.prize / 100)
    };
    let ew = each_way(race, opts);
    let runners: Vec<J> = race
        .runners
        .iter()
        .map(|r| racecard_runner(world, seed, race, r, ew, opts))
        .collect();
    let mut j = obj! {
        "race_id" => &race.id,
        "course" => c.name,
        "course_id" => &c.id,
        "date" => race.date.to_string(),
        "off_time" => &race.off_time,
        "off_dt" => &race.off_dt,
        "race_name" => &race.name,
        "distance_round" => format::distance_round(race.dist_y),
        "distance" => format::distance(race.dist_y),
        "distance_f" => format::distance_f(race.dist_y),
        "region" => race.region,
        "pattern" => race.pattern,
        "sex_restriction" => race.sex_rest,
        "race_class" => race_class(race),
        "type" => race.rtype.label(),
        "age_band" => race.age_band,
        "rating_band" => &race.rating_band,
        "prize" => prize,
        "field_size" => running.to_string(),
        "going_detailed" => &race.going_detailed,
        "rail_movements" => &race.rail_movements,
        "stalls" => race.stalls,
        "weather" => race.weather,
        "going" => race.going,
        "surface" => race.surface,
        "jumps" => &race.jumps,
        "runners" => runners,
        "big_race" => race.big_race,
        "is_abandoned" => race.abandoned,
        "tip" => &race.tip,
        "verdict" => &race.verdict,
        "betting_forecast" => &race.betting_forecast,
    };
    if opts.malformed {
        if let Some(h) = damaged(race.seed, "card-race", 0.03) {
            match h % 2 {
                0 => j.set("field_size", s("many")),
                _ => j.set("distance_f", s("abc")),
            }
        }
    }
    if opts.extra {
        add_extras(&mut j, "race");
    }
    j
}

fn form_string(rng: &mut Rng, jumps: bool) -> String {
    let len = rng.range(1, 6) as usize;
    let mut out = String::new();
    let sep_at = if rng.chance(0.4) {
        Some(rng.below(len + 1))
    } else {
        None
    };
    for i in 0..len {
        if Some(i) == sep_at && i > 0 {
            out.push(if rng.chance(0.8) { '-' } else { '/' });
        }
        let ch = if jumps && rng.chance(0.08) {
            *rng.pick(&['P', 'F', 'U'])
        } else {
            *rng.pick(&['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'])
        };
        out.push(ch);
    }
    if sep_at == Some(len) {
        out.push('-');
    }
    out
}

fn past_date(rng: &mut Rng, before: NaiveDate, lo: i64, hi: i64) -> NaiveDate {
    before - Duration::days(rng.range(lo, hi))
}

/// One runner of a racecard. The card's own stream `rr` is drawn in the order of the steps
/// below (form and comments, quotes, stable tour, medical, flags, trainer RTF): changing the
/// order changes every card.
fn racecard_runner(
    world: &World,
    seed: u64,
    race: &Race,
    r: &Runner,
    ew: (&str, &str),
    opts: Opts,
) -> J {
    let h = &world.horses[r.horse as usize];
    let sire = world.horse(h.sire);
    let dam = world.horse(h.dam);
    let damsire = world.damsire_of(h);
    let (sex, sex_code) = h.sex_on(race.date);
    let trainer = &world.trainers[r.trainer as usize];
    let owner = &world.owners[r.owner as usize];
    let jockey = &world.jockeys[r.jockey as usize];
    let mut rr = Rng::new(r.seed ^ tag("card"));
    let jumps = race.rtype != RType::Flat;

    let trainer_14_days = trainer_14_days(seed, trainer.num, race.date);
    let prev_trainers = prev_trainers(world, seed, h, r.trainer, race.date);
    let prev_owners = prev_owners(world, seed, h, race.date);
    let notes = CardNotes::draw(&mut rr, race, jumps);
    let quotes = quotes(&mut rr, world, race, h, &trainer.name);
    let stable_tour = stable_tour(&mut rr, race, h);
    let medical = medical(&mut rr, race, r);
    let flags = past_results_flags(&mut rr);
    let trainer_rtf = if rr.chance(0.1) {
        String::new()
    } else {
        rr.range(0, 100).to_string()
    };
    let jockey_name = if r.nr {
        format!("NON-RUNNER({})", r.number)
    } else if jockey.claim > 0 {
        format!("{}({})", jockey.name, jockey.claim)
    } else {
        jockey.name.clone()
    };

    let odds = super::odds::racecard_odds(race, r, ew, opts.market_stage);
    let (sire_n, _, sire_c) = name_of(sire);
    let (dam_n, _, dam_c) = name_of(dam);
    let (ds_n, _, ds_c) = name_of(damsire);
    let mut j = obj! {
        "horse_id" => h.id(),
        "horse" => &h.name,
        "dob" => h.dob.to_string(),
        "age" => h.age_on(race.date).to_string(),
        "sex" => sex,
        "sex_code" => sex_code,
        "colour" => h.colour,
        "region" => h.country,
        "breeder" => &h.breeder,
        "dam" => dam_n,
        "dam_id" => ped_id("dam", dam),
        "dam_region" => dam_c,
        "sire" => sire_n,
        "sire_id" => ped_id("sir", sire),
        "sire_region" => sire_c,
        "damsire" => ds_n,
        "damsire_id" => ped_id("dsi", damsire),
        "damsire_region" => ds_c,
        "trainer" => &trainer.name,
        "trainer_id" => format!("trn_{}", trainer.num),
        "trainer_location" => &trainer.location,
        "trainer_14_days" => trainer_14_days,
        "owner" => &owner.name,
        "owner_id" => format!("own_{}", owner.num),
        "prev_trainers" => prev_trainers,
        "prev_owners" => prev_owners,
        "comment" => notes.comment,
        "spotlight" => notes.spotlight,
        "quotes" => quotes,
        "stable_tour" => stable_tour,
        "medical" => medical,
        "number" => if r.nr { "NR".to_string() } else { r.number.to_string() },
        "draw" => r.draw.to_string(),
        "headgear" => r.headgear,
        "headgear_run" => if r.headgear_first { "1" } else { "" },
        "wind_surgery" => if r.wind_run > 0 { "w" } else { "" },
        "wind_surgery_run" => if r.wind_run > 0 { r.wind_run.to_string() } else { String::new() },
        "past_results_flags" => flags,
        "lbs" => r.lbs.to_string(),
        "ofr" => opt_num(r.ofr, "-"),
        "rpr" => opt_num(r.rpr, "-"),
        "ts" => opt_num(r.ts, "-"),
        "jockey" => jockey_name,
        "jockey_id" => format!("jky_{}", jockey.num),
        "silk_url" => world.silk_url(r.owner),
        "last_run" => notes.last_run,
        "form" => notes.form,
        "trainer_rtf" => trainer_rtf,
        "odds" => odds,
    };
    if opts.malformed {
        damage_card_runner(&mut j, r.seed);
    }
    if opts.extra {
        add_extras(&mut j, "runner");
    }
    j
}

/// The trainer's last 14 days (its own stream per trainer and day).
fn trainer_14_days(seed: u64, trainer_num: u64, date: NaiveDate) -> J {
    let mut t14 = Rng::from(&[seed, tag("t14"), trainer_num, day_number(date) as u64]);
    let runs = t14.range(0, 30);
    let wins = if runs == 0 {
        0
    } else {
        t14.range(0, runs * 35 / 100)
    };
    let percent = if runs == 0 { 0 } else { wins * 100 / runs };
    obj! {
        "runs" => runs.to_string(),
        "wins" => wins.to_string(),
        "percent" => percent.to_string(),
    }
}

/// The horse's previous trainer, stable per horse (the same on every card it appears on).
fn prev_trainers(world: &World, seed: u64, h: &Horse, trainer: u16, date: NaiveDate) -> Vec<J> {
    let mut prev_trainers = Vec::new();
    let mut er = entity_rng(seed, "prev-trainer", h.num);
    if er.chance(0.1) {
        let change = h.dob + Duration::days(730 + er.range(0, 5 * 365));
        if change < date {
            let t = er.below(world.trainers.len());
            if t != trainer as usize {
                let pt = &world.trainers[t];
                prev_trainers.push(obj! {
                    "trainer" => &pt.name,
                    "trainer_id" => format!("trn_{}", pt.num),
                    "change_date" => change.to_string(),
                });
            }
        }
    }
    prev_trainers
}

/// The horse's previous owners, newest first, stable per horse.
fn prev_owners(world: &World, seed: u64, h: &Horse, date: NaiveDate) -> Vec<J> {
    let mut eo = entity_rng(seed, "prev-owner", h.num);
    if !eo.chance(0.1) {
        return Vec::new();
    }
    let n = if eo.chance(0.3) { 2 } else { 1 };
    let mut change = h.dob + Duration::days(730 + eo.range(0, 4 * 365));
    let mut items = Vec::new();
    for _ in 0..n {
        if change < date {
            let po = &world.owners[eo.below(world.owners.len())];
            items.push(obj! {
                "owner" => &po.name,
                "owner_id" => format!("own_{}", po.num),
                "change_date" => change.to_string(),
            });
        }
        change += Duration::days(eo.range(60, 400));
    }
    items.reverse();
    items
}

/// A runner's form figures, last run and the card's comment and spotlight.
struct CardNotes {
    form: String,
    last_run: String,
    comment: String,
    spotlight: String,
}

impl CardNotes {
    fn draw(rr: &mut Rng, race: &Race, jumps: bool) -> CardNotes {
        let debut = rr.chance(0.08);
        let form = if debut {
            String::new()
        } else {
            form_string(rr, jumps)
        };
        let last_run = if debut {
            String::new()
        } else {
            let days = rr.range(7, 220);
            if rr.chance(0.06) {
                let other = rr.range(3, days.max(4) - 1);
                format!("{days} ({other}{})", if jumps { "F" } else { "J" })
            } else {
                days.to_string()
            }
        };
        let open = if debut {
            *rr.pick(&[
                "Newcomer from a yard that does well with debutants",
                "Makes debut",
                "Unraced; pedigree suggests ability",
            ])
        } else {
            *rr.pick(SPOT_OPEN)
        };
        let close = *rr.pick(SPOT_CLOSE);
        let comment = format!("{open}; {close}");
        let spotlight = format!(
            "{open} ({}, {}); {} and {close}.",
            format::distance_round(race.dist_y),
            race.going.to_lowercase(),
            [
                "handles conditions",
                "trainer in good form",
                "jockey booking catches the eye",
                "has questions to answer",
            ][rr.below(4)]
        );
        CardNotes {
            form,
            last_run,
            comment,
            spotlight,
        }
    }
}

/// Trainer quotes from past races (rare).
fn quotes(rr: &mut Rng, world: &World, race: &Race, h: &Horse, trainer: &str) -> Vec<J> {
    let mut quotes = Vec::new();
    if rr.chance(0.03) {
        for _ in 0..rr.range(1, 2) {
            let d = past_date(rr, race.date, 20, 500);
            let c = &world.courses[rr.below(world.courses.len() - 5)];
            let f = rr.range(5, 24);
            quotes.push(obj! {
                "date" => d.to_string(),
                "horse" => &h.name,
                "horse_id" => h.id(),
                "race" => format!("{} {} Handicap", rr.pick(SPONSOR_A), rr.pick(SPONSOR_B)),
                "race_id" => format!("rac_{}", super::plan::race_num(d, rr.below(20))),
                "course" => c.name,
                "course_id" => &c.id,
                "distance_f" => f.to_string(),
                "distance_y" => (f * 220 + rr.range(0, 200)).to_string(),
                "quote" => format!("{} - {}, trainer.", rr.pick(QUOTES), trainer),
            });
        }
    }
    quotes
}

/// A stable-tour quote (rare).
fn stable_tour(rr: &mut Rng, race: &Race, h: &Horse) -> Vec<J> {
    let mut stable_tour = Vec::new();
    if rr.chance(0.02) {
        let d = past_date(rr, race.date, 30, 300);
        stable_tour.push(obj! {
            "quote" => format!(
                "{} {}. {}",
                if h.gender == super::world::Gender::Female { "She" } else { "He" },
                rr.pick(STABLE_TOUR),
                d.format("%d-%m-%y")
            ),
        });
    }
    stable_tour
}

/// Wind-surgery records (always for a horse running after wind surgery).
fn medical(rr: &mut Rng, race: &Race, r: &Runner) -> Vec<J> {
    let mut medical = Vec::new();
    if r.wind_run > 0 || rr.chance(0.04) {
        let n = if rr.chance(0.2) { 2 } else { 1 };
        let mut d = past_date(rr, race.date, 20, 200);
        for _ in 0..n {
            medical.push(obj! { "date" => d.to_string(), "type" => "Wind Surgery" });
            d = past_date(rr, d, 100, 500);
        }
    }
    medical
}

/// Course / distance / beaten-favourite flags.
fn past_results_flags(rr: &mut Rng) -> Vec<J> {
    if rr.chance(0.2) {
        match rr.below(5) {
            0 => vec![s("C")],
            1 => vec![s("D")],
            2 => vec![s("CD")],
            3 => vec![s("BF")],
            _ => vec![s("D"), s("BF")],
        }
    } else {
        Vec::new()
    }
}

/// `malformed_values`: some runners get one damaged field.
fn damage_card_runner(j: &mut J, runner_seed: u64) {
    if let Some(x) = damaged(runner_seed, "card-runner", 0.04) {
        match x % 5 {
            0 => j.set("lbs", s("abc")),
            1 => j.remove("horse_id"),
            2 => j.set("age", s("four")),
            3 => j.set("ofr", s("12x")),
            _ => j.set("draw", s("?")),
        }
    }
}

fn fall_phrase(code: &str, rng: &mut Rng) -> String {
    let n = rng.range(2, 9);
    let ord = match n {
        2 => "2nd".to_string(),
        3 => "3rd".to_string(),
        _ => format!("{n}th"),
    };
    match code {
        "PU" => format!("pulled up before {} out", rng.range(2, 4)),
        "F" => format!("fell {ord}"),
        "UR" => format!("unseated rider {ord}"),
        "BD" => format!("brought down {ord}"),
        "RO" => format!("ran out {ord}"),
        "SU" => format!("slipped up bend after {ord}"),
        "RR" => "refused to race".to_string(),
        "CO" => format!("carried out {ord}"),
        _ => "disqualified".to_string(),
    }
}

pub(crate) fn result(world: &World, race: &Race, opts: Opts) -> J {
    let c = &world.courses[race.course as usize];
    let mut ran: Vec<&Runner> = race.running().collect();
    ran.sort_by_key(|r| {
        if r.finished {
            (0, r.position.parse::<u32>().unwrap_or(0))
        } else {
            (1, r.number)
        }
    });
    let fav = ran.iter().map(|r| r.price).min().unwrap_or(0);
    let favs = ran.iter().filter(|r| r.price == fav).count();
    let runners: Vec<J> = ran
        .iter()
        .map(|r| result_runner(world, race, r, fav, favs, opts))
        .collect();
    let [tote_win, tote_pl, tote_ex, tote_csf, tote_tricast, tote_trifecta] = race.tote.clone();
    let mut j = obj! {
        "race_id" => &race.id,
        "date" => race.date.to_string(),
        "region" => race.region,
        "course" => c.name,
        "course_id" => &c.id,
        "off" => &race.off_time,
        "off_dt" => &race.off_dt,
        "race_name" => &race.name,
        "type" => race.rtype.label(),
        "class" => race_class(race),
        "pattern" => race.pattern,
        "rating_band" => &race.rating_band,
        "age_band" => race.age_band,
        "sex_rest" => race.sex_rest,
        "dist" => format::distance_round(race.dist_y),
        "dist_y" => race.dist_y.to_string(),
        "dist_m" => format::dist_m(race.dist_y),
        "dist_f" => format::dist_f(race.dist_y),
        "going" => race.going,
        "surface" => race.surface,
        "jumps" => &race.jumps,
        "runners" => runners,
        "winning_time_detail" => &race.winning_time_detail,
        "comments" => "",
        "non_runners" => &race.non_runners,
        "tote_win" => tote_win,
        "tote_pl" => tote_pl,
        "tote_ex" => tote_ex,
        "tote_csf" => tote_csf,
        "tote_tricast" => tote_tricast,
        "tote_trifecta" => tote_trifecta,
    };
    if opts.malformed {
        if let Some(h) = damaged(race.seed, "result-race", 0.03) {
            match h % 2 {
                0 => j.set("dist_y", s("n/a")),
                _ => j.set("off_dt", s("")),
            }
        }
    }
    if opts.extra {
        add_extras(&mut j, "race");
    }
    j
}

fn result_runner(world: &World, race: &Race, r: &Runner, fav: usize, favs: usize, opts: Opts) -> J {
    let h = &world.horses[r.horse as usize];
    let sire = world.horse(h.sire);
    let dam = world.horse(h.dam);
    let damsire = world.damsire_of(h);
    let trainer = &world.trainers[r.trainer as usize];
    let owner = &world.owners[r.owner as usize];
    let jockey = &world.jockeys[r.jockey as usize];
    let mut rr = Rng::new(r.seed ^ tag("result"));
    let mut sp = format::frac(r.price, "Evens");
    if r.price == fav {
        sp.push_str(if favs > 1 { "JF" } else { "F" });
    }
    let early = *rr.pick(RUN_EARLY);
    let mid = if race.rtype == RType::Flat {
        *rr.pick(RUN_MID)
    } else {
        *rr.pick(RUN_MID_JUMPS)
    };
    let end = if !r.finished {
        fall_phrase(&r.position, &mut rr)
    } else if r.position == "1" {
        rr.pick(RUN_WIN).to_string()
    } else if r.position.parse::<u32>().unwrap_or(99) <= 3 {
        rr.pick(RUN_PLACE).to_string()
    } else {
        rr.pick(RUN_BEATEN).to_string()
    };
    let market = match rr.below(4) {
        0 => format!(
            "(op {})",
            format::frac((r.price + 1).min(LADDER.len() - 1), "Evens")
        ),
        1 => format!(
            "(tchd {})",
            format::frac(r.price.saturating_sub(1), "Evens")
        ),
        2 => format!(
            "(op {} tchd {})",
            format::frac((r.price + 2).min(LADDER.len() - 1), "Evens"),
            format::frac((r.price + 1).min(LADDER.len() - 1), "Evens")
        ),
        _ => String::new(),
    };
    let (_, sire_s, _) = name_of(sire);
    let (_, dam_s, _) = name_of(dam);
    let (ds_n, _, _) = name_of(damsire);
    let draw = if race.rtype == RType::Flat {
        r.draw.to_string()
    } else {
        String::new()
    };
    let mut j = obj! {
        "horse_id" => h.id(),
        "horse" => h.suffixed(),
        "sp" => sp,
        "sp_dec" => format!("{:.2}", ladder_decimal(r.price)),
        "number" => r.number.to_string(),
        "position" => &r.position,
        "draw" => draw,
        "btn" => &r.btn,
        "ovr_btn" => &r.ovr_btn,
        "age" => h.age_on(race.date).to_string(),
        "sex" => h.sex_on(race.date).1,
        "weight" => format::weight(r.lbs),
        "weight_lbs" => r.lbs.to_string(),
        "headgear" => r.headgear,
        "time" => &r.time,
        "or" => opt_num(r.ofr, "–"),
        "rpr" => opt_num(r.res_rpr, "–"),
        "tsr" => opt_num(r.res_tsr, "–"),
        "prize" => &r.prize,
        "jockey" => &jockey.name,
        "jockey_claim_lbs" => jockey.claim.to_string(),
        "jockey_id" => format!("jky_{}", jockey.num),
        "trainer" => &trainer.name,
        "trainer_id" => format!("trn_{}", trainer.num),
        "owner" => &owner.name,
        "owner_id" => format!("own_{}", owner.num),
        "sire" => sire_s,
        "sire_id" => ped_id("sir", sire),
        "dam" => dam_s,
        "dam_id" => ped_id("dam", dam),
        "damsire" => ds_n,
        "damsire_id" => ped_id("dsi", damsire),
        "comment" => format!("{early} - {mid} - {end}{market}"),
        "silk_url" => world.silk_url(r.owner),
    };
    if opts.malformed {
        if let Some(x) = damaged(r.seed, "result-runner", 0.04) {
            match x % 5 {
                0 => j.set("weight_lbs", s("abc")),
                1 => j.remove("horse_id"),
                2 => j.set("sp_dec", s("?")),
                3 => j.set("or", s("12x")),
                _ => j.set("position", s("")),
            }
        }
    }
    if opts.extra {
        add_extras(&mut j, "runner");
    }
    j
}

pub(crate) fn summary(world: &World, race: &Race) -> J {
    let c = &world.courses[race.course as usize];
    obj! {
        "date" => race.date.to_string(),
        "region" => race.region,
        "course_id" => &c.id,
        "course" => c.name,
        "race_id" => &race.id,
        "race_name" => &race.name,
        "race_class" => race_class(race),
        "off_time" => &race.off_time,
        "off_dt" => &race.off_dt,
        "big_race" => race.big_race,
        "is_abandoned" => race.abandoned,
    }
}

/// `/horses/{id}/pro`. Names carry the country suffix; the sex is as of `today`.
pub(crate) fn horse_pro(world: &World, idx: u32, today: NaiveDate, opts: Opts) -> J {
    let h = &world.horses[idx as usize];
    let sire = world.horse(h.sire);
    let dam = world.horse(h.dam);
    let damsire = world.damsire_of(h);
    let (sex, sex_code) = match h.role {
        Role::Stallion => ("horse", "H"),
        Role::Mare => ("mare", "M"),
        Role::Racer => h.sex_on(today),
    };
    let (_, sire_s, _) = name_of(sire);
    let (_, dam_s, _) = name_of(dam);
    let (_, ds_s, _) = name_of(damsire);
    let mut j = obj! {
        "id" => h.id(),
        "breeder" => &h.breeder,
        "colour" => h.colour,
        "colour_code" => h.colour.to_uppercase(),
        "dam" => dam_s,
        "dam_id" => ped_id("dam", dam),
        "damsire" => ds_s,
        "damsire_id" => ped_id("dsi", damsire),
        "dob" => h.dob.to_string(),
        "name" => h.suffixed(),
        "sex" => sex,
        "sex_code" => sex_code,
        "sire" => sire_s,
        "sire_id" => ped_id("sir", sire),
    };
    if opts.malformed && damaged(h.seed, "horse", 0.05).is_some() {
        j.set("dob", s("not-a-date"));
    }
    if opts.extra {
        add_extras(&mut j, "horse");
    }
    j
}

pub(crate) fn course(c: &super::world::Course) -> J {
    obj! {
        "id" => &c.id,
        "course" => c.name,
        "region_code" => c.region.to_lowercase(),
        "region" => region_name(c.region),
    }
}

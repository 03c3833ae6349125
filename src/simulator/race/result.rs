//! Step 5 of a race: the result. The finishing order is drawn by fair probability; hazards by
//! race type (pulled up, fell, unseated …) take some runners out (if all would be, the first of
//! them finishes); finishers get positions 1..n, beaten distances, times from the race's
//! standard time and the going, prize money for the places (GB: shares of the winner's prize
//! in pounds; IRE: shares of the total fund in euros) and performance ratings; non-finishers
//! keep their code and no time. Then the Tote dividends.

use super::conditions::{Conditions, RType};
use super::Runner;
use crate::simulator::format::{self, ladder_decimal};
use crate::simulator::rng::Rng;

/// What the result leaves for the rest of the race.
#[derive(Clone, Debug)]
pub(super) struct Outcome {
    /// Indexes into the runners, in finishing order.
    pub finishers: Vec<usize>,
    /// The winner's time and the standard time, in centiseconds.
    pub win_cs: u64,
    pub std_cs: u64,
}

/// Non-finishing codes and their chance per runner, by race type (first hit wins).
fn hazards(rtype: RType) -> &'static [(&'static str, f64)] {
    match rtype {
        RType::Flat => &[("UR", 0.002), ("RR", 0.002), ("PU", 0.002), ("DSQ", 0.001)],
        RType::NhFlat => &[("PU", 0.02), ("UR", 0.003)],
        RType::Hurdle => &[
            ("PU", 0.07),
            ("F", 0.015),
            ("UR", 0.015),
            ("BD", 0.003),
            ("RO", 0.003),
            ("SU", 0.002),
            ("RR", 0.001),
            ("CO", 0.001),
        ],
        RType::Chase => &[
            ("PU", 0.10),
            ("F", 0.04),
            ("UR", 0.03),
            ("BD", 0.005),
            ("RO", 0.005),
            ("SU", 0.003),
            ("RR", 0.003),
            ("CO", 0.002),
        ],
    }
}

/// Beaten distances between consecutive finishers (lengths) and their weights.
const GAPS: &[(f64, u32)] = &[
    (0.1, 4),
    (0.2, 5),
    (0.3, 6),
    (0.5, 12),
    (0.75, 10),
    (1.0, 10),
    (1.25, 8),
    (1.5, 7),
    (1.75, 6),
    (2.0, 6),
    (2.5, 6),
    (3.0, 5),
    (3.5, 4),
    (4.0, 4),
    (5.0, 3),
    (6.0, 3),
    (8.0, 2),
    (10.0, 2),
    (15.0, 1),
    (25.0, 1),
];

/// Prize shares by place: GB of the winner's prize, IRE of the total fund.
pub(super) const GB_SHARE: [f64; 6] = [1.0, 0.4692, 0.2344, 0.1173, 0.0585, 0.0292];
pub(super) const IRE_SHARE: [f64; 6] = [0.59, 0.19, 0.09, 0.05, 0.03, 0.02];

/// How many places are paid: six in classes 1–2, else five (never more than ran).
pub(super) fn paid_places(c: &Conditions, running: usize) -> usize {
    running.min(if c.class != 0 && c.class <= 2 { 6 } else { 5 })
}

/// Runs the race: fills position, finished, distances, time, prize and result ratings of every
/// runner (non-runners untouched). Draws from the race's stream: the finishing order, then the
/// time; each runner's hazard and distance come from its own stream.
pub(super) fn run(c: &Conditions, going: &str, runners: &mut [Runner], rng: &mut Rng) -> Outcome {
    let flat = c.flat();
    let running: Vec<usize> = (0..runners.len()).filter(|&i| !runners[i].nr).collect();
    let mut remaining: Vec<usize> = running.clone();
    let mut finish_order = Vec::new();
    while !remaining.is_empty() {
        let tot: f64 = remaining.iter().map(|&i| runners[i].fair_p).sum();
        let mut x = rng.f64() * tot;
        let mut k = remaining.len() - 1;
        for (j, &i) in remaining.iter().enumerate() {
            if x < runners[i].fair_p {
                k = j;
                break;
            }
            x -= runners[i].fair_p;
        }
        finish_order.push(remaining.remove(k));
    }
    let hazards = hazards(c.rtype);
    let mut finishers = Vec::new();
    let mut fallers = Vec::new();
    for &i in &finish_order {
        let mut hr = Rng::new(runners[i].seed ^ 0x4655);
        let mut code = None;
        for &(what, chance) in hazards {
            if hr.chance(chance) {
                code = Some(what);
                break;
            }
        }
        match code {
            Some(what) => fallers.push((i, what)),
            None => finishers.push(i),
        }
    }
    if finishers.is_empty() && !fallers.is_empty() {
        let (i, _) = fallers.remove(0);
        finishers.push(i);
    }
    let speed = match c.rtype {
        RType::Flat => 16.6 + (1320.0 / c.dist_y as f64).min(1.2) * 1.6,
        RType::NhFlat => 15.2,
        RType::Hurdle => 14.9,
        RType::Chase => 14.4,
    };
    let std_cs = (c.dist_y as f64 / speed * 100.0) as u64;
    let going_slow = match going {
        "Heavy" => 0.09,
        "Soft" | "Yielding To Soft" => 0.05,
        "Good To Soft" | "Yielding" | "Standard To Slow" | "Slow" => 0.025,
        "Good To Firm" | "Firm" => -0.01,
        _ => 0.008,
    };
    let win_cs = (std_cs as f64 * (1.0 + going_slow + (rng.f64() - 0.35) * 0.03)).round() as u64;
    let per_length = if flat { 0.2 } else { 0.25 };
    let gap_w: Vec<u32> = GAPS.iter().map(|g| g.1).collect();
    let places = paid_places(c, running.len());
    let mut ovr = 0.0f64;
    for (pos0, &i) in finishers.iter().enumerate() {
        let r = &mut runners[i];
        let mut gr = Rng::new(r.seed ^ 0x4254);
        let btn = if pos0 == 0 {
            0.0
        } else {
            let g = GAPS[gr.weighted(&gap_w)].0;
            g * if flat { 1.0 } else { 1.0 + pos0 as f64 * 0.3 }
        };
        let btn = if btn > 1.0 { format::quarter(btn) } else { btn };
        ovr = format::quarter(ovr + btn);
        r.position = (pos0 + 1).to_string();
        r.finished = true;
        r.btn = format::lengths(btn);
        r.ovr_btn = format::lengths(ovr);
        r.time = format::race_time(win_cs + (ovr * per_length * 100.0).round() as u64);
        r.prize = if pos0 < places {
            place_prize(c, pos0)
        } else {
            String::new()
        };
        let base_rpr = r.ofr.or(r.rpr).unwrap_or(c.rating_top.saturating_sub(15)) as f64;
        let perf = base_rpr + 6.0 - ovr.min(40.0) * if flat { 1.5 } else { 1.0 };
        r.res_rpr = (perf > 0.0 && gr.chance(0.95)).then_some(perf.round() as u32);
        r.res_tsr = (perf > 20.0 && gr.chance(0.6))
            .then_some((perf - gr.range(5, 30) as f64).max(1.0) as u32);
    }
    for &(i, code) in &fallers {
        let r = &mut runners[i];
        r.position = code.to_string();
        r.time = "–".to_string();
    }
    Outcome {
        finishers,
        win_cs,
        std_cs,
    }
}

/// The prize of place `pos0` (0-based) as the result shows it: `"€1770"` in Ireland,
/// `"3245.08"` (pounds) in GB.
fn place_prize(c: &Conditions, pos0: usize) -> String {
    if c.ire {
        format!("€{}", (c.prize as f64 * IRE_SHARE[pos0]).round() as u64)
    } else {
        format::pounds((c.prize as f64 * GB_SHARE[pos0]).round() as u64)
    }
}

/// The Tote dividends (win, places, exacta, CSF, tricast, trifecta) of a result, from the race's
/// stream; empty when nobody finished.
pub(super) fn tote_dividends(
    rng: &mut Rng,
    runners: &[Runner],
    finishers: &[usize],
    handicap: bool,
    sym: &str,
) -> [String; 6] {
    let running = runners.iter().filter(|r| !r.nr).count();
    let dec = |i: usize| ladder_decimal(runners[i].price);
    let cents = |x: f64| (x.max(1.05) * 100.0).round() as u64;
    let Some(&first) = finishers.first() else {
        return Default::default();
    };
    let win = dec(first) * (0.8 + rng.f64() * 0.45);
    let tote_win = format::tote(sym, cents(win) / 10 * 10);
    let n_places = match running {
        0..=4 => 0,
        5..=7 => 2,
        8..=15 => 3,
        _ => 4,
    };
    let tote_pl = finishers
        .iter()
        .take(n_places)
        .map(|&i| {
            let x = 1.1 + (dec(i) - 1.0) / 4.5 * (0.8 + rng.f64() * 0.4);
            format::tote(sym, cents(x) / 10 * 10)
        })
        .collect::<Vec<_>>()
        .join(" ");
    let second = finishers.get(1).map(|&i| dec(i));
    let third = finishers.get(2).map(|&i| dec(i));
    let tote_ex = second
        .map(|s| format::tote(sym, cents(win * s * (0.6 + rng.f64() * 0.5)) / 10 * 10))
        .unwrap_or_default();
    let tote_csf = second
        .map(|s| format::tote(sym, cents(win * s * (0.7 + rng.f64() * 0.3))))
        .unwrap_or_default();
    let tote_tricast = match (second, third) {
        (Some(s), Some(t)) if handicap && running >= 8 => {
            format::tote(sym, cents(win * s * t * (0.6 + rng.f64() * 0.4)))
        }
        _ => String::new(),
    };
    let tote_trifecta = match (second, third) {
        (Some(s), Some(t)) => {
            format::tote(sym, cents(win * s * t * (0.5 + rng.f64() * 0.6)) / 10 * 10)
        }
        _ => String::new(),
    };
    [
        tote_win,
        tote_pl,
        tote_ex,
        tote_csf,
        tote_tricast,
        tote_trifecta,
    ]
}

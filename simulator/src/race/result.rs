//! Step 5 of a race: the result. The finishing order is drawn by fair probability; hazards by
//! race type (pulled up, fell, unseated …) take some runners out (if all would be, the first of
//! them finishes); finishers get positions 1..n, beaten distances, times from the race's
//! standard time and the going, prize money for the places (GB: shares of the winner's prize
//! in pounds; IRE: shares of the total fund in euros) and performance ratings; non-finishers
//! keep their code and no time. Then the Tote dividends.

use super::conditions::{Conditions, RType};
use super::Runner;
use crate::format::{self, ladder_decimal};
use crate::rng::Rng;

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
    let (finishers, fallers) = split_finishers(&finish_order, |i| {
        let mut hr = Rng::new(runners[i].seed ^ 0x4655);
        hazards(c.rtype)
            .iter()
            .find(|&&(_, chance)| hr.chance(chance))
            .map(|&(what, _)| what)
    });
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

/// Splits the finishing order into finishers and non-finishers (with the code `code_of` gives a
/// runner, if any). Somebody always finishes: if every runner would fail to, the first does.
fn split_finishers(
    order: &[usize],
    mut code_of: impl FnMut(usize) -> Option<&'static str>,
) -> (Vec<usize>, Vec<(usize, &'static str)>) {
    let mut finishers = Vec::new();
    let mut fallers = Vec::new();
    for &i in order {
        match code_of(i) {
            Some(what) => fallers.push((i, what)),
            None => finishers.push(i),
        }
    }
    if finishers.is_empty() && !fallers.is_empty() {
        let (i, _) = fallers.remove(0);
        finishers.push(i);
    }
    (finishers, fallers)
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

#[cfg(test)]
mod tests {
    use super::super::testkit::samples;
    use super::*;

    #[test]
    fn finishers_are_placed_1_to_n_in_order_then_non_finishers_keep_their_code() {
        let mut fell = 0;
        for mut s in samples() {
            let out = s.run();
            let running = s.running().count();
            assert!(!out.finishers.is_empty() || running == 0, "nobody finished");
            for (k, &i) in out.finishers.iter().enumerate() {
                let r = &s.runners[i];
                assert_eq!(r.position, (k + 1).to_string());
                assert!(r.finished && !r.nr);
            }
            let codes: Vec<&str> = hazards(s.cond.rtype).iter().map(|h| h.0).collect();
            let mut others = 0;
            for (i, r) in s.runners.iter().enumerate() {
                if r.nr {
                    assert!(r.position.is_empty() && r.time.is_empty() && !r.finished);
                } else if !out.finishers.contains(&i) {
                    others += 1;
                    assert!(codes.contains(&r.position.as_str()), "{}", r.position);
                    assert!(!r.finished && r.time == "–" && r.prize.is_empty());
                }
            }
            assert_eq!(out.finishers.len() + others, running);
            fell += others;
        }
        assert!(fell > 0, "no race had a non-finisher");
    }

    #[test]
    fn distances_and_times_grow_down_the_field() {
        for mut s in samples() {
            let out = s.run();
            let placed: Vec<&Runner> = out.finishers.iter().map(|&i| &s.runners[i]).collect();
            let Some(winner) = placed.first() else {
                continue;
            };
            assert_eq!((winner.btn.as_str(), winner.ovr_btn.as_str()), ("0", "0"));
            assert_eq!(winner.time, format::race_time(out.win_cs));
            let secs = |t: &str| {
                let (m, s) = t.split_once(':').expect("m:s");
                m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
            };
            let lengths = |t: &str| t.parse::<f64>().unwrap();
            for pair in placed.windows(2) {
                assert!(lengths(&pair[1].ovr_btn) >= lengths(&pair[0].ovr_btn));
                assert!(secs(&pair[1].time) >= secs(&pair[0].time));
                assert!(lengths(&pair[1].btn) > 0.0, "no dead heats are generated");
            }
        }
    }

    #[test]
    fn the_places_are_paid_in_the_races_currency() {
        for mut s in samples() {
            let out = s.run();
            let places = paid_places(&s.cond, s.running().count());
            for (k, &i) in out.finishers.iter().enumerate() {
                let prize = &s.runners[i].prize;
                if k >= places {
                    assert!(prize.is_empty(), "place {} paid {prize}", k + 1);
                } else if s.cond.ire {
                    let euros: f64 = prize.strip_prefix('€').expect("euros").parse().unwrap();
                    let want = (s.cond.prize as f64 * IRE_SHARE[k]).round();
                    assert_eq!(euros, want, "{prize}");
                } else {
                    let (pounds, pence) = prize.split_once('.').expect("pounds.pence");
                    assert_eq!(pence.len(), 2, "{prize}");
                    let pence =
                        pounds.parse::<u64>().unwrap() * 100 + pence.parse::<u64>().unwrap();
                    if k == 0 {
                        assert_eq!(pence, s.cond.prize, "the winner takes the race's prize");
                    }
                    assert!(pence <= s.cond.prize);
                }
            }
        }
    }

    #[test]
    fn somebody_always_finishes_even_when_every_runner_falls() {
        let (finishers, fallers) = split_finishers(&[3, 1, 2], |_| Some("F"));
        assert_eq!(finishers, vec![3]);
        assert_eq!(fallers, vec![(1, "F"), (2, "F")]);
        let (finishers, fallers) = split_finishers(&[3, 1, 2], |i| (i == 1).then_some("PU"));
        assert_eq!((finishers, fallers), (vec![3, 2], vec![(1, "PU")]));
    }

    #[test]
    fn prizes_read_like_the_api_pounds_and_pence_in_gb_whole_euros_in_ireland() {
        let mut s = samples().remove(0);
        s.cond.ire = false;
        s.cond.prize = 500_000;
        let gb: Vec<String> = (0..6).map(|k| place_prize(&s.cond, k)).collect();
        assert_eq!(
            gb,
            ["5000.00", "2346.00", "1172.00", "586.50", "292.50", "146.00"]
        );
        s.cond.ire = true;
        s.cond.prize = 10_000;
        let ire: Vec<String> = (0..6).map(|k| place_prize(&s.cond, k)).collect();
        assert_eq!(ire, ["€5900", "€1900", "€900", "€500", "€300", "€200"]);
    }

    #[test]
    fn six_places_are_paid_in_classes_1_and_2_else_five_never_more_than_ran() {
        let mut s = samples().remove(0);
        for (class, running, paid) in [(1, 10, 6), (2, 7, 6), (3, 10, 5), (0, 10, 5), (1, 4, 4)] {
            s.cond.class = class;
            assert_eq!(paid_places(&s.cond, running), paid, "class {class}");
        }
    }
}

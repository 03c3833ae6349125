//! Value formatting in the API's house style (distances, weights, money, odds, times).

/// The fractional odds ladder, shortest first.
pub(crate) const LADDER: &[(u32, u32)] = &[
    (1, 10),
    (1, 8),
    (1, 7),
    (1, 6),
    (1, 5),
    (2, 9),
    (1, 4),
    (2, 7),
    (3, 10),
    (1, 3),
    (4, 11),
    (2, 5),
    (4, 9),
    (1, 2),
    (8, 15),
    (4, 7),
    (8, 13),
    (4, 6),
    (8, 11),
    (4, 5),
    (5, 6),
    (10, 11),
    (1, 1),
    (11, 10),
    (6, 5),
    (5, 4),
    (11, 8),
    (6, 4),
    (13, 8),
    (7, 4),
    (15, 8),
    (2, 1),
    (9, 4),
    (5, 2),
    (11, 4),
    (3, 1),
    (10, 3),
    (7, 2),
    (4, 1),
    (9, 2),
    (5, 1),
    (11, 2),
    (6, 1),
    (13, 2),
    (7, 1),
    (15, 2),
    (8, 1),
    (17, 2),
    (9, 1),
    (10, 1),
    (11, 1),
    (12, 1),
    (14, 1),
    (16, 1),
    (18, 1),
    (20, 1),
    (22, 1),
    (25, 1),
    (28, 1),
    (33, 1),
    (40, 1),
    (50, 1),
    (66, 1),
    (80, 1),
    (100, 1),
    (125, 1),
    (150, 1),
    (200, 1),
    (250, 1),
];

pub(crate) fn ladder_decimal(i: usize) -> f64 {
    let (n, d) = LADDER[i];
    n as f64 / d as f64 + 1.0
}

/// The ladder index whose decimal price is closest (in log space) to `dec`.
pub(crate) fn nearest_ladder(dec: f64) -> usize {
    let target = dec.max(1.01).ln();
    let mut best = 0;
    let mut best_d = f64::MAX;
    for i in 0..LADDER.len() {
        let d = (ladder_decimal(i).ln() - target).abs();
        if d < best_d {
            best_d = d;
            best = i;
        }
    }
    best
}

/// "9/4"; `evens` decides how 1/1 is written.
pub(crate) fn frac(i: usize, evens: &'static str) -> String {
    let (n, d) = LADDER[i];
    if n == d {
        evens.to_string()
    } else {
        format!("{n}/{d}")
    }
}

/// Minimal decimal: 23 → "23", 7.5 → "7.5", 1.3636 → "1.36".
pub(crate) fn dec_min(x: f64) -> String {
    let s = format!("{:.2}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Rounds a decimal price to a Betfair-style tick.
pub(crate) fn exchange_tick(x: f64) -> f64 {
    let step = if x < 2.0 {
        0.01
    } else if x < 3.0 {
        0.02
    } else if x < 4.0 {
        0.05
    } else if x < 6.0 {
        0.1
    } else if x < 10.0 {
        0.2
    } else if x < 20.0 {
        0.5
    } else if x < 30.0 {
        1.0
    } else if x < 50.0 {
        2.0
    } else if x < 100.0 {
        5.0
    } else {
        10.0
    };
    ((x / step).round() * step).max(1.01)
}

/// 12-hour clock without am/pm: 20:30 → "8:30", 12:05 → "12:05".
pub(crate) fn off_time(minutes: u32) -> String {
    let h = minutes / 60;
    let m = minutes % 60;
    let h12 = if h.is_multiple_of(12) { 12 } else { h % 12 };
    format!("{h12}:{m:02}")
}

/// Full distance: "2m53y", "1m7f209y", "6f", "1m".
pub(crate) fn distance(yards: u32) -> String {
    let m = yards / 1760;
    let rest = yards % 1760;
    let f = rest / 220;
    let y = rest % 220;
    let mut s = String::new();
    if m > 0 {
        s.push_str(&format!("{m}m"));
    }
    if f > 0 {
        s.push_str(&format!("{f}f"));
    }
    if y > 0 {
        s.push_str(&format!("{y}y"));
    }
    s
}

/// Distance rounded to the nearest furlong: "2m", "1m4f", "6f".
pub(crate) fn distance_round(yards: u32) -> String {
    let f = ((yards as f64) / 220.0).round() as u32;
    distance(f * 220)
}

fn half_furlongs(yards: u32) -> f64 {
    ((yards as f64) / 110.0).round() / 2.0
}

/// Racecard `distance_f`: "16.0", "10.5".
pub(crate) fn distance_f(yards: u32) -> String {
    format!("{:.1}", half_furlongs(yards))
}

/// Result `dist_f`: "8f", "10.5f".
pub(crate) fn dist_f(yards: u32) -> String {
    let f = half_furlongs(yards);
    if f.fract() == 0.0 {
        format!("{}f", f as u32)
    } else {
        format!("{f:.1}f")
    }
}

pub(crate) fn dist_m(yards: u32) -> String {
    ((yards as f64) * 0.9144).round().to_string()
}

/// Stones-pounds: 122 → "8-10".
pub(crate) fn weight(lbs: u32) -> String {
    format!("{}-{}", lbs / 14, lbs % 14)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Racecard prize: "£4,193" / "€10,000".
pub(crate) fn card_prize(symbol: &str, whole: u64) -> String {
    format!("{symbol}{}", thousands(whole))
}

/// Pence → "3245.08".
pub(crate) fn pounds(pence: u64) -> String {
    format!("{}.{:02}", pence / 100, pence % 100)
}

/// Tote dividend: "£3.25", whole amounts without decimals ("£29").
pub(crate) fn tote(symbol: &str, cents: u64) -> String {
    if cents.is_multiple_of(100) {
        format!("{symbol}{}", cents / 100)
    } else {
        format!("{symbol}{}.{:02}", cents / 100, cents % 100)
    }
}

/// Race time from centiseconds: "1:43.25", "0:58.40", "3:5.82" (seconds not padded).
pub(crate) fn race_time(cs: u64) -> String {
    let m = cs / 6000;
    let rest = cs % 6000;
    format!("{}:{}.{:02}", m, rest / 100, rest % 100)
}

/// "1m 43.25s (slow by 5.55s)".
pub(crate) fn winning_time_detail(cs: u64, std_cs: u64) -> String {
    let m = cs / 6000;
    let rest = cs % 6000;
    let main = if m > 0 {
        format!("{}m {}.{:02}s", m, rest / 100, rest % 100)
    } else {
        format!("{}.{:02}s", rest / 100, rest % 100)
    };
    let (word, diff) = if cs >= std_cs {
        ("slow", cs - std_cs)
    } else {
        ("fast", std_cs - cs)
    };
    format!("{main} ({word} by {}.{:02}s)", diff / 100, diff % 100)
}

/// Beaten distances in quarter lengths ("0.1"/"0.2"/"0.3" for nose/short head/head).
pub(crate) fn lengths(q: f64) -> String {
    if q <= 0.0 {
        return "0".to_string();
    }
    if q < 0.5 && (q * 10.0).fract().abs() < 1e-9 && (q * 4.0).fract().abs() > 1e-9 {
        return format!("{q:.1}");
    }
    let s = dec_min(q);
    match s.strip_prefix('0') {
        Some(rest) if rest.starts_with('.') => rest.to_string(),
        _ => s,
    }
}

pub(crate) fn quarter(x: f64) -> f64 {
    (x * 4.0).round() / 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(off_time(20 * 60 + 30), "8:30");
        assert_eq!(off_time(12 * 60 + 5), "12:05");
        assert_eq!(distance(3573), "2m53y");
        assert_eq!(distance(1760 + 7 * 220 + 209), "1m7f209y");
        assert_eq!(distance(1760), "1m");
        assert_eq!(distance_round(1773), "1m");
        assert_eq!(distance_f(3573), "16.0");
        assert_eq!(dist_f(2443), "11f");
        assert_eq!(weight(122), "8-10");
        assert_eq!(card_prize("£", 4193), "£4,193");
        assert_eq!(card_prize("€", 10000), "€10,000");
        assert_eq!(pounds(324508), "3245.08");
        assert_eq!(race_time(10325), "1:43.25");
        assert_eq!(race_time(18582), "3:5.82");
        assert_eq!(race_time(5840), "0:58.40");
        assert_eq!(
            winning_time_detail(10325, 9770),
            "1m 43.25s (slow by 5.55s)"
        );
        assert_eq!(lengths(0.5), ".5");
        assert_eq!(lengths(0.75), ".75");
        assert_eq!(lengths(0.3), "0.3");
        assert_eq!(lengths(1.25), "1.25");
        assert_eq!(lengths(11.0), "11");
        assert_eq!(dec_min(23.0), "23");
        assert_eq!(dec_min(7.5), "7.5");
        assert_eq!(dec_min(4.0 / 11.0 + 1.0), "1.36");
        assert_eq!(frac(22, "Evens"), "Evens");
        assert_eq!(format!("{:.2}", ladder_decimal(28)), "2.62");
        assert_eq!(format!("{:.2}", ladder_decimal(26)), "2.38");
        assert_eq!(tote("£", 2900), "£29");
        assert_eq!(tote("£", 325), "£3.25");
        assert_eq!(nearest_ladder(3.25), 32);
    }
}

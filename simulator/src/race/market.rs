//! Step 4 of a race: the market. Each runner's strength (recent form against the field's, its
//! hidden ability, some noise) becomes a fair win probability over the horses left to run, and
//! a starting price on the fractional ladder once the book's overround is added. After the
//! result, the racecard's betting extras: when the odds were updated, which bookmakers price
//! the race, the tip and verdict, and the betting forecast (favourites first).

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::conditions::Conditions;
use super::Runner;
use crate::format::{self, nearest_ladder};
use crate::names::BOOKMAKERS;
use crate::rng::Rng;
use crate::world::World;

/// Sets `fair_p` (summing to 1 over the runners; non-runners get a share of nothing) and
/// `price` (a ladder index) on every runner. One draw of the race's stream: the overround.
pub(super) fn price(world: &World, c: &Conditions, runners: &mut [Runner], rng: &mut Rng) {
    let form_of = |r: &Runner| r.rpr.or(r.ofr).unwrap_or(c.rating_top.saturating_sub(15)) as f64;
    let mean_form = runners.iter().map(form_of).sum::<f64>() / runners.len().max(1) as f64;
    let strengths: Vec<f64> = runners
        .iter()
        .map(|r| {
            let h = &world.horses[r.horse as usize];
            let mut nr = Rng::new(r.seed ^ 0x5354);
            let noise = (nr.f64() + nr.f64() + nr.f64() - 1.5) * 0.9;
            let rel = (form_of(r) - mean_form) / if c.handicap { 25.0 } else { 9.0 };
            rel.clamp(-1.6, 1.6) + h.ability as f64 / 65.0 + noise
        })
        .collect();
    let total_w: f64 = runners
        .iter()
        .zip(&strengths)
        .filter(|(r, _)| !r.nr)
        .map(|(_, s)| s.exp())
        .sum();
    let overround = 1.12 + rng.f64() * 0.15;
    for (r, s) in runners.iter_mut().zip(&strengths) {
        let pfair = s.exp() / total_w;
        r.fair_p = pfair;
        r.price = nearest_ladder(1.0 / (pfair * overround).min(0.95));
    }
}

/// The racecard's betting extras.
#[derive(Clone, Debug)]
pub(super) struct CardBetting {
    pub odds_updated: String,
    pub bookies: Vec<&'static str>,
    pub exchange: bool,
    pub tip: String,
    pub verdict: String,
    pub betting_forecast: String,
}

/// The betting extras of a priced field (runners in number order), from the race's stream.
pub(super) fn card_betting(
    world: &World,
    date: NaiveDate,
    off_min: u32,
    runners: &[Runner],
    rng: &mut Rng,
) -> CardBetting {
    let updated_off = off_min as i64 - rng.range(2, 45);
    let updated = NaiveDateTime::new(date, NaiveTime::MIN)
        + Duration::minutes(updated_off)
        + Duration::seconds(rng.range(0, 59));
    let odds_updated = updated.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut bookies: Vec<&'static str> = Vec::new();
    let want = rng.range(6, 12) as usize;
    let mut all: Vec<usize> = (0..BOOKMAKERS.len()).collect();
    rng.shuffle(&mut all);
    let mut chosen: Vec<usize> = all.into_iter().take(want).collect();
    chosen.sort_unstable();
    for i in chosen {
        bookies.push(BOOKMAKERS[i]);
    }
    let exchange = rng.chance(0.8);

    let by_price = by_price(runners);
    let horse_name = |r: &Runner| world.horses[r.horse as usize].name.clone();
    let tip = by_price
        .get(if rng.chance(0.7) { 0 } else { 1 })
        .or(by_price.first())
        .map(|r| horse_name(r))
        .unwrap_or_default();
    let verdict = if tip.is_empty() {
        String::new()
    } else {
        format!(
            "{} {}.",
            tip.to_uppercase(),
            [
                "looks the one to beat on recent form",
                "has solid claims and is taken to come out on top",
                "should take plenty of beating",
                "gets the vote in an open contest",
            ][rng.below(4)]
        )
    };
    let mut forecast = String::new();
    let mut last_price = usize::MAX;
    for (i, r) in by_price.iter().take(8).enumerate() {
        if i > 0 {
            forecast.push_str(", ");
        }
        if r.price == last_price {
            forecast.push(' ');
        } else {
            forecast.push_str(&format::frac(r.price, "Evens"));
            forecast.push(' ');
        }
        forecast.push_str(&horse_name(r));
        last_price = r.price;
    }
    CardBetting {
        odds_updated,
        bookies,
        exchange,
        tip,
        verdict,
        betting_forecast: forecast,
    }
}

/// The runners left to run, shortest price first (then by number).
pub(super) fn by_price(runners: &[Runner]) -> Vec<&Runner> {
    let mut by_price: Vec<&Runner> = runners.iter().filter(|r| !r.nr).collect();
    by_price.sort_by_key(|r| (r.price, r.number));
    by_price
}

#[cfg(test)]
mod tests {
    use super::super::super::format::{ladder_decimal, LADDER};
    use super::super::testkit::{samples, world};
    use super::*;

    #[test]
    fn fair_probabilities_of_the_runners_left_sum_to_one() {
        for mut s in samples() {
            s.price();
            let total: f64 = s.running().map(|r| r.fair_p).sum();
            assert!((total - 1.0).abs() < 1e-9, "{total}");
            assert!(s
                .runners
                .iter()
                .all(|r| r.fair_p > 0.0 && r.price < LADDER.len()));
        }
    }

    #[test]
    fn fractional_and_decimal_prices_agree() {
        for mut s in samples() {
            s.price();
            for r in &s.runners {
                let frac = format::frac(r.price, "Evens");
                let (n, d) = match frac.split_once('/') {
                    Some((n, d)) => (n.parse::<f64>().unwrap(), d.parse::<f64>().unwrap()),
                    None => {
                        assert_eq!(frac, "Evens");
                        (1.0, 1.0)
                    }
                };
                assert!(
                    (ladder_decimal(r.price) - (n / d + 1.0)).abs() < 1e-9,
                    "{frac}"
                );
            }
        }
    }

    #[test]
    fn a_shorter_price_means_a_likelier_winner_and_the_book_is_over_round() {
        for mut s in samples() {
            s.price();
            let running: Vec<&Runner> = s.running().collect();
            for a in &running {
                for b in &running {
                    if a.fair_p > b.fair_p {
                        assert!(a.price <= b.price, "favourite priced longer");
                    }
                }
            }
            let fav = by_price(&s.runners)[0];
            assert!(running
                .iter()
                .all(|r| r.fair_p <= fav.fair_p || r.price == fav.price));
            let book: f64 = running.iter().map(|r| 1.0 / ladder_decimal(r.price)).sum();
            assert!(
                (1.0..1.6).contains(&book),
                "book {book} for {} runners",
                running.len()
            );
        }
    }

    #[test]
    fn the_card_forecasts_the_favourites_first_and_tips_one_of_them() {
        let w = world();
        for mut s in samples() {
            s.run();
            let b = card_betting(w, s.date, s.plan.off_min, &s.runners, &mut s.rng);
            let order = by_price(&s.runners);
            let name = |r: &Runner| w.horses[r.horse as usize].name.clone();
            let fav = format!(
                "{} {}",
                format::frac(order[0].price, "Evens"),
                name(order[0])
            );
            assert!(
                b.betting_forecast.starts_with(&fav),
                "{}",
                b.betting_forecast
            );
            let listed = b.betting_forecast.split(", ").count();
            assert_eq!(listed, order.len().min(8));
            let second = order.get(1).unwrap_or(&order[0]);
            assert!(
                b.tip == name(order[0]) || b.tip == name(second),
                "tip {}",
                b.tip
            );
            assert!(b.verdict.starts_with(&b.tip.to_uppercase()));
            assert!((6..=12).contains(&b.bookies.len()));
            let distinct: std::collections::HashSet<_> = b.bookies.iter().collect();
            assert_eq!(distinct.len(), b.bookies.len(), "a bookmaker twice");
            assert!(b.odds_updated.starts_with(&s.date.to_string()));
        }
    }
}

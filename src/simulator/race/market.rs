//! Step 4 of a race: the market. Each runner's strength (recent form against the field's, its
//! hidden ability, some noise) becomes a fair win probability over the horses left to run, and
//! a starting price on the fractional ladder once the book's overround is added. After the
//! result, the racecard's betting extras: when the odds were updated, which bookmakers price
//! the race, the tip and verdict, and the betting forecast (favourites first).

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::conditions::Conditions;
use super::Runner;
use crate::simulator::format::{self, nearest_ladder};
use crate::simulator::names::BOOKMAKERS;
use crate::simulator::rng::Rng;
use crate::simulator::world::World;

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

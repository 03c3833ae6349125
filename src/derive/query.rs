//! The reads behind `paddock query`: an entity's figures with its best courses and its
//! distance bands, or a race's card with each runner's form figures and latest odds, as plain
//! structs that render as a terminal table or as JSON.
//!
//! Values are read as text (`CAST(… AS TEXT)`, the same on both backends) and parsed here;
//! the entity and race asked for are bound parameters.

use super::sql::FIGURE_COLUMNS;
use crate::store::dialect::{Dialect, Params};
use crate::store::{with_backend, AnyStore, SqlStore, TextRow};
use anyhow::{Context, Result};
use fetchers::derived::{DistanceBands, EntityKind};
use fetchers::registry::ColumnType;
use fetchers::rows::Value;
use serde::Serialize;

/// How many courses an entity report lists.
const BEST_COURSES: usize = 5;

/// The figures every derived table carries (see `super::sql` for their definitions).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub runs: i64,
    pub wins: i64,
    pub places: i64,
    pub win_rate: Option<f64>,
    pub place_rate: Option<f64>,
    pub prize_gbp: Option<f64>,
    pub prize_eur: Option<f64>,
    pub last_run_date: Option<String>,
    pub last_win_date: Option<String>,
    pub runs_14d: i64,
    pub wins_14d: i64,
    pub runs_30d: i64,
    pub wins_30d: i64,
    pub sp_runs: i64,
    pub sp_wins: i64,
    pub expected_wins: Option<f64>,
    pub actual_over_expected: Option<f64>,
}

fn figure_select(alias: &str) -> String {
    FIGURE_COLUMNS
        .iter()
        .map(|c| format!("CAST({alias}.{c} AS TEXT)"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn int(v: &Option<String>) -> i64 {
    v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn float(v: &Option<String>) -> Option<f64> {
    v.as_deref().and_then(|s| s.parse().ok())
}

impl Figures {
    fn from_text(v: &[Option<String>]) -> Figures {
        Figures {
            runs: int(&v[0]),
            wins: int(&v[1]),
            places: int(&v[2]),
            win_rate: float(&v[3]),
            place_rate: float(&v[4]),
            prize_gbp: float(&v[5]),
            prize_eur: float(&v[6]),
            last_run_date: v[7].clone(),
            last_win_date: v[8].clone(),
            runs_14d: int(&v[9]),
            wins_14d: int(&v[10]),
            runs_30d: int(&v[11]),
            wins_30d: int(&v[12]),
            sp_runs: int(&v[13]),
            sp_wins: int(&v[14]),
            expected_wins: float(&v[15]),
            actual_over_expected: float(&v[16]),
        }
    }
}

/// Every row of `sql` (written with registry table names) with `params` bound, as text
/// values, read under the table names of the rename phase current now
/// (`store::phase_follow`).
async fn text_rows<D: Dialect>(
    store: &SqlStore<D>,
    sql: &str,
    params: &Params<D>,
) -> Result<Vec<TextRow>> {
    let sql = store.current_physical_names().await?.reading(sql);
    store.text_rows(&sql, params.values()).await
}

/// `text` as a bound text parameter; returns its placeholder.
fn bind<D: Dialect>(p: &mut Params<D>, text: &str) -> String {
    p.add(Value::Text(text.to_string()), ColumnType::Text)
}

/// One entity's figures, best courses and distance bands.
#[derive(Debug, Clone, Serialize)]
pub struct EntityReport {
    pub entity_type: String,
    pub id: String,
    pub name: Option<String>,
    pub overall: Figures,
    /// Up to five courses, most wins first (then win rate, then runs).
    pub best_courses: Vec<CourseFigures>,
    /// Every band the entity has run in, shortest first.
    pub distances: Vec<BandFigures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CourseFigures {
    pub course_id: String,
    pub course: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize)]
pub struct BandFigures {
    pub distance_band: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The report for entity `id` of `kind`, or `None` if it has no runs.
pub async fn entity_report(
    store: &AnyStore,
    kind: EntityKind,
    id: &str,
    bands: &DistanceBands,
) -> Result<Option<EntityReport>> {
    with_backend!(store, |s| entity_report_in(s, kind, id, bands).await)
}

/// The rows of one derived table for entity `id` of `kind`: `from` is `SELECT … FROM <table> t
/// [JOIN …]`, `tail` what follows the entity condition (ordering, limit).
async fn entity_rows<D: Dialect>(
    store: &SqlStore<D>,
    (kind, id): (EntityKind, &str),
    from: &str,
    tail: &str,
) -> Result<Vec<TextRow>> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "{from} WHERE t.entity_type = {} AND t.entity_id = {} {tail}",
        bind(&mut p, kind.name),
        bind(&mut p, id),
    );
    text_rows(store, &sql, &p).await
}

async fn entity_report_in<D: Dialect>(
    store: &SqlStore<D>,
    kind: EntityKind,
    id: &str,
    bands: &DistanceBands,
) -> Result<Option<EntityReport>> {
    let entity = (kind, id);
    let overall = entity_rows(
        store,
        entity,
        &format!(
            "SELECT CAST(m.name AS TEXT), {f} FROM ra_runner_statistics t \
             LEFT JOIN {master} m ON m.id = t.entity_id",
            f = figure_select("t"),
            master = kind.master,
        ),
        "",
    )
    .await
    .context("reading ra_runner_statistics")?;
    let Some(row) = overall.first() else {
        return Ok(None);
    };
    let courses = entity_rows(
        store,
        entity,
        &format!(
            "SELECT t.course_id, c.name, {f} FROM ra_performance_by_venue t \
             LEFT JOIN ra_mst_courses c ON c.id = t.course_id",
            f = figure_select("t"),
        ),
        &format!(
            "ORDER BY t.wins DESC, t.win_rate DESC, t.runs DESC, t.course_id LIMIT {BEST_COURSES}"
        ),
    )
    .await
    .context("reading ra_performance_by_venue")?;
    let mut distances: Vec<BandFigures> = entity_rows(
        store,
        entity,
        &format!(
            "SELECT t.distance_band, {f} FROM ra_performance_by_distance t",
            f = figure_select("t"),
        ),
        "",
    )
    .await
    .context("reading ra_performance_by_distance")?
    .into_iter()
    .map(|r| BandFigures {
        distance_band: r[0].clone().unwrap_or_default(),
        figures: Figures::from_text(&r[1..]),
    })
    .collect();
    let labels = bands.labels();
    distances.sort_by_key(|b| {
        labels
            .iter()
            .position(|l| *l == b.distance_band)
            .unwrap_or(usize::MAX)
    });
    Ok(Some(EntityReport {
        entity_type: kind.name.to_string(),
        id: id.to_string(),
        name: row[0].clone(),
        overall: Figures::from_text(&row[1..]),
        best_courses: courses
            .into_iter()
            .map(|r| CourseFigures {
                course_id: r[0].clone().unwrap_or_default(),
                course: r[1].clone(),
                figures: Figures::from_text(&r[2..]),
            })
            .collect(),
        distances,
    }))
}

/// A race's card with each runner's form and latest odds.
#[derive(Debug, Clone, Serialize)]
pub struct RaceReport {
    pub race_id: String,
    pub race_name: Option<String>,
    pub course: Option<String>,
    pub race_date: Option<String>,
    pub off_time: Option<String>,
    pub distance_furlongs: Option<f64>,
    pub going: Option<String>,
    pub has_result: bool,
    pub runners: Vec<RunnerLine>,
}

/// One runner on a race card.
#[derive(Debug, Clone, Serialize)]
pub struct RunnerLine {
    pub number: Option<i64>,
    pub horse_id: String,
    pub horse: Option<String>,
    pub jockey: Option<String>,
    pub trainer: Option<String>,
    pub non_runner: bool,
    pub position: Option<String>,
    pub sp: Option<String>,
    /// The horse's figures (all runs, not only up to this race).
    pub horse_form: Option<Figures>,
    /// The jockey's and the trainer's runs and wins in the 14 days to their last run.
    pub jockey_14d: Option<(i64, i64)>,
    pub trainer_14d: Option<(i64, i64)>,
    /// The best current price among bookmakers (`ra_runner_odds_latest`); none for a
    /// non-runner.
    pub latest_odds: Option<Odds>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Odds {
    pub bookmaker_id: String,
    pub fractional: Option<String>,
    pub decimal: Option<f64>,
    pub observed_at: String,
    /// That bookmaker's first price for the runner on the race's day (its first stored price
    /// when none was stored that day).
    pub first_fractional: Option<String>,
    pub first_decimal: Option<f64>,
}

impl Odds {
    /// The move since the first price, as the change of the implied probability (1 / decimal)
    /// in percent: positive when the price shortened, negative when it drifted.
    pub fn move_percent(&self) -> Option<f64> {
        match (self.first_decimal, self.decimal) {
            (Some(first), Some(now)) if now > 0.0 && first > 0.0 => {
                Some((first / now - 1.0) * 100.0)
            }
            _ => None,
        }
    }
}

/// The first price of the best bookmaker's history for the runner (`o`): on the race's day
/// (`x`, its date, compares with instants on both engines), else the first stored; fractional
/// then decimal as text. Each a primary-key range read of `ra_runner_odds`.
const FIRST_PRICE: &str = "\
    COALESCE((SELECT f.fractional FROM ra_runner_odds f WHERE f.race_id = o.race_id \
     AND f.horse_id = o.horse_id AND f.bookmaker_id = o.bookmaker_id \
     AND f.observed_at >= x.race_date ORDER BY f.observed_at LIMIT 1), \
     (SELECT f.fractional FROM ra_runner_odds f WHERE f.race_id = o.race_id \
     AND f.horse_id = o.horse_id AND f.bookmaker_id = o.bookmaker_id \
     ORDER BY f.observed_at LIMIT 1)), \
    COALESCE((SELECT CAST(f.decimal AS TEXT) FROM ra_runner_odds f WHERE f.race_id = o.race_id \
     AND f.horse_id = o.horse_id AND f.bookmaker_id = o.bookmaker_id \
     AND f.observed_at >= x.race_date ORDER BY f.observed_at LIMIT 1), \
     (SELECT CAST(f.decimal AS TEXT) FROM ra_runner_odds f WHERE f.race_id = o.race_id \
     AND f.horse_id = o.horse_id AND f.bookmaker_id = o.bookmaker_id \
     ORDER BY f.observed_at LIMIT 1))";

fn truthy(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "t"))
}

/// The card of race `id`, or `None` if there is no such race.
pub async fn race_report(store: &AnyStore, id: &str) -> Result<Option<RaceReport>> {
    with_backend!(store, |s| race_report_in(s, id).await)
}

async fn race_report_in<D: Dialect>(store: &SqlStore<D>, id: &str) -> Result<Option<RaceReport>> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "SELECT x.race_name, c.name, CAST(x.race_date AS TEXT), x.off_time_raw, \
         CAST(x.distance_furlongs AS TEXT), x.going, CAST(x.has_result AS TEXT) \
         FROM ra_mst_races x LEFT JOIN ra_mst_courses c ON c.id = x.course_id WHERE x.id = {}",
        bind(&mut p, id)
    );
    let race = (text_rows(store, &sql, &p).await).context("reading ra_mst_races")?;
    let Some(race) = race.first() else {
        return Ok(None);
    };
    let mut p = Params::<D>::new();
    let runners = text_rows(
        store,
        &format!(
            "SELECT CAST(r.number AS TEXT), r.horse_id, h.name, j.name, t.name, \
             CAST(r.is_non_runner AS TEXT), r.position_raw, r.sp_raw, \
             CAST(js.runs_14d AS TEXT), CAST(js.wins_14d AS TEXT), \
             CAST(ts.runs_14d AS TEXT), CAST(ts.wins_14d AS TEXT), \
             o.bookmaker_id, o.fractional, CAST(o.decimal AS TEXT), CAST(o.observed_at AS TEXT), \
             CAST(hs.runs AS TEXT), {first}, {f} \
             FROM ra_runners r \
             JOIN ra_mst_races x ON x.id = r.race_id \
             LEFT JOIN ra_mst_horses h ON h.id = r.horse_id \
             LEFT JOIN ra_mst_jockeys j ON j.id = r.jockey_id \
             LEFT JOIN ra_mst_trainers t ON t.id = r.trainer_id \
             LEFT JOIN ra_runner_statistics hs ON hs.entity_type = 'horse' AND hs.entity_id = r.horse_id \
             LEFT JOIN ra_runner_statistics js ON js.entity_type = 'jockey' AND js.entity_id = r.jockey_id \
             LEFT JOIN ra_runner_statistics ts ON ts.entity_type = 'trainer' AND ts.entity_id = r.trainer_id \
             LEFT JOIN ra_runner_odds_latest o ON o.race_id = r.race_id \
             AND o.horse_id = r.horse_id AND (r.is_non_runner IS NULL OR NOT r.is_non_runner) \
             WHERE r.race_id = {race} ORDER BY r.number, r.horse_id, o.bookmaker_id",
            f = figure_select("hs"),
            first = FIRST_PRICE,
            race = bind(&mut p, id),
        ),
        &p,
    )
    .await
    .context("reading the race's runners")?;
    let mut lines: Vec<RunnerLine> = Vec::new();
    for r in runners {
        let odds = r[12].clone().map(|bookmaker_id| Odds {
            bookmaker_id,
            fractional: r[13].clone(),
            decimal: float(&r[14]),
            observed_at: r[15].clone().unwrap_or_default(),
            first_fractional: r[17].clone(),
            first_decimal: float(&r[18]),
        });
        let horse_id = r[1].clone().unwrap_or_default();
        // One row per bookmaker: keep the best price (the first bookmaker by id on a tie).
        if let Some(prev) = lines.last_mut().filter(|l| l.horse_id == horse_id) {
            let better = match (&odds, &prev.latest_odds) {
                (Some(new), Some(old)) => new.decimal > old.decimal,
                _ => false,
            };
            if better {
                prev.latest_odds = odds;
            }
            continue;
        }
        lines.push(RunnerLine {
            number: r[0].as_deref().and_then(|s| s.parse().ok()),
            horse_id,
            horse: r[2].clone(),
            jockey: r[3].clone(),
            trainer: r[4].clone(),
            non_runner: truthy(&r[5]),
            position: r[6].clone(),
            sp: r[7].clone(),
            jockey_14d: r[8].as_ref().map(|_| (int(&r[8]), int(&r[9]))),
            trainer_14d: r[10].as_ref().map(|_| (int(&r[10]), int(&r[11]))),
            latest_odds: odds,
            horse_form: r[16].as_ref().map(|_| Figures::from_text(&r[19..])),
        });
    }
    Ok(Some(RaceReport {
        race_id: id.to_string(),
        race_name: race[0].clone(),
        course: race[1].clone(),
        race_date: race[2].clone(),
        off_time: race[3].clone(),
        distance_furlongs: float(&race[4]),
        going: race[5].clone(),
        has_result: truthy(&race[6]),
        runners: lines,
    }))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |r| format!("{:.1}%", r * 100.0))
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".into(), |x| x.to_string())
}

fn money(f: &Figures) -> String {
    let mut parts = Vec::new();
    if let Some(gbp) = f.prize_gbp.filter(|v| *v != 0.0) {
        parts.push(format!("£{gbp:.0}"));
    }
    if let Some(eur) = f.prize_eur.filter(|v| *v != 0.0) {
        parts.push(format!("€{eur:.0}"));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" + ")
    }
}

const FIGURE_HEADER: &str = "  runs  wins places   win%  place%  14d r/w  30d r/w    A/E  prize";

fn figure_line(f: &Figures) -> String {
    format!(
        "{:>6}{:>6}{:>7}{:>7}{:>8}{:>9}{:>9}{:>7}  {}",
        f.runs,
        f.wins,
        f.places,
        pct(f.win_rate),
        pct(f.place_rate),
        format!("{}/{}", f.runs_14d, f.wins_14d),
        format!("{}/{}", f.runs_30d, f.wins_30d),
        f.actual_over_expected
            .map_or("-".into(), |v| format!("{v:.2}")),
        money(f)
    )
}

impl EntityReport {
    /// The report as a terminal table.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} {} — {}\nlast run {}, last win {}\n\n{:<24}{FIGURE_HEADER}\n{:<24}{}\n",
            self.entity_type,
            self.id,
            self.name.as_deref().unwrap_or("(unnamed)"),
            opt(&self.overall.last_run_date),
            opt(&self.overall.last_win_date),
            "",
            "overall",
            figure_line(&self.overall)
        );
        out.push_str(&format!("\nbest courses\n{:<24}{FIGURE_HEADER}\n", ""));
        if self.best_courses.is_empty() {
            out.push_str("  (none)\n");
        }
        for c in &self.best_courses {
            let name: String = c
                .course
                .clone()
                .unwrap_or_else(|| c.course_id.clone())
                .chars()
                .take(23)
                .collect();
            out.push_str(&format!("{name:<24}{}\n", figure_line(&c.figures)));
        }
        out.push_str(&format!("\ndistances\n{:<24}{FIGURE_HEADER}\n", ""));
        if self.distances.is_empty() {
            out.push_str("  (none)\n");
        }
        for d in &self.distances {
            out.push_str(&format!(
                "{:<24}{}\n",
                d.distance_band,
                figure_line(&d.figures)
            ));
        }
        out
    }
}

impl RaceReport {
    /// The card as a terminal table.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} — {} {} {} ({}f, {}){}\n\n",
            self.race_name.as_deref().unwrap_or(&self.race_id),
            opt(&self.course),
            opt(&self.race_date),
            opt(&self.off_time),
            opt(&self.distance_furlongs),
            opt(&self.going),
            if self.has_result { ", result in" } else { "" }
        );
        out.push_str(&format!(
            "{:>3} {:<24} {:<20} {:<20} {:>4} {:>7} {:>9} {:>8} {:>8} {:>7} {:>7} {:<12} {:>6}\n",
            "no",
            "horse",
            "jockey",
            "trainer",
            "pos",
            "sp",
            "runs/w/p",
            "14d r/w",
            "jky 14d",
            "trn 14d",
            "best",
            "bookmaker",
            "move"
        ));
        let cut = |s: &Option<String>, n: usize| -> String {
            s.as_deref().unwrap_or("-").chars().take(n).collect()
        };
        for r in &self.runners {
            let pair = |p: Option<(i64, i64)>| p.map_or("-".into(), |(a, b)| format!("{a}/{b}"));
            out.push_str(&format!(
                "{:>3} {:<24} {:<20} {:<20} {:>4} {:>7} {:>9} {:>8} {:>8} {:>7} {:>7} {:<12} {:>6}\n",
                if r.non_runner {
                    "NR".to_string()
                } else {
                    opt(&r.number)
                },
                cut(&r.horse, 24),
                cut(&r.jockey, 20),
                cut(&r.trainer, 20),
                opt(&r.position),
                opt(&r.sp),
                r.horse_form.as_ref().map_or("-".into(), |f| format!(
                    "{}/{}/{}",
                    f.runs, f.wins, f.places
                )),
                r.horse_form
                    .as_ref()
                    .map_or("-".into(), |f| format!("{}/{}", f.runs_14d, f.wins_14d)),
                pair(r.jockey_14d),
                pair(r.trainer_14d),
                r.latest_odds
                    .as_ref()
                    .and_then(|o| o.fractional.clone())
                    .unwrap_or_else(|| "-".into()),
                cut(&r.latest_odds.as_ref().map(|o| o.bookmaker_id.clone()), 12),
                r.latest_odds
                    .as_ref()
                    .and_then(Odds::move_percent)
                    .map_or("-".into(), |m| format!("{m:+.0}%")),
            ));
        }
        out
    }
}

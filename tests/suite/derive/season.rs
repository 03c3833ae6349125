//! A season applied day by day on both backends, each day's races written as a unit and the
//! derived tables brought up to date by the incremental update (running totals), with the
//! changes that must take back what was counted: corrected results, a late non-runner in a
//! 16-runner handicap (whose fourth then no longer places), a disqualification, a jockey
//! changed after the result, a prize corrected, an unchanged day fetched again. At the end
//! every row of the four tables, and the bookkeeping of what was counted, equal a full
//! rebuild's, and the naive recount.

use super::*;
use fetchers::rows::Decimal;

/// Deterministic draws (a linear congruential generator): the season is the same every run.
struct Draws(u64);

impl Draws {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[derive(Clone)]
struct Runner {
    horse: String,
    jockey: String,
    trainer: String,
    owner: String,
    sire: String,
    position: Option<i64>,
    status: &'static str,
    non_runner: bool,
    prize: Option<f64>,
    sp: Option<f64>,
}

#[derive(Clone)]
struct Race {
    id: String,
    course: &'static str,
    date: NaiveDate,
    name: &'static str,
    furlongs: f64,
    runners: Vec<Runner>,
}

const SEASON_DAYS: i64 = 45;

fn season_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 4, 1).unwrap()
}

/// Day `day`'s races: two a day from small pools (so groups meet often and the form windows
/// matter), a 16-runner handicap every fifth day, an Irish course paying euros.
fn races_of_day(draws: &mut Draws, day: i64) -> Vec<Race> {
    let date = season_start() + chrono::Duration::days(day);
    let mut races = Vec::new();
    for slot in 0..2 {
        let big = slot == 0 && day % 5 == 0;
        let field = if big { 16 } else { 5 + draws.below(4) as usize };
        let course = if draws.below(4) == 0 {
            "crs_ire"
        } else {
            "crs_gb"
        };
        let mut horses: Vec<u64> = Vec::new();
        while horses.len() < field {
            let h = draws.below(60);
            if !horses.contains(&h) {
                horses.push(h);
            }
        }
        let runners = horses
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let pulled_up = i == field - 1 && draws.below(3) == 0;
                Runner {
                    horse: format!("hrs_{h}"),
                    jockey: format!("jky_{}", draws.below(8)),
                    trainer: format!("trn_{}", h % 5),
                    owner: format!("own_{}", h % 7),
                    sire: format!("sir_{}", h % 4),
                    position: (!pulled_up).then_some(i as i64 + 1),
                    status: if pulled_up { "pulled_up" } else { "finished" },
                    non_runner: false,
                    prize: (i < 3).then(|| 1000.0 / (i as f64 + 1.0) + day as f64 * 0.25),
                    sp: (i % 4 != 3).then(|| 1.5 + draws.below(20) as f64 * 0.5),
                }
            })
            .collect();
        races.push(Race {
            id: format!("rac_s{day}_{slot}"),
            course,
            date,
            name: if big || slot == 1 {
                "Class 4 Handicap"
            } else {
                "Maiden Stakes"
            },
            furlongs: 5.0 + draws.below(12) as f64,
            runners,
        });
    }
    races
}

/// The card and result rows of `races`, as one unit.
fn unit(races: &[Race]) -> UnitOfWork {
    let mut rows = Vec::new();
    for race in races {
        rows.push(
            Row::new("ra_mst_courses", Source::Reference)
                .set("id", race.course)
                .set("name", format!("Course {}", race.course)),
        );
        rows.push(
            Row::new("ra_mst_races", Source::Racecard)
                .set("id", race.id.clone())
                .set("course_id", race.course)
                .set("race_date", race.date)
                .set("race_name", race.name)
                .set("distance_furlongs", race.furlongs),
        );
        rows.push(
            Row::new("ra_mst_races", Source::Result)
                .set("id", race.id.clone())
                .set("course_id", race.course)
                .set("race_date", race.date)
                .set("has_result", true),
        );
        let currency = if race.course == "crs_ire" {
            "EUR"
        } else {
            "GBP"
        };
        for (i, r) in race.runners.iter().enumerate() {
            for (table, id) in [
                ("ra_mst_horses", &r.horse),
                ("ra_mst_jockeys", &r.jockey),
                ("ra_mst_trainers", &r.trainer),
                ("ra_mst_owners", &r.owner),
                ("ra_mst_sires", &r.sire),
            ] {
                rows.push(
                    Row::new(table, Source::Racecard)
                        .set("id", id.clone())
                        .set("name", format!("Name {id}")),
                );
            }
            rows.push(
                Row::new("ra_runners", Source::Racecard)
                    .set("race_id", race.id.clone())
                    .set("horse_id", r.horse.clone())
                    .set("jockey_id", r.jockey.clone())
                    .set("trainer_id", r.trainer.clone())
                    .set("owner_id", r.owner.clone())
                    .set("sire_id", r.sire.clone())
                    .set("number", i as i64 + 1)
                    .set("is_non_runner", r.non_runner),
            );
            if r.non_runner {
                // After the result only the result writes the pre-race columns.
                rows.push(
                    Row::new("ra_runners", Source::Result)
                        .set("race_id", race.id.clone())
                        .set("horse_id", r.horse.clone())
                        .set("is_non_runner", true),
                );
                continue;
            }
            let mut result = Row::new("ra_runners", Source::Result)
                .set("race_id", race.id.clone())
                .set("horse_id", r.horse.clone())
                .set("jockey_id", r.jockey.clone())
                .set("finish_status", r.status)
                .set("position", r.position)
                .set("sp_decimal", r.sp);
            if let Some(amount) = r.prize {
                result = result
                    .set("prize_amount", Decimal::try_from(amount).unwrap())
                    .set("prize_currency", currency);
            }
            rows.push(result);
        }
    }
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

/// Writes `races` as one unit of a run of its own, then that run's derived update.
async fn write_and_update(db: &TestDb, races: &[Race]) {
    let run = db
        .start_run("season_day", RunTrigger::Manual, serde_json::json!({}))
        .await
        .unwrap();
    db.apply(run, &unit(races), ApplyMode::Commit)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    paddock::derive::update_touched(&db.store, &DistanceBands::default(), run)
        .await
        .unwrap_or_else(|e| panic!("derived update: {e}"));
}

/// The changes applied to earlier races on some days, each returning the race it changed.
fn change(season: &mut [Race], day: i64) -> Option<Race> {
    let race_of = |season: &mut [Race], day: i64, slot: usize| -> usize {
        let id = format!("rac_s{day}_{slot}");
        season.iter().position(|r| r.id == id).unwrap()
    };
    let i = match day {
        // A corrected result: first and third swap (a stewards' enquiry), and a prize moves.
        12 => {
            let i = race_of(season, 9, 1);
            let runners = &mut season[i].runners;
            let (a, b) = (runners[0].position, runners[2].position);
            runners[0].position = b;
            runners[2].position = a;
            runners[0].prize = Some(333.5);
            i
        }
        // A late non-runner in the 16-runner handicap of day 15: 15 runs, so its fourth no
        // longer places.
        18 => {
            let i = race_of(season, 15, 0);
            season[i].runners[10].non_runner = true;
            i
        }
        // A jockey changed after the result.
        25 => {
            let i = race_of(season, 24, 0);
            season[i].runners[1].jockey = "jky_substitute".into();
            i
        }
        // A disqualification: the winner is placed last, the others move up.
        33 => {
            let i = race_of(season, 30, 0);
            let last = season[i].runners.iter().filter_map(|r| r.position).max();
            for r in &mut season[i].runners {
                r.position = match r.position {
                    Some(1) => last,
                    Some(p) => Some(p - 1),
                    None => None,
                };
            }
            i
        }
        // An unchanged race fetched again.
        40 => race_of(season, 38, 1),
        _ => return None,
    };
    Some(season[i].clone())
}

backend_test!(
    a_season_applied_day_by_day_with_corrections_equals_a_full_rebuild_row_for_row,
    |db| async move {
        let mut draws = Draws(21);
        let mut season: Vec<Race> = Vec::new();
        for day in 0..SEASON_DAYS {
            let mut today = races_of_day(&mut draws, day);
            season.extend(today.clone());
            if let Some(changed) = change(&mut season, day) {
                today.push(changed);
            }
            write_and_update(&db, &today).await;
        }
        // The changes reached the stored rows (else this test would test nothing).
        let stored = stored_runners(&db).await;
        let jockey_of = |race: &str, horse: &str| {
            (stored.iter())
                .find(|r| r.race_id == race && r.entities[0].as_deref() == Some(horse))
                .and_then(|r| r.entities[1].clone())
        };
        let substituted = &season.iter().find(|r| r.id == "rac_s24_0").unwrap().runners[1];
        assert_eq!(
            jockey_of("rac_s24_0", &substituted.horse).as_deref(),
            Some("jky_substitute")
        );
        let late = &season.iter().find(|r| r.id == "rac_s15_0").unwrap().runners[10];
        assert!(stored.iter().any(|r| r.race_id == "rac_s15_0"
            && r.entities[0].as_deref() == Some(late.horse.as_str())
            && r.non_runner));
        let pending = db
            .scalar_i64("SELECT COUNT(*) FROM paddock_derived_pending")
            .await;
        assert_eq!(pending, 0, "every mark covered");

        assert_tables_equal_naive(&db, "after the season's incremental updates").await;
        let counted_sql = "SELECT race_id, horse_id, jockey_id, trainer_id, owner_id, sire_id, \
                           CAST(race_date AS TEXT), distance_band, CAST(is_win AS TEXT), \
                           CAST(is_place AS TEXT), CAST(prize_amount AS TEXT), prize_currency, \
                           CAST(sp_decimal AS TEXT) FROM paddock_derived_counted \
                           ORDER BY race_id, horse_id";
        let counted = rows(&db, counted_sql).await;
        let mut incremental = BTreeMap::new();
        for table in TABLES {
            incremental.insert(table, stored_table(&db, table).await);
        }

        full_rebuild(&db).await;
        assert_eq!(rows(&db, counted_sql).await, counted, "the bookkeeping");
        for table in TABLES {
            let rebuilt = stored_table(&db, table).await;
            let before = &incremental[table];
            assert!(!rebuilt.is_empty(), "{table}");
            assert_eq!(
                rebuilt.keys().collect::<Vec<_>>(),
                before.keys().collect::<Vec<_>>(),
                "{table}: groups"
            );
            for (key, s) in &rebuilt {
                let b = &before[key];
                assert!(
                    same(b, &s.naive)
                        && close(b.win_rate, s.win_rate)
                        && close(b.place_rate, s.place_rate)
                        && close_opt(b.actual_over_expected, s.actual_over_expected),
                    "{table} {key:?}: incremental {b:?} != rebuild {s:?}"
                );
            }
        }
    }
);

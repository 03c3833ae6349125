//! Hand-made races on both backends pinning down the derived figures' rules (non-runners,
//! non-finishers, dead heats, big-field handicaps, euro prizes); on them, `paddock query`'s
//! reports and each backend's own derived update. Payload rows never write a derived table.

use super::*;

// ---- hand-made races ----

/// One declared runner of a hand-made race.
struct Entry {
    horse: &'static str,
    jockey: &'static str,
    trainer: &'static str,
    /// `None`: a non-runner (declared on the card only).
    result: Option<Outcome>,
}

/// What the result says about a runner: `None` position for a non-finisher; `listed: false`
/// for a late non-runner the result leaves out.
struct Outcome {
    position: Option<i64>,
    status: &'static str,
    prize: Option<(f64, &'static str)>,
    sp: Option<f64>,
    listed: bool,
}

fn ran(position: i64, prize: Option<(f64, &'static str)>, sp: Option<f64>) -> Option<Outcome> {
    Some(Outcome {
        position: Some(position),
        status: "finished",
        prize,
        sp,
        listed: true,
    })
}

fn entry(horse: &'static str, jockey: &'static str, result: Option<Outcome>) -> Entry {
    Entry {
        horse,
        jockey,
        trainer: "trn_1",
        result,
    }
}

/// A race's rows: its card (course, race, people, runners) and, if `resulted`, its result.
#[allow(clippy::too_many_arguments)]
fn race_rows(
    id: &'static str,
    course: &'static str,
    date: (i32, u32, u32),
    name: &str,
    furlongs: f64,
    resulted: bool,
    entries: Vec<Entry>,
) -> Vec<Row> {
    let race_date = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
    let mut rows = vec![
        Row::new("ra_mst_courses", Source::Reference)
            .set("id", course)
            .set("name", format!("Course {course}")),
        Row::new("ra_mst_races", Source::Racecard)
            .set("id", id)
            .set("course_id", course)
            .set("race_date", race_date)
            .set("race_name", name.to_string())
            .set("distance_furlongs", furlongs),
    ];
    if resulted {
        rows.push(
            Row::new("ra_mst_races", Source::Result)
                .set("id", id)
                .set("course_id", course)
                .set("race_date", race_date)
                .set("has_result", true),
        );
    }
    for (i, e) in entries.into_iter().enumerate() {
        rows.push(
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", e.horse)
                .set("name", format!("Horse {}", e.horse)),
        );
        rows.push(
            Row::new("ra_mst_jockeys", Source::Result)
                .set("id", e.jockey)
                .set("name", format!("Jockey {}", e.jockey)),
        );
        rows.push(
            Row::new("ra_mst_trainers", Source::Result)
                .set("id", e.trainer)
                .set("name", "Trainer"),
        );
        rows.push(
            Row::new("ra_runners", Source::Racecard)
                .set("race_id", id)
                .set("horse_id", e.horse)
                .set("jockey_id", e.jockey)
                .set("trainer_id", e.trainer)
                .set("number", i as i64 + 1)
                .set("is_non_runner", e.result.is_none()),
        );
        if let Some(o) = e.result.filter(|o| o.listed && resulted) {
            let mut row = Row::new("ra_runners", Source::Result)
                .set("race_id", id)
                .set("horse_id", e.horse)
                .set("jockey_id", e.jockey)
                .set("finish_status", o.status)
                .set("position", o.position)
                .set("sp_decimal", o.sp);
            if let Some((amount, currency)) = o.prize {
                row = row
                    .set(
                        "prize_amount",
                        fetchers::rows::Decimal::try_from(amount).unwrap(),
                    )
                    .set("prize_currency", currency);
            }
            rows.push(row);
        }
    }
    rows
}

/// A field of `n` finishers in which `jockey` rides the 4th, for the place-terms races.
fn field_with_fourth(jockey: &'static str, prefix: &str, n: i64) -> Vec<Entry> {
    (1..=n)
        .map(|p| {
            let horse: &'static str = Box::leak(format!("hrs_{prefix}{p}").into_boxed_str());
            let rider = if p == 4 { jockey } else { "jky_field" };
            entry(horse, rider, ran(p, None, None))
        })
        .collect()
}

fn hand_made_races() -> UnitOfWork {
    let mut rows = Vec::new();
    // r1: a winner, a pulled-up non-finisher, a declared non-runner, and a late non-runner the
    // result leaves out.
    rows.extend(race_rows(
        "rac_1",
        "crs_gb",
        (2025, 5, 6),
        "Maiden Stakes",
        8.0,
        true,
        vec![
            entry("hrs_1", "jky_a", ran(1, Some((1000.0, "GBP")), Some(3.0))),
            entry(
                "hrs_2",
                "jky_b",
                Some(Outcome {
                    position: None,
                    status: "pulled_up",
                    prize: None,
                    sp: Some(5.0),
                    listed: true,
                }),
            ),
            entry("hrs_3", "jky_nr", None),
            entry(
                "hrs_4",
                "jky_late",
                Some(Outcome {
                    position: None,
                    status: "finished",
                    prize: None,
                    sp: None,
                    listed: false,
                }),
            ),
        ],
    ));
    // r2: a dead heat for first.
    rows.extend(race_rows(
        "rac_2",
        "crs_gb",
        (2025, 5, 7),
        "Novice Stakes",
        5.0,
        true,
        vec![
            entry("hrs_1", "jky_a", ran(1, Some((500.0, "GBP")), Some(2.0))),
            entry("hrs_2", "jky_b", ran(1, Some((500.0, "GBP")), Some(4.0))),
            entry("hrs_5", "jky_c", ran(3, Some((100.0, "GBP")), Some(6.0))),
        ],
    ));
    // r3: Irish, prizes in euros; the winner has no starting price.
    rows.extend(race_rows(
        "rac_3",
        "crs_ire",
        (2025, 5, 20),
        "Irish Stakes",
        16.0,
        true,
        vec![
            entry("hrs_1", "jky_a", ran(2, Some((2000.0, "EUR")), Some(2.5))),
            entry("hrs_5", "jky_c", ran(1, Some((5000.0, "EUR")), None)),
        ],
    ));
    // Form windows end on the last run (05-20): 04-21 is inside 30 days, 04-20 is not; 05-07
    // is inside 14 days, 05-06 is not.
    for (id, date) in [("rac_0a", (2025, 4, 20)), ("rac_0b", (2025, 4, 21))] {
        rows.extend(race_rows(
            id,
            "crs_gb",
            date,
            "Maiden Stakes",
            6.0,
            true,
            vec![entry("hrs_6", "jky_c", ran(4, None, None))],
        ));
    }
    // r4: declared but without a result: counts for nobody.
    rows.extend(race_rows(
        "rac_4",
        "crs_gb",
        (2025, 5, 25),
        "Maiden Stakes",
        6.0,
        false,
        vec![entry("hrs_1", "jky_a", ran(1, None, Some(2.0)))],
    ));
    // Place terms: 4th places only in a handicap with 16 or more runs.
    rows.extend(race_rows(
        "rac_h16",
        "crs_gb",
        (2025, 5, 2),
        "Class 4 Handicap",
        7.0,
        true,
        field_with_fourth("jky_d", "h", 16),
    ));
    rows.extend(race_rows(
        "rac_s16",
        "crs_gb",
        (2025, 5, 3),
        "Maiden Stakes",
        7.0,
        true,
        field_with_fourth("jky_e", "s", 16),
    ));
    let mut fifteen_and_a_non_runner = field_with_fourth("jky_f", "n", 15);
    fifteen_and_a_non_runner.push(entry("hrs_n16", "jky_field", None));
    rows.extend(race_rows(
        "rac_h15",
        "crs_gb",
        (2025, 5, 4),
        "Nursery Handicap",
        7.0,
        true,
        fifteen_and_a_non_runner,
    ));
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

/// Writes the hand-made races in a run of their own; returns that run.
async fn load_hand_made_races(db: &TestDb) -> RunId {
    let run = db
        .start_run("test", RunTrigger::Manual, serde_json::json!({}))
        .await
        .unwrap();
    db.apply(run, &hand_made_races(), ApplyMode::Commit)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    run
}

async fn load_and_rebuild(db: &TestDb) -> RunId {
    load_hand_made_races(db).await;
    full_rebuild(db).await.run_id
}

async fn figures(db: &TestDb, table: &str, key: &[&str]) -> Option<Stored> {
    let key: Vec<String> = key.iter().map(|s| s.to_string()).collect();
    stored_table(db, table).await.remove(&key)
}

backend_test!(
    hand_made_races_count_non_runners_non_finishers_dead_heats_place_terms_and_euro_prizes,
    |db| async move {
        load_and_rebuild(&db).await;
        let d = |m, d| NaiveDate::from_ymd_opt(2025, m, d);

        // jky_a: won r1 (05-06, just outside 14 days of the last run), dead-heated r2 (05-07,
        // just inside), 2nd in Ireland (05-20); the unresulted r4 does not count.
        let a = figures(&db, "ra_runner_statistics", &["jockey", "jky_a"])
            .await
            .expect("jky_a has figures");
        assert_eq!(
            a.naive,
            Naive {
                runs: 3,
                wins: 2,
                places: 3,
                prize_gbp: 1500.0,
                prize_eur: 2000.0,
                last_run: d(5, 20),
                last_win: d(5, 7),
                runs_14d: 2,
                wins_14d: 1,
                runs_30d: 3,
                wins_30d: 2,
                sp_runs: 3,
                sp_wins: 2,
                expected_wins: a.naive.expected_wins,
            }
        );
        let expected = 1.0 / 3.0 + 1.0 / 2.0 + 1.0 / 2.5;
        assert!(close(a.naive.expected_wins.unwrap(), expected));
        assert!(close(a.actual_over_expected.unwrap(), 2.0 / expected));
        assert!(close(a.win_rate, 2.0 / 3.0));

        // jky_b: pulled up in r1 (a run, not a place), dead-heated r2 (a win).
        let b = figures(&db, "ra_runner_statistics", &["jockey", "jky_b"])
            .await
            .unwrap();
        assert_eq!(
            (b.naive.runs, b.naive.wins, b.naive.places),
            (2, 1, 1),
            "{b:?}"
        );
        assert_eq!(b.naive.prize_gbp, 500.0);
        // Both dead-heaters won the same race.
        for horse in ["hrs_1", "hrs_2"] {
            let v = figures(&db, "ra_performance_by_distance", &["horse", horse, "5-6f"])
                .await
                .unwrap();
            assert_eq!((v.naive.runs, v.naive.wins), (1, 1), "{horse}");
        }
        // Non-runners, declared or late, have no runs and so no rows.
        for (kind, id) in [
            ("jockey", "jky_nr"),
            ("horse", "hrs_3"),
            ("jockey", "jky_late"),
            ("horse", "hrs_4"),
        ] {
            assert!(
                figures(&db, "ra_runner_statistics", &[kind, id])
                    .await
                    .is_none(),
                "{kind} {id}"
            );
        }
        // jky_c: euros from Ireland without a starting price, pounds from r2 with one.
        let c = figures(&db, "ra_runner_statistics", &["jockey", "jky_c"])
            .await
            .unwrap();
        assert_eq!((c.naive.runs, c.naive.wins, c.naive.places), (4, 1, 2));
        assert_eq!((c.naive.runs_30d, c.naive.runs_14d), (3, 2));
        assert_eq!((c.naive.prize_gbp, c.naive.prize_eur), (100.0, 5000.0));
        assert_eq!((c.naive.sp_runs, c.naive.sp_wins), (1, 0));
        assert_eq!(c.actual_over_expected, Some(0.0));
        let ire = figures(
            &db,
            "ra_performance_by_venue",
            &["jockey", "jky_c", "crs_ire"],
        )
        .await
        .unwrap();
        assert_eq!((ire.naive.prize_gbp, ire.naive.prize_eur), (0.0, 5000.0));
        assert_eq!(ire.naive.sp_runs, 0);
        assert_eq!(ire.naive.expected_wins, None);
        assert_eq!(ire.actual_over_expected, None);

        // Place terms: 4th of 16 in a handicap places; in a stakes race, or in a handicap of
        // 15 runs plus a non-runner, it does not.
        for (jockey, places) in [("jky_d", 1), ("jky_e", 0), ("jky_f", 0)] {
            let s = figures(&db, "ra_runner_statistics", &["jockey", jockey])
                .await
                .unwrap();
            assert_eq!((s.naive.runs, s.naive.places), (1, places), "{jockey}");
        }

        // Pairs and bands.
        let pair = figures(
            &db,
            "ra_entity_combinations",
            &["trainer_jockey", "trn_1", "jky_a"],
        )
        .await
        .unwrap();
        assert_eq!((pair.naive.runs, pair.naive.wins), (3, 2));
        let long = figures(
            &db,
            "ra_performance_by_distance",
            &["jockey", "jky_a", "16f+"],
        )
        .await
        .unwrap();
        assert_eq!((long.naive.runs, long.naive.wins), (1, 0));

        // And the whole lot agrees with the naive recomputation.
        assert_tables_equal_naive(&db, "hand-made races").await;
    }
);

backend_test!(
    derived_tables_are_never_written_from_payload_rows,
    |db| async move {
        let run = db
            .start_run("test", RunTrigger::Manual, serde_json::json!({}))
            .await
            .unwrap();
        let unit = UnitOfWork {
            rows: vec![Row::new("ra_runner_statistics", Source::Derived)
                .set("entity_type", "jockey")
                .set("entity_id", "jky_x")
                .set("runs", 1i64)],
            ..UnitOfWork::default()
        };
        let err = db.apply(run, &unit, ApplyMode::Commit).await.unwrap_err();
        assert!(err.to_string().contains("ra_runner_statistics"), "{err}");
        assert_eq!(db.count_rows("ra_runner_statistics").await.unwrap(), 0);
    }
);

backend_test!(
    query_reports_an_entitys_best_courses_and_bands_and_a_races_card,
    |db| async move {
        use paddock::derive::query::{entity_report, race_report};
        load_and_rebuild(&db).await;
        let jockey = fetchers::derived::entity_kind("jockey").unwrap();
        let a = entity_report(&db.store, jockey, "jky_a", &DistanceBands::default())
            .await
            .unwrap()
            .expect("jky_a has a report");
        assert_eq!(a.name.as_deref(), Some("Jockey jky_a"));
        assert_eq!((a.overall.runs, a.overall.wins), (3, 2));
        let courses: Vec<&str> = a
            .best_courses
            .iter()
            .map(|c| c.course_id.as_str())
            .collect();
        assert_eq!(courses, vec!["crs_gb", "crs_ire"]);
        let bands: Vec<&str> = a
            .distances
            .iter()
            .map(|b| b.distance_band.as_str())
            .collect();
        assert_eq!(bands, vec!["5-6f", "7-8f", "16f+"]);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["overall"]["wins"], 2);
        assert_eq!(json["best_courses"][0]["runs"], 2);
        assert!(a.render().contains("best courses"));
        assert!(
            entity_report(&db.store, jockey, "jky_nr", &DistanceBands::default())
                .await
                .unwrap()
                .is_none()
        );

        let card = race_report(&db.store, "rac_1").await.unwrap().unwrap();
        assert!(card.has_result);
        assert_eq!(card.runners.len(), 4);
        let nr = card.runners.iter().find(|r| r.horse_id == "hrs_3").unwrap();
        assert!(nr.non_runner);
        let winner = card.runners.iter().find(|r| r.horse_id == "hrs_1").unwrap();
        let form = winner.horse_form.as_ref().expect("the winner's form");
        assert_eq!((form.runs, form.wins), (3, 2));
        assert_eq!(winner.jockey_14d, Some((2, 1)));
        assert!(card.render().contains("Horse hrs_1"));
        assert!(race_report(&db.store, "rac_none").await.unwrap().is_none());
    }
);

backend_test!(
    each_backends_sql_store_updates_the_derived_tables_itself,
    |db| async move {
        let run = load_hand_made_races(&db).await;
        // The backend's own store, not `AnyStore`'s dispatch.
        let bands = DistanceBands::default();
        let counts = match &db.store {
            AnyStore::Sqlite(s) => paddock::derive::update_touched_in(s, &bands, run).await,
            AnyStore::Postgres(s) => paddock::derive::update_touched_in(s, &bands, run).await,
        }
        .unwrap_or_else(|e| panic!("update_touched_in: {e}"));
        let written = counts.table("ra_runner_statistics").inserted;
        assert!(written > 0, "{counts:?}");
        assert_eq!(
            db.count_rows("ra_runner_statistics").await.unwrap() as u64,
            written
        );
        // Counted under the run that wrote the races.
        let ledger = db.run_counts(run).await.unwrap();
        assert_eq!(ledger.table("ra_runner_statistics").inserted, written);
        assert_tables_equal_naive(&db, "derive::update_touched_in").await;
    }
);

//! The store's behaviour, on SQLite and PostgreSQL alike: bulk upserts with counts, no-erase
//! and column ownership, atomic units with named constraint failures, bookkeeping in the same
//! transaction, dry runs, key lookups and the run ledger.

use crate::support;
use crate::support::TestDb;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use fetchers::registry::Source;
use fetchers::rows::{Checkpoint, Reject, Row, RowError, UnitOfWork, Value};
use fetchers::store::{
    ApplyMode, CheckpointStatus, RunFinish, RunId, RunStatus, RunTrigger, Store, StoreError,
};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};

// ---- fixtures ----

fn course(id: &str) -> Row {
    Row::new("ra_mst_courses", Source::Racecard)
        .set("id", id)
        .set("name", format!("Course {id}"))
}

fn race(id: &str, course_id: &str, date: (i32, u32, u32)) -> Row {
    Row::new("ra_mst_races", Source::Racecard)
        .set("id", id)
        .set("course_id", course_id)
        .set("race_date", day(date))
        .set("race_name", format!("Race {id}"))
}

fn horse(id: &str, name: &str) -> Row {
    Row::new("ra_mst_horses", Source::Racecard)
        .set("id", id)
        .set("name", name)
}

fn card_runner(race_id: &str, horse_id: &str) -> Row {
    Row::new("ra_runners", Source::Racecard)
        .set("race_id", race_id)
        .set("horse_id", horse_id)
        .set("number", 1i64)
}

fn result_runner(race_id: &str, horse_id: &str) -> Row {
    Row::new("ra_runners", Source::Result)
        .set("race_id", race_id)
        .set("horse_id", horse_id)
}

fn day((y, m, d): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn instant(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid instant")
}

/// A course, a race and two horses with their racecard runners.
fn card_unit() -> UnitOfWork {
    unit(vec![
        course("crs_1"),
        race("rac_1", "crs_1", (2024, 5, 1)),
        horse("hrs_1", "Alpha"),
        horse("hrs_2", "Bravo"),
        card_runner("rac_1", "hrs_1"),
        card_runner("rac_1", "hrs_2"),
    ])
}

fn unit(rows: Vec<Row>) -> UnitOfWork {
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}

async fn new_run(db: &TestDb) -> RunId {
    db.start_run("test", RunTrigger::Manual, json!({"case": "store"}))
        .await
        .expect("start run")
}

async fn apply(db: &TestDb, run: RunId, unit: &UnitOfWork) -> fetchers::rows::Counts {
    db.apply(run, unit, ApplyMode::Commit)
        .await
        .unwrap_or_else(|e| panic!("apply failed: {e}"))
}

fn counts_of(c: fetchers::rows::TableCounts) -> (u64, u64, u64) {
    (c.inserted, c.updated, c.unchanged)
}

async fn text(db: &TestDb, sql: &str) -> Option<String> {
    db.scalar_text(sql).await
}

// ---- (a) counts ----

backend_test!(
    apply_counts_inserted_updated_and_unchanged_rows_per_table,
    |db| async move {
        let run = new_run(&db).await;
        let first = apply(&db, run, &card_unit()).await;
        assert_eq!(counts_of(first.table("ra_mst_horses")), (2, 0, 0));
        assert_eq!(counts_of(first.table("ra_runners")), (2, 0, 0));
        assert_eq!(counts_of(first.table("ra_mst_courses")), (1, 0, 0));

        // hrs_1 renamed (the racecard owns the name), hrs_2 the same, hrs_3 new.
        let second = apply(
            &db,
            run,
            &unit(vec![
                horse("hrs_1", "Alpha Two"),
                horse("hrs_2", "Bravo"),
                horse("hrs_3", "Charlie"),
            ]),
        )
        .await;
        assert_eq!(counts_of(second.table("ra_mst_horses")), (1, 1, 1));
        assert_eq!(
            text(&db, "SELECT name FROM ra_mst_horses WHERE id = 'hrs_1'").await,
            Some("Alpha Two".into())
        );
        assert_eq!(db.count_rows("ra_mst_horses").await.unwrap(), 3);
    }
);

// ---- (b) idempotence ----

backend_test!(reapplying_the_same_unit_writes_nothing, |db| async move {
    let run = new_run(&db).await;
    apply(&db, run, &card_unit()).await;
    let stamp_sql = "SELECT CAST(updated_at AS TEXT) FROM ra_runners WHERE horse_id = 'hrs_1'";
    let updated_before = text(&db, stamp_sql).await;

    let again = new_run(&db).await;
    let counts = apply(&db, again, &card_unit()).await;
    for (table, c) in &counts.0 {
        assert_eq!(c.written(), 0, "{table} was written again: {c:?}");
        assert!(c.unchanged > 0, "{table}");
    }
    assert_eq!(text(&db, stamp_sql).await, updated_before);
    assert_eq!(
        db.scalar_i64(&format!(
            "SELECT COUNT(*) FROM ra_mst_horses WHERE last_run_id = {again}"
        ))
        .await,
        0
    );
});

backend_test!(
    values_of_every_type_round_trip_without_counting_as_changes,
    |db| async move {
        let run = new_run(&db).await;
        let rows = vec![
            course("crs_1"),
            race("rac_1", "crs_1", (2024, 5, 1))
                .set("off_dt", instant(2024, 5, 1, 13, 30))
                .set("distance_furlongs", 8.5)
                .set(
                    "prize_amount",
                    "4193.25".parse::<fetchers::rows::Decimal>().unwrap(),
                )
                .set("big_race", true)
                .set("field_size", 12i64),
            horse("hrs_1", "Alpha").set("dob", day((2019, 4, 2))),
            card_runner("rac_1", "hrs_1")
                .set("is_non_runner", false)
                .set(
                    "trainer_14_days",
                    json!({"runs": 5, "wins": 1, "percent": 20.0}),
                )
                .set(
                    "quotes",
                    json!([{"quote": "Should go well", "date": "2024-04-01"}]),
                ),
            Row::new("ra_mst_bookmakers", Source::Odds)
                .set("id", "bet365")
                .set("name", "Bet365"),
            Row::new("ra_runner_odds", Source::Odds)
                .set("race_id", "rac_1")
                .set("horse_id", "hrs_1")
                .set("bookmaker_id", "bet365")
                .set("observed_at", instant(2024, 5, 1, 11, 2))
                .set("fractional", "5/2")
                .set("decimal", 3.5),
        ];
        let first = apply(&db, run, &unit(rows.clone())).await;
        assert_eq!(counts_of(first.table("ra_runner_odds")), (1, 0, 0));
        let results = vec![result_runner("rac_1", "hrs_1")
            .set("position", 1i64)
            .set("sp_decimal", 3.75)
            .set("sp_favourite", false)
            .set("beaten_lengths", 0.0)];
        apply(&db, run, &unit(results.clone())).await;

        let mut all = rows;
        all.extend(results);
        let again = apply(&db, run, &unit(all)).await;
        for (table, c) in &again.0 {
            assert_eq!(c.written(), 0, "{table} counted a change: {c:?}");
        }
        assert_eq!(
            text(&db, "SELECT CAST(race_date AS TEXT) FROM ra_mst_races").await,
            Some("2024-05-01".into())
        );
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_runners WHERE sp_favourite = false AND is_non_runner = false")
                .await,
            1
        );
    }
);

// ---- (c) atomic units and named constraint failures ----

backend_test!(
    a_foreign_key_violation_rolls_back_the_whole_unit_and_names_table_and_key,
    |db| async move {
        let run = new_run(&db).await;
        let mut bad = unit(vec![
            course("crs_1"),
            race("rac_1", "crs_1", (2024, 5, 1)),
            horse("hrs_1", "Alpha"),
            card_runner("rac_1", "hrs_1"),
            // hrs_9 is in neither the unit nor the database.
            card_runner("rac_1", "hrs_9"),
        ]);
        bad.state.push(("cursor".into(), "2024-05-01".into()));
        bad.rejects.push(reject("ra_runners", "rnr_x"));

        let err = db.apply(run, &bad, ApplyMode::Commit).await.unwrap_err();
        let message = err.to_string();
        match &err {
            StoreError::Constraint { table, key, .. } => {
                assert_eq!(table, "ra_runners");
                assert_eq!(key, "(rac_1, hrs_9)");
            }
            other => panic!("expected a constraint error, got {other:?}"),
        }
        assert!(message.contains("ra_runners"), "{message}");
        assert!(message.contains("hrs_9"), "{message}");
        assert!(message.contains("ra_mst_horses hrs_9"), "{message}");

        for table in [
            "ra_mst_courses",
            "ra_mst_races",
            "ra_mst_horses",
            "ra_runners",
        ] {
            assert_eq!(db.count_rows(table).await.unwrap(), 0, "{table} kept rows");
        }
        assert_eq!(db.get_state(&"cursor".into()).await.unwrap(), None);
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM paddock_rejects").await,
            0
        );
        assert!(db.run_counts(run).await.unwrap().0.is_empty());
    }
);

backend_test!(
    a_missing_runner_behind_odds_is_named_by_its_composite_key,
    |db| async move {
        let run = new_run(&db).await;
        let mut rows = card_unit().rows;
        rows.push(
            Row::new("ra_mst_bookmakers", Source::Odds)
                .set("id", "bet365")
                .set("name", "Bet365"),
        );
        rows.push(
            Row::new("ra_runner_odds", Source::Odds)
                .set("race_id", "rac_1")
                .set("horse_id", "hrs_7")
                .set("bookmaker_id", "bet365")
                .set("observed_at", instant(2024, 5, 1, 11, 0))
                .set("decimal", 4.0),
        );
        let err = db
            .apply(run, &unit(rows), ApplyMode::Commit)
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("ra_runner_odds"), "{message}");
        assert!(message.contains("ra_runners (rac_1, hrs_7)"), "{message}");
        assert_eq!(db.count_rows("ra_runners").await.unwrap(), 0);
    }
);

backend_test!(
    a_new_row_without_a_required_value_fails_naming_table_and_key,
    |db| async move {
        let run = new_run(&db).await;
        // Results fill a horse's name but this one brings none, and the horse is new.
        let nameless = Row::new("ra_mst_horses", Source::Result)
            .set("id", "hrs_5")
            .set("name_with_suffix", Value::Null);
        let err = db
            .apply(
                run,
                &unit(vec![horse("hrs_1", "Alpha"), nameless]),
                ApplyMode::Commit,
            )
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, StoreError::Constraint { .. }), "{err:?}");
        assert!(message.contains("ra_mst_horses"), "{message}");
        assert!(message.contains("hrs_5"), "{message}");
        assert_eq!(db.count_rows("ra_mst_horses").await.unwrap(), 0);
    }
);

backend_test!(
    a_row_without_a_required_value_still_updates_an_existing_row,
    |db| async move {
        let run = new_run(&db).await;
        apply(&db, run, &unit(vec![horse("hrs_1", "Create")])).await;
        // A result brings only the suffixed name: the stored bare name stays.
        let counts = apply(
            &db,
            run,
            &unit(vec![Row::new("ra_mst_horses", Source::Result)
                .set("id", "hrs_1")
                .set("name_with_suffix", "Create (IRE)")]),
        )
        .await;
        assert_eq!(counts_of(counts.table("ra_mst_horses")), (0, 1, 0));
        assert_eq!(
            text(&db, "SELECT name FROM ra_mst_horses WHERE id = 'hrs_1'").await,
            Some("Create".into())
        );
        assert_eq!(
            text(
                &db,
                "SELECT name_with_suffix FROM ra_mst_horses WHERE id = 'hrs_1'"
            )
            .await,
            Some("Create (IRE)".into())
        );
    }
);

// ---- (d) duplicates ----

backend_test!(
    duplicate_rows_in_a_unit_are_merged_by_key,
    |db| async move {
        let run = new_run(&db).await;
        let counts = apply(
            &db,
            run,
            &unit(vec![
                horse("hrs_1", "Alpha").set("sex", Value::Null),
                horse("hrs_1", "Alpha").set("sex", "gelding"),
                horse("hrs_1", "Alpha").set("colour", "bay"),
            ]),
        )
        .await;
        assert_eq!(counts_of(counts.table("ra_mst_horses")), (1, 0, 0));
        assert_eq!(
            text(&db, "SELECT sex FROM ra_mst_horses WHERE id = 'hrs_1'").await,
            Some("gelding".into())
        );
        assert_eq!(
            text(&db, "SELECT colour FROM ra_mst_horses WHERE id = 'hrs_1'").await,
            Some("bay".into())
        );
    }
);

// ---- (e) no-erase and column ownership ----

backend_test!(a_null_never_erases_a_stored_value, |db| async move {
    let run = new_run(&db).await;
    apply(&db, run, &card_unit()).await;
    apply(
        &db,
        run,
        &unit(vec![result_runner("rac_1", "hrs_1")
            .set("position", 1i64)
            .set("sp_raw", "5/2")]),
    )
    .await;
    let counts = apply(
        &db,
        run,
        &unit(vec![result_runner("rac_1", "hrs_1")
            .set("position", Value::Null)
            .set("sp_raw", Value::Null)
            .set("finish_status", "finished")]),
    )
    .await;
    assert_eq!(counts_of(counts.table("ra_runners")), (0, 1, 0));
    assert_eq!(
        db.scalar_i64("SELECT position FROM ra_runners WHERE horse_id = 'hrs_1'")
            .await,
        1
    );
    assert_eq!(
        text(
            &db,
            "SELECT sp_raw FROM ra_runners WHERE horse_id = 'hrs_1'"
        )
        .await,
        Some("5/2".into())
    );
});

backend_test!(
    a_racecard_row_writing_result_columns_is_refused_and_nothing_is_written,
    |db| async move {
        let run = new_run(&db).await;
        let mut rows = card_unit().rows;
        rows.push(card_runner("rac_1", "hrs_2").set("position", 3i64));
        let err = db
            .apply(run, &unit(rows), ApplyMode::Commit)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::InvalidRow(RowError::NotOwned { ref column, .. }) if column == "position"
            ),
            "{err:?}"
        );
        assert_eq!(db.count_rows("ra_mst_horses").await.unwrap(), 0);
    }
);

backend_test!(
    results_never_touch_racecard_owned_columns,
    |db| async move {
        let run = new_run(&db).await;
        let mut card = card_unit();
        card.rows.push(
            card_runner("rac_1", "hrs_1")
                .set("spotlight", "Won well last time")
                .set("official_rating", 88i64),
        );
        apply(&db, run, &card).await;
        apply(
            &db,
            run,
            &unit(vec![result_runner("rac_1", "hrs_1")
                .set("position", 2i64)
                .set("result_official_rating", 90i64)]),
        )
        .await;
        assert_eq!(
            text(
                &db,
                "SELECT spotlight FROM ra_runners WHERE horse_id = 'hrs_1'"
            )
            .await,
            Some("Won well last time".into())
        );
        assert_eq!(
            db.scalar_i64("SELECT official_rating FROM ra_runners WHERE horse_id = 'hrs_1'")
                .await,
            88
        );
        // And a result may not even try.
        let sneaky = result_runner("rac_1", "hrs_1").set("spotlight", "overwritten");
        assert!(matches!(
            db.apply(run, &unit(vec![sneaky]), ApplyMode::Commit).await,
            Err(StoreError::InvalidRow(RowError::NotOwned { .. }))
        ));
    }
);

fn jockey(source: Source, name: Option<&str>) -> Row {
    Row::new("ra_mst_jockeys", source)
        .set("id", "jky_1")
        .set("name", name)
}

backend_test!(
    a_filler_never_overwrites_the_owners_value,
    |db| async move {
        let run = new_run(&db).await;
        // Racecards own a jockey's name (the newest card is current); results only fill it.
        apply(
            &db,
            run,
            &unit(vec![jockey(Source::Racecard, Some("J. Smith"))]),
        )
        .await;
        let counts = apply(
            &db,
            run,
            &unit(vec![jockey(Source::Result, Some("Jo Smith"))]),
        )
        .await;
        assert_eq!(counts_of(counts.table("ra_mst_jockeys")), (0, 0, 1));
        assert_eq!(
            text(&db, "SELECT name FROM ra_mst_jockeys").await,
            Some("J. Smith".into())
        );
    }
);

backend_test!(
    the_owner_overwrites_a_value_a_filler_put_there,
    |db| async move {
        let run = new_run(&db).await;
        apply(
            &db,
            run,
            &unit(vec![jockey(Source::Result, Some("Jo Smith"))]),
        )
        .await;
        let counts = apply(
            &db,
            run,
            &unit(vec![jockey(Source::Racecard, Some("J. Smith"))]),
        )
        .await;
        assert_eq!(counts_of(counts.table("ra_mst_jockeys")), (0, 1, 0));
        assert_eq!(
            text(&db, "SELECT name FROM ra_mst_jockeys").await,
            Some("J. Smith".into())
        );
    }
);

backend_test!(a_filler_fills_a_value_that_is_still_null, |db| async move {
    let run = new_run(&db).await;
    apply(&db, run, &unit(vec![jockey(Source::Racecard, None)])).await;
    let counts = apply(
        &db,
        run,
        &unit(vec![jockey(Source::Result, Some("Jo Smith"))]),
    )
    .await;
    assert_eq!(counts_of(counts.table("ra_mst_jockeys")), (0, 1, 0));
    assert_eq!(
        text(&db, "SELECT name FROM ra_mst_jockeys").await,
        Some("Jo Smith".into())
    );
});

backend_test!(
    rows_of_one_table_from_two_sources_in_one_unit_both_apply,
    |db| async move {
        let run = new_run(&db).await;
        let counts = apply(
            &db,
            run,
            &unit(vec![
                jockey(Source::Racecard, Some("J. Smith")),
                jockey(Source::Result, Some("Jo Smith")),
            ]),
        )
        .await;
        let c = counts.table("ra_mst_jockeys");
        assert_eq!(c.inserted, 1, "{c:?}");
        assert_eq!(
            text(&db, "SELECT name FROM ra_mst_jockeys").await,
            Some("J. Smith".into())
        );
    }
);

// ---- (f) audit columns ----

backend_test!(
    created_at_is_set_once_while_updated_at_and_last_run_id_follow_changes,
    |db| async move {
        let first_run = new_run(&db).await;
        apply(&db, first_run, &unit(vec![horse("hrs_1", "Alpha")])).await;
        let created = "SELECT CAST(created_at AS TEXT) FROM ra_mst_horses WHERE id = 'hrs_1'";
        let updated = "SELECT CAST(updated_at AS TEXT) FROM ra_mst_horses WHERE id = 'hrs_1'";
        let created_before = text(&db, created).await;
        let updated_before = text(&db, updated).await;
        assert_eq!(created_before, updated_before);

        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let second_run = new_run(&db).await;
        apply(
            &db,
            second_run,
            &unit(vec![horse("hrs_1", "Alpha").set("sex", "mare")]),
        )
        .await;
        assert_eq!(text(&db, created).await, created_before);
        assert_ne!(text(&db, updated).await, updated_before);
        assert_eq!(
            db.scalar_i64("SELECT last_run_id FROM ra_mst_horses WHERE id = 'hrs_1'")
                .await,
            second_run.get()
        );
    }
);

// ---- (g) key lookups ----

backend_test!(
    existing_keys_finds_exactly_the_present_keys_among_5000,
    |db| async move {
        let run = new_run(&db).await;
        let present: Vec<Row> = (0..5_000)
            .filter(|i| i % 3 == 0)
            .map(|i| horse(&format!("hrs_{i}"), "H"))
            .collect();
        apply(&db, run, &unit(present)).await;
        let asked: Vec<String> = (0..5_000).map(|i| format!("hrs_{i}")).collect();
        let found = db
            .existing_keys("ra_mst_horses", "id", &asked)
            .await
            .unwrap();
        let expected: HashSet<String> = (0..5_000)
            .filter(|i| i % 3 == 0)
            .map(|i| format!("hrs_{i}"))
            .collect();
        assert_eq!(found, expected);
        assert!(db
            .existing_keys("ra_mst_horses", "id", &[])
            .await
            .unwrap()
            .is_empty());
    }
);

backend_test!(
    existing_keys_refuses_names_outside_the_registry,
    |db| async move {
        let keys = vec!["x".to_string()];
        assert!(db
            .existing_keys("ra_mst_horses; DROP TABLE ra_runners", "id", &keys)
            .await
            .is_err());
        assert!(db
            .existing_keys("ra_mst_horses", "id = id OR 1", &keys)
            .await
            .is_err());
        assert!(db.count_rows("sqlite_master").await.is_err());
    }
);

// ---- (h) dry run ----

backend_test!(
    a_dry_run_counts_everything_and_writes_nothing,
    |db| async move {
        let run = new_run(&db).await;
        let mut dry = card_unit();
        dry.rejects.push(reject("ra_runners", "rnr_1"));
        dry.state
            .push(("last_card_date".into(), "2024-05-01".into()));
        let counts = db.apply(run, &dry, ApplyMode::DryRun).await.unwrap();
        assert_eq!(counts_of(counts.table("ra_runners")), (2, 0, 0));
        assert_eq!(counts.table("ra_runners").rejected, 1);
        for table in [
            "ra_mst_courses",
            "ra_mst_races",
            "ra_mst_horses",
            "ra_runners",
        ] {
            assert_eq!(db.count_rows(table).await.unwrap(), 0, "{table}");
        }
        assert_eq!(db.get_state(&"last_card_date".into()).await.unwrap(), None);
        assert!(db.run_counts(run).await.unwrap().0.is_empty());
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM paddock_rejects").await,
            0
        );
    }
);

// ---- (i) bookkeeping in the same transaction ----

fn reject(table: &'static str, key: &str) -> Reject {
    Reject {
        endpoint: "/v1/racecards/pro".into(),
        entity: "runner".into(),
        key: Some(key.to_string()),
        reason: "unparseable weight".into(),
        payload: Some(r#"{"lbs":"x"}"#.into()),
        table,
    }
}

backend_test!(
    rejects_state_checkpoint_and_run_counters_are_written_with_the_unit,
    |db| async move {
        let run = new_run(&db).await;
        let mut first = card_unit();
        first.rejects = vec![reject("ra_runners", "rnr_1"), reject("ra_runners", "rnr_2")];
        first.state = vec![
            ("last_card_date".into(), "2024-04-30".into()),
            ("last_card_date".into(), "2024-05-01".into()),
        ];
        first.checkpoint = Some(Checkpoint {
            name: "backfill-results".into(),
            job: "results".into(),
            cursor: Some("2024-05-01".into()),
            status: CheckpointStatus::Running,
        });
        let counts = apply(&db, run, &first).await;
        assert_eq!(counts.table("ra_runners").rejected, 2);

        assert_eq!(
            db.get_state(&"last_card_date".into()).await.unwrap(),
            Some("2024-05-01".into())
        );
        assert_eq!(
            text(
                &db,
                "SELECT \"cursor\" FROM paddock_checkpoints WHERE name = 'backfill-results'"
            )
            .await,
            Some("2024-05-01".into())
        );
        assert_eq!(
            db.scalar_i64(&format!(
                "SELECT COUNT(*) FROM paddock_rejects WHERE run_id = {run} AND entity_key IS NOT NULL"
            ))
            .await,
            2
        );
        assert_eq!(db.run_counts(run).await.unwrap(), counts);

        // A second unit adds to the run's counters.
        let mut second = unit(vec![horse("hrs_1", "Alpha"), horse("hrs_3", "Charlie")]);
        second.rejects = vec![reject("ra_mst_horses", "hrs_x")];
        second.checkpoint = Some(Checkpoint {
            name: "backfill-results".into(),
            job: "results".into(),
            cursor: Some("2024-05-02".into()),
            status: CheckpointStatus::Done,
        });
        apply(&db, run, &second).await;
        let total = db.run_counts(run).await.unwrap();
        assert_eq!(counts_of(total.table("ra_mst_horses")), (3, 0, 1));
        assert_eq!(total.table("ra_mst_horses").rejected, 1);
        assert_eq!(total.table("ra_runners").rejected, 2);
        assert_eq!(
            text(
                &db,
                "SELECT status FROM paddock_checkpoints WHERE name = 'backfill-results'"
            )
            .await,
            Some("done".into())
        );
        let ledger = db.recent_runs(1).await.unwrap();
        assert_eq!(ledger[0].rows_rejected, 3);
    }
);

// ---- (j) write order ----

backend_test!(
    facts_listed_before_their_masters_in_a_unit_still_apply,
    |db| async move {
        let run = new_run(&db).await;
        let mut rows = card_unit().rows;
        rows.reverse();
        rows.insert(
            0,
            Row::new("ra_horse_pedigree", Source::Racecard)
                .set("horse_id", "hrs_1")
                .set("sire_id", "sir_1"),
        );
        rows.push(
            Row::new("ra_mst_sires", Source::Racecard)
                .set("id", "sir_1")
                .set("name", "Galileo"),
        );
        let counts = apply(&db, run, &unit(rows)).await;
        assert_eq!(counts.table("ra_runners").inserted, 2);
        assert_eq!(counts.table("ra_horse_pedigree").inserted, 1);
    }
);

// ---- ledger and read queries ----

backend_test!(
    the_run_ledger_records_start_finish_and_request_totals,
    |db| async move {
        let run = new_run(&db).await;
        let open = db.recent_runs(5).await.unwrap();
        assert_eq!(open[0].status, RunStatus::Running);
        assert_eq!(open[0].finished_at, None);
        let mut requests = BTreeMap::new();
        requests.insert("/v1/racecards/pro".to_string(), 3u64);
        requests.insert("/v1/results".to_string(), 4u64);
        db.finish_run(
            run,
            &RunFinish {
                status: RunStatus::Partial,
                requests_by_endpoint: requests,
                error_text: Some("2 records rejected".into()),
            },
        )
        .await
        .unwrap();
        let later = new_run(&db).await;
        let runs = db.recent_runs(5).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].run_id, later);
        let closed = &runs[1];
        assert_eq!(closed.status, RunStatus::Partial);
        assert_eq!(closed.api_requests, 7);
        assert_eq!(closed.trigger, RunTrigger::Manual);
        assert!(closed.finished_at.is_some());
        let finished = closed.finished_at.unwrap();
        assert!(closed.started_at <= finished, "{closed:?}");
        assert!(
            Utc::now() - closed.started_at < chrono::Duration::minutes(5),
            "{closed:?}"
        );
        assert_eq!(closed.error_text.as_deref(), Some("2 records rejected"));
        assert!(db
            .finish_run(
                RunId(9_999),
                &RunFinish {
                    status: RunStatus::Failed,
                    requests_by_endpoint: BTreeMap::new(),
                    error_text: None,
                }
            )
            .await
            .is_err());
    }
);

backend_test!(
    horses_without_profile_data_come_most_recently_raced_first,
    |db| async move {
        let run = new_run(&db).await;
        let profiled = Row::new("ra_mst_horses", Source::HorseProfile)
            .set("id", "hrs_4")
            .set("name", "Delta")
            .set("profile_fetched_at", instant(2024, 5, 2, 9, 0));
        apply(
            &db,
            run,
            &unit(vec![
                course("crs_1"),
                race("rac_old", "crs_1", (2024, 1, 10)),
                race("rac_new", "crs_1", (2024, 5, 1)),
                horse("hrs_1", "Alpha"),
                horse("hrs_2", "Bravo"),
                horse("hrs_3", "Charlie"),
                horse("hrs_4", "Delta"),
                profiled,
                // A racecard brings the profile fields itself.
                horse("hrs_5", "Echo").set("dob", day((2019, 3, 1))),
                card_runner("rac_old", "hrs_1"),
                card_runner("rac_new", "hrs_2"),
                card_runner("rac_old", "hrs_4"),
                card_runner("rac_new", "hrs_5"),
            ]),
        )
        .await;
        let order = db.horses_without_profile(10).await.unwrap();
        // hrs_2 raced last, hrs_1 earlier, hrs_3 never; hrs_4 has its profile and hrs_5
        // was seen on a racecard with its profile fields.
        assert_eq!(order, ["hrs_2", "hrs_1", "hrs_3"]);
        assert_eq!(db.horses_without_profile(1).await.unwrap(), ["hrs_2"]);
    }
);

backend_test!(
    unlinked_pedigree_ids_lists_pedigree_rows_without_their_horse,
    |db| async move {
        let run = new_run(&db).await;
        apply(
            &db,
            run,
            &unit(vec![
                horse("hrs_10", "Galileo"),
                Row::new("ra_mst_sires", Source::Racecard)
                    .set("id", "sir_2")
                    .set("name", "Frankel"),
                Row::new("ra_mst_sires", Source::Racecard)
                    .set("id", "sir_1")
                    .set("name", "Galileo"),
                Row::new("ra_mst_sires", Source::Derived)
                    .set("id", "sir_1")
                    .set("horse_id", "hrs_10"),
            ]),
        )
        .await;
        assert_eq!(
            db.unlinked_pedigree_ids("ra_mst_sires").await.unwrap(),
            ["sir_2"]
        );
        assert!(db.unlinked_pedigree_ids("ra_mst_horses").await.is_err());
    }
);

// ---- connecting ----

#[tokio::test]
async fn connect_creates_a_sqlite_file_and_its_directory_from_a_url_or_a_path() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("nested").join("paddock.db");
    let by_url = paddock::store::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect by URL");
    paddock::store::migrate(&by_url).await.expect("migrate");
    assert!(path.exists());
    by_url.close().await;

    let by_path = paddock::store::connect(&path.display().to_string())
        .await
        .expect("connect by path");
    assert_eq!(by_path.backend(), paddock::store::BackendKind::Sqlite);
    assert_eq!(by_path.count_rows("ra_mst_horses").await.unwrap(), 0);
}

#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_data_between_calls() {
    let store = paddock::store::connect("sqlite::memory:")
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let run = store
        .start_run("test", RunTrigger::Manual, json!({}))
        .await
        .unwrap();
    store
        .apply(run, &unit(vec![horse("hrs_1", "Alpha")]), ApplyMode::Commit)
        .await
        .unwrap();
    assert_eq!(store.count_rows("ra_mst_horses").await.unwrap(), 1);
}

#[tokio::test]
async fn connection_errors_never_show_the_database_password() {
    let options = paddock::store::StoreOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    // Nothing listens on port 1.
    let err =
        paddock::store::connect_with("postgres://paddock:s3cret-pw@127.0.0.1:1/racing", &options)
            .await
            .expect_err("no server there");
    let shown = format!("{err:#} {err:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("paddock:***@127.0.0.1:1/racing"), "{shown}");
}

#[tokio::test]
async fn postgres_connections_carry_explicit_statement_and_lock_timeouts() {
    let (store, _db) = support::postgres_store().await;
    let statement: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let lock: String = sqlx::query_scalar("SHOW lock_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(statement, "5min");
    assert_eq!(lock, "1min");
}

// ---- physical table names (the seam dual-write uses) ----

backend_test!(
    a_unit_is_written_to_the_physical_names_its_tables_are_mapped_to,
    |db| async move {
        let dialect = match db.backend() {
            support::Backend::Sqlite => fetchers::schema::Dialect::Sqlite,
            support::Backend::Postgres => fetchers::schema::Dialect::Postgres,
        };
        let horses = fetchers::registry::table("ra_mst_horses").unwrap();
        db.execute(&fetchers::schema::create_table(
            dialect,
            horses,
            "ra_horses",
        ))
        .await;
        let run = new_run(&db).await;

        // Mapped to another name only: the registry-named table stays empty.
        let renamed = db.store.clone().with_physical_names(
            paddock::store::PhysicalNames::registry()
                .map("ra_mst_horses", &["ra_horses"])
                .unwrap(),
        );
        let counts = renamed
            .apply(
                run,
                &unit(vec![horse("hrs_1", "Alpha"), horse("hrs_2", "Bravo")]),
                ApplyMode::Commit,
            )
            .await
            .unwrap();
        assert_eq!(counts_of(counts.table("ra_mst_horses")), (2, 0, 0));
        assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_horses").await, 2);
        assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await, 0);
        assert_eq!(renamed.count_rows("ra_mst_horses").await.unwrap(), 2);
        let found = renamed
            .existing_keys("ra_mst_horses", "id", &["hrs_1".into(), "hrs_9".into()])
            .await
            .unwrap();
        assert_eq!(found, HashSet::from(["hrs_1".to_string()]));

        // Mapped to both names (dual-write): both tables get the rows, counted once.
        let both = db.store.clone().with_physical_names(
            paddock::store::PhysicalNames::registry()
                .map("ra_mst_horses", &["ra_horses", "ra_mst_horses"])
                .unwrap(),
        );
        let counts = both
            .apply(
                run,
                &unit(vec![horse("hrs_1", "Alpha Two"), horse("hrs_3", "Charlie")]),
                ApplyMode::Commit,
            )
            .await
            .unwrap();
        assert_eq!(counts_of(counts.table("ra_mst_horses")), (1, 1, 0));
        assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_horses").await, 3);
        assert_eq!(db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses").await, 2);
        assert_eq!(
            text(&db, "SELECT name FROM ra_mst_horses WHERE id = 'hrs_1'").await,
            Some("Alpha Two".into())
        );
    }
);

// ---- transient and permanent errors ----

/// The database error of `sql` on `store`'s pool (which must fail).
async fn error_of(store: &paddock::store::AnyStore, sql: &str) -> sqlx::Error {
    let result = match store {
        paddock::store::AnyStore::Sqlite(s) => sqlx::query(sql).execute(s.pool()).await.map(|_| ()),
        paddock::store::AnyStore::Postgres(s) => {
            sqlx::query(sql).execute(s.pool()).await.map(|_| ())
        }
    };
    result.expect_err(sql)
}

backend_test!(
    constraint_violations_are_permanent_errors,
    |db| async move {
        db.execute("INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('gb', 'a', '2024-05-01T00:00:00Z')")
            .await;
        let duplicate = error_of(
            &db.store,
            "INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('gb', 'b', '2024-05-01T00:00:00Z')",
        )
        .await;
        assert!(
            !paddock::store::transient::is_transient(&duplicate),
            "{duplicate}"
        );
        let stored = paddock::store::diagnose::database_error(None, &duplicate);
        assert!(!stored.is_transient(), "{stored}");

        // Through the store: a runner whose race exists nowhere.
        let run = new_run(&db).await;
        let orphan = unit(vec![
            card_runner("rac_missing", "hrs_1"),
            horse("hrs_1", "Alpha"),
        ]);
        let failed = db.apply(run, &orphan, ApplyMode::Commit).await.unwrap_err();
        assert!(matches!(failed, StoreError::Constraint { .. }), "{failed}");
        assert!(!failed.is_transient(), "{failed}");
    }
);

#[tokio::test]
async fn a_busy_sqlite_database_is_a_transient_error() {
    let (store, _dir) = support::sqlite_store().await;
    let mut holder = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    sqlx::query("INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('gb', 'a', '2024-05-01T00:00:00Z')")
        .execute(&mut *holder)
        .await
        .unwrap();
    let mut other = store.pool().acquire().await.unwrap();
    sqlx::query("PRAGMA busy_timeout = 0")
        .execute(&mut *other)
        .await
        .unwrap();
    let busy = sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *other)
        .await
        .expect_err("the write lock is held");
    assert!(paddock::store::transient::is_transient(&busy), "{busy}");
    assert!(paddock::store::diagnose::database_error(None, &busy).is_transient());
    holder.rollback().await.unwrap();
}

#[tokio::test]
async fn postgres_lock_serialization_and_deadlock_failures_are_transient() {
    use paddock::store::transient::is_transient;
    let (store, _db) = support::postgres_store().await;
    let pool = store.pool();
    sqlx::query("INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('gb', 'a', now()), ('ire', 'b', now())")
        .execute(pool)
        .await
        .unwrap();

    // A row lock another transaction holds, asked for with NOWAIT: 55P03.
    let mut a = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM paddock_state WHERE \"key\" = 'gb' FOR UPDATE")
        .execute(&mut *a)
        .await
        .unwrap();
    let locked = sqlx::query("SELECT 1 FROM paddock_state WHERE \"key\" = 'gb' FOR UPDATE NOWAIT")
        .execute(pool)
        .await
        .expect_err("row is locked");
    assert!(is_transient(&locked), "{locked}");
    a.rollback().await.unwrap();

    // Two serializable transactions that read what the other writes: 40001.
    let mut a = pool.begin().await.unwrap();
    let mut b = pool.begin().await.unwrap();
    for tx in [&mut a, &mut b] {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            .execute(&mut **tx)
            .await
            .unwrap();
        sqlx::query("SELECT COUNT(*) FROM paddock_state")
            .execute(&mut **tx)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('fr', 'c', now())")
        .execute(&mut *a)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO paddock_state (\"key\", value, updated_at) VALUES ('usa', 'd', now())",
    )
    .execute(&mut *b)
    .await
    .unwrap();
    a.commit().await.unwrap();
    let serialization = b.commit().await.expect_err("serialization failure");
    assert!(is_transient(&serialization), "{serialization}");

    // Two transactions each waiting for the other's row: 40P01.
    let mut a = pool.begin().await.unwrap();
    let mut b = pool.begin().await.unwrap();
    let lock = |code: &'static str| {
        format!("UPDATE paddock_state SET value = value WHERE \"key\" = '{code}'")
    };
    sqlx::query(&lock("gb")).execute(&mut *a).await.unwrap();
    sqlx::query(&lock("ire")).execute(&mut *b).await.unwrap();
    let waiter = tokio::spawn(async move {
        let result = sqlx::query(&lock("ire")).execute(&mut *a).await.map(|_| ());
        (a, result)
    });
    let second = sqlx::query(&lock("gb")).execute(&mut *b).await.map(|_| ());
    let (_a, first) = waiter.await.unwrap();
    let deadlock = first
        .err()
        .or(second.err())
        .expect("one side is the deadlock victim");
    assert!(is_transient(&deadlock), "{deadlock}");
    assert_eq!(
        deadlock
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("40P01")
    );
}

#[tokio::test]
async fn a_refused_connection_and_a_pool_timeout_are_transient_errors() {
    use paddock::store::transient::is_transient;
    // Nothing listens on port 1.
    let refused = sqlx::PgPool::connect("postgres://paddock@127.0.0.1:1/none")
        .await
        .expect_err("nothing listens");
    assert!(is_transient(&refused), "{refused}");

    let (store, _dir) = support::sqlite_store().await;
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_millis(50))
        .connect_with(store.pool().connect_options().as_ref().clone())
        .await
        .unwrap();
    let _held = pool.acquire().await.unwrap();
    let timeout = pool
        .acquire()
        .await
        .expect_err("the only connection is held");
    assert!(is_transient(&timeout), "{timeout}");
}

// ---- the raw archive, per-job status and checkpoints (written once over `SqlStore`) ----

fn response(
    endpoint: &str,
    at: DateTime<Utc>,
    body: &str,
) -> paddock::store::archive::StoredResponse {
    paddock::store::archive::StoredResponse {
        response_id: 0,
        endpoint: endpoint.to_string(),
        query: format!("{endpoint}?at={}", at.timestamp()),
        status: 200,
        fetched_at: at,
        body_bytes: 10 * body.len() as i64,
        body_zstd: body.to_string(),
    }
}

backend_test!(
    the_raw_archive_reads_back_in_order_filters_by_fetch_time_counts_and_prunes,
    |db| async move {
        use paddock::store::archive;
        let at = |h: u32| Utc.with_ymd_and_hms(2025, 5, 1, h, 0, 0).unwrap();
        let rows = vec![
            response("/results", at(1), "aaaa"),
            response("/racecards/pro", at(2), "bb"),
            response("/results", at(3), "c"),
        ];
        archive::insert(&db, &rows).await.unwrap();
        archive::insert(&db, &[]).await.unwrap();

        let all = archive::read_batch(&db, 0, None, None, 10).await.unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.windows(2).all(|w| w[0].response_id < w[1].response_id));
        for (read, written) in all.iter().zip(&rows) {
            assert_eq!(
                (&read.endpoint, &read.query, read.status, read.fetched_at),
                (&written.endpoint, &written.query, 200, written.fetched_at)
            );
            assert_eq!(
                (read.body_bytes, &read.body_zstd),
                (written.body_bytes, &written.body_zstd)
            );
        }
        // Paging by id and the [from, to) window.
        let after_first = archive::read_batch(&db, all[0].response_id, None, None, 1)
            .await
            .unwrap();
        assert_eq!(after_first.len(), 1);
        assert_eq!(after_first[0].response_id, all[1].response_id);
        let window = archive::read_batch(&db, 0, Some(at(2)), Some(at(3)), 10)
            .await
            .unwrap();
        assert_eq!(window.len(), 1);
        assert_eq!(window[0].endpoint, "/racecards/pro");

        let f = archive::figures(&db).await.unwrap();
        assert_eq!((f.responses, f.body_bytes, f.stored_bytes), (3, 70, 7));
        assert_eq!((f.first, f.last), (Some(at(1)), Some(at(3))));
        assert_eq!(
            f.by_endpoint,
            vec![
                ("/racecards/pro".to_string(), 1),
                ("/results".to_string(), 2)
            ]
        );

        assert_eq!(archive::prune_before(&db, at(3)).await.unwrap(), 2);
        let left = archive::read_batch(&db, 0, None, None, 10).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].fetched_at, at(3));
        let empty = {
            archive::prune_before(&db, at(4)).await.unwrap();
            archive::figures(&db).await.unwrap()
        };
        assert_eq!(
            (empty.responses, empty.body_bytes, empty.first),
            (0, 0, None)
        );
    }
);

backend_test!(
    job_status_reads_the_latest_run_and_last_success_and_checkpoints_read_by_job,
    |db| async move {
        use paddock::store::{checkpoints, job_status};
        job_status::ping(&db).await.unwrap();
        assert_eq!(job_status::latest_run(&db, "results").await.unwrap(), None);
        assert_eq!(
            job_status::last_success(&db, "results").await.unwrap(),
            None
        );

        // A partial run, a failed one, then one still running.
        let mut runs = Vec::new();
        for (trigger, finished) in [
            (
                RunTrigger::Schedule,
                Some((RunStatus::Partial, "1 rejected")),
            ),
            (RunTrigger::Manual, Some((RunStatus::Failed, "boom"))),
            (RunTrigger::Manual, None),
        ] {
            let run = db.start_run("results", trigger, json!({})).await.unwrap();
            if let Some((status, error)) = finished {
                let finish = RunFinish {
                    status,
                    requests_by_endpoint: BTreeMap::new(),
                    error_text: Some(error.to_string()),
                };
                db.finish_run(run, &finish).await.unwrap();
            }
            runs.push(run);
        }
        let (ok, running) = (runs[0], runs[2]);

        let latest = job_status::latest_run(&db, "results")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.run_id, running);
        assert_eq!(
            (latest.trigger.as_str(), latest.status.as_str()),
            ("manual", "running")
        );
        assert_eq!((latest.finished_at, latest.error_text), (None, None));
        // A partial run counts as a success; the failed one does not.
        let partial = db.recent_runs(3).await.unwrap();
        let partial = partial.iter().find(|r| r.run_id == ok).unwrap();
        assert_eq!(
            job_status::last_success(&db, "results").await.unwrap(),
            partial.finished_at
        );
        assert!(partial.finished_at.is_some());

        let unit = |name: &str, job: &str, cursor: Option<&str>, status| UnitOfWork {
            checkpoint: Some(Checkpoint {
                name: name.to_string(),
                job: job.to_string(),
                cursor: cursor.map(str::to_string),
                status,
            }),
            ..UnitOfWork::default()
        };
        for u in [
            unit(
                "b",
                "backfill",
                Some("2025-05-02"),
                CheckpointStatus::Running,
            ),
            unit("a", "backfill", None, CheckpointStatus::Done),
            unit("c", "other", Some("x"), CheckpointStatus::Running),
        ] {
            db.apply(running, &u, ApplyMode::Commit).await.unwrap();
        }
        let stored = checkpoints::for_job(&db, "backfill").await.unwrap();
        let read: Vec<(&str, Option<&str>, &str)> = stored
            .iter()
            .map(|c| (c.name.as_str(), c.cursor.as_deref(), c.status.as_str()))
            .collect();
        assert_eq!(
            read,
            vec![("a", None, "done"), ("b", Some("2025-05-02"), "running")]
        );
        assert!(stored.iter().all(|c| c.job == "backfill"));
    }
);

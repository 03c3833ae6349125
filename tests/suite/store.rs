//! The store's behaviour, on SQLite and PostgreSQL alike: bulk upserts with counts, no-erase
//! and column ownership, atomic units with named constraint failures, bookkeeping in the same
//! transaction, dry runs, key lookups, physical table names; the run ledger and other reads in
//! [`ledger`], connecting and transient errors in [`connections`].

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

mod connections;
mod ledger;

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

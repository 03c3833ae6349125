//! Every writer keeps the derived tables current: a backfill and a replay leave them equal to
//! the naive recount, and races a writer committed but never derived (what a killed run
//! leaves: its units, with their pending marks, and no derived update) are brought up to date
//! by the next writer's update.

use super::*;
use paddock::archive::{Archive, ArchiveTarget};
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions};

async fn pending_marks(db: &TestDb) -> i64 {
    db.scalar_i64("SELECT COUNT(*) FROM paddock_derived_pending")
        .await
}

/// A races-and-runners run opened by hand (its fetch and derived update driven by the test).
async fn open_run(db: &TestDb) -> fetchers::store::RunId {
    db.start_run(
        "races_and_runners",
        RunTrigger::Manual,
        serde_json::json!({}),
    )
    .await
    .unwrap()
}

backend_test!(
    a_backfill_and_a_replay_leave_the_derived_tables_equal_to_a_naive_recount,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let archive = Archive::start(ArchiveTarget::Database(db.store.clone()));
        let api = client_for(&server).with_hook(archive.clone());
        let options = BackfillOptions {
            from: day(40),
            to: day(33),
            parts: [Part::Results, Part::Racecards].into_iter().collect(),
            profile_budget: 0,
            regions: vec!["gb".into(), "ire".into()],
            today: sim_today(),
            rate_per_second: 1000.0,
            distance_bands: DistanceBands::default(),
            odds: Default::default(),
        };
        let result = run_backfill(&api, &db.store, &options, Reporter::Silent)
            .await
            .unwrap();
        assert_eq!(result.exit_code(), 0, "{:?}", result.error);
        archive.close().await.unwrap();
        assert_tables_equal_naive(&db, "right after a backfill").await;
        assert_eq!(
            pending_marks(&db).await,
            0,
            "the backfill's update took every mark"
        );
        // The ledger counts the derived rows under the backfill's run.
        let written: u64 = TABLES
            .iter()
            .map(|t| {
                let c = result.ledger_counts.table(t);
                c.inserted + c.updated
            })
            .sum();
        assert!(written > 0, "derived rows in the backfill's counts");

        let fresh = TestDb::new(db.backend()).await;
        let replayed = paddock::replay::replay(
            &fresh.store,
            &DistanceBands::default(),
            ArchiveTarget::Database(db.store.clone()),
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(replayed.exit_code(), 0, "{:?}", replayed.error);
        assert_tables_equal_naive(&fresh, "right after a replay").await;
        assert_eq!(pending_marks(&fresh).await, 0);
    }
);

backend_test!(
    races_a_writer_committed_but_never_derived_are_brought_up_to_date_by_the_next_writer,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        // A run that commits its units and dies before its derived update: the fetch alone,
        // under a run of its own that never finishes.
        let dead_run = open_run(&db).await;
        let mut ctx = fetchers::jobs::JobContext::new(
            &api,
            &db.store,
            dead_run,
            ApplyMode::Commit,
            vec!["gb".into(), "ire".into()],
        );
        let plan = RacesAndRunnersPlan::dates(day(30), day(27), sim_today());
        fetchers::jobs::races_and_runners(&mut ctx, &plan)
            .await
            .unwrap();
        assert!(pending_marks(&db).await > 0, "the units marked their races");
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_runner_statistics")
                .await,
            0,
            "nothing derived yet"
        );

        // The next writer covers other days; its update brings the dead run's races too.
        results_run(&db, &api, day(26), day(25)).await;
        assert_tables_equal_naive(&db, "after the next writer").await;
        assert_eq!(pending_marks(&db).await, 0);

        // A mark committed while no update runs is taken by the full rebuild as well.
        db.execute(
            "INSERT INTO paddock_derived_pending (race_id, run_id, marked_at) \
             SELECT id, 0, created_at FROM ra_mst_races",
        )
        .await;
        full_rebuild(&db).await;
        assert_eq!(pending_marks(&db).await, 0);
    }
);

backend_test!(
    an_update_with_other_distance_bands_rebuilds_everything_for_them,
    |db| async move {
        // Running totals are right only on top of rows counted for the same bands: after
        // `[derive] distance_bands` changes, the next update rebuilds every table.
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        results_run(&db, &api, day(30), day(28)).await;
        let coarse = DistanceBands::new(vec![5, 10]).unwrap();
        let labels = coarse.labels();
        let run = open_run(&db).await;
        let counts = paddock::derive::update_touched(&db.store, &coarse, run)
            .await
            .unwrap();
        let bands: Vec<Option<String>> = rows(
            &db,
            "SELECT DISTINCT distance_band FROM ra_performance_by_distance ORDER BY 1",
        )
        .await
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect();
        let bands: BTreeSet<Option<String>> = bands.into_iter().collect();
        let expected: BTreeSet<Option<String>> = labels.iter().cloned().map(Some).collect();
        assert_eq!(bands, expected, "every group recounted in the new bands");
        let written = counts.table("ra_runner_statistics");
        let total = db.count_rows("ra_runner_statistics").await.unwrap() as u64;
        assert_eq!(written.inserted + written.updated, total, "a full rebuild");
        // Nothing pending and the same bands again: an update writes nothing.
        let again = paddock::derive::update_touched(&db.store, &coarse, run)
            .await
            .unwrap();
        let rewritten: u64 = (again.0.values()).map(|c| c.inserted + c.updated).sum();
        assert_eq!(rewritten, 0);
        // Back to the default bands: rebuilt again, equal to the naive recount.
        paddock::derive::update_touched(&db.store, &DistanceBands::default(), run)
            .await
            .unwrap();
        assert_tables_equal_naive(&db, "after returning to the default bands").await;
    }
);

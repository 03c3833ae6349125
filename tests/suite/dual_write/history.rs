//! The rename's transition ledger, `paddock_rename_history`: every attempt numbered once
//! across rollbacks and pruning, migration 0007 moving the old key-value rows into it, and a
//! transition whose work fails recorded as `failed` with nothing changed.

use super::*;

/// The ledger's numbers, in order.
async fn history_keys(db: &TestDb) -> Vec<String> {
    texts(
        db,
        "SELECT CAST(seq AS TEXT) AS number FROM paddock_rename_history ORDER BY seq",
    )
    .await
}

backend_test!(
    the_transition_ledger_records_every_attempt_once_across_rollbacks_and_pruning,
    |db| async move {
        legacy_database(&db).await;
        apply(&phased(&db).await, &fixture_unit()).await.unwrap();
        let now = Utc::now();
        rename::begin(&db, now).await.unwrap();
        rename::backfill(&db, 100, now).await.unwrap();
        rename::advance(&db, false, now).await.unwrap();
        rename::rollback(&db, now).await.unwrap();
        rename::advance(&db, false, now).await.unwrap();
        rename::rollback(&db, now).await.unwrap();
        // Refused attempts count too, also when several run at once.
        db.execute("UPDATE ra_mst_horses SET name = 'Tampered' WHERE id = 'hrs_fixture_1'")
            .await;
        let attempts: Vec<_> = (0..4)
            .map(|_| {
                let other = db.store.clone();
                tokio::spawn(async move { rename::advance(&other, false, now).await })
            })
            .collect();
        for attempt in attempts {
            assert!(attempt.await.unwrap().is_err());
        }
        let expected = [
            "legacy->dual-write: succeeded",
            "dual-write->backfill: succeeded",
            "backfill->switch-readers: succeeded",
            "switch-readers->backfill: succeeded",
            "backfill->switch-readers: succeeded",
            "switch-readers->backfill: succeeded",
        ];
        let history = rename::history(&db).await.unwrap();
        let shown: Vec<String> = history
            .iter()
            .map(|t| format!("{}->{}: {}", t.from, t.to, t.outcome))
            .collect();
        assert_eq!(shown[..6], expected);
        assert_eq!(shown.len(), 10, "{shown:#?}");
        assert!(
            shown[6..].iter().all(|s| s.contains("refused")),
            "{shown:#?}"
        );
        let keys = history_keys(&db).await;
        let numbered: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
        assert_eq!(keys, numbered);

        // An operator prunes the oldest entry: the next one still gets a new number and
        // the newest entry is kept.
        db.execute("DELETE FROM paddock_rename_history WHERE seq = 1")
            .await;
        rename::backfill(&db, 100, now).await.unwrap();
        rename::advance(&db, false, now).await.unwrap();
        let history = rename::history(&db).await.unwrap();
        assert_eq!(history.len(), 10);
        assert_eq!(
            history[8].outcome,
            TransitionOutcome::Refused,
            "{history:#?}"
        );
        assert_eq!(
            (history[9].from, history[9].to, history[9].outcome),
            (
                Phase::Backfill,
                Phase::SwitchReaders,
                TransitionOutcome::Succeeded
            )
        );
        assert_eq!(history_keys(&db).await.last().unwrap(), "11");
    }
);

backend_test!(
    migration_0007_moves_the_old_ledger_rows_and_a_transition_writes_a_typed_row,
    |db| async move {
        // The database as 0006 left it, with a ledger kept in `paddock_state` rows.
        db.execute("DROP TABLE paddock_rename_history").await;
        db.execute("DELETE FROM _sqlx_migrations WHERE version = 7")
            .await;
        for (key, value) in [
            ("rename_history:000001", "legacy->dual-write: ok"),
            (
                "rename_history:000002",
                "dual-write->backfill: refused: verify found: a: b",
            ),
            ("rename_history:000003", "dual-write->backfill: ok"),
        ] {
            db.execute(&format!(
                "INSERT INTO paddock_state (key, value, updated_at) \
                 VALUES ('{key}', '{value}', '2026-01-02T03:04:05+00:00')"
            ))
            .await;
        }
        db.migrate().await.unwrap();
        let moved = texts(
            &db,
            "SELECT CAST(seq AS TEXT) AS number, from_phase, to_phase, outcome, detail \
             FROM paddock_rename_history ORDER BY seq",
        )
        .await;
        assert_eq!(
            moved,
            [
                "1|legacy|dual-write|succeeded|NULL",
                "2|dual-write|backfill|refused|verify found: a: b",
                "3|dual-write|backfill|succeeded|NULL",
            ]
        );
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM paddock_state WHERE key LIKE 'rename_history:%'")
                .await,
            0
        );
        let history = rename::history(&db).await.unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history[1].detail.as_deref(), Some("verify found: a: b"));

        // A transition appends a typed row after them (this database is in no phase: the
        // ledger is read as it stands, and the numbers go on).
        db.execute("DELETE FROM paddock_rename_history").await;
        legacy_database(&db).await;
        let now = Utc::now();
        rename::begin(&db, now).await.unwrap();
        let refused = rename::drop_archived(&db, Duration::days(30), false, now)
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("phase deprecate"), "{refused}");
        let history = rename::history(&db).await.unwrap();
        assert_eq!(history.len(), 1, "{history:#?}");
        let entry = &history[0];
        assert_eq!(
            (
                entry.seq,
                entry.from,
                entry.to,
                entry.outcome,
                entry.detail.clone()
            ),
            (
                1,
                Phase::Legacy,
                Phase::DualWrite,
                TransitionOutcome::Succeeded,
                None
            )
        );
        assert!((entry.at - now).num_milliseconds().abs() < 1, "{entry:?}");
        assert_eq!(
            texts(&db, "SELECT outcome FROM paddock_rename_history").await,
            ["succeeded"]
        );
    }
);

backend_test!(
    a_transition_whose_work_fails_is_recorded_as_failed_and_changes_nothing,
    |db| async move {
        legacy_database(&db).await;
        // `begin` creates ra_mst_horses: a table of that name in the way fails it.
        db.execute("CREATE TABLE ra_mst_horses (id TEXT PRIMARY KEY)")
            .await;
        let error = rename::begin(&db, Utc::now()).await.unwrap_err();
        assert!(format!("{error:#}").contains("ra_mst_horses"), "{error:#}");
        assert_eq!(rename::current_phase(&db).await.unwrap(), Phase::Legacy);
        assert!(!db.table_exists("ra_mst_courses").await.unwrap());
        let history = rename::history(&db).await.unwrap();
        assert_eq!(history.len(), 1, "{history:#?}");
        assert_eq!(
            (history[0].from, history[0].to, history[0].outcome),
            (Phase::Legacy, Phase::DualWrite, TransitionOutcome::Failed)
        );
        let detail = history[0].detail.clone().unwrap_or_default();
        assert!(detail.contains("ra_mst_horses"), "{detail}");
    }
);

//! `tables backfill` takes the transitions' lock for each batch and copies only while the phase
//! is still backfill: a rollback committed while a batch waits stops the backfill, and nothing
//! of the batch is written in the phase the rollback set (on an adopted database, PostgreSQL:
//! SQLite serializes every writer with `BEGIN IMMEDIATE` already, and the phase check is the
//! same code).

use super::adopt;
use crate::support::predecessor::{Predecessor, Shape};
use crate::support::wait::wait_until;
use crate::support::Backend;
use chrono::Utc;
use paddock::rename::{self, Phase};
use paddock::store::AnyStore;
use sqlx::Connection;

/// The backfill cursors stored (a batch sets its table's; a finished pass clears them all).
async fn cursors(legacy: &Predecessor) -> String {
    let sql =
        "SELECT CAST(COUNT(*) AS TEXT) FROM paddock_state WHERE \"key\" LIKE 'rename_backfill:%'";
    let rows = legacy.store.text_rows(sql).await.unwrap();
    rows[0][0].clone().unwrap()
}

#[tokio::test]
async fn a_backfill_batch_waits_for_a_transition_and_stops_once_the_phase_moved() {
    let legacy = Predecessor::with(Backend::Postgres, Shape::Adoptable, &[]).await;
    let (code, stdout, stderr) = adopt(&legacy, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let now = Utc::now();
    rename::begin(&legacy.store, now).await.unwrap();
    rename::backfill(&legacy.store, 2, now).await.unwrap();
    assert_eq!(cursors(&legacy).await, "0");
    assert_eq!(
        rename::current_phase(&legacy.store).await.unwrap(),
        Phase::Backfill
    );
    let AnyStore::Postgres(store) = &legacy.store else {
        unreachable!()
    };
    let mut conn = store.pool_for_tests().acquire().await.unwrap();

    // A transition in flight: paddock_state held exclusively, as rollback does.
    let mut transition = conn.begin().await.unwrap();
    sqlx::query("LOCK TABLE paddock_state IN EXCLUSIVE MODE")
        .execute(&mut *transition)
        .await
        .unwrap();
    let other = legacy.store.clone();
    let backfill = tokio::spawn(async move { rename::backfill(&other, 1, Utc::now()).await });
    let waiting = "SELECT CAST(COUNT(*) AS TEXT) FROM pg_stat_activity WHERE datname = \
                   current_database() AND wait_event_type = 'Lock'";
    wait_until(
        "the backfill's batch waiting for the transition",
        String::new,
        || async {
            let rows = legacy.store.text_rows(waiting).await.unwrap();
            (rows[0][0].as_deref() != Some("0")).then_some(())
        },
    )
    .await;
    // The transition commits: back to dual-write.
    sqlx::query("UPDATE paddock_state SET value = 'dual-write' WHERE \"key\" = 'rename_phase'")
        .execute(&mut *transition)
        .await
        .unwrap();
    transition.commit().await.unwrap();

    let error = backfill.await.unwrap().expect_err("the backfill stops");
    assert!(
        format!("{error:#}").contains("no longer backfill"),
        "{error:#}"
    );
    assert_eq!(cursors(&legacy).await, "0", "a batch was written");
    assert_eq!(
        rename::current_phase(&legacy.store).await.unwrap(),
        Phase::DualWrite
    );
}

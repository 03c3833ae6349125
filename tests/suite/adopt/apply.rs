//! The adoption applied: `migrate` a no-op, the rename's status working, a races-and-runners
//! run in the legacy phase storing new rows, no legacy value changed, other systems' tables
//! byte-for-byte unchanged.

use super::{adopt, dry_run_json};
use crate::support::bin::run_paddock;
use crate::support::jobs::default_config;
use crate::support::predecessor::{foreign_tables, Predecessor, Shape};
use crate::support::sim::{client_for, sim_today, simulator};
use crate::support::Backend;
use chrono::Duration;
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunStatus, RunTrigger};
use paddock::rename;
use paddock::run::{self, JobRequest, RunContext};
use paddock::simulator::Faults;
use std::collections::{BTreeMap, BTreeSet};

/// Every row of every table but the other systems', under its original columns.
async fn legacy_rows(legacy: &Predecessor) -> BTreeMap<String, (Vec<String>, BTreeSet<String>)> {
    let foreign = foreign_tables(Shape::Adoptable);
    let mut out = BTreeMap::new();
    for table in legacy.tables().await {
        if !foreign.contains(&table.as_str()) {
            let columns = legacy.columns(&table).await;
            let rows = legacy.rows(&table, &columns).await;
            out.insert(table, (columns, rows));
        }
    }
    out
}

/// A racecards and results run for yesterday, through the store following the stored phase
/// (the derived update after it included).
pub(super) async fn races_and_runners_run(legacy: &Predecessor) -> run::RunResult {
    let server = simulator(19, Faults::default()).await;
    let store = rename::for_current_phase(legacy.store.clone())
        .await
        .unwrap();
    let day = sim_today() - Duration::days(1);
    let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(day, day, sim_today()));
    let context = RunContext::new(RunTrigger::Manual, ApplyMode::Commit);
    run::run_job(
        &default_config(),
        &client_for(&server),
        &store,
        &request,
        &context,
    )
    .await
    .unwrap()
}

pub(super) async fn count(legacy: &Predecessor, sql: &str) -> i64 {
    let rows = legacy.store.text_rows(sql).await.unwrap();
    rows[0][0].as_deref().unwrap().parse().unwrap()
}

async fn adopted_database_migrates_and_runs_in_the_legacy_phase(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::Adoptable, &[]).await;
    let sums = legacy.checksums().await;
    let before = legacy_rows(&legacy).await;
    let (code, plan) = dry_run_json(&legacy);
    assert_eq!(code, 0, "{plan:#}");
    let (code, stdout, stderr) = adopt(&legacy, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, _) = adopt(&legacy, &[]);
    assert_eq!(
        (code, stdout.contains("nothing to adopt")),
        (0, true),
        "{stdout}"
    );

    // migrate is a no-op success, in the library and the binary; the rename commands work.
    let migrations = "SELECT CAST(COUNT(*) AS TEXT) FROM _sqlx_migrations";
    let recorded = count(&legacy, migrations).await;
    legacy.store.migrate().await.expect("migrate after adopt");
    let url = legacy.url();
    let env = [("PADDOCK_DATABASE_URL", url.as_str())];
    let out = run_paddock(&["migrate"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&legacy, migrations).await, recorded);
    let out = run_paddock(&["tables", "status"], &env);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && status.contains("phase: legacy"),
        "{status}"
    );
    let adoptions = "SELECT CAST(COUNT(*) AS TEXT) FROM paddock_runs WHERE job = 'adopt'";
    assert_eq!(count(&legacy, adoptions).await, 1);
    let out = run_paddock(&["status"], &env);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && status.contains("adopt"), "{status}");

    // A racecards and results run in the legacy phase stores new races and runners.
    let (races, runners) = (
        count(&legacy, "SELECT CAST(COUNT(*) AS TEXT) FROM ra_races").await,
        count(&legacy, "SELECT CAST(COUNT(*) AS TEXT) FROM ra_runners").await,
    );
    let result = races_and_runners_run(&legacy).await;
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
    assert!(count(&legacy, "SELECT CAST(COUNT(*) AS TEXT) FROM ra_races").await > races);
    assert!(count(&legacy, "SELECT CAST(COUNT(*) AS TEXT) FROM ra_runners").await > runners);
    let dated = "SELECT CAST(COUNT(*) AS TEXT) FROM ra_races WHERE race_date IS NOT NULL";
    assert!(count(&legacy, dated).await > 0);

    // No legacy value changed; other systems' tables byte-for-byte unchanged.
    for (table, (columns, rows)) in &before {
        let now = legacy.rows(table, columns).await;
        let lost: Vec<_> = rows.difference(&now).collect();
        assert!(
            lost.is_empty(),
            "{table}: legacy rows changed or gone: {lost:?}"
        );
    }
    let after = legacy.checksums().await;
    for table in foreign_tables(Shape::Adoptable) {
        assert_eq!(sums[table], after[table], "{table} changed");
    }
}

#[tokio::test]
async fn an_adopted_database_migrates_and_runs_in_the_legacy_phase_on_postgres() {
    adopted_database_migrates_and_runs_in_the_legacy_phase(Backend::Postgres).await;
}

#[tokio::test]
async fn an_adopted_database_migrates_and_runs_in_the_legacy_phase_on_sqlite() {
    adopted_database_migrates_and_runs_in_the_legacy_phase(Backend::Sqlite).await;
}

//! An adopted database carried through the rename: begin (its indexes under free names where
//! the predecessor took theirs) → a run → backfill → verify → switch readers → a run →
//! deprecate → drop-archived, every legacy-only value ending in `ra_mst_*`, the runners'
//! foreign keys on `ra_mst_*`, other systems' tables unchanged.

use super::adopt;
use crate::support::jobs::default_config;
use crate::support::predecessor::{foreign_tables, Predecessor, Shape};
use crate::support::sim::{client_for, sim_today, simulator};
use crate::support::Backend;
use chrono::{Duration, Utc};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunStatus, RunTrigger};
use paddock::client::RacingApiClient;
use paddock::rename::{self, phase::legacy_name, phase::renamed_tables, Phase};
use paddock::run::{self, JobRequest, RunContext};
use paddock::simulator::Faults;
use std::collections::{BTreeMap, BTreeSet};

/// A races-and-runners run of the day `days_ago` through the phase-following store.
pub(super) async fn run_day(legacy: &Predecessor, api: &RacingApiClient, days_ago: i64) {
    let store = rename::for_current_phase(legacy.store.clone())
        .await
        .unwrap();
    let day = sim_today() - Duration::days(days_ago);
    let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(day, day, sim_today()));
    let context = RunContext::new(RunTrigger::Manual, ApplyMode::Commit);
    let result = run::run_job(&default_config(), api, &store, &request, &context)
        .await
        .unwrap();
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
}

/// Per renamed table, its legacy-only columns and every row's key and their values.
pub(super) async fn legacy_only_values(
    legacy: &Predecessor,
) -> BTreeMap<&'static str, (Vec<String>, BTreeSet<String>)> {
    let mut out = BTreeMap::new();
    for table in renamed_tables() {
        let registry: Vec<&str> = table.all_columns().iter().map(|c| c.name).collect();
        let mut columns: Vec<String> = (legacy.columns(legacy_name(table)).await.into_iter())
            .filter(|c| !registry.contains(&c.as_str()))
            .collect();
        if columns.is_empty() {
            continue;
        }
        columns.insert(0, table.key[0].to_string());
        let rows = legacy.rows(legacy_name(table), &columns).await;
        out.insert(table.name, (columns, rows));
    }
    out
}

/// The tables `ra_runners`' foreign keys reference.
async fn runner_key_targets(legacy: &Predecessor) -> BTreeSet<String> {
    let sql = match legacy.backend {
        Backend::Postgres => {
            "SELECT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' \
             AND conrelid = 'ra_runners'::regclass"
        }
        Backend::Sqlite => "SELECT \"table\" FROM pragma_foreign_key_list('ra_runners')",
    };
    let rows = legacy.store.text_rows(sql).await.unwrap();
    rows.into_iter().filter_map(|mut r| r.remove(0)).collect()
}

/// What the end of a walk through the rename must show: every legacy-only value still in
/// `ra_mst_*` (`carried`, read before the adoption), every foreign key of `ra_runners` pointing
/// at `ra_mst_*`, and the other systems' tables of `shape` as they were (`sums`).
pub(super) async fn assert_walk_kept_everything(
    legacy: &Predecessor,
    carried: &BTreeMap<&'static str, (Vec<String>, BTreeSet<String>)>,
    sums: &BTreeMap<String, String>,
    shape: Shape,
) {
    for (table, (columns, rows)) in carried {
        let now = legacy.rows(table, columns).await;
        let lost: Vec<_> = rows.difference(&now).collect();
        assert!(
            lost.is_empty(),
            "{table}: legacy-only values lost: {lost:?}"
        );
    }
    let targets = runner_key_targets(legacy).await;
    assert!(
        targets.iter().all(|t| t.starts_with("ra_mst_")),
        "{targets:?}"
    );
    let after = legacy.checksums().await;
    for table in foreign_tables(shape) {
        assert_eq!(sums[table], after[table], "{table} changed");
    }
}

async fn adopted_database_walks_the_rename_keeping_every_legacy_value(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::Adoptable, &[]).await;
    let sums = legacy.checksums().await;
    let carried = legacy_only_values(&legacy).await;
    assert!(carried.contains_key("ra_mst_jockeys") && carried.contains_key("ra_mst_races"));
    let (code, stdout, stderr) = adopt(&legacy, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let server = simulator(23, Faults::default()).await;
    let api = client_for(&server);
    let now = Utc::now();

    let notes = rename::begin(&legacy.store, now).await.unwrap();
    let clash = "index name idx_ra_mst_courses_region_code is taken: created as \
                 idx_ra_mst_courses_region_code_2";
    assert!(notes.iter().any(|n| n == clash), "{notes:?}");
    assert!(notes
        .iter()
        .any(|n| n.starts_with("ra_mst_races.race_date created nullable")));
    run_day(&legacy, &api, 1).await;
    rename::backfill(&legacy.store, 2, now).await.unwrap();
    let report = rename::verify(&legacy.store).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
    assert_eq!(
        rename::advance(&legacy.store, false, now).await.unwrap(),
        Phase::SwitchReaders
    );
    run_day(&legacy, &api, 2).await;
    assert_eq!(
        rename::advance(&legacy.store, true, now).await.unwrap(),
        Phase::Deprecate
    );
    rename::drop_archived(&legacy.store, Duration::days(30), true, now)
        .await
        .unwrap();

    assert_walk_kept_everything(&legacy, &carried, &sums, Shape::Adoptable).await;
}

#[tokio::test]
async fn an_adopted_database_walks_the_rename_keeping_every_legacy_value_on_postgres() {
    adopted_database_walks_the_rename_keeping_every_legacy_value(Backend::Postgres).await;
}

#[tokio::test]
async fn an_adopted_database_walks_the_rename_keeping_every_legacy_value_on_sqlite() {
    adopted_database_walks_the_rename_keeping_every_legacy_value(Backend::Sqlite).await;
}

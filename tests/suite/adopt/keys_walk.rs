//! The rename of a key-mapped table (`[adopt.keys] ra_bookmakers = "code"`) on the real hostile
//! predecessor, with the column maps: adopt → a legacy-phase run (racecards with odds, results)
//! → begin → a run → backfill → verify → switch readers → a run → deprecate with the
//! compatibility views → drop-archived. Every legacy bookmaker ends in `ra_mst_bookmakers` with
//! `id` = its `code` and `legacy_id` = its surrogate, new ones too; the odds' foreign keys move
//! from `ra_bookmakers (code)` to `ra_mst_bookmakers (id)`; the view gives legacy readers `id`
//! and `code` as before. A rollback from deprecate back to legacy keeps `ra_bookmakers`
//! complete (a bookmaker written only into `ra_mst_bookmakers` numbered by the legacy default,
//! `code` = its id). And the audit's orphan check follows the key map in the legacy phase.

use super::apply::count;
use super::keys::maps_and_keys;
use super::maps::{adopt_with, legacy_readers_see_new_rows};
use super::walk::{assert_walk_kept_everything, legacy_only_values, run_day};
use crate::support::bin::run_paddock;
use crate::support::predecessor::{foreign_tables, Predecessor, Shape};
use crate::support::sim::{client_for, simulator};
use crate::support::Backend;
use chrono::{Duration, Utc};
use paddock::rename::phase::{archived_name, legacy_name, renamed_tables};
use paddock::rename::{self, Phase};
use paddock::simulator::Faults;
use paddock::store::AnyStore;
use std::collections::BTreeSet;

/// `columns` of every row of `table` (one text per row).
async fn rows(legacy: &Predecessor, table: &str, columns: &[&str]) -> BTreeSet<String> {
    let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    legacy.rows(table, &columns).await
}

/// Where the odds tables' foreign keys to a bookmakers table point: `odds->table(column)`.
async fn bookmaker_references(legacy: &Predecessor) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for odds in ["ra_runner_odds", "ra_runner_odds_latest"] {
        let sql = match legacy.backend {
            Backend::Postgres => format!(
                "SELECT c.confrelid::regclass::text || '(' || a.attname || ')' FROM pg_constraint c \
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = c.confkey[1] \
                 WHERE c.contype = 'f' AND c.conrelid = '{odds}'::regclass \
                 AND c.confrelid::regclass::text LIKE '%bookmakers'"
            ),
            Backend::Sqlite => format!(
                "SELECT \"table\" || '(' || \"to\" || ')' FROM pragma_foreign_key_list('{odds}') \
                 WHERE \"table\" LIKE '%bookmakers'"
            ),
        };
        for row in legacy.store.text_rows(&sql).await.unwrap() {
            out.insert(format!("{odds}->{}", row[0].clone().unwrap_or_default()));
        }
    }
    out
}

fn references_to(target: &str) -> BTreeSet<String> {
    ["ra_runner_odds", "ra_runner_odds_latest"]
        .map(|odds| format!("{odds}->{target}"))
        .into()
}

/// `ra_bookmakers` and `ra_mst_bookmakers` hold the same bookmakers under the translation:
/// the legacy (`code`, `id`) are the new (`id`, `legacy_id`).
async fn assert_translated(legacy: &Predecessor) {
    let as_legacy = rows(legacy, "ra_bookmakers", &["code", "id", "name"]).await;
    let as_new = rows(legacy, "ra_mst_bookmakers", &["id", "legacy_id", "name"]).await;
    assert_eq!(as_legacy, as_new);
}

/// Every row of `ra_mst_bookmakers` has a surrogate, each a different one.
async fn assert_every_bookmaker_numbered(legacy: &Predecessor) {
    let all = count(
        legacy,
        "SELECT CAST(COUNT(*) AS TEXT) FROM ra_mst_bookmakers",
    )
    .await;
    let numbered = "SELECT CAST(COUNT(DISTINCT legacy_id) AS TEXT) FROM ra_mst_bookmakers";
    assert_eq!(
        count(legacy, numbered).await,
        all,
        "a bookmaker without legacy_id"
    );
}

async fn a_key_mapped_predecessor_walks_the_rename(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::Hostile, &[]).await;
    let sums = legacy.checksums().await;
    let mut carried = legacy_only_values(&legacy).await;
    // ra_bookmakers' own columns are checked under the key map's translation below.
    assert!(carried.remove("ra_mst_bookmakers").is_some());
    let old_bookmakers = rows(&legacy, "ra_bookmakers", &["code", "id", "is_active"]).await;
    assert_eq!(old_bookmakers.len(), 2);
    let (code, stdout, stderr) = adopt_with(&legacy, &maps_and_keys(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let server = simulator(37, Faults::default()).await;
    let api = client_for(&server);
    let now = Utc::now();
    run_day(&legacy, &api, 1).await;
    legacy_readers_see_new_rows(&legacy, "ra_races", "ra_runners").await;
    let written = count(&legacy, "SELECT CAST(COUNT(*) AS TEXT) FROM ra_runner_odds").await;
    assert!(written > 0, "the racecards carry odds");
    assert_eq!(
        bookmaker_references(&legacy).await,
        references_to("ra_bookmakers(code)")
    );

    rename::begin(&legacy.store, now).await.unwrap();
    run_day(&legacy, &api, 2).await;
    rename::backfill(&legacy.store, 2, now).await.unwrap();
    let report = rename::verify(&legacy.store).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
    // Under the translation: the legacy (code, id) are the new (id, legacy_id).
    let as_legacy = rows(&legacy, "ra_bookmakers", &["code", "id", "is_active"]).await;
    let as_new = rows(
        &legacy,
        "ra_mst_bookmakers",
        &["id", "legacy_id", "is_active"],
    )
    .await;
    assert_eq!(as_legacy, as_new);
    assert!(old_bookmakers.is_subset(&as_new), "{as_new:?}");
    assert!(as_new.len() > old_bookmakers.len(), "no new bookmaker");
    assert_eq!(
        rename::advance(&legacy.store, false, now).await.unwrap(),
        Phase::SwitchReaders
    );
    assert_eq!(
        bookmaker_references(&legacy).await,
        references_to("ra_mst_bookmakers(id)")
    );
    run_day(&legacy, &api, 3).await;
    legacy_readers_see_new_rows(&legacy, "ra_races", "ra_runners").await;
    assert_translated(&legacy).await;
    assert_eq!(
        rename::advance(&legacy.store, true, now).await.unwrap(),
        Phase::Deprecate
    );
    // Legacy readers: their surrogate as id, the API's id as code, as before.
    let seen = rows(&legacy, "ra_bookmakers", &["id", "code", "name"]).await;
    let held = rows(&legacy, "ra_mst_bookmakers", &["legacy_id", "id", "name"]).await;
    assert_eq!(seen, held);
    let old = rows(&legacy, "ra_old_bookmakers", &["id", "code", "name"]).await;
    assert_eq!(seen, old, "the view differs from the archived table");
    rename::drop_archived(&legacy.store, Duration::days(30), true, now)
        .await
        .unwrap();

    assert_walk_kept_everything(&legacy, &carried, &sums, Shape::Hostile).await;
    let kept = rows(
        &legacy,
        "ra_mst_bookmakers",
        &["id", "legacy_id", "is_active"],
    )
    .await;
    assert!(old_bookmakers.is_subset(&kept), "{kept:?}");
    assert_every_bookmaker_numbered(&legacy).await;
    assert_eq!(
        bookmaker_references(&legacy).await,
        references_to("ra_mst_bookmakers(id)")
    );
}

#[tokio::test]
async fn a_key_mapped_predecessor_walks_the_rename_on_postgres() {
    a_key_mapped_predecessor_walks_the_rename(Backend::Postgres).await;
}

#[tokio::test]
async fn a_key_mapped_predecessor_walks_the_rename_on_sqlite() {
    a_key_mapped_predecessor_walks_the_rename(Backend::Sqlite).await;
}

/// From deprecate back to legacy one phase at a time: bookmakers first written in
/// switch-readers (into `ra_mst_bookmakers`, copied to `ra_bookmakers`) and one written only
/// into `ra_mst_bookmakers` in deprecate all end in `ra_bookmakers` with `code` = their id and a
/// surrogate from its default, read back into `legacy_id`; the legacy rows as they were.
async fn a_rollback_from_deprecate_keeps_the_key_mapped_table_complete(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::Hostile, &[]).await;
    let sums = legacy.checksums().await;
    let old_bookmakers = rows(&legacy, "ra_bookmakers", &["id", "code", "name"]).await;
    let (code, stdout, stderr) = adopt_with(&legacy, &maps_and_keys(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let server = simulator(41, Faults::default()).await;
    let api = client_for(&server);
    let now = Utc::now();
    rename::begin(&legacy.store, now).await.unwrap();
    rename::backfill(&legacy.store, 1, now).await.unwrap();
    rename::advance(&legacy.store, false, now).await.unwrap();
    // Every bookmaker of the simulator is new here: written to ra_mst_bookmakers first.
    run_day(&legacy, &api, 1).await;
    assert_translated(&legacy).await;
    assert_every_bookmaker_numbered(&legacy).await;
    rename::advance(&legacy.store, true, now).await.unwrap();
    run_day(&legacy, &api, 2).await;
    legacy
        .execute(
            "INSERT INTO ra_mst_bookmakers (id, name, created_at, updated_at) VALUES \
             ('late_book', 'Late Book', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        )
        .await;
    let newest = rows(&legacy, "ra_mst_bookmakers", &["id", "name"]).await;

    assert_eq!(
        rename::rollback(&legacy.store, now).await.unwrap(),
        Phase::SwitchReaders
    );
    assert_every_bookmaker_numbered(&legacy).await;
    assert_translated(&legacy).await;
    for phase in [Phase::Backfill, Phase::DualWrite, Phase::Legacy] {
        assert_eq!(rename::rollback(&legacy.store, now).await.unwrap(), phase);
    }
    assert_eq!(
        bookmaker_references(&legacy).await,
        references_to("ra_bookmakers(code)")
    );
    let back = rows(&legacy, "ra_bookmakers", &["id", "code", "name"]).await;
    assert!(old_bookmakers.is_subset(&back), "{back:?}");
    assert_eq!(
        rows(&legacy, "ra_bookmakers", &["code", "name"]).await,
        newest
    );
    let unnumbered = "SELECT CAST(COUNT(*) AS TEXT) FROM ra_bookmakers WHERE id IS NULL";
    assert_eq!(count(&legacy, unnumbered).await, 0);
    let distinct = "SELECT CAST(COUNT(DISTINCT id) AS TEXT) FROM ra_bookmakers";
    assert_eq!(count(&legacy, distinct).await as usize, back.len());
    // The legacy phase writes on as before.
    run_day(&legacy, &api, 3).await;
    let after = legacy.checksums().await;
    for table in foreign_tables(Shape::Hostile) {
        assert_eq!(sums[table], after[table], "{table} changed");
    }
}

#[tokio::test]
async fn a_rollback_from_deprecate_keeps_the_key_mapped_table_complete_on_postgres() {
    a_rollback_from_deprecate_keeps_the_key_mapped_table_complete(Backend::Postgres).await;
}

#[tokio::test]
async fn a_rollback_from_deprecate_keeps_the_key_mapped_table_complete_on_sqlite() {
    a_rollback_from_deprecate_keeps_the_key_mapped_table_complete(Backend::Sqlite).await;
}

/// Every renamed table's carried legacy-only columns hold the same values, row by row, in
/// `ra_mst_*` as in its legacy table (`archived`: under its `ra_old_*` name), the key-mapped
/// bookmakers matched on `code` = `id`.
async fn assert_carried_alike(legacy: &Predecessor, archived: bool) {
    for table in renamed_tables() {
        let old = match archived {
            true => archived_name(table),
            false => legacy_name(table).to_string(),
        };
        let key_map = (table.name == "ra_mst_bookmakers").then_some("code");
        let registry: Vec<&str> = table.all_columns().iter().map(|c| c.name).collect();
        let carried: Vec<String> = (legacy.columns(&old).await.into_iter())
            .filter(|c| !registry.contains(&c.as_str()) && Some(c.as_str()) != key_map)
            .collect();
        if carried.is_empty() {
            continue;
        }
        let keyed = |key: &str| -> Vec<String> {
            std::iter::once(key.to_string())
                .chain(carried.iter().cloned())
                .collect()
        };
        let in_old = legacy
            .rows(&old, &keyed(key_map.unwrap_or(table.key[0])))
            .await;
        let in_new = legacy.rows(table.name, &keyed(table.key[0])).await;
        let differ: Vec<_> = in_old.symmetric_difference(&in_new).collect();
        assert!(
            differ.is_empty(),
            "{}: {carried:?} differ from {old}: {differ:?}",
            table.name
        );
    }
}

/// Rows of the masters whose carried columns have a legacy default (the jockeys' `total_rides`
/// and the bookmakers' `is_active`), in `ra_mst_*`: how many, and how many hold NULL there.
async fn defaulted_rows(legacy: &Predecessor) -> (i64, i64) {
    let all = "SELECT CAST((SELECT COUNT(*) FROM ra_mst_jockeys) + \
               (SELECT COUNT(*) FROM ra_mst_bookmakers) AS TEXT)";
    let null = "SELECT CAST((SELECT COUNT(*) FROM ra_mst_jockeys WHERE total_rides IS NULL) + \
                (SELECT COUNT(*) FROM ra_mst_bookmakers WHERE is_active IS NULL) AS TEXT)";
    (count(legacy, all).await, count(legacy, null).await)
}

/// The hostile predecessor's carried columns with a default (`ra_jockeys.total_rides DEFAULT 0`,
/// `ra_bookmakers.is_active DEFAULT true`): rows first written after the backfill's pass and
/// from switch-readers on get the default in `ra_mst_*` as in the legacy table, so verify is
/// clean without a second backfill and every carried value matches through deprecate.
async fn carried_defaults_reach_rows_written_after_the_backfill(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::Hostile, &[]).await;
    let (code, stdout, stderr) = adopt_with(&legacy, &maps_and_keys(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let server = simulator(53, Faults::default()).await;
    let api = client_for(&server);
    let now = Utc::now();
    rename::begin(&legacy.store, now).await.unwrap();
    run_day(&legacy, &api, 1).await;
    rename::backfill(&legacy.store, 2, now).await.unwrap();
    let (backfilled, _) = defaulted_rows(&legacy).await;

    run_day(&legacy, &api, 4).await;
    let (written, null) = defaulted_rows(&legacy).await;
    assert!(
        written > backfilled,
        "no master first written after the backfill"
    );
    assert_eq!(null, 0, "a carried default left NULL in ra_mst_*");
    let report = rename::verify(&legacy.store).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
    assert_carried_alike(&legacy, false).await;

    assert_eq!(
        rename::advance(&legacy.store, false, now).await.unwrap(),
        Phase::SwitchReaders
    );
    run_day(&legacy, &api, 8).await;
    let (switched, null) = defaulted_rows(&legacy).await;
    assert!(
        switched > written,
        "no master first written in switch-readers"
    );
    assert_eq!(null, 0, "a carried default left NULL in ra_mst_*");
    assert_carried_alike(&legacy, false).await;
    assert_eq!(
        rename::advance(&legacy.store, true, now).await.unwrap(),
        Phase::Deprecate
    );
    assert_carried_alike(&legacy, true).await;
}

#[tokio::test]
async fn carried_defaults_reach_rows_written_after_the_backfill_on_postgres() {
    carried_defaults_reach_rows_written_after_the_backfill(Backend::Postgres).await;
}

#[tokio::test]
async fn carried_defaults_reach_rows_written_after_the_backfill_on_sqlite() {
    carried_defaults_reach_rows_written_after_the_backfill(Backend::Sqlite).await;
}

/// `paddock audit --only orphans` (the binary's JSON) on `legacy`.
fn orphans_report(legacy: &Predecessor) -> serde_json::Value {
    let url = legacy.url();
    let out = run_paddock(
        &["audit", "--only", "orphans", "--format", "json"],
        &[("PADDOCK_DATABASE_URL", url.as_str())],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)))
}

/// The orphan findings of `report` on relations to a bookmakers table.
fn bookmaker_findings(report: &serde_json::Value) -> Vec<serde_json::Value> {
    (report["orphans"].as_array().unwrap().iter())
        .filter(|f| f["columns"] == serde_json::json!(["bookmaker_id"]))
        .filter(|f| f["table"].as_str().unwrap().starts_with("ra_runner_odds"))
        .cloned()
        .collect()
}

/// Runs `insert` with the foreign keys of `ra_runner_odds` to `ra_bookmakers` not enforced
/// (SQLite: off on the connection; PostgreSQL: dropped and added again `NOT VALID`).
async fn insert_unenforced(legacy: &Predecessor, insert: &str) {
    match &legacy.store {
        AnyStore::Sqlite(s) => {
            let mut conn = s.pool_for_tests().acquire().await.unwrap();
            for sql in [
                "PRAGMA foreign_keys = OFF",
                insert,
                "PRAGMA foreign_keys = ON",
            ] {
                sqlx::query(sql).execute(&mut *conn).await.unwrap();
            }
        }
        AnyStore::Postgres(_) => {
            let names = "SELECT conname::text FROM pg_constraint WHERE contype = 'f' AND \
                         conrelid = 'ra_runner_odds'::regclass AND \
                         confrelid = 'ra_bookmakers'::regclass";
            let names = legacy.store.text_rows(names).await.unwrap();
            assert_eq!(names.len(), 1, "{names:?}");
            let name = names[0][0].clone().unwrap();
            legacy
                .execute(&format!(
                    "ALTER TABLE ra_runner_odds DROP CONSTRAINT {name}"
                ))
                .await;
            legacy.execute(insert).await;
            legacy
                .execute(&format!(
                    "ALTER TABLE ra_runner_odds ADD CONSTRAINT {name} FOREIGN KEY \
                     (bookmaker_id) REFERENCES ra_bookmakers (code) NOT VALID"
                ))
                .await;
        }
    }
}

/// In the legacy phase the odds' references to bookmakers are checked against
/// `ra_bookmakers.code` (the key map), not its surrogate `id`: none on the clean database,
/// the one injected found with its key.
async fn the_orphan_check_follows_the_key_map(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::Hostile, &[]).await;
    let (code, stdout, stderr) = adopt_with(&legacy, &maps_and_keys(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let server = simulator(43, Faults::default()).await;
    run_day(&legacy, &client_for(&server), 1).await;
    let report = orphans_report(&legacy);
    assert_eq!(report["violations"]["orphans"], 0, "{report:#}");
    let found = bookmaker_findings(&report);
    assert_eq!(found.len(), 2, "{found:#?}");
    for finding in &found {
        assert_eq!(finding["ref_table"], "ra_bookmakers", "{finding:#}");
        assert_eq!(finding["ref_columns"], serde_json::json!(["code"]));
        assert!(finding["skipped"].is_null(), "{finding:#}");
        assert_eq!(finding["orphans"], 0, "{finding:#}");
    }

    insert_unenforced(
        &legacy,
        "INSERT INTO ra_runner_odds (race_id, horse_id, bookmaker_id, observed_at, created_at, \
         updated_at) SELECT race_id, horse_id, 'ghost_book', observed_at, created_at, updated_at \
         FROM ra_runner_odds WHERE race_id = (SELECT MIN(race_id) FROM ra_runner_odds) \
         AND horse_id = (SELECT MIN(horse_id) FROM ra_runner_odds WHERE race_id = \
         (SELECT MIN(race_id) FROM ra_runner_odds)) LIMIT 1",
    )
    .await;
    let report = orphans_report(&legacy);
    let found: Vec<_> = (bookmaker_findings(&report).into_iter())
        .filter(|f| f["orphans"] != 0)
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["table"], "ra_runner_odds");
    assert_eq!(found[0]["orphans"], 1);
    let sample = found[0]["samples"][0].as_array().unwrap();
    assert!(sample.iter().any(|v| v == "ghost_book"), "{:#}", found[0]);
    assert_eq!(report["violations"]["orphans"], 1, "{report:#}");
}

#[tokio::test]
async fn the_orphan_check_follows_the_key_map_on_postgres() {
    the_orphan_check_follows_the_key_map(Backend::Postgres).await;
}

#[tokio::test]
async fn the_orphan_check_follows_the_key_map_on_sqlite() {
    the_orphan_check_follows_the_key_map(Backend::Sqlite).await;
}

/// A key-mapped table whose surrogate is not named as the registry key (`id`): the rename has
/// nothing to carry into `legacy_id`, so `tables begin` refuses it naming the table and the
/// column, nothing changed, the database still written in phase legacy.
async fn a_key_mapped_table_without_its_surrogate_is_refused_by_begin(backend: Backend) {
    let renamed = "ALTER TABLE ra_bookmakers RENAME COLUMN id TO bookmaker_no";
    let legacy = Predecessor::with(backend, Shape::Hostile, &[renamed]).await;
    let (code, stdout, stderr) = adopt_with(&legacy, &maps_and_keys(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("without a surrogate column named as the registry key"),
        "{stdout}"
    );
    let before = legacy.checksums().await;
    let refused = rename::begin(&legacy.store, Utc::now()).await.unwrap_err();
    let message = refused.to_string();
    assert!(
        message.contains("ra_bookmakers") && message.contains("no surrogate column id"),
        "{message}"
    );
    assert_eq!(before, legacy.checksums().await, "begin changed something");
    assert_eq!(
        rename::current_phase(&legacy.store).await.unwrap(),
        Phase::Legacy
    );
    let server = simulator(47, Faults::default()).await;
    run_day(&legacy, &client_for(&server), 1).await;
}

#[tokio::test]
async fn a_key_mapped_table_without_its_surrogate_is_refused_by_begin_on_postgres() {
    a_key_mapped_table_without_its_surrogate_is_refused_by_begin(Backend::Postgres).await;
}

#[tokio::test]
async fn a_key_mapped_table_without_its_surrogate_is_refused_by_begin_on_sqlite() {
    a_key_mapped_table_without_its_surrogate_is_refused_by_begin(Backend::Sqlite).await;
}

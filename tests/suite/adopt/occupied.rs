//! Another system's table under the name of one of Paddock's derived tables (the predecessor's
//! own `ra_entity_combinations`, other columns): left untouched by default, Paddock's table
//! skipped by the derived update and the full rebuild (runs do not fail) and said by `adopt`
//! and `status`; `adopt --move-aside` renames it aside under a free name, rows kept, and
//! Paddock's table is created and filled from then on.

use super::apply::{count, races_and_runners_run};
use super::{adopt, dry_run_json, table};
use crate::support::bin::run_paddock;
use crate::support::predecessor::{Predecessor, Shape};
use crate::support::Backend;
use fetchers::store::RunStatus;

const OCCUPIED: &str = "ra_entity_combinations";

/// `paddock ARGS` on `legacy`'s database: success and stdout (stderr on failure).
fn paddock(legacy: &Predecessor, args: &[&str]) -> (bool, String) {
    let url = legacy.url();
    let out = run_paddock(args, &[("PADDOCK_DATABASE_URL", url.as_str())]);
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    (out.status.success(), text)
}

async fn skipped_then_moved_aside(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::Occupied, &[]).await;
    let foreign_sum = legacy.checksum(OCCUPIED).await;
    let (code, plan) = dry_run_json(&legacy);
    assert_eq!(code, 0, "a foreign derived name does not block: {plan:#}");
    assert_eq!(plan["skipped_derived"], serde_json::json!([OCCUPIED]));
    assert_eq!(table(&plan, OCCUPIED)["disposition"]["as"], "foreign");
    let (code, stdout, stderr) = adopt(&legacy, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let said = format!("skipped: Paddock's derived {OCCUPIED}");
    assert!(stdout.contains(&said), "{stdout}");

    // A run (with its derived update) and the full rebuild succeed; the other derived tables
    // are kept; the foreign table is untouched; status says what is skipped.
    let result = races_and_runners_run(&legacy).await;
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
    let (ok, out) = paddock(&legacy, &["derive", "--full"]);
    assert!(ok, "{out}");
    let statistics = "SELECT CAST(COUNT(*) AS TEXT) FROM ra_runner_statistics";
    assert!(count(&legacy, statistics).await > 0);
    assert_eq!(legacy.checksum(OCCUPIED).await, foreign_sum);
    let (ok, status) = paddock(&legacy, &["status"]);
    assert!(ok && status.contains(&said), "{status}");

    // Moved aside on the adopted database: renamed with its rows, Paddock's table created and
    // filled by the next rebuild, nothing skipped any more.
    let (code, stdout, stderr) = adopt(&legacy, &["--move-aside"]);
    let aside = format!("{OCCUPIED}_foreign");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("renamed to {aside}")), "{stdout}");
    assert_eq!(legacy.checksum(&aside).await, foreign_sum);
    let (ok, out) = paddock(&legacy, &["derive", "--full"]);
    assert!(ok, "{out}");
    let pairs =
        format!("SELECT CAST(COUNT(*) AS TEXT) FROM {OCCUPIED} WHERE pair_type IS NOT NULL");
    assert!(count(&legacy, &pairs).await > 0);
    let (ok, status) = paddock(&legacy, &["status"]);
    assert!(ok && !status.contains("skipped:"), "{status}");
}

#[tokio::test]
async fn a_foreign_derived_table_is_skipped_until_moved_aside_on_postgres() {
    skipped_then_moved_aside(Backend::Postgres).await;
}

#[tokio::test]
async fn a_foreign_derived_table_is_skipped_until_moved_aside_on_sqlite() {
    skipped_then_moved_aside(Backend::Sqlite).await;
}

/// `--move-aside` at the first adoption: the plan names the free name (the `_foreign` name
/// taken already, the next one), and the adoption renames and creates in its one transaction.
async fn moved_aside_at_adoption_under_a_free_name(backend: Backend) {
    let taken = "CREATE TABLE ra_entity_combinations_foreign (x integer)";
    let legacy = Predecessor::with(backend, Shape::Occupied, &[taken]).await;
    let foreign_sum = legacy.checksum(OCCUPIED).await;
    let (code, stdout, stderr) = adopt(&legacy, &["--dry-run", "--move-aside", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&stdout).expect(&stderr);
    assert_eq!(code, 0, "{plan:#}");
    let moved = &table(&plan, OCCUPIED)["disposition"];
    assert_eq!(moved["as"], "moved_aside", "{moved}");
    assert_eq!(moved["to"], "ra_entity_combinations_foreign_2");
    assert_eq!(plan["skipped_derived"], serde_json::json!([]));
    assert_eq!(legacy.checksum(OCCUPIED).await, foreign_sum, "a dry run");
    let (code, stdout, stderr) = adopt(&legacy, &["--move-aside"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        legacy.checksum("ra_entity_combinations_foreign_2").await,
        foreign_sum
    );
    let result = races_and_runners_run(&legacy).await;
    assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
    let pairs =
        format!("SELECT CAST(COUNT(*) AS TEXT) FROM {OCCUPIED} WHERE pair_type IS NOT NULL");
    assert!(count(&legacy, &pairs).await > 0, "the run's derived update");
}

#[tokio::test]
async fn moved_aside_at_adoption_under_a_free_name_on_postgres() {
    moved_aside_at_adoption_under_a_free_name(Backend::Postgres).await;
}

#[tokio::test]
async fn moved_aside_at_adoption_under_a_free_name_on_sqlite() {
    moved_aside_at_adoption_under_a_free_name(Backend::Sqlite).await;
}

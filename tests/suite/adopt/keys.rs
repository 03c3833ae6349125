//! The key map (`[adopt.keys] ra_bookmakers = "code"`): the predecessor's real `ra_bookmakers`
//! (a `bigserial` id, the API's name in a unique `code`) is adopted with it; a racecards and
//! results run in the legacy phase upserts bookmakers on `code`, never writes the surrogate
//! (its default numbers new bookmakers), leaves the legacy rows as they were, and the odds
//! reference bookmakers through `code` (the rename of such a database: `keys_walk.rs`). A key
//! map to a column that is not unique, or that cannot hold the key's type, is refused naming
//! the table and column; one to a column the table lacks is a configuration error with its
//! line.

use super::apply::count;
use super::maps::{adopt_with, legacy_readers_see_new_rows, MAPS};
use super::walk::run_day;
use crate::support::bin::run_paddock;
use crate::support::predecessor::{foreign_tables, Predecessor, Shape};
use crate::support::sim::{client_for, simulator};
use crate::support::Backend;
use paddock::simulator::Faults;

/// The column maps and the key map the predecessor's readers need.
pub(super) fn maps_and_keys() -> String {
    format!("{MAPS}\n[adopt.keys]\nra_bookmakers = \"code\"\n")
}

async fn bookmakers(legacy: &Predecessor) -> std::collections::BTreeSet<String> {
    let columns = ["id", "code", "name"].map(String::from);
    legacy.rows("ra_bookmakers", &columns).await
}

async fn a_key_mapped_predecessor_is_written_on_its_legacy_key(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::Hostile, &[]).await;
    let sums = legacy.checksums().await;
    let before = bookmakers(&legacy).await;
    // Without the key map the serial id blocks.
    let (code, stdout, _) = adopt_with(&legacy, MAPS, &["--dry-run"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("[adopt.keys]"), "{stdout}");
    let (code, stdout, stderr) = adopt_with(&legacy, &maps_and_keys(), &["--dry-run"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("(the key id kept in code)"), "{stdout}");
    assert_eq!(
        sums,
        legacy.checksums().await,
        "the dry run changed something"
    );
    let (code, stdout, stderr) = adopt_with(&legacy, &maps_and_keys(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        before,
        bookmakers(&legacy).await,
        "adopt changed a bookmaker"
    );
    let url = legacy.url();
    let out = run_paddock(
        &["tables", "status"],
        &[("PADDOCK_DATABASE_URL", url.as_str())],
    );
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && status.contains("key map ra_bookmakers: its key held in code"),
        "{status}"
    );

    let server = simulator(31, Faults::default()).await;
    run_day(&legacy, &client_for(&server), 1).await;
    legacy_readers_see_new_rows(&legacy, "ra_races", "ra_runners").await;
    let after = bookmakers(&legacy).await;
    assert!(before.is_subset(&after), "a legacy bookmaker changed");
    assert!(after.len() > before.len(), "no new bookmaker: {after:?}");
    let unnumbered = "SELECT CAST(COUNT(*) AS TEXT) FROM ra_bookmakers WHERE id IS NULL \
                      OR code IS NULL";
    assert_eq!(count(&legacy, unnumbered).await, 0, "{after:?}");
    // The ledger counts each new bookmaker inserted once (existing rows found by code).
    let inserted = "SELECT CAST(COALESCE(SUM(inserted), 0) AS TEXT) FROM paddock_run_tables \
                    WHERE table_name = 'ra_mst_bookmakers'";
    let new = (after.len() - before.len()) as i64;
    assert_eq!(count(&legacy, inserted).await, new);
    run_day(&legacy, &client_for(&server), 1).await;
    assert_eq!(count(&legacy, inserted).await, new, "inserted again");
    for odds in ["ra_runner_odds", "ra_runner_odds_latest"] {
        let all = format!("SELECT CAST(COUNT(*) AS TEXT) FROM {odds}");
        let unmatched = format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM {odds} o WHERE NOT EXISTS \
             (SELECT 1 FROM ra_bookmakers b WHERE b.code = o.bookmaker_id)"
        );
        assert!(count(&legacy, &all).await > 0, "{odds} is empty");
        assert_eq!(count(&legacy, &unmatched).await, 0, "{odds}");
    }

    let after = legacy.checksums().await;
    for table in foreign_tables(Shape::Hostile) {
        assert_eq!(sums[table], after[table], "{table} changed");
    }
}

#[tokio::test]
async fn a_key_mapped_predecessor_is_written_on_its_legacy_key_on_postgres() {
    a_key_mapped_predecessor_is_written_on_its_legacy_key(Backend::Postgres).await;
}

#[tokio::test]
async fn a_key_mapped_predecessor_is_written_on_its_legacy_key_on_sqlite() {
    a_key_mapped_predecessor_is_written_on_its_legacy_key(Backend::Sqlite).await;
}

/// A key map to a column that is not unique (`alias`), to one that cannot hold the key, or to
/// one the table lacks: refused naming the table and column (exit 1), or a configuration
/// error with its line (exit 2); nothing changed.
async fn a_key_map_that_cannot_hold_the_key_is_refused(backend: Backend) {
    let alias = "ALTER TABLE ra_bookmakers ADD COLUMN alias varchar(50)";
    let legacy = Predecessor::with(backend, Shape::Hostile, &[alias]).await;
    let sums = legacy.checksums().await;
    let with_key = |column: &str| format!("{MAPS}\n[adopt.keys]\nra_bookmakers = \"{column}\"\n");
    let (code, stdout, _) = adopt_with(&legacy, &with_key("alias"), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("ra_bookmakers: [adopt.keys] column alias is not unique"),
        "{stdout}"
    );
    let (code, stdout, _) = adopt_with(&legacy, &with_key("is_active"), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("ra_bookmakers: [adopt.keys] column is_active"),
        "{stdout}"
    );
    let (code, _, stderr) = adopt_with(&legacy, &with_key("slug"), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("paddock.toml, line 9") && stderr.contains("slug"),
        "{stderr}"
    );
    assert_eq!(sums, legacy.checksums().await);
}

#[tokio::test]
async fn a_key_map_that_cannot_hold_the_key_is_refused_on_postgres() {
    a_key_map_that_cannot_hold_the_key_is_refused(Backend::Postgres).await;
}

#[tokio::test]
async fn a_key_map_that_cannot_hold_the_key_is_refused_on_sqlite() {
    a_key_map_that_cannot_hold_the_key_is_refused(Backend::Sqlite).await;
}

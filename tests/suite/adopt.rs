//! `paddock adopt` (issue 19): a database Paddock did not create, in the shape of the system it
//! replaces (`support::predecessor`): the dry run lists every item and changes nothing; what
//! blocks is named with its table and column; the adoption itself (`adopt/apply.rs`) makes a
//! database `migrate`, the rename commands and a run in the legacy phase work on, with no
//! legacy value and no other system's table changed.

mod apply;
mod keys;
mod keys_walk;
mod maps;
mod occupied;
mod transition_lock;
mod walk;

use crate::support::bin::run_paddock;
use crate::support::predecessor::{foreign_tables, Predecessor, Shape};
use crate::support::Backend;
use serde_json::Value as Json;

/// `paddock adopt ARGS` on `legacy`'s database: exit status, stdout, stderr.
fn adopt(legacy: &Predecessor, args: &[&str]) -> (i32, String, String) {
    let url = legacy.url();
    let mut all = vec!["adopt"];
    all.extend_from_slice(args);
    let out = run_paddock(&all, &[("PADDOCK_DATABASE_URL", url.as_str())]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The dry run's JSON plan.
fn dry_run_json(legacy: &Predecessor) -> (i32, Json) {
    let (code, stdout, stderr) = adopt(legacy, &["--dry-run", "--format", "json"]);
    let plan = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    (code, plan)
}

/// The plan of `table`.
fn table<'a>(plan: &'a Json, table: &str) -> &'a Json {
    (plan["tables"].as_array().unwrap().iter())
        .find(|t| t["table"] == table)
        .unwrap_or_else(|| panic!("{table} not in the plan"))
}

/// The `field` entries of `table`'s plan, by their `column`.
fn columns(plan: &Json, name: &str, field: &str) -> Vec<String> {
    (table(plan, name)[field].as_array().unwrap().iter())
        .map(|c| c["column"].as_str().unwrap().to_string())
        .collect()
}

fn blocking_mentions(plan: &Json, needle: &[&str]) -> bool {
    (plan["blocking"].as_array().unwrap().iter())
        .any(|b| needle.iter().all(|n| b.as_str().unwrap().contains(n)))
}

async fn dry_run_lists_every_item_and_changes_nothing(backend: Backend) {
    let legacy = Predecessor::new(backend).await;
    let before = legacy.checksums().await;
    let (code, plan) = dry_run_json(&legacy);
    assert_eq!(code, 1, "the hostile predecessor needs maps: {plan:#}");
    // Adopted as legacy of registry tables, and under its own name, each with its key.
    assert_eq!(
        table(&plan, "ra_jockeys")["disposition"]["registry"],
        "ra_mst_jockeys"
    );
    assert_eq!(table(&plan, "ra_jockeys")["key"]["by"], "primary key");
    assert_eq!(table(&plan, "ra_runners")["disposition"]["as"], "registry");
    let runners_key = &table(&plan, "ra_runners")["key"];
    assert_eq!(
        runners_key["columns"],
        serde_json::json!(["race_id", "horse_id"])
    );
    assert!(
        runners_key["by"]
            .as_str()
            .unwrap()
            .starts_with("unique index"),
        "{runners_key}"
    );
    let pedigree_key = &table(&plan, "ra_horse_pedigree")["key"];
    assert!(pedigree_key["by"]
        .as_str()
        .unwrap()
        .starts_with("unique index"));
    // Registry columns to add; legacy-only columns and how they are carried.
    assert!(columns(&plan, "ra_races", "add_columns").contains(&"race_date".to_string()));
    assert!(columns(&plan, "ra_runners", "add_columns").contains(&"sp_raw".to_string()));
    let carried = columns(&plan, "ra_runners", "legacy_only");
    for c in [
        "id",
        "horse_name",
        "starting_price",
        "prize_won",
        "is_scratched",
        "ofr",
    ] {
        assert!(carried.contains(&c.to_string()), "{c} in {carried:?}");
    }
    for c in ["total_rides", "win_rate", "stats_updated_at"] {
        assert!(columns(&plan, "ra_jockeys", "legacy_only").contains(&c.to_string()));
    }
    assert!(columns(&plan, "ra_sires", "legacy_only").contains(&"overall_win_percent".into()));
    // Type differences, bridged.
    let types = &table(&plan, "ra_runners")["type_differences"];
    let created = (types.as_array().unwrap().iter()).find(|t| t["column"] == "created_at");
    assert_eq!(created.unwrap()["bridge"]["outcome"], "bridged", "{types}");
    // Other systems' tables, left alone with why.
    for name in foreign_tables(Shape::Hostile) {
        assert_eq!(table(&plan, name)["disposition"]["as"], "foreign", "{name}");
    }
    let odds_why = table(&plan, "ra_odds_live")["disposition"]["why"]
        .as_str()
        .unwrap();
    assert!(odds_why.contains("odds"), "{odds_why}");
    // Tables Paddock creates, its own bookkeeping included.
    assert_eq!(
        table(&plan, "ra_runner_odds")["disposition"]["as"],
        "create"
    );
    assert_eq!(
        table(&plan, "paddock_runs")["disposition"]["as"],
        "paddock_own"
    );
    // Name clashes and the free names chosen.
    let clashes = plan["clashes"].as_array().unwrap();
    let clash = |name: &str| clashes.iter().find(|c| c["name"] == name);
    let begin = clash("idx_ra_mst_courses_region_code").expect("the begin index clash");
    assert_eq!(begin["chosen"], "idx_ra_mst_courses_region_code_2");
    assert!(begin["wanted_by"]
        .as_str()
        .unwrap()
        .contains("tables begin"));
    assert!(
        clash("idx_ra_runner_odds_bookmaker_id").is_some(),
        "{clashes:?}"
    );
    // What blocks, each naming table and column.
    assert!(blocking_mentions(
        &plan,
        &["ra_bookmakers", "column id", "[adopt.keys]"]
    ));
    assert!(blocking_mentions(
        &plan,
        &["ra_races", "column date", "NOT NULL"]
    ));
    assert_eq!(
        columns_text(&plan, "ra_races", "not_null_unfilled"),
        ["date"]
    );
    // Another system's table under a derived table's name does not block: Paddock's skipped.
    assert!(!blocking_mentions(&plan, &["ra_entity_combinations"]));
    assert_eq!(
        plan["skipped_derived"],
        serde_json::json!(["ra_entity_combinations"])
    );
    // Nothing changed: every table's rows and columns, and no table added.
    assert_eq!(before, legacy.checksums().await);
}

/// The plain strings of `table`'s `field`.
fn columns_text(plan: &Json, name: &str, field: &str) -> Vec<String> {
    (table(plan, name)[field].as_array().unwrap().iter())
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn dry_run_lists_every_item_and_changes_nothing_on_postgres() {
    dry_run_lists_every_item_and_changes_nothing(Backend::Postgres).await;
}

#[tokio::test]
async fn dry_run_lists_every_item_and_changes_nothing_on_sqlite() {
    dry_run_lists_every_item_and_changes_nothing(Backend::Sqlite).await;
}

/// A type Paddock cannot write exactly (`prize_amount` as `numeric(10,2)`: rounding on
/// PostgreSQL, NUMERIC affinity turning the exact decimal text into a float on SQLite) blocks,
/// named with its table and column; the adoption without `--dry-run` then changes nothing.
async fn an_unbridgeable_type_blocks_and_adopt_changes_nothing(backend: Backend) {
    let extra = ["ALTER TABLE ra_runners ADD COLUMN prize_amount numeric(10,2)"];
    let legacy = Predecessor::with(backend, Shape::Adoptable, &extra).await;
    let before = legacy.checksums().await;
    let (code, stdout, stderr) = adopt(&legacy, &[]);
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(
        stdout.contains("ra_runners: column prize_amount:") && stdout.contains("not exact"),
        "{stdout}"
    );
    assert_eq!(before, legacy.checksums().await);
}

#[tokio::test]
async fn an_unbridgeable_type_blocks_and_adopt_changes_nothing_on_postgres() {
    an_unbridgeable_type_blocks_and_adopt_changes_nothing(Backend::Postgres).await;
}

#[tokio::test]
async fn an_unbridgeable_type_blocks_and_adopt_changes_nothing_on_sqlite() {
    an_unbridgeable_type_blocks_and_adopt_changes_nothing(Backend::Sqlite).await;
}

/// A date column holding text (PostgreSQL: SQLite keeps dates as text anyway).
#[tokio::test]
async fn a_date_column_holding_text_blocks_on_postgres() {
    let extra = ["ALTER TABLE ra_horses ALTER COLUMN dob TYPE varchar(10) USING dob::text"];
    let legacy = Predecessor::with(Backend::Postgres, Shape::Adoptable, &extra).await;
    let (code, plan) = dry_run_json(&legacy);
    assert_eq!(code, 1);
    assert!(
        blocking_mentions(&plan, &["ra_horses", "column dob", "date"]),
        "{plan:#}"
    );
}

#[tokio::test]
async fn the_fixture_holds_rows_in_every_table_and_its_fingerprint_moves_with_a_value() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let legacy = Predecessor::new(backend).await;
        let tables = legacy.tables().await;
        assert!(tables.len() >= 18, "{tables:?}");
        for table in &tables {
            let sql = format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}");
            let count = legacy.store.text_rows(&sql).await.unwrap();
            assert_ne!(count[0][0].as_deref(), Some("0"), "{table} is empty");
        }
        let before = legacy.checksums().await;
        assert_eq!(before, legacy.checksums().await);
        legacy
            .execute("UPDATE ra_odds_live SET odds_decimal = 3.25 WHERE bookmaker = 'bet365'")
            .await;
        let after = legacy.checksums().await;
        assert_ne!(before["ra_odds_live"], after["ra_odds_live"]);
        assert_eq!(before["ra_runners"], after["ra_runners"]);
    }
}

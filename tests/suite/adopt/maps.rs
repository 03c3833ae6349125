//! The column maps (`[adopt.columns.<legacy table>]`): a predecessor whose `ra_races.date` is
//! NOT NULL and whose readers read `ra_runners.starting_price` is adopted with the maps, the
//! legacy readers see every new race and runner under their own columns in the legacy phase
//! and through the rename, nothing legacy is lost; a map naming what does not exist is a
//! configuration error with its line (exit 2), an inexact one is refused naming its table and
//! column (exit 1), nothing changed.

use super::apply::count;
use super::walk::{assert_walk_kept_everything, legacy_only_values, run_day};
use crate::support::bin::run_paddock;
use crate::support::predecessor::{foreign_tables, Predecessor, Shape};
use crate::support::sim::{client_for, simulator};
use crate::support::Backend;
use chrono::{Duration, Utc};
use paddock::rename::{self, Phase};
use paddock::simulator::Faults;

/// The maps the predecessor's readers need.
pub(super) const MAPS: &str = "
[adopt.columns.ra_races]
date = \"race_date\"

[adopt.columns.ra_runners]
starting_price = \"sp_raw\"
";

/// `paddock adopt ARGS` on `legacy`'s database with `config` as its configuration file.
pub(super) fn adopt_with(
    legacy: &Predecessor,
    config: &str,
    args: &[&str],
) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paddock.toml");
    std::fs::write(&path, config).unwrap();
    let (url, path) = (legacy.url(), path.display().to_string());
    let mut all = vec!["adopt"];
    all.extend_from_slice(args);
    let env = [
        ("PADDOCK_DATABASE_URL", url.as_str()),
        ("PADDOCK_CONFIG", path.as_str()),
    ];
    let out = run_paddock(&all, &env);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Rows of `table` where `legacy` does not hold what `registry` holds (of those with one),
/// and the rows with one.
async fn mirrored(legacy: &Predecessor, table: &str, column: &str, registry: &str) -> (i64, i64) {
    let with = format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table} WHERE {registry} IS NOT NULL");
    let differ = format!(
        "SELECT CAST(COUNT(*) AS TEXT) FROM {table} WHERE {registry} IS NOT NULL AND \
         ({column} IS NULL OR CAST({column} AS TEXT) <> CAST({registry} AS TEXT))"
    );
    (count(legacy, &differ).await, count(legacy, &with).await)
}

/// Legacy readers see `ra_races.date` and `ra_runners.starting_price` on every row Paddock
/// wrote to `races`/`runners` (the physical tables of the phase).
pub(super) async fn legacy_readers_see_new_rows(legacy: &Predecessor, races: &str, runners: &str) {
    let (differ, with) = mirrored(legacy, races, "date", "race_date").await;
    assert!(with > 0 && differ == 0, "{races}: {differ} of {with} rows");
    let (differ, with) = mirrored(legacy, runners, "starting_price", "sp_raw").await;
    assert!(
        with > 0 && differ == 0,
        "{runners}: {differ} of {with} rows"
    );
}

async fn a_mapped_predecessor_is_adopted_and_walks_the_rename(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::TextKeyed, &[]).await;
    let sums = legacy.checksums().await;
    let carried = legacy_only_values(&legacy).await;
    // Without the maps the NOT NULL date blocks.
    let (code, stdout, _) = adopt_with(&legacy, "", &["--dry-run"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("ra_races: column date is NOT NULL"),
        "{stdout}"
    );
    let (code, stdout, stderr) = adopt_with(&legacy, MAPS, &["--dry-run"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("mapped column date date: filled from race_date on every write; exact")
            || stdout.contains("mapped column date DATE: filled from race_date"),
        "{stdout}"
    );
    assert_eq!(
        sums,
        legacy.checksums().await,
        "the dry run changed something"
    );
    let (code, stdout, stderr) = adopt_with(&legacy, MAPS, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // No legacy value changed by the adoption (the adopted tables gained columns only).
    let after = legacy.checksums().await;
    for table in foreign_tables(Shape::TextKeyed) {
        assert_eq!(sums[table], after[table], "{table} changed");
    }
    for (table, (columns, rows)) in &carried {
        let name = paddock::rename::phase::legacy_name(fetchers::registry::table(table).unwrap());
        assert_eq!(&legacy.rows(name, columns).await, rows, "{name} changed");
    }

    let server = simulator(29, Faults::default()).await;
    let api = client_for(&server);
    let now = Utc::now();
    run_day(&legacy, &api, 1).await;
    legacy_readers_see_new_rows(&legacy, "ra_races", "ra_runners").await;

    rename::begin(&legacy.store, now).await.unwrap();
    run_day(&legacy, &api, 2).await;
    rename::backfill(&legacy.store, 2, now).await.unwrap();
    let report = rename::verify(&legacy.store).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
    assert_eq!(
        rename::advance(&legacy.store, false, now).await.unwrap(),
        Phase::SwitchReaders
    );
    run_day(&legacy, &api, 3).await;
    // Written to ra_mst_races first, then copied to the legacy table its readers still read.
    legacy_readers_see_new_rows(&legacy, "ra_races", "ra_runners").await;
    legacy_readers_see_new_rows(&legacy, "ra_mst_races", "ra_runners").await;
    assert_eq!(
        rename::advance(&legacy.store, true, now).await.unwrap(),
        Phase::Deprecate
    );
    rename::drop_archived(&legacy.store, Duration::days(30), true, now)
        .await
        .unwrap();

    assert_walk_kept_everything(&legacy, &carried, &sums, Shape::TextKeyed).await;
}

#[tokio::test]
async fn a_mapped_predecessor_is_adopted_and_walks_the_rename_on_postgres() {
    a_mapped_predecessor_is_adopted_and_walks_the_rename(Backend::Postgres).await;
}

#[tokio::test]
async fn a_mapped_predecessor_is_adopted_and_walks_the_rename_on_sqlite() {
    a_mapped_predecessor_is_adopted_and_walks_the_rename(Backend::Sqlite).await;
}

/// An unknown table or registry column is refused with the configuration; a legacy column the
/// live table lacks by `adopt`; each exit 2 naming the file and line, nothing changed.
async fn a_map_naming_what_does_not_exist_is_a_configuration_error_with_its_line(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::TextKeyed, &[]).await;
    let sums = legacy.checksums().await;
    let cases = [
        (
            "[adopt.columns.ra_nothing]\ndate = \"race_date\"\n",
            "line 1",
            "ra_nothing",
        ),
        (
            "\n[adopt.columns.ra_races]\ndate = \"race_day\"\n",
            "line 3",
            "race_day",
        ),
        (
            "[adopt.columns.ra_races]\n\ndates = \"race_date\"\n",
            "line 3",
            "dates",
        ),
        (
            "[adopt.keys]\nra_nowhere = \"code\"\n",
            "line 2",
            "ra_nowhere",
        ),
    ];
    for (config, line, named) in cases {
        for args in [&["--dry-run"][..], &[]] {
            let (code, stdout, stderr) = adopt_with(&legacy, config, args);
            assert_eq!(code, 2, "{config}: {stdout}\n{stderr}");
            assert!(
                stderr.contains(&format!("paddock.toml, {line}")) && stderr.contains(named),
                "{config}: {stderr}"
            );
        }
    }
    assert_eq!(sums, legacy.checksums().await);
}

#[tokio::test]
async fn a_map_naming_what_does_not_exist_is_a_configuration_error_with_its_line_on_postgres() {
    a_map_naming_what_does_not_exist_is_a_configuration_error_with_its_line(Backend::Postgres)
        .await;
}

#[tokio::test]
async fn a_map_naming_what_does_not_exist_is_a_configuration_error_with_its_line_on_sqlite() {
    a_map_naming_what_does_not_exist_is_a_configuration_error_with_its_line(Backend::Sqlite).await;
}

/// A `date` column mapped from a text column, an exact amount into `numeric(10,2)`: refused
/// at adopt time naming the table and column, exit 1, nothing changed.
async fn an_inexact_map_is_refused_naming_table_and_column(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::TextKeyed, &[]).await;
    let sums = legacy.checksums().await;
    let config = format!("{MAPS}\n[adopt.columns.ra_runners]\nprize_won = \"prize_amount\"\n");
    let config = config.replace(
        "[adopt.columns.ra_runners]\nstarting_price = \"sp_raw\"\n",
        "",
    );
    let config = config.replace("date = \"race_date\"", "date = \"off_time_raw\"");
    let (code, stdout, stderr) = adopt_with(&legacy, &config, &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    for needle in [
        "ra_races: column date mapped from off_time_raw (text)",
        "ra_runners: column prize_won mapped from prize_amount",
    ] {
        assert!(stdout.contains(needle), "{needle} in {stdout}");
    }
    assert_eq!(sums, legacy.checksums().await);
}

#[tokio::test]
async fn an_inexact_map_is_refused_naming_table_and_column_on_postgres() {
    an_inexact_map_is_refused_naming_table_and_column(Backend::Postgres).await;
}

#[tokio::test]
async fn an_inexact_map_is_refused_naming_table_and_column_on_sqlite() {
    an_inexact_map_is_refused_naming_table_and_column(Backend::Sqlite).await;
}

/// The drift section of `paddock audit` (the binary, reading the database as `audit` does) on
/// the adopted predecessor in each phase of the walk.
fn drift(legacy: &Predecessor) -> serde_json::Value {
    let url = legacy.url();
    let out = run_paddock(
        &["audit", "--only", "drift", "--format", "json"],
        &[("PADDOCK_DATABASE_URL", url.as_str())],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)))
}

/// The `kind`s of `report`'s drift findings on `table` (and `column`), violations or not.
fn findings(report: &serde_json::Value, table: &str, column: Option<&str>) -> Vec<(String, bool)> {
    (report["drift"].as_array().unwrap().iter())
        .filter(|f| f["table"] == table && column.is_none_or(|c| f["column"] == c))
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["violation"] == true,
            )
        })
        .collect()
}

/// The only violations left are the foreign keys and indexes Paddock's own schema has and the
/// adoption does not add (documented); nothing the adoption accepted counts.
fn assert_only_missing_keys_and_indexes(report: &serde_json::Value) {
    let violations: Vec<_> = (report["drift"].as_array().unwrap().iter())
        .filter(|f| f["violation"] == true)
        .filter(|f| {
            !matches!(
                f["kind"].as_str(),
                Some("missing_foreign_key" | "missing_index")
            )
        })
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
}

async fn the_audit_reads_an_adopted_database_under_its_phase(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::TextKeyed, &[]).await;
    let (code, stdout, stderr) = adopt_with(&legacy, MAPS, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let url = legacy.url();
    let out = run_paddock(
        &["tables", "status"],
        &[("PADDOCK_DATABASE_URL", url.as_str())],
    );
    let status = String::from_utf8_lossy(&out.stdout);
    for line in [
        "phase: legacy",
        "mapped legacy column ra_races.date: filled from race_date by every write",
        "skipped: Paddock's derived ra_entity_combinations",
    ] {
        assert!(
            out.status.success() && status.contains(line),
            "{line} in {status}"
        );
    }
    let report = drift(&legacy);
    assert_only_missing_keys_and_indexes(&report);
    // Checked under the legacy phase's names, what the adoption accepted listed.
    let kinds = |t, c| findings(&report, t, c);
    assert_eq!(
        kinds("ra_races", Some("date")),
        [("mapped_column".to_string(), false)]
    );
    assert_eq!(
        kinds("ra_jockeys", Some("total_rides")),
        [("legacy_only_column".to_string(), false)]
    );
    assert!(
        kinds("ra_mst_jockeys", None).is_empty(),
        "not a table of the legacy phase"
    );
    for table in foreign_tables(Shape::TextKeyed) {
        assert_eq!(
            kinds(table, None),
            [("foreign_table".to_string(), false)],
            "{table}"
        );
    }

    // After begin the phase writes both names: ra_mst_races is checked too, `date` carried.
    rename::begin(&legacy.store, Utc::now()).await.unwrap();
    let report = drift(&legacy);
    assert_only_missing_keys_and_indexes(&report);
    assert_eq!(
        findings(&report, "ra_mst_races", Some("date")),
        [("mapped_column".to_string(), false)]
    );
}

#[tokio::test]
async fn the_audit_reads_an_adopted_database_under_its_phase_on_postgres() {
    the_audit_reads_an_adopted_database_under_its_phase(Backend::Postgres).await;
}

#[tokio::test]
async fn the_audit_reads_an_adopted_database_under_its_phase_on_sqlite() {
    the_audit_reads_an_adopted_database_under_its_phase(Backend::Sqlite).await;
}

/// On a database adopted already, `paddock adopt` with other maps judges them again (an
/// inexact one refused, the recorded maps kept) and records them; `tables status` shows the
/// maps in force.
async fn changed_maps_are_judged_and_recorded_by_adopt(backend: Backend) {
    let legacy = Predecessor::with(backend, Shape::TextKeyed, &[]).await;
    let (code, stdout, stderr) = adopt_with(&legacy, MAPS, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let url = legacy.url();
    let status = || {
        let out = run_paddock(
            &["tables", "status"],
            &[("PADDOCK_DATABASE_URL", url.as_str())],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let runners = "mapped legacy column ra_runners.starting_price: filled from sp_raw";
    assert!(status().contains(runners), "{}", status());
    let inexact = format!("{MAPS}prize_won = \"prize_amount\"\n");
    let (code, stdout, _) = adopt_with(&legacy, &inexact, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("column prize_won mapped from prize_amount"),
        "{stdout}"
    );
    assert!(!status().contains("prize_won"), "{}", status());
    let fewer = MAPS.replace("starting_price = \"sp_raw\"\n", "");
    let (code, stdout, stderr) = adopt_with(&legacy, &fewer, &["--dry-run"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(status().contains(runners), "a dry run records nothing");
    let (code, stdout, stderr) = adopt_with(&legacy, &fewer, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("the maps are recorded"), "{stdout}");
    let now = status();
    assert!(
        !now.contains(runners) && now.contains("ra_races.date"),
        "{now}"
    );
}

#[tokio::test]
async fn changed_maps_are_judged_and_recorded_by_adopt_on_postgres() {
    changed_maps_are_judged_and_recorded_by_adopt(Backend::Postgres).await;
}

#[tokio::test]
async fn changed_maps_are_judged_and_recorded_by_adopt_on_sqlite() {
    changed_maps_are_judged_and_recorded_by_adopt(Backend::Sqlite).await;
}

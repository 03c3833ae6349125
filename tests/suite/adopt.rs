//! `paddock adopt` (issue 19): a database Paddock did not create, in the shape of the system it
//! replaces (`support::predecessor`), planned for adoption without a change.

use crate::support::predecessor::{Predecessor, FOREIGN_TABLES};
use crate::support::Backend;

async fn fixture_holds_rows_in_every_table(backend: Backend) {
    let legacy = Predecessor::new(backend).await;
    let tables = legacy.tables().await;
    assert!(tables.len() >= 18, "{tables:?}");
    for table in FOREIGN_TABLES {
        assert!(tables.iter().any(|t| t == table), "{table} missing");
    }
    for table in &tables {
        let count = legacy
            .store
            .text_rows(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}"))
            .await
            .unwrap();
        let rows: i64 = count[0][0].as_deref().unwrap().parse().unwrap();
        assert!(rows > 0, "{table} is empty");
    }
    // The fingerprint is stable when nothing changes and moves when a value does.
    let before = legacy.checksums().await;
    assert_eq!(before, legacy.checksums().await);
    legacy
        .execute("UPDATE ra_odds_live SET odds_decimal = 3.25 WHERE bookmaker = 'bet365'")
        .await;
    let after = legacy.checksums().await;
    assert_ne!(before["ra_odds_live"], after["ra_odds_live"]);
    assert_eq!(before["ra_runners"], after["ra_runners"]);
}

#[tokio::test]
async fn the_predecessor_fixture_holds_rows_in_every_table_on_postgres() {
    fixture_holds_rows_in_every_table(Backend::Postgres).await;
}

#[tokio::test]
async fn the_predecessor_fixture_holds_rows_in_every_table_on_sqlite() {
    fixture_holds_rows_in_every_table(Backend::Sqlite).await;
}

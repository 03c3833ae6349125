//! Migration 0014 on both backends: archive rows written the old way (zstd, then base64 text,
//! under migrations 0001–0013) come out as bytes — PostgreSQL decodes them in the migration,
//! SQLite in the store right after it — and `paddock replay` and `paddock archive stats` work
//! on them: the replay builds the same tables as the fetch that archived them.

use crate::support::db::{fresh_postgres_database, test_options};
use crate::support::sim::{client_for, simulator};
use crate::support::{Backend, TestDb};
use base64::Engine as _;
use chrono::NaiveDate;
use paddock::archive::{Archive, ArchiveTarget};
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions};
use paddock::simulator::Faults;
use paddock::store::archive::{self, StoredResponse};
use paddock::store::{AnyStore, PgStore, SqliteStore};
use sqlx::migrate::Migrator;
use std::borrow::Cow;

/// The embedded migrations before 0014.
fn before_0014(full: &'static Migrator) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            full.migrations
                .iter()
                .filter(|m| m.version < 14)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// What keeps an old-shaped database alive (its directory or its PostgreSQL database).
type Keep = Box<dyn std::any::Any + Send>;

/// A database migrated to 0013 holding `rows` as the old code wrote them (base64 text), then
/// opened and migrated by the store of today.
async fn migrated_from_base64(backend: Backend, rows: &[StoredResponse]) -> (AnyStore, Keep) {
    let insert = "INSERT INTO paddock_raw_responses (endpoint, query, status, fetched_at, \
                  body_bytes, body_zstd) VALUES ";
    let encoded: Vec<String> = rows
        .iter()
        .map(|r| base64::engine::general_purpose::STANDARD.encode(&r.body_zstd))
        .collect();
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("old.db").display());
            let store = SqliteStore::open(&url, &test_options()).await.unwrap();
            let pool = store.pool_for_tests();
            before_0014(&paddock::store::sqlite::MIGRATOR)
                .run(pool)
                .await
                .unwrap();
            for (r, text) in rows.iter().zip(&encoded) {
                sqlx::query(&format!("{insert} (?, ?, ?, ?, ?, ?)"))
                    .bind(&r.endpoint)
                    .bind(&r.query)
                    .bind(r.status)
                    .bind(fetchers::rows::format_timestamp(&r.fetched_at))
                    .bind(r.body_bytes)
                    .bind(text)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            store.migrate().await.unwrap();
            (AnyStore::Sqlite(store), Box::new(dir))
        }
        Backend::Postgres => {
            let database = fresh_postgres_database().await;
            let store = PgStore::connect(&database.url, &test_options())
                .await
                .unwrap();
            let pool = store.pool_for_tests();
            before_0014(&paddock::store::postgres::MIGRATOR)
                .run(pool)
                .await
                .unwrap();
            for (r, text) in rows.iter().zip(&encoded) {
                sqlx::query(&format!("{insert} ($1, $2, $3, $4, $5, $6)"))
                    .bind(&r.endpoint)
                    .bind(&r.query)
                    .bind(r.status)
                    .bind(r.fetched_at)
                    .bind(r.body_bytes)
                    .bind(text)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            store.migrate().await.unwrap();
            (AnyStore::Postgres(store), Box::new(database))
        }
    }
}

async fn all_rows(store: &AnyStore) -> Vec<StoredResponse> {
    let mut out: Vec<StoredResponse> = Vec::new();
    loop {
        let after = out.last().map_or(0, |r| r.response_id);
        let batch = archive::read_batch(store, after, None, None, 100)
            .await
            .unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

async fn count(store: &AnyStore, table: &str) -> String {
    let rows = store
        .text_rows(&format!("SELECT COUNT(*) FROM {table}"))
        .await
        .unwrap();
    rows[0][0].clone().unwrap()
}

backend_test!(
    base64_archive_rows_from_before_0014_become_bytes_and_replay_as_fetched,
    |db| async move {
        // Hold the whole TestDb (see backfill.rs).
        let db = db;
        let server = simulator(2214, Faults::default()).await;
        let hook = Archive::start(ArchiveTarget::Database(db.store.clone()));
        let api = client_for(&server).with_hook(hook.clone());
        let day = NaiveDate::from_ymd_opt(2025, 5, 1).unwrap();
        let options = BackfillOptions {
            from: day,
            to: day,
            parts: [Part::Results, Part::Racecards].into_iter().collect(),
            profile_budget: 0,
            regions: vec!["gb".into(), "ire".into()],
            today: crate::support::sim::sim_today(),
            rate_per_second: 1000.0,
            distance_bands: Default::default(),
            odds: Default::default(),
        };
        let fetched = run_backfill(&api, &db.store, &options, Reporter::Silent)
            .await
            .unwrap();
        assert_eq!(fetched.exit_code(), 0, "{:?}", fetched.error);
        hook.close().await.unwrap();
        let written = all_rows(&db.store).await;
        assert!(written.len() >= 2, "{}", written.len());

        let (old, _keep) = migrated_from_base64(db.backend(), &written).await;
        let converted = all_rows(&old).await;
        assert_eq!(converted.len(), written.len());
        for (c, w) in converted.iter().zip(&written) {
            assert_eq!((&c.query, &c.body_zstd), (&w.query, &w.body_zstd));
        }
        // `archive stats`: the stored size is the compressed bytes, not their base64 text.
        let figures = archive::figures(&old).await.unwrap();
        let bytes: usize = written.iter().map(|r| r.body_zstd.len()).sum();
        assert_eq!(figures.stored_bytes as usize, bytes);
        assert_eq!(figures.responses as usize, written.len());
        // Opening again converts nothing more.
        old.migrate().await.unwrap();
        assert_eq!(all_rows(&old).await, converted);

        let fresh = TestDb::new(db.backend()).await;
        let replayed = paddock::replay::replay(
            &fresh.store,
            &Default::default(),
            ArchiveTarget::Database(old.clone()),
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(replayed.exit_code(), 0, "{:?}", replayed.error);
        assert_eq!(replayed.detail.responses, written.len() as u64);
        for table in [
            "ra_mst_races",
            "ra_runners",
            "ra_runner_odds",
            "ra_mst_horses",
        ] {
            assert_eq!(
                count(&fresh.store, table).await,
                count(&db.store, table).await,
                "{table}"
            );
        }
        assert_ne!(count(&fresh.store, "ra_runners").await, "0");
    }
);

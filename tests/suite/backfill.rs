//! `paddock backfill`, the raw archive and `paddock replay`, on both backends against the
//! simulator: the fewest requests, a range whose total changes mid-paging, replay equal to
//! the fetch with zero requests, and (SQLite, child processes) `kill -9` at five points.

use crate::support::bin::paddock;
use crate::support::sim::{client_for, sim_today, simulator, PASSWORD, USER};
use crate::support::TestDb;
use chrono::NaiveDate;
use fetchers::registry;
use paddock::archive::{Archive, ArchiveTarget};
use paddock::backfill::pipeline::horses_needing_profiles;
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions, BackfillResult};
use paddock::client::RacingApiClient;
use paddock::simulator::{Faults, SimData, SimServer};
use paddock::store::AnyStore;
use std::collections::BTreeMap;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The simulator's seed in these tests.
const SEED: u64 = 11;

fn options(from: NaiveDate, to: NaiveDate, parts: &[Part], budget: u32) -> BackfillOptions {
    BackfillOptions {
        from,
        to,
        parts: parts.iter().copied().collect(),
        profile_budget: budget,
        regions: vec!["gb".into(), "ire".into()],
        today: sim_today(),
        rate_per_second: 1000.0,
        distance_bands: Default::default(),
        odds: Default::default(),
    }
}

async fn backfill(api: &RacingApiClient, store: &AnyStore, o: &BackfillOptions) -> BackfillResult {
    let result = run_backfill(api, store, o, Reporter::Silent).await.unwrap();
    assert_eq!(result.exit_code(), 0, "{:?}", result.error);
    result
}

/// Races with a result in `from..=to` according to the simulator itself.
fn results_in(data: &SimData, from: NaiveDate, to: NaiveDate) -> u64 {
    from.iter_days()
        .take_while(|x| *x <= to)
        .map(|x| data.race_count(x) as u64)
        .sum()
}

/// Every row of `table` as text, sorted, without write timestamps and run ids.
async fn table_content(store: &AnyStore, table: &str) -> Vec<String> {
    let t = registry::table(table).unwrap();
    let columns: Vec<String> = t
        .columns
        .iter()
        .filter(|c| !matches!(c.name, "created_at" | "updated_at" | "last_run_id"))
        .map(|c| format!("COALESCE(CAST(\"{}\" AS TEXT), '<null>')", c.name))
        .collect();
    let sql = format!("SELECT {} FROM {table}", columns.join(" || '|' || "));
    let mut rows: Vec<String> = match store {
        AnyStore::Sqlite(s) => sqlx::query_scalar(&sql).fetch_all(s.pool_for_tests()).await,
        AnyStore::Postgres(s) => sqlx::query_scalar(&sql).fetch_all(s.pool_for_tests()).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.sort();
    rows
}

/// A content checksum per `ra_*` table (FNV-1a over the sorted rows), with row counts.
async fn checksums(store: &AnyStore) -> BTreeMap<&'static str, (usize, u64)> {
    let mut out = BTreeMap::new();
    for t in registry::TABLES
        .iter()
        .filter(|t| t.name.starts_with("ra_"))
    {
        let rows = table_content(store, t.name).await;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in rows.iter().flat_map(|r| r.bytes().chain([b'\n'])) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        out.insert(t.name, (rows.len(), h));
    }
    out
}

backend_test!(
    a_year_of_backfill_costs_exactly_results_pages_plus_racecard_days_plus_profiles_needed,
    |db| async move {
        // Hold the whole TestDb: a block that only names `db.store` would capture just that
        // field and drop the temporary directory of a SQLite database.
        let db = db;
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        // 365 days; racecards are served only from 2023-01-23, so 9 of them are fetched.
        let (from, to) = (d("2022-02-01"), d("2023-01-31"));
        let first = backfill(
            &api,
            &db.store,
            &options(from, to, &[Part::Results, Part::Racecards], 100),
        )
        .await;
        assert_eq!(first.detail.plan.racecard_dates_skipped.len(), 356);
        let needed = horses_needing_profiles(&db.store, 100).await.unwrap().len() as u64;
        assert!(needed > 0);
        let second = backfill(&api, &db.store, &options(from, to, &Part::all_list(), 100)).await;
        assert_eq!(second.detail.figures.streams_already_done, 1 + 9);

        let minimum = results_in(server.data(), from, to).div_ceil(50) + 9 + needed;
        let stats = server.stats();
        assert_eq!(stats.total, minimum, "{:?}", stats.by_endpoint);
        assert_eq!(
            first.detail.figures.total_requests() + second.detail.figures.total_requests(),
            minimum
        );
        assert_eq!(stats.by_endpoint["/horses/{id}/pro"], needed);
        assert!(
            stats.by_query.values().all(|n| *n == 1),
            "a page was requested twice"
        );
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_mst_races WHERE has_result")
                .await as u64,
            results_in(server.data(), from, to)
        );
    }
);

backend_test!(
    a_range_whose_total_grows_mid_paging_is_refetched_and_ends_with_exactly_the_simulators_races,
    |db| async move {
        // Hold the whole TestDb: a block that only names `db.store` would capture just that
        // field and drop the temporary directory of a SQLite database.
        let db = db;
        // The newest race of the range is withheld from the first /results request only.
        let faults = Faults {
            late_result_requests: Some(1),
            ..Faults::default()
        };
        let server = simulator(SEED, faults).await;
        let api = client_for(&server);
        let (from, to) = (d("2025-05-01"), d("2025-05-07"));
        let expected = results_in(server.data(), from, to);
        assert!(expected > 100, "the range needs several pages");
        let result = backfill(&api, &db.store, &options(from, to, &[Part::Results], 0)).await;

        assert_eq!(
            result.detail.figures.refetched.len(),
            1,
            "{:?}",
            result.detail.figures.refetched
        );
        // Two pages under the old total (the second revealing the change), then every page
        // again under the new one.
        assert_eq!(server.stats().total, 2 + expected.div_ceil(50));
        let mut want: Vec<String> = from
            .iter_days()
            .take_while(|x| *x <= to)
            .flat_map(|x| server.data().races_on(x))
            .filter(|r| r.has_result)
            .map(|r| r.race_id)
            .collect();
        want.sort();
        let mut got: Vec<String> = match &db.store {
            AnyStore::Sqlite(s) => {
                sqlx::query_scalar("SELECT id FROM ra_mst_races WHERE has_result ORDER BY id")
                    .fetch_all(s.pool_for_tests())
                    .await
            }
            AnyStore::Postgres(s) => {
                sqlx::query_scalar("SELECT id FROM ra_mst_races WHERE has_result ORDER BY id")
                    .fetch_all(s.pool_for_tests())
                    .await
            }
        }
        .unwrap();
        got.sort();
        assert_eq!(got, want);
    }
);

backend_test!(
    replay_of_the_archive_builds_the_same_tables_as_the_fetch_with_zero_requests,
    |db| async move {
        // Hold the whole TestDb: a block that only names `db.store` would capture just that
        // field and drop the temporary directory of a SQLite database.
        let db = db;
        let server = simulator(SEED, Faults::default()).await;
        let archive = Archive::start(ArchiveTarget::Database(db.store.clone()));
        let api = client_for(&server).with_hook(archive.clone());
        let (from, to) = (d("2025-05-01"), d("2025-05-03"));
        backfill(&api, &db.store, &options(from, to, &Part::all_list(), 20)).await;
        let archived = archive.close().await.unwrap();
        assert_eq!(archived, server.stats().total);

        let fresh = TestDb::new(db.backend()).await;
        server.reset_stats();
        let replayed = paddock::replay::replay(
            &fresh.store,
            &Default::default(),
            ArchiveTarget::Database(db.store.clone()),
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(replayed.exit_code(), 0, "{:?}", replayed.error);
        assert_eq!(replayed.detail.responses, archived);
        assert_eq!(server.stats().total, 0);
        assert_eq!(checksums(&fresh.store).await, checksums(&db.store).await);
    }
);

/// A `paddock backfill` child process against `server`, into `db` (a SQLite file).
fn backfill_child(
    server: &SimServer,
    db: &std::path::Path,
    from: &str,
    to: &str,
) -> std::process::Command {
    let mut cmd = paddock();
    cmd.env("PADDOCK_API_BASE_URL", &server.base_url)
        .env("PADDOCK_API_RATE_LIMIT", "100")
        .env("RACING_API_USERNAME", USER)
        .env("RACING_API_PASSWORD", PASSWORD)
        .env("PADDOCK_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("PADDOCK_LOG", "warn")
        .args([
            "backfill",
            "--from",
            from,
            "--to",
            to,
            "--only",
            "results,racecards",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

/// The backfill checkpoints committed in a SQLite file: name → (status, cursor).
async fn committed_checkpoints(db: &std::path::Path) -> BTreeMap<String, (String, Option<String>)> {
    if !db.exists() {
        return BTreeMap::new();
    }
    let store = paddock::store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let out = paddock::store::checkpoints::for_job(&store, "backfill")
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.name, (c.status, c.cursor)))
        .collect();
    store.close().await;
    out
}

/// Whether the page a simulator request asked for (`/v1/results?…&skip=50`) was committed
/// according to `checkpoints`.
fn was_committed(request: &str, checkpoints: &BTreeMap<String, (String, Option<String>)>) -> bool {
    let (path, query) = request.split_once('?').unwrap_or((request, ""));
    let param = |k: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")).map(str::to_string))
    };
    let name = if path.ends_with("/results") {
        format!(
            "backfill:results:{}..{}",
            param("start_date").unwrap(),
            param("end_date").unwrap()
        )
    } else if path.ends_with("/racecards/pro") {
        format!("backfill:racecards:{}", param("date").unwrap())
    } else {
        return false;
    };
    let skip: u64 = param("skip").unwrap().parse().unwrap();
    match checkpoints.get(&name) {
        Some((status, _)) if status == "done" => true,
        Some((status, Some(cursor))) if status == "running" => {
            let next: u64 = cursor
                .split(';')
                .find_map(|p| p.strip_prefix("skip="))
                .unwrap()
                .parse()
                .unwrap();
            skip < next
        }
        _ => false,
    }
}

#[test]
fn a_backfill_killed_at_five_points_resumes_to_the_same_database_and_never_asks_twice_for_a_committed_page(
) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(simulator(SEED, Faults::default()));
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = ("2025-05-01", "2025-05-07");

    let reference = dir.path().join("uninterrupted.db");
    let status = backfill_child(&server, &reference, from, to)
        .status()
        .unwrap();
    assert!(status.success());
    let minimum = server.stats().total;
    server.reset_stats();

    let resumed = dir.path().join("interrupted.db");
    let mut kills = 0;
    for point in [2, 4, 6, 8, 10] {
        let before = runtime.block_on(committed_checkpoints(&resumed));
        let seen_before = server.stats().by_query;
        let mut child = backfill_child(&server, &resumed, from, to).spawn().unwrap();
        while server.stats().total < point && child.try_wait().unwrap().is_none() {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        for (request, n) in server.stats().by_query {
            if n > seen_before.get(&request).copied().unwrap_or(0) {
                assert!(
                    !was_committed(&request, &before),
                    "{request} was committed, then asked for again"
                );
            }
        }
    }
    assert_eq!(kills, 5, "every kill interrupted a running backfill");
    let before = runtime.block_on(committed_checkpoints(&resumed));
    let seen_before = server.stats().by_query;
    let status = backfill_child(&server, &resumed, from, to)
        .status()
        .unwrap();
    assert!(status.success());
    for (request, n) in server.stats().by_query {
        if n > seen_before.get(&request).copied().unwrap_or(0) {
            assert!(
                !was_committed(&request, &before),
                "{request} was committed, then asked for again"
            );
        }
    }
    // At most the page in flight (and the one being written) is asked for again per kill.
    assert!(
        server.stats().total <= minimum + 2 * kills,
        "{} > {minimum} + 2 × {kills}",
        server.stats().total
    );

    let open = |path: &std::path::Path| {
        let url = format!("sqlite://{}", path.display());
        async move { paddock::store::connect(&url).await.unwrap() }
    };
    let (a, b) = runtime.block_on(async { (open(&reference).await, open(&resumed).await) });
    let (ca, cb) = runtime.block_on(async { (checksums(&a).await, checksums(&b).await) });
    assert!(ca["ra_runners"].0 > 0);
    assert_eq!(ca, cb);
}

backend_test!(
    a_directory_archive_replays_to_the_same_tables_and_reports_its_size,
    |db| async move {
        let db = db;
        let server = simulator(SEED, Faults::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let target = ArchiveTarget::Directory(dir.path().join("archive"));
        let archive = Archive::start(target.clone());
        let api = client_for(&server).with_hook(archive.clone());
        let day = d("2025-05-02");
        backfill(
            &api,
            &db.store,
            &options(day, day, &[Part::Results, Part::Racecards], 0),
        )
        .await;
        let archived = archive.close().await.unwrap();
        assert_eq!(archived, server.stats().total);

        let figures = paddock::archive::figures(&target).await.unwrap();
        assert_eq!(figures.responses as u64, archived);
        assert!(figures.stored_bytes > 0 && figures.stored_bytes < figures.body_bytes / 3);

        let fresh = TestDb::new(db.backend()).await;
        server.reset_stats();
        let replayed =
            paddock::replay::replay(&fresh.store, &Default::default(), target, None, None)
                .await
                .unwrap();
        assert_eq!(replayed.exit_code(), 0, "{:?}", replayed.error);
        assert_eq!(server.stats().total, 0);
        assert_eq!(checksums(&fresh.store).await, checksums(&db.store).await);
    }
);

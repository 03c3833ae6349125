//! The SQLite analytics copy (`paddock publish`, the `publish` job): a publish under a running
//! backfill copies one instant (integrity ok; counts and checksums recomputed on the copy equal
//! those taken in the snapshot's transaction, while the writer's counts moved on); a reader of
//! the old copy keeps reading it after a new publish while a new reader sees the new one; a
//! failed publish leaves no temporary file; the binary records the run and `paddock status`
//! shows the copy; PostgreSQL is refused with exit 2, pointing at `[database] read_url`. (The
//! daemon's tick and `/metrics`: `daemon/jobs_without_api.rs`.)

use crate::support::bin::run_paddock;
use crate::support::sim::{client_for, sim_today, simulator, start_simulator, PASSWORD, USER};
use crate::support::{Backend, TestDb};
use chrono::Duration;
use paddock::backfill::plan::Part;
use paddock::backfill::progress::Reporter;
use paddock::backfill::{run_backfill, BackfillOptions};
use paddock::publish::{publish_copy, table_figures, Figures, Publication};
use paddock::simulator::{Faults, SimConfig, SimServer};
use paddock::store::{AnyStore, SqliteStore};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::path::{Path, PathBuf};

/// The simulator's seed in these tests.
const SEED: u64 = 23;

fn sqlite(db: &TestDb) -> &SqliteStore {
    match &db.store {
        AnyStore::Sqlite(s) => s,
        AnyStore::Postgres(_) => unreachable!("a SQLite test database"),
    }
}

/// Results for `days` days ending the day before the simulator's today.
fn results(days: i64, ending_days_ago: i64) -> BackfillOptions {
    let to = sim_today() - Duration::days(ending_days_ago);
    BackfillOptions {
        from: to - Duration::days(days - 1),
        to,
        parts: [Part::Results].into_iter().collect(),
        profile_budget: 0,
        regions: vec!["gb".into(), "ire".into()],
        today: sim_today(),
        rate_per_second: 1000.0,
        distance_bands: Default::default(),
        odds: Default::default(),
    }
}

/// A backfill of `options` that must succeed.
async fn load(sim: &SimServer, db: &TestDb, options: &BackfillOptions) {
    let result = run_backfill(&client_for(sim), &db.store, options, Reporter::Silent)
        .await
        .unwrap();
    assert_eq!(result.exit_code(), 0, "{:?}", result.error);
}

/// A read-only connection to a copy.
async fn open_copy(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks the copy at `path` as readers find it: integrity ok, a rollback journal (not WAL),
/// and the figures recomputed on it equal to those taken in the snapshot's transaction.
async fn check_copy(path: &Path, publication: &Publication) {
    let mut copy = open_copy(path).await;
    let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut copy)
        .await
        .unwrap();
    assert_eq!(integrity, ["ok"]);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut copy)
        .await
        .unwrap();
    assert_eq!(mode, "delete");
    let stats: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat1")
        .fetch_one(&mut copy)
        .await
        .unwrap();
    assert!(stats > 0, "ANALYZE ran on the copy");
    let recomputed = table_figures(&mut copy).await.unwrap();
    assert_eq!(recomputed, publication.tables, "the copy is the snapshot");
    assert_eq!(
        std::fs::metadata(path).unwrap().len(),
        publication.bytes,
        "the size recorded is the copy's"
    );
    copy.close().await.unwrap();
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn runners(figures: &Figures) -> u64 {
    figures[fetchers::registry::names::RUNNERS].rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_under_a_running_backfill_copies_one_instant_that_passes_the_integrity_check() {
    let db = TestDb::new(Backend::Sqlite).await;
    // Each request answered after 100 ms: the backfill's pages commit one by one for seconds.
    let sim = start_simulator(SimConfig {
        faults: Faults {
            latency_ms: 100,
            ..Faults::default()
        },
        today: sim_today(),
        ..SimConfig::new(SEED, USER, PASSWORD)
    })
    .await;
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("analytics.db");
    let writer = {
        let (store, client) = (db.store.clone(), client_for(&sim));
        tokio::spawn(async move {
            run_backfill(&client, &store, &results(20, 1), Reporter::Silent).await
        })
    };
    let mut published = Vec::new();
    while !writer.is_finished() {
        let publication = publish_copy(sqlite(&db), &target).await.unwrap();
        check_copy(&target, &publication).await;
        published.push(runners(&publication.tables));
    }
    let backfill = writer.await.unwrap().unwrap();
    assert_eq!(backfill.exit_code(), 0, "{:?}", backfill.error);
    let mut source = sqlite(&db).pool_for_tests().acquire().await.unwrap();
    let end = table_figures(&mut source).await.unwrap();
    assert!(
        published.iter().any(|n| *n > 0 && *n < runners(&end)),
        "a publish happened while the backfill was writing: runners per snapshot {published:?}, \
         {} at the end",
        runners(&end)
    );
    // Published after the writer stopped: the copy equals the database.
    let last = publish_copy(sqlite(&db), &target).await.unwrap();
    check_copy(&target, &last).await;
    let ra = |f: &Figures| -> Figures {
        f.iter()
            .filter(|(t, _)| t.starts_with("ra_"))
            .map(|(t, v)| (t.clone(), v.clone()))
            .collect()
    };
    assert_eq!(ra(&last.tables), ra(&end));
    assert_eq!(
        listing(out.path()),
        ["analytics.db"],
        "no temporary file left"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_reader_of_the_old_copy_keeps_reading_it_after_a_new_publish_and_a_new_reader_sees_the_new_one(
) {
    let db = TestDb::new(Backend::Sqlite).await;
    let sim = simulator(SEED, Faults::default()).await;
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("analytics.db");
    load(&sim, &db, &results(3, 10)).await;
    let first = publish_copy(sqlite(&db), &target).await.unwrap();

    let mut reader = open_copy(&target).await;
    let mut old = reader.begin().await.unwrap();
    let count = "SELECT COUNT(*) FROM ra_runners";
    let before: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut *old)
        .await
        .unwrap();
    assert_eq!(before as u64, runners(&first.tables));

    load(&sim, &db, &results(3, 1)).await;
    let second = publish_copy(sqlite(&db), &target).await.unwrap();
    assert!(runners(&second.tables) > runners(&first.tables));

    // The old reader, inside its transaction and after it, reads the old copy unchanged.
    let during: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut *old)
        .await
        .unwrap();
    assert_eq!(during, before);
    assert_eq!(table_figures(&mut old).await.unwrap(), first.tables);
    old.commit().await.unwrap();
    assert_eq!(table_figures(&mut reader).await.unwrap(), first.tables);
    // A new reader opens the new copy.
    check_copy(&target, &second).await;
    reader.close().await.unwrap();
    assert_eq!(listing(out.path()), ["analytics.db"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_publish_leaves_no_temporary_file_and_the_run_says_why() {
    let db = TestDb::new(Backend::Sqlite).await;
    let sim = simulator(SEED, Faults::default()).await;
    load(&sim, &db, &results(2, 1)).await;
    let out = tempfile::tempdir().unwrap();
    // The target is a directory with a file in it: the copy is made, checked, and the rename
    // over the target fails.
    let target = out.path().join("analytics.db");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "x").unwrap();
    let err = publish_copy(sqlite(&db), &target).await.unwrap_err();
    assert!(format!("{err:#}").contains("renaming"), "{err:#}");
    assert_eq!(
        listing(out.path()),
        ["analytics.db"],
        "no temporary file left"
    );
    assert_eq!(listing(&target), ["keep"]);

    // As a run of the publish job: failed, with the reason, and still no temporary file.
    let missing = out.path().join("no-such-dir").join("analytics.db");
    let config = crate::support::jobs::config_from_toml(&format!(
        "[publish]\npath = \"{}\"\n",
        missing.display()
    ));
    let result = paddock::run::run_publish(&db.store, &config, fetchers::store::RunTrigger::Manual)
        .await
        .unwrap();
    assert_eq!(result.status.name(), "failed");
    let error = result.error.unwrap_or_default();
    assert!(error.contains("does not exist"), "{error}");
    assert_eq!(listing(out.path()), ["analytics.db"]);
    let recorded = paddock::publish::last_publication(&db.store).await.unwrap();
    assert_eq!(recorded, None, "a failed publish records no publication");
    sim.shutdown().await;
}

/// `paddock ARGS` on `url` with `analytics` as the copy's path (unset when `None`).
fn paddock_on(url: &str, analytics: Option<&Path>, args: &[&str]) -> (i32, String, String) {
    let path = analytics.map(|p| p.display().to_string());
    let mut env = vec![("PADDOCK_DATABASE_URL", url)];
    // An empty value is no path (the developer's own variable must not leak in).
    env.push(("PADDOCK_ANALYTICS_PATH", path.as_deref().unwrap_or("")));
    let output = run_paddock(args, &env);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn paddock_publish_records_its_run_and_status_shows_the_copy() {
    let db = TestDb::new(Backend::Sqlite).await;
    let sim = simulator(SEED, Faults::default()).await;
    load(&sim, &db, &results(2, 1)).await;
    let out = tempfile::tempdir().unwrap();
    let target: PathBuf = out.path().join("analytics.db");

    let (code, _, stderr) = paddock_on(&db.url(), None, &["publish"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("PADDOCK_ANALYTICS_PATH"), "{stderr}");
    let (code, stdout, stderr) = paddock_on(&db.url(), Some(&target), &["publish"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("analytics copy"), "{stdout}");

    // The ledger: a succeeded publish run, its per-table counts (rows copied, as unchanged)
    // equal to the publication's, which paddock_state holds with its size and checksums.
    let publication = paddock::publish::last_publication(&db.store)
        .await
        .unwrap()
        .expect("recorded");
    check_copy(&target, &publication).await;
    let run_id = publication.run_id.expect("published by a run");
    let status = db
        .scalar_text(&format!(
            "SELECT status FROM paddock_runs WHERE run_id = {run_id} AND job = 'publish'"
        ))
        .await;
    assert_eq!(status.as_deref(), Some("succeeded"));
    for (table, figures) in &publication.tables {
        let unchanged = db
            .scalar_i64(&format!(
                "SELECT unchanged FROM paddock_run_tables WHERE run_id = {run_id} \
                 AND table_name = '{table}'"
            ))
            .await;
        assert_eq!(unchanged as u64, figures.rows, "{table}");
    }

    // `paddock run publish` is the same job; status shows the copy's path, age and size.
    let (code, stdout, stderr) = paddock_on(&db.url(), Some(&target), &["run", "publish"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let again = paddock::publish::last_publication(&db.store)
        .await
        .unwrap()
        .unwrap();
    assert!(again.run_id > publication.run_id);
    let (code, stdout, stderr) = paddock_on(&db.url(), Some(&target), &["status"]);
    assert_eq!(code, 0, "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("analytics copy:"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains(&target.display().to_string()), "{line}");
    assert!(line.contains("age"), "{line}");
    assert!(line.contains(&format!("{} bytes", again.bytes)), "{line}");
    assert_eq!(listing(out.path()), ["analytics.db"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn on_postgresql_publish_exits_2_pointing_at_the_read_url_and_runs_nothing() {
    let db = TestDb::new(Backend::Postgres).await;
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("analytics.db");
    let (code, _, stderr) = paddock_on(&db.url(), Some(&target), &["publish"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("read_url"), "{stderr}");
    let runs = db
        .scalar_i64("SELECT COUNT(*) FROM paddock_runs WHERE job = 'publish'")
        .await;
    assert_eq!(runs, 0, "refused before the ledger");
    assert!(listing(out.path()).is_empty());
    // A scheduled run on PostgreSQL (a path set by mistake) fails with the same pointer.
    let config = crate::support::jobs::config_from_toml(&format!(
        "[database]\nurl = \"{}\"\n[publish]\npath = \"{}\"\n",
        db.url(),
        target.display()
    ));
    let result =
        paddock::run::run_publish(&db.store, &config, fetchers::store::RunTrigger::Schedule)
            .await
            .unwrap();
    assert_eq!(result.status.name(), "failed");
    assert!(result.error.unwrap_or_default().contains("read_url"));
}

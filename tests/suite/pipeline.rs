//! The whole pipeline on both backends: the HTTP client against the simulator, the grouped
//! fetchers, the extractor and the store. Figures are checked against the simulator's own data
//! and request counters.

use crate::support::jobs::{default_config, run};
use crate::support::sim::{client_for, requests_to, sim_today, simulator};
use crate::support::{Backend, TestDb};
use async_trait::async_trait;
use chrono::NaiveDate;
use fetchers::api::{ApiError, ApiRequest, ApiSource, RawResponse};
use fetchers::jobs::RacesAndRunnersPlan;
use fetchers::store::{ApplyMode, RunStatus, RunTrigger, Store};
use paddock::client::RacingApiClient;
use paddock::client::ResponseHook;
use paddock::run::{self, JobRequest, RunContext};
use paddock::simulator::{Faults, SimData};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The simulator's seed in these tests.
const SEED: u64 = 11;

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

fn plan(from: NaiveDate, to: NaiveDate) -> JobRequest {
    JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(from, to, sim_today()))
}

/// A busy past day (more than 50 races) and a week around it, all before the simulator's today.
fn busy_week(data: &SimData) -> (NaiveDate, NaiveDate, NaiveDate) {
    let busy = data
        .find_busy_day(sim_today() - days(40), sim_today() - days(5), 51)
        .expect("a day with more than 50 races");
    (busy, busy - days(3), busy + days(3))
}

/// One text column of every row `sql` returns.
async fn column(db: &TestDb, sql: &str) -> Vec<String> {
    use paddock::store::AnyStore;
    let result: Result<Vec<Option<String>>, sqlx::Error> = match &db.store {
        AnyStore::Sqlite(s) => sqlx::query_scalar(sql).fetch_all(s.pool_for_tests()).await,
        AnyStore::Postgres(s) => sqlx::query_scalar(sql).fetch_all(s.pool_for_tests()).await,
    };
    result
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|v| v.unwrap_or_else(|| "NULL".into()))
        .collect()
}

async fn foreign_key_violations(db: &TestDb) -> i64 {
    match db.backend() {
        // SQLite reports violations of enforced keys that slipped in (there must be none).
        Backend::Sqlite => column(
            db,
            "SELECT CAST(\"table\" AS TEXT) FROM pragma_foreign_key_check",
        )
        .await
        .len() as i64,
        // PostgreSQL enforces every declared key at write time; check the runners' references.
        Backend::Postgres => {
            db.scalar_i64(
                "SELECT COUNT(*) FROM ra_runners r LEFT JOIN ra_mst_horses h ON h.id = r.horse_id \
                 LEFT JOIN ra_mst_races x ON x.id = r.race_id WHERE h.id IS NULL OR x.id IS NULL",
            )
            .await
        }
    }
}

backend_test!(
    a_week_with_a_busy_day_is_stored_exactly_and_a_second_run_writes_nothing,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        let data = server.data();
        let (busy, from, to) = busy_week(data);
        let races: Vec<_> = from
            .iter_days()
            .take_while(|d| *d <= to)
            .flat_map(|d| data.races_on(d))
            .collect();
        let expected_runners: usize = races.iter().map(|r| r.runners.len()).sum();
        let with_result = races.iter().filter(|r| r.has_result).count() as u64;
        assert!(data.races_on(busy).len() > 50);

        let first = run(&db, &api, plan(from, to)).await;
        assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
        assert_eq!(
            db.count_rows("ra_mst_races").await.unwrap(),
            races.len() as i64
        );
        assert_eq!(
            db.count_rows("ra_runners").await.unwrap(),
            expected_runners as i64
        );
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_mst_races WHERE has_result")
                .await,
            with_result as i64
        );
        assert_eq!(foreign_key_violations(&db).await, 0);
        // The minimum: one racecard page per day (≤ 500 races) and ceil(results / 50) pages.
        assert_eq!(requests_to(&server, "/racecards/pro"), 7);
        assert_eq!(requests_to(&server, "/results"), with_result.div_ceil(50));
        let first_requests = server.stats().total;

        server.reset_stats();
        let second = run(&db, &api, plan(from, to)).await;
        assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.error);
        assert_eq!(
            second.report.counts.written(),
            0,
            "{:?}",
            second.report.counts
        );
        assert!(second.report.counts.table("ra_runners").unchanged as usize >= expected_runners);
        assert_eq!(server.stats().total, first_requests);
    }
);

backend_test!(
    pulled_up_keeps_its_code_non_runners_are_flagged_and_irish_prizes_are_euros,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        let data = server.data();
        let (_, from, to) = busy_week(data);
        let result = run(&db, &api, plan(from, to)).await;
        assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);

        let pulled_up = db
            .scalar_i64(
                "SELECT COUNT(*) FROM ra_runners WHERE position_raw = 'PU' \
                 AND finish_status = 'pulled_up' AND position IS NULL",
            )
            .await;
        assert!(pulled_up > 0);
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_runners WHERE position_raw = 'PU' AND position IS NOT NULL")
                .await,
            0
        );
        let non_runners: usize = from
            .iter_days()
            .take_while(|d| *d <= to)
            .flat_map(|d| data.races_on(d))
            .map(|r| r.non_runner_horse_ids.len())
            .sum();
        assert!(non_runners > 0);
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_runners WHERE is_non_runner")
                .await,
            non_runners as i64
        );
        let irish_prizes = "FROM ra_runners r JOIN ra_mst_races x ON x.id = r.race_id \
                            WHERE x.region_code = 'ire' AND r.prize_amount IS NOT NULL";
        assert!(
            db.scalar_i64(&format!("SELECT COUNT(*) {irish_prizes}"))
                .await
                > 0
        );
        assert_eq!(
            db.scalar_i64(&format!(
                "SELECT COUNT(*) {irish_prizes} AND r.prize_currency <> 'EUR'"
            ))
            .await,
            0
        );
        // Every race start is an instant from off_dt.
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_mst_races WHERE off_dt IS NULL")
                .await,
            0
        );
    }
);

backend_test!(
    results_complete_racecards_and_a_racecard_refetch_keeps_results,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        let day = sim_today() - days(6);
        let cards = JobRequest::RacesAndRunners(RacesAndRunnersPlan {
            racecard_dates: vec![day],
            results: None,
        });
        let results = JobRequest::RacesAndRunners(RacesAndRunnersPlan {
            racecard_dates: vec![],
            results: Some((day, day)),
        });
        let racecard_only =
            "SELECT COUNT(*) FROM ra_runners WHERE spotlight IS NOT NULL AND form IS NOT NULL";
        let dob = "SELECT COUNT(*) FROM ra_mst_horses WHERE dob IS NOT NULL";
        let result_cols = "SELECT COUNT(*) FROM ra_runners WHERE position_raw IS NOT NULL AND finish_status IS NOT NULL";
        let prizes = "SELECT COUNT(*) FROM ra_runners WHERE prize_amount IS NOT NULL";

        assert_eq!(
            run(&db, &api, cards.clone()).await.status,
            RunStatus::Succeeded
        );
        let (with_cards, with_dob) = (db.scalar_i64(racecard_only).await, db.scalar_i64(dob).await);
        assert!(with_cards > 0 && with_dob > 0);
        assert_eq!(db.scalar_i64(result_cols).await, 0);

        assert_eq!(run(&db, &api, results).await.status, RunStatus::Succeeded);
        assert_eq!(
            db.scalar_i64(racecard_only).await,
            with_cards,
            "results erased racecard columns"
        );
        assert_eq!(db.scalar_i64(dob).await, with_dob);
        let (with_results, with_prizes) = (
            db.scalar_i64(result_cols).await,
            db.scalar_i64(prizes).await,
        );
        assert!(with_results > 0 && with_prizes > 0);

        let refetch = run(&db, &api, cards).await;
        assert_eq!(refetch.status, RunStatus::Succeeded);
        assert_eq!(refetch.report.counts.table("ra_runners").written(), 0);
        assert_eq!(
            db.scalar_i64(result_cols).await,
            with_results,
            "a racecard erased results"
        );
        assert_eq!(db.scalar_i64(prizes).await, with_prizes);
    }
);

backend_test!(
    horse_profiles_are_fetched_once_each_and_only_for_horses_that_lack_one,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        let data = server.data();
        // Before 2023-01-23 there are no racecards: these horses are known only from results.
        let day = NaiveDate::from_ymd_opt(2022, 11, 5).unwrap();
        let run_races = run(&db, &api, plan(day, day)).await;
        assert_eq!(
            run_races.status,
            RunStatus::Succeeded,
            "{:?}",
            run_races.error
        );
        assert_eq!(requests_to(&server, "/racecards/pro"), 0);
        let mut horses: Vec<String> = data
            .races_on(day)
            .iter()
            .flat_map(|r| {
                r.runners
                    .iter()
                    .filter(|x| !x.non_runner)
                    .map(|x| x.horse_id.clone())
            })
            .collect();
        horses.sort();
        horses.dedup();
        assert!(!horses.is_empty());

        let entities = run(&db, &api, JobRequest::MasterEntities { weekly: false }).await;
        assert_eq!(
            entities.status,
            RunStatus::Succeeded,
            "{:?}",
            entities.error
        );
        assert_eq!(
            requests_to(&server, "/horses/{id}/pro"),
            horses.len() as u64
        );
        assert_eq!(
            db.scalar_i64("SELECT COUNT(*) FROM ra_mst_horses WHERE profile_fetched_at IS NOT NULL AND dob IS NOT NULL")
                .await,
            horses.len() as i64
        );

        server.reset_stats();
        run(&db, &api, JobRequest::MasterEntities { weekly: false }).await;
        assert_eq!(
            requests_to(&server, "/horses/{id}/pro"),
            0,
            "a profile was fetched twice"
        );
        run(&db, &api, plan(day, day)).await;
        run(&db, &api, JobRequest::MasterEntities { weekly: false }).await;
        assert_eq!(requests_to(&server, "/horses/{id}/pro"), 0);
    }
);

/// Serves the simulator's racecards with one runner broken: no horse id, garbage weight.
struct OneBrokenRunner {
    data: SimData,
}

#[async_trait]
impl ApiSource for OneBrokenRunner {
    async fn fetch(&self, request: &ApiRequest) -> Result<RawResponse, ApiError> {
        let ApiRequest::RacecardsPro {
            date,
            region_codes,
            limit,
            skip,
        } = request
        else {
            panic!("only racecards are requested here");
        };
        let mut body =
            self.data
                .racecards_body(*date, region_codes, *limit as usize, *skip as usize);
        let runner = &mut body["racecards"][0]["runners"][1];
        runner.as_object_mut().unwrap().remove("horse_id");
        runner["lbs"] = "eleven stone".into();
        Ok(RawResponse {
            endpoint: request.endpoint(),
            path_and_query: request.path_and_query(),
            status: 200,
            fetched_at: chrono::Utc::now(),
            body: body.to_string(),
        })
    }
}

backend_test!(
    a_page_with_one_broken_runner_stores_the_rest_and_rejects_that_one,
    |db| async move {
        let day = sim_today() - days(2);
        let data = SimData::new(11, sim_today());
        let expected: usize = data.races_on(day).iter().map(|r| r.runners.len()).sum();
        let api = OneBrokenRunner { data };
        let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan {
            racecard_dates: vec![day],
            results: None,
        });
        let result = run(&db, &api, request).await;
        assert_eq!(result.status, RunStatus::Partial);
        assert_eq!(result.exit_code(), run::EXIT_PARTIAL);
        assert_eq!(result.report.counts.rejected(), 1);
        assert_eq!(
            db.count_rows("ra_runners").await.unwrap(),
            expected as i64 - 1
        );
        assert_eq!(db.count_rows("paddock_rejects").await.unwrap(), 1);
        let reason = db
            .scalar_text("SELECT reason FROM paddock_rejects")
            .await
            .unwrap();
        assert!(reason.contains("horse_id"), "{reason}");
        let payload = db
            .scalar_text("SELECT payload FROM paddock_rejects")
            .await
            .unwrap();
        assert!(payload.contains("eleven stone"), "{payload}");
        assert_eq!(
            db.scalar_i64(&format!(
                "SELECT rows_rejected FROM paddock_runs WHERE run_id = {}",
                result.run_id
            ))
            .await,
            1
        );
    }
);

/// Saves every response body to a directory, as a user's dump would be.
struct SaveBodies {
    dir: PathBuf,
    n: Mutex<u32>,
}

impl ResponseHook for SaveBodies {
    fn on_response(
        &self,
        _request: &ApiRequest,
        status: u16,
        _at: chrono::DateTime<chrono::Utc>,
        body: &str,
    ) {
        if status == 200 {
            let mut n = self.n.lock().unwrap();
            *n += 1;
            std::fs::write(self.dir.join(format!("{:04}.json", *n)), body).unwrap();
        }
    }
}

/// Every row of `table` as one line of text: every declared column (NULL spelt out), without
/// the write timestamps and run ids (the audit columns), in key order.
fn table_content_sql(table: &fetchers::registry::Table) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("COALESCE(CAST(\"{}\" AS TEXT), '<null>')", c.name))
        .collect();
    let key: Vec<String> = table.key.iter().map(|k| format!("\"{k}\"")).collect();
    format!(
        "SELECT {} FROM \"{}\" ORDER BY {}",
        columns.join(" || '|' || "),
        table.name,
        key.join(", ")
    )
}

backend_test!(
    importing_saved_pages_yields_the_same_database_as_fetching_them,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let hook = Arc::new(SaveBodies {
            dir: dir.path().to_path_buf(),
            n: Mutex::new(0),
        });
        let api = client_for(&server).with_hook(hook);
        let day = sim_today() - days(3);
        assert_eq!(
            run(&db, &api, plan(day, day)).await.status,
            RunStatus::Succeeded
        );

        let imported = TestDb::new(db.backend()).await;
        let result =
            paddock::import::import_path(&imported.store, dir.path(), None, &Default::default())
                .await
                .unwrap();
        assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
        // Every ra_* table in full: every row, every column but the audit columns.
        let mut compared = 0;
        for table in fetchers::registry::TABLES
            .iter()
            .filter(|t| t.kind != fetchers::registry::TableKind::Operations)
        {
            let sql = table_content_sql(table);
            let fetched = column(&db, &sql).await;
            let from_import = column(&imported, &sql).await;
            assert_eq!(
                from_import.len(),
                fetched.len(),
                "{}: row counts",
                table.name
            );
            for (a, b) in from_import.iter().zip(&fetched) {
                assert_eq!(a, b, "{}: first differing row", table.name);
            }
            compared += fetched.len();
        }
        assert!(
            column(
                &db,
                &table_content_sql(fetchers::registry::table("ra_runners").unwrap())
            )
            .await
            .len()
                > 100
        );
        assert!(compared > 1000, "{compared} rows compared");
    }
);

backend_test!(
    a_dry_run_fetches_and_extracts_then_rolls_back,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        let day = sim_today() - days(3);
        let result = run::run_job(
            &default_config(),
            &api,
            &db.store,
            &plan(day, day),
            &RunContext::new(RunTrigger::Manual, ApplyMode::DryRun),
        )
        .await
        .unwrap();
        assert_eq!(result.status, RunStatus::Succeeded);
        assert!(result.report.counts.table("ra_runners").inserted > 0);
        assert_eq!(db.count_rows("ra_runners").await.unwrap(), 0);
        assert_eq!(db.count_rows("paddock_runs").await.unwrap(), 1);
    }
);

backend_test!(
    master_reference_stores_regions_courses_and_bookmakers,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        let result = run(&db, &api, JobRequest::MasterReference).await;
        assert_eq!(result.status, RunStatus::Succeeded, "{:?}", result.error);
        assert!(db.count_rows("ra_mst_courses").await.unwrap() > 20);
        assert!(db.count_rows("ra_regions").await.unwrap() >= 2);
        assert_eq!(
            db.count_rows("ra_mst_bookmakers").await.unwrap(),
            default_config().bookmakers.len() as i64
        );
        let again = run(&db, &api, JobRequest::MasterReference).await;
        assert_eq!(again.report.counts.written(), 0);
    }
);

backend_test!(
    the_weekly_pass_links_sires_dams_and_damsires_to_their_horse_rows,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let api = client_for(&server);
        let day = sim_today() - days(2);
        run(&db, &api, plan(day, day)).await;
        let unlinked = db
            .scalar_i64("SELECT COUNT(*) FROM ra_mst_sires WHERE horse_id IS NULL")
            .await;
        assert!(unlinked > 0);
        let weekly = run(&db, &api, JobRequest::MasterEntities { weekly: true }).await;
        assert_eq!(weekly.status, RunStatus::Succeeded, "{:?}", weekly.error);
        // Every sire, dam and damsire of a runner is linked (their own profiles bring in the
        // previous generation, which a later pass links in turn).
        for (table, column) in [
            ("ra_mst_sires", "sire_id"),
            ("ra_mst_dams", "dam_id"),
            ("ra_mst_damsires", "damsire_id"),
        ] {
            let unlinked_of_runners = format!(
                "SELECT COUNT(*) FROM {table} p WHERE p.horse_id IS NULL \
                 AND EXISTS (SELECT 1 FROM ra_runners r WHERE r.{column} = p.id)"
            );
            assert_eq!(db.scalar_i64(&unlinked_of_runners).await, 0, "{table}");
        }
        assert_eq!(
            db.scalar_i64(
                "SELECT COUNT(*) FROM ra_mst_sires s JOIN ra_mst_horses h ON h.id = s.horse_id \
                 WHERE substr(s.id, 5) <> substr(h.id, 5)"
            )
            .await,
            0
        );
    }
);

/// Serves results whose envelope claims more races than it ever delivers.
struct ShortResults {
    data: SimData,
}

#[async_trait]
impl ApiSource for ShortResults {
    async fn fetch(&self, request: &ApiRequest) -> Result<RawResponse, ApiError> {
        let ApiRequest::Results {
            start_date,
            end_date,
            regions,
            limit,
            skip,
        } = request
        else {
            panic!("only results are requested here");
        };
        let mut body = self.data.results_body(
            *start_date,
            *end_date,
            regions,
            *limit as usize,
            *skip as usize,
        );
        let total = body["total"].as_u64().unwrap();
        body["total"] = (total + 10).into();
        if *skip as u64 >= total {
            body["results"] = serde_json::json!([]);
        }
        Ok(RawResponse {
            endpoint: request.endpoint(),
            path_and_query: request.path_and_query(),
            status: 200,
            fetched_at: chrono::Utc::now(),
            body: body.to_string(),
        })
    }
}

backend_test!(
    results_paging_that_ends_short_of_total_fails_the_run_and_keeps_what_arrived,
    |db| async move {
        let day = sim_today() - days(4);
        let data = SimData::new(11, sim_today());
        let delivered = data.races_on(day).iter().filter(|r| r.has_result).count();
        let api = ShortResults { data };
        let request = JobRequest::RacesAndRunners(RacesAndRunnersPlan {
            racecard_dates: vec![],
            results: Some((day, day)),
        });
        let result = run(&db, &api, request).await;
        assert_eq!(result.status, RunStatus::Failed);
        assert_eq!(result.exit_code(), run::EXIT_FAILED);
        let error = result.error.unwrap();
        assert!(
            error.contains(&format!("received {delivered},"))
                && error.contains(&format!("total {}", delivered + 10)),
            "{error}"
        );
        // The pages that did arrive were stored, one transaction each.
        assert_eq!(
            db.count_rows("ra_mst_races").await.unwrap(),
            delivered as i64
        );
        let status = db
            .scalar_text(&format!(
                "SELECT status FROM paddock_runs WHERE run_id = {}",
                result.run_id
            ))
            .await;
        assert_eq!(status.as_deref(), Some("failed"));
    }
);

/// The simulator, except that one horse has no profile (404).
struct OneProfileMissing {
    inner: RacingApiClient,
    missing: String,
}

#[async_trait]
impl ApiSource for OneProfileMissing {
    async fn fetch(&self, request: &ApiRequest) -> Result<RawResponse, ApiError> {
        match request {
            ApiRequest::HorsePro { horse_id } if *horse_id == self.missing => {
                Err(ApiError::NotFound {
                    path: request.path_and_query(),
                })
            }
            _ => self.inner.fetch(request).await,
        }
    }
}

backend_test!(
    a_horse_without_a_profile_is_recorded_as_missing_and_not_asked_for_again,
    |db| async move {
        let server = simulator(SEED, Faults::default()).await;
        let day = NaiveDate::from_ymd_opt(2022, 11, 6).unwrap();
        let missing = server.data().races_on(day)[0].runners[0].horse_id.clone();
        let api = OneProfileMissing {
            inner: client_for(&server),
            missing: missing.clone(),
        };
        run(&db, &api, plan(day, day)).await;

        let first = run(&db, &api, JobRequest::MasterEntities { weekly: false }).await;
        assert_eq!(
            first.status,
            RunStatus::Partial,
            "a 404 is reported, not hidden"
        );
        assert_eq!(first.report.missing.len(), 1);
        assert!(first.error.unwrap().contains(&missing));
        let asked = first.report.requests["/horses/{id}/pro"];

        let second = run(&db, &api, JobRequest::MasterEntities { weekly: false }).await;
        assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.error);
        assert_eq!(
            second.report.total_requests(),
            0,
            "asked again for a missing profile"
        );
        assert!(asked > 1);
    }
);

backend_test!(
    importing_a_captured_error_response_reports_it_and_keeps_the_good_pages,
    |db| async move {
        let day = sim_today() - days(3);
        let data = SimData::new(11, sim_today());
        let dir = tempfile::tempdir().unwrap();
        let page = data.racecards_body(day, &["gb".into(), "ire".into()], 500, 0);
        let capture = serde_json::json!({
            "request": {"method": "GET", "path": "/v1/racecards/pro", "query": {"date": day.to_string()}},
            "status": 200,
            "body": page,
        });
        std::fs::write(dir.path().join("1-cards.json"), capture.to_string()).unwrap();
        let not_found = serde_json::json!({
            "request": {"method": "GET", "path": "/v1/horses/hrs_1/pro", "query": {}},
            "status": 404,
            "body": {"detail": "Not Found"},
        });
        std::fs::write(dir.path().join("2-missing.json"), not_found.to_string()).unwrap();

        let result = paddock::import::import_path(&db.store, dir.path(), None, &Default::default())
            .await
            .unwrap();
        assert_eq!(result.status, RunStatus::Partial, "{:?}", result.error);
        assert!(result.error.unwrap().contains("captured HTTP status 404"));
        assert_eq!(
            db.count_rows("ra_mst_races").await.unwrap(),
            data.races_on(day).len() as i64
        );
    }
);

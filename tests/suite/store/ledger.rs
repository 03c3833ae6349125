//! The store's bookkeeping on both backends: the run ledger, the read queries the fetchers
//! use, the raw archive, per-job status and checkpoints.

use super::*;

// ---- ledger and read queries ----

backend_test!(
    the_run_ledger_records_start_finish_and_request_totals,
    |db| async move {
        let run = new_run(&db).await;
        let open = db.recent_runs(5).await.unwrap();
        assert_eq!(open[0].status, RunStatus::Running);
        assert_eq!(open[0].finished_at, None);
        let mut requests = BTreeMap::new();
        requests.insert("/v1/racecards/pro".to_string(), 3u64);
        requests.insert("/v1/results".to_string(), 4u64);
        db.finish_run(
            run,
            &RunFinish {
                status: RunStatus::Partial,
                requests_by_endpoint: requests,
                error_text: Some("2 records rejected".into()),
            },
        )
        .await
        .unwrap();
        let later = new_run(&db).await;
        let runs = db.recent_runs(5).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].run_id, later);
        let closed = &runs[1];
        assert_eq!(closed.status, RunStatus::Partial);
        assert_eq!(closed.api_requests, 7);
        assert_eq!(closed.trigger, RunTrigger::Manual);
        assert!(closed.finished_at.is_some());
        let finished = closed.finished_at.unwrap();
        assert!(closed.started_at <= finished, "{closed:?}");
        assert!(
            Utc::now() - closed.started_at < chrono::Duration::minutes(5),
            "{closed:?}"
        );
        assert_eq!(closed.error_text.as_deref(), Some("2 records rejected"));
        assert!(db
            .finish_run(
                RunId(9_999),
                &RunFinish {
                    status: RunStatus::Failed,
                    requests_by_endpoint: BTreeMap::new(),
                    error_text: None,
                }
            )
            .await
            .is_err());
    }
);

backend_test!(
    horses_without_profile_data_come_most_recently_raced_first,
    |db| async move {
        let run = new_run(&db).await;
        let profiled = Row::new("ra_mst_horses", Source::HorseProfile)
            .set("id", "hrs_4")
            .set("name", "Delta")
            .set("profile_fetched_at", instant(2024, 5, 2, 9, 0));
        apply(
            &db,
            run,
            &unit(vec![
                course("crs_1"),
                race("rac_old", "crs_1", (2024, 1, 10)),
                race("rac_new", "crs_1", (2024, 5, 1)),
                horse("hrs_1", "Alpha"),
                horse("hrs_2", "Bravo"),
                horse("hrs_3", "Charlie"),
                horse("hrs_4", "Delta"),
                profiled,
                // A racecard brings the profile fields itself.
                horse("hrs_5", "Echo").set("dob", day((2019, 3, 1))),
                card_runner("rac_old", "hrs_1"),
                card_runner("rac_new", "hrs_2"),
                card_runner("rac_old", "hrs_4"),
                card_runner("rac_new", "hrs_5"),
            ]),
        )
        .await;
        let order = db.horses_without_profile(10).await.unwrap();
        // hrs_2 raced last, hrs_1 earlier, hrs_3 never; hrs_4 has its profile and hrs_5
        // was seen on a racecard with its profile fields.
        assert_eq!(order, ["hrs_2", "hrs_1", "hrs_3"]);
        assert_eq!(db.horses_without_profile(1).await.unwrap(), ["hrs_2"]);
    }
);

backend_test!(
    unlinked_pedigree_ids_lists_pedigree_rows_without_their_horse,
    |db| async move {
        let run = new_run(&db).await;
        apply(
            &db,
            run,
            &unit(vec![
                horse("hrs_10", "Galileo"),
                Row::new("ra_mst_sires", Source::Racecard)
                    .set("id", "sir_2")
                    .set("name", "Frankel"),
                Row::new("ra_mst_sires", Source::Racecard)
                    .set("id", "sir_1")
                    .set("name", "Galileo"),
                Row::new("ra_mst_sires", Source::Derived)
                    .set("id", "sir_1")
                    .set("horse_id", "hrs_10"),
            ]),
        )
        .await;
        assert_eq!(
            db.unlinked_pedigree_ids("ra_mst_sires").await.unwrap(),
            ["sir_2"]
        );
        assert!(db.unlinked_pedigree_ids("ra_mst_horses").await.is_err());
    }
);

// ---- the raw archive, per-job status and checkpoints (written once over `SqlStore`) ----

fn response(
    endpoint: &str,
    at: DateTime<Utc>,
    body: &str,
) -> paddock::store::archive::StoredResponse {
    paddock::store::archive::StoredResponse {
        response_id: 0,
        endpoint: endpoint.to_string(),
        query: format!("{endpoint}?at={}", at.timestamp()),
        status: 200,
        fetched_at: at,
        body_bytes: 10 * body.len() as i64,
        body_zstd: body.as_bytes().to_vec(),
    }
}

backend_test!(
    the_raw_archive_reads_back_in_order_filters_by_fetch_time_counts_and_prunes,
    |db| async move {
        use paddock::store::archive;
        let at = |h: u32| Utc.with_ymd_and_hms(2025, 5, 1, h, 0, 0).unwrap();
        let rows = vec![
            response("/results", at(1), "aaaa"),
            response("/racecards/pro", at(2), "bb"),
            response("/results", at(3), "c"),
        ];
        archive::insert(&db, &rows).await.unwrap();
        archive::insert(&db, &[]).await.unwrap();

        let all = archive::read_batch(&db, 0, None, None, 10).await.unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.windows(2).all(|w| w[0].response_id < w[1].response_id));
        for (read, written) in all.iter().zip(&rows) {
            assert_eq!(
                (&read.endpoint, &read.query, read.status, read.fetched_at),
                (&written.endpoint, &written.query, 200, written.fetched_at)
            );
            assert_eq!(
                (read.body_bytes, &read.body_zstd),
                (written.body_bytes, &written.body_zstd)
            );
        }
        // Paging by id and the [from, to) window.
        let after_first = archive::read_batch(&db, all[0].response_id, None, None, 1)
            .await
            .unwrap();
        assert_eq!(after_first.len(), 1);
        assert_eq!(after_first[0].response_id, all[1].response_id);
        let window = archive::read_batch(&db, 0, Some(at(2)), Some(at(3)), 10)
            .await
            .unwrap();
        assert_eq!(window.len(), 1);
        assert_eq!(window[0].endpoint, "/racecards/pro");

        let f = archive::figures(&db).await.unwrap();
        assert_eq!((f.responses, f.body_bytes, f.stored_bytes), (3, 70, 7));
        assert_eq!((f.first, f.last), (Some(at(1)), Some(at(3))));
        assert_eq!(
            f.by_endpoint,
            vec![
                ("/racecards/pro".to_string(), 1),
                ("/results".to_string(), 2)
            ]
        );

        assert_eq!(archive::prune_before(&db, at(3)).await.unwrap(), 2);
        let left = archive::read_batch(&db, 0, None, None, 10).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].fetched_at, at(3));
        let empty = {
            archive::prune_before(&db, at(4)).await.unwrap();
            archive::figures(&db).await.unwrap()
        };
        assert_eq!(
            (empty.responses, empty.body_bytes, empty.first),
            (0, 0, None)
        );
    }
);

backend_test!(
    job_status_reads_the_latest_run_and_last_success_and_checkpoints_read_by_job,
    |db| async move {
        use paddock::store::{checkpoints, job_status};
        job_status::ping(&db).await.unwrap();
        assert_eq!(job_status::latest_run(&db, "results").await.unwrap(), None);
        assert_eq!(
            job_status::last_success(&db, "results").await.unwrap(),
            None
        );

        // A partial run, a failed one, then one still running.
        let mut runs = Vec::new();
        for (trigger, finished) in [
            (
                RunTrigger::Schedule,
                Some((RunStatus::Partial, "1 rejected")),
            ),
            (RunTrigger::Manual, Some((RunStatus::Failed, "boom"))),
            (RunTrigger::Manual, None),
        ] {
            let run = db.start_run("results", trigger, json!({})).await.unwrap();
            if let Some((status, error)) = finished {
                let finish = RunFinish {
                    status,
                    requests_by_endpoint: BTreeMap::new(),
                    error_text: Some(error.to_string()),
                };
                db.finish_run(run, &finish).await.unwrap();
            }
            runs.push(run);
        }
        let (ok, running) = (runs[0], runs[2]);

        let latest = job_status::latest_run(&db, "results")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.run_id, running);
        assert_eq!(
            (latest.trigger.as_str(), latest.status.as_str()),
            ("manual", "running")
        );
        assert_eq!((latest.finished_at, latest.error_text), (None, None));
        // A partial run counts as a success; the failed one does not.
        let partial = db.recent_runs(3).await.unwrap();
        let partial = partial.iter().find(|r| r.run_id == ok).unwrap();
        assert_eq!(
            job_status::last_success(&db, "results").await.unwrap(),
            partial.finished_at
        );
        assert!(partial.finished_at.is_some());

        let unit = |name: &str, job: &str, cursor: Option<&str>, status| UnitOfWork {
            checkpoint: Some(Checkpoint {
                name: name.to_string(),
                job: job.to_string(),
                cursor: cursor.map(str::to_string),
                status,
            }),
            ..UnitOfWork::default()
        };
        for u in [
            unit(
                "b",
                "backfill",
                Some("2025-05-02"),
                CheckpointStatus::Running,
            ),
            unit("a", "backfill", None, CheckpointStatus::Done),
            unit("c", "other", Some("x"), CheckpointStatus::Running),
        ] {
            db.apply(running, &u, ApplyMode::Commit).await.unwrap();
        }
        let stored = checkpoints::for_job(&db, "backfill").await.unwrap();
        let read: Vec<(&str, Option<&str>, &str)> = stored
            .iter()
            .map(|c| (c.name.as_str(), c.cursor.as_deref(), c.status.as_str()))
            .collect();
        assert_eq!(
            read,
            vec![("a", None, "done"), ("b", Some("2025-05-02"), "running")]
        );
        assert!(stored.iter().all(|c| c.job == "backfill"));
    }
);

//! The whole configuration read from text: each section's values, defaults and errors (naming
//! the key and line), and the precedence of flag, environment and file.

use super::*;
use chrono::Utc;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn distance_bands_come_from_the_derive_section_and_must_increase() {
    let c = Config::from_toml("", &env(&[])).unwrap();
    assert_eq!(c.distance_bands.bounds(), &[5, 7, 9, 12, 16]);
    let c = Config::from_toml("[derive]\ndistance_bands = [5, 8, 14]\n", &env(&[])).unwrap();
    assert_eq!(c.distance_bands.labels(), vec!["5-7f", "8-13f", "14f+"]);
    let err = Config::from_toml("[derive]\ndistance_bands = [8, 5]\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("derive.distance_bands"), "{err}");
}

#[test]
fn simulator_faults_come_from_their_section_and_unknown_faults_are_errors() {
    let c = Config::from_toml(
        "[simulator.faults]\nlatency_ms = 25\nrate_limit_every = 10\n",
        &env(&[]),
    )
    .unwrap();
    assert_eq!(c.simulator_faults.latency_ms, 25);
    assert_eq!(c.simulator_faults.rate_limit_every, Some(10));
    let err = Config::from_toml("[simulator.faults]\nlatncy_ms = 25\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("latncy_ms") && err.contains("line 2"), "{err}");
}

#[test]
fn a_misspelt_key_is_an_error_naming_the_key_and_line() {
    let text = "[api]\nregions = [\"gb\"]\nrate_limt_per_second = 2\n";
    let err = Config::from_toml(text, &env(&[])).unwrap_err().to_string();
    assert!(err.contains("rate_limt_per_second"), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn the_rate_limit_margin_defaults_to_two_percent_and_is_bounded() {
    let c = Config::from_toml("", &env(&[])).unwrap();
    assert_eq!(c.api.rate_limit_margin_percent, 2.0);
    let c = Config::from_toml("[api]\nrate_limit_margin_percent = 0\n", &env(&[])).unwrap();
    assert_eq!(c.api.rate_limit_margin_percent, 0.0);
    let err = Config::from_toml("[api]\nrate_limit_margin_percent = 20\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate_limit_margin_percent"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn environment_beats_file_and_flag_beats_environment() {
    let text = "[database]\nurl = \"sqlite://file.db\"\n[api]\nrate_limit_per_second = 1.0\n";
    let c = Config::from_toml(text, &env(&[])).unwrap();
    assert_eq!(c.database_url.expose(), "sqlite://file.db");
    assert_eq!(c.api.rate_limit_per_second, 1.0);
    let e = env(&[
        ("DATABASE_URL", "sqlite://conventional.db"),
        ("PADDOCK_API_RATE_LIMIT", "0.5"),
    ]);
    let c = Config::from_toml(text, &e).unwrap();
    assert_eq!(c.database_url.expose(), "sqlite://conventional.db");
    assert_eq!(c.api.rate_limit_per_second, 0.5);
    let e2 = env(&[
        ("DATABASE_URL", "sqlite://conventional.db"),
        ("PADDOCK_DATABASE_URL", "sqlite://paddock-specific.db"),
    ]);
    let c = Config::from_toml(text, &e2).unwrap();
    assert_eq!(c.database_url.expose(), "sqlite://paddock-specific.db");
    let c = Config::merge(
        None,
        parse_file(text).unwrap(),
        text,
        &Overrides {
            config_path: None,
            database_url: Some("sqlite://flag.db".into()),
            application_name: None,
        },
        &e2,
    )
    .unwrap();
    assert_eq!(c.database_url.expose(), "sqlite://flag.db");
}

#[test]
fn secrets_never_appear_in_debug_or_describe() {
    let e = env(&[
        ("RACING_API_USERNAME", "someone"),
        ("RACING_API_PASSWORD", "hunter2-secret"),
        (
            "DATABASE_URL",
            "postgres://paddock:pg-secret-pw@db.example:5432/paddock",
        ),
    ]);
    let c = Config::from_toml("", &e).unwrap();
    let shown = format!("{c:?}\n{}", c.describe(Utc::now()));
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(!shown.contains("pg-secret-pw"), "{shown}");
    assert!(shown.contains("postgres://paddock:***@db.example:5432/paddock"));
    assert_eq!(c.api.password.as_ref().unwrap().expose(), "hunter2-secret");
}

#[test]
fn a_bad_time_zone_or_cron_names_the_key() {
    let err = Config::from_toml("[schedule]\ntime_zone = \"Mars/Olympus\"\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("schedule.time_zone"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    let err = Config::from_toml(
        "[jobs.races_and_runners]\ncron = \"61 * * * *\"\n",
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("jobs.races_and_runners.cron"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn next_fire_times_follow_the_time_zone_across_dst() {
    // 2026-03-29: the UK clocks go forward at 01:00 GMT. A 06:00 London job fires at 06:00
    // BST, i.e. 05:00 UTC, the day after firing at 06:00 UTC.
    let c = Config::from_toml("", &env(&[])).unwrap();
    let job = c.job(JobKind::RacesAndRunners);
    let start = chrono::TimeZone::with_ymd_and_hms(&c.time_zone, 2026, 3, 28, 0, 0, 0).unwrap();
    let times = job.next_fire_times(start, 4);
    let utc: Vec<String> = times
        .iter()
        .map(|t| t.with_timezone(&Utc).format("%m-%d %H:%M").to_string())
        .collect();
    assert_eq!(utc[0], "03-28 06:00");
    assert_eq!(utc[3], "03-29 05:00");
}

#[test]
fn a_job_has_several_schedules_each_with_its_window_and_describe_lists_each() {
    let text = "[jobs.races_and_runners]\ncron = \"0 6 * * *\"\n\
        [[jobs.races_and_runners.schedules]]\ncron = \"*/30 10-20 * * *\"\n\
        racecard_days_ahead = 0\nresult_days_back = 0\n";
    let c = Config::from_toml(text, &env(&[])).unwrap();
    let job = c.job(JobKind::RacesAndRunners);
    assert_eq!(job.schedules.len(), 2);
    assert_eq!(job.schedules[0].window, Window::default());
    assert_eq!(job.schedules[1].window.racecard_days_ahead, Some(0));
    let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 1, 9, 0, 0).unwrap();
    let shown = c.describe(now);
    assert!(
        shown.contains("cron \"*/30 10-20 * * *\" racecards today..+0d"),
        "{shown}"
    );
    // Three fire times per schedule: every job's main schedule plus the extra one.
    assert_eq!(
        shown.matches("next:").count(),
        (JobKind::ALL.len() + 1) * 3,
        "{shown}"
    );
    // `now` is 10:00 BST, itself a fire time; the next ones, strictly after, merge both
    // schedules: 10:30 BST (09:30 UTC) first.
    let merged = job.next_fire_times(now.with_timezone(&c.time_zone), 2);
    assert_eq!(merged[0].to_utc().to_rfc3339(), "2026-06-01T09:30:00+00:00");
}

#[test]
fn derive_full_runs_weekly_by_default_and_the_audit_job_is_off_until_enabled() {
    let c = Config::from_toml("", &env(&[])).unwrap();
    assert_eq!(c.jobs.len(), JobKind::ALL.len());
    let derive = c.job(JobKind::DeriveFull);
    assert!(derive.enabled);
    assert_eq!(JobKind::DeriveFull.name(), crate::derive::FULL_REBUILD_JOB);
    assert_eq!(derive.schedules.len(), 1);
    assert_eq!(derive.schedules[0].cron, "0 4 * * SUN");
    // 2026-06-03 is a Wednesday; the next run is Sunday 04:00 London (03:00 UTC, BST).
    let wednesday = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 3, 12, 0, 0).unwrap();
    let next = derive.next_fire_times(wednesday.with_timezone(&c.time_zone), 1);
    assert_eq!(next[0].to_utc().to_rfc3339(), "2026-06-07T03:00:00+00:00");
    let audit = c.job(JobKind::Audit);
    assert!(!audit.enabled);
    assert_eq!(audit.schedules[0].cron, "0 5 * * *");
    assert!(!JobKind::DeriveFull.uses_api() && !JobKind::Audit.uses_api());
    assert!(JobKind::ALL
        .iter()
        .filter(|k| !matches!(
            k,
            JobKind::DeriveFull | JobKind::Audit | JobKind::Publish | JobKind::Retention
        ))
        .all(|k| k.uses_api() && k.enabled_by_default()));
    let shown = c.describe(wednesday);
    assert!(shown.contains("derive_full"), "{shown}");
    assert!(
        shown
            .lines()
            .any(|l| l.contains("audit") && l.contains("disabled")),
        "{shown}"
    );
}

#[test]
fn the_publish_job_is_on_only_with_a_publish_path_and_runs_after_the_results_runs() {
    let c = Config::from_toml("", &env(&[])).unwrap();
    assert_eq!(c.publish.path, None);
    assert!(!c.job(JobKind::Publish).enabled);
    assert!(!JobKind::Publish.uses_api());
    let c = Config::from_toml("[publish]\npath = \"/srv/a.db\"\n", &env(&[])).unwrap();
    assert_eq!(
        c.publish.path.as_deref(),
        Some(std::path::Path::new("/srv/a.db"))
    );
    let job = c.job(JobKind::Publish);
    assert!(job.enabled);
    // Half an hour after each of races_and_runners' fire times.
    assert_eq!(job.schedules[0].cron, "30 6,12,18 * * *");
    let results = c.job(JobKind::RacesAndRunners).schedules[0].cron.clone();
    assert_eq!(results, "0 6,12,18 * * *");
    // The environment wins over the file; an empty value is no path.
    let c = Config::from_toml(
        "[publish]\npath = \"/srv/a.db\"\n",
        &env(&[("PADDOCK_ANALYTICS_PATH", "/srv/b.db")]),
    )
    .unwrap();
    assert_eq!(
        c.publish.path.as_deref(),
        Some(std::path::Path::new("/srv/b.db"))
    );
    let c = Config::from_toml("", &env(&[("PADDOCK_ANALYTICS_PATH", " ")])).unwrap();
    assert_eq!(c.publish.path, None);
    // The section's `enabled` wins over the path.
    let c = Config::from_toml(
        "[publish]\npath = \"a.db\"\n[jobs.publish]\nenabled = false\n",
        &env(&[]),
    )
    .unwrap();
    assert!(!c.job(JobKind::Publish).enabled);
    let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 1, 9, 0, 0).unwrap();
    assert!(c.describe(now).contains("analytics copy:     a.db\n"));
    let err = Config::from_toml("[publish]\nfile = \"a.db\"\n", &env(&[])).unwrap_err();
    assert!(err.to_string().contains("file"), "{err}");
}

#[test]
fn derive_full_and_audit_take_their_settings_from_their_sections() {
    let c = Config::from_toml(
        "[jobs.derive_full]\nenabled = false\n\
         [jobs.audit]\nenabled = true\ncron = \"30 6 * * MON-FRI\"\n\
         [[jobs.audit.schedules]]\ncron = \"0 22 * * *\"\n",
        &env(&[]),
    )
    .unwrap();
    assert!(!c.job(JobKind::DeriveFull).enabled);
    let audit = c.job(JobKind::Audit);
    assert!(audit.enabled);
    let crons: Vec<&str> = audit.schedules.iter().map(|s| s.cron.as_str()).collect();
    assert_eq!(crons, ["30 6 * * MON-FRI", "0 22 * * *"]);
    let c = Config::from_toml("[jobs.derive_full]\ncron = \"0 3 * * *\"\n", &env(&[])).unwrap();
    assert!(c.job(JobKind::DeriveFull).enabled);
    assert_eq!(c.job(JobKind::DeriveFull).schedules[0].cron, "0 3 * * *");
    // Errors name the job's section; a window is refused (it fetches no dates).
    let err = Config::from_toml("\n[jobs.audit]\ncron = \"0 25 * * *\"\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("jobs.audit.cron") && err.contains("line 3"),
        "{err}"
    );
    let err = Config::from_toml(
        "[[jobs.derive_full.schedules]]\ncron = \"0 3 * * *\"\nresult_days_back = 1\n",
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("jobs.derive_full.schedules[0]"), "{err}");
    let err = Config::from_toml("[jobs.audit]\nenabeld = true\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("enabeld"), "{err}");
}

#[test]
fn a_schedule_window_is_refused_on_a_job_that_fetches_no_dates() {
    let err = Config::from_toml(
        "[[jobs.master_reference.schedules]]\ncron = \"0 3 * * *\"\nracecard_days_ahead = 1\n",
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("jobs.master_reference.schedules[0]"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn the_daemon_listener_must_be_a_loopback_address_and_is_off_by_default() {
    assert_eq!(
        Config::from_toml("", &env(&[])).unwrap().daemon.listen,
        None
    );
    let c = Config::from_toml("[daemon]\nlisten = \"127.0.0.1:9464\"\n", &env(&[])).unwrap();
    assert_eq!(c.daemon.listen, Some("127.0.0.1:9464".parse().unwrap()));
    assert_eq!(c.daemon.grace, std::time::Duration::from_secs(30));
    let err = Config::from_toml("[daemon]\nlisten = \"0.0.0.0:9464\"\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("daemon.listen") && err.contains("loopback"),
        "{err}"
    );
}

#[test]
fn the_audit_section_sets_the_schema_and_refuses_a_name_that_is_not_plain() {
    let c = Config::from_toml(
        "[audit]\nschema = \"racing\"\nresult_delay_minutes = 45\n",
        &env(&[]),
    )
    .unwrap();
    assert_eq!(c.audit.schema, "racing");
    assert_eq!(c.audit.result_delay_minutes, 45);
    assert_eq!(
        Config::from_toml("", &env(&[])).unwrap().audit,
        AuditSettings::default()
    );
    let err = Config::from_toml("\n[audit]\nschema = \"x; DROP\"\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("audit.schema") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn a_section_naming_no_job_is_an_error_naming_the_job_and_line() {
    let err = Config::from_toml(
        "[jobs.races_and_runners]\nenabled = true\n\n[jobs.races_and_runers]\nenabled = false\n",
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("races_and_runers") && err.contains("line 4"),
        "{err}"
    );
    assert!(err.contains("`races_and_runners`"), "{err}");
}

#[test]
fn every_job_kind_has_its_own_name_and_a_default_cron_that_parses() {
    for kind in JobKind::ALL {
        assert_eq!(JobKind::from_name(kind.name()), Some(kind));
        assert!(
            schedule::parse_cron(kind.default_cron()).is_ok(),
            "{kind:?}"
        );
    }
}

#[test]
fn an_empty_schedule_list_without_a_cron_names_the_job_and_line() {
    let err = Config::from_toml("[jobs.master_reference]\n\nschedules = []\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("jobs.master_reference.schedules is empty") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn a_bad_backoff_or_rename_phase_names_the_key_and_line() {
    let err = Config::from_toml(
        "[api]\nbackoff_min_ms = 9000\nbackoff_max_ms = 100\n",
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("api.backoff_min_ms") && err.contains("line 2"),
        "{err}"
    );
    let err = Config::from_toml(
        "[database]\n\nexpected_rename_phase = \"soon\"\n",
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("database.expected_rename_phase") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn database_connection_settings_come_from_the_file_and_the_environment() {
    let text = "[database]\nconnect_retry_secs = 90\nstatement_timeout_secs = 7\nread_url = \"postgres://r:pw@replica/db\"\n";
    let c = Config::from_toml(text, &env(&[])).unwrap();
    assert_eq!(c.database.connect_retry_secs, 90);
    assert_eq!(c.database.statement_timeout_secs, 7);
    assert_eq!(c.database.lock_timeout_secs, 60);
    assert_eq!(c.database.application_name, "paddock");
    assert!(!c.describe(Utc::now()).contains(":pw@"));
    let retry = env(&[("PADDOCK_DATABASE_CONNECT_RETRY_SECS", "5")]);
    assert_eq!(
        Config::from_toml(text, &retry)
            .unwrap()
            .database
            .connect_retry_secs,
        5
    );
    let bad = env(&[("PADDOCK_DATABASE_LOCK_TIMEOUT_SECS", "soon")]);
    assert!(Config::from_toml(text, &bad).is_err());
}

#[test]
fn the_database_schema_comes_from_the_environment_or_the_file_and_the_audit_follows_it() {
    let default = Config::from_toml("", &env(&[])).unwrap();
    assert_eq!(default.database.schema, "public");
    assert_eq!(default.audit.schema, "public");
    let filed = Config::from_toml("[database]\nschema = \"racing\"\n", &env(&[])).unwrap();
    assert_eq!(filed.database.schema, "racing");
    assert_eq!(filed.audit.schema, "racing", "the audit follows the tables");
    let from_env = Config::from_toml(
        "[database]\nschema = \"racing\"\n",
        &env(&[("PADDOCK_DATABASE_SCHEMA", "paddock_data")]),
    )
    .unwrap();
    assert_eq!(from_env.database.schema, "paddock_data");
    let own_audit = Config::from_toml(
        "[database]\nschema = \"racing\"\n[audit]\nschema = \"legacy\"\n",
        &env(&[]),
    )
    .unwrap();
    assert_eq!(own_audit.audit.schema, "legacy");
    for bad in ["Racing", "racing; DROP SCHEMA public", "1racing", ""] {
        let text = format!("\n[database]\nschema = {bad:?}\n");
        let err = Config::from_toml(&text, &env(&[])).unwrap_err().to_string();
        assert!(
            err.contains("schema") && err.contains("line 3"),
            "{bad:?}: {err}"
        );
    }
    let err = Config::from_toml("", &env(&[("PADDOCK_DATABASE_SCHEMA", "a b")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("PADDOCK_DATABASE_SCHEMA"), "{err}");
}

#[test]
fn tls_settings_come_from_the_file_and_the_environment_and_default_to_the_urls() {
    let none = Config::from_toml("", &env(&[])).unwrap();
    assert!(none.database.tls.is_empty(), "unset: the URL decides");
    let text = "[database]\nsslmode = \"Verify-CA\"\nsslrootcert = \"/etc/ca.pem\"\n";
    let c = Config::from_toml(text, &env(&[])).unwrap();
    assert_eq!(c.database.tls.sslmode, Some(SslMode::VerifyCa));
    assert_eq!(
        c.database.tls.sslrootcert.as_deref(),
        Some(std::path::Path::new("/etc/ca.pem"))
    );
    assert!(c.describe(Utc::now()).contains("sslmode verify-ca"));
    let overridden = env(&[
        ("PADDOCK_DATABASE_SSLMODE", "verify-full"),
        ("PADDOCK_DATABASE_SSLCERT", "/c.pem"),
        ("PADDOCK_DATABASE_SSLKEY", "/k.pem"),
        ("PADDOCK_DATABASE_SSLROOTCERT", ""),
    ]);
    let c = Config::from_toml(text, &overridden).unwrap();
    assert_eq!(c.database.tls.sslmode, Some(SslMode::VerifyFull));
    assert_eq!(
        c.database.tls.sslrootcert.as_deref(),
        Some(std::path::Path::new("/etc/ca.pem")),
        "an empty variable leaves the file's value"
    );
    assert!(c.database.tls.sslcert.is_some() && c.database.tls.sslkey.is_some());
}

#[test]
fn an_unknown_sslmode_is_an_error_naming_the_setting() {
    let err = Config::from_toml("[database]\n\nsslmode = \"always\"\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("database.sslmode") && err.contains("line 3") && err.contains("verify-full"),
        "{err}"
    );
    let bad = env(&[("PADDOCK_DATABASE_SSLMODE", "allow")]);
    let err = Config::from_toml("", &bad).unwrap_err().to_string();
    assert!(err.contains("PADDOCK_DATABASE_SSLMODE"), "{err}");
}

#[test]
fn alert_rules_and_the_webhook_come_from_the_alerts_section_and_the_secret_from_the_environment() {
    let text = "[[alerts.rules]]\nname = \"steamer\"\nkind = \"price_shortened\"\npercent = 20\n\
                within_minutes = 45\n\n[[alerts.rules]]\nname = \"nr\"\nkind = \"non_runner\"\n\n\
                [alerts.webhook]\nurl = \"https://hooks.example/paddock\"\n";
    let c = Config::from_toml(
        text,
        &env(&[("PADDOCK_ALERTS_WEBHOOK_SECRET", "whsec-never-shown")]),
    )
    .unwrap();
    assert_eq!(
        c.alerts.rules,
        vec![
            AlertRule {
                name: "steamer".into(),
                kind: AlertKind::PriceShortened,
                percent: Some(20.0),
                within_minutes: 45,
            },
            AlertRule {
                name: "nr".into(),
                kind: AlertKind::NonRunner,
                percent: None,
                within_minutes: 60,
            },
        ]
    );
    assert_eq!(
        c.alerts.webhook_url.as_deref(),
        Some("https://hooks.example/paddock")
    );
    assert_eq!(
        c.alerts.webhook_secret.as_ref().unwrap().expose(),
        "whsec-never-shown"
    );
    let shown = format!("{c:?}\n{}", c.describe(Utc::now()));
    assert!(!shown.contains("whsec-never-shown"), "{shown}");
    // No section: no rules, no webhook.
    let c = Config::from_toml("", &env(&[])).unwrap();
    assert!(c.alerts.rules.is_empty() && c.alerts.webhook_url.is_none());
}

#[test]
fn a_bad_alert_rule_is_an_error_naming_the_rule_and_line() {
    let cases = [
        // An unknown kind, on line 3.
        ("[[alerts.rules]]\nname = \"x\"\nkind = \"price_moved\"\n", "price_moved", "line 3"),
        // An unknown key.
        ("[[alerts.rules]]\nname = \"x\"\nkind = \"abandoned\"\nprecent = 5\n", "precent", "line 4"),
        // A price rule without percent.
        ("[[alerts.rules]]\nname = \"x\"\nkind = \"price_drifted\"\n", "needs percent", "line 3"),
        // A percent on a rule that is not about prices.
        ("[[alerts.rules]]\nname = \"x\"\nkind = \"non_runner\"\npercent = 5\n", "price rules only", "line 4"),
        // Two rules of one name.
        (
            "[[alerts.rules]]\nname = \"x\"\nkind = \"abandoned\"\n[[alerts.rules]]\nname = \"x\"\nkind = \"non_runner\"\n",
            "second rule",
            "line 5",
        ),
        // An unknown key in the webhook section.
        ("[alerts.webhook]\nurl = \"http://h\"\nsecret = \"no\"\n", "secret", "line 3"),
    ];
    for (text, says, line) in cases {
        let err = Config::from_toml(text, &env(&[])).unwrap_err().to_string();
        assert!(err.contains(says) && err.contains(line), "{text}: {err}");
    }
}

#[test]
fn adopt_maps_are_keyed_by_registry_table_and_wrong_names_are_errors_with_their_line() {
    let text = "[adopt.columns.ra_races]\ndate = \"race_date\"\n\n[adopt.columns.ra_runners]\n\
                starting_price = \"sp_raw\"\n\n[adopt.keys]\nra_bookmakers = \"code\"\n";
    let c = Config::from_toml(text, &env(&[])).unwrap();
    let maps = &c.adopt.maps;
    assert_eq!(
        maps.mirrors("ra_mst_races").collect::<Vec<_>>(),
        [("date", "race_date")]
    );
    assert_eq!(
        maps.mirrors("ra_runners").collect::<Vec<_>>(),
        [("starting_price", "sp_raw")]
    );
    assert_eq!(maps.key("ra_mst_bookmakers"), Some("code"));
    assert_eq!(
        c.adopt.origin("ra_mst_races", "date"),
        "configuration, line 2"
    );
    for (text, says) in [
        ("[adopt.columns.ra_nope]\nx = \"race_date\"\n", "line 1"),
        ("[adopt.columns.ra_races]\ndate = \"race_day\"\n", "line 2"),
        (
            "[adopt.columns.ra_races]\ncourse_id = \"race_date\"\n",
            "line 2",
        ),
        (
            "[adopt.columns.ra_runner_statistics]\nx = \"horse_id\"\n",
            "line 1",
        ),
        ("[adopt.keys]\nra_runners = \"id\"\n", "line 2"),
        ("[adopt]\nmaps = 1\n", "maps"),
    ] {
        let err = Config::from_toml(text, &env(&[])).unwrap_err().to_string();
        assert!(err.contains(says), "{text}: {err}");
    }
}

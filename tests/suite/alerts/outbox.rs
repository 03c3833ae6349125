//! The outbox's delivery under failure (issue 22), on both backends: an alert the receiver
//! always rejects does not hold back the others (each other alert delivered in the same pass,
//! the rejected one unsent with its attempts and error, delivered by the next pass); and a
//! `paddock` process killed with SIGKILL after its units committed, while its webhook call
//! hangs on a receiver that accepts the connection and never answers, leaves its alerts stored
//! unsent, and the next `paddock run` delivers each exactly once, signed, and marks it sent.

use super::{config, market, refresh, signed, start_receiver, Receiver, RULES, SECRET};
use crate::support::bin::{paddock, run_paddock};
use crate::support::sim::{sim_today, PASSWORD, USER};
use crate::support::wait::DEADLINE;
use crate::support::TestDb;
use paddock::alerts::delivery::{deliver_unsent, delivery_failures, DeliveryReport};
use paddock::simulator::SimServer;
use paddock::store::alert_outbox::{read_alerts, AlertFilter, StoredAlert};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const UNSENT: AlertFilter = AlertFilter {
    unsent: true,
    since: None,
};

/// Two committed refreshes of the moving market (the second after a scenario step) without a
/// webhook: the alerts they trigger wait in the outbox.
async fn alerts_waiting(db: &TestDb, server: &SimServer) -> Vec<StoredAlert> {
    let api = crate::support::sim::client_for(server);
    let quiet = config(None);
    let store = db.store.clone().with_alert_rules(&quiet.alerts.rules);
    refresh(&quiet, &store, &api).await;
    server.advance_scenario();
    refresh(&quiet, &store, &api).await;
    let waiting = read_alerts(db, UNSENT).await.unwrap();
    assert!(waiting.len() >= 3, "too few alerts to tell: {waiting:?}");
    waiting
}

backend_test!(
    an_alert_the_receiver_always_rejects_does_not_hold_back_the_others_and_the_next_pass_retries_it,
    |db| async move {
        let db = db;
        let server = market().await;
        let waiting = alerts_waiting(&db, &server).await;
        // Not the last one: the alerts after it must go through in the same pass.
        let poison = waiting[1].alert_id;
        let receiver = Receiver {
            rejected: Some(poison),
            ..Receiver::default()
        };
        let url = start_receiver(receiver.clone()).await;
        let failures_before = delivery_failures();
        let report = deliver_unsent(&db.store, &config(Some(&url)).alerts)
            .await
            .unwrap();
        assert_eq!(
            report,
            DeliveryReport {
                sent: waiting.len() - 1,
                failed: 1
            }
        );
        let seen = receiver.seen.lock().unwrap().clone();
        let mut answers: BTreeMap<i64, Vec<u16>> = BTreeMap::new();
        for (headers, body, status) in &seen {
            assert!(signed(headers, body), "a bad signature on {body}");
            let alert: J = serde_json::from_str(body).unwrap();
            let id = alert["alert_id"].as_i64().unwrap();
            answers.entry(id).or_default().push(*status);
        }
        for alert in &waiting {
            let expected = if alert.alert_id == poison {
                vec![500; 4] // the first attempt and three retries
            } else {
                vec![200]
            };
            assert_eq!(
                answers[&alert.alert_id], expected,
                "alert {}",
                alert.alert_id
            );
        }
        // The process-wide counter behind `paddock_alert_delivery_failures_total` (other
        // tests in this process may add to it too).
        assert!(delivery_failures() >= failures_before + 4);
        let after = read_alerts(&db, AlertFilter::default()).await.unwrap();
        for alert in &after {
            if alert.alert_id == poison {
                assert!(!alert.sent && alert.sent_at.is_none(), "{alert:?}");
                assert_eq!(alert.delivery_attempts, 4);
                let error = alert.last_error.as_deref().unwrap_or_default();
                assert!(error.contains("500"), "{error}");
            } else {
                assert!(alert.sent && alert.sent_at.is_some(), "{alert:?}");
                assert_eq!(
                    (alert.delivery_attempts, alert.last_error.as_deref()),
                    (1, None)
                );
            }
        }

        // The next pass, with a receiver that accepts it: only the failed alert is sent.
        let accepting = Receiver::default();
        let url = start_receiver(accepting.clone()).await;
        let report = deliver_unsent(&db.store, &config(Some(&url)).alerts)
            .await
            .unwrap();
        assert_eq!(report, DeliveryReport { sent: 1, failed: 0 });
        let seen = accepting.seen.lock().unwrap().clone();
        let ids: Vec<i64> = seen
            .iter()
            .map(|(_, body, _)| {
                serde_json::from_str::<J>(body).unwrap()["alert_id"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ids, vec![poison]);
        let poisoned = read_alerts(&db, AlertFilter::default()).await.unwrap();
        let poisoned = poisoned.iter().find(|a| a.alert_id == poison).unwrap();
        assert!(
            poisoned.sent && poisoned.last_error.is_none(),
            "{poisoned:?}"
        );
        assert_eq!(poisoned.delivery_attempts, 5);
        assert!(read_alerts(&db, UNSENT).await.unwrap().is_empty());
    }
);

/// A receiver that accepts every connection and never reads or answers; returns its URL and
/// the count of connections accepted.
async fn start_silent_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

/// The arguments and environment of a `paddock run races-and-runners` of the market's two
/// days into `db`, with [`RULES`] and the webhook at `webhook` in a config file in `dir`.
fn run_setup(server: &SimServer, db: &TestDb, dir: &Path, webhook: &str) -> Invocation {
    let config = dir.join("paddock.toml");
    let text = format!("{RULES}\n[alerts.webhook]\nurl = \"{webhook}\"\n");
    std::fs::write(&config, text).unwrap();
    let (from, to) = (sim_today().pred_opt().unwrap(), sim_today());
    let args = [
        "run",
        "races-and-runners",
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
    ]
    .map(str::to_string)
    .to_vec();
    let env = [
        ("PADDOCK_CONFIG", config.display().to_string()),
        ("PADDOCK_DATABASE_URL", db.url()),
        ("PADDOCK_API_BASE_URL", server.base_url.clone()),
        ("PADDOCK_API_RATE_LIMIT", "100".to_string()),
        ("RACING_API_USERNAME", USER.to_string()),
        ("RACING_API_PASSWORD", PASSWORD.to_string()),
        ("PADDOCK_ALERTS_WEBHOOK_SECRET", SECRET.to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .to_vec();
    Invocation { args, env }
}

/// A `paddock` command line: arguments and environment.
struct Invocation {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Invocation {
    /// The command, its output in files in `dir`.
    fn command(&self, dir: &Path) -> Command {
        let mut command = paddock();
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap());
        command
    }

    /// Runs it to its end (at most a minute), off the test's runtime.
    async fn run(self) -> std::process::Output {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
            let env: Vec<(&str, &str)> = (self.env.iter())
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            run_paddock(&args, &env)
        })
        .await
        .unwrap()
    }
}

backend_test!(
    a_paddock_killed_between_commit_and_delivery_delivers_each_alert_once_signed_on_its_next_run,
    |db| async move {
        let db = db;
        let server = market().await;
        let api = crate::support::sim::client_for(&server);
        let quiet = config(None);
        let store = db.store.clone().with_alert_rules(&quiet.alerts.rules);
        refresh(&quiet, &store, &api).await;
        server.advance_scenario();

        // The child's units commit their alerts, then its delivery hangs on a receiver that
        // never answers (10 s per attempt): it is killed while waiting.
        let (silent, accepted) = start_silent_receiver().await;
        let dir = tempfile::tempdir().unwrap();
        let mut child = run_setup(&server, &db, dir.path(), &silent)
            .command(dir.path())
            .spawn()
            .unwrap();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while accepted.load(Ordering::SeqCst) == 0 {
            let stderr = || std::fs::read_to_string(dir.path().join("stderr")).unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                panic!("paddock ended ({status}) before delivering:\n{}", stderr());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no delivery:\n{}",
                stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let unsent = read_alerts(&db, UNSENT).await.unwrap();
        assert!(
            !unsent.is_empty(),
            "the alerts were committed before the delivery"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let stored = read_alerts(&db, AlertFilter::default()).await.unwrap();
        assert_eq!(stored, unsent, "the kill changed nothing stored");
        assert!(stored
            .iter()
            .all(|a| !a.sent && a.delivery_attempts == 0 && a.last_error.is_none()));

        // The next run, with a receiver that answers: each alert once, signed, marked sent.
        let receiver = Receiver::default();
        let url = start_receiver(receiver.clone()).await;
        let next = tempfile::tempdir().unwrap();
        let run = run_setup(&server, &db, next.path(), &url).run().await;
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let seen = receiver.seen.lock().unwrap().clone();
        let mut delivered: BTreeMap<i64, usize> = BTreeMap::new();
        for (headers, body, status) in &seen {
            assert_eq!(*status, 200);
            assert!(signed(headers, body), "a bad signature on {body}");
            let id = serde_json::from_str::<J>(body).unwrap()["alert_id"]
                .as_i64()
                .unwrap();
            *delivered.entry(id).or_default() += 1;
        }
        let after = read_alerts(&db, AlertFilter::default()).await.unwrap();
        let ids: Vec<i64> = after.iter().map(|a| a.alert_id).collect();
        assert_eq!(ids, unsent.iter().map(|a| a.alert_id).collect::<Vec<_>>());
        assert_eq!(
            delivered,
            ids.iter().map(|id| (*id, 1)).collect::<BTreeMap<_, _>>(),
            "each stored alert delivered exactly once"
        );
        assert!(
            after.iter().all(|a| a.sent && a.sent_at.is_some()),
            "{after:?}"
        );
    }
);

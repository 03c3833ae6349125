//! Waiting in tests: poll until a condition holds, with a generous deadline that only turns a
//! hang into a failure (nothing asserts on elapsed time).

use std::future::Future;
use std::time::Duration;

/// How long a wait may take before it fails; never reached when things work.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// How often [`wait_until`] asks again.
const POLL: Duration = Duration::from_millis(20);

/// Polls until `check` returns `Some`, or fails after [`DEADLINE`] with `what` and `log`.
pub async fn wait_until<T, F, Fut>(what: &str, log: impl Fn() -> String, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}; log:\n{}",
            log()
        );
        tokio::time::sleep(POLL).await;
    }
}

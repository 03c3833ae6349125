//! The process-wide request limiter: one request per period (500 ms at the API's 2 requests/s),
//! never a burst, shared by every job and backfill, and pausable by a `429 Retry-After` so that
//! every request of the process waits, not only the one that was refused.
//!
//! The period carries a small safety margin ([`DEFAULT_MARGIN`], 2 %: 510 ms at 2 requests/s;
//! `[api] rate_limit_margin_percent`). Grants are spaced exactly, but the time from a grant to
//! the request reaching the server varies by a few milliseconds (task scheduling, connection
//! set-up on a loaded machine); without a margin a request delayed after its grant followed by
//! one that is not arrives closer than the limit allows. The margin absorbs that much jitter
//! and costs 2 % of the rate (0.98 of the limit achieved).
//!
//! Built on tokio time rather than `governor`: the pause is a tokio [`Instant`], and one clock
//! for both the pause and the spacing keeps them consistent; waiters queue on a fair
//! (FIFO) tokio mutex, so no job starves behind a busy backfill; and the whole limiter follows
//! tokio's clock, so it also works under a paused test clock.
//!
//! The rate can be changed while the process runs ([`SharedLimiter::set_rate`], used by the
//! daemon's reload); callers already queued keep their order. The limiter also counts the time
//! callers spent waiting and the pauses ordered by 429s, for the daemon's metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::{sleep_until, Instant};

/// The default safety margin added to the period, as a fraction of it (2 %), and the largest
/// accepted (5 %, which still achieves more than 0.95 of the limit): the configuration's.
pub use crate::config::{
    DEFAULT_RATE_LIMIT_MARGIN as DEFAULT_MARGIN, MAX_RATE_LIMIT_MARGIN as MAX_MARGIN,
};

/// One per process: construct it once and hand the `Arc` to every client.
#[derive(Debug)]
pub struct SharedLimiter {
    /// The spacing between two requests, margin included, in nanoseconds (changeable: see
    /// `set_rate` and `set_margin`).
    period_nanos: AtomicU64,
    /// The rate limit and the margin (a fraction of the period) in force, from which the
    /// period is computed; changed together under this lock.
    settings: Mutex<(f64, f64)>,
    /// Total time callers of `acquire` have waited, in nanoseconds.
    waited_nanos: AtomicU64,
    /// How many pauses (`429 Retry-After`) have been ordered.
    pauses: AtomicU64,
    /// When the last request was let go; `None` before the first. The next may go one period
    /// later (the period in force then, so a rate change applies to the very next request).
    /// The (fair) async lock is held while a caller waits for its slot, so callers go in order.
    last_grant: tokio::sync::Mutex<Option<Instant>>,
    /// Set by [`SharedLimiter::pause_until`]; read without the slot lock so a pause takes
    /// effect immediately, even for the caller that is already waiting for its slot.
    paused_until: Mutex<Option<Instant>>,
}

impl SharedLimiter {
    /// A limiter allowing at most `requests_per_second`, spaced evenly with the
    /// [`DEFAULT_MARGIN`]: 2.0 means one request every 510 ms, never two together.
    ///
    /// # Panics
    ///
    /// If `requests_per_second` is not a positive finite number (configuration is validated
    /// before this point; see `RacingApiClient::new`).
    pub fn new(requests_per_second: f64) -> Arc<Self> {
        Self::with_margin(requests_per_second, DEFAULT_MARGIN)
    }

    /// A limiter allowing at most `requests_per_second`, each period lengthened by `margin`
    /// (a fraction: 0.02 is 2 %; 0 spaces requests exactly at the limit).
    ///
    /// # Panics
    ///
    /// If `requests_per_second` is not a positive finite number, or `margin` is not within
    /// `0..=MAX_MARGIN`.
    pub fn with_margin(requests_per_second: f64, margin: f64) -> Arc<Self> {
        Arc::new(Self {
            period_nanos: AtomicU64::new(period_nanos(requests_per_second, margin)),
            settings: Mutex::new((requests_per_second, margin)),
            waited_nanos: AtomicU64::new(0),
            pauses: AtomicU64::new(0),
            last_grant: tokio::sync::Mutex::new(None),
            paused_until: Mutex::new(None),
        })
    }

    /// The minimum spacing between two requests (the limit's period plus the margin).
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.period_nanos.load(Ordering::Relaxed))
    }

    /// The safety margin in force, as a fraction of the limit's period.
    pub fn margin(&self) -> f64 {
        self.settings().1
    }

    /// Changes the rate from the next grant on (callers already queued keep their order).
    ///
    /// # Panics
    ///
    /// If `requests_per_second` is not a positive finite number.
    pub fn set_rate(&self, requests_per_second: f64) {
        self.change(|settings| settings.0 = requests_per_second);
    }

    /// Changes the safety margin (a fraction of the period) from the next grant on.
    ///
    /// # Panics
    ///
    /// If `margin` is not within `0..=MAX_MARGIN`.
    pub fn set_margin(&self, margin: f64) {
        self.change(|settings| settings.1 = margin);
    }

    fn settings(&self) -> std::sync::MutexGuard<'_, (f64, f64)> {
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `edit` to (rate, margin) and recomputes the period; a panic (invalid value)
    /// leaves both unchanged.
    fn change(&self, edit: impl FnOnce(&mut (f64, f64))) {
        let mut settings = self.settings();
        let mut next = *settings;
        edit(&mut next);
        let period = period_nanos(next.0, next.1);
        *settings = next;
        self.period_nanos.store(period, Ordering::Relaxed);
    }

    /// The total time callers have spent waiting in [`acquire`](Self::acquire).
    pub fn total_wait(&self) -> Duration {
        Duration::from_nanos(self.waited_nanos.load(Ordering::Relaxed))
    }

    /// How many pauses have been ordered (one per `429 Retry-After` seen).
    pub fn pauses_ordered(&self) -> u64 {
        self.pauses.load(Ordering::Relaxed)
    }

    /// Waits until this caller may send one request. Callers are served in arrival order, at
    /// least [`period`](Self::period) apart, and never while a pause is in force. Dropping the
    /// future before it completes gives the slot up.
    pub async fn acquire(&self) {
        let arrived = Instant::now();
        let mut last_grant = self.last_grant.lock().await;
        loop {
            let now = Instant::now();
            let mut at = last_grant.map_or(now, |last| last + self.period());
            if let Some(paused) = self.paused_until() {
                at = at.max(paused);
            }
            if at > now {
                sleep_until(at).await;
            }
            // A pause may have been ordered while this caller slept: check again.
            let now = Instant::now();
            if self.paused_until().is_some_and(|paused| paused > now) {
                continue;
            }
            // Spacing is measured from the moment the slot is granted, so a late wake-up can
            // only make the gap longer, never shorter.
            *last_grant = Some(now);
            let waited = now.saturating_duration_since(arrived).as_nanos();
            self.waited_nanos
                .fetch_add(u64::try_from(waited).unwrap_or(u64::MAX), Ordering::Relaxed);
            return;
        }
    }

    /// Makes every caller of [`acquire`](Self::acquire) in the process wait until `until`. A
    /// later pause extends an earlier one; an earlier one never shortens it.
    pub fn pause_until(&self, until: Instant) {
        self.pauses.fetch_add(1, Ordering::Relaxed);
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *paused = Some(paused.map_or(until, |current| current.max(until)));
    }

    /// The pause in force (or past), if any.
    fn paused_until(&self) -> Option<Instant> {
        *self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The spacing for a rate with a margin, in nanoseconds.
fn period_nanos(requests_per_second: f64, margin: f64) -> u64 {
    assert!(
        requests_per_second.is_finite() && requests_per_second > 0.0,
        "requests_per_second must be a positive number, got {requests_per_second}"
    );
    assert!(
        (0.0..=MAX_MARGIN).contains(&margin),
        "the rate limit margin must be between 0 and {MAX_MARGIN}, got {margin}"
    );
    let nanos = Duration::from_secs_f64((1.0 + margin) / requests_per_second).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_changed_rate_applies_from_the_next_request() {
        // One request per 100 s: without the change the second request would wait 100 s.
        let limiter = SharedLimiter::new(0.01);
        limiter.acquire().await;
        let first = Instant::now();
        limiter.set_rate(50.0);
        assert_eq!(limiter.period(), Duration::from_micros(20_400));
        tokio::time::timeout(Duration::from_secs(50), limiter.acquire())
            .await
            .expect("the second request waited for the old rate");
        assert!(
            first.elapsed() >= Duration::from_millis(19),
            "closer than the new period"
        );
    }

    #[test]
    fn the_period_is_the_limit_plus_the_margin() {
        let limiter = SharedLimiter::new(2.0);
        assert_eq!(limiter.period(), Duration::from_millis(510));
        limiter.set_margin(0.0);
        assert_eq!(limiter.period(), Duration::from_millis(500));
        limiter.set_margin(0.05);
        limiter.set_rate(4.0);
        assert_eq!(limiter.period(), Duration::from_micros(262_500));
        let invalid =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| limiter.set_margin(0.5)));
        assert!(invalid.is_err());
        assert_eq!(limiter.margin(), 0.05, "a refused margin changes nothing");
    }

    #[tokio::test]
    async fn every_pause_is_counted_for_the_metrics() {
        let limiter = SharedLimiter::new(2.0);
        limiter.pause_until(Instant::now() + Duration::from_millis(1));
        limiter.pause_until(Instant::now() + Duration::from_millis(2));
        assert_eq!(limiter.pauses_ordered(), 2);
    }
}

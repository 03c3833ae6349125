//! Telling systemd how the daemon is doing (`Type=notify`): READY once migrations ran and the
//! database answered, WATCHDOG pings from the scheduler loop, a STATUS line with the next runs,
//! RELOADING and STOPPING. Without `$NOTIFY_SOCKET` (not under systemd) every call does nothing.

use sd_notify::NotifyState;
use std::time::{Duration, Instant};

/// The systemd notifications of one daemon.
#[derive(Debug)]
pub struct Notifier {
    /// Half the watchdog interval systemd asked for, if it asked.
    watchdog_every: Option<Duration>,
    last_ping: Instant,
}

impl Notifier {
    pub fn new() -> Self {
        Notifier {
            watchdog_every: sd_notify::watchdog_enabled().map(|d| d / 2),
            last_ping: Instant::now(),
        }
    }

    /// How long the scheduler loop may sleep and still ping the watchdog in time.
    pub fn max_sleep(&self) -> Option<Duration> {
        self.watchdog_every
    }

    pub fn ready(&self, status: &str) {
        send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    pub fn status(&self, status: &str) {
        send(&[NotifyState::Status(status)]);
    }

    /// A watchdog ping, at most every half interval.
    pub fn watchdog(&mut self) {
        if let Some(every) = self.watchdog_every {
            if self.last_ping.elapsed() >= every {
                send(&[NotifyState::Watchdog]);
                self.last_ping = Instant::now();
            }
        }
    }

    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => send(&[NotifyState::Reloading, now]),
            Err(_) => send(&[NotifyState::Reloading]),
        }
    }

    pub fn stopping(&self) {
        send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "systemd notification not sent");
    }
}

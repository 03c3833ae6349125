//! `[daemon]`: the health and metrics listener (loopback only, off by default), the shutdown
//! grace and the standby instance's poll interval.

use super::defaults::{DEFAULT_GRACE_SECS, DEFAULT_STANDBY_POLL_SECS};
use super::file::{FileDaemon, Locator};
use anyhow::{anyhow, bail, Result};
use std::net::SocketAddr;
use std::time::Duration;

/// The daemon's own settings (`[daemon]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSettings {
    /// Loopback address for `/healthz` and `/metrics`; off when `None` (the default).
    pub listen: Option<SocketAddr>,
    /// How long a shutdown waits for running jobs to stop between pages. Default 30 s.
    pub grace: Duration,
    /// How often a standby instance tries to take a job's lock. Default 5 s.
    pub standby_poll: Duration,
}

/// `[daemon]` from the file.
pub fn daemon_settings(file: &FileDaemon, at: &Locator) -> Result<DaemonSettings> {
    let listen = match &file.listen {
        None => None,
        Some(text) => {
            let addr: SocketAddr = text.get_ref().parse().map_err(|_| {
                anyhow!(
                    "{}: daemon.listen {:?} is not an address and port (e.g. \"127.0.0.1:9464\")",
                    at.at(text.span()),
                    text.get_ref()
                )
            })?;
            if !addr.ip().is_loopback() {
                bail!(
                    "{}: daemon.listen {addr} is not a loopback address: the health and metrics listener is for this machine only (use 127.0.0.1 or [::1])",
                    at.at(text.span())
                );
            }
            Some(addr)
        }
    };
    let standby_poll = match &file.standby_poll_secs {
        Some(s) if *s.get_ref() == 0 => bail!(
            "{}: daemon.standby_poll_secs must be at least 1",
            at.at(s.span())
        ),
        Some(s) => *s.get_ref(),
        None => DEFAULT_STANDBY_POLL_SECS,
    };
    Ok(DaemonSettings {
        listen,
        grace: Duration::from_secs(file.grace_secs.unwrap_or(DEFAULT_GRACE_SECS)),
        standby_poll: Duration::from_secs(standby_poll),
    })
}

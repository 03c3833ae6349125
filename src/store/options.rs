//! Connection settings for both backends, with safe defaults.

use std::time::Duration;

/// How the store connects. `Default` suits the daemon; tests and tools may shrink it.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections in the pool (SQLite in-memory databases always use one).
    pub max_connections: u32,
    /// How long to wait for a free pooled connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL: `statement_timeout`, set on every connection.
    pub statement_timeout: Duration,
    /// PostgreSQL: `lock_timeout`, set on every connection.
    pub lock_timeout: Duration,
    /// SQLite: how long a writer waits for another writer's lock.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 5,
            acquire_timeout: Duration::from_secs(30),
            statement_timeout: Duration::from_secs(300),
            lock_timeout: Duration::from_secs(60),
            busy_timeout: Duration::from_secs(30),
        }
    }
}

/// A duration as a PostgreSQL setting value in milliseconds (`"300000ms"`).
pub fn postgres_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

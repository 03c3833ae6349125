//! Connection settings for both backends, with safe defaults, and built from `[database]`.

use crate::config::TlsSettings;
use std::time::Duration;

/// How the store connects. `Default` suits the daemon; tests and tools may shrink it.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections in the pool (SQLite in-memory databases always use one).
    pub max_connections: u32,
    /// How long to wait for a free pooled connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL: how long the first, direct connection may take (handshake included).
    pub connect_timeout: Duration,
    /// PostgreSQL: `statement_timeout`, set on every connection.
    pub statement_timeout: Duration,
    /// PostgreSQL: `lock_timeout`, set on every connection.
    pub lock_timeout: Duration,
    /// PostgreSQL: `application_name`, set on every connection.
    pub application_name: String,
    /// SQLite: how long a writer waits for another writer's lock.
    pub busy_timeout: Duration,
    /// SQLite: open the file read-only (`mode=ro`), never creating it.
    pub read_only: bool,
    /// PostgreSQL: the schema of Paddock's tables, every session's `search_path`.
    pub schema: String,
    /// PostgreSQL: `[database]`'s TLS settings; each one set overrides the URL's parameter.
    pub tls: TlsSettings,
}

impl Default for StoreOptions {
    fn default() -> Self {
        use crate::config::defaults as d;
        StoreOptions {
            max_connections: 5,
            acquire_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(d::DEFAULT_CONNECT_TIMEOUT_SECS),
            statement_timeout: Duration::from_secs(d::DEFAULT_STATEMENT_TIMEOUT_SECS),
            lock_timeout: Duration::from_secs(d::DEFAULT_LOCK_TIMEOUT_SECS),
            application_name: d::DEFAULT_APPLICATION_NAME.to_string(),
            busy_timeout: Duration::from_secs(30),
            read_only: false,
            schema: d::DEFAULT_SCHEMA.to_string(),
            tls: TlsSettings::default(),
        }
    }
}

impl StoreOptions {
    /// The options `[database]` asks for.
    pub fn from_settings(settings: &crate::config::DatabaseSettings) -> Self {
        StoreOptions {
            connect_timeout: Duration::from_secs(settings.connect_timeout_secs),
            statement_timeout: Duration::from_secs(settings.statement_timeout_secs),
            lock_timeout: Duration::from_secs(settings.lock_timeout_secs),
            application_name: settings.application_name.clone(),
            schema: settings.schema.clone(),
            tls: settings.tls.clone(),
            ..StoreOptions::default()
        }
    }

    /// The same options for a reader: SQLite opened read-only.
    pub fn read_only(self) -> Self {
        StoreOptions {
            read_only: true,
            ..self
        }
    }
}

/// A duration as a PostgreSQL setting value in milliseconds (`"300000ms"`).
pub fn postgres_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

//! The first connection to PostgreSQL, made directly (not through the pool) so that a failure
//! says what happened — connection refused, name not resolved, not a PostgreSQL server,
//! authentication failed, TLS refused or not verified, database missing — within the connect
//! timeout, instead of the pool's "timed out while waiting for an open connection". Messages
//! name the target by its masked URL and never hold the password.
//!
//! [`ConnectError`] says whether trying again may help ([`ConnectFailure::is_retryable`]):
//! the daemon retries those at start ([`retry_connect`]); a refused password or a certificate
//! that does not verify fails at once.

use backon::{BackoffBuilder, ExponentialBuilder};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection as _;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// What went wrong connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Nothing listens at the host and port.
    Refused,
    /// The host name does not resolve.
    NameNotResolved,
    /// No answer within the connect timeout (a firewall, a wrong address, a server too busy).
    NoAnswer,
    /// Something answers, but not as PostgreSQL does.
    NotPostgres,
    /// The server refused the user or the password.
    AuthenticationFailed,
    /// The server does not offer TLS, and `sslmode` asks for it.
    TlsRefused,
    /// The server requires TLS (`pg_hba.conf`: `hostssl` only), and `sslmode` did not use it.
    TlsRequired,
    /// The TLS handshake failed: a certificate that does not verify, a bad client key, …
    TlsFailed,
    /// The database named in the URL does not exist.
    DatabaseMissing,
    /// The server is starting, shutting down or out of connection slots.
    ServerUnavailable,
    /// Anything else.
    Other,
}

impl ConnectFailure {
    /// Whether trying the same connection again later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ConnectFailure::Refused
                | ConnectFailure::NameNotResolved
                | ConnectFailure::NoAnswer
                | ConnectFailure::ServerUnavailable
        )
    }

    /// The cause in words.
    pub fn describe(self) -> &'static str {
        match self {
            ConnectFailure::Refused => "connection refused (nothing listens at that host and port)",
            ConnectFailure::NameNotResolved => "host name not resolved",
            ConnectFailure::NoAnswer => "no answer within the connect timeout",
            ConnectFailure::NotPostgres => "not a PostgreSQL server",
            ConnectFailure::AuthenticationFailed => "authentication failed",
            ConnectFailure::TlsRefused => {
                "TLS refused: the server does not offer TLS and sslmode requires it"
            }
            ConnectFailure::TlsRequired => {
                "the server refused a connection without TLS (pg_hba.conf requires TLS: set \
                 sslmode to require, verify-ca or verify-full)"
            }
            ConnectFailure::TlsFailed => "TLS failed",
            ConnectFailure::DatabaseMissing => "database does not exist",
            ConnectFailure::ServerUnavailable => "server unavailable",
            ConnectFailure::Other => "connection failed",
        }
    }
}

/// A failed connection: the cause, the masked target and the engine's detail.
#[derive(Debug, Clone)]
pub struct ConnectError {
    pub failure: ConnectFailure,
    /// The URL, password masked.
    pub target: String,
    pub detail: String,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot connect to PostgreSQL at {}: {} ({})",
            self.target,
            self.failure.describe(),
            self.detail
        )
    }
}

impl std::error::Error for ConnectError {}

/// Whether `error` (anywhere in its chain) is a connection failure worth retrying.
pub fn is_retryable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<ConnectError>())
        .is_some_and(|e| e.failure.is_retryable())
}

/// One direct connection with `options`, closed again, within `timeout`: `Ok` when the
/// server accepts Paddock, else the classified failure.
pub async fn check_connection(
    options: &PgConnectOptions,
    target: &str,
    timeout: Duration,
) -> Result<(), ConnectError> {
    let connection = connect_direct(options, target, timeout).await?;
    let _ = connection.close().await;
    Ok(())
}

/// One direct connection with `options` (a session of its own, outside any pool, such as
/// the job-lock session), within `timeout`, or the classified failure.
pub async fn connect_direct(
    options: &PgConnectOptions,
    target: &str,
    timeout: Duration,
) -> Result<PgConnection, ConnectError> {
    let failed = |failure, detail: String| ConnectError {
        failure,
        target: target.to_string(),
        detail,
    };
    match tokio::time::timeout(timeout, PgConnection::connect_with(options)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => {
            let (failure, detail) = classify(&error);
            Err(failed(failure, detail))
        }
        Err(_elapsed) => {
            let (failure, detail) = probe(options, timeout).await;
            Err(failed(failure, detail))
        }
    }
}

/// The cause of a failed connection attempt, with the engine's words for it (a TLS failure's
/// led by the reason in plain words).
pub fn classify(error: &sqlx::Error) -> (ConnectFailure, String) {
    let (failure, detail) = classify_error(error);
    match (failure, tls_reason(&detail)) {
        (ConnectFailure::TlsFailed, Some(reason)) => (failure, format!("{reason}: {detail}")),
        _ => (failure, detail),
    }
}

fn classify_error(error: &sqlx::Error) -> (ConnectFailure, String) {
    let detail = error.to_string();
    let failure = match error {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
            std::io::ErrorKind::TimedOut => ConnectFailure::NoAnswer,
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                ConnectFailure::NotPostgres
            }
            // rustls reports a certificate that does not verify as an I/O error.
            _ if is_tls_failure(&detail) => ConnectFailure::TlsFailed,
            _ if is_resolution_failure(&detail) => ConnectFailure::NameNotResolved,
            _ => ConnectFailure::Other,
        },
        sqlx::Error::Tls(_) if detail.contains("does not support TLS") => {
            ConnectFailure::TlsRefused
        }
        sqlx::Error::Tls(_) => ConnectFailure::TlsFailed,
        sqlx::Error::Protocol(_) => ConnectFailure::NotPostgres,
        sqlx::Error::Database(db) => classify_sqlstate(db.code().as_deref(), db.message()),
        _ => ConnectFailure::Other,
    };
    (failure, detail)
}

/// A server's refusal by SQLSTATE: class 28 is authorization (a `pg_hba.conf` line that
/// wants encryption names it), 3D000 a missing database, 53/57P0x a busy or stopping server.
fn classify_sqlstate(code: Option<&str>, message: &str) -> ConnectFailure {
    match code {
        Some(_) if message.contains("no encryption") || message.contains("SSL off") => {
            ConnectFailure::TlsRequired
        }
        Some(c) if c.starts_with("28") => ConnectFailure::AuthenticationFailed,
        Some("3D000") => ConnectFailure::DatabaseMissing,
        Some(c) if c.starts_with("53") || c.starts_with("57P0") || c.starts_with("08") => {
            ConnectFailure::ServerUnavailable
        }
        _ => ConnectFailure::Other,
    }
}

fn is_tls_failure(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    ["certificate", "tls", "handshake", "received fatal alert"]
        .iter()
        .any(|phrase| detail.contains(phrase))
}

/// rustls' certificate errors in words.
fn tls_reason(detail: &str) -> Option<&'static str> {
    const REASONS: [(&str, &str); 8] = [
        (
            "UnknownIssuer",
            "the server's certificate is not signed by a trusted CA (sslrootcert)",
        ),
        (
            "NotValidForName",
            "the server's certificate does not name the host in the URL",
        ),
        ("Expired", "the server's certificate has expired"),
        ("NotValidYet", "the server's certificate is not valid yet"),
        ("Revoked", "the server's certificate is revoked"),
        (
            "BadSignature",
            "the server's certificate has a bad signature",
        ),
        (
            "CertificateRequired",
            "the server requires a client certificate (sslcert, sslkey)",
        ),
        (
            "UnknownCA",
            "the server does not trust the client certificate's CA",
        ),
    ];
    REASONS
        .iter()
        .find(|(rustls_word, _)| detail.contains(rustls_word))
        .map(|(_, reason)| *reason)
}

fn is_resolution_failure(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    [
        "lookup address",
        "name or service not known",
        "no such host",
        "name resolution",
    ]
    .iter()
    .any(|phrase| detail.contains(phrase))
}

/// Why a connection did not complete in time: opens a bare TCP connection and sends the
/// 8-byte SSLRequest, to which every PostgreSQL server answers one byte, `S` or `N`.
async fn probe(options: &PgConnectOptions, timeout: Duration) -> (ConnectFailure, String) {
    if options.get_socket().is_some() || options.get_host().starts_with('/') {
        return (
            ConnectFailure::NoAnswer,
            format!(
                "no answer on the Unix socket within {} s",
                timeout.as_secs()
            ),
        );
    }
    let address = format!("{}:{}", options.get_host(), options.get_port());
    let wait = timeout.min(Duration::from_secs(1));
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(wait, tokio::net::TcpStream::connect(&address)).await
    else {
        return (
            ConnectFailure::NoAnswer,
            format!(
                "{address} did not accept a TCP connection within {} s",
                wait.as_secs()
            ),
        );
    };
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let mut reply = [0u8; 1];
    let answered = tokio::time::timeout(wait, async {
        stream.write_all(&SSL_REQUEST).await?;
        stream.read(&mut reply).await
    })
    .await;
    match answered {
        Ok(Ok(1)) if matches!(reply[0], b'S' | b'N') => (
            ConnectFailure::NoAnswer,
            format!(
                "{address} answers as PostgreSQL but the connection did not complete within {} s",
                timeout.as_secs()
            ),
        ),
        Ok(Ok(1)) => (
            ConnectFailure::NotPostgres,
            format!(
                "{address} answered the PostgreSQL handshake with {:?}",
                reply[0] as char
            ),
        ),
        _ => (
            ConnectFailure::NotPostgres,
            format!("{address} accepts connections but does not answer the PostgreSQL handshake"),
        ),
    }
}

/// Calls `connect` until it succeeds, fails with a cause that retrying cannot mend, or
/// `window` has passed, waiting with exponential backoff (0.5 s doubling to 10 s) and logging
/// the cause of each failed attempt.
pub async fn retry_connect<T, F, Fut>(window: Duration, mut connect: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let started = Instant::now();
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(10))
        .without_max_times()
        .build();
    let mut attempt = 1u32;
    loop {
        let error = match connect().await {
            Ok(connected) => return Ok(connected),
            Err(error) => error,
        };
        let delay = delays.next().unwrap_or(Duration::from_secs(10));
        if !is_retryable(&error) || started.elapsed() + delay > window {
            return Err(error);
        }
        tracing::warn!(
            attempt,
            retry_in_ms = delay.as_millis() as u64,
            error = %format!("{error:#}"),
            "cannot connect to the database yet; retrying"
        );
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use crate::store::connection::*;

    #[test]
    fn server_refusals_are_classified_by_sqlstate() {
        let auth = classify_sqlstate(Some("28P01"), "password authentication failed");
        assert_eq!(auth, ConnectFailure::AuthenticationFailed);
        let hba = classify_sqlstate(Some("28000"), "no pg_hba.conf entry … no encryption");
        assert_eq!(hba, ConnectFailure::TlsRequired);
        let missing = classify_sqlstate(Some("3D000"), "database \"x\" does not exist");
        assert_eq!(missing, ConnectFailure::DatabaseMissing);
        assert!(classify_sqlstate(Some("53300"), "too many").is_retryable());
        assert!(!ConnectFailure::AuthenticationFailed.is_retryable());
        assert!(!ConnectFailure::TlsFailed.is_retryable());
    }

    #[test]
    fn a_certificate_that_does_not_verify_is_a_tls_failure() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        );
        let (failure, detail) = classify(&sqlx::Error::Io(io));
        assert_eq!(failure, ConnectFailure::TlsFailed);
        assert!(detail.contains("UnknownIssuer"));
        assert!(detail.contains("not signed by a trusted CA"), "{detail}");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            classify(&sqlx::Error::Io(refused)).0,
            ConnectFailure::Refused
        );
    }

    #[tokio::test]
    async fn a_permanent_failure_is_not_retried() {
        let mut calls = 0;
        let result: anyhow::Result<()> = retry_connect(Duration::from_secs(60), || {
            calls += 1;
            async {
                Err(anyhow::Error::new(ConnectError {
                    failure: ConnectFailure::AuthenticationFailed,
                    target: "postgres://u:***@h/db".into(),
                    detail: "password authentication failed".into(),
                }))
            }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_retryable_failure_is_retried_until_it_passes() {
        let mut calls = 0;
        let result = retry_connect(Duration::from_secs(60), || {
            calls += 1;
            let passes = calls >= 2;
            async move {
                if passes {
                    Ok(7)
                } else {
                    Err(anyhow::Error::new(ConnectError {
                        failure: ConnectFailure::Refused,
                        target: "postgres://h/db".into(),
                        detail: "refused".into(),
                    }))
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls, 2);
    }
}

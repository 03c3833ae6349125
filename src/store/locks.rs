//! One active instance per job: a lock each daemon must hold before it runs a job, so two
//! daemons on one database never run the same job at once and the second waits as a hot
//! standby.
//!
//! - PostgreSQL: a session advisory lock per job, taken on one dedicated connection that lives
//!   as long as the daemon; the server releases it when that session ends (the daemon died or
//!   lost its connection), and the standby's next attempt takes it over. Supabase's transaction
//!   pooler (port 6543) hands a session to another client between transactions, so it is
//!   refused with a clear error.
//! - SQLite: an exclusive OS file lock on `<database file>.<job>.lock` beside the database,
//!   released by the kernel when the process exits. An in-memory database has no file and no
//!   other process can reach it: its locks are always granted.

use anyhow::{bail, Context};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::Mutex;

use super::connection::connect_direct;
use super::database_url::{mask_url, BackendKind};
use super::options::StoreOptions;
use super::postgres::connect_options;

/// Supabase's transaction pooler port.
pub const SUPABASE_TRANSACTION_POOLER_PORT: u16 = 6543;
/// The first key of every Paddock advisory lock ("Padd" in ASCII), so they do not collide with
/// another application's locks on a shared database.
const ADVISORY_LOCK_CLASS: i32 = 0x5061_6464;

/// The job locks of one daemon.
pub struct JobLocks {
    backend: LockBackend,
}

enum LockBackend {
    Postgres {
        /// The URL, password masked (for messages).
        target: String,
        /// The store's connect options (TLS, `application_name`, session timeouts).
        connect: Box<PgConnectOptions>,
        connect_timeout: Duration,
        /// The lock session and the jobs locked in it; `None` before connecting or after the
        /// connection was lost (which released every lock).
        session: Mutex<Option<(PgConnection, BTreeSet<String>)>>,
    },
    Files {
        database_file: PathBuf,
        held: Mutex<BTreeMap<String, File>>,
    },
    InMemory,
}

impl std::fmt::Debug for JobLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            LockBackend::Postgres { target, .. } => {
                write!(f, "JobLocks(postgres advisory, {target})")
            }
            LockBackend::Files { database_file, .. } => {
                write!(f, "JobLocks(files beside {})", database_file.display())
            }
            LockBackend::InMemory => f.write_str("JobLocks(in memory)"),
        }
    }
}

impl JobLocks {
    /// The locks for the database at `database_url`, whose PostgreSQL lock session connects
    /// as the store does with `options` (TLS, `application_name`, timeouts). Refuses a
    /// PostgreSQL URL on port 6543 (Supabase's transaction pooler), which cannot hold a
    /// session lock.
    pub fn for_database(database_url: &str, options: &StoreOptions) -> anyhow::Result<JobLocks> {
        let backend = match BackendKind::of_url(database_url) {
            BackendKind::Postgres => {
                check_not_transaction_pooler(database_url)?;
                LockBackend::Postgres {
                    target: super::postgres::tls::target(database_url, &options.tls),
                    connect: Box::new(connect_options(database_url, options)?),
                    connect_timeout: options.connect_timeout,
                    session: Mutex::new(None),
                }
            }
            BackendKind::Sqlite => match sqlite_file(database_url) {
                Some(database_file) => LockBackend::Files {
                    database_file,
                    held: Mutex::new(BTreeMap::new()),
                },
                None => LockBackend::InMemory,
            },
        };
        Ok(JobLocks { backend })
    }

    /// Takes `job`'s lock if it is free, or confirms this daemon still holds it. `Ok(false)`:
    /// another instance holds it. An error means the lock could not be checked (the database
    /// is unreachable); the job must not run then.
    pub async fn try_hold(&self, job: &str) -> anyhow::Result<bool> {
        match &self.backend {
            LockBackend::Postgres {
                target,
                connect,
                connect_timeout,
                session,
            } => {
                let mut session = session.lock().await;
                if let Some((conn, _)) = session.as_mut() {
                    // A lost session has lost its locks: find out before trusting them.
                    if conn.ping().await.is_err() {
                        tracing::warn!("the job-lock session was lost; reconnecting");
                        *session = None;
                    }
                }
                if session.is_none() {
                    let conn = connect_direct(connect, target, *connect_timeout)
                        .await
                        .context("connecting the job-lock session")?;
                    *session = Some((conn, BTreeSet::new()));
                }
                let Some((conn, held)) = session.as_mut() else {
                    unreachable!("connected above")
                };
                if held.contains(job) {
                    return Ok(true);
                }
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                    .bind(ADVISORY_LOCK_CLASS)
                    .bind(job_key(job))
                    .fetch_one(&mut *conn)
                    .await
                    .with_context(|| format!("taking the advisory lock of job {job}"))?;
                if got {
                    held.insert(job.to_string());
                }
                Ok(got)
            }
            LockBackend::Files {
                database_file,
                held,
            } => {
                let mut held = held.lock().await;
                if held.contains_key(job) {
                    return Ok(true);
                }
                let path = lock_file_path(database_file, job);
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .with_context(|| format!("opening the job lock file {}", path.display()))?;
                match fs2::FileExt::try_lock_exclusive(&file) {
                    Ok(()) => {
                        held.insert(job.to_string(), file);
                        Ok(true)
                    }
                    Err(e) if e.kind() == fs2::lock_contended_error().kind() => Ok(false),
                    Err(e) => Err(e)
                        .with_context(|| format!("locking the job lock file {}", path.display())),
                }
            }
            LockBackend::InMemory => Ok(true),
        }
    }

    /// Whether this daemon holds `job`'s lock, as far as it knows without asking the database.
    pub async fn holds(&self, job: &str) -> bool {
        match &self.backend {
            LockBackend::Postgres { session, .. } => session
                .lock()
                .await
                .as_ref()
                .is_some_and(|(_, held)| held.contains(job)),
            LockBackend::Files { held, .. } => held.lock().await.contains_key(job),
            LockBackend::InMemory => true,
        }
    }

    /// Gives every lock up (at shutdown; the standby takes over at once).
    pub async fn release_all(&self) {
        match &self.backend {
            LockBackend::Postgres { session, .. } => {
                if let Some((conn, _)) = session.lock().await.take() {
                    let _ = conn.close().await;
                }
            }
            LockBackend::Files { held, .. } => held.lock().await.clear(),
            LockBackend::InMemory => {}
        }
    }
}

/// The error for a URL on Supabase's transaction pooler port.
pub fn check_not_transaction_pooler(database_url: &str) -> anyhow::Result<()> {
    let port = url::Url::parse(database_url).ok().and_then(|u| u.port());
    if port == Some(SUPABASE_TRANSACTION_POOLER_PORT) {
        bail!(
            "the database URL {} uses port {SUPABASE_TRANSACTION_POOLER_PORT}, Supabase's transaction \
             pooler, which cannot hold the session advisory locks that keep two daemons from \
             running the same job: use the direct connection or the session pooler (port 5432)",
            mask_url(database_url)
        );
    }
    Ok(())
}

/// The second advisory-lock key of a job: a stable 32-bit FNV-1a hash of its name.
fn job_key(job: &str) -> i32 {
    let hash = job.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// `<database file>.<job>.lock`.
fn lock_file_path(database_file: &std::path::Path, job: &str) -> PathBuf {
    let mut name = database_file.as_os_str().to_owned();
    name.push(format!(".{job}.lock"));
    PathBuf::from(name)
}

/// The file of a SQLite URL (`sqlite://path`, `sqlite:path`, a plain path), or `None` for an
/// in-memory database.
fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let url = database_url.trim();
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    Some(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transaction_pooler_port_is_refused_with_advice_and_no_password() {
        let err = JobLocks::for_database(
            "postgres://postgres.abc:s3cret@aws-0-eu-west-2.pooler.supabase.com:6543/postgres",
            &StoreOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("transaction"), "{err}");
        assert!(err.contains("session pooler"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        assert!(JobLocks::for_database(
            "postgres://u:p@db.example:5432/paddock",
            &StoreOptions::default()
        )
        .is_ok());
    }

    #[test]
    fn lock_files_sit_beside_the_database_file() {
        assert_eq!(
            lock_file_path(
                &sqlite_file("sqlite://data/paddock.db?mode=rwc").unwrap(),
                "jobx"
            ),
            PathBuf::from("data/paddock.db.jobx.lock")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    #[tokio::test]
    async fn a_second_holder_of_a_sqlite_file_lock_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let first = JobLocks::for_database(&url, &StoreOptions::default()).unwrap();
        let second = JobLocks::for_database(&url, &StoreOptions::default()).unwrap();
        assert!(first.try_hold("races_and_runners").await.unwrap());
        assert!(
            first.try_hold("races_and_runners").await.unwrap(),
            "held again"
        );
        assert!(!second.try_hold("races_and_runners").await.unwrap());
        assert!(
            second.try_hold("master_reference").await.unwrap(),
            "other job free"
        );
        first.release_all().await;
        assert!(second.try_hold("races_and_runners").await.unwrap());
    }
}

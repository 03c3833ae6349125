//! Which database errors are transient (trying the same work again may succeed) and which
//! are permanent, so that the daemon and backfills retry only what can pass.
//!
//! Transient: the connection lost or refused (I/O), the pool timed out, and the engine
//! errors that come from contention, not from the work: on PostgreSQL the SQLSTATE classes
//! `08` (connection exception), `40` (serialization failure `40001`, deadlock `40P01`),
//! `53` (insufficient resources), `55P03` (lock not available), `57014` (statement timeout,
//! query cancelled) and `57P01`–`57P03` (server shutting down or starting); on SQLite
//! `SQLITE_BUSY` and `SQLITE_LOCKED`. Everything else, constraint violations first, is
//! permanent.

/// Whether `error` may pass if the same work is tried again.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                db.code().is_some_and(|code| is_transient_sqlstate(&code))
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                db.code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(is_transient_sqlite_code)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs of contention and connection trouble.
fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("40")
        || code.starts_with("53")
        || matches!(code, "55P03" | "57014" | "57P01" | "57P02" | "57P03")
}

/// SQLite (extended) result codes whose primary code is `SQLITE_BUSY` (5) or
/// `SQLITE_LOCKED` (6).
fn is_transient_sqlite_code(code: i32) -> bool {
    matches!(code & 0xff, 5 | 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contention_codes_are_transient_and_constraint_codes_are_not() {
        for code in ["40001", "40P01", "55P03", "57014", "08006", "53300"] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "23503", "23502", "42601"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
        assert!(is_transient_sqlite_code(5));
        assert!(is_transient_sqlite_code(5 | (1 << 8)));
        assert!(is_transient_sqlite_code(6));
        assert!(!is_transient_sqlite_code(19)); // SQLITE_CONSTRAINT
        assert!(!is_transient_sqlite_code(19 | (3 << 8)));
    }
}

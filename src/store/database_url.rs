//! Database URLs: which backend a URL names, and a masked form that is safe to log.
//!
//! A URL may carry a password, so nothing in the store puts a URL into an error or a log line
//! without passing it through [`mask_url`] first.

/// The database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    /// `postgres://` and `postgresql://` name PostgreSQL; `sqlite:` URLs, `:memory:` and plain
    /// file paths name SQLite.
    pub fn of_url(database_url: &str) -> BackendKind {
        let lower = database_url.trim().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            BackendKind::Postgres
        } else {
            BackendKind::Sqlite
        }
    }

    pub fn is_postgres(self) -> bool {
        self == BackendKind::Postgres
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }

    /// The engine's SQL dialect for the registry-driven generators (DDL, derived tables).
    pub fn schema_dialect(self) -> fetchers::schema::Dialect {
        match self {
            BackendKind::Sqlite => fetchers::schema::Dialect::Sqlite,
            BackendKind::Postgres => fetchers::schema::Dialect::Postgres,
        }
    }
}

/// The URL with any password replaced by `***` (defined with the other secrets, in the
/// configuration below the store).
pub use crate::config::mask_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_follows_the_scheme() {
        assert_eq!(BackendKind::of_url("postgres://x/y"), BackendKind::Postgres);
        assert_eq!(
            BackendKind::of_url("postgresql://x/y"),
            BackendKind::Postgres
        );
        assert_eq!(BackendKind::of_url("sqlite::memory:"), BackendKind::Sqlite);
        assert_eq!(BackendKind::of_url("sqlite://a.db"), BackendKind::Sqlite);
        assert_eq!(BackendKind::of_url("a.db"), BackendKind::Sqlite);
    }
}

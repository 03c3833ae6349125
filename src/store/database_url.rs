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

const MASK: &str = "***";

/// The URL with any password replaced by `***`: the `user:password@` part and any
/// `password=` query or key–value parameter. Text that is not a URL is returned with only
/// `password=` parameters masked.
pub fn mask_url(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut parsed) if parsed.has_host() || parsed.password().is_some() => {
            if parsed.password().is_some() {
                // Cannot fail: the URL has a host, as it has a password.
                let _ = parsed.set_password(Some(MASK));
            }
            let has_password_param = parsed
                .query_pairs()
                .any(|(k, _)| k.eq_ignore_ascii_case("password"));
            if has_password_param {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k.eq_ignore_ascii_case("password") {
                            MASK.to_string()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        _ => mask_password_parameters(database_url),
    }
}

/// Masks `password=value` (up to the next space, `&` or `;`) in free text.
fn mask_password_parameters(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest_start = 0;
    let mut search_from = 0;
    while let Some(found) = lower[search_from..].find("password=") {
        let value_start = search_from + found + "password=".len();
        let value_end = text[value_start..]
            .find([' ', '&', ';'])
            .map_or(text.len(), |i| value_start + i);
        out.push_str(&text[rest_start..value_start]);
        out.push_str(MASK);
        rest_start = value_end;
        search_from = value_end;
    }
    out.push_str(&text[rest_start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_authority_is_masked() {
        assert_eq!(
            mask_url("postgres://paddock:s3cr%40t@db.example:5432/racing"),
            "postgres://paddock:***@db.example:5432/racing"
        );
    }

    #[test]
    fn a_password_query_parameter_is_masked() {
        let masked = mask_url("postgresql://paddock@db/racing?sslmode=require&password=hunter2");
        assert!(!masked.contains("hunter2"), "{masked}");
        assert!(masked.contains("sslmode=require"), "{masked}");
    }

    #[test]
    fn urls_without_a_password_are_unchanged() {
        assert_eq!(
            mask_url("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            mask_url("sqlite://data/paddock.db"),
            "sqlite://data/paddock.db"
        );
        assert_eq!(mask_url("/var/lib/paddock.db"), "/var/lib/paddock.db");
    }

    #[test]
    fn key_value_passwords_are_masked() {
        assert_eq!(
            mask_url("host=db user=p password=hunter2 dbname=r"),
            "host=db user=p password=*** dbname=r"
        );
    }

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

#[cfg(test)]
mod every_password_tests {
    use super::*;

    #[test]
    fn every_password_is_masked_whatever_its_case() {
        let masked = mask_url(
            "postgres://u:pw1@h/db?PASSWORD=pw2&sslmode=require&Password=pw3&password=pw4",
        );
        for secret in ["pw1", "pw2", "pw3", "pw4"] {
            assert!(!masked.contains(secret), "{masked}");
        }
        assert!(masked.contains("sslmode=require"), "{masked}");
        let text = mask_url("host=h PASSWORD=pw1 user=u password=pw2");
        assert_eq!(text, "host=h PASSWORD=*** user=u password=***");
    }
}

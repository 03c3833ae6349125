//! Secrets and where they come from: [`Secret`] and [`DatabaseUrl`], whose `Debug` and
//! `Display` never show a password; [`mask_url`], the one URL-password masking function (the
//! store uses it for every URL it puts into an error or a log line); and [`Env`], the source of
//! environment values, which in production ([`ProcessEnv`]) also reads systemd credentials.
//! (`.env` is loaded into the process environment by `main` before anything starts.)

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself, for the one place that needs it (HTTP auth, the connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A database URL whose password is masked when shown.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(Secret::new(url))
    }
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
    /// The URL with any password replaced by `***`.
    pub fn masked(&self) -> String {
        mask_url(self.0.expose())
    }
    pub fn is_postgres(&self) -> bool {
        let u = self.expose();
        u.starts_with("postgres://") || u.starts_with("postgresql://")
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
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

/// Where environment values come from (the process environment in production, a map in tests).
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment, plus systemd credentials (`$CREDENTIALS_DIRECTORY/<name>`).
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        if let Ok(v) = std::env::var(key) {
            if !v.is_empty() {
                return Some(v);
            }
        }
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
        let file = Path::new(&dir).join(key.to_ascii_lowercase());
        std::fs::read_to_string(file)
            .ok()
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_covers_user_password_urls_and_password_params() {
        assert_eq!(
            mask_url("postgresql://u:p%40ss@h/db?sslmode=require"),
            "postgresql://u:***@h/db?sslmode=require"
        );
        assert_eq!(
            mask_url("postgres://h/db?user=u&password=x&a=b"),
            "postgres://h/db?user=u&password=***&a=b"
        );
        assert_eq!(mask_url("sqlite://paddock.db"), "sqlite://paddock.db");
    }

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

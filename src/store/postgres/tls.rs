//! TLS of a PostgreSQL connection: `[database]`'s `sslmode`, `sslrootcert`, `sslcert` and
//! `sslkey` laid over the URL's libpq parameters of the same names (a setting, when given,
//! wins), and the certificate files checked before any connection, so that a missing file is
//! named as such instead of surfacing as an I/O error mid-handshake.

use crate::config::{SslMode, TlsSettings};
use crate::store::database_url::mask_url;
use anyhow::{bail, Context as _};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use std::path::{Path, PathBuf};

/// `connect` (parsed from `database_url`) with `tls`'s settings applied over the URL's.
pub fn with_tls(
    connect: PgConnectOptions,
    database_url: &str,
    tls: &TlsSettings,
) -> anyhow::Result<PgConnectOptions> {
    let mut connect = connect;
    if let Some(mode) = tls.sslmode {
        connect = connect.ssl_mode(pg_mode(mode));
    }
    let from_url = UrlFiles::of(database_url);
    let files = [
        ("sslrootcert", &tls.sslrootcert, &from_url.sslrootcert),
        ("sslcert", &tls.sslcert, &from_url.sslcert),
        ("sslkey", &tls.sslkey, &from_url.sslkey),
    ];
    for (name, setting, url) in files {
        let origin = if setting.is_some() {
            format!("[database] {name}")
        } else {
            format!("the URL's {name}")
        };
        if let Some(path) = setting.as_ref().or(url.as_ref()) {
            check_readable(path).with_context(|| {
                format!(
                    "TLS to PostgreSQL at {}: {origin} {}",
                    mask_url(database_url),
                    path.display()
                )
            })?;
        }
    }
    let has_cert = tls.sslcert.is_some() || from_url.sslcert.is_some();
    let has_key = tls.sslkey.is_some() || from_url.sslkey.is_some();
    if has_cert != has_key {
        bail!(
            "TLS to PostgreSQL at {}: a client certificate needs both sslcert and sslkey",
            mask_url(database_url)
        );
    }
    if let Some(path) = &tls.sslrootcert {
        connect = connect.ssl_root_cert(path);
    }
    if let Some(path) = &tls.sslcert {
        connect = connect.ssl_client_cert(path);
    }
    if let Some(path) = &tls.sslkey {
        connect = connect.ssl_client_key(path);
    }
    Ok(connect)
}

/// The target of a connection in messages: the URL, password masked, and the TLS settings
/// that override its parameters.
pub fn target(database_url: &str, tls: &TlsSettings) -> String {
    if tls.is_empty() {
        mask_url(database_url)
    } else {
        format!("{} with {}", mask_url(database_url), tls.describe())
    }
}

fn pg_mode(mode: SslMode) -> PgSslMode {
    match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require => PgSslMode::Require,
        SslMode::VerifyCa => PgSslMode::VerifyCa,
        SslMode::VerifyFull => PgSslMode::VerifyFull,
    }
}

fn check_readable(path: &Path) -> anyhow::Result<()> {
    std::fs::File::open(path).context("cannot be read")?;
    Ok(())
}

/// The certificate files a URL names, under libpq's names and sqlx's aliases.
#[derive(Debug, Default, PartialEq)]
struct UrlFiles {
    sslrootcert: Option<PathBuf>,
    sslcert: Option<PathBuf>,
    sslkey: Option<PathBuf>,
}

impl UrlFiles {
    fn of(database_url: &str) -> UrlFiles {
        let mut files = UrlFiles::default();
        let Ok(url) = url::Url::parse(database_url.trim()) else {
            return files;
        };
        for (key, value) in url.query_pairs() {
            let slot = match &*key {
                "sslrootcert" | "ssl-root-cert" | "ssl-ca" => &mut files.sslrootcert,
                "sslcert" | "ssl-cert" => &mut files.sslcert,
                "sslkey" | "ssl-key" => &mut files.sslkey,
                _ => continue,
            };
            *slot = Some(PathBuf::from(&*value));
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr as _;

    #[test]
    fn a_setting_overrides_the_urls_mode_and_an_unset_one_leaves_it() {
        let url = "postgres://u:pw@db.example/paddock?sslmode=require";
        let parsed = || PgConnectOptions::from_str(url).unwrap();
        let kept = with_tls(parsed(), url, &TlsSettings::default()).unwrap();
        assert!(matches!(kept.get_ssl_mode(), PgSslMode::Require));
        let settings = TlsSettings {
            sslmode: Some(SslMode::Disable),
            ..TlsSettings::default()
        };
        let overridden = with_tls(parsed(), url, &settings).unwrap();
        assert!(matches!(overridden.get_ssl_mode(), PgSslMode::Disable));
    }

    #[test]
    fn a_missing_certificate_file_is_named_with_its_origin_and_no_password() {
        let url = "postgres://u:s3cret@db.example/p?sslmode=verify-ca&sslrootcert=/no/such/ca.pem";
        let parsed = PgConnectOptions::from_str(url).unwrap();
        let err = format!(
            "{:#}",
            with_tls(parsed, url, &TlsSettings::default()).unwrap_err()
        );
        assert!(
            err.contains("the URL's sslrootcert /no/such/ca.pem"),
            "{err}"
        );
        assert!(err.contains("cannot be read"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn a_client_certificate_without_its_key_is_refused() {
        let cert = tempfile::NamedTempFile::new().unwrap();
        let url = "postgres://u@db.example/p";
        let settings = TlsSettings {
            sslcert: Some(cert.path().to_path_buf()),
            ..TlsSettings::default()
        };
        let parsed = PgConnectOptions::from_str(url).unwrap();
        let err = with_tls(parsed, url, &settings).unwrap_err().to_string();
        assert!(err.contains("both sslcert and sslkey"), "{err}");
    }

    #[test]
    fn the_urls_files_are_read_under_libpq_names_and_sqlx_aliases() {
        let files = UrlFiles::of("postgres://h/d?sslrootcert=/a&ssl-cert=/b&sslkey=/c&x=1");
        assert_eq!(files.sslrootcert, Some(PathBuf::from("/a")));
        assert_eq!(files.sslcert, Some(PathBuf::from("/b")));
        assert_eq!(files.sslkey, Some(PathBuf::from("/c")));
    }
}

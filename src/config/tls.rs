//! `[database]`'s TLS settings for PostgreSQL, libpq's names: `sslmode`, `sslrootcert`,
//! `sslcert`, `sslkey` (env `PADDOCK_DATABASE_SSLMODE`, `…_SSLROOTCERT`, `…_SSLCERT`,
//! `…_SSLKEY`). Each one that is set overrides the same parameter of the URL
//! (`?sslmode=verify-full&sslrootcert=…`); one that is not leaves the URL's (or libpq's default,
//! `prefer`) in force.

use super::file::{FileDatabase, Locator};
use super::secrets::Env;
use anyhow::{anyhow, Result};
use std::path::PathBuf;

/// libpq's `sslmode`s that Paddock accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, else plain (libpq's default).
    Prefer,
    /// TLS, the certificate not verified.
    Require,
    /// TLS, the certificate verified against `sslrootcert` (and the web PKI roots).
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host of the URL.
    VerifyFull,
}

impl SslMode {
    pub const ALL: [SslMode; 5] = [
        SslMode::Disable,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    /// libpq's name of the mode.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// The mode named `name` (case and surrounding blanks ignored).
    pub fn parse(name: &str) -> Option<SslMode> {
        let name = name.trim().to_ascii_lowercase();
        SslMode::ALL.into_iter().find(|m| m.name() == name)
    }

    fn names() -> String {
        SslMode::ALL.map(SslMode::name).join(", ")
    }
}

/// The TLS settings `[database]` and the environment give; `None`: the URL decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub sslmode: Option<SslMode>,
    /// The CA certificate(s) (PEM) a `verify-ca`/`verify-full` server certificate must chain to.
    pub sslrootcert: Option<PathBuf>,
    /// The client certificate (PEM), for servers that authenticate by certificate.
    pub sslcert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub sslkey: Option<PathBuf>,
}

impl TlsSettings {
    /// Whether nothing is set (the URL alone decides).
    pub fn is_empty(&self) -> bool {
        *self == TlsSettings::default()
    }

    /// The settings that are set, in words (`sslmode verify-ca, sslrootcert /etc/ca.pem`),
    /// marked as overriding the URL's; empty when none is.
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let path =
            |name: &str, p: &Option<PathBuf>| p.as_ref().map(|p| format!("{name} {}", p.display()));
        let set: Vec<String> = [
            self.sslmode.map(|m| format!("sslmode {}", m.name())),
            path("sslrootcert", &self.sslrootcert),
            path("sslcert", &self.sslcert),
            path("sslkey", &self.sslkey),
        ]
        .into_iter()
        .flatten()
        .collect();
        format!("{} (overriding the URL's)", set.join(", "))
    }
}

/// `[database] sslmode/sslrootcert/sslcert/sslkey`, each overridden by its `PADDOCK_DATABASE_…`
/// variable (an empty variable counts as unset). An unknown `sslmode` is an error naming the
/// setting (and the file's line).
pub fn tls_settings(file: &FileDatabase, env: &dyn Env, at: &Locator) -> Result<TlsSettings> {
    let set = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let path = |name: &str, from_file: &Option<String>| {
        set(env.var(name))
            .or_else(|| set(from_file.clone()))
            .map(|v| PathBuf::from(v.trim()))
    };
    let sslmode = match set(env.var("PADDOCK_DATABASE_SSLMODE")) {
        Some(v) => Some(SslMode::parse(&v).ok_or_else(|| {
            anyhow!(
                "PADDOCK_DATABASE_SSLMODE: {v:?} is not one of {}",
                SslMode::names()
            )
        })?),
        None => match &file.sslmode {
            Some(v) => Some(SslMode::parse(v.get_ref()).ok_or_else(|| {
                anyhow!(
                    "{}: database.sslmode {:?} is not one of {}",
                    at.at(v.span()),
                    v.get_ref(),
                    SslMode::names()
                )
            })?),
            None => None,
        },
    };
    Ok(TlsSettings {
        sslmode,
        sslrootcert: path("PADDOCK_DATABASE_SSLROOTCERT", &file.sslrootcert),
        sslcert: path("PADDOCK_DATABASE_SSLCERT", &file.sslcert),
        sslkey: path("PADDOCK_DATABASE_SSLKEY", &file.sslkey),
    })
}

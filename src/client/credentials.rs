//! The account's HTTP Basic credentials, kept out of every log line, `Debug` output and error
//! message: only the username is ever shown, the password prints as `***`.

use std::fmt;

/// Username and password for The Racing API (HTTP Basic auth).
///
/// `Debug` prints `Credentials { username: "…", password: "***" }`; the password is only read
/// by the transport when it builds the `Authorization` header (which reqwest marks sensitive).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// Only the transport reads this.
    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

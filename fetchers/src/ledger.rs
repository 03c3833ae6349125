//! The run ledger's names and keys: run ids, what started a run and how it ended, where a
//! backfill checkpoint stands and the keys of `paddock_state`. Rows and the store trait both
//! speak them (re-exported from [`crate::store`]).

use std::fmt;

/// The id of a row in the run ledger (`paddock_runs.run_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(pub i64);

impl RunId {
    /// The ledger's integer id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<i64> for RunId {
    fn from(id: i64) -> Self {
        RunId(id)
    }
}

/// A ledger text (`run_trigger`, `status`) that names no known value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {text:?} in the run ledger")]
pub struct UnknownName {
    pub what: &'static str,
    pub text: String,
}

/// `name()` and its inverse `parse()` for a ledger enum.
macro_rules! ledger_names {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The text stored in the ledger.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            /// The value a ledger text names.
            pub fn parse(text: &str) -> Result<Self, UnknownName> {
                match text {
                    $($name => Ok($ty::$variant),)+
                    other => Err(UnknownName { what: $what, text: other.to_string() }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.name())
            }
        }
    };
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTrigger {
    Schedule,
    Manual,
    Backfill,
    CatchUp,
}

ledger_names!(RunTrigger, "run trigger", {
    Schedule => "schedule",
    Manual => "manual",
    Backfill => "backfill",
    CatchUp => "catch-up",
});

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    /// Everything fetched and stored.
    Succeeded,
    /// Finished, but some records were rejected or some resources were missing.
    Partial,
    /// Stopped by an error.
    Failed,
    /// Not run: a tick fired while the same job was still running (the daemon's no-overlap rule).
    Skipped,
}

ledger_names!(RunStatus, "run status", {
    Running => "running",
    Succeeded => "succeeded",
    Partial => "partial",
    Failed => "failed",
    Skipped => "skipped",
});

/// Where a backfill checkpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointStatus {
    /// The cursor is where the next unit continues.
    Running,
    /// The backfill reached its end.
    Done,
    /// The range was split in two (each half has its own checkpoint).
    Split,
}

ledger_names!(CheckpointStatus, "checkpoint status", {
    Running => "running",
    Done => "done",
    Split => "split",
});

/// A key of `paddock_state`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKey {
    /// `/horses/{id}/pro` answered 404 for this horse id: not asked again.
    HorseProfileMissing(String),
    /// A key a job names itself (a date cursor, …).
    Named(String),
}

impl StateKey {
    const HORSE_PROFILE_MISSING: &'static str = "horse_profile_404:";

    /// The key's text in `paddock_state`.
    pub fn text(&self) -> String {
        match self {
            StateKey::HorseProfileMissing(horse) => {
                format!("{}{horse}", Self::HORSE_PROFILE_MISSING)
            }
            StateKey::Named(name) => name.clone(),
        }
    }

    /// The key a stored text is.
    pub fn parse(text: &str) -> StateKey {
        match text.strip_prefix(Self::HORSE_PROFILE_MISSING) {
            Some(horse) => StateKey::HorseProfileMissing(horse.to_string()),
            None => StateKey::Named(text.to_string()),
        }
    }
}

impl From<&str> for StateKey {
    fn from(text: &str) -> Self {
        StateKey::parse(text)
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_names_parse_back_to_their_values() {
        for t in [
            RunTrigger::Schedule,
            RunTrigger::Manual,
            RunTrigger::Backfill,
            RunTrigger::CatchUp,
        ] {
            assert_eq!(RunTrigger::parse(t.name()), Ok(t));
        }
        for s in [
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Partial,
            RunStatus::Failed,
            RunStatus::Skipped,
        ] {
            assert_eq!(RunStatus::parse(s.name()), Ok(s));
        }
        assert!(RunStatus::parse("finished").is_err());
        assert_eq!(CheckpointStatus::parse("done"), Ok(CheckpointStatus::Done));
    }

    #[test]
    fn state_keys_round_trip_through_their_text() {
        let missing = StateKey::HorseProfileMissing("hrs_1".into());
        assert_eq!(missing.text(), "horse_profile_404:hrs_1");
        assert_eq!(StateKey::parse(&missing.text()), missing);
        assert_eq!(
            StateKey::from("last_card_date"),
            StateKey::Named("last_card_date".into())
        );
    }
}

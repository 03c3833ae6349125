//! [`JobName`]: the one name of everything recorded as a run in the ledger — the scheduled
//! jobs ([`JobKind`], the configuration's list, the lowest floor), the backfill, the replay
//! and the import. The ledger, checkpoints, logs and summaries all spell a run's job through it.

use crate::config::JobKind;
use std::fmt;

/// What a ledger run is a run of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobName {
    /// A job the daemon schedules (and `paddock run` starts by hand).
    Job(JobKind),
    /// `paddock backfill` (also the job name of its checkpoints).
    Backfill,
    /// `paddock replay`.
    Replay,
    /// `paddock import`.
    Import,
}

impl JobName {
    /// The name in the ledger's `job` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobName::Job(kind) => kind.name(),
            JobName::Backfill => "backfill",
            JobName::Replay => "replay",
            JobName::Import => "import",
        }
    }
}

impl From<JobKind> for JobName {
    fn from(kind: JobKind) -> Self {
        JobName::Job(kind)
    }
}

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::JobKind;
    use crate::run::name::JobName;

    #[test]
    fn a_scheduled_job_is_named_as_its_kind_and_the_others_by_their_command() {
        for kind in JobKind::ALL {
            assert_eq!(JobName::from(kind).as_str(), kind.name());
        }
        let others = [JobName::Backfill, JobName::Replay, JobName::Import].map(JobName::as_str);
        assert_eq!(others, ["backfill", "replay", "import"]);
        assert!(others.iter().all(|name| JobKind::from_name(name).is_none()));
    }
}

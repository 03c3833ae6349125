//! [`RunContext`]: how one run is run — why it started (the ledger's trigger), whether its
//! writes commit or roll back, and the token that stops it between pages (the daemon's
//! shutdown). Passed explicitly to [`super::dispatch::run_any`] and
//! [`super::dispatch::run_job`].

use fetchers::store::{ApplyMode, RunTrigger};
use tokio_util::sync::CancellationToken;

/// The circumstances of one run.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// Why the run started, as the ledger records it.
    pub trigger: RunTrigger,
    /// Commit every page, or roll every write back (`--dry-run`).
    pub mode: ApplyMode,
    /// Once cancelled, a fetch job stops between pages: the page in progress commits or rolls
    /// back whole, and the run is recorded failed. The jobs without API requests (one
    /// transaction, or read-only) run to their end.
    pub cancel: CancellationToken,
}

impl RunContext {
    /// A run that nothing cancels (a command run by hand, a test).
    pub fn new(trigger: RunTrigger, mode: ApplyMode) -> Self {
        RunContext {
            trigger,
            mode,
            cancel: CancellationToken::new(),
        }
    }

    /// This context, stopped between pages once `cancel` is cancelled.
    pub fn cancelled_by(self, cancel: CancellationToken) -> Self {
        RunContext { cancel, ..self }
    }
}

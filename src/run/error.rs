//! [`RunError`]: why a run body stopped. Its text is what the ledger's `error_text` and the
//! summary show for a failed run.

use fetchers::jobs::JobError;
use fetchers::store::StoreError;

/// A run body's failure, by where it happened.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A fetch stopped: the API, a page that could not be read or accounted for, or the store.
    #[error(transparent)]
    Job(#[from] JobError),
    /// The store failed outside a fetch (the derived tables' transaction).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `paddock import`: a file could not be read.
    #[error("{path}: {source}")]
    ReadFile {
        path: String,
        source: std::io::Error,
    },
    /// The backfill could not read its saved checkpoints.
    #[error("reading the checkpoints: {0:#}")]
    Checkpoints(anyhow::Error),
    /// The audit could not run its checks.
    #[error("audit: {0:#}")]
    Audit(anyhow::Error),
    /// The analytics copy could not be published (with its causes).
    #[error("publish: {0:#}")]
    Publish(anyhow::Error),
    /// Retention could not delete (with its causes), or was stopped between two batches.
    #[error("retention: {0:#}")]
    Retention(anyhow::Error),
    /// `paddock replay` could not read, decode or apply an archived response (with its causes).
    #[error("{0:#}")]
    Replay(anyhow::Error),
    /// The run was cancelled (a shutdown) during a step after its fetch; what it committed
    /// stays, and its races stay marked for the next derived update.
    #[error("cancelled during {0}: the next run brings the derived tables up to date")]
    Cancelled(&'static str),
}

#[cfg(test)]
mod tests {
    use crate::run::error::RunError;
    use fetchers::jobs::JobError;

    #[test]
    fn a_fetch_error_reads_as_itself_and_the_others_name_their_step() {
        let job = JobError::Payload {
            path: "/results".into(),
            reason: "not JSON".into(),
        };
        let text = job.to_string();
        assert_eq!(RunError::from(job).to_string(), text);
        let cause = anyhow::anyhow!("connection refused").context("listing");
        assert_eq!(
            RunError::Checkpoints(cause).to_string(),
            "reading the checkpoints: listing: connection refused"
        );
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let read = RunError::ReadFile {
            path: "a.json".into(),
            source: missing,
        };
        assert_eq!(read.to_string(), "a.json: no such file");
    }
}

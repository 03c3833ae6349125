//! Judging how a run ended — `failed` if its body stopped on an error, `partial` if records
//! were rejected, resources missing or the body found problems, `succeeded` otherwise — and
//! the process exit status of each outcome, the one mapping every command uses.

use super::error::RunError;
use fetchers::jobs::JobReport;
use fetchers::store::RunStatus;

/// Exit status of a run that finished with rejected records or missing resources.
pub const EXIT_PARTIAL: i32 = 3;
/// Exit status of a run that failed.
pub const EXIT_FAILED: i32 = 1;

/// The process exit status for a run's outcome.
pub fn exit_code(status: RunStatus) -> i32 {
    match status {
        RunStatus::Succeeded | RunStatus::Running | RunStatus::Skipped => 0,
        RunStatus::Partial => EXIT_PARTIAL,
        RunStatus::Failed => EXIT_FAILED,
    }
}

/// A run's status and error text from how it ended and what it saw. `findings` (problems the
/// body found, e.g. audit violations) make a run that ended well `partial`, named first.
pub fn judge(
    outcome: &Result<(), RunError>,
    report: &JobReport,
    findings: Vec<String>,
) -> (RunStatus, Option<String>) {
    if let Err(e) = outcome {
        return (RunStatus::Failed, Some(e.to_string()));
    }
    let mut problems = findings;
    if report.counts.rejected() > 0 {
        problems.push(format!(
            "{} records rejected (see paddock_rejects)",
            report.counts.rejected()
        ));
    }
    if !report.missing.is_empty() {
        problems.push(format!(
            "{} resources not found: {}",
            report.missing.len(),
            report.missing.join(", ")
        ));
    }
    if problems.is_empty() {
        (RunStatus::Succeeded, None)
    } else {
        (RunStatus::Partial, Some(problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use crate::run::error::RunError;
    use crate::run::verdict::{exit_code, judge, EXIT_FAILED, EXIT_PARTIAL};
    use fetchers::jobs::JobReport;
    use fetchers::store::{RunStatus, StoreError};

    #[test]
    fn an_error_fails_the_run_and_findings_or_missing_resources_make_it_partial() {
        let clean = JobReport::default();
        assert_eq!(judge(&Ok(()), &clean, vec![]), (RunStatus::Succeeded, None));

        let lost = StoreError::Database {
            table: None,
            message: "gone".into(),
        };
        let (status, error) = judge(&Err(RunError::from(lost)), &clean, vec!["x".into()]);
        assert_eq!(status, RunStatus::Failed);
        assert_eq!(error.as_deref(), Some("database error: gone"));

        let mut missing = JobReport::default();
        missing.missing.push("/horses/hrs_1/pro".into());
        let (status, error) = judge(&Ok(()), &missing, vec!["2 audit violations".into()]);
        assert_eq!(status, RunStatus::Partial);
        assert_eq!(
            error.as_deref(),
            Some("2 audit violations; 1 resources not found: /horses/hrs_1/pro")
        );
    }

    #[test]
    fn exit_codes_say_failed_and_partial_apart() {
        assert_eq!(exit_code(RunStatus::Succeeded), 0);
        assert_eq!(exit_code(RunStatus::Skipped), 0);
        assert_eq!(exit_code(RunStatus::Partial), EXIT_PARTIAL);
        assert_eq!(exit_code(RunStatus::Failed), EXIT_FAILED);
    }
}

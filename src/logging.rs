//! Log output for every command: human-readable lines on a terminal, JSON lines under systemd
//! (`$JOURNAL_STREAM` set, so the journal keeps the fields) or with `--log-format json`. The
//! level comes from `$PADDOCK_LOG` (default `info`). Logs go to standard error.

use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// JSON under systemd (`$JOURNAL_STREAM`), human otherwise.
    Auto,
    Human,
    Json,
}

impl LogFormat {
    /// `Auto` resolved against the environment.
    pub fn resolve(self, journal_stream: Option<&str>) -> LogFormat {
        match self {
            LogFormat::Auto if journal_stream.is_some_and(|s| !s.is_empty()) => LogFormat::Json,
            LogFormat::Auto => LogFormat::Human,
            other => other,
        }
    }
}

/// Installs the process's log subscriber.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("PADDOCK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let journal = std::env::var("JOURNAL_STREAM").ok();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format.resolve(journal.as_deref()) {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        _ => builder.init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_means_json_under_the_journal_and_human_elsewhere() {
        assert_eq!(LogFormat::Auto.resolve(Some("8:12345")), LogFormat::Json);
        assert_eq!(LogFormat::Auto.resolve(None), LogFormat::Human);
        assert_eq!(LogFormat::Human.resolve(Some("8:1")), LogFormat::Human);
        assert_eq!(LogFormat::Json.resolve(None), LogFormat::Json);
    }
}

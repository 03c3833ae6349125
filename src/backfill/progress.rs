//! Backfill progress: on a terminal an indicatif bar (pages done of planned, requests, rows
//! written, request rate, ETA); otherwise a log line at a steady interval.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

/// The figures progress shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub pages_done: u64,
    pub pages_planned: u64,
    pub requests: u64,
    pub rows_written: u64,
}

/// How progress is shown.
pub enum Reporter {
    Bar {
        bar: ProgressBar,
        started: Instant,
    },
    Log {
        every: Duration,
        last: Instant,
        started: Instant,
    },
    Silent,
}

impl Reporter {
    /// A bar when stderr is a terminal, else a log line every `log_every`.
    pub fn auto(log_every: Duration) -> Reporter {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} pages  {msg}  ETA {eta}",
                )
                .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            Reporter::Bar {
                bar,
                started: Instant::now(),
            }
        } else {
            let now = Instant::now();
            Reporter::Log {
                every: log_every,
                last: now,
                started: now,
            }
        }
    }

    /// Shows `s`.
    pub fn update(&mut self, s: Snapshot) {
        match self {
            Reporter::Bar { bar, started } => {
                bar.set_length(s.pages_planned.max(s.pages_done));
                bar.set_position(s.pages_done);
                bar.set_message(format!(
                    "{} requests, {} rows, {:.1} req/s",
                    s.requests,
                    s.rows_written,
                    rate(s.requests, started.elapsed())
                ));
            }
            Reporter::Log {
                every,
                last,
                started,
            } => {
                if last.elapsed() >= *every {
                    *last = Instant::now();
                    log_line(s, started.elapsed());
                }
            }
            Reporter::Silent => {}
        }
    }

    /// Final figures; removes the bar.
    pub fn finish(&mut self, s: Snapshot) {
        if let Reporter::Bar { .. } = self {
            self.update(s);
        }
        match self {
            Reporter::Bar { bar, .. } => bar.finish_and_clear(),
            Reporter::Log { started, .. } => log_line(s, started.elapsed()),
            Reporter::Silent => {}
        }
    }
}

fn rate(requests: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        requests as f64 / secs
    } else {
        0.0
    }
}

fn log_line(s: Snapshot, elapsed: Duration) {
    let r = rate(s.requests, elapsed);
    let left = s.pages_planned.saturating_sub(s.pages_done);
    let eta = if r > 0.0 { left as f64 / r } else { 0.0 };
    tracing::info!(
        pages_done = s.pages_done,
        pages_planned = s.pages_planned,
        requests = s.requests,
        rows_written = s.rows_written,
        requests_per_second = format!("{r:.2}"),
        eta_secs = eta.round() as u64,
        "backfill progress"
    );
}

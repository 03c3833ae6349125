//! The `paddock` binary under test, isolated from the developer's environment.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Variables the binary would read from the environment of whoever runs the tests.
const ISOLATED: [&str; 19] = [
    "PADDOCK_CONFIG",
    "PADDOCK_DATABASE_URL",
    "PADDOCK_DATABASE_SCHEMA",
    "PADDOCK_READ_DATABASE_URL",
    "PADDOCK_DATABASE_CONNECT_TIMEOUT_SECS",
    "PADDOCK_DATABASE_CONNECT_RETRY_SECS",
    "PADDOCK_DATABASE_STATEMENT_TIMEOUT_SECS",
    "PADDOCK_DATABASE_LOCK_TIMEOUT_SECS",
    "PADDOCK_DATABASE_SSLMODE",
    "PADDOCK_DATABASE_SSLROOTCERT",
    "PADDOCK_DATABASE_SSLCERT",
    "PADDOCK_DATABASE_SSLKEY",
    "DATABASE_URL",
    "PADDOCK_API_BASE_URL",
    "PADDOCK_API_RATE_LIMIT",
    "RACING_API_USERNAME",
    "RACING_API_PASSWORD",
    "JOURNAL_STREAM",
    "NOTIFY_SOCKET",
];

/// How long [`run_paddock`] lets the binary run.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A command for the `paddock` binary with none of the [`ISOLATED`] variables: the test sets
/// what the run needs.
pub fn paddock() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paddock"));
    for var in ISOLATED {
        command.env_remove(var);
    }
    command
}

/// Runs the binary with `args` and `env` and waits at most a minute (a hang fails the test).
/// Output goes to files: a pipe nobody reads would fill up at trace level.
pub fn run_paddock(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = paddock()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + RUN_LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("paddock {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Output {
        status: child.wait().unwrap(),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

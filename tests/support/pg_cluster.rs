//! A throwaway PostgreSQL cluster per test process, started from the local server binaries
//! (`/usr/lib/postgresql/<highest version>/bin`), listening on a Unix socket only, with
//! durability switched off for speed. As root, `initdb` and `postgres` run as the `postgres`
//! user. The server is spawned from a dedicated thread with `PR_SET_PDEATHSIG`, so it dies
//! with the test process; its directory (`$TMPDIR/paddock-pg-<pid>`) is removed at exit, and
//! directories of dead test processes are removed when the next cluster starts.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

const DIR_PREFIX: &str = "paddock-pg-";
/// The port only names the socket file (`.s.PGSQL.<port>`); nothing listens on TCP.
const PORT: u16 = 5432;
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running throwaway cluster.
pub struct Cluster {
    socket_dir: PathBuf,
}

impl Cluster {
    /// The URL of the cluster's `postgres` database as the `postgres` superuser.
    pub fn admin_url(&self) -> String {
        format!(
            "postgres://postgres@localhost:{PORT}/postgres?host={}",
            self.socket_dir.display()
        )
    }
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static SERVER: ServerState = ServerState::new();
static BASE_DIR: OnceLock<PathBuf> = OnceLock::new();

/// A server process this harness started: its pid once spawned, and whether it has exited.
pub struct ServerState {
    pid: AtomicI32,
    exited: AtomicBool,
}

impl ServerState {
    pub const fn new() -> Self {
        ServerState {
            pid: AtomicI32::new(0),
            exited: AtomicBool::new(false),
        }
    }

    /// Asks the server for a fast shutdown and waits up to `timeout` until it has exited.
    /// `false`: it had not exited by then.
    pub fn stop(&self, timeout: Duration) -> bool {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid > 0 && !self.exited.load(Ordering::SeqCst) {
            // SAFETY: signalling the server process this harness started.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
        let deadline = Instant::now() + timeout;
        while !self.exited.load(Ordering::SeqCst) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

/// Where a server runs: its binaries, directory (`data/`, `sock/`, `postgres.log`), owner.
pub struct ServerDirs {
    pub bin: PathBuf,
    pub base: PathBuf,
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    /// `(uid, gid)` the server runs as (root's tests run it as `postgres`).
    pub owner: Option<(u32, u32)>,
}

/// The process's cluster, started on first use. Panics, saying what to install, when there
/// are no PostgreSQL server binaries.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(cluster) => cluster,
        Err(message) => panic!("{message}"),
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `postgres`.
pub fn server_binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version: u32 = entry
                .file_name()
                .to_str()?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn start() -> Result<Cluster, String> {
    let dirs = create_cluster(DIR_PREFIX)?;
    let _ = BASE_DIR.set(dirs.base.clone());
    spawn_server(&dirs, PORT, &["-c", "listen_addresses="], &SERVER)?;
    wait_until_ready(&dirs, PORT, &SERVER)?;
    // SAFETY: registering a plain `extern "C"` function with no captured state.
    unsafe {
        libc::atexit(stop_server_at_exit);
    }
    Ok(Cluster {
        socket_dir: dirs.socket_dir,
    })
}

/// A fresh cluster in `$TMPDIR/<prefix><pid>` (directories of dead processes with the same
/// prefix removed first), made by `initdb` with `trust` authentication, not started.
pub fn create_cluster(prefix: &str) -> Result<ServerDirs, String> {
    let bin = server_binaries().ok_or_else(|| {
        "PostgreSQL tests need a server: install the PostgreSQL server packages \
         (`apt-get install postgresql`, which provides /usr/lib/postgresql/<version>/bin) \
         or set TEST_DATABASE_URL=postgres://user@host/db to use an existing server"
            .to_string()
    })?;
    remove_stale_directories(prefix);
    let base = std::env::temp_dir().join(format!("{prefix}{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    let data = base.join("data");
    let socket_dir = base.join("sock");
    fs::create_dir_all(&socket_dir).map_err(|e| format!("creating {}: {e}", base.display()))?;
    let owner = server_user()?;
    chown_to(owner, &[&base, &socket_dir])?;
    fs::set_permissions(&base, fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("chmod {}: {e}", base.display()))?;

    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .current_dir(&base);
    as_server_user(&mut initdb, owner);
    let out = initdb
        .output()
        .map_err(|e| format!("running {}: {e}", bin.join("initdb").display()))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(ServerDirs {
        bin,
        base,
        data,
        socket_dir,
        owner,
    })
}

/// Gives `paths` to the server's user (when running as root).
pub fn chown_to(owner: Option<(u32, u32)>, paths: &[&Path]) -> Result<(), String> {
    if let Some((uid, gid)) = owner {
        for path in paths {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// `(uid, gid)` of the `postgres` user when running as root (the server refuses root).
pub fn server_user() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|e| format!("id {flag} postgres: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| "running as root needs a `postgres` user for the test cluster".to_string())
    };
    Ok(Some((id("-u")?, id("-g")?)))
}

pub fn as_server_user(command: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid).env("HOME", "/tmp");
    }
}

/// Starts `postgres` on `dirs` and `port` (`extra`: more `-c` settings) from a thread that
/// lives as long as the server: the parent-death signal fires when the *thread* that forked
/// the child ends, i.e. with the test process.
pub fn spawn_server(
    dirs: &ServerDirs,
    port: u16,
    extra: &[&str],
    state: &'static ServerState,
) -> Result<(), String> {
    let log = fs::File::create(dirs.base.join("postgres.log")).map_err(|e| e.to_string())?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let mut server = Command::new(dirs.bin.join("postgres"));
    server
        .arg("-D")
        .arg(&dirs.data)
        .arg("-k")
        .arg(&dirs.socket_dir)
        .args(["-p", &port.to_string()])
        .args(extra)
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=300"])
        .current_dir(&dirs.base)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    as_server_user(&mut server, dirs.owner);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        server.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    state.exited.store(false, Ordering::SeqCst);
    let (started, outcome) = mpsc::channel::<Result<(), String>>();
    std::thread::Builder::new()
        .name("paddock-test-postgres".into())
        .spawn(move || match server.spawn() {
            Ok(mut child) => {
                state.pid.store(child.id() as i32, Ordering::SeqCst);
                let _ = started.send(Ok(()));
                let _ = child.wait();
                state.exited.store(true, Ordering::SeqCst);
            }
            Err(e) => {
                let _ = started.send(Err(format!("starting postgres: {e}")));
            }
        })
        .map_err(|e| e.to_string())?;
    outcome
        .recv()
        .map_err(|_| "the postgres thread ended early".to_string())?
}

/// Waits until the server answers on its Unix socket.
pub fn wait_until_ready(dirs: &ServerDirs, port: u16, state: &ServerState) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let pg_isready = dirs.bin.join("pg_isready");
    let log = || fs::read_to_string(dirs.base.join("postgres.log")).unwrap_or_default();
    loop {
        if state.exited.load(Ordering::SeqCst) {
            return Err(format!("the test PostgreSQL server exited:\n{}", log()));
        }
        let ready = Command::new(&pg_isready)
            .arg("-h")
            .arg(&dirs.socket_dir)
            .args(["-p", &port.to_string(), "-U", "postgres", "-q"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the test PostgreSQL server was not ready in 30 s:\n{}",
                log()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops the process's cluster (a fast shutdown: sessions are cut) and waits until the server
/// has exited. For tests of a database going away; [`start_again`] brings it back.
pub fn stop() {
    cluster();
    assert!(
        SERVER.pid.load(Ordering::SeqCst) > 0,
        "no test server to stop"
    );
    assert!(SERVER.stop(READY_TIMEOUT), "the test server did not stop");
}

/// Starts the cluster stopped by [`stop`] again, on the same data directory and socket.
pub fn start_again() {
    let base = BASE_DIR.get().expect("a cluster was started").clone();
    let dirs = ServerDirs {
        bin: server_binaries().expect("server binaries"),
        data: base.join("data"),
        socket_dir: base.join("sock"),
        owner: server_user().expect("server user"),
        base,
    };
    spawn_server(&dirs, PORT, &["-c", "listen_addresses="], &SERVER)
        .expect("restart the test server");
    wait_until_ready(&dirs, PORT, &SERVER).expect("the restarted test server is ready");
}

/// Removes `<prefix><pid>` directories whose process no longer exists.
fn remove_stale_directories(prefix: &str) {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// At process exit: ask the server for a fast shutdown, give it a moment, remove its
/// directory. (Should this not run, the parent-death signal still stops the server and the
/// next test process removes the directory.)
extern "C" fn stop_server_at_exit() {
    stop_and_remove(&SERVER, BASE_DIR.get());
}

/// [`ServerState::stop`] with a moment's patience, then `base` removed (at process exit).
pub fn stop_and_remove(state: &ServerState, base: Option<&PathBuf>) {
    state.stop(Duration::from_secs(5));
    if let Some(base) = base {
        let _ = fs::remove_dir_all(base);
    }
}

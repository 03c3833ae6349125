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
static SERVER_PID: AtomicI32 = AtomicI32::new(0);
static SERVER_EXITED: AtomicBool = AtomicBool::new(false);
static BASE_DIR: OnceLock<PathBuf> = OnceLock::new();

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
    let bin = server_binaries().ok_or_else(|| {
        "PostgreSQL tests need a server: install the PostgreSQL server packages \
         (`apt-get install postgresql`, which provides /usr/lib/postgresql/<version>/bin) \
         or set TEST_DATABASE_URL=postgres://user@host/db to use an existing server"
            .to_string()
    })?;
    remove_stale_directories();
    let base = std::env::temp_dir().join(format!("{DIR_PREFIX}{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    let data = base.join("data");
    let socket_dir = base.join("sock");
    fs::create_dir_all(&socket_dir).map_err(|e| format!("creating {}: {e}", base.display()))?;
    let _ = BASE_DIR.set(base.clone());
    let owner = server_user()?;
    if let Some((uid, gid)) = owner {
        for dir in [&base, &socket_dir] {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
    }
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

    spawn_server(&bin, &base, &data, &socket_dir, owner)?;
    wait_until_ready(&bin, &base, &socket_dir)?;
    // SAFETY: registering a plain `extern "C"` function with no captured state.
    unsafe {
        libc::atexit(stop_server_at_exit);
    }
    Ok(Cluster { socket_dir })
}

/// `(uid, gid)` of the `postgres` user when running as root (the server refuses root).
fn server_user() -> Result<Option<(u32, u32)>, String> {
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

fn as_server_user(command: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid).env("HOME", "/tmp");
    }
}

/// Starts `postgres` from a thread that lives as long as the server: the parent-death signal
/// fires when the *thread* that forked the child ends, i.e. with the test process.
fn spawn_server(
    bin: &Path,
    base: &Path,
    data: &Path,
    socket_dir: &Path,
    owner: Option<(u32, u32)>,
) -> Result<(), String> {
    let log = fs::File::create(base.join("postgres.log")).map_err(|e| e.to_string())?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let mut server = Command::new(bin.join("postgres"));
    server
        .arg("-D")
        .arg(data)
        .arg("-k")
        .arg(socket_dir)
        .args(["-p", &PORT.to_string()])
        .args(["-c", "listen_addresses="])
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=300"])
        .current_dir(base)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    as_server_user(&mut server, owner);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        server.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (started, outcome) = mpsc::channel::<Result<(), String>>();
    std::thread::Builder::new()
        .name("paddock-test-postgres".into())
        .spawn(move || match server.spawn() {
            Ok(mut child) => {
                SERVER_PID.store(child.id() as i32, Ordering::SeqCst);
                let _ = started.send(Ok(()));
                let _ = child.wait();
                SERVER_EXITED.store(true, Ordering::SeqCst);
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

fn wait_until_ready(bin: &Path, base: &Path, socket_dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let pg_isready = bin.join("pg_isready");
    loop {
        if SERVER_EXITED.load(Ordering::SeqCst) {
            let log = fs::read_to_string(base.join("postgres.log")).unwrap_or_default();
            return Err(format!("the test PostgreSQL server exited:\n{log}"));
        }
        let ready = Command::new(&pg_isready)
            .arg("-h")
            .arg(socket_dir)
            .args(["-p", &PORT.to_string(), "-U", "postgres", "-q"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            let log = fs::read_to_string(base.join("postgres.log")).unwrap_or_default();
            return Err(format!(
                "the test PostgreSQL server was not ready in 30 s:\n{log}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops the process's cluster (a fast shutdown: sessions are cut) and waits until the server
/// has exited. For tests of a database going away; [`start_again`] brings it back.
pub fn stop() {
    cluster();
    let pid = SERVER_PID.load(Ordering::SeqCst);
    assert!(pid > 0, "no test server to stop");
    // SAFETY: signalling the server process this harness started.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let deadline = Instant::now() + READY_TIMEOUT;
    while !SERVER_EXITED.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the test server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts the cluster stopped by [`stop`] again, on the same data directory and socket.
pub fn start_again() {
    let bin = server_binaries().expect("server binaries");
    let base = BASE_DIR.get().expect("a cluster was started").clone();
    let (data, socket_dir) = (base.join("data"), base.join("sock"));
    let owner = server_user().expect("server user");
    SERVER_EXITED.store(false, Ordering::SeqCst);
    spawn_server(&bin, &base, &data, &socket_dir, owner).expect("restart the test server");
    wait_until_ready(&bin, &base, &socket_dir).expect("the restarted test server is ready");
}

/// Removes `paddock-pg-<pid>` directories whose process no longer exists.
fn remove_stale_directories() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
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
    let pid = SERVER_PID.load(Ordering::SeqCst);
    if pid > 0 && !SERVER_EXITED.load(Ordering::SeqCst) {
        // SAFETY: signalling the server process this harness started.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !SERVER_EXITED.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if let Some(base) = BASE_DIR.get() {
        let _ = fs::remove_dir_all(base);
    }
}

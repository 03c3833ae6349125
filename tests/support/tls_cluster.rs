//! A second throwaway PostgreSQL cluster per test process, for TLS: it listens on 127.0.0.1
//! on a free TCP port with `ssl = on`, a CA and a server certificate for `localhost` (and
//! 127.0.0.1) generated at start with the `openssl` command, and a `pg_hba.conf` that accepts
//! TCP over TLS only (`hostssl … trust`; `host … reject` for plain TCP; a client certificate
//! for [`CERT_USER`]). Its Unix socket (trust) is the harness's own door for creating
//! databases. Started, owned and removed like [`pg_cluster`]'s (whose helpers it uses);
//! `TEST_DATABASE_URL` does not apply: an external server's TLS cannot be set up from here.

use super::pg_cluster::{self, ServerDirs, ServerState};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

const DIR_PREFIX: &str = "paddock-pgtls-";
/// The role that authenticates by client certificate (`hostssl … cert`).
pub const CERT_USER: &str = "paddock_cert";

/// The running TLS cluster and its certificates.
pub struct TlsCluster {
    pub port: u16,
    socket_dir: PathBuf,
    certs: PathBuf,
}

impl TlsCluster {
    /// The CA that signed the server's and the client's certificates.
    pub fn ca_cert(&self) -> PathBuf {
        self.certs.join("ca.crt")
    }

    /// A CA that signed nothing this server shows.
    pub fn other_ca_cert(&self) -> PathBuf {
        self.certs.join("other-ca.crt")
    }

    /// [`CERT_USER`]'s certificate and key, signed by [`Self::ca_cert`].
    pub fn client_cert(&self) -> PathBuf {
        self.certs.join("client.crt")
    }

    pub fn client_key(&self) -> PathBuf {
        self.certs.join("client.key")
    }

    /// `postgres://<user>@localhost:<port>/<database>` (TCP, so TLS applies), no parameters.
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgres://{user}@localhost:{}/{database}", self.port)
    }

    /// The superuser over the Unix socket (no TLS: the harness's own door).
    pub fn admin_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost:{}/{database}?host={}",
            self.port,
            self.socket_dir.display()
        )
    }
}

static CLUSTER: OnceLock<Result<TlsCluster, String>> = OnceLock::new();
static SERVER: ServerState = ServerState::new();
static BASE_DIR: OnceLock<PathBuf> = OnceLock::new();
static DATABASE_SEQ: AtomicUsize = AtomicUsize::new(0);

/// The process's TLS cluster, started on first use. Panics saying what to install when the
/// PostgreSQL server binaries or `openssl` are missing.
pub fn tls_cluster() -> &'static TlsCluster {
    match CLUSTER.get_or_init(start) {
        Ok(cluster) => cluster,
        Err(message) => panic!("{message}"),
    }
}

/// An empty database on the TLS cluster, owned by `owner`; its name.
pub async fn fresh_tls_database(owner: &str) -> String {
    use sqlx::Connection;
    let cluster = tls_cluster();
    let name = format!(
        "paddock_tls_{}_{}",
        std::process::id(),
        DATABASE_SEQ.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = sqlx::PgConnection::connect(&cluster.admin_url("postgres"))
        .await
        .expect("connect to the TLS cluster's Unix socket");
    sqlx::query(&format!("CREATE DATABASE \"{name}\" OWNER \"{owner}\""))
        .execute(&mut admin)
        .await
        .expect("create a database on the TLS cluster");
    let _ = admin.close().await;
    name
}

fn start() -> Result<TlsCluster, String> {
    let openssl = openssl_binary()?;
    let dirs = pg_cluster::create_cluster(DIR_PREFIX)?;
    let _ = BASE_DIR.set(dirs.base.clone());
    let certs = dirs.base.join("certs");
    fs::create_dir_all(&certs).map_err(|e| format!("creating {}: {e}", certs.display()))?;
    make_certificates(&openssl, &certs)?;
    // The server reads its key only when it is its own and private.
    let (server_key, server_crt, ca) = (
        certs.join("server.key"),
        certs.join("server.crt"),
        certs.join("ca.crt"),
    );
    fs::set_permissions(&server_key, fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("chmod {}: {e}", server_key.display()))?;
    pg_cluster::chown_to(dirs.owner, &[&certs, &server_key, &server_crt, &ca])?;
    let hba = write_hba(&dirs)?;
    let port = free_port()?;
    let settings = [
        format!("ssl_cert_file={}", server_crt.display()),
        format!("ssl_key_file={}", server_key.display()),
        format!("ssl_ca_file={}", ca.display()),
        format!("hba_file={}", hba.display()),
    ];
    let mut extra = vec!["-c", "listen_addresses=127.0.0.1", "-c", "ssl=on"];
    for setting in &settings {
        extra.extend(["-c", setting.as_str()]);
    }
    pg_cluster::spawn_server(&dirs, port, &extra, &SERVER)?;
    pg_cluster::wait_until_ready(&dirs, port, &SERVER)?;
    // SAFETY: registering a plain `extern "C"` function with no captured state.
    unsafe {
        libc::atexit(stop_at_exit);
    }
    create_cert_user(&dirs, port)?;
    Ok(TlsCluster {
        port,
        socket_dir: dirs.socket_dir,
        certs,
    })
}

extern "C" fn stop_at_exit() {
    pg_cluster::stop_and_remove(&SERVER, BASE_DIR.get());
}

fn openssl_binary() -> Result<PathBuf, String> {
    let found = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("openssl"))
                .find(|path| path.is_file())
        })
        .unwrap_or(None);
    found.ok_or_else(|| {
        "the TLS tests generate their certificates with the `openssl` command: install it \
         (`apt-get install openssl`)"
            .to_string()
    })
}

/// A free TCP port on 127.0.0.1 (asked of the kernel, then let go for the server).
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Unix socket: trust. TCP: TLS only (a client certificate for [`CERT_USER`]); plain TCP
/// is rejected.
fn write_hba(dirs: &ServerDirs) -> Result<PathBuf, String> {
    let hba = dirs.base.join("pg_hba.conf");
    let text = format!(
        "local all all trust\n\
         hostssl all {CERT_USER} 127.0.0.1/32 cert\n\
         hostssl all all 127.0.0.1/32 trust\n\
         host all all 127.0.0.1/32 reject\n"
    );
    fs::write(&hba, text).map_err(|e| format!("writing {}: {e}", hba.display()))?;
    pg_cluster::chown_to(dirs.owner, &[&hba])?;
    Ok(hba)
}

fn create_cert_user(dirs: &ServerDirs, port: u16) -> Result<(), String> {
    let out = Command::new(dirs.bin.join("psql"))
        .arg("-h")
        .arg(&dirs.socket_dir)
        .args(["-p", &port.to_string(), "-U", "postgres", "-d", "postgres"])
        .args(["-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE ROLE {CERT_USER} LOGIN"))
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "creating the role {CERT_USER}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Extensions of the certificates: a CA; the server, named `localhost` and 127.0.0.1; the
/// client (its common name is the role it logs in as).
const EXTENSIONS: &str = "\
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
";

/// `ca`, `other-ca`, `server` (signed by `ca`) and `client` (signed by `ca`): `.crt` and
/// `.key` each, P-256 keys, valid for two days.
fn make_certificates(openssl: &Path, dir: &Path) -> Result<(), String> {
    fs::write(dir.join("ext.cnf"), EXTENSIONS).map_err(|e| e.to_string())?;
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new(openssl)
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("running openssl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let new_key = |name: &str| -> Result<(), String> {
        run(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{name}.key"),
        ])
    };
    for (ca, subject) in [("ca", "Paddock test CA"), ("other-ca", "Another test CA")] {
        new_key(ca)?;
        run(&[
            "req",
            "-new",
            "-x509",
            "-days",
            "2",
            "-key",
            &format!("{ca}.key"),
            "-subj",
            &format!("/CN={subject}"),
            "-config",
            "ext.cnf",
            "-extensions",
            "ca",
            "-out",
            &format!("{ca}.crt"),
        ])?;
    }
    for (serial, name, subject, section) in [
        ("1001", "server", "localhost", "server"),
        ("1002", "client", CERT_USER, "client"),
    ] {
        new_key(name)?;
        run(&[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={subject}"),
            "-out",
            &format!("{name}.csr"),
        ])?;
        run(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            serial,
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-extensions",
            section,
            "-out",
            &format!("{name}.crt"),
        ])?;
    }
    Ok(())
}

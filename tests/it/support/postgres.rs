//! A real PostgreSQL server for the tests: one per test process, started
//! on first use (`initdb` into a temporary directory, a random loopback
//! port, its unix socket in that directory, durability off for speed), and
//! a fresh database per test ([`database`]).
//!
//! `initdb` refuses to run as root: as root the server runs as the
//! `postgres` user (`runuser`). A watchdog stops the server when the test
//! process is gone, however it ended. Without PostgreSQL binaries the tests
//! that need it print why and pass, except under CI (`CI=true`), where that
//! is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Server {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The directory holding `initdb`, `postgres` and `psql`.
fn binaries() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("UPKEEP_TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists() && p.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program args…` as the `postgres` user when we are root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Option<Server> {
    let Some(bin) = binaries() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: .ci/run installs the `postgresql` package"
        );
        eprintln!(
            "SKIPPED: no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql); the PostgreSQL tests pass without running"
        );
        return None;
    };
    let dir = tempfile::Builder::new()
        .prefix("upkeep-pg-")
        .tempdir()
        .unwrap()
        .keep();
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "cannot give {} to the postgres user", dir.display());
    }
    let data = dir.join("data");
    let out = as_owner(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    // The server, and a watchdog that stops it once this process is gone.
    let script = format!(
        "'{pg}' -D '{data}' -p {port} -k '{dir}' -c listen_addresses=127.0.0.1 \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
         -c max_connections=300 -c shared_buffers=16MB >'{dir}/log' 2>&1 & PG=$!; \
         while [ -d /proc/{parent} ] && kill -0 $PG 2>/dev/null; do sleep 1; done; \
         kill -INT $PG 2>/dev/null; wait $PG; rm -rf '{dir}'",
        pg = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
        parent = std::process::id(),
    );
    let sh = PathBuf::from("/bin/sh");
    let mut watchdog = as_owner(&sh)
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start postgres");
    // Reaped when it ends (with the test process, usually).
    std::thread::spawn(move || watchdog.wait());
    let server = Server { port, dir, bin };
    let start = Instant::now();
    loop {
        let ready = Command::new(server.bin.join("pg_isready"))
            .args(["-q", "-h"])
            .arg(&server.dir)
            .args(["-p", &port.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "postgres did not start:\n{}",
            std::fs::read_to_string(server.dir.join("log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

/// Runs `sql` on database `db` as the superuser.
fn psql(server: &Server, db: &str, sql: &str) {
    let out = Command::new(server.bin.join("psql"))
        .arg("-h")
        .arg(&server.dir)
        .args([
            "-p",
            &server.port.to_string(),
            "-U",
            "postgres",
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh, empty database on the test server: its `postgres://` URL
/// (plain TCP on loopback, `sslmode=disable`). `None` (after saying so)
/// when PostgreSQL is not installed outside CI.
pub fn database() -> Option<String> {
    let server = SERVER.get_or_init(start).as_ref()?;
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    psql(server, "postgres", &format!("CREATE DATABASE {name}"));
    Some(format!(
        "postgres://postgres@127.0.0.1:{}/{name}?sslmode=disable",
        server.port
    ))
}

/// Makes `url`'s database unreachable (`false`) or reachable again.
pub fn set_reachable(url: &str, reachable: bool) {
    let server = SERVER.get().and_then(Option::as_ref).expect("a server");
    let name = url
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .unwrap();
    psql(
        server,
        "postgres",
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"),
    );
    if !reachable {
        psql(
            server,
            "postgres",
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ),
        );
    }
}

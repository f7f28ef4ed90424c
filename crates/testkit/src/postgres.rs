//! A real PostgreSQL server for tests: one per test process, started on first use from the
//! machine's binaries, a fresh database per test, stopped when the process ends.
//!
//! - The binaries (`initdb`, `postgres`, `createdb`, `pg_isready`) are found in
//!   `$KBRIDGE_PG_BIN`, on `PATH` or under `/usr/lib/postgresql/<version>/bin` (Debian's layout;
//!   the highest version wins).
//! - The cluster lives in a temporary directory, with `trust` authentication, listening on a free
//!   loopback port and a Unix socket in that directory only.
//! - `initdb` and `postgres` refuse to run as root: when the tests run as root (CI, containers)
//!   the server runs as `nobody` through `setpriv`.
//! - The server is owned by a small watchdog shell whose standard input is a pipe from the test
//!   process. When the test process ends — normally, by a panic, or killed — the pipe closes, and
//!   the watchdog stops the server (fast shutdown) and removes the directory. No orphan is left.
//! - Without the binaries, [`server`] prints `SKIPPED: …` to stderr and returns `None`; with
//!   `KBRIDGE_REQUIRE_CORPUS=1` (CI) it panics instead.
//!
//! It uses only the standard library and the PostgreSQL client binaries, so kb-testkit stays
//! light.

use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running test server.
pub struct PgServer {
    bin: PathBuf,
    port: u16,
    dir: PathBuf,
    next_db: AtomicU32,
    /// Held open for the life of the process: its closing is the watchdog's signal.
    _lifeline: Mutex<ChildStdin>,
}

static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();

const REQUIRE: &str = "KBRIDGE_REQUIRE_CORPUS";

/// The process's server, started on first call. `None` (after a visible `SKIPPED:` line) when
/// the machine has no PostgreSQL binaries, unless `KBRIDGE_REQUIRE_CORPUS=1`.
pub fn server() -> Option<&'static PgServer> {
    let s = SERVER.get_or_init(|| find_bin_dir().map(PgServer::start));
    if s.is_none() {
        if std::env::var(REQUIRE).as_deref() == Ok("1") {
            panic!(
                "{REQUIRE}=1 but no PostgreSQL binaries (initdb, postgres) were found (in \
                 ${BIN_DIR_VAR}, on PATH or under /usr/lib/postgresql/*/bin): install them \
                 (apt-get install -y postgresql)"
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: no PostgreSQL binaries (initdb, postgres) in ${BIN_DIR_VAR}, on PATH or under \
             /usr/lib/postgresql/*/bin, so the PostgreSQL half of this test did not run; install \
             them (apt-get install -y postgresql) or set {REQUIRE}=1 to make this a failure"
        );
    }
    s.as_ref()
}

/// A fresh, empty database on the process's server: its URL
/// (`postgres://postgres@127.0.0.1:PORT/NAME`), or `None` as for [`server`].
pub fn database(hint: &str) -> Option<String> {
    server().map(|s| s.create_database(hint))
}

/// Names the directory of the PostgreSQL binaries, instead of searching for them.
pub const BIN_DIR_VAR: &str = "KBRIDGE_PG_BIN";

/// The directory holding `initdb` and `postgres`: `$KBRIDGE_PG_BIN` when set (and nothing else),
/// else next to `initdb` on `PATH` (symlinks followed), else the highest
/// `/usr/lib/postgresql/<version>/bin`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let complete = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(dir) = std::env::var_os(BIN_DIR_VAR) {
        let dir = PathBuf::from(dir);
        return complete(&dir).then_some(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let initdb = dir.join("initdb");
            if initdb.is_file() {
                let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
                if let Some(d) = real.parent().filter(|d| complete(d)) {
                    return Some(d.to_path_buf());
                }
            }
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let v: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            Some((v?, e.path().join("bin")))
        })
        .filter(|(_, d)| complete(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

/// A client binary: beside the server's, else on `PATH`.
fn client(bin: &Path, name: &str) -> PathBuf {
    let p = bin.join(name);
    if p.is_file() { p } else { PathBuf::from(name) }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// uid and gid of `nobody`, from `/etc/passwd`.
fn nobody() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"nobody") && f.len() > 3)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
        .expect(
            "the tests run as root, and PostgreSQL refuses root, but there is no user `nobody` \
             in /etc/passwd to run it as: create one (useradd nobody) or run the tests as another user",
        )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The watchdog: starts the server in the background, waits for its standard input to close
/// (the test process ended), then stops the server and removes the cluster.
const WATCHDOG: &str = r#"
trap '' INT HUP TERM
"$@" </dev/null >>"$KB_PG_LOG" 2>&1 &
pg=$!
cat >/dev/null
kill -INT "$pg" 2>/dev/null
wait "$pg"
rm -rf "$KB_PG_DIR"
"#;

impl PgServer {
    fn start(bin: PathBuf) -> PgServer {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("kb-pg-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        // As root, everything PostgreSQL touches belongs to `nobody`, and it runs as `nobody`.
        let as_user: Vec<String> = if running_as_root() {
            let (uid, gid) = nobody();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("chown {}: {e}", dir.display()));
            vec![
                "setpriv".into(),
                format!("--reuid={uid}"),
                format!("--regid={gid}"),
                "--clear-groups".into(),
                "--".into(),
            ]
        } else {
            Vec::new()
        };
        let data = dir.join("data");
        let log = dir.join("server.log");

        let initdb = client(&bin, "initdb");
        let mut cmd = command(&as_user, &initdb);
        cmd.arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .current_dir(&dir);
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", initdb.display()));
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            panic!(
                "initdb failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        let port = free_port();
        let postgres = client(&bin, "postgres");
        let mut server_cmd: Vec<String> = as_user.clone();
        server_cmd.push(postgres.display().to_string());
        server_cmd.extend([
            "-D".to_string(),
            data.display().to_string(),
            "-p".into(),
            port.to_string(),
            "-k".into(),
            dir.display().to_string(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            // a test cluster, thrown away: no durability needed
            "-c".into(),
            "fsync=off".into(),
            "-c".into(),
            "synchronous_commit=off".into(),
            "-c".into(),
            "full_page_writes=off".into(),
            "-c".into(),
            "max_connections=200".into(),
        ]);
        // Never waited for: the watchdog outlives this process on purpose (it is what stops the
        // server after the process is gone).
        #[allow(clippy::zombie_processes)]
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("kb-pg-watchdog")
            .args(&server_cmd)
            .env("KB_PG_LOG", &log)
            .env("KB_PG_DIR", &dir)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the PostgreSQL watchdog (sh): {e}"));
        let lifeline = watchdog.stdin.take().expect("piped stdin");

        let server = PgServer {
            bin,
            port,
            dir,
            next_db: AtomicU32::new(0),
            _lifeline: Mutex::new(lifeline),
        };
        server.wait_ready(&log);
        let _ = writeln!(
            std::io::stderr(),
            "kb-testkit: PostgreSQL test server on 127.0.0.1:{} ({})",
            server.port,
            server.dir.display()
        );
        server
    }

    fn wait_ready(&self, log: &Path) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let isready = client(&self.bin, "pg_isready");
        loop {
            let ok = Command::new(&isready)
                .args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
                .arg("-p")
                .arg(self.port.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "the PostgreSQL test server on port {} did not accept connections within 60 s; \
                     its log:\n{}",
                    self.port,
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory (removed when the process ends).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a fresh database named after `hint` (lower-cased, non-alphanumerics as `_`, a
    /// counter appended) and returns its URL.
    pub fn create_database(&self, hint: &str) -> String {
        let mut base: String = hint
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        base.truncate(40);
        let name = format!("kb_{base}_{}", self.next_db.fetch_add(1, Ordering::Relaxed));
        let out = Command::new(client(&self.bin, "createdb"))
            .args(["-h", "127.0.0.1", "-U", "postgres"])
            .arg("-p")
            .arg(self.port.to_string())
            .arg(&name)
            .output()
            .unwrap_or_else(|e| panic!("running createdb: {e}"));
        assert!(
            out.status.success(),
            "createdb {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.url(&name)
    }

    /// Runs `sql` with `psql` on database `name` and returns its unaligned output (for tests that
    /// check the database from outside the code under test).
    pub fn psql(&self, name: &str, sql: &str) -> String {
        let out = Command::new(client(&self.bin, "psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(name)
            .arg("-c")
            .arg(sql)
            .output()
            .unwrap_or_else(|e| panic!("running psql: {e}"));
        assert!(
            out.status.success(),
            "psql failed on {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn command(prefix: &[String], program: &Path) -> Command {
    match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => Command::new(program),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_fresh_databases() {
        let Some(s) = server() else { return };
        let a = s.create_database("Fresh DB!");
        let b = s.create_database("Fresh DB!");
        assert_ne!(a, b);
        let name = a.rsplit('/').next().unwrap();
        assert!(name.starts_with("kb_fresh_db__"), "{name}");
        assert_eq!(s.psql(name, "SELECT 1 + 1").trim(), "2");
        assert_eq!(
            s.psql(
                name,
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            )
            .trim(),
            "0",
            "a fresh database is empty"
        );
        if running_as_root() {
            let owner = s.psql(
                name,
                "SELECT usename FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            );
            assert_eq!(owner.trim(), "postgres");
        }
    }

    /// Run by `server_dies_with_its_process` in a child process: starts the server, reports it,
    /// and panics.
    #[test]
    #[ignore = "helper run as a child process by server_dies_with_its_process"]
    fn child_starts_server_then_panics() {
        if std::env::var("KB_PG_CHILD").is_err() {
            return;
        }
        let s = server().expect("binaries (the parent checked)");
        let pid = std::fs::read_to_string(s.dir().join("data/postmaster.pid")).unwrap();
        println!("KB_PG_DIR={}", s.dir().display());
        println!("KB_PG_PID={}", pid.lines().next().unwrap());
        panic!("a test panics while the server runs");
    }

    /// Run by `missing_binaries_skip_or_fail` in a child process without binaries.
    #[test]
    #[ignore = "helper run as a child process by missing_binaries_skip_or_fail"]
    fn child_asks_for_a_database() {
        if std::env::var("KB_PG_CHILD").is_err() {
            return;
        }
        println!("KB_PG_RESULT={:?}", database("x"));
    }

    #[test]
    fn missing_binaries_skip_or_fail() {
        let empty = std::env::temp_dir().join(format!("kb-pg-none-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let run = |require: &str| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "postgres::tests::child_asks_for_a_database",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("KB_PG_CHILD", "1")
                .env(BIN_DIR_VAR, &empty)
                .env(REQUIRE, require)
                .output()
                .unwrap()
        };
        let skipped = run("0");
        let required = run("1");
        std::fs::remove_dir_all(&empty).unwrap();
        let stderr = String::from_utf8_lossy(&skipped.stderr);
        assert!(skipped.status.success(), "{stderr}");
        assert!(String::from_utf8_lossy(&skipped.stdout).contains("KB_PG_RESULT=None"));
        assert!(
            stderr.contains("SKIPPED: no PostgreSQL binaries"),
            "{stderr}"
        );
        let stderr = String::from_utf8_lossy(&required.stderr);
        assert!(!required.status.success(), "{stderr}");
        assert!(
            stderr.contains("KBRIDGE_REQUIRE_CORPUS=1 but no PostgreSQL binaries"),
            "{stderr}"
        );
    }

    #[test]
    fn server_dies_with_its_process() {
        if server().is_none() {
            return;
        }
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "postgres::tests::child_starts_server_then_panics",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("KB_PG_CHILD", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "the child panicked: {stdout}");
        let field = |k: &str| {
            stdout
                .lines()
                .find_map(|l| l.split_once(k).map(|(_, v)| v))
                .unwrap_or_else(|| panic!("{k} in {stdout}"))
                .trim()
                .to_string()
        };
        let dir = PathBuf::from(field("KB_PG_DIR="));
        let pid = field("KB_PG_PID=");
        // The watchdog stops the server once the child is gone; wait for it (not a timing
        // assertion: the bound only keeps a broken watchdog from hanging the suite).
        let deadline = Instant::now() + Duration::from_secs(60);
        while (dir.exists() || Path::new(&format!("/proc/{pid}")).exists())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "postgres {pid} outlived its test process"
        );
        assert!(!dir.exists(), "{} was not removed", dir.display());
    }
}

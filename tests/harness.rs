//! Test harness: locate the real binaries, start a collector on 127.0.0.1:0 with a temporary
//! data directory, and run the agent and the CLI against it.
//!
//! Run these through `cargo test --workspace`: `cargo test -p census-e2e` alone does not rebuild
//! the binaries (they belong to other packages) and would test stale ones.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The fixture root that plays a Debian 12 host named web-01 with 6 installed packages.
pub fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/testdata/roots/debian12")
}

/// A workspace binary, built by `cargo test --workspace` next to the test executable.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target profile directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace` (or `cargo build --workspace`) first",
        path.display()
    );
    path
}

pub fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin(name));
    cmd.args(args).env_remove("CENSUS_SERVER").env_remove("CENSUS_TOKEN").env_remove("CENSUS_CA");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("run {name}: {e}"))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `cp -a FROM TO` (a writable copy of a fixture tree, links and modes kept); returns TO.
pub fn copy_tree(from: &Path, to: &Path) -> PathBuf {
    let ok = Command::new("cp").arg("-a").arg(from).arg(to).status().expect("run cp");
    assert!(ok.success(), "cp -a {} {}", from.display(), to.display());
    to.to_path_buf()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A running `census-collector serve`, killed on drop.
fn prefixed(prefix: &[String], name: &str) -> Command {
    match prefix.split_first() {
        None => Command::new(bin(name)),
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin(name));
            c
        }
    }
}

pub struct Collector {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    /// Runs every command through this prefix (`ip netns exec NS`), collector and CLI alike.
    prefix: Vec<String>,
}

impl Collector {
    pub fn start() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut c = Self::start_in(&tmp.path().join("collector"));
        c._tmp = Some(tmp);
        c
    }

    pub fn start_in(data_dir: &Path) -> Self {
        Self::start_at(data_dir, "127.0.0.1:0")
    }

    /// Starts on a given address (to restart a collector where its agents expect it).
    pub fn start_at(data_dir: &Path, listen: &str) -> Self {
        Self::start_with(&[], data_dir, listen, &[])
    }

    /// Starts with extra `serve` arguments (e.g. `--config FILE`, `--require-client-cert`).
    pub fn start_args(extra: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut c = Self::start_with(&[], &tmp.path().join("collector"), "127.0.0.1:0", extra);
        c._tmp = Some(tmp);
        c
    }

    /// Starts inside network namespace `ns` (its loopback must be up); `census` runs there too.
    pub fn start_in_netns(ns: &str) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let prefix = ["ip", "netns", "exec", ns].map(String::from);
        let mut c = Self::start_with(&prefix, &tmp.path().join("collector"), "127.0.0.1:0", &[]);
        c._tmp = Some(tmp);
        c
    }

    /// `prefix` + a workspace binary, as a command.
    pub fn command(&self, name: &str) -> Command {
        prefixed(&self.prefix, name)
    }

    fn start_with(prefix: &[String], data_dir: &Path, listen: &str, extra: &[&str]) -> Self {
        let mut child = prefixed(prefix, "census-collector")
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("CENSUS_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start census-collector");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let first = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("census-collector did not report its address within 30s");
            }
        };
        let url = first
            .strip_prefix("census-collector listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .expect("first line names the address")
            .to_string();
        Self { child, url, data_dir: data_dir.to_path_buf(), _tmp: None, prefix: prefix.to_vec() }
    }

    /// The `host:port` this collector listens on.
    pub fn listen_addr(&self) -> String {
        self.url.trim_start_matches("https://").to_string()
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.data_dir.join(name)).expect("data dir file").trim().to_string()
    }

    pub fn ca(&self) -> String {
        self.data_dir.join("ca.pem").display().to_string()
    }

    /// Environment for the `census` CLI.
    pub fn cli_env(&self) -> Vec<(&'static str, String)> {
        vec![("CENSUS_SERVER", self.url.clone()), ("CENSUS_TOKEN", self.file("admin-token")), ("CENSUS_CA", self.ca())]
    }

    /// Runs `census ARGS` against this collector.
    pub fn census(&self, args: &[&str]) -> Output {
        self.command("census").args(args).envs(self.cli_env()).output().expect("run census")
    }

    /// Runs `census ARGS --format json` (admin token), asserting success; the JSON it printed.
    pub fn census_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.census(&all);
        assert!(out.status.success(), "census {args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("census {args:?}: {e}: {}", stdout(&out)))
    }

    /// `census hosts --format json`, parsed.
    pub fn hosts_json(&self) -> Vec<serde_json::Value> {
        let out = self.census(&["hosts", "--format", "json"]);
        assert!(out.status.success(), "census hosts failed: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("census hosts prints JSON")
    }

    /// An enrollment of `key` as `hostname` with this collector's initial enroll secret and the
    /// key's proof of possession.
    pub fn enroll_request(
        &self,
        key: &census_proto::signing::AgentKey,
        hostname: &str,
    ) -> census_proto::v1::EnrollRequest {
        census_proto::v1::EnrollRequest {
            enroll_secret: self.file("enroll-secret"),
            public_key: key.public_key().to_vec(),
            hostname: hostname.into(),
            agent_version: "test".into(),
            proof: key.enrollment_proof(hostname),
        }
    }

    /// Runs `census-agent run --once` against this collector.
    pub fn agent_once(&self, state_dir: &Path, root: &Path, secret: &str) -> Output {
        run(
            "census-agent",
            &[
                "run",
                "--once",
                "--collector",
                &self.url,
                "--ca",
                &self.ca(),
                "--enroll-secret",
                secret,
                "--state-dir",
                &state_dir.display().to_string(),
                "--root",
                &root.display().to_string(),
            ],
            &[("CENSUS_LOG", "warn")],
        )
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `census-agent run` arguments against `collector` (enroll secret, state dir, fixture root,
/// no listening), followed by `extra` (e.g. `--interval 300ms`).
pub fn agent_run_args(
    collector_url: &str,
    ca: &str,
    secret: &str,
    state_dir: &Path,
    root: &Path,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> =
        ["run", "--no-listen", "--collector", collector_url, "--ca", ca, "--enroll-secret", secret]
            .map(String::from)
            .to_vec();
    args.extend(["--state-dir".to_string(), state_dir.display().to_string()]);
    args.extend(["--root".to_string(), root.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A running `census-agent` whose stderr is appended to a file; killed (SIGKILL) on drop.
pub struct AgentProcess {
    child: Child,
    pub stderr_path: PathBuf,
}

impl AgentProcess {
    /// Starts `census-agent ARGS` with `CENSUS_LOG` = `log_level`, appending stderr to
    /// `stderr_path` (so restarts share one log).
    pub fn spawn(args: &[String], log_level: &str, stderr_path: &Path) -> Self {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(stderr_path).expect("agent log file");
        let child = Command::new(bin("census-agent"))
            .args(args)
            .env_remove("CENSUS_COLLECTOR")
            .env_remove("CENSUS_CA")
            .env_remove("CENSUS_ENROLL_SECRET")
            .env("CENSUS_LOG", log_level)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start census-agent");
        Self { child, stderr_path: stderr_path.to_path_buf() }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything the agent (and earlier agents sharing the file) wrote to stderr.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// `kill -9`, then reaps the process.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process has exited (reaping it).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("agent status")
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit; panics (with the log) otherwise.
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(s) = self.exited() {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "agent did not stop within {timeout:?} of SIGTERM; its log:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `cond` every 100 ms until it holds; panics after `timeout` with `what` and `detail()`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool, detail: impl Fn() -> String) {
    let deadline = std::time::Instant::now() + timeout;
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "{what}: not within {timeout:?}\n{}", detail());
        std::thread::sleep(Duration::from_millis(100));
    }
}

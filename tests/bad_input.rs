//! Bad input through the real binaries: one clear error line naming what is wrong, a non-zero
//! exit, never a panic.

use census_e2e::{Collector, fixture_root, run, stderr};

/// Asserts a failed run printed exactly one line, starting with `prefix`, and no panic.
fn one_error_line(out: &std::process::Output, prefix: &str) -> String {
    assert!(!out.status.success(), "expected failure");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<_> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{err}");
    assert!(lines[0].starts_with(prefix), "{:?} does not start with {prefix:?}", lines[0]);
    lines[0].to_string()
}

#[test]
fn collector_down() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca.pem");
    // A syntactically valid CA file from a collector that is then stopped.
    {
        let c = Collector::start_in(&tmp.path().join("c"));
        std::fs::copy(c.data_dir.join("ca.pem"), &ca).unwrap();
    }
    let out = run(
        "census-agent",
        &[
            "run",
            "--once",
            "--collector",
            "https://127.0.0.1:1",
            "--ca",
            ca.to_str().unwrap(),
            "--enroll-secret",
            "x",
            "--state-dir",
            tmp.path().join("s").to_str().unwrap(),
        ],
        &[("CENSUS_LOG", "error")],
    );
    let line = one_error_line(&out, "census-agent: cannot reach collector at https://127.0.0.1:1: ");
    assert!(line.contains("refused"), "{line}");
}

#[test]
fn wrong_ca_and_wrong_secret() {
    let collector = Collector::start();
    let other = Collector::start();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("s");
    let root = fixture_root();
    let args = |ca: &str, secret: &str| {
        run(
            "census-agent",
            &[
                "run",
                "--once",
                "--collector",
                &collector.url,
                "--ca",
                ca,
                "--enroll-secret",
                secret,
                "--state-dir",
                state.to_str().unwrap(),
                "--root",
                root.to_str().unwrap(),
            ],
            &[("CENSUS_LOG", "error")],
        )
    };
    let out = args(&other.ca(), &collector.file("enroll-secret"));
    let line = one_error_line(&out, "census-agent: cannot reach collector at ");
    assert!(line.contains("UnknownIssuer") && line.ends_with("(is --ca this collector's ca.pem?)"), "{line}");

    let out = args(&collector.ca(), "wrong-secret");
    one_error_line(&out, "census-agent: enrollment refused: enroll secret is not valid");

    let out = args("/no/such/ca.pem", "x");
    one_error_line(&out, "census-agent: ca file /no/such/ca.pem: ");

    let out = run(
        "census-agent",
        &["run", "--once", "--collector", "http://127.0.0.1:1", "--ca", "x", "--state-dir", state.to_str().unwrap()],
        &[("CENSUS_LOG", "error")],
    );
    one_error_line(&out, "census-agent: collector url \"http://127.0.0.1:1\": must start with https://");
    assert!(collector.hosts_json().is_empty());
}

#[test]
fn cli_errors() {
    let collector = Collector::start();
    let out = run("census", &["hosts"], &[]);
    one_error_line(&out, "census: no server: pass --server URL or set CENSUS_SERVER");

    let out = run("census", &["hosts", "--server", &collector.url, "--token", "wrong", "--ca", &collector.ca()], &[]);
    one_error_line(&out, "census: server answered 401: token is not valid");

    let out = collector.census(&["host", "nope"]);
    one_error_line(&out, "census: server answered 404: no host matches \"nope\"");

    let other = Collector::start();
    let out = run("census", &["hosts", "--server", &collector.url, "--token", "t", "--ca", &other.ca()], &[]);
    let line = one_error_line(&out, &format!("census: cannot reach {}: ", collector.url));
    assert!(line.contains("UnknownIssuer"), "{line}");

    let out =
        run("census", &["hosts", "--server", "https://127.0.0.1:1", "--token", "t", "--ca", &collector.ca()], &[]);
    one_error_line(&out, "census: cannot reach https://127.0.0.1:1: ");
}

#[test]
fn parser_errors_exit_2() {
    for (bin, args) in [
        ("census-agent", vec!["inventory", "--format", "yaml"]),
        ("census-agent", vec!["run", "--collector", "https://x", "--ca", "c", "--interval", "0"]),
        ("census-agent", vec!["frobnicate"]),
        ("census", vec!["hosts", "--format", "xml"]),
        ("census-collector", vec!["serve", "--listen", "not-an-address"]),
    ] {
        let out = run(bin, &args, &[]);
        assert_eq!(out.status.code(), Some(2), "{bin} {args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn collector_port_in_use_and_bad_data_dir() {
    let collector = Collector::start();
    let port = collector.url.rsplit(':').next().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = run(
        "census-collector",
        &["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir", tmp.path().join("d").to_str().unwrap()],
        &[("CENSUS_LOG", "error")],
    );
    one_error_line(&out, &format!("census-collector: cannot listen on 127.0.0.1:{port}: "));

    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = run(
        "census-collector",
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", file.to_str().unwrap()],
        &[("CENSUS_LOG", "error")],
    );
    one_error_line(&out, &format!("census-collector: {}: ", file.display()));
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::process::{Command, Stdio};
    // Large outputs (the live host's inventory), so the writes meet the closed pipe rather than
    // fitting in its buffer.
    let collector = Collector::start();
    let state = tempfile::tempdir().unwrap();
    let out = collector.agent_once(state.path(), std::path::Path::new("/"), &collector.file("enroll-secret"));
    assert!(out.status.success(), "{}", stderr(&out));
    let host_id = collector.hosts_json()[0]["id"].as_str().unwrap().to_string();
    let cli_env = collector.cli_env();
    for (bin, args) in [
        ("census-agent", vec!["inventory", "--format", "json"]),
        ("census", vec!["host", host_id.as_str(), "--format", "json"]),
    ] {
        let mut child = Command::new(census_e2e::bin(bin))
            .args(&args)
            .envs(cli_env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{bin}: {err}");
        assert_eq!(out.status.code(), Some(0), "{bin}: {err}");
    }
}

//! The collector package's binaries answer --version and --help as documented. (Being an
//! integration test of this package also makes `cargo test --workspace` build both binaries,
//! which the end-to-end tests in tests/ run.)

use std::process::Command;

fn run(bin: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn versions_match_the_workspace() {
    for (bin, name) in
        [(env!("CARGO_BIN_EXE_census"), "census"), (env!("CARGO_BIN_EXE_census-collector"), "census-collector")]
    {
        let (ok, out) = run(bin, &["--version"]);
        assert!(ok);
        assert_eq!(out.trim(), format!("{name} {}", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn help_lists_the_commands() {
    let (ok, out) = run(env!("CARGO_BIN_EXE_census"), &["--help"]);
    assert!(ok);
    for word in
        ["hosts", "host", "--server", "--token", "--ca", "--format", "CENSUS_SERVER", "CENSUS_TOKEN", "CENSUS_CA"]
    {
        assert!(out.contains(word), "census --help lacks {word}:\n{out}");
    }
    let (ok, out) = run(env!("CARGO_BIN_EXE_census-collector"), &["serve", "--help"]);
    assert!(ok);
    for word in ["--listen", "--data-dir", "--tls-san", "[::]:8443"] {
        assert!(out.contains(word), "census-collector serve --help lacks {word}:\n{out}");
    }
}

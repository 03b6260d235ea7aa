//! A dpkg database made by the real dpkg (not by hand): packages built with dpkg-deb, installed
//! into a temporary root, one held, one removed with its conffile kept. The agent's dpkg list
//! must equal dpkg-query's installed set on that tree, with selection and versions exact.
//! Skips with a printed reason where dpkg is not installed.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn build_deb(work: &Path, name: &str, version: &str, arch: &str, conffile: bool) -> std::path::PathBuf {
    let dir = work.join(format!("{name}-src"));
    std::fs::create_dir_all(dir.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(dir.join(format!("usr/share/doc/{name}"))).unwrap();
    std::fs::write(dir.join(format!("usr/share/doc/{name}/README")), format!("{name}\n")).unwrap();
    let control = format!(
        "Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Census Tests <tests@example.invalid>\n\
         Installed-Size: 12\nSource: {name}-src\nDescription: census test package {name}\n"
    );
    if conffile {
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(dir.join(format!("etc/{name}.conf")), "x=1\n").unwrap();
        std::fs::write(dir.join("DEBIAN/conffiles"), format!("/etc/{name}.conf\n")).unwrap();
    }
    std::fs::write(dir.join("DEBIAN/control"), control).unwrap();
    let deb = work.join(format!("{name}.deb"));
    run(Command::new("dpkg-deb").args(["--root-owner-group", "--build"]).arg(&dir).arg(&deb));
    deb
}

#[test]
fn agent_matches_dpkg_query_on_a_tree_dpkg_made() {
    if Command::new("dpkg").arg("--version").output().is_err()
        || Command::new("dpkg-deb").arg("--version").output().is_err()
    {
        eprintln!("skipped: dpkg and dpkg-deb are not installed here");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (work, root) = (tmp.path().join("work"), tmp.path().join("root"));
    let admin = root.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(d)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let host_arch = run(Command::new("dpkg").arg("--print-architecture")).trim().to_string();

    let debs = [
        build_deb(&work, "census-alpha", "1.0~rc1-1", "all", false),
        build_deb(&work, "census-beta", "2:0.9+git20240101-3", &host_arch, false),
        build_deb(&work, "census-gamma", "3.1-1", "all", true),
        build_deb(&work, "census-delta", "0.1", "all", false),
    ];
    let dpkg = || {
        let mut c = Command::new("dpkg");
        c.arg(format!("--root={}", root.display())).args([
            "--force-not-root",
            "--force-bad-path",
            "--force-script-chrootless",
            "--log=/dev/null",
        ]);
        c
    };
    run(dpkg().arg("--install").args(&debs));
    // Held, removed-with-conffiles, purged: the three states dpkg-query users trip over.
    let mut sel = dpkg().arg("--set-selections").stdin(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(sel.stdin.as_mut().unwrap(), b"census-beta hold\n").unwrap();
    assert!(sel.wait().unwrap().success());
    run(dpkg().args(["--remove", "census-gamma"]));
    run(dpkg().args(["--purge", "census-delta"]));

    let query = run(Command::new("dpkg-query").arg(format!("--admindir={}", admin.display())).args([
        "-W",
        "-f",
        "${Package}\t${Architecture}\t${Version}\t${db:Status-Abbrev}\n",
    ]));
    let expected: BTreeSet<(String, String, String)> = query
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            matches!(f[3].chars().nth(1), Some('i' | 'W' | 't')).then(|| (f[0].into(), f[1].into(), f[2].into()))
        })
        .collect();
    assert_eq!(
        expected.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
        ["census-alpha", "census-beta"],
        "dpkg itself: gamma is config-files only, delta purged\n{query}"
    );
    assert!(query.contains("census-gamma\tall\t3.1-1\trc"), "{query}");

    let out = Command::new(env!("CARGO_BIN_EXE_census-agent"))
        .args(["inventory", "--format", "json", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dpkg_pkgs: Vec<&serde_json::Value> =
        inv["software"].as_array().unwrap().iter().filter(|p| p["source"] == "dpkg").collect();
    let got: BTreeSet<(String, String, String)> = dpkg_pkgs
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_string();
            (s("name"), s("arch"), s("version"))
        })
        .collect();
    assert_eq!(got, expected);
    let beta = dpkg_pkgs.iter().find(|p| p["name"] == "census-beta").unwrap();
    assert_eq!(beta["selection"], "hold");
    assert_eq!(beta["source_package"], "census-beta-src");
    assert_eq!(beta["installed_size_bytes"], 12 * 1024);
    assert_eq!(beta["maintainer"], "Census Tests <tests@example.invalid>");
}

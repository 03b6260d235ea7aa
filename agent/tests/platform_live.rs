//! The live host's platform judgement against `systemd-detect-virt`, whose names the agent
//! uses. Skips with a printed reason where systemd-detect-virt is missing.

use std::process::Command;

use serde_json::Value;

fn detect_virt(arg: &str) -> Option<String> {
    let out = match Command::new("systemd-detect-virt").arg(arg).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: systemd-detect-virt is not available here ({e})");
            return None;
        }
    };
    // It exits 1 and prints "none" when it finds nothing.
    let text = String::from_utf8(out.stdout).expect("utf-8").trim().to_string();
    Some(if text == "none" { String::new() } else { text })
}

#[test]
fn virtualization_and_container_equal_systemd_detect_virt() {
    let (Some(vm), Some(container)) = (detect_virt("--vm"), detect_virt("--container")) else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_census-agent"))
        .args(["inventory", "--format", "json"])
        .output()
        .expect("run census-agent");
    assert!(out.status.success(), "census-agent failed: {}", String::from_utf8_lossy(&out.stderr));
    let inv: Value = serde_json::from_slice(&out.stdout).expect("inventory is JSON");
    assert_eq!(inv["os"]["virtualization"], vm.as_str(), "systemd-detect-virt --vm says {vm:?}");
    assert_eq!(inv["os"]["container"], container.as_str(), "systemd-detect-virt --container says {container:?}");
}

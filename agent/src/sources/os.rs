//! Operating system: os-release, kernel release, architecture, hostname, machine-id.

use std::collections::HashMap;
use std::io;

use census_inventory::Inventory;

use super::{Source, Warnings};
use crate::host::Host;

pub struct Os;

impl Source for Os {
    fn name(&self) -> &'static str {
        "os"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let os = &mut inv.os;
        // os-release(5): /etc/os-release wins, /usr/lib/os-release is the fallback.
        match first_present(host, &["etc/os-release", "usr/lib/os-release"]) {
            Ok(Some(text)) => {
                let fields = parse_os_release(&text);
                let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
                os.name = get("NAME");
                os.version = get("VERSION_ID");
                os.id = get("ID");
                os.pretty_name = get("PRETTY_NAME");
            }
            Ok(None) => w.push("no os-release file under etc/ or usr/lib/"),
            Err(e) => w.push(format!("os-release: {e}")),
        }
        os.kernel = value(host, "proc/sys/kernel/osrelease", w);
        os.arch = value(host, "proc/sys/kernel/arch", w);
        if os.arch.is_empty() && host.is_live() {
            os.arch = std::env::consts::ARCH.to_string();
        }
        os.hostname = match first_present(host, &["proc/sys/kernel/hostname", "etc/hostname"]) {
            Ok(Some(h)) => h.trim().to_string(),
            Ok(None) => {
                w.push("no hostname under proc/sys/kernel/hostname or etc/hostname");
                String::new()
            }
            Err(e) => {
                w.push(format!("hostname: {e}"));
                String::new()
            }
        };
        os.fqdn = fqdn(host, &os.hostname, w);
        os.boot_time = match host.read_limited("proc/stat", 16 * 1024 * 1024) {
            Ok(b) => parse_boot_time(&String::from_utf8_lossy(&b)).unwrap_or(0),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => {
                w.push(format!("proc/stat: {e}"));
                0
            }
        };
        os.timezone = timezone(host);
        os.machine_id = match first_present(host, &["etc/machine-id", "var/lib/dbus/machine-id"]) {
            Ok(Some(id)) => id.trim().to_string(),
            Ok(None) => String::new(),
            Err(e) => {
                w.push(format!("machine-id: {e}"));
                String::new()
            }
        };
    }
}

/// The fully qualified name as `hostname -f` finds it through the hosts file, without its DNS
/// fallback: the hostname itself when it has a dot, else the canonical (first) name of the first
/// `etc/hosts` line that lists the hostname, when that name has a dot and starts with the
/// hostname's label. Empty when neither gives one.
fn fqdn(host: &Host, hostname: &str, w: &mut Warnings<'_>) -> String {
    if hostname.contains('.') || hostname.is_empty() {
        return hostname.to_string();
    }
    match host.read_limited("etc/hosts", 1024 * 1024) {
        Ok(bytes) => fqdn_from_hosts(&String::from_utf8_lossy(&bytes), hostname).unwrap_or_default(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            w.push(format!("etc/hosts: {e}"));
            String::new()
        }
    }
}

pub fn fqdn_from_hosts(text: &str, hostname: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let _address = fields.next()?;
        let names: Vec<&str> = fields.collect();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(hostname)) {
            return None;
        }
        let canonical = names.first()?;
        let (label, _) = canonical.split_once('.')?;
        label.eq_ignore_ascii_case(hostname).then(|| canonical.to_string())
    })
}

/// `btime` (boot time, Unix seconds) from /proc/stat.
pub fn parse_boot_time(text: &str) -> Option<i64> {
    text.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The IANA zone: etc/timezone (Debian) when present, else the zoneinfo path etc/localtime
/// links to (`../usr/share/zoneinfo/Europe/Berlin`). Empty when neither says.
fn timezone(host: &Host) -> String {
    if let Ok(Some(tz)) = host.read_value("etc/timezone")
        && !tz.is_empty()
    {
        return tz;
    }
    // The link itself, not what it points to: resolve only its directory.
    let link = host.path("etc").join("localtime");
    std::fs::read_link(link)
        .ok()
        .and_then(|target| {
            let t = target.to_string_lossy().into_owned();
            t.split_once("zoneinfo/").map(|(_, zone)| zone.trim_start_matches("posix/").to_string())
        })
        .unwrap_or_default()
}

/// The first of `paths` that exists, read as text.
fn first_present(host: &Host, paths: &[&str]) -> io::Result<Option<String>> {
    for p in paths {
        match host.read_string(p) {
            Ok(s) => return Ok(Some(s)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io::Error::new(e.kind(), format!("{p}: {e}"))),
        }
    }
    Ok(None)
}

fn value(host: &Host, rel: &str, w: &mut Warnings<'_>) -> String {
    match host.read_value(rel) {
        Ok(Some(v)) => v,
        Ok(None) => {
            w.push(format!("{rel} is missing"));
            String::new()
        }
        Err(e) => {
            w.push(format!("{rel}: {e}"));
            String::new()
        }
    }
}

/// Parses os-release(5): `KEY=value` lines, values optionally quoted with shell-style `"` or `'`
/// quoting and backslash escapes inside double quotes. Comments, blank lines and lines that are
/// not assignments are skipped.
pub fn parse_os_release(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else { continue };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        out.insert(key.to_string(), unquote(raw));
    }
    out
}

fn unquote(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{collect_one, fixture};

    #[test]
    fn fqdn_from_the_hosts_file() {
        let hosts = "127.0.0.1 localhost\n# 192.0.2.9 web-01.wrong.example web-01\n127.0.1.1\tweb-01.example.org web-01 # debian\n";
        assert_eq!(fqdn_from_hosts(hosts, "web-01").as_deref(), Some("web-01.example.org"));
        assert_eq!(fqdn_from_hosts(hosts, "db-02"), None);
        assert_eq!(fqdn_from_hosts("127.0.1.1 web-01\n", "web-01"), None, "no dotted canonical name");
        assert_eq!(fqdn_from_hosts("127.0.1.1 other.example.org web-01\n", "web-01"), None);
        assert_eq!(fqdn_from_hosts("garbage\n\n \t\n", "web-01"), None);
    }

    #[test]
    fn os_release_quoting() {
        let f = parse_os_release(
            "# comment\nNAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nID=debian\nX=\"a \\\"b\\\" c\"\nnot a line\n=x\n",
        );
        assert_eq!(f["NAME"], "Debian GNU/Linux");
        assert_eq!(f["VERSION_ID"], "12");
        assert_eq!(f["ID"], "debian");
        assert_eq!(f["X"], "a \"b\" c");
        assert_eq!(f.len(), 4);
    }

    #[test]
    fn debian_fixture() {
        let (inv, warnings) = collect_one(&Os, &fixture("debian12"));
        assert_eq!(warnings, vec![]);
        let os = inv.os;
        assert_eq!(os.name, "Debian GNU/Linux");
        assert_eq!(os.version, "12");
        assert_eq!(os.id, "debian");
        assert_eq!(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(os.kernel, "6.1.0-18-amd64");
        assert_eq!(os.arch, "x86_64");
        assert_eq!(os.hostname, "web-01");
        assert_eq!(os.machine_id, "5f3c1d7e9a2b4c6d8e0f1a2b3c4d5e6f");
        assert_eq!(os.boot_time, 1_732_240_000);
        assert_eq!(os.timezone, "Europe/Berlin");
    }

    #[test]
    fn boot_time_and_localtime_link() {
        assert_eq!(parse_boot_time("cpu  1 2 3\nbtime 1732240000\nprocesses 9\n"), Some(1_732_240_000));
        assert_eq!(parse_boot_time("btime soon\n"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/usr/share/zoneinfo/America/Sao_Paulo", dir.path().join("etc/localtime")).unwrap();
        assert_eq!(timezone(&Host::open(dir.path()).unwrap()), "America/Sao_Paulo");
    }

    #[test]
    fn empty_root_is_partial_with_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&Os, &Host::open(dir.path()).unwrap());
        assert_eq!(inv.os.name, "");
        let messages: Vec<_> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(messages.contains(&"no os-release file under etc/ or usr/lib/"), "{messages:?}");
        assert!(messages.contains(&"proc/sys/kernel/osrelease is missing"), "{messages:?}");
        assert!(warnings.iter().all(|w| w.source == "os"));
    }
}

//! The catalog of endpoint security products: EDR sensors, prevention platforms (EPP), antivirus
//! scanners and security-relevant visibility agents, each with the evidence that shows it on a
//! host.
//!
//! The catalog is data, not code. The agent ships one ([`BUILTIN`], the file
//! `agent/catalog/security-products.toml`); an admin can replace it with a file of the same schema
//! ([`Catalog::load`]). The file is TOML:
//!
//! ```toml
//! version = 1
//!
//! [[product]]
//! id = "crowdstrike-falcon"   # unique; lowercase ASCII letters, digits and '-'
//! name = "CrowdStrike Falcon"
//! vendor = "CrowdStrike"
//! category = "edr"            # edr, epp, av or visibility
//! [product.linux]             # also [product.macos] and [product.windows]
//! packages = ["falcon-sensor"]
//! paths = ["/opt/CrowdStrike/falconctl"]
//! processes = ["falcon-sensor"]
//! units = ["falcon-sensor.service"]
//! ```
//!
//! Every per-OS table and every list in it may be left out. What each list means:
//!
//! - `packages`: names of installed packages (any package manager on Linux; package or app names
//!   on macOS; Add/Remove Programs names on Windows).
//! - `paths`: absolute paths whose existence shows the product is installed. On Windows a path
//!   starts with a drive (`C:\`) or an environment variable (`%ProgramFiles%\`).
//! - `processes`: a bare process name, or the absolute path of the executable. On Linux a bare
//!   name is compared with the kernel's `comm`, which holds at most 15 bytes of it, and with the
//!   file name of `argv[0]`; the catalog holds the full name.
//! - `units`: systemd units with their suffix (`falcon-sensor.service`) on Linux, launchd labels on
//!   macOS, service names on Windows.
//!
//! [`Catalog::parse`] refuses a catalog it does not fully understand: a version other than 1, an
//! unknown key, a malformed id, path or name, a list over its bound, or a bare process name from
//! [`GENERIC_PROCESS_NAMES`] (such a process is named by its executable's path instead). The
//! error names the product and the field.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

/// The catalog compiled into the agent.
pub const BUILTIN: &str = include_str!("../catalog/security-products.toml");

/// Products a catalog may hold at most.
pub const MAX_PRODUCTS: usize = 1000;

/// Bytes a catalog file may hold at most.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Entries one evidence list may hold at most.
pub const MAX_ENTRIES: usize = 64;

/// Bytes of one evidence entry at most.
pub const MAX_ENTRY_BYTES: usize = 256;

/// Bytes of a product's name or vendor at most.
pub const MAX_NAME_BYTES: usize = 128;

/// Bytes of a product id at most.
pub const MAX_ID_BYTES: usize = 64;

/// Process names that several unrelated programs use. A catalog may name such a process only by
/// its executable's absolute path. The comparison ignores ASCII case and a trailing `.exe`.
pub const GENERIC_PROCESS_NAMES: [&str; 12] =
    ["pmd", "cma", "ma", "agent", "network", "scanner", "wdserver", "startd", "utild", "sfc.exe", "cb.exe", "avp"];

/// The suffixes a Linux unit name may end with (the systemd unit types).
const UNIT_SUFFIXES: [&str; 11] = [
    ".service",
    ".socket",
    ".timer",
    ".path",
    ".target",
    ".mount",
    ".automount",
    ".swap",
    ".slice",
    ".scope",
    ".device",
];

/// The main role of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// A detection and response sensor; also a product that both detects and prevents.
    Edr,
    /// A prevention or antivirus platform.
    Epp,
    /// A malware scanner.
    Av,
    /// A security-relevant agent that protects nothing itself: telemetry, inventory, forensics,
    /// management.
    Visibility,
}

impl Category {
    /// Every category, in the order error messages list them.
    pub const ALL: [Category; 4] = [Category::Edr, Category::Epp, Category::Av, Category::Visibility];

    /// The name the catalog file uses: `edr`, `epp`, `av` or `visibility`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Edr => "edr",
            Category::Epp => "epp",
            Category::Av => "av",
            Category::Visibility => "visibility",
        }
    }

    fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// What shows a product on one operating system. Each list may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Evidence {
    /// Installed package names (Windows: Add/Remove Programs names).
    pub packages: Vec<String>,
    /// Absolute paths whose existence shows the product is installed.
    pub paths: Vec<String>,
    /// Bare process names or absolute executable paths.
    pub processes: Vec<String>,
    /// systemd units (Linux), launchd labels (macOS), service names (Windows).
    pub units: Vec<String>,
}

impl Evidence {
    /// Whether every list is empty.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.paths.is_empty() && self.processes.is_empty() && self.units.is_empty()
    }
}

/// One product of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Unique within the catalog: 1 to 64 lowercase ASCII letters, digits and `-`.
    pub id: String,
    /// The product's name for people.
    pub name: String,
    pub vendor: String,
    pub category: Category,
    pub linux: Evidence,
    pub macos: Evidence,
    pub windows: Evidence,
}

/// A checked catalog: at least one product, ids unique, every entry well-formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// In the order of the file.
    pub products: Vec<Product>,
}

/// A catalog file that cannot be read or is refused.
#[derive(Debug, thiserror::Error)]
#[error("security catalog {path}: {message}")]
pub struct CatalogError {
    pub path: String,
    pub message: String,
}

/// The part of the file read before anything else, so that a file of another version is refused
/// for its version rather than for a key this version does not know.
#[derive(Deserialize)]
struct VersionOnly {
    version: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    /// Already checked through [`VersionOnly`]; declared so that the key is not unknown.
    #[allow(dead_code)]
    version: i64,
    #[serde(default)]
    product: Vec<RawProduct>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    id: String,
    name: String,
    vendor: String,
    category: String,
    #[serde(default)]
    linux: Evidence,
    #[serde(default)]
    macos: Evidence,
    #[serde(default)]
    windows: Evidence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Os {
    Linux,
    Macos,
    Windows,
}

impl Os {
    fn key(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Macos => "macos",
            Os::Windows => "windows",
        }
    }

    /// Whether `path` is absolute on this system.
    fn is_absolute(self, path: &str) -> bool {
        match self {
            Os::Linux | Os::Macos => path.starts_with('/'),
            Os::Windows => is_windows_absolute(path),
        }
    }

    /// Whether `name` holds a path separator of this system.
    fn has_separator(self, name: &str) -> bool {
        match self {
            Os::Linux | Os::Macos => name.contains('/'),
            Os::Windows => name.contains(['/', '\\']),
        }
    }
}

/// A drive path (`C:\...`) or a path under an environment variable (`%ProgramFiles%\...`).
fn is_windows_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\' {
        return true;
    }
    let Some((var, rest)) = path.strip_prefix('%').and_then(|p| p.split_once('%')) else { return false };
    !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || "_()".contains(c)) && rest.starts_with('\\')
}

/// Whether `name` is one of [`GENERIC_PROCESS_NAMES`], ignoring ASCII case and a trailing `.exe`.
pub fn is_generic_process_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".exe").unwrap_or(&lower);
    GENERIC_PROCESS_NAMES.iter().any(|g| *g == lower || g.strip_suffix(".exe").unwrap_or(g) == stem)
}

fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_BYTES).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks text that people read or that names a thing: not empty, at most `max` bytes, no
/// control characters.
fn check_text(value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.len() > max {
        return Err(format!("{value:?} is longer than {max} bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{value:?} contains a control character"));
    }
    Ok(())
}

/// Checks one entry of list `field` on `os`.
fn check_entry(os: Os, field: &str, value: &str) -> Result<(), String> {
    check_text(value, MAX_ENTRY_BYTES)?;
    match field {
        "paths" if !os.is_absolute(value) => Err(match os {
            Os::Windows => format!("{value:?} is not an absolute path (C:\\... or %VARIABLE%\\...)"),
            _ => format!("{value:?} is not an absolute path"),
        }),
        "processes" if os.has_separator(value) && !os.is_absolute(value) => {
            Err(format!("{value:?} is neither a bare process name nor an absolute path"))
        }
        "processes" if !os.has_separator(value) && is_generic_process_name(value) => {
            Err(format!("{value:?} is too generic to identify a product; give the executable's absolute path instead"))
        }
        "units" if os == Os::Linux && !UNIT_SUFFIXES.iter().any(|s| value.len() > s.len() && value.ends_with(s)) => {
            Err(format!("{value:?} has no unit type suffix (such as .service, .socket or .timer)"))
        }
        _ => Ok(()),
    }
}

fn check_evidence(os: Os, evidence: &Evidence) -> Result<(), String> {
    let lists = [
        ("packages", &evidence.packages),
        ("paths", &evidence.paths),
        ("processes", &evidence.processes),
        ("units", &evidence.units),
    ];
    for (field, list) in lists {
        let at = |message: String| format!("{}.{field}: {message}", os.key());
        if list.len() > MAX_ENTRIES {
            return Err(at(format!("{} entries, at most {MAX_ENTRIES} are allowed", list.len())));
        }
        for value in list {
            check_entry(os, field, value).map_err(at)?;
        }
    }
    Ok(())
}

/// Checks one product; `number` is its 1-based place in the file.
fn check_product(number: usize, raw: RawProduct) -> Result<Product, String> {
    if !is_valid_id(&raw.id) {
        return Err(format!(
            "product #{number}: id: {:?} is not 1 to {MAX_ID_BYTES} lowercase ASCII letters, digits and '-'",
            raw.id
        ));
    }
    let at = |field: &str, message: String| format!("product {:?}: {field}: {message}", raw.id);
    check_text(&raw.name, MAX_NAME_BYTES).map_err(|m| at("name", m))?;
    check_text(&raw.vendor, MAX_NAME_BYTES).map_err(|m| at("vendor", m))?;
    let category = Category::from_name(&raw.category).ok_or_else(|| {
        let names: Vec<&str> = Category::ALL.iter().map(Category::as_str).collect();
        at("category", format!("{:?} is not one of {}", raw.category, names.join(", ")))
    })?;
    let systems = [(Os::Linux, &raw.linux), (Os::Macos, &raw.macos), (Os::Windows, &raw.windows)];
    for (os, evidence) in systems {
        check_evidence(os, evidence).map_err(|m| format!("product {:?}: {m}", raw.id))?;
    }
    if systems.iter().all(|(_, e)| e.is_empty()) {
        return Err(format!("product {:?}: no evidence on any operating system", raw.id));
    }
    Ok(Product {
        id: raw.id,
        name: raw.name,
        vendor: raw.vendor,
        category,
        linux: raw.linux,
        macos: raw.macos,
        windows: raw.windows,
    })
}

impl Catalog {
    /// The catalog compiled into the agent ([`BUILTIN`]).
    ///
    /// # Panics
    ///
    /// When the compiled-in file does not pass [`Catalog::parse`]; a unit test keeps that from
    /// being released.
    pub fn builtin() -> Catalog {
        Catalog::parse(BUILTIN).unwrap_or_else(|e| panic!("the built-in security catalog is invalid: {e}"))
    }

    /// Parses and checks a catalog's text. The error names the product (by id, or by its 1-based
    /// place in the file when the id itself is wrong) and the field.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        let toml_error = |e: toml::de::Error| crate::config::toml_error(text, &e);
        match toml::from_str::<VersionOnly>(text).map_err(toml_error)?.version {
            Some(1) => {}
            Some(v) => return Err(format!("version: {v} is not understood; this agent understands version 1")),
            None => return Err("version: missing; this agent understands version 1".into()),
        }
        let raw: RawCatalog = toml::from_str(text).map_err(toml_error)?;
        if raw.product.is_empty() {
            return Err("product: the catalog has no products".into());
        }
        if raw.product.len() > MAX_PRODUCTS {
            return Err(format!("product: {} products, at most {MAX_PRODUCTS} are allowed", raw.product.len()));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut products = Vec::with_capacity(raw.product.len());
        for (i, raw) in raw.product.into_iter().enumerate() {
            let product = check_product(i + 1, raw)?;
            if let Some(first) = seen.insert(product.id.clone(), i + 1) {
                return Err(format!("product {:?}: id: already used by product #{first}", product.id));
            }
            products.push(product);
        }
        Ok(Catalog { products })
    }

    /// Reads the catalog file at `path` (at most [`MAX_FILE_BYTES`]) and checks it.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let err = |message: String| CatalogError { path: path.display().to_string(), message };
        let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        let mut text = String::new();
        file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text).map_err(|e| err(e.to_string()))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(err(format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20)));
        }
        Catalog::parse(&text).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A catalog of one product `x` whose body (after `category`) is `body`.
    fn one(body: &str) -> String {
        format!("version = 1\n[[product]]\nid = \"x\"\nname = \"X\"\nvendor = \"V\"\ncategory = \"edr\"\n{body}")
    }

    fn error(text: &str) -> String {
        Catalog::parse(text).expect_err("the catalog is refused")
    }

    #[test]
    fn the_builtin_catalog_is_valid_and_names_the_main_products() {
        let catalog = Catalog::builtin();
        assert!(catalog.products.len() >= 20, "{} products", catalog.products.len());
        let ids: Vec<&str> = catalog.products.iter().map(|p| p.id.as_str()).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "ids are unique");
        for id in ["crowdstrike-falcon", "sentinelone", "microsoft-defender-endpoint"] {
            assert!(ids.contains(&id), "{id} is missing");
        }
        let falcon = &catalog.products[ids.iter().position(|id| *id == "crowdstrike-falcon").unwrap()];
        assert_eq!(falcon.category, Category::Edr);
        assert!(falcon.linux.units.contains(&"falcon-sensor.service".to_string()));
    }

    #[test]
    fn the_builtin_catalog_names_generic_processes_only_by_path() {
        for p in Catalog::builtin().products {
            for (os, processes) in
                [("linux", &p.linux.processes), ("macos", &p.macos.processes), ("windows", &p.windows.processes)]
            {
                for name in processes {
                    let bare = !name.contains(['/', '\\']);
                    assert!(!(bare && is_generic_process_name(name)), "{}: {os}: {name}", p.id);
                }
            }
        }
    }

    #[test]
    fn generic_names_are_compared_without_case_and_exe_suffix() {
        for name in ["pmd", "PMD", "agent.exe", "Avp.exe", "sfc.exe", "SFC", "cb.EXE"] {
            assert!(is_generic_process_name(name), "{name}");
        }
        for name in ["pmd2", "avpui.exe", "falcon-sensor", "s1-agent", "cma.d"] {
            assert!(!is_generic_process_name(name), "{name}");
        }
    }

    #[test]
    fn a_minimal_catalog_round_trips() {
        let text = r#"
            # a comment
            version = 1

            [[product]]
            id = "acme-edr-2"
            name = "Acme EDR"
            vendor = "Acme"
            category = "visibility"
            [product.linux]
            paths = ["/opt/acme"]
            processes = ["acmed", "/opt/acme/bin/pmd"]
            units = ["acme.service", "acme.socket"]
            [product.windows]
            packages = ["Acme EDR Sensor"]
            paths = ['%ProgramFiles(x86)%\Acme', 'c:\Acme\acme.exe']
            processes = ['C:\Acme\ma.exe', "acme.exe"]
            units = ["Acme Sensor"]

            [[product]]
            id = "b"
            name = "B"
            vendor = "B"
            category = "av"
            [product.macos]
            units = ["com.b.daemon"]
        "#;
        let expected = Catalog {
            products: vec![
                Product {
                    id: "acme-edr-2".into(),
                    name: "Acme EDR".into(),
                    vendor: "Acme".into(),
                    category: Category::Visibility,
                    linux: Evidence {
                        packages: vec![],
                        paths: strings(&["/opt/acme"]),
                        processes: strings(&["acmed", "/opt/acme/bin/pmd"]),
                        units: strings(&["acme.service", "acme.socket"]),
                    },
                    macos: Evidence::default(),
                    windows: Evidence {
                        packages: strings(&["Acme EDR Sensor"]),
                        paths: strings(&[r"%ProgramFiles(x86)%\Acme", r"c:\Acme\acme.exe"]),
                        processes: strings(&[r"C:\Acme\ma.exe", "acme.exe"]),
                        units: strings(&["Acme Sensor"]),
                    },
                },
                Product {
                    id: "b".into(),
                    name: "B".into(),
                    vendor: "B".into(),
                    category: Category::Av,
                    linux: Evidence::default(),
                    macos: Evidence { units: strings(&["com.b.daemon"]), ..Default::default() },
                    windows: Evidence::default(),
                },
            ],
        };
        assert_eq!(Catalog::parse(text).unwrap(), expected);
        assert_eq!(Category::Visibility.as_str(), "visibility");
    }

    #[test]
    fn bad_catalogs_name_what_is_wrong() {
        let valid = one("[product.linux]\npaths = [\"/x\"]");
        let long = "a".repeat(257);
        let many = format!("[product.linux]\npackages = [{}]", vec!["\"p\""; 65].join(", "));
        let cases: Vec<(String, &str)> = vec![
            // The file as a whole.
            ("version = 1\n[[product]\n".into(), "line 2, column "),
            ("[[product]]\nid = \"x\"".into(), "version: missing; this agent understands version 1"),
            ("version = 2\nfuture = true".into(), "version: 2 is not understood; this agent understands version 1"),
            ("version = 1\nproducts = []".into(), "unknown field `products`"),
            ("version = 1".into(), "the catalog has no products"),
            (one("colour = \"red\"\n[product.linux]\npaths = [\"/x\"]"), "unknown field `colour`"),
            (one("[product.linux]\npath = [\"/x\"]"), "unknown field `path`"),
            (one("[product.bsd]\npaths = [\"/x\"]"), "unknown field `bsd`"),
            ("version = 1\n[[product]]\nid = \"x\"\nname = \"X\"\nvendor = \"V\"".into(), "missing field `category`"),
            // Identity.
            (valid.replace("\"x\"", "\"X_1\""), "product #1: id: \"X_1\" is not"),
            (valid.replace("id = \"x\"", "id = \"\""), "product #1: id: \"\" is not"),
            (valid.replace("\"x\"", &format!("{:?}", "a".repeat(65))), "product #1: id:"),
            (
                format!("{}\n{}", valid, valid.replacen("version = 1\n", "", 1)),
                "product \"x\": id: already used by product #1",
            ),
            (valid.replace("\"X\"", "\"\""), "product \"x\": name: is empty"),
            (valid.replace("\"V\"", "\"V\\n\""), "vendor: \"V\\n\" contains a control"),
            (valid.replace("\"X\"", &format!("{:?}", "n".repeat(129))), "name: \"nnnn"),
            (valid.replace("\"edr\"", "\"xdr\""), "category: \"xdr\" is not one of edr, epp, av, visibility"),
            // Evidence.
            (one(""), "product \"x\": no evidence on any operating system"),
            (one("[product.macos]\npaths = []"), "no evidence on any operating system"),
            (
                one("[product.linux]\npaths = [\"opt/x\"]"),
                "product \"x\": linux.paths: \"opt/x\" is not an absolute path",
            ),
            (one("[product.macos]\npaths = ['C:\\x']"), "macos.paths: \"C:\\\\x\" is not an absolute path"),
            (one("[product.windows]\npaths = [\"/opt/x\"]"), "windows.paths: \"/opt/x\" is not an absolute path"),
            (one("[product.windows]\npaths = ['%%\\x']"), "windows.paths: \"%%\\\\x\" is not an absolute path"),
            (one("[product.linux]\npackages = [\"\"]"), "linux.packages: is empty"),
            (one(&format!("[product.linux]\nunits = [\"{long}.service\"]")), "is longer than 256 bytes"),
            (one("[product.linux]\npackages = [\"a\\tb\"]"), "linux.packages: \"a\\tb\" contains a control character"),
            (one(&many), "linux.packages: 65 entries, at most 64 are allowed"),
            (one("[product.linux]\nprocesses = [\"bin/x\"]"), "neither a bare process name nor an absolute path"),
            (one("[product.windows]\nprocesses = ['Sub\\x.exe']"), "neither a bare process name nor an absolute path"),
            (
                one("[product.linux]\nprocesses = [\"pmd\"]"),
                "linux.processes: \"pmd\" is too generic to identify a product; give the executable's absolute path",
            ),
            (one("[product.windows]\nprocesses = [\"SFC.exe\"]"), "windows.processes: \"SFC.exe\" is too generic"),
            (one("[product.macos]\nprocesses = [\"Agent\"]"), "macos.processes: \"Agent\" is too generic"),
            (
                one("[product.linux]\nunits = [\"falcon-sensor\"]"),
                "linux.units: \"falcon-sensor\" has no unit type suffix",
            ),
        ];
        for (text, want) in &cases {
            let got = error(text);
            assert!(got.contains(want), "for\n{text}\nwanted {want:?}, got {got:?}");
        }
    }

    #[test]
    fn the_product_count_is_bounded() {
        let product = "[[product]]\nid = \"p{}\"\nname = \"P\"\nvendor = \"V\"\ncategory = \"av\"\n\
                       [product.linux]\npaths = [\"/p\"]\n";
        let text = (0..=MAX_PRODUCTS).fold(String::from("version = 1\n"), |mut s, i| {
            s.push_str(&product.replace("{}", &i.to_string()));
            s
        });
        assert_eq!(error(&text), "product: 1001 products, at most 1000 are allowed");
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.toml");
        std::fs::write(&good, one("[product.linux]\npaths = [\"/x\"]")).unwrap();
        assert_eq!(Catalog::load(&good).unwrap().products[0].id, "x");

        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "version = 3").unwrap();
        let e = Catalog::load(&bad).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "security catalog {}: version: 3 is not understood; this agent understands version 1",
                bad.display()
            )
        );

        let big = dir.path().join("big.toml");
        std::fs::write(&big, " ".repeat(MAX_FILE_BYTES as usize + 1)).unwrap();
        assert!(Catalog::load(&big).unwrap_err().to_string().ends_with("the file is larger than 4 MiB"));

        let missing = dir.path().join("missing.toml");
        assert!(Catalog::load(&missing).unwrap_err().to_string().starts_with("security catalog "));
    }
}

//! npm: every `node_modules/<name>/package.json` (or `node_modules/@scope/<name>/package.json`) is an
//! installed package that owns its directory, nested `node_modules` being packages of their own. npm
//! records no per-file checksums. `node_modules/.package-lock.json` (the hidden lockfile) is kept as
//! records, one per package path, to tell whether it differs only for packages that changed.

use serde_json::Value;

use super::inventory::{Builder, Records};
use super::paths::{file_name, join, parent};
use super::{DatabaseFiles, Ecosystem, MAX_PACKAGE_FILE_BYTES, Package, PackageKey, Wanted};

const PACKAGE_JSON: &str = "package.json";
const HIDDEN_LOCKFILE: &str = ".package-lock.json";

pub(super) fn wanted(path: &str) -> Option<Wanted> {
    (package_dir(path).is_some() || is_hidden_lockfile(path)).then_some(Wanted::Content {
        limit: MAX_PACKAGE_FILE_BYTES,
    })
}

fn is_node_modules(dir: &str) -> bool {
    file_name(dir) == "node_modules"
}

/// The package directory of a `package.json` that sits directly in `node_modules/<name>/` or
/// `node_modules/@scope/<name>/`.
fn package_dir(path: &str) -> Option<&str> {
    let dir = path.strip_suffix(PACKAGE_JSON)?.strip_suffix('/')?;
    let name = file_name(dir);
    if name.is_empty() || name.starts_with(['.', '@']) || name == dir {
        return None;
    }
    let holder = parent(dir);
    let in_node_modules = is_node_modules(holder)
        || (file_name(holder).starts_with('@')
            && holder != file_name(holder)
            && is_node_modules(parent(holder)));
    in_node_modules.then_some(dir)
}

fn is_hidden_lockfile(path: &str) -> bool {
    path.strip_suffix(HIDDEN_LOCKFILE)
        .and_then(|dir| dir.strip_suffix('/'))
        .is_some_and(is_node_modules)
}

pub(super) fn read(files: &DatabaseFiles, out: &mut Builder) {
    for path in files.paths() {
        if let Some(dir) = package_dir(path) {
            read_package(files, path, dir, out);
        } else if is_hidden_lockfile(path) {
            read_lockfile(files, path, out);
        }
    }
}

fn parse(path: &str, text: &[u8], out: &mut Builder) -> Option<Value> {
    match serde_json::from_slice(text) {
        Ok(value) => Some(value),
        Err(why) => {
            out.note(path, format!("not JSON: {why}"));
            None
        }
    }
}

fn string_field(value: &Value, name: &str) -> Option<String> {
    value.get(name)?.as_str().map(str::to_owned)
}

fn read_package(files: &DatabaseFiles, path: &str, dir: &str, out: &mut Builder) {
    let Some(manifest) = out
        .content(files, path)
        .and_then(|text| parse(path, text, out))
    else {
        return;
    };
    let name = string_field(&manifest, "name").unwrap_or_else(|| dir_package_name(dir));
    let Some(version) = string_field(&manifest, "version") else {
        out.note(path, "no version: ignored");
        return;
    };
    let package = Package {
        key: key(name, dir),
        version,
        source: None,
        database: path.to_owned(),
        files: Vec::new(),
        fingerprint: [0; 32],
    };
    let index = out.package(package, b"");
    out.root(dir.to_owned(), index);
}

fn key(name: String, dir: &str) -> PackageKey {
    PackageKey {
        ecosystem: Ecosystem::Npm,
        name,
        arch: None,
        location: Some(dir.to_owned()),
    }
}

/// `@scope/name` or `name` from the directory's path.
fn dir_package_name(dir: &str) -> String {
    let name = file_name(dir);
    let scope = file_name(parent(dir));
    if scope.starts_with('@') {
        format!("{scope}/{name}")
    } else {
        name.to_owned()
    }
}

/// `packages` keyed by path relative to the directory holding `node_modules` (`""` is the project
/// itself, not an installed package).
fn read_lockfile(files: &DatabaseFiles, path: &str, out: &mut Builder) {
    let Some(text) = out.content(files, path) else {
        return;
    };
    let mut records = Records::new(text);
    let project = parent(parent(path));
    let lockfile = parse(path, text, out);
    if let Some(Value::Object(packages)) = lockfile.as_ref().and_then(|v| v.get("packages")) {
        for (relative, entry) in packages {
            let Some(dir) = join(project, relative).filter(|_| !relative.is_empty()) else {
                continue;
            };
            let name = string_field(entry, "name").unwrap_or_else(|| dir_package_name(&dir));
            records.add(key(name, &dir), entry.to_string().as_bytes());
        }
    }
    out.records(path, records);
}

/// Whether `path` is npm's own state (the hidden lockfile).
pub(super) fn is_state_path(path: &str) -> bool {
    is_hidden_lockfile(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::{Recorded, read_inventory};

    #[test]
    fn only_package_json_directly_in_node_modules_is_a_package() {
        assert_eq!(
            package_dir("node_modules/a/package.json"),
            Some("node_modules/a")
        );
        assert_eq!(
            package_dir("app/node_modules/@types/node/package.json"),
            Some("app/node_modules/@types/node")
        );
        assert_eq!(
            package_dir("x/node_modules/a/node_modules/b/package.json"),
            Some("x/node_modules/a/node_modules/b")
        );
        for not in [
            "package.json",
            "app/package.json",
            "node_modules/a/lib/package.json",
            "node_modules/@types/package.json",
            "node_modules/.bin/package.json",
            "node_modules/a/package.json.bak",
            "@types/node/package.json",
        ] {
            assert_eq!(package_dir(not), None, "{not}");
        }
        assert!(is_hidden_lockfile("app/node_modules/.package-lock.json"));
        assert!(is_hidden_lockfile("node_modules/.package-lock.json"));
        assert!(!is_hidden_lockfile("app/.package-lock.json"));
    }

    #[test]
    fn nested_packages_own_their_own_directories() {
        let mut files = DatabaseFiles::new();
        let json = |name: &str, version: &str| {
            format!(r#"{{"name": "{name}", "version": "{version}", "dependencies": {{}}}}"#)
                .into_bytes()
        };
        files.insert_content("app/node_modules/a/package.json", json("a", "1.0.0"));
        files.insert_content(
            "app/node_modules/a/node_modules/b/package.json",
            json("b", "2.0.0"),
        );
        files.insert_content("app/node_modules/b/package.json", json("b", "1.0.0"));
        files.insert_content(
            "app/node_modules/@s/c/package.json",
            json("@s/c", "3.0.0-rc.1"),
        );
        files.insert_content("app/node_modules/bad/package.json", b"{not json".to_vec());
        files.insert_content(
            "app/node_modules/nover/package.json",
            br#"{"name":"nover"}"#.to_vec(),
        );
        let inventory = read_inventory(&files);
        let owner = |path: &str| {
            inventory.owners(path).first().map(|o| {
                (
                    o.package.name().to_owned(),
                    o.package.version.clone(),
                    o.record().clone(),
                )
            })
        };
        assert_eq!(
            owner("app/node_modules/a/index.js"),
            Some(("a".into(), "1.0.0".into(), Recorded::Nothing))
        );
        assert_eq!(
            owner("app/node_modules/a/node_modules/b/lib/x.js").map(|o| o.1),
            Some("2.0.0".into())
        );
        assert_eq!(
            owner("app/node_modules/b/x.js").map(|o| o.1),
            Some("1.0.0".into())
        );
        assert_eq!(
            owner("app/node_modules/@s/c/x.js").map(|o| o.0),
            Some("@s/c".into())
        );
        assert_eq!(owner("app/node_modules/.bin/a"), None);
        assert_eq!(owner("app/index.js"), None);
        assert_eq!(inventory.packages().len(), 4);
        assert_eq!(inventory.notes().len(), 2, "{:?}", inventory.notes());
    }
}

//! Explanations on the real Debian testbed pairs, through the binary (issue 10, "What must hold").
//! Built by ../shared/testbed/make-images.sh into /var/tmp/testbed; skipped when it is absent.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::{Report, compare};

const TESTBED: &str = "/var/tmp/testbed";

/// The layouts of `names` and the rootfs trees they were made from, or `None` (said) when not built.
fn testbed(layouts: &[&str], trees: &[&str]) -> Option<PathBuf> {
    let root = PathBuf::from(TESTBED);
    let ready = layouts
        .iter()
        .all(|name| root.join("layouts").join(name).join("index.json").is_file())
        && trees.iter().all(|name| {
            root.join("rootfs")
                .join(name)
                .join("var/lib/dpkg/status")
                .is_file()
        });
    if ready {
        Some(root)
    } else {
        eprintln!(
            "skipping: the testbed at {TESTBED} is not built (../shared/testbed/make-images.sh)"
        );
        None
    }
}

fn layout(root: &Path, name: &str) -> String {
    support::path_str(&root.join("layouts").join(name))
}

/// `name:arch` → version of the installed packages in a tree's dpkg status (read here, not by the tool).
fn installed(root: &Path, tree: &str) -> BTreeMap<String, String> {
    let status =
        std::fs::read_to_string(root.join("rootfs").join(tree).join("var/lib/dpkg/status"))
            .expect("dpkg status");
    let mut out = BTreeMap::new();
    for paragraph in status.split("\n\n") {
        let field = |name: &str| {
            paragraph
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::to_owned)
        };
        let installed = field("Status").is_some_and(|s| s.ends_with(" installed"));
        if let (true, Some(name), Some(arch), Some(version)) = (
            installed,
            field("Package"),
            field("Architecture"),
            field("Version"),
        ) {
            out.insert(format!("{name}:{arch}"), version);
        }
    }
    out
}

/// What changed between two status files: `dpkg name:arch` → [old, new] (`null` where absent).
fn status_changes(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> BTreeMap<String, Value> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| (format!("dpkg {k}"), json!([a.get(k), b.get(k)])))
        .collect()
}

fn differences(report: &Report) -> &[Value] {
    report.0["differences"].as_array().expect("differences")
}

/// The `Pkg` rows: key → the version delta's values.
fn package_rows(report: &Report) -> BTreeMap<String, Value> {
    differences(report)
        .iter()
        .filter(|d| d["kind"] == "Pkg")
        .map(|d| {
            assert_eq!(d["contextPath"], "/packages");
            (
                d["key"].as_str().unwrap_or_default().to_owned(),
                d["deltas"][0]["values"].clone(),
            )
        })
        .collect()
}

/// Shown `File` differences of the files themselves (not what differs inside them).
fn shown_files(report: &Report) -> Vec<&Value> {
    differences(report)
        .iter()
        .filter(|d| {
            d["kind"] == "File"
                && d["shown"] == true
                && !d["contextPath"].as_str().unwrap_or_default().contains('!')
        })
        .collect()
}

fn texts<'d>(difference: &'d Value, rule: &str) -> Vec<&'d str> {
    difference["explanations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["rule"] == rule)
        .map(|e| e["text"].as_str().unwrap_or_default())
        .collect()
}

/// Which sides hold a regular file (from the difference's tar entries).
fn file_sides(difference: &Value) -> Vec<usize> {
    (0..2)
        .filter(|&i| difference["entries"][i]["kind"] == "file")
        .collect()
}

#[test]
fn rebuild_pair_every_shown_difference_explained_zero_unexplained() {
    let Some(root) = testbed(&["deb-a", "deb-b"], &[]) else {
        return;
    };
    let (a, b) = (layout(&root, "deb-a"), layout(&root, "deb-b"));
    // two runs (the pair is large): JSON with --fail-on unexplained, the table with the default
    let (code, report) = compare(&["--semantic", "--fail-on", "unexplained"], &a, &b);
    assert_eq!(
        code, 0,
        "--fail-on unexplained: every shown difference is explained"
    );
    let verdict = &report.0["verdict"];
    assert_eq!(verdict["unexplained"], 0, "{verdict}");
    assert_eq!(verdict["alerts"], 0, "{verdict}");
    assert!(
        verdict["line"]
            .as_str()
            .unwrap_or_default()
            .ends_with("· 0 unexplained"),
        "{verdict}"
    );
    let files = shown_files(&report);
    assert_eq!(files.len(), 4, "{files:?}");
    for file in files {
        let noise = file["explanations"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["severity"] == "noise");
        assert!(noise, "explained as noise: {file}");
    }
    let table = support::run(&["--semantic", &a, &b]);
    assert_eq!(table.code, 1, "default --fail-on any: differences remain");
    // the table's summary ends with the same verdict line
    assert!(
        table
            .stderr
            .lines()
            .any(|l| l == format!("verdict: {}", verdict["line"].as_str().unwrap_or_default())),
        "{}",
        table.stderr
    );
}

#[test]
fn upgrade_pair_two_upgrades_with_the_status_versions_explain_every_file_under_usr() {
    let Some(root) = testbed(&["deb-a", "deb-d"], &["a", "d"]) else {
        return;
    };
    let (_, report) = compare(
        &["--semantic"],
        &layout(&root, "deb-a"),
        &layout(&root, "deb-d"),
    );
    let expected = status_changes(&installed(&root, "a"), &installed(&root, "d"));
    assert_eq!(expected.len(), 2, "{expected:?}");
    assert_eq!(package_rows(&report), expected);
    let changes: Vec<String> = expected
        .iter()
        .map(|(key, versions)| {
            format!(
                "{} {} → {}",
                key.trim_start_matches("dpkg "),
                versions[0].as_str().unwrap_or_default(),
                versions[1].as_str().unwrap_or_default()
            )
        })
        .collect();
    let under_usr: Vec<&Value> = shown_files(&report)
        .into_iter()
        .filter(|d| d["key"].as_str().unwrap_or_default().starts_with("usr/"))
        .collect();
    assert!(under_usr.len() > 100, "{}", under_usr.len());
    for file in under_usr {
        let explained = texts(file, "package");
        let [text] = explained.as_slice() else {
            panic!("one package explanation: {file}");
        };
        assert!(
            changes.iter().any(|c| *text == format!("explained by {c}")
                || text.starts_with(&format!("explained by {c} ("))),
            "attributed to one of {changes:?}: {text}"
        );
        let proof = match file_sides(file).as_slice() {
            [_, _] => "(matches the package on both sides)".to_owned(),
            [side] => format!("(matches the package on input {side})"),
            // dpkg records no checksum for directories and symlinks
            _ => "(not verified: the package records no checksum for it)".to_owned(),
        };
        assert!(text.ends_with(&proof), "{proof}: {file}");
    }
}

#[test]
fn curl_pair_sixteen_added_packages_own_every_added_file() {
    let Some(root) = testbed(&["deb-a", "deb-c"], &["a", "c"]) else {
        return;
    };
    let (_, report) = compare(
        &["--semantic"],
        &layout(&root, "deb-a"),
        &layout(&root, "deb-c"),
    );
    let expected = status_changes(&installed(&root, "a"), &installed(&root, "c"));
    assert_eq!(expected.len(), 16, "{expected:?}");
    assert!(expected.values().all(|v| v[0].is_null()), "all added");
    assert_eq!(package_rows(&report), expected);
    let added_packages: Vec<String> = expected
        .iter()
        .map(|(key, v)| {
            format!(
                "{} {} added",
                key.trim_start_matches("dpkg "),
                v[1].as_str().unwrap_or_default()
            )
        })
        .collect();
    let added: Vec<&Value> = shown_files(&report)
        .into_iter()
        .filter(|d| d["deltas"][0]["values"] == json!([false, true]))
        .collect();
    assert!(added.len() > 100, "{}", added.len());
    for file in added {
        let key = file["key"].as_str().unwrap_or_default();
        if key.starts_with("var/lib/dpkg/info/") {
            assert_eq!(
                texts(file, "package-db"),
                ["package database: its records differ only for packages that changed"],
                "{file}"
            );
            continue;
        }
        let explained = texts(file, "package");
        let [text] = explained.as_slice() else {
            panic!("one package explanation: {file}");
        };
        assert!(
            added_packages
                .iter()
                .any(|p| text.starts_with(&format!("explained by {p} ("))),
            "owned by one of the added packages: {text}"
        );
        if !file_sides(file).is_empty() {
            assert!(text.ends_with("(matches the package on input 1)"), "{text}");
        }
    }
    // dpkg's `available` gained the added packages' paragraphs only
    let available = differences(&report)
        .iter()
        .find(|d| d["key"] == "var/lib/dpkg/available")
        .expect("available differs");
    assert_eq!(
        texts(available, "package-db"),
        ["package database: its records differ only for packages that changed"],
        "{available}"
    );
}

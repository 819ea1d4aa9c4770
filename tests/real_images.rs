//! Real images, built by Debian's umoci and converted by skopeo (`tests/real/make-busybox-pair.sh`).
//!
//! The images are built once per test run under `target/`. Building needs root and the packages
//! `umoci skopeo busybox-static` (`.ci/run` installs them): without them the tests fail when `CI` is
//! set and are skipped otherwise.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{Report, compare, run, show};

/// Where the images are, or why they could not be built.
fn images() -> Option<&'static Path> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(build);
    match built {
        Ok(dir) => Some(dir),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("real images are required in CI but cannot be built: {why}")
        }
        Err(why) => {
            eprintln!("skipping: real images cannot be built here: {why}");
            None
        }
    }
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the script once; an `Err` says why it cannot run here. A script that can run but fails is a
/// test failure everywhere.
fn build() -> Result<PathBuf, String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .map_err(|e| format!("id -u: {e}"))?;
    if uid != "0" {
        return Err(format!("needs root (uid {uid})"));
    }
    for tool in ["umoci", "skopeo"] {
        if !support::have_program(tool) {
            return Err(format!("{tool} not found (apt-get install umoci skopeo)"));
        }
    }
    if !succeeds(
        "sh",
        &[
            "-c",
            "dpkg-query -W -f '${Status}' busybox-static | grep -q 'ok installed'",
        ],
    ) {
        return Err("busybox-static is not installed".into());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real/make-busybox-pair.sh");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("busybox-pair");
    let output = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .output()
        .expect("run bash");
    assert!(
        output.status.success(),
        "{} failed ({}):\n{}{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&output.stdout).trim());
    Ok(out)
}

fn spec(dir: &Path, kind: &str, rel: &str) -> String {
    format!("{kind}:{}", dir.join(rel).display())
}

fn tag(dir: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", dir.join("layout").display())
}

/// What c changed, as the merged view must show it (file key → aspects of its shown deltas).
fn expected_changes() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("etc/added.conf", vec!["presence"]),
        ("etc/issue", vec!["presence"]),
        ("etc/motd", vec!["content"]),
        ("srv/data.txt", vec!["owner"]),
        ("srv/script.sh", vec!["mode"]),
        ("usr/local/bin/hello", vec!["presence"]),
    ]
}

fn file_aspects(report: &Report) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for d in report.0["differences"].as_array().unwrap() {
        if d["shown"] != true || d["kind"] != "File" {
            continue;
        }
        let aspects: BTreeSet<String> = d["deltas"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["shown"] == true)
            .map(|x| x["aspect"].as_str().unwrap().to_owned())
            .collect();
        out.push((
            d["key"].as_str().unwrap().to_owned(),
            aspects.into_iter().collect(),
        ));
    }
    out.sort();
    out
}

#[test]
fn a_rebuild_differs_only_in_timestamps() {
    let Some(dir) = images() else { return };
    let (a, b) = (tag(dir, "a"), tag(dir, "b"));
    let (code, strict) = compare(&[], &a, &b);
    assert_eq!(code, 1);
    let aspects: BTreeSet<String> = strict.shown().into_iter().map(|p| p.aspect).collect();
    // The tags differ too: the index's ref-name annotation.
    let expected: BTreeSet<String> = ["digest", "file-time", "image-name", "image-time"]
        .map(String::from)
        .into();
    assert_eq!(aspects, expected, "{}", show(&strict.shown()));
    // Every file of the busybox rootfs was rebuilt with a new mtime.
    assert!(
        strict.shown_files().len() > 100,
        "{}",
        strict.shown_files().len()
    );
    assert!(strict.shown_files().contains("bin/busybox"));
    let (code, semantic) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 0, "{}", show(&semantic.shown()));
    let (code, report) = compare(&["--ignore-timestamps", "--ignore-image-name"], &a, &b);
    assert_eq!(code, 0, "{}", show(&report.shown()));
    let (code, _) = compare(&["--ignore-timestamps"], &a, &b);
    assert_eq!(code, 1, "the tag names differ");
    // skopeo's docker archives of the two: the same conclusion.
    let (ad, bd) = (
        spec(dir, "docker-archive", "a.docker.tar"),
        spec(dir, "docker-archive", "b.docker.tar"),
    );
    assert_eq!(compare(&[], &ad, &bd).0, 1);
    assert_eq!(compare(&["--semantic"], &ad, &bd).0, 0);
}

#[test]
fn real_changes_are_exactly_the_expected_paths() {
    let Some(dir) = images() else { return };
    let (a, c) = (tag(dir, "a"), tag(dir, "c"));
    let expected: Vec<(String, Vec<String>)> = expected_changes()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(String::from).collect()))
        .collect();
    // c has one more layer: auto is the merged view.
    for view in ["auto", "merged"] {
        let (code, report) = compare(&["--semantic", "--view", view], &a, &c);
        assert_eq!(code, 1);
        assert_eq!(file_aspects(&report), expected, "--view {view}");
        let contexts: BTreeSet<String> = report
            .shown()
            .into_iter()
            .filter(|p| p.aspect != "digest")
            .map(|p| p.context)
            .collect();
        assert_eq!(
            contexts,
            ["/config".to_owned(), "/merged".to_owned()].into(),
            "--view {view}: only the merged files and the config label"
        );
        let keys = report.shown_keys();
        assert!(keys.contains(&(
            "config".into(),
            "config.Labels[\"org.example.variant\"]".into()
        )));
        // The new symlink's target is in the report.
        let hello = report.0["differences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["key"] == "usr/local/bin/hello" && d["shown"] == true)
            .unwrap();
        assert_eq!(hello["entries"][1]["kind"], "symlink");
        assert_eq!(hello["entries"][1]["link"], "/srv/script.sh");
        assert_eq!(hello["entries"][0], serde_json::Value::Null);
    }
    // Layer by layer, c's extra layer is there on one side only, whiteout included; layer 0 is equal.
    let (code, report) = compare(&["--semantic", "--view", "per-layer"], &a, &c);
    assert_eq!(code, 1);
    let files = report.shown_files();
    for want in [
        "etc/.wh.issue",
        "etc/added.conf",
        "etc/motd",
        "srv/script.sh",
        "srv/data.txt",
        "usr/local/bin/hello",
    ] {
        assert!(files.contains(want), "{want} in {files:?}");
    }
    assert!(
        report.shown().iter().all(|p| p.context != "/layers-0"),
        "{}",
        show(&report.shown())
    );
    // Strictly, c's changed directories (mtime) show as well.
    let (_, strict) = compare(&["--view", "merged"], &a, &c);
    let strict_files = strict.shown_files();
    assert!(strict_files.contains("etc"), "{strict_files:?}");
    assert!(strict_files.is_superset(&expected.iter().map(|(k, _)| k.clone()).collect()));
}

#[test]
fn one_image_in_four_storage_forms_is_equal_under_semantic() {
    let Some(dir) = images() else { return };
    let forms = [
        tag(dir, "a"),
        spec(dir, "oci-archive", "a.oci.tar"),
        spec(dir, "docker-archive", "a.docker.tar"),
        format!("oci:{}:a", dir.join("a-zstd").display()),
    ];
    for (i, x) in forms.iter().enumerate() {
        for y in &forms[i + 1..] {
            let (code, report) = compare(&["--semantic"], x, y);
            assert_eq!(code, 0, "{x} vs {y}:\n{}", show(&report.shown()));
        }
    }
    // zstd vs gzip differs strictly, in media types and digests only.
    let (code, report) = compare(&[], &forms[0], &forms[3]);
    assert_eq!(code, 1);
    let aspects: BTreeSet<String> = report.shown().into_iter().map(|p| p.aspect).collect();
    assert_eq!(aspects, ["digest", "media-type"].map(String::from).into());
}

/// 64-hex digests of manifests and configs depend on the busybox build: replaced in the snapshot.
fn redact_descriptor_digests(table: &str) -> String {
    table
        .lines()
        .map(|line| {
            if !line.starts_with("Desc") {
                return line.trim_end().to_owned();
            }
            line.split(' ')
                .map(|w| {
                    if w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
                        "<digest>"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn semantic_table_of_a_vs_c() {
    let Some(dir) = images() else { return };
    let out = run(&[
        "--format",
        "table",
        "--semantic",
        &tag(dir, "a"),
        &tag(dir, "c"),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(redact_descriptor_digests(&out.stdout));
}

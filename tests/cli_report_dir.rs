//! `--report-dir DIR` end to end: both sides of each differing file under `DIR/input-<n>/<context>/`,
//! `report.json` and `README.md`; hostile entry names never write outside `DIR`, never create devices,
//! fifos or setuid files, and are reported on stderr one line each, escaped.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::{path_string, run, walk, write_layout};
use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression};
use tempfile::TempDir;

fn image(layer: LayerBuilder) -> ImageBuilder {
    ImageBuilder::new().layer(layer.build(), LayerCompression::Gzip)
}

#[test]
fn both_sides_of_each_differing_file_report_json_and_readme() {
    let images = TempDir::new().unwrap();
    let base = |motd: &str| {
        LayerBuilder::new()
            .dir("etc/")
            .file("etc/os-release", "ID=example\n")
            .file("etc/motd", motd)
    };
    let a = image(base("hello\n")).layer(
        LayerBuilder::new()
            .file("app/config.toml", "port = 80\n")
            .file("app/only-in-a", "a\n")
            .build(),
        LayerCompression::Gzip,
    );
    let b = image(base("bonjour\n")).layer(
        LayerBuilder::new()
            .file("app/config.toml", "port = 8080\n")
            .mode(0o600)
            .build(),
        LayerCompression::Gzip,
    );
    let a = write_layout(images.path(), "a", &a);
    let b = write_layout(images.path(), "b", &b);
    let outer = TempDir::new().unwrap();
    let dir = outer.path().join("report");
    let out = run([
        "--report-dir",
        &path_string(&dir),
        "--format",
        "json",
        &a,
        &b,
    ]);
    out.expect_code(1).assert_sane();
    assert!(out.error_lines().is_empty(), "{}", out.stderr());

    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
    assert_eq!(read("input-0/layers-0/etc/motd"), "hello\n");
    assert_eq!(read("input-1/layers-0/etc/motd"), "bonjour\n");
    assert_eq!(read("input-0/layers-1/app/config.toml"), "port = 80\n");
    assert_eq!(read("input-1/layers-1/app/config.toml"), "port = 8080\n");
    let mode = |p: &str| std::fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("input-0/layers-1/app/config.toml"), 0o644);
    assert_eq!(mode("input-1/layers-1/app/config.toml"), 0o600);
    assert_eq!(read("input-0/layers-1/app/only-in-a"), "a\n");
    assert!(!dir.join("input-1/layers-1/app/only-in-a").exists());
    // Equal files are not written.
    assert!(!dir.join("input-0/layers-0/etc/os-release").exists());
    assert!(!dir.join("input-1/layers-0/etc/os-release").exists());

    let report: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    assert_eq!(report["ocidiffReport"], 1, "versioned");
    assert_eq!(report["inputs"], serde_json::json!([a, b]));
    assert_eq!(
        report,
        out.json(),
        "report.json is the --format json report"
    );
    let readme = read("README.md");
    assert!(
        readme.contains("input-0/") && readme.contains("report.json"),
        "{readme}"
    );
    // Nothing else at the top, and nothing next to DIR.
    let top: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        top,
        ["README.md", "input-0", "input-1", "report.json"]
            .map(String::from)
            .into()
    );
    assert_eq!(walk(outer.path()).first(), Some(&PathBuf::from("report")));

    // A second run replaces the previous report instead of mixing with it.
    std::fs::write(dir.join("input-0/stale"), "old").unwrap();
    run(["--report-dir", &path_string(&dir), &a, &b]).expect_code(1);
    assert!(!dir.join("input-0/stale").exists());
    assert_eq!(read("input-0/layers-0/etc/motd"), "hello\n");
}

/// The hostile layer, for one side: every entry differs between the sides (content, device numbers or
/// mtime), so that each is written for both.
fn hostile_layer(side: u32, link_target: &Path) -> LayerBuilder {
    let content = format!("side {side}\n");
    let long = format!("long/{}", "n".repeat(300));
    LayerBuilder::new()
        .file("../escape", &content)
        .file("../../escape2", &content)
        .file("/abs/escape3", &content)
        .file("a/../../escape4", &content)
        .symlink("link", link_target.as_os_str().as_encoded_bytes())
        .mtime(1_700_000_000 + u64::from(side))
        .file("link/passwd", &content)
        .file(b"evil\x1b[2J\x07name", &content)
        .char_device("dev/null", 1, 3 + side)
        .fifo("run/fifo")
        .mtime(1_700_000_000 + u64::from(side))
        .file("bin/su", &content)
        .mode(0o4755)
        .file("bin/sgid", &content)
        .mode(0o2755)
        .file(&long, &content)
        .file("plain/ok.txt", &content)
}

#[test]
fn hostile_entries_never_leave_the_report_dir() {
    let images = TempDir::new().unwrap();
    // The symlink's target: a unique directory that must stay empty.
    let target = TempDir::new().unwrap();
    let a = write_layout(images.path(), "a", &image(hostile_layer(0, target.path())));
    let b = write_layout(images.path(), "b", &image(hostile_layer(1, target.path())));
    let outer = TempDir::new().unwrap();
    let dir = outer.path().join("report");
    let out = run(["--report-dir", &path_string(&dir), &a, &b]);
    out.expect_code(1).assert_sane();

    // Nothing outside DIR: its parent holds only DIR, the link target is untouched.
    let beside: Vec<PathBuf> = std::fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(beside, std::slice::from_ref(&dir));
    assert_eq!(
        std::fs::read_dir(target.path()).unwrap().count(),
        0,
        "the symlink target stays empty"
    );
    for parent in [images.path(), outer.path()] {
        for p in walk(parent) {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            // Only `/abs/escape3` is written, below the layer directory.
            assert!(
                !name.starts_with("escape") || p.ends_with("layers-0/abs/escape3"),
                "{}",
                p.display()
            );
        }
    }

    let written = walk(&dir);
    for p in &written {
        let full = dir.join(p);
        let meta = std::fs::symlink_metadata(&full).unwrap();
        let kind = meta.file_type();
        assert!(
            kind.is_file() || kind.is_dir(),
            "only files and directories: {} is {kind:?}",
            p.display()
        );
        assert!(
            !kind.is_char_device() && !kind.is_block_device() && !kind.is_fifo(),
            "{}",
            p.display()
        );
        assert_eq!(
            meta.permissions().mode() & 0o7000,
            0,
            "no setuid, setgid or sticky bit: {}",
            p.display()
        );
        let name = p.to_str().expect("escaped names are UTF-8");
        assert!(
            !name.chars().any(char::is_control),
            "control characters are escaped in names: {name:?}"
        );
    }
    for side in 0..2 {
        let layer = dir.join(format!("input-{side}/layers-0"));
        let content = format!("side {side}\n");
        let read = |p: &str| std::fs::read_to_string(layer.join(p)).unwrap();
        // Leading `/` is dropped: inside the layer directory.
        assert_eq!(read("abs/escape3"), content);
        assert_eq!(read("plain/ok.txt"), content);
        assert_eq!(read("bin/su"), content);
        assert_eq!(
            read("link"),
            format!("symlink to {}\n", target.path().display()),
            "the link is a note, not a link"
        );
        assert_eq!(read("evil\\u{1b}[2J\\u{7}name"), content);
        assert!(!layer.join("dev/null").exists(), "no device node");
        assert!(!layer.join("run/fifo").exists(), "no fifo");
        assert!(!layer.join("link/passwd").exists());
    }

    // One stderr line per refused entry and side, naming it.
    let refused: Vec<String> = out
        .error_lines()
        .into_iter()
        .filter(|l| l.starts_with("ocidiff-tui: report-dir: "))
        .collect();
    let stderr = out.stderr();
    let count = |needle: &str| refused.iter().filter(|l| l.contains(needle)).count();
    for needle in [
        "../escape\"",
        "../../escape2",
        "a/../../escape4",
        "link/passwd",
    ] {
        assert_eq!(
            count(needle),
            2,
            "{needle} refused once per side:\n{stderr}"
        );
    }
    assert_eq!(count(&"n".repeat(300)), 2, "{stderr}");
    assert_eq!(refused.len(), 10, "nothing else refused:\n{stderr}");
    assert_eq!(
        out.error_lines().len(),
        refused.len(),
        "no other errors:\n{stderr}"
    );
}

//! `--report-dir DIR` end to end: both sides of each differing file under `DIR/input-<n>/<context>/`,
//! `report.json` and `README.md`; hostile entry names never write outside `DIR`, never create devices,
//! fifos or setuid files, and are reported on stderr one line each, escaped.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::{Run, path_string, run, walk, write_layout};
use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression};
use serde_json::{Value, json};
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
    assert_eq!(report["ocidiffReport"], 2, "versioned");
    assert_eq!(report["inputs"], serde_json::json!([a, b]));
    let mut without_notes = report.clone();
    let notes = without_notes
        .as_object_mut()
        .unwrap()
        .remove("reportDir")
        .expect("report.json says what the directory holds");
    assert_eq!(
        without_notes,
        out.json(),
        "report.json is the --format json report, plus reportDir"
    );
    assert_eq!(
        notes,
        serde_json::json!({
            "limits": {"perFile": 64 << 20, "total": 1 << 30},
            "writtenBytes": "hello\n".len() + "bonjour\n".len() + "port = 80\n".len()
                + "port = 8080\n".len() + "a\n".len(),
            "notWritten": [],
            "renamed": [],
        })
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

    // A second run is refused before comparing, or told to replace the previous report.
    std::fs::write(dir.join("input-0/stale"), "old").unwrap();
    let refused = run(["--report-dir", &path_string(&dir), &a, &b]);
    refused.expect_code(2).assert_sane();
    assert_eq!(
        refused.error_lines(),
        [format!(
            "ocidiff-tui: --report-dir {}: the directory is not empty (give a new or empty one, or add \
             --overwrite-report-dir)",
            dir.display()
        )],
    );
    assert!(refused.stdout.is_empty(), "nothing compared");
    assert!(dir.join("input-0/stale").exists(), "nothing touched");
    run([
        "--report-dir",
        &path_string(&dir),
        "--overwrite-report-dir",
        &a,
        &b,
    ])
    .expect_code(1);
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

fn two_images(dir: &Path, side0: LayerBuilder, side1: LayerBuilder) -> (String, String) {
    let a = write_layout(dir, "a", &image(side0));
    let b = write_layout(dir, "b", &image(side1));
    (a, b)
}

fn report_json(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

fn report_dir_lines(out: &Run) -> Vec<String> {
    out.error_lines()
        .into_iter()
        .filter(|l| l.starts_with("ocidiff-tui: report-dir: "))
        .collect()
}

/// `--max-scale 0.0001`: 6710 bytes per file, 107374 in all.
const SCALE: &str = "0.0001";
const PER_FILE: u64 = 6710;
const TOTAL: u64 = 107_374;

#[test]
fn a_file_over_the_per_file_limit_is_listed_not_written() {
    let images = TempDir::new().unwrap();
    let layer = |side: u8| {
        LayerBuilder::new()
            .file("big", vec![side; 100_000])
            .file("small", vec![side; PER_FILE as usize])
    };
    let (a, b) = two_images(images.path(), layer(0), layer(1));
    let outer = TempDir::new().unwrap();
    let dir = outer.path().join("report");
    let out = run([
        "--report-dir",
        &path_string(&dir),
        "--max-scale",
        SCALE,
        &a,
        &b,
    ]);
    out.expect_code(1).assert_sane();
    assert_eq!(
        report_dir_lines(&out),
        ["ocidiff-tui: report-dir: 2 files not written (over the size limits), see report.json"],
        "{}",
        out.stderr()
    );
    for side in 0..2u8 {
        let layer = dir.join(format!("input-{side}/layers-0"));
        assert!(!layer.join("big").exists(), "not even in part");
        assert_eq!(
            std::fs::read(layer.join("small")).unwrap(),
            vec![side; PER_FILE as usize],
            "a file of exactly the limit is written"
        );
    }
    let notes = &report_json(&dir)["reportDir"];
    assert_eq!(
        notes["limits"],
        json!({"perFile": PER_FILE, "total": TOTAL})
    );
    let expected = |input: usize| {
        json!({
            "input": input, "contextPath": "/layers-0", "name": "big", "index": 0, "size": 100_000,
            "cause": "per-file-limit",
            "reason": "larger than the per-file limit of 6.6 KiB (--max-scale raises it)",
        })
    };
    assert_eq!(notes["notWritten"], json!([expected(0), expected(1)]));
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("## Not written (2)") && readme.contains("\"big\": larger than"),
        "{readme}"
    );
}

#[test]
fn past_the_total_limit_files_are_listed_not_written() {
    let images = TempDir::new().unwrap();
    let layer = |side: u8| {
        (0..20).fold(LayerBuilder::new(), |layer, i| {
            layer.file(format!("f{i:02}"), vec![side; 6000])
        })
    };
    let (a, b) = two_images(images.path(), layer(0), layer(1));
    let outer = TempDir::new().unwrap();
    let dir = outer.path().join("report");
    let out = run([
        "--report-dir",
        &path_string(&dir),
        "--max-scale",
        SCALE,
        &a,
        &b,
    ]);
    out.expect_code(1).assert_sane();
    let written: Vec<PathBuf> = walk(&dir)
        .into_iter()
        .filter(|p| p.starts_with("input-0") || p.starts_with("input-1"))
        .filter(|p| dir.join(p).is_file())
        .collect();
    let bytes: u64 = written
        .iter()
        .map(|p| std::fs::metadata(dir.join(p)).unwrap().len())
        .sum();
    assert_eq!(written.len(), (TOTAL / 6000) as usize, "{written:?}");
    assert!(bytes <= TOTAL);
    let notes = &report_json(&dir)["reportDir"];
    assert_eq!(notes["writtenBytes"], bytes);
    let not_written = notes["notWritten"].as_array().unwrap();
    assert_eq!(not_written.len(), 40 - written.len());
    assert!(
        not_written.iter().all(|n| n["cause"] == "total-limit"),
        "{not_written:?}"
    );
    assert_eq!(
        report_dir_lines(&out),
        [format!(
            "ocidiff-tui: report-dir: {} files not written (over the size limits), see report.json",
            not_written.len()
        )]
    );
}

#[test]
fn entries_sharing_a_name_are_all_written_on_both_sides() {
    let images = TempDir::new().unwrap();
    let layer = |side: u8| {
        let content = |what: &str| format!("{what} of input {side}\n");
        LayerBuilder::new()
            .file("etc/dup", content("first dup"))
            .file("etc/dup", content("second dup"))
            .file("./etc/dup", content("third dup"))
            .file(b"esc\x1bname", content("ESC"))
            .file("esc\\u{1b}name", content("spelled-out escape"))
    };
    let (a, b) = two_images(images.path(), layer(0), layer(1));
    let outer = TempDir::new().unwrap();
    let dir = outer.path().join("report");
    let out = run(["--report-dir", &path_string(&dir), &a, &b]);
    out.expect_code(1).assert_sane();
    assert_eq!(
        report_dir_lines(&out),
        [
            "ocidiff-tui: report-dir: 4 files written under another name (an earlier entry took it), see report.json"
        ],
        "{}",
        out.stderr()
    );
    for side in 0..2 {
        let layer = dir.join(format!("input-{side}/layers-0"));
        let read = |name: &str| std::fs::read_to_string(layer.join(name)).unwrap();
        assert_eq!(read("etc/dup"), format!("first dup of input {side}\n"));
        assert_eq!(read("etc/dup~2"), format!("second dup of input {side}\n"));
        assert_eq!(read("etc/dup~3"), format!("third dup of input {side}\n"));
        assert_eq!(read("esc\\u{1b}name"), format!("ESC of input {side}\n"));
        // The model spells a backslash `\\`, so the escape spelled out never meets the real one.
        assert_eq!(
            read("esc\\\\u{1b}name"),
            format!("spelled-out escape of input {side}\n")
        );
        assert_eq!(walk(&layer).len(), 6, "{:?}", walk(&layer));
    }
    let renamed = report_json(&dir)["reportDir"]["renamed"].clone();
    let summary: Vec<(u64, String, String)> = renamed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["input"].as_u64().unwrap(),
                r["name"].as_str().unwrap().to_owned(),
                r["writtenAs"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(u64, String, String)> = (0..2)
        .flat_map(|input| {
            [("etc/dup", "etc/dup~2"), ("./etc/dup", "etc/dup~3")].map(|(name, at)| {
                (
                    input,
                    name.to_owned(),
                    format!("input-{input}/layers-0/{at}"),
                )
            })
        })
        .collect();
    assert_eq!(summary, expected);
}

#[test]
fn an_existing_empty_directory_is_written_a_non_empty_one_only_when_told() {
    let images = TempDir::new().unwrap();
    let (a, b) = two_images(
        images.path(),
        LayerBuilder::new().file("f", "a\n"),
        LayerBuilder::new().file("f", "b\n"),
    );
    let outer = TempDir::new().unwrap();
    let empty = outer.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    run(["--report-dir", &path_string(&empty), &a, &b]).expect_code(1);
    assert_eq!(
        std::fs::read_to_string(empty.join("input-1/layers-0/f")).unwrap(),
        "b\n"
    );

    let mine = outer.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("thesis.tex"), "precious").unwrap();
    let out = run(["--report-dir", &path_string(&mine), &a, &b]);
    out.expect_code(2).assert_sane();
    assert_eq!(out.error_lines().len(), 1, "{}", out.stderr());
    assert!(
        out.error_lines()[0].contains("not empty"),
        "{}",
        out.stderr()
    );
    assert_eq!(walk(&mine), [PathBuf::from("thesis.tex")]);
    // Said before the inputs are opened (an engine export may take minutes).
    let missing = path_string(&images.path().join("missing"));
    let out = run(["--report-dir", &path_string(&mine), &missing, &b]);
    out.expect_code(2);
    assert!(
        out.error_lines()[0].contains("not empty"),
        "{}",
        out.stderr()
    );

    run([
        "--report-dir",
        &path_string(&mine),
        "--overwrite-report-dir",
        &a,
        &b,
    ])
    .expect_code(1);
    assert_eq!(
        std::fs::read_to_string(mine.join("thesis.tex")).unwrap(),
        "precious",
        "other files are kept"
    );
    assert!(mine.join("report.json").is_file());

    let out = run(["--overwrite-report-dir", &a, &b]);
    out.expect_code(2);
    assert!(out.stderr().contains("--report-dir"), "{}", out.stderr());
}

/// What differs inside a file compared inside (a tar's member, a `.gz`'s payload, a member of the tar
/// in a `.tar.gz`) has no entry of its own in the layer: it is unpacked again from its file, both sides,
/// and written under `FILE!/MEMBER` as the table names it (never as an empty file, which `diff` would
/// call equal).
#[test]
fn members_of_files_compared_inside_are_unpacked_from_their_file_on_both_sides() {
    let images = TempDir::new().unwrap();
    let layer = |side: &str| {
        let inner = LayerBuilder::new()
            .file("lib/x", format!("x {side}\n"))
            .file("lib/same", "same\n")
            .build();
        let bundle = LayerBuilder::new()
            .file("etc/conf", format!("conf {side}\n"))
            .build();
        LayerBuilder::new()
            .file(
                "usr/share/doc/x/changelog.gz",
                ocidiff::fixture::gzip(format!("changes {side}\n").as_bytes()),
            )
            .file("srv/app.tar", inner)
            .file("srv/bundle.tar.gz", ocidiff::fixture::gzip(&bundle))
    };
    let (a, b) = two_images(images.path(), layer("a"), layer("b"));
    let outer = TempDir::new().unwrap();
    let dir = outer.path().join("report");
    let out = run(["--report-dir", &path_string(&dir), &a, &b]);
    out.expect_code(1).assert_sane();
    assert!(
        out.stdout().contains("srv/app.tar!/lib/x"),
        "the table names the member: {}",
        out.stdout()
    );
    assert!(report_dir_lines(&out).is_empty(), "{}", out.stderr());
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
    for (side, text) in [(0, "a"), (1, "b")] {
        let layer = format!("input-{side}/layers-0");
        assert_eq!(
            read(&format!("{layer}/srv/app.tar!/lib/x")),
            format!("x {text}\n")
        );
        assert_eq!(
            read(&format!("{layer}/usr/share/doc/x/changelog.gz!/changelog")),
            format!("changes {text}\n")
        );
        assert_eq!(
            read(&format!("{layer}/srv/bundle.tar.gz!/bundle.tar!/etc/conf")),
            format!("conf {text}\n")
        );
        // The files themselves, as the layers hold them.
        let gz = std::fs::read(dir.join(format!("{layer}/usr/share/doc/x/changelog.gz"))).unwrap();
        assert_eq!(
            gz,
            ocidiff::fixture::gzip(format!("changes {text}\n").as_bytes())
        );
        assert!(dir.join(format!("{layer}/srv/app.tar")).is_file());
        // Equal members are not written.
        assert!(!dir.join(format!("{layer}/srv/app.tar!/lib/same")).exists());
    }
    let notes = &report_json(&dir)["reportDir"];
    assert_eq!(notes["notWritten"], json!([]), "{notes:#}");
}

/// A member's name is as hostile as a layer entry's: unpacked members go through the same safe writer,
/// so `../` in a tar's member never leaves the report directory.
#[test]
fn a_hostile_member_name_is_refused_like_an_entry_name() {
    let images = TempDir::new().unwrap();
    let layer = |side: &str| {
        let inner = LayerBuilder::new()
            .file("../../../../escape", format!("out {side}\n"))
            .file("lib/x", format!("x {side}\n"))
            .build();
        LayerBuilder::new().file("srv/app.tar", inner)
    };
    let (a, b) = two_images(images.path(), layer("a"), layer("b"));
    let outer = TempDir::new().unwrap();
    let dir = outer.path().join("report");
    let out = run(["--report-dir", &path_string(&dir), &a, &b]);
    out.expect_code(1).assert_sane();
    let lines = report_dir_lines(&out);
    assert_eq!(lines.len(), 2, "one refusal per side: {}", out.stderr());
    assert!(
        lines.iter().all(|l| l.contains("../../../../escape")),
        "{lines:?}"
    );
    assert_eq!(walk(outer.path()).first(), Some(&PathBuf::from("report")));
    assert!(walk(outer.path()).iter().all(|p| p.starts_with("report")));
    assert!(!walk(&dir).iter().any(|p| path_string(p).contains("escape")));
    let x = std::fs::read_to_string(dir.join("input-1/layers-0/srv/app.tar!/lib/x")).unwrap();
    assert_eq!(x, "x b\n", "the other member is written");
}

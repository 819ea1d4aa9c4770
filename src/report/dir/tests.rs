use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, symlink};

use super::*;
use crate::report::fixtures::entry;

const LAYER: &str = "/manifests-0/layers-0";

/// A temp parent holding the report directory and a bystander directory that must never change.
struct Sandbox {
    parent: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let parent = tempfile::tempdir().unwrap();
        fs::create_dir(parent.path().join("outside")).unwrap();
        fs::write(parent.path().join("outside/keep"), b"precious").unwrap();
        Sandbox { parent }
    }

    fn dir(&self) -> PathBuf {
        self.parent.path().join("report")
    }

    fn outside(&self) -> PathBuf {
        self.parent.path().join("outside")
    }

    fn report(&self) -> ReportDir {
        ReportDir::create(&self.dir()).unwrap()
    }

    fn layer(&self, side: &str) -> PathBuf {
        self.dir().join(side).join("manifests-0/layers-0")
    }

    /// Everything under the parent except the report directory's own tree.
    fn outside_tree(&self) -> BTreeSet<PathBuf> {
        let mut found = BTreeSet::new();
        walk(self.parent.path(), &mut found);
        found
            .into_iter()
            .filter(|p| !p.starts_with(self.dir()))
            .collect()
    }

    fn assert_nothing_escaped(&self) {
        let expected: BTreeSet<PathBuf> = [self.outside(), self.outside().join("keep")]
            .into_iter()
            .collect();
        assert_eq!(self.outside_tree(), expected);
        assert_eq!(fs::read(self.outside().join("keep")).unwrap(), b"precious");
    }
}

fn walk(dir: &Path, found: &mut BTreeSet<PathBuf>) {
    for item in fs::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        found.insert(path.clone());
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            walk(&path, found);
        }
    }
}

fn file(name: &str) -> EntryMeta {
    entry(name)
}

fn with_kind(name: &str, kind: EntryKind) -> EntryMeta {
    let mut e = entry(name);
    e.kind = kind;
    e.content = None;
    e
}

fn write(report: &mut ReportDir, e: &EntryMeta, content: &[u8]) -> Result<Written, ReportError> {
    let mut reader = content;
    report.write_entry(Side::Input0, LAYER, e, Some(&mut reader))
}

fn assert_refused(result: Result<Written, ReportError>, name_part: &str) {
    match result {
        Err(ReportError::UnsafeEntry { name, .. }) => assert!(name.contains(name_part), "{name}"),
        other => panic!("expected a refusal naming {name_part:?}, got {other:?}"),
    }
}

#[test]
fn regular_files_are_streamed_with_mode_and_mtime() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let written = write(&mut report, &file("./etc/os-release"), b"NAME=Alpine\n").unwrap();
    let path = sandbox.layer("input-0").join("etc/os-release");
    assert_eq!(
        written,
        Written::File {
            path: path.clone(),
            bytes: 12
        }
    );
    assert_eq!(fs::read(&path).unwrap(), b"NAME=Alpine\n");
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o644);
    assert_eq!(meta.mtime(), 1691446152);
    let mut reader: &[u8] = b"x";
    let written = report.write_entry(
        Side::Input1,
        LAYER,
        &file("etc/os-release"),
        Some(&mut reader),
    );
    assert!(matches!(written, Ok(Written::File { bytes: 1, .. })));
    assert_eq!(
        fs::read(sandbox.layer("input-1").join("etc/os-release")).unwrap(),
        b"x"
    );
}

#[test]
fn dotdot_names_are_refused_and_nothing_escapes() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    for name in [
        "../x",
        "../../etc/x",
        "a/../../x",
        "a/..",
        "..",
        "./../outside/keep",
        "x/../../../../outside/keep",
    ] {
        assert_refused(write(&mut report, &file(name), b"pwned"), "..");
    }
    sandbox.assert_nothing_escaped();
}

#[test]
fn absolute_names_land_inside_the_layer_directory() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let outside_keep = sandbox.outside().join("keep");
    write(
        &mut report,
        &file(&outside_keep.display().to_string()),
        b"inert",
    )
    .unwrap();
    write(&mut report, &file("/abs/x"), b"inert").unwrap();
    let inside = sandbox
        .layer("input-0")
        .join(outside_keep.strip_prefix("/").unwrap());
    assert_eq!(fs::read(inside).unwrap(), b"inert");
    assert_eq!(
        fs::read(sandbox.layer("input-0").join("abs/x")).unwrap(),
        b"inert"
    );
    sandbox.assert_nothing_escaped();
}

#[test]
fn a_symlink_entry_cannot_be_written_through() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let mut link = with_kind("a", EntryKind::Symlink);
    link.link = Some(sandbox.outside().display().to_string());
    let written = write(&mut report, &link, b"").unwrap();
    let note = sandbox.layer("input-0").join("a");
    assert_eq!(written, Written::LinkNote { path: note.clone() });
    assert!(
        fs::symlink_metadata(&note).unwrap().is_file(),
        "links are written as inert text files"
    );
    assert_eq!(
        fs::read_to_string(&note).unwrap(),
        format!("symlink to {}\n", sandbox.outside().display())
    );
    assert_refused(write(&mut report, &file("a/keep"), b"pwned"), "a/keep");
    assert_refused(
        write(&mut report, &with_kind("a/sub", EntryKind::Directory), b""),
        "a/sub",
    );
    sandbox.assert_nothing_escaped();
}

#[test]
fn a_planted_symlink_inside_the_report_is_never_followed() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    symlink(sandbox.outside(), sandbox.dir().join("input-0/manifests-0")).unwrap();
    assert_refused(write(&mut report, &file("keep"), b"pwned"), "keep");
    fs::create_dir_all(sandbox.layer("input-1").join("etc")).unwrap();
    symlink(
        sandbox.outside().join("keep"),
        sandbox.layer("input-1").join("etc/passwd"),
    )
    .unwrap();
    let mut reader: &[u8] = b"pwned";
    let written = report
        .write_entry(Side::Input1, LAYER, &file("etc/passwd"), Some(&mut reader))
        .unwrap();
    assert!(matches!(written, Written::File { .. }));
    assert!(
        fs::symlink_metadata(sandbox.layer("input-1").join("etc/passwd"))
            .unwrap()
            .is_file()
    );
    sandbox.assert_nothing_escaped();
}

#[test]
fn create_removes_old_results_and_links_without_following_them() {
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.dir().join("input-1/old")).unwrap();
    fs::write(sandbox.dir().join("other-file"), b"kept").unwrap();
    symlink(sandbox.outside(), sandbox.dir().join("input-0")).unwrap();
    symlink(
        sandbox.outside().join("keep"),
        sandbox.dir().join("report.json"),
    )
    .unwrap();
    symlink(sandbox.outside(), sandbox.dir().join("README.md")).unwrap();
    let report = sandbox.report();
    for side in ["input-0", "input-1"] {
        let meta = fs::symlink_metadata(sandbox.dir().join(side)).unwrap();
        assert!(meta.is_dir());
        assert_eq!(fs::read_dir(sandbox.dir().join(side)).unwrap().count(), 0);
    }
    assert!(!sandbox.dir().join("report.json").exists());
    assert_eq!(fs::read(sandbox.dir().join("other-file")).unwrap(), b"kept");
    report.finish(b"{}").unwrap();
    sandbox.assert_nothing_escaped();
}

#[test]
fn control_characters_in_names_are_escaped_on_disk() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let written = write(&mut report, &file("evil\u{1b}]0;title\u{7}\nx"), b"").unwrap();
    let expected = sandbox
        .layer("input-0")
        .join("evil\\u{1b}]0;title\\u{7}\\nx");
    assert_eq!(
        written,
        Written::File {
            path: expected.clone(),
            bytes: 0
        }
    );
    assert!(expected.exists());
}

#[test]
fn nul_bytes_and_overlong_names_are_refused_without_panicking() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    assert_refused(write(&mut report, &file("etc/pass\0wd"), b""), "etc/pass");
    let long = "x".repeat(256);
    assert_refused(
        write(&mut report, &file(&format!("dir/{long}")), b""),
        "xxxx",
    );
    let deep: Vec<String> = (0..30).map(|_| "y".repeat(200)).collect();
    assert_refused(write(&mut report, &file(&deep.join("/")), b""), "yyyy");
    assert!(
        write(&mut report, &file(&"z".repeat(255)), b"").is_ok(),
        "255 bytes is allowed"
    );
    sandbox.assert_nothing_escaped();
}

#[test]
fn devices_and_fifos_are_skipped() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    for kind in [
        EntryKind::CharDevice,
        EntryKind::BlockDevice,
        EntryKind::Fifo,
        EntryKind::Other(b'X'),
    ] {
        let mut device = with_kind("dev/null", kind);
        device.device = Some((1, 3));
        assert!(matches!(
            write(&mut report, &device, b""),
            Ok(Written::Skipped(_))
        ));
    }
    assert!(!sandbox.layer("input-0").join("dev").exists());
}

#[test]
fn special_permission_bits_are_dropped_and_the_owner_keeps_access() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let mut setuid = file("usr/bin/passwd");
    setuid.mode = 0o104755;
    write(&mut report, &setuid, b"elf").unwrap();
    let mut locked = file("etc/shadow");
    locked.mode = 0o000;
    write(&mut report, &locked, b"secret").unwrap();
    let mut dir = with_kind("sticky", EntryKind::Directory);
    dir.mode = 0o41000;
    write(&mut report, &dir, b"").unwrap();
    let mode = |p: &str| {
        fs::metadata(sandbox.layer("input-0").join(p))
            .unwrap()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("usr/bin/passwd"), 0o755);
    assert_eq!(mode("etc/shadow"), 0o600);
    assert_eq!(mode("sticky"), 0o700);
}

#[test]
fn hardlinks_become_notes_and_later_duplicates_replace_files() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let mut hardlink = with_kind("bin/sh", EntryKind::Hardlink);
    hardlink.link = Some("bin/busybox".into());
    assert!(matches!(
        write(&mut report, &hardlink, b""),
        Ok(Written::LinkNote { .. })
    ));
    let path = sandbox.layer("input-0").join("bin/sh");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "hardlink to bin/busybox\n"
    );
    write(&mut report, &file("bin/sh"), b"second").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    write(&mut report, &with_kind("bin/sh", EntryKind::Directory), b"").unwrap();
    assert!(fs::symlink_metadata(&path).unwrap().is_dir());
    assert_refused(write(&mut report, &file("bin/sh"), b""), "bin/sh");
}

#[test]
fn the_layer_root_entry_is_a_directory_only() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let root = with_kind("./", EntryKind::Directory);
    assert_eq!(
        write(&mut report, &root, b"").unwrap(),
        Written::Directory {
            path: sandbox.layer("input-0")
        }
    );
    assert_refused(write(&mut report, &file("."), b""), ".");
}

#[test]
fn hostile_context_paths_are_sanitised_too() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let mut reader: &[u8] = b"";
    let result = report.write_entry(
        Side::Input0,
        "/../../outside",
        &file("x"),
        Some(&mut reader),
    );
    assert_refused(result, "outside");
    sandbox.assert_nothing_escaped();
}

#[test]
fn finish_writes_the_report_and_a_readme_and_can_be_redone() {
    let sandbox = Sandbox::new();
    let report = sandbox.report();
    let root = report.finish(b"{\"ocidiffReport\":1}").unwrap();
    assert_eq!(
        fs::read(root.join("report.json")).unwrap(),
        b"{\"ocidiffReport\":1}"
    );
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("input-0/") && readme.contains("symlink to <target>"),
        "{readme}"
    );
    let again = ReportDir::create(&sandbox.dir()).unwrap();
    again.finish(b"{}").unwrap();
    assert_eq!(fs::read(root.join("report.json")).unwrap(), b"{}");
}

#[test]
fn large_content_is_streamed_to_disk() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let size = 8 << 20;
    let mut reader = io::repeat(b'x').take(size);
    let written = report
        .write_entry(Side::Input0, LAYER, &file("big"), Some(&mut reader))
        .unwrap();
    assert!(matches!(written, Written::File { bytes, .. } if bytes == size));
    assert_eq!(
        fs::metadata(sandbox.layer("input-0").join("big"))
            .unwrap()
            .len(),
        size
    );
}

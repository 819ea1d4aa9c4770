use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, symlink};

use serde_json::{Value, json};

use super::*;
use crate::model::EntryFields;
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
        self.report_with(WriteLimits::DEFAULT)
    }

    fn report_with(&self, limits: WriteLimits) -> ReportDir {
        ReportDir::create(&self.dir(), NonEmpty::Refuse, limits).unwrap()
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

fn file(name: &str) -> EntryFields {
    entry(name)
}

fn with_kind(name: &str, kind: EntryKind) -> EntryFields {
    let mut e = entry(name);
    e.kind = kind;
    e.content = None;
    e
}

/// Writes `e` on input 0 with `content`, its size set to match as a tar header's would be.
fn write(report: &mut ReportDir, e: &EntryFields, content: &[u8]) -> Result<Written, ReportError> {
    write_on(report, Side::Input0, e, content)
}

fn write_on(
    report: &mut ReportDir,
    side: Side,
    e: &EntryFields,
    content: &[u8],
) -> Result<Written, ReportError> {
    let mut e = e.clone();
    e.size = content.len() as u64;
    let mut reader = content;
    report.write_entry(side, LAYER, &e.into(), Some(&mut reader))
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
    let written = write_on(&mut report, Side::Input1, &file("etc/os-release"), b"x");
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
    link.link = Some(sandbox.outside().display().to_string().into());
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
    let planted = sandbox.layer("input-1").join("etc/passwd");
    symlink(sandbox.outside().join("keep"), &planted).unwrap();
    let written = write_on(&mut report, Side::Input1, &file("etc/passwd"), b"pwned").unwrap();
    let beside = sandbox.layer("input-1").join("etc/passwd~2");
    assert_eq!(
        written,
        Written::File {
            path: beside.clone(),
            bytes: 5
        },
        "the link's place is taken: the file goes beside it"
    );
    assert!(fs::symlink_metadata(&planted).unwrap().is_symlink());
    assert_eq!(fs::read(beside).unwrap(), b"pwned");
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
    let report =
        ReportDir::create(&sandbox.dir(), NonEmpty::Overwrite, WriteLimits::DEFAULT).unwrap();
    for side in ["input-0", "input-1"] {
        let meta = fs::symlink_metadata(sandbox.dir().join(side)).unwrap();
        assert!(meta.is_dir());
        assert_eq!(fs::read_dir(sandbox.dir().join(side)).unwrap().count(), 0);
    }
    assert!(!sandbox.dir().join("report.json").exists());
    assert_eq!(fs::read(sandbox.dir().join("other-file")).unwrap(), b"kept");
    report.finish(&json!({})).unwrap();
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
        device.extras_mut().device = Some((1, 3));
        assert!(matches!(
            write(&mut report, &device, b""),
            Ok(Written::NotWritten {
                cause: Cause::Kind,
                ..
            })
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
fn hardlinks_become_notes_and_later_duplicates_go_beside_them() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let mut hardlink = with_kind("bin/sh", EntryKind::Hardlink);
    hardlink.link = Some("bin/busybox".into());
    assert!(matches!(
        write(&mut report, &hardlink, b""),
        Ok(Written::LinkNote { .. })
    ));
    let layer = sandbox.layer("input-0");
    assert_eq!(
        fs::read_to_string(layer.join("bin/sh")).unwrap(),
        "hardlink to bin/busybox\n"
    );
    write(&mut report, &file("bin/sh"), b"second").unwrap();
    write(&mut report, &with_kind("bin/sh", EntryKind::Directory), b"").unwrap();
    assert_eq!(
        fs::read_to_string(layer.join("bin/sh")).unwrap(),
        "hardlink to bin/busybox\n",
        "never overwritten"
    );
    assert_eq!(fs::read(layer.join("bin/sh~2")).unwrap(), b"second");
    assert!(
        fs::symlink_metadata(layer.join("bin/sh~3"))
            .unwrap()
            .is_dir()
    );
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
    assert!(sandbox.layer("input-0").is_dir());
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
        &file("x").into(),
        Some(&mut reader),
    );
    assert_refused(result, "outside");
    sandbox.assert_nothing_escaped();
}

#[test]
fn finish_writes_the_report_and_a_readme_and_can_be_redone_when_told() {
    let sandbox = Sandbox::new();
    let report = sandbox.report();
    let finished = report.finish(&json!({"ocidiffReport": 1})).unwrap();
    let root = finished.root;
    let written: Value =
        serde_json::from_slice(&fs::read(root.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        written,
        json!({
            "ocidiffReport": 1,
            "reportDir": {
                "limits": {"perFile": 64 << 20, "total": 1 << 30},
                "writtenBytes": 0,
                "notWritten": [],
                "renamed": [],
            }
        })
    );
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("input-0/")
            && readme.contains("symlink to <target>")
            && readme.contains("64.0 MiB")
            && readme.contains("1.0 GiB"),
        "{readme}"
    );
    assert!(
        matches!(
            ReportDir::create(&sandbox.dir(), NonEmpty::Refuse, WriteLimits::DEFAULT),
            Err(ReportError::NotEmpty { .. })
        ),
        "a previous report is not overwritten unless asked"
    );
    let again =
        ReportDir::create(&sandbox.dir(), NonEmpty::Overwrite, WriteLimits::DEFAULT).unwrap();
    again.finish(&json!({})).unwrap();
    let written: Value =
        serde_json::from_slice(&fs::read(root.join("report.json")).unwrap()).unwrap();
    assert_eq!(written["reportDir"]["writtenBytes"], 0);
    assert!(written.get("ocidiffReport").is_none(), "replaced");
}

#[test]
fn large_content_is_streamed_to_disk() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let size = 8 << 20;
    let mut reader = io::repeat(b'x').take(size);
    let written = report
        .write_entry(Side::Input0, LAYER, &sized("big", size), Some(&mut reader))
        .unwrap();
    assert!(matches!(written, Written::File { bytes, .. } if bytes == size));
    assert_eq!(
        fs::metadata(sandbox.layer("input-0").join("big"))
            .unwrap()
            .len(),
        size
    );
}

/// Content that must never be read.
struct Untouchable;

impl Read for Untouchable {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        panic!("the content of a file over the limits was read");
    }
}

fn sized(name: &str, size: u64) -> EntryMeta {
    let mut e = file(name);
    e.size = size;
    e.into()
}

fn write_sized(report: &mut ReportDir, side: Side, name: &str, size: u64) -> Written {
    let mut content = io::repeat(b'z').take(size);
    report
        .write_entry(side, LAYER, &sized(name, size), Some(&mut content))
        .unwrap()
}

fn read_report_json(report: ReportDir) -> Value {
    let finished = report.finish(&json!({})).unwrap();
    serde_json::from_slice(&fs::read(finished.root.join("report.json")).unwrap()).unwrap()
}

#[test]
fn a_file_over_the_per_file_limit_is_not_written_nor_read_and_is_listed() {
    let sandbox = Sandbox::new();
    let limits = WriteLimits {
        per_file: 100,
        total: 1 << 20,
    };
    let mut report = sandbox.report_with(limits);
    let big = sized("var/big", 20 << 30);
    assert!(!report.fits(&big));
    for side in Side::BOTH {
        let written = report
            .write_entry(side, LAYER, &big, Some(&mut Untouchable))
            .unwrap();
        assert!(
            matches!(written, Written::NotWritten { cause: Cause::PerFileLimit, ref reason } if reason.contains("100 B")),
            "{written:?}"
        );
    }
    assert!(matches!(
        write_sized(&mut report, Side::Input0, "var/small", 100),
        Written::File { bytes: 100, .. }
    ));
    for side in ["input-0", "input-1"] {
        assert!(
            !sandbox.layer(side).join("var/big").exists(),
            "not even in part"
        );
    }
    let json = read_report_json(report);
    let listed = &json["reportDir"]["notWritten"];
    let expected = |input: usize| {
        json!({
            "input": input, "contextPath": LAYER, "name": "var/big", "index": 12, "size": 20u64 << 30,
            "cause": "per-file-limit",
            "reason": "larger than the per-file limit of 100 B (--max-scale raises it)",
        })
    };
    assert_eq!(listed, &json!([expected(0), expected(1)]));
    let readme = fs::read_to_string(sandbox.dir().join("README.md")).unwrap();
    assert!(
        readme.contains("## Not written (2)")
            && readme.contains("input-1 /manifests-0/layers-0 entry 12 \"var/big\": larger than"),
        "{readme}"
    );
}

#[test]
fn files_past_the_total_limit_are_not_written_and_later_ones_that_fit_are() {
    let sandbox = Sandbox::new();
    let limits = WriteLimits {
        per_file: 1000,
        total: 1000,
    };
    let mut report = sandbox.report_with(limits);
    assert!(matches!(
        write_sized(&mut report, Side::Input0, "a", 600),
        Written::File { bytes: 600, .. }
    ));
    assert!(!report.fits(&sized("b", 600)));
    let refused = report
        .write_entry(
            Side::Input1,
            LAYER,
            &sized("b", 600),
            Some(&mut Untouchable),
        )
        .unwrap();
    assert!(matches!(
        refused,
        Written::NotWritten {
            cause: Cause::TotalLimit,
            ..
        }
    ));
    assert!(matches!(
        write_sized(&mut report, Side::Input1, "c", 400),
        Written::File { bytes: 400, .. }
    ));
    assert!(!sandbox.layer("input-1").join("b").exists());
    let json = read_report_json(report);
    assert_eq!(json["reportDir"]["writtenBytes"], 1000);
    let listed = json["reportDir"]["notWritten"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "b");
    assert_eq!(listed[0]["input"], 1);
    assert_eq!(listed[0]["cause"], "total-limit");
}

#[test]
fn content_is_never_read_past_the_entry_size() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report_with(WriteLimits {
        per_file: 10,
        total: 10,
    });
    let mut endless = io::repeat(b'x');
    let written = report
        .write_entry(Side::Input0, LAYER, &sized("f", 10), Some(&mut endless))
        .unwrap();
    assert!(matches!(written, Written::File { bytes: 10, .. }));
    assert_eq!(
        fs::read(sandbox.layer("input-0").join("f")).unwrap(),
        b"xxxxxxxxxx"
    );
}

/// Content that breaks after a few bytes, as a corrupt layer does.
struct Breaking(u8);

impl Read for Breaking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("corrupt deflate stream"));
        }
        self.0 -= 1;
        buf[0] = b'p';
        Ok(1)
    }
}

#[test]
fn a_file_whose_content_breaks_is_removed_and_listed() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let result = report.write_entry(Side::Input0, LAYER, &sized("f", 10), Some(&mut Breaking(3)));
    assert!(matches!(result, Err(ReportError::Io { .. })), "{result:?}");
    assert!(
        !sandbox.layer("input-0").join("f").exists(),
        "no partial file"
    );
    let json = read_report_json(report);
    assert_eq!(json["reportDir"]["notWritten"][0]["cause"], "error");
}

/// Two entries of one layer and side that map to one path; both must be on disk, the second listed.
fn assert_both_written(first: &str, second: &str, on_disk: &str) {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    for (side, dir) in [(Side::Input0, "input-0"), (Side::Input1, "input-1")] {
        write_on(&mut report, side, &file(first), b"first").unwrap();
        let written = write_on(&mut report, side, &file(second), b"second").unwrap();
        let beside = sandbox.layer(dir).join(format!("{on_disk}~2"));
        assert_eq!(
            written,
            Written::File {
                path: beside.clone(),
                bytes: 6
            }
        );
        assert_eq!(
            fs::read(sandbox.layer(dir).join(on_disk)).unwrap(),
            b"first"
        );
        assert_eq!(fs::read(beside).unwrap(), b"second");
    }
    let json = read_report_json(report);
    let renamed = &json["reportDir"]["renamed"];
    for input in 0..2 {
        let layer = format!("input-{input}/manifests-0/layers-0");
        assert_eq!(
            renamed[input],
            json!({
                "input": input, "contextPath": LAYER, "name": second, "index": 12, "size": 6,
                "writtenAs": format!("{layer}/{on_disk}~2"),
                "reason": format!("{layer}/{on_disk} was taken by an earlier entry"),
            })
        );
    }
    let readme = fs::read_to_string(sandbox.dir().join("README.md")).unwrap();
    assert!(
        readme.contains("## Written under another name (2)"),
        "{readme}"
    );
}

#[test]
fn a_control_character_and_its_escape_spelled_out_both_land_on_disk() {
    assert_both_written("a\u{1b}b", "a\\u{1b}b", "a\\u{1b}b");
}

#[test]
fn duplicate_names_and_names_that_differ_only_by_dots_and_slashes_both_land_on_disk() {
    assert_both_written("etc/x", "etc/x", "etc/x");
    assert_both_written("etc/x", "./etc//x", "etc/x");
}

#[test]
fn disambiguated_names_never_take_a_real_entry_s_place_either() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    for (name, content) in [
        ("x", "1"),
        ("x~2", "2"),
        ("x", "3"),
        ("x", "4"),
        ("x~2", "5"),
    ] {
        write(&mut report, &file(name), content.as_bytes()).unwrap();
    }
    let layer = sandbox.layer("input-0");
    let read = |name: &str| fs::read_to_string(layer.join(name)).unwrap();
    assert_eq!(
        [
            read("x"),
            read("x~2"),
            read("x~3"),
            read("x~4"),
            read("x~2~2")
        ],
        ["1", "2", "3", "4", "5"]
    );
    assert_eq!(fs::read_dir(&layer).unwrap().count(), 5);
}

#[test]
fn a_directory_entry_takes_over_a_parent_made_for_earlier_entries_but_not_another_directory_entry()
{
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    write(&mut report, &file("d/inside"), b"in").unwrap();
    let layer = sandbox.layer("input-0");
    assert_eq!(
        write(&mut report, &with_kind("d", EntryKind::Directory), b"").unwrap(),
        Written::Directory {
            path: layer.join("d")
        }
    );
    assert_eq!(
        write(&mut report, &with_kind("d/", EntryKind::Directory), b"").unwrap(),
        Written::Directory {
            path: layer.join("d~2")
        }
    );
    assert_eq!(
        write(&mut report, &file("d"), b"a file").unwrap(),
        Written::File {
            path: layer.join("d~3"),
            bytes: 6
        }
    );
    assert_eq!(fs::read(layer.join("d/inside")).unwrap(), b"in");
    let json = read_report_json(report);
    assert_eq!(json["reportDir"]["renamed"].as_array().unwrap().len(), 2);
}

#[test]
fn a_name_with_no_room_for_a_suffix_is_refused_and_listed() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report();
    let long = "z".repeat(254);
    write(&mut report, &file(&long), b"1").unwrap();
    assert_refused(write(&mut report, &file(&long), b"2"), "zzzz");
    let json = read_report_json(report);
    assert_eq!(json["reportDir"]["notWritten"][0]["cause"], "unsafe");
}

#[test]
fn a_non_empty_directory_is_refused_an_empty_one_is_written() {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.dir()).unwrap();
    ReportDir::create(&sandbox.dir(), NonEmpty::Refuse, WriteLimits::DEFAULT)
        .unwrap()
        .finish(&json!({}))
        .unwrap();
    let user_dir = sandbox.parent.path().join("mine");
    ReportDir::check(&user_dir, NonEmpty::Refuse).unwrap();
    assert!(!user_dir.exists(), "a check creates nothing");
    fs::create_dir(&user_dir).unwrap();
    fs::write(user_dir.join("notes.txt"), b"mine").unwrap();
    assert!(matches!(
        ReportDir::check(&user_dir, NonEmpty::Refuse),
        Err(ReportError::NotEmpty { .. })
    ));
    ReportDir::check(&user_dir, NonEmpty::Overwrite).unwrap();
    match ReportDir::create(&user_dir, NonEmpty::Refuse, WriteLimits::DEFAULT) {
        Err(error @ ReportError::NotEmpty { .. }) => {
            assert!(error.to_string().contains("not empty"), "{error}")
        }
        other => panic!("expected NotEmpty, got {other:?}"),
    }
    let left: Vec<_> = fs::read_dir(&user_dir).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing written into it");
}

#[test]
fn the_readme_lists_a_bounded_number_of_notes() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report_with(WriteLimits {
        per_file: 1,
        total: 1,
    });
    for i in 0..150 {
        report
            .write_entry(Side::Input0, LAYER, &sized(&format!("f{i}"), 2), None)
            .unwrap();
    }
    let json = read_report_json(report);
    assert_eq!(
        json["reportDir"]["notWritten"].as_array().unwrap().len(),
        150
    );
    let readme = fs::read_to_string(sandbox.dir().join("README.md")).unwrap();
    assert_eq!(
        readme.matches("larger than the per-file limit").count(),
        100
    );
    assert!(
        readme.contains("- and 50 more: see report.json"),
        "{readme}"
    );
}

#[test]
fn limits_scale_with_the_factor() {
    assert_eq!(
        WriteLimits::scaled(1.0),
        WriteLimits {
            per_file: 64 << 20,
            total: 1 << 30
        }
    );
    assert_eq!(
        WriteLimits::scaled(0.0001),
        WriteLimits {
            per_file: 6710,
            total: 107374
        }
    );
    assert_eq!(WriteLimits::scaled(0.0).per_file, 1, "never zero");
}

#[test]
fn summary_lines_count_files_left_out_by_the_limits_and_renamed() {
    let sandbox = Sandbox::new();
    let mut report = sandbox.report_with(WriteLimits {
        per_file: 5,
        total: 5,
    });
    write_sized(&mut report, Side::Input0, "big", 6);
    write_sized(&mut report, Side::Input1, "big", 6);
    write_sized(&mut report, Side::Input0, "x", 1);
    write_sized(&mut report, Side::Input0, "x", 1);
    let mut fifo = with_kind("fifo", EntryKind::Fifo);
    fifo.size = 0;
    write(&mut report, &fifo, b"").unwrap();
    let notes = report.finish(&json!({})).unwrap().notes;
    assert_eq!(
        notes.summary_lines(),
        [
            "2 files not written (over the size limits), see report.json",
            "1 file written under another name (an earlier entry took it), see report.json",
        ]
    );
}

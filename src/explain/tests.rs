use std::path::Path;

use super::text::is_build_path_change;
use super::*;
use crate::model::Aspect;

mod catalogue;

fn classify(old: &str, new: &str) -> Classification {
    TextChange::new(old.as_bytes(), new.as_bytes()).classify(Recognise::default())
}

fn kind(old: &str, new: &str) -> ChangeKind {
    classify(old, new).kind
}

/// The rebuild pair's text, from the testbed's root filesystems when they are there, else from the
/// excerpts committed under testdata/ (same lines, cut short).
fn rebuild_pair(name: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let testbed = Path::new("/var/tmp/testbed/rootfs");
    let read = |side: &str| std::fs::read(testbed.join(side).join("var/log").join(name)).ok();
    if let (Some(a), Some(b)) = (read("a"), read("b")) {
        return Some((a, b));
    }
    eprintln!("testbed rootfs absent: using the committed excerpt of {name}");
    None
}

fn excerpt_pair(name: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/explain/testdata");
    let read = |side: &str| std::fs::read(dir.join(side).join(name)).expect("committed excerpt");
    (read("a"), read("b"))
}

/// Both the committed excerpt and, where present, the whole testbed file.
fn pairs_of(name: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pairs = vec![excerpt_pair(name)];
    pairs.extend(rebuild_pair(name));
    pairs
}

#[test]
fn dpkg_log_of_the_rebuild_pair_differs_only_in_timestamps() {
    for (a, b) in pairs_of("dpkg.log") {
        let change = TextChange::new(&a, &b).classify(Recognise::default());
        assert_eq!(change.kind, ChangeKind::Timestamps);
        let lines = a.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
        assert_eq!(
            change.changed_lines, lines,
            "every line of dpkg.log changed"
        );
    }
}

#[test]
fn the_whole_testbed_dpkg_log_has_its_678_changed_lines() {
    let Some((a, b)) = rebuild_pair("dpkg.log") else {
        return;
    };
    let change = TextChange::new(&a, &b).classify(Recognise::default());
    assert_eq!(
        change,
        Classification {
            kind: ChangeKind::Timestamps,
            changed_lines: 678
        }
    );
    assert_eq!(
        change.evidence(),
        "678 changed lines differ only in timestamps"
    );
}

#[test]
fn bootstrap_log_of_the_rebuild_pair_holds_a_build_path() {
    for (a, b) in pairs_of("bootstrap.log") {
        let change = TextChange::new(&a, &b).classify(Recognise::default());
        assert_eq!(change.kind, ChangeKind::TimestampsAndBuildPaths);
    }
}

#[test]
fn alternatives_log_of_the_rebuild_pair_differs_only_in_timestamps() {
    for (a, b) in pairs_of("alternatives.log") {
        let change = TextChange::new(&a, &b).classify(Recognise::default());
        assert_eq!(change.kind, ChangeKind::Timestamps);
    }
}

#[test]
fn apt_history_and_term_logs_differ_only_in_timestamps() {
    let history = |start: &str, end: &str| {
        format!(
            "\nStart-Date: {start}\nCommandline: apt-get install -y curl\nInstall: curl:amd64 (7.88.1-10+deb12u8)\nEnd-Date: {end}\n"
        )
    };
    assert_eq!(
        kind(
            &history("2026-12-01  10:00:00", "2026-12-01  10:00:03"),
            &history("2026-12-02  09:59:58", "2026-12-02  10:00:01")
        ),
        ChangeKind::Timestamps
    );
    let term = |date: &str| {
        format!(
            "\nLog started: {date}\nSelecting previously unselected package curl.\nLog ended: {date}\n"
        )
    };
    assert_eq!(
        kind(&term("2026-12-01  10:00:00"), &term("2026-12-02  10:00:00")),
        ChangeKind::Timestamps
    );
}

#[test]
fn a_real_change_next_to_timestamps_is_other() {
    let dpkg = "2026-12-02 00:26:29 status installed base-passwd:amd64 3.6.1\n";
    // A version number changes.
    let newer = "2026-12-02 00:27:02 status installed base-passwd:amd64 3.6.2\n";
    assert_eq!(kind(dpkg, newer), ChangeKind::Other);
    // A word changes, the time does not.
    let word = "2026-12-02 00:26:29 status unpacked base-passwd:amd64 3.6.1\n";
    assert_eq!(kind(dpkg, word), ChangeKind::Other);
    // A line is added (with a timestamp).
    let added = format!("{dpkg}2026-12-02 00:26:30 startup archives install\n");
    assert_eq!(kind(dpkg, &added), ChangeKind::Other);
    // The timestamp becomes something else.
    assert_eq!(
        kind(
            dpkg,
            "2026-12-02 later status installed base-passwd:amd64 3.6.1\n"
        ),
        ChangeKind::Other
    );
    // Spacing changes.
    assert_eq!(
        kind(
            dpkg,
            "2026-12-02 00:26:29 status  installed base-passwd:amd64 3.6.1\n"
        ),
        ChangeKind::Other
    );
    // The last newline goes.
    assert_eq!(kind(dpkg, dpkg.trim_end()), ChangeKind::Other);
    // Plain text, no time at all.
    assert_eq!(kind("debian\n", "ubuntu\n"), ChangeKind::Other);
    // Epoch seconds are numbers unless a rule says otherwise.
    assert_eq!(
        kind("created 1700000000\n", "created 1700000999\n"),
        ChangeKind::Other
    );
}

#[test]
fn a_real_package_upgrade_in_dpkg_log_is_other() {
    // deb-d is deb-a with two packages upgraded by dpkg -i: its dpkg.log has 17 more lines.
    let upgrade = "2026-12-02 00:28:38 startup archives install\n2026-12-02 00:28:38 upgrade ncurses-base:all 6.4-4 6.5+20250216-2\n";
    let (a, _) = excerpt_pair("dpkg.log");
    let upgraded = [a.as_slice(), upgrade.as_bytes()].concat();
    let change = TextChange::new(&a, &upgraded);
    assert_eq!(
        change.classify(Recognise::default()).kind,
        ChangeKind::Other
    );
    let testbed = Path::new("/var/tmp/testbed/rootfs");
    let read = |side: &str| std::fs::read(testbed.join(side).join("var/log/dpkg.log")).ok();
    if let (Some(a), Some(d)) = (read("a"), read("d")) {
        let change = TextChange::new(&a, &d);
        assert_eq!(
            change.classify(Recognise::default()).kind,
            ChangeKind::Other
        );
    }
}

#[test]
fn identical_texts_are_unchanged() {
    let text = "2026-12-02 00:26:29 startup\n";
    assert_eq!(
        classify(text, text),
        Classification {
            kind: ChangeKind::Unchanged,
            changed_lines: 0
        }
    );
}

#[test]
fn every_documented_date_form_is_a_timestamp() {
    let forms = [
        ("2026-12-01", "2027-01-31"),
        ("2026-12-01T10:00:00Z", "2026-12-01T10:00:01Z"),
        (
            "2026-12-01T10:00:00.123456+01:00",
            "2026-12-02T11:22:33.9-07:00",
        ),
        ("2026-12-01T10:00:00+0100", "2026-12-01T10:00:00-0000"),
        ("2026-12-01 10:00:00", "2026-12-02 00:00:00"),
        ("2026-12-01 10:00:00,123", "2026-12-01 10:00:00,456"),
        ("2026-12-01  10:00:00", "2026-12-02  11:00:00"),
        ("2026-12-01 10:00:00 UTC", "2026-12-01 10:00:00 CEST"),
        ("2026/12/01 10:00:00", "2026/12/02 10:00:00"),
        ("Dec  2 00:25:13", "Dec 12 00:25:13"),
        (
            "Wed Dec  2 00:26:47 UTC 2026",
            "Thu Dec  3 09:00:00 UTC 2026",
        ),
        (
            "Sat Jul 11 10:17:11 2026 UTC",
            "Sun Jul 12 10:17:11 2026 UTC",
        ),
        (
            "Wed  2 Dec 00:26:47 UTC 2026",
            "Thu  3 Dec 00:26:47 UTC 2026",
        ),
        (
            "Tue, 01 Dec 2026 10:00:00 +0000",
            "Wed, 02 Dec 2026 11:00:00 +0000",
        ),
        (
            "Tue, 01 Dec 2026 10:00:00 GMT",
            "Wed, 02 Dec 2026 11:00:00 GMT",
        ),
        ("01 Dec 2026 10:00:00 +0000", "02 Dec 2026 10:00:00 +0000"),
        ("10/Oct/2026:13:55:36 -0700", "11/Oct/2026:13:55:36 -0700"),
        ("10:00:00", "23:59:60"),
        ("10:00:00.5", "10:00:01.25"),
    ];
    for (old, new) in forms {
        let line = |t: &str| format!("[{t}] started\n");
        assert_eq!(
            kind(&line(old), &line(new)),
            ChangeKind::Timestamps,
            "{old} → {new}"
        );
        let whole = timestamp_ranges(old.as_bytes(), false);
        assert_eq!(whole, vec![0..old.len()], "{old} is one token");
    }
}

#[test]
fn numbers_words_and_versions_are_not_timestamps() {
    for line in [
        "3.6.1",
        "12.4+deb12u15",
        "1:2.38.1-5+deb12u3",
        "10:30",
        "2026",
        "2026-13-01",
        "2026-12-32",
        "25:00:00",
        "Decoder 2 00:00:00x",
        "Monitor",
        "x12:00:00",
        "12:00:00x",
        "1700000000",
        "Dec 2",
    ] {
        assert_eq!(
            timestamp_ranges(line.as_bytes(), false),
            Vec::<std::ops::Range<usize>>::new(),
            "{line}"
        );
    }
}

#[test]
fn a_zone_is_part_of_the_timestamp_but_a_log_level_is_not() {
    let line = b"2026-12-01 10:00:00 INFO started";
    assert_eq!(timestamp_ranges(line, false), vec![0..19]);
    let line = b"2026-12-01 10:00:00 UTC started";
    assert_eq!(timestamp_ranges(line, false), vec![0..23]);
    assert_eq!(
        kind(
            "2026-12-01 10:00:00 INFO a\n",
            "2026-12-01 10:00:00 WARN a\n"
        ),
        ChangeKind::Other
    );
}

#[test]
fn timestamp_ranges_are_byte_ranges_for_masking() {
    let line = "update-alternatives 2026-12-02 00:26:32: run with --install /usr/bin/awk awk";
    assert_eq!(timestamp_ranges(line.as_bytes(), false), vec![20..39]);
    assert_eq!(&line[20..39], "2026-12-02 00:26:32");
    let line = "Local time is now:      Wed Dec  2 00:26:47 UTC 2026.";
    let ranges = timestamp_ranges(line.as_bytes(), false);
    assert_eq!(ranges.len(), 1);
    assert_eq!(&line[ranges[0].clone()], "Wed Dec  2 00:26:47 UTC 2026");
    // Non-ASCII text around a timestamp: ranges are bytes, on character boundaries.
    let line = "Zeit: 2026-12-02 00:26:32 – fertig";
    let ranges = timestamp_ranges(line.as_bytes(), false);
    assert_eq!(&line[ranges[0].clone()], "2026-12-02 00:26:32");
}

#[test]
fn epoch_seconds_count_only_when_asked() {
    let change = TextChange::new(
        b"h\t0\t0\t1700000000\t31536000\n",
        b"h\t0\t0\t1712345678\t31536000\n",
    );
    assert_eq!(
        change.classify(Recognise::default()).kind,
        ChangeKind::Other
    );
    let epoch = Recognise {
        epoch_seconds: true,
    };
    assert_eq!(change.classify(epoch).kind, ChangeKind::Timestamps);
    // The max-age beside it is not a time: a change there is other.
    let other = TextChange::new(
        b"h\t0\t0\t1700000000\t31536000\n",
        b"h\t0\t0\t1700000000\t31536001\n",
    );
    assert_eq!(other.classify(epoch).kind, ChangeKind::Other);
    assert_eq!(timestamp_ranges(b"at 1700000000.25 s", true), vec![3..16]);
}

#[test]
fn build_paths_differ_only_below_a_build_or_temporary_root() {
    let build_path = [
        // debootstrap's target, as in the testbed's bootstrap.log.
        (
            "/var/tmp/testbed/rootfs/a.tmp/var/lib/apt/lists/partial/x_InRelease",
            "/var/tmp/testbed/rootfs/b.tmp/var/lib/apt/lists/partial/x_InRelease",
        ),
        (
            "/tmp/tmp.AbCdEf1234/src/main.c",
            "/tmp/tmp.ZyXwVu9876/src/main.c",
        ),
        ("/tmp/tmp.AbCdEf1234", "/tmp/tmp.ZyXwVu9876"),
        ("/build/pkg-AbCd12/", "/build/pkg-Zz99Yy/"),
        (
            "/build/pkg-AbCd12/debian/tmp",
            "/build/pkg-Zz99Yy/debian/tmp",
        ),
        (
            "/tmp/pip-req-build-abc123/setup.py",
            "/tmp/pip-req-build-xyz789/setup.py",
        ),
        ("/tmp/pip-build-env-abc123", "/tmp/pip-build-env-xyz789"),
        ("/tmp/a/b/x", "/var/tmp/c/x"),
    ];
    for (old, new) in build_path {
        assert!(
            is_build_path_change(old.as_bytes(), new.as_bytes()),
            "{old} → {new}"
        );
    }
    let not_build_path = [
        // A file name under a temporary directory: another file.
        (
            "/var/tmp/rootfs/a.tmp/var/cache/apt/archives/adduser_3.134_all.deb",
            "/var/tmp/rootfs/a.tmp/var/cache/apt/archives/adduser_3.135_all.deb",
        ),
        ("/tmp/tmp.Ab/foo", "/tmp/tmp.Cd/bar"),
        // Not under a build root.
        ("/usr/lib/python3.11/os.py", "/usr/lib/python3.12/os.py"),
        ("/srv/a/var/lib/x", "/srv/b/var/lib/x"),
        ("/tmp/x", "/usr/x"),
        // A trailing slash only.
        ("/tmp/x", "/tmp/x/"),
    ];
    for (old, new) in not_build_path {
        assert!(
            !is_build_path_change(old.as_bytes(), new.as_bytes()),
            "{old} → {new}"
        );
    }
}

#[test]
fn build_paths_inside_text() {
    let line =
        |dir: &str| format!("-> \"/var/tmp/x/{dir}/var/lib/apt/lists/partial/InRelease\" [1]\n");
    assert_eq!(kind(&line("a.tmp"), &line("b.tmp")), ChangeKind::BuildPaths);
    // In a URL, as pip writes direct_url.json.
    let json = |dir: &str| format!("{{\"url\": \"file:///tmp/{dir}\", \"dir_info\": {{}}}}");
    assert_eq!(
        kind(&json("pip-req-build-abc123"), &json("pip-req-build-xyz789")),
        ChangeKind::BuildPaths
    );
    // A URL's host is not a path.
    assert_eq!(
        kind("URL:http://tmp/a/x\n", "URL:http://tmp/b/x\n"),
        ChangeKind::Other
    );
    // A relative path is not a build path.
    assert_eq!(kind("see tmp/a/x\n", "see tmp/b/x\n"), ChangeKind::Other);
}

#[test]
fn a_diff_made_by_the_caller_gives_the_same_classification() {
    for name in ["dpkg.log", "bootstrap.log", "alternatives.log"] {
        let (a, b) = excerpt_pair(name);
        let (a, b) = (
            std::str::from_utf8(&a).expect("utf-8"),
            std::str::from_utf8(&b).expect("utf-8"),
        );
        let old: Vec<&str> = a.split_inclusive('\n').collect();
        let new: Vec<&str> = b.split_inclusive('\n').collect();
        let ops = similar::capture_diff_slices(similar::Algorithm::Histogram, &old, &new);
        let from_diff = TextChange::from_diff(&old, &new, &ops).classify(Recognise::default());
        assert_eq!(from_diff, classify(a, b), "{name}");
    }
    // Lines added by the diff: other.
    let (old, new) = (vec!["a\n"], vec!["a\n", "b\n"]);
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new);
    let change = TextChange::from_diff(&old, &new, &ops);
    assert_eq!(
        change.classify(Recognise::default()).kind,
        ChangeKind::Other
    );
}

#[test]
fn only_listed_fields_may_differ() {
    let shadow = |date: &str, hash: &str| {
        format!("root:{hash}:{date}:0:99999:7:::\ndaemon:*:{date}:0:99999:7:::\n")
    };
    let change = |a: String, b: String| (a, b);
    let (a, b) = change(shadow("20789", "*"), shadow("20790", "*"));
    let text = TextChange::new(a.as_bytes(), b.as_bytes());
    assert_eq!(text.only_fields_differ(b':', &[3]), Some(2));
    assert_eq!(text.only_fields_differ(b':', &[2]), None);
    assert_eq!(
        text.only_fields_differ(b':', &[9, 3, 1]),
        Some(2),
        "any order"
    );
    let (a, b) = change(shadow("20789", "*"), shadow("20790", "$y$j9T$abc"));
    let text = TextChange::new(a.as_bytes(), b.as_bytes());
    assert_eq!(text.only_fields_differ(b':', &[3]), None);
    let text = TextChange::new(b"a:b:1:\n", b"a:b:1:x\n");
    assert_eq!(text.only_fields_differ(b':', &[3]), None);
    let text = TextChange::new(b"a:b:1\n", b"a:b:1:\n");
    assert_eq!(text.only_fields_differ(b':', &[3]), None, "a field added");
}

#[test]
fn texts_over_the_limit_are_not_classified() {
    let big = vec![b'x'; MAX_TEXT_BYTES + 1];
    let change = TextChange::new(&big, b"x");
    assert_eq!(
        change.classify(Recognise::default()).kind,
        ChangeKind::TooLarge
    );
    assert_eq!(change.only_fields_differ(b':', &[1]), None);
}

#[test]
fn invalid_utf8_is_compared_as_bytes() {
    let old = b"2026-12-01 10:00:00 caf\xe9\n";
    let new = b"2026-12-02 10:00:00 caf\xe9\n";
    let change = TextChange::new(old, new);
    assert_eq!(
        change.classify(Recognise::default()).kind,
        ChangeKind::Timestamps
    );
    let other = TextChange::new(old, b"2026-12-02 10:00:00 caf\xe8\n");
    assert_eq!(other.classify(Recognise::default()).kind, ChangeKind::Other);
}

#[test]
fn explanations_serialise_as_the_report_lists_them() {
    let explanation = Explanation {
        rule: "common.log-timestamps".to_owned(),
        category: Category::Timestamp,
        severity: Severity::Noise,
        text: "t".to_owned(),
        aspects: Aspect::Content.into(),
        evidence: Some("2 changed lines differ only in timestamps".to_owned()),
    };
    assert_eq!(
        serde_json::to_value(&explanation).expect("serialise"),
        serde_json::json!({
            "rule": "common.log-timestamps",
            "category": "timestamp",
            "severity": "noise",
            "text": "t",
            "aspects": ["content"],
            "evidence": "2 changed lines differ only in timestamps",
        })
    );
}

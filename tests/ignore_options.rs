//! Each ignore option hides exactly its aspects, end to end through the real binary.
//!
//! One image pair is built whose differences each belong to exactly one aspect, each in its own file
//! or field. Every option is then run alone and must hide exactly the deltas of its aspects.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use ocidiff::fixture::{FIXED_MTIME, ImageBuilder, LayerBuilder, LayerCompression};
use serde_json::json;
use support::{Pair, Report, compare, is_derived, path_str, run_json, show};

const T1: &str = "2023-11-14T22:13:20Z";
const T2: &str = "2024-01-01T00:00:00Z";

/// Which side of the pair is being built.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    A,
    B,
}

fn layer(side: Side) -> Vec<u8> {
    let b = side == Side::B;
    let mut l = LayerBuilder::new()
        .dir("srv")
        // file-time: mtime of one file
        .file("srv/mtime.txt", "m")
        .mtime(if b { FIXED_MTIME + 100 } else { FIXED_MTIME })
        // file-time: PAX sub-second mtime (both sides PAX, so the tar format is equal)
        .file("srv/subsec.txt", "s")
        .pax("mtime", if b { "1700000000.5" } else { "1700000000.25" })
        // mode-type-bits only
        .file("srv/typebits.txt", "t")
        .mode(if b { 0o644 } else { 0o100644 })
        // permissions only
        .file("srv/perm.txt", "p")
        .mode(if b { 0o600 } else { 0o644 })
        // owner: uid only
        .file("srv/owner.txt", "o")
        .owner(if b { 1000 } else { 0 }, 0);
    // tar format: USTAR vs a PAX record that changes no value
    l = l.file("format.txt", "f");
    if b {
        l = l.pax("mtime", FIXED_MTIME.to_string());
    }
    // canonical paths: `./f` vs `f`
    l = l.file(if b { "spelled.txt" } else { "./spelled.txt" }, "n");
    // order: two entries swapped
    l = if b {
        l.file("second.txt", "2").file("first.txt", "1")
    } else {
        l.file("first.txt", "1").file("second.txt", "2")
    };
    // content: a real change nothing hides
    l.file("content.txt", if b { "new" } else { "old" }).build()
}

fn image(side: Side) -> ImageBuilder {
    let b = side == Side::B;
    let time = if b { T2 } else { T1 };
    let config = json!({
        "created": time,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "history": [
            {"created": time, "created_by": "ADD rootfs"},
            {"created": T1, "created_by": if b { "RUN build --fast" } else { "RUN build" }, "empty_layer": true},
        ],
    });
    let compression = if b {
        LayerCompression::Zstd
    } else {
        LayerCompression::Gzip
    };
    ImageBuilder::new()
        .config(config)
        .layer(layer(side), compression)
        .annotation(
            "org.opencontainers.image.ref.name",
            if b { "v2" } else { "v1" },
        )
}

struct Pair2 {
    a: String,
    b: String,
}

/// The pair, written once for all tests of this file.
fn pair() -> &'static Pair2 {
    static PAIR: OnceLock<Pair2> = OnceLock::new();
    PAIR.get_or_init(|| {
        // Statics are never dropped: keep the files under target/, rewritten on every run.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ignore_options");
        let _ = std::fs::remove_dir_all(&dir);
        let a = dir.join("a");
        let b = dir.join("b");
        image(Side::A).write_oci_layout(&a, None).unwrap();
        image(Side::B).write_oci_layout(&b, None).unwrap();
        Pair2 {
            a: path_str(&a),
            b: path_str(&b),
        }
    })
}

fn with(flags: &[&str]) -> (i32, Report) {
    let p = pair();
    compare(flags, &p.a, &p.b)
}

/// The non-derived deltas the pair must have strictly: one per aspect, each in its own place.
fn expected_primary(order_key: &str) -> BTreeSet<Pair> {
    let l = "/layers-0";
    [
        Pair::new(l, "srv/mtime.txt", "mtime", "file-time"),
        Pair::new(l, "srv/subsec.txt", "mtime", "file-time"),
        Pair::new(l, "srv/typebits.txt", "mode-type-bits", "mode-type-bits"),
        Pair::new(l, "srv/perm.txt", "mode", "mode"),
        Pair::new(l, "srv/owner.txt", "uid", "owner"),
        Pair::new(l, "format.txt", "format", "tar-format"),
        Pair::new(l, "spelled.txt", "name", "name-spelling"),
        Pair::new(l, order_key, "index", "order"),
        Pair::new(l, "content.txt", "content", "content"),
        Pair::new(l, "layer", "mediaType", "media-type"),
        Pair::new("/config", "config", "created", "image-time"),
        Pair::new("/config", "config", "history[0].created", "image-time"),
        Pair::new("/config", "config", "history[1].created_by", "history"),
        Pair::new(
            "/",
            "manifest",
            "annotations[\"org.opencontainers.image.ref.name\"]",
            "image-name",
        ),
    ]
    .into_iter()
    .collect()
}

fn primary(pairs: &BTreeSet<Pair>) -> BTreeSet<Pair> {
    pairs
        .iter()
        .filter(|p| !is_derived(&p.aspect))
        .cloned()
        .collect()
}

/// The strict report, checked against the hand-written expectation.
fn strict() -> &'static BTreeSet<Pair> {
    static STRICT: OnceLock<BTreeSet<Pair>> = OnceLock::new();
    STRICT.get_or_init(|| {
        let (code, report) = with(&[]);
        assert_eq!(code, 1);
        let shown = report.shown();
        assert_eq!(shown, report.all(), "strict mode shows every delta");
        // Which of the two swapped entries moved is an implementation detail: either one, not both.
        let order: Vec<&Pair> = shown.iter().filter(|p| p.aspect == "order").collect();
        assert_eq!(order.len(), 1, "one moved entry:\n{}", show(&shown));
        assert!(["first.txt", "second.txt"].contains(&order[0].key.as_str()));
        let expected = expected_primary(&order[0].key.clone());
        assert_eq!(
            primary(&shown),
            expected,
            "strict primary deltas:\n{}",
            show(&shown)
        );
        // Derived: the digests that restate the changes are there too.
        let derived: BTreeSet<(String, String)> = shown
            .iter()
            .filter(|p| is_derived(&p.aspect))
            .map(|p| (p.key.clone(), p.field.clone()))
            .collect();
        for want in [
            ("layer", "digest"),
            ("config", "digest"),
            ("config", "rootfs.diff_ids[0]"),
        ] {
            assert!(
                derived.contains(&(want.0.to_owned(), want.1.to_owned())),
                "derived {want:?} missing:\n{}",
                show(&shown)
            );
        }
        shown
    })
}

fn minus_aspects(set: &BTreeSet<Pair>, aspects: &[&str]) -> BTreeSet<Pair> {
    set.iter()
        .filter(|p| !aspects.contains(&p.aspect.as_str()))
        .cloned()
        .collect()
}

/// Runs with only `flag` and checks that exactly the deltas of `aspects` disappear, that the exit code
/// says there is still something, and that the summary names the flag with how many it hid.
fn check_single(flag: &str, aspects: &[&str]) {
    let strict = strict();
    let (code, report) = with(&[&format!("--{flag}")]);
    let shown = report.shown();
    // Everything else stays visible (a content change lights every context, so derived digests stay).
    let expected = minus_aspects(strict, aspects);
    assert_eq!(
        shown,
        expected,
        "--{flag}: shown\n{}\nexpected\n{}",
        show(&shown),
        show(&expected)
    );
    // And it did hide something: each option's aspects are in the pair.
    let hidden: Vec<&Pair> = strict
        .iter()
        .filter(|p| aspects.contains(&p.aspect.as_str()))
        .collect();
    assert!(!hidden.is_empty(), "--{flag} should have something to hide");
    assert_eq!(code, 1, "--{flag}: content still differs");
    assert_eq!(
        report.0["filter"]["ignored"],
        json!([flag]),
        "--{flag}: filter in the report"
    );
    // The count is of differences: those this option alone hides (a difference that keeps another
    // shown delta, e.g. a descriptor whose derived digest restates a content change, is not hidden;
    // one that only restates others, a digest, does not count).
    let (_, strict_report) = with(&[]);
    let count = strict_report.counted_differences().len() - report.counted_differences().len();
    assert!(
        report
            .shown_differences()
            .is_subset(&strict_report.shown_differences())
    );
    let by_option = report.hidden_by_option();
    assert_eq!(
        by_option.get(flag).copied(),
        Some(count as u64),
        "--{flag}: hidden.by-option {by_option:?}"
    );
    let run = run_json(&["--quiet", &format!("--{flag}")], &pair().a, &pair().b);
    assert_eq!(run.code, 1);
    assert!(run.stderr.is_empty(), "--quiet: {:?}", run.stderr);
    let summary = run_json(&[&format!("--{flag}")], &pair().a, &pair().b).stderr;
    let named = format!("--{flag} ");
    if count > 0 {
        assert!(
            summary.contains(&format!("--{flag} {count}")),
            "--{flag}: summary should name the filter and its count {count}: {summary:?}"
        );
    } else {
        assert!(!summary.contains(&named), "hid nothing: {summary:?}");
    }
}

/// Checks `hidden.by-option` and the stderr summary for every active option of `flags`: each count is
/// what turning just that option off (`--flag=false`) brings back.
fn check_hidden_counts(flags: &[&str], report: &Report) {
    let p = pair();
    let stderr = run_json(flags, &p.a, &p.b).stderr;
    let by_option = report.hidden_by_option();
    assert!(!by_option.is_empty());
    let mut some_hid = false;
    for (flag, n) in &by_option {
        let off = format!("--{flag}=false");
        let on = format!("--{flag}");
        let mut toggled: Vec<&str> = flags.iter().copied().filter(|f| *f != on).collect();
        toggled.push(&off);
        let (_, without) = with(&toggled);
        let back = without.counted_differences().len() - report.counted_differences().len();
        assert_eq!(*n, back as u64, "{flag}: {by_option:?}");
        if *n > 0 {
            some_hid = true;
            assert!(
                stderr.contains(&format!("--{flag} {n}")),
                "summary lacks --{flag} {n}: {stderr:?}"
            );
        }
    }
    assert!(some_hid);
    assert!(stderr.contains("hidden:"), "{stderr:?}");
}

#[test]
fn strict_shows_one_delta_per_aspect_each_in_its_own_place() {
    strict();
}

#[test]
fn ignore_file_timestamps_hides_mtime_and_pax_subsecond_mtime_only() {
    check_single("ignore-file-timestamps", &["file-time"]);
}

#[test]
fn ignore_image_timestamps_hides_created_and_history_created_only() {
    check_single("ignore-image-timestamps", &["image-time"]);
}

#[test]
fn ignore_history_hides_history_but_not_its_timestamps() {
    check_single("ignore-history", &["history"]);
}

#[test]
fn ignore_file_order_hides_the_swapped_entries_only() {
    check_single("ignore-file-order", &["order"]);
}

#[test]
fn ignore_file_mode_redundant_bits_hides_type_bits_but_not_permissions() {
    check_single("ignore-file-mode-redundant-bits", &["mode-type-bits"]);
}

#[test]
fn ignore_image_name_hides_the_ref_name_annotation_only() {
    check_single("ignore-image-name", &["image-name"]);
}

#[test]
fn ignore_tar_format_hides_ustar_vs_pax_only() {
    check_single("ignore-tar-format", &["tar-format"]);
}

#[test]
fn treat_canonical_paths_equal_hides_dot_slash_spelling_only() {
    check_single("treat-canonical-paths-equal", &["name-spelling"]);
}

#[test]
fn ignore_media_types_hides_gzip_vs_zstd_only() {
    check_single("ignore-media-types", &["media-type"]);
}

#[test]
fn ignore_owner_hides_uid_only() {
    check_single("ignore-owner", &["owner"]);
}

#[test]
fn ignore_mode_hides_permissions_and_type_bits() {
    check_single("ignore-mode", &["mode", "mode-type-bits"]);
}

#[test]
fn every_option_has_a_test_here() {
    // If an option is added, this pair and the tests above must learn about it.
    let flags: Vec<&str> = ocidiff::filter::IgnoreOption::ALL
        .iter()
        .map(|o| o.flag())
        .collect();
    assert_eq!(
        flags,
        [
            "ignore-file-timestamps",
            "ignore-image-timestamps",
            "ignore-history",
            "ignore-file-order",
            "ignore-file-mode-redundant-bits",
            "ignore-image-name",
            "ignore-tar-format",
            "treat-canonical-paths-equal",
            "ignore-media-types",
            "ignore-owner",
            "ignore-mode",
        ]
    );
}

const SEMANTIC_ASPECTS: [&str; 9] = [
    "file-time",
    "image-time",
    "history",
    "order",
    "mode-type-bits",
    "image-name",
    "tar-format",
    "name-spelling",
    "media-type",
];

#[test]
fn ignore_timestamps_is_both_timestamp_options() {
    let (code, report) = with(&["--ignore-timestamps"]);
    assert_eq!(code, 1);
    assert_eq!(
        report.shown(),
        minus_aspects(strict(), &["file-time", "image-time"])
    );
    let (_, both) = with(&["--ignore-file-timestamps", "--ignore-image-timestamps"]);
    assert_eq!(report.shown(), both.shown());
    assert_eq!(
        report.0["filter"]["ignored"],
        json!(["ignore-file-timestamps", "ignore-image-timestamps"])
    );
}

#[test]
fn semantic_hides_all_of_diffocis_aspects_but_keeps_content_mode_and_owner() {
    let (code, report) = with(&["--semantic"]);
    assert_eq!(code, 1);
    let shown = report.shown();
    let l = "/layers-0";
    let expected_primary: BTreeSet<Pair> = [
        Pair::new(l, "content.txt", "content", "content"),
        Pair::new(l, "srv/perm.txt", "mode", "mode"),
        Pair::new(l, "srv/owner.txt", "uid", "owner"),
    ]
    .into_iter()
    .collect();
    assert_eq!(primary(&shown), expected_primary, "{}", show(&shown));
    assert_eq!(
        primary(&shown),
        primary(&minus_aspects(strict(), &SEMANTIC_ASPECTS))
    );
    // The config differs only in ignored aspects now: its digest (derived) is hidden with them, while
    // the layer's, which restates the content change, stays.
    let keys = report.shown_keys();
    assert!(
        keys.contains(&("layer".into(), "digest".into())),
        "{keys:?}"
    );
    assert!(
        !keys.contains(&("config".into(), "digest".into())),
        "{keys:?}"
    );
    assert!(
        !keys.contains(&("config".into(), "rootfs.diff_ids[0]".into())),
        "{keys:?}"
    );
    let by_option = report.hidden_by_option();
    let flags: BTreeSet<&str> = by_option.keys().map(String::as_str).collect();
    let semantic: BTreeSet<&str> = ocidiff::filter::IgnoreOption::SEMANTIC
        .iter()
        .map(|o| o.flag())
        .collect();
    assert_eq!(flags, semantic);
    // Options whose differences are all in their own entries hide one difference each.
    for flag in [
        "ignore-file-order",
        "ignore-file-mode-redundant-bits",
        "ignore-tar-format",
        "treat-canonical-paths-equal",
    ] {
        assert_eq!(by_option[flag], 1, "{flag}: {by_option:?}");
    }
    assert_eq!(by_option["ignore-file-timestamps"], 2, "{by_option:?}");
    check_hidden_counts(&["--semantic"], &report);
}

#[test]
fn semantic_with_ignore_history_false_brings_history_back() {
    let (code, report) = with(&["--semantic", "--ignore-history=false"]);
    assert_eq!(code, 1);
    let shown = report.shown();
    let mut expected = primary(&minus_aspects(strict(), &SEMANTIC_ASPECTS));
    expected.insert(Pair::new(
        "/config",
        "config",
        "history[1].created_by",
        "history",
    ));
    assert_eq!(primary(&shown), expected, "{}", show(&shown));
    // The config is lit again by the history change, so its derived digest is shown again.
    assert!(
        report
            .shown_keys()
            .contains(&("config".into(), "digest".into()))
    );
    assert!(!report.hidden_by_option().contains_key("ignore-history"));
}

#[test]
fn ignore_owner_and_mode_on_top_of_semantic_leave_only_content() {
    let (code, report) = with(&["--semantic", "--ignore-owner", "--ignore-mode"]);
    assert_eq!(code, 1);
    let shown = report.shown();
    assert_eq!(
        primary(&shown),
        [Pair::new("/layers-0", "content.txt", "content", "content")]
            .into_iter()
            .collect(),
        "{}",
        show(&shown)
    );
}

#[test]
fn everything_hidden_exits_0_and_the_summary_counts_each_filter() {
    let p = pair();
    let flags = [
        "--semantic",
        "--ignore-owner",
        "--ignore-mode",
        "--ignore-path",
        "content.txt",
    ];
    let (code, report) = with(&flags);
    assert_eq!(code, 0, "nothing shown: {}", show(&report.shown()));
    assert!(report.shown().is_empty());
    assert_eq!(report.shown_count(), 0);
    assert_eq!(report.hidden_by_path(), 1);
    check_hidden_counts(&flags, &report);
    let run = run_json(&flags, &p.a, &p.b);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("--ignore-path 1"), "{:?}", run.stderr);
    assert!(run.stderr.contains("--ignore-owner "), "{:?}", run.stderr);
    assert!(run.stderr.contains("--ignore-mode "), "{:?}", run.stderr);
}

#[test]
fn ignore_path_hides_a_file_by_glob_and_a_directory_with_everything_below() {
    let strict = strict();
    // A glob.
    let (code, report) = with(&["--ignore-path", "*.txt"]);
    let shown = report.shown();
    assert!(
        shown.iter().all(|p| !p.key.ends_with(".txt")),
        "{}",
        show(&shown)
    );
    assert_eq!(code, 1, "config and descriptors still differ");
    // Non-file differences are not paths: untouched.
    let non_file: BTreeSet<Pair> = strict
        .iter()
        .filter(|p| !p.key.contains('.'))
        .cloned()
        .collect();
    assert!(non_file.is_subset(&shown), "{}", show(&shown));
    // A directory: srv hides srv/* and nothing else; a leading / and a trailing / are optional.
    for pattern in ["srv", "/srv/"] {
        let (code, report) = with(&["--ignore-path", pattern]);
        assert_eq!(code, 1);
        let expected: BTreeSet<Pair> = strict
            .iter()
            .filter(|p| !p.key.starts_with("srv/"))
            .cloned()
            .collect();
        assert_eq!(report.shown(), expected, "--ignore-path {pattern}");
        assert_eq!(report.hidden_by_path(), 5, "five files below srv differ");
        assert_eq!(report.0["filter"]["ignorePaths"], json!([pattern]));
    }
    // A pattern must not match a mere prefix of a name.
    let (_, report) = with(&["--ignore-path", "content"]);
    assert_eq!(report.shown(), *strict);
    assert_eq!(report.hidden_by_path(), 0);
}

#[test]
fn ignore_file_reads_globs_and_skips_comments_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ignore");
    std::fs::write(
        &file,
        "# rebuild noise\n\nsrv/**\n   # indented comment\n  format.txt  \n#content.txt\n",
    )
    .unwrap();
    let (code, report) = with(&["--ignore-file", &path_str(&file)]);
    assert_eq!(code, 1);
    let files = report.shown_files();
    assert!(files.contains("content.txt"), "commented out: {files:?}");
    assert!(!files.contains("format.txt"), "{files:?}");
    assert!(files.iter().all(|f| !f.starts_with("srv/")), "{files:?}");
    let expected: BTreeSet<Pair> = strict()
        .iter()
        .filter(|p| !p.key.starts_with("srv/") && p.key != "format.txt")
        .cloned()
        .collect();
    assert_eq!(report.shown(), expected);
    assert_eq!(report.hidden_by_path(), 6);
    // --ignore-file and --ignore-path add up.
    let (_, both) = with(&[
        "--ignore-file",
        &path_str(&file),
        "--ignore-path",
        "content.txt",
    ]);
    assert!(!both.shown_files().contains("content.txt"));
    assert_eq!(both.hidden_by_path(), 7);
}

#[test]
fn a_missing_ignore_file_is_an_error() {
    let p = pair();
    let run = run_json(
        &["--ignore-file", "/nonexistent/ocidiff-ignore"],
        &p.a,
        &p.b,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("/nonexistent/ocidiff-ignore"),
        "{}",
        run.stderr
    );
}

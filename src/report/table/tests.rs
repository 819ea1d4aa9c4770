use serde_json::json;

use super::*;
use crate::filter::{Filter, IgnoreOption, Presentation, View};
use crate::model::{Aspect, Timestamp};
use crate::oci::media_type;
use crate::report::fixtures::*;

const OS_RELEASE_0: &str = "fb844374742438cf1b4e675dcd7d87c2fd6fbdb7cc7be30c62d4027240474aaf";
const OS_RELEASE_1: &str = "e08e943282c5d38f99bfde311c7d5759a4578f92fca5943e5b1351e8cd472892";
const LOADER_ATTIC_0: &str = "4f419a09b9f608e753045d83c255818c793913c274f724eb10d8ca8f474ae457";
const LOADER_ATTIC_1: &str = "959301d5c88fab262a0631f1c87d02e1ef52215de35e0316af4513014a449b7f";

/// The line diffoci's CI greps for (docs section 7), character for character.
const CI_GREP_LINE: &str = "File    etc/os-release                       fb844374742438cf1b4e675dcd7d87c2fd6fbdb7cc7be30c62d4027240474aaf    e08e943282c5d38f99bfde311c7d5759a4578f92fca5943e5b1351e8cd472892";

fn render(report: &Report, filter: &Filter) -> String {
    let presentation = Presentation::new(report, filter, View::PerLayer);
    let mut out = Vec::new();
    write_table(&mut out, report, &presentation.shown()).unwrap();
    String::from_utf8(out).unwrap()
}

fn semantic() -> Filter {
    Filter::new(&IgnoreOption::SEMANTIC, &[]).unwrap()
}

fn strict() -> Filter {
    Filter::new(&[], &[]).unwrap()
}

fn single_row(difference: crate::model::Difference) -> Row {
    let mut report = report_skeleton();
    report.differences.push(difference);
    let filter = strict();
    let presentation = Presentation::new(&report, &filter, View::PerLayer);
    let rows = table_rows(&report, &presentation.shown());
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.into_iter().next().unwrap()
}

fn cells(row: &Row) -> (&str, &str, &str, &str) {
    (row.kind, &row.name, &row.input0, &row.input1)
}

#[test]
fn oracle_a_ci_grep_line_is_reproduced_exactly() {
    let mut report = report_skeleton();
    report.differences.push(content_difference(
        LAYER0,
        "etc/os-release",
        OS_RELEASE_0,
        OS_RELEASE_1,
    ));
    report.differences.push(content_difference(
        LAYER0,
        "usr/lib/engines-3/loader_attic.so",
        LOADER_ATTIC_0,
        LOADER_ATTIC_1,
    ));
    let table = render(&report, &semantic());
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("TYPE    NAME                                 INPUT-0 "),
        "{table}"
    );
    assert_eq!(lines[1], CI_GREP_LINE);
    assert!(
        lines[2].starts_with("File    usr/lib/engines-3/loader_attic.so    4f419a09"),
        "{table}"
    );
    assert!(
        table.ends_with(&format!("{LOADER_ATTIC_1}\n")),
        "the last column is never padded"
    );
}

#[test]
fn no_rows_means_no_output_at_all() {
    let report = report_skeleton();
    assert_eq!(render(&report, &strict()), "");
    let mut report = report_skeleton();
    let mut e0 = entry("etc/motd");
    let mut e1 = entry("etc/motd");
    e0.mtime = Timestamp::from_secs(1);
    e1.mtime = Timestamp::from_secs(2);
    let mtime = delta(
        Aspect::FileTime,
        "mtime",
        json!(e0.mtime.rfc3339()),
        json!(e1.mtime.rfc3339()),
    );
    report
        .differences
        .push(file_difference(LAYER0, Some(e0), Some(e1), vec![mtime]));
    assert_eq!(
        render(&report, &semantic()),
        "",
        "a difference hidden by the filter prints nothing"
    );
    assert!(render(&report, &strict()).contains("1970-01-01 00:00:01 +0000 UTC"));
}

#[test]
fn mode_cells_print_the_whole_mode_field_in_hex() {
    let mut e0 = entry("./bin/sh");
    let mut e1 = entry("./bin/sh");
    e0.mode = 0o100644;
    e1.mode = 0o644;
    let d = delta(
        Aspect::ModeTypeBits,
        "mode-type-bits",
        json!(0o100000),
        json!(0),
    );
    let row = single_row(file_difference(LAYER0, Some(e0), Some(e1), vec![d]));
    assert_eq!(
        cells(&row),
        ("File", "./bin/sh", "Mode 0x81a4", "Mode 0x1a4")
    );
}

#[test]
fn the_first_delta_in_diffocis_precedence_wins() {
    let mut e0 = entry("etc/shadow");
    let mut e1 = entry("etc/shadow");
    e1.owner_mut().uid = 42;
    e1.content = Some(digest(&hex_of('f')));
    let deltas = vec![
        delta(
            Aspect::Content,
            "content",
            json!(e0.content),
            json!(e1.content),
        ),
        delta(Aspect::Owner, "uid", json!(0), json!(42)),
    ];
    e0.owner_mut().uname = "root".into();
    let row = single_row(file_difference(LAYER0, Some(e0), Some(e1), deltas));
    assert_eq!(cells(&row), ("File", "etc/shadow", "Uid 0", "Uid 42"));
}

#[test]
fn fields_diffoci_prints_as_question_marks_are_named() {
    let mut e0 = entry("etc/a");
    let mut e1 = entry("etc/a");
    e0.extras_mut().xattrs.insert("user.x".into(), "1".into());
    e1.kind = crate::model::EntryKind::Symlink;
    let kind = delta(Aspect::Kind, "kind", json!("file"), json!("symlink"));
    let xattr = delta(Aspect::Xattr, "xattr:user.x", json!("1"), json!(null));
    let row = single_row(file_difference(
        LAYER0,
        Some(e0.clone()),
        Some(e1.clone()),
        vec![xattr.clone()],
    ));
    assert_eq!(cells(&row).2, "Xattr user.x=1");
    assert_eq!(cells(&row).3, "Xattr user.x (none)");
    let row = single_row(file_difference(
        LAYER0,
        Some(e0),
        Some(e1),
        vec![xattr, kind],
    ));
    assert_eq!(
        (cells(&row).2, cells(&row).3),
        ("Type file", "Type symlink")
    );
}

#[test]
fn an_absent_side_is_missing() {
    let e1 = entry("./etc/new");
    let d = delta(Aspect::Presence, "presence", json!(null), json!(true));
    let row = single_row(file_difference(LAYER0, None, Some(e1), vec![d]));
    assert_eq!(cells(&row), ("File", "./etc/new", "missing", &*hex_of('0')));
}

#[test]
fn descriptor_rows_name_the_media_type_and_prefer_media_types_then_digests() {
    let d = delta(
        Aspect::Digest,
        "digest",
        json!(format!("sha256:{}", hex_of('1'))),
        json!(format!("sha256:{}", hex_of('2'))),
    );
    let row = single_row(other_difference(
        MANIFEST,
        DiffKind::Desc,
        "manifest",
        d.clone(),
    ));
    assert_eq!(
        cells(&row),
        (
            "Desc",
            media_type::OCI_MANIFEST,
            &*hex_of('1'),
            &*hex_of('2')
        )
    );
    let types = delta(
        Aspect::MediaType,
        "mediaType",
        json!(media_type::OCI_MANIFEST),
        json!(media_type::DOCKER_MANIFEST),
    );
    let mut difference = other_difference(MANIFEST, DiffKind::Desc, "manifest", d);
    difference.deltas_mut().push(types);
    let row = single_row(difference);
    assert_eq!(
        (cells(&row).2, cells(&row).3),
        (media_type::OCI_MANIFEST, media_type::DOCKER_MANIFEST)
    );
}

#[test]
fn a_descriptor_present_on_one_side_only_shows_missing_and_the_digest() {
    let mut report = report_skeleton();
    report.contexts[4].descriptors.input1 = None;
    let presence = delta(Aspect::Presence, "presence", json!(true), json!(null));
    report
        .differences
        .push(other_difference(LAYER1, DiffKind::Desc, "layer", presence));
    let filter = strict();
    let presentation = Presentation::new(&report, &filter, View::PerLayer);
    let rows = table_rows(&report, &presentation.shown());
    assert_eq!(
        cells(&rows[0]),
        ("Desc", media_type::OCI_LAYER_GZIP, &*hex_of('a'), "missing")
    );
}

#[test]
fn layer_notes_fill_input_0_and_leave_input_1_empty() {
    let d = delta(Aspect::EntryCount, "entries", json!(457), json!(454));
    let row = single_row(other_difference(LAYER1, DiffKind::Layer, "entries", d));
    assert_eq!(
        cells(&row),
        (
            "Layer",
            "ctx:/manifests-0/layers-1/layer",
            "length mismatch (457 vs 454)",
            ""
        )
    );
    let d = delta(Aspect::EntryCount, "count", json!(2), json!(1));
    let row = single_row(other_difference(LAYER1, DiffKind::Layer, "x", d));
    assert_eq!(
        row.input0,
        r#"name "x" appears 2 times in input 0, 1 times in input 1"#
    );
    let d = delta(Aspect::EntryCount, "count", json!(1), json!(0));
    let row = single_row(other_difference(
        LAYER1,
        DiffKind::Layer,
        "go/.wh..wh..opq",
        d,
    ));
    assert_eq!(
        row.input0,
        r#"name "go/.wh..wh..opq" only appears in input 0"#
    );
}

#[test]
fn config_rows_show_field_and_value() {
    let d = delta(Aspect::Config, "Env[2]", json!("LANG=C"), json!(null));
    let row = single_row(other_difference(CONFIG, DiffKind::Cfg, "config.Env", d));
    assert_eq!(
        cells(&row),
        (
            "Cfg",
            "ctx:/manifests-0/config",
            "Env[2]: LANG=C",
            "Env[2]: missing"
        )
    );
}

#[test]
fn layer_rows_keep_trailing_padding_as_tabwriter_does() {
    let mut report = report_skeleton();
    let d = delta(Aspect::EntryCount, "entries", json!(4), json!(3));
    report
        .differences
        .push(other_difference(LAYER1, DiffKind::Layer, "entries", d));
    let table = render(&report, &strict());
    let row = table.lines().nth(1).unwrap();
    assert_eq!(
        row,
        "Layer    ctx:/manifests-0/layers-1/layer    length mismatch (4 vs 3)    "
    );
}

#[test]
fn control_characters_in_names_are_escaped_and_do_not_break_columns() {
    let mut e0 = entry("evil\u{1b}[2J\tname");
    let mut e1 = e0.clone();
    e0.owner_mut().uid = 1;
    e1.owner_mut().uid = 2;
    let d = delta(Aspect::Owner, "uid", json!(1), json!(2));
    let mut report = report_skeleton();
    report
        .differences
        .push(file_difference(LAYER0, Some(e0), Some(e1), vec![d]));
    let table = render(&report, &strict());
    assert!(
        !table.contains('\u{1b}') && !table.contains('\t'),
        "{table:?}"
    );
    assert!(
        table.contains("File    evil\\u{1b}[2J\\tname    Uid 1      Uid 2\n"),
        "{table:?}"
    );
}

#[test]
fn table_snapshot() {
    let mut report = report_skeleton();
    report.differences.push(content_difference(
        LAYER0,
        "etc/os-release",
        OS_RELEASE_0,
        OS_RELEASE_1,
    ));
    let mut e0 = entry("bin/busybox");
    let mut e1 = entry("bin/busybox");
    e0.mode = 0o104755;
    e1.mode = 0o100755;
    let mode = delta(Aspect::Mode, "mode", json!(0o4755), json!(0o755));
    report
        .differences
        .push(file_difference(LAYER0, Some(e0), Some(e1), vec![mode]));
    let entries = delta(Aspect::EntryCount, "entries", json!(457), json!(454));
    report.differences.push(other_difference(
        LAYER1,
        DiffKind::Layer,
        "entries",
        entries,
    ));
    let gone = delta(Aspect::Presence, "presence", json!(true), json!(null));
    report.differences.push(file_difference(
        LAYER1,
        Some(entry("etc/gone")),
        None,
        vec![gone],
    ));
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("table", render(&report, &strict()));
    });
}

#[test]
fn verbose_rows_list_every_differing_field_and_mark_the_ignored_ones() {
    let mut report = report_skeleton();
    let mut difference = content_difference(LAYER0, "etc/os-release", OS_RELEASE_0, OS_RELEASE_1);
    difference.deltas_mut().push(delta(
        Aspect::FileTime,
        "mtime",
        json!("2023-08-07T22:09:12Z"),
        json!("2024-01-01T00:00:00Z"),
    ));
    difference.deltas_mut().push(delta(
        Aspect::Owner,
        "uname",
        json!("root\u{1b}[2J"),
        json!("user"),
    ));
    report.differences.push(difference);
    let filter = semantic();
    let presentation = Presentation::new(&report, &filter, View::PerLayer);
    let mut out = Vec::new();
    write_verbose_table(&mut out, &report, &presentation.shown()).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("TYPE"));
    assert!(lines[1].starts_with("File    etc/os-release"));
    assert_eq!(
        &lines[2..],
        [
            format!("    content: sha256:{OS_RELEASE_0} -> sha256:{OS_RELEASE_1}"),
            "    mtime: 2023-08-07T22:09:12Z -> 2024-01-01T00:00:00Z  (ignored)".to_owned(),
            "    uname: root\\u{1b}[2J -> user".to_owned(),
        ]
    );
    // The same table as without --verbose, with the detail lines in between.
    assert_eq!(
        render(&report, &filter),
        format!("{}\n{}\n", lines[0], lines[1])
    );
}

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ratatui::style::{Color, Modifier};

use sha2::{Digest as _, Sha256};

use super::*;
use crate::fixture::{ImageBuilder, LayerBuilder, LayerCompression, gzip, zstd};

fn text(line: &Line<'_>) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

fn texts(lines: &[Line<'_>]) -> Vec<String> {
    lines.iter().map(text).collect()
}

/// A loader holding `old`/`new` as difference 0.
fn loaded(old: Option<&[u8]>, new: Option<&[u8]>) -> ContentLoader {
    let mut loader = ContentLoader::new(None, ReadLimits::DEFAULT, None);
    loader.insert(
        0,
        Sides::new(old.map(<[u8]>::to_vec), new.map(<[u8]>::to_vec)),
    );
    loader
}

fn unified(loader: &ContentLoader, path: &str) -> Vec<String> {
    texts(&loader.lines(0, path, false, 0, true))
}

fn numbered(lines: std::ops::RangeInclusive<usize>) -> String {
    lines.map(|i| format!("line {i}\n")).collect()
}

#[test]
fn unified_hunks_have_diff_u_headers_and_three_lines_of_context() {
    let old = numbered(1..=30);
    let new = old
        .replace("line 10\n", "changed 10\n")
        .replace("line 25\n", "");
    let loader = loaded(Some(old.as_bytes()), Some(new.as_bytes()));
    let lines = unified(&loader, "notes.txt");
    let expected: Vec<String> = [
        "@@ -7,7 +7,7 @@",
        " line 7",
        " line 8",
        " line 9",
        "-line 10",
        "+changed 10",
        " line 11",
        " line 12",
        " line 13",
        "@@ -22,7 +22,6 @@",
        " line 22",
        " line 23",
        " line 24",
        "-line 25",
        " line 26",
        " line 27",
        " line 28",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(lines, expected);
}

#[test]
fn a_missing_final_newline_is_marked() {
    let loader = loaded(Some(b"a\nb\n"), Some(b"a\nb"));
    let lines = unified(&loader, "f");
    assert_eq!(
        lines,
        [
            "@@ -1,2 +1,2 @@",
            " a",
            "-b",
            "+b",
            "\\ No newline at end of file"
        ]
    );
}

#[test]
fn side_by_side_puts_old_left_and_new_right_aligned_by_ops() {
    let old = "keep 1\nold a\nold b\nkeep 2\ngone\nkeep 3\n";
    let new = "keep 1\nnew a\nkeep 2\nkeep 3\nadded\n";
    let loader = loaded(Some(old.as_bytes()), Some(new.as_bytes()));
    let lines = loader.lines(0, "f.txt", true, 40, true);
    let rows: Vec<String> = texts(&lines);
    assert!(rows[0].starts_with("@@ "), "{rows:?}");
    for (line, row) in lines.iter().zip(&rows).skip(1) {
        assert_eq!(line.width(), 40, "{row:?}");
    }
    let split = |row: &String| {
        let chars: Vec<char> = row.chars().collect();
        let left: String = chars[..20].iter().collect();
        let right: String = chars[20..].iter().collect();
        (left.trim_end().to_owned(), right.trim_end().to_owned())
    };
    let columns: Vec<(String, String)> = rows.iter().skip(1).map(split).collect();
    let expected = [
        (" keep 1", " keep 1"),
        ("-old a", "+new a"),
        ("-old b", ""),
        (" keep 2", " keep 2"),
        ("-gone", ""),
        (" keep 3", " keep 3"),
        ("", "+added"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(l, r)| (l.to_string(), r.to_string()))
        .collect();
    assert_eq!(columns, expected);
}

#[test]
fn side_by_side_cuts_long_lines_to_the_column() {
    let loader = loaded(Some(b"short\n"), Some(&[b'x'; 100][..]));
    let lines = loader.lines(0, "f", true, 30, true);
    for line in &lines[1..] {
        assert_eq!(line.width(), 30, "{:?}", text(line));
    }
    // `›`: the line goes on past the column (scroll with `>`, or wrap with `W`).
    assert!(
        text(&lines[1]).contains("+xxxxxxxxxxxxx›"),
        "{:?}",
        text(&lines[1])
    );
    let wrapped = loader.shared_lines(0, "f", true, 30, true, true, 0, false);
    let right: String = wrapped[1..]
        .iter()
        .map(|l| text(l).chars().skip(15).collect::<String>())
        .collect();
    assert_eq!(
        right.matches('x').count(),
        100,
        "every x, wrapped: {right:?}"
    );
    let scrolled = loader.shared_lines(0, "f", true, 30, true, false, 90, false);
    assert!(
        text(&scrolled[1]).ends_with("+‹xxxxxxxxx    "),
        "{:?}",
        text(&scrolled[1])
    );
}

#[test]
fn an_added_file_is_all_plus_and_a_removed_one_all_minus() {
    let added = loaded(None, Some(b"one\ntwo\n"));
    assert_eq!(unified(&added, "f"), ["@@ -0,0 +1,2 @@", "+one", "+two"]);
    let removed = loaded(Some(b"one\ntwo\n"), None);
    assert_eq!(unified(&removed, "f"), ["@@ -1,2 +0,0 @@", "-one", "-two"]);
}

#[test]
fn identical_contents_say_the_difference_is_in_metadata() {
    let loader = loaded(Some(b"same\n"), Some(b"same\n"));
    let lines = unified(&loader, "f");
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("identical"), "{lines:?}");
    assert!(lines[0].contains("metadata"), "{lines:?}");
}

#[test]
fn toml_is_highlighted_in_colour_and_plain_mode_has_no_colours() {
    let old = "[package]\nname = \"demo\"\nversion = \"1.0\"\n# comment\n";
    let new = "[package]\nname = \"demo\"\nversion = \"2.0\"\n# comment\n";
    let loader = loaded(Some(old.as_bytes()), Some(new.as_bytes()));
    let colour = loader.lines(0, "app/Cargo.toml", false, 80, false);
    let foregrounds: HashSet<Color> = colour[1..]
        .iter()
        .flat_map(|l| &l.spans)
        .filter_map(|s| s.style.fg)
        .collect();
    assert!(foregrounds.len() > 2, "{foregrounds:?}");
    let tinted = colour
        .iter()
        .filter(|l| text(l).starts_with('+'))
        .flat_map(|l| &l.spans)
        .all(|s| s.style.bg.is_some());
    assert!(tinted, "inserted lines have a background");

    let plain = loader.lines(0, "app/Cargo.toml", false, 80, true);
    let trimmed = |lines: &[Line<'_>]| -> Vec<String> {
        texts(lines)
            .iter()
            .map(|l| l.trim_end().to_owned())
            .collect()
    };
    assert_eq!(
        trimmed(&plain),
        trimmed(&colour),
        "same text, tint padding aside"
    );
    let fitted = crate::tui::fit::window(&colour[3], 1, 0, 80);
    assert_eq!(fitted.width(), 80, "the tint runs to the pane's edge");
    assert!(fitted.spans.last().is_some_and(|s| s.style.bg.is_some()));
    for span in plain.iter().flat_map(|l| &l.spans) {
        assert_eq!((span.style.fg, span.style.bg), (None, None), "{span:?}");
    }
    assert!(texts(&plain).contains(&"-version = \"1.0\"".to_owned()));
}

#[test]
fn changed_words_inside_changed_lines_are_emphasised_in_both_layouts() {
    let old = "[package]\nversion = \"1.0\"\nlicense = \"MIT\"\n";
    let new = "[package]\nversion = \"2.0\"\nedition = \"2024\"\n";
    let loader = loaded(Some(old.as_bytes()), Some(new.as_bytes()));
    // The text of the spans drawn with `bg` on the line starting with `sign` and `start`.
    let emphasised = |lines: &[Line<'_>], start: &str, bg: Color| -> Vec<String> {
        let line = lines
            .iter()
            .find(|l| text(l).contains(start))
            .unwrap_or_else(|| panic!("no line with {start:?} in {:?}", texts(lines)));
        line.spans
            .iter()
            .filter(|s| s.style.bg == Some(bg))
            .map(|s| s.content.to_string())
            .collect()
    };
    for side_by_side in [false, true] {
        let lines = loader.lines(0, "Cargo.toml", side_by_side, 120, false);
        assert_eq!(
            emphasised(&lines, "-version", Color::Rgb(144, 16, 17)).concat(),
            "1",
            "side by side: {side_by_side}"
        );
        assert_eq!(
            emphasised(&lines, "+version", Color::Rgb(0, 96, 0)).concat(),
            "2"
        );
        // `license` and `edition` have too little in common: no emphasis.
        assert!(emphasised(&lines, "-license", Color::Rgb(144, 16, 17)).is_empty());
        assert!(emphasised(&lines, "+edition", Color::Rgb(0, 96, 0)).is_empty());
    }
    let plain = loader.lines(0, "Cargo.toml", false, 120, true);
    let underlined: Vec<String> = plain
        .iter()
        .flat_map(|l| &l.spans)
        .filter(|s| s.style.add_modifier.contains(Modifier::UNDERLINED))
        .map(|s| s.content.to_string())
        .collect();
    assert_eq!(underlined, ["1", "2"]);
}

#[test]
fn utf16_text_with_a_byte_order_mark_is_diffed_as_text() {
    let utf16le = |text: &str| -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    };
    let utf16be = |text: &str| -> Vec<u8> {
        let mut bytes = vec![0xFE, 0xFF];
        bytes.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        bytes
    };
    let old = utf16le("[Setup]\r\nVersion=1\r\n");
    let new = utf16be("[Setup]\r\nVersion=2\r\n");
    let lines = unified(&loaded(Some(&old), Some(&new)), "setup.ini");
    assert_eq!(
        lines,
        [
            "input0 is UTF-16LE text, shown decoded",
            "input1 is UTF-16BE text, shown decoded",
            "@@ -1,2 +1,2 @@",
            " [Setup]\\r",
            "-Version=1\\r",
            "+Version=2\\r",
        ]
    );
    // An odd length, or no byte-order mark, is binary.
    let odd = [&old[..], &[0x41]].concat();
    let binary = unified(&loaded(Some(&odd), Some(&new)), "setup.ini");
    assert_eq!(binary[0], "binary content", "{binary:?}");
    let no_mark = &old[2..];
    let binary = unified(&loaded(Some(no_mark), Some(&new)), "setup.ini");
    assert_eq!(binary[0], "binary content", "{binary:?}");
}

#[test]
fn syntax_is_picked_by_name_extension_or_first_line() {
    let cases = [
        ("Dockerfile", "FROM alpine:3\nRUN echo hi\n"),
        ("etc/app.yaml", "key: value # note\nlist:\n  - 1\n"),
        ("usr/bin/start", "#!/bin/sh\nexport A=\"$HOME\" # note\n"),
    ];
    for (path, content) in cases {
        let loader = loaded(None, Some(content.as_bytes()));
        let colours: HashSet<Color> = loader
            .lines(0, path, false, 80, false)
            .iter()
            .skip(1)
            .flat_map(|l| &l.spans)
            .filter_map(|s| s.style.fg)
            .collect();
        assert!(colours.len() > 2, "{path}: {colours:?}");
    }
}

#[test]
fn control_characters_and_escape_sequences_come_out_escaped() {
    let hostile = "ok\n\u{1b}[2J\u{1b}]0;pwned\u{7}\tx\r\n\u{9b}31m\u{202e}rev\n";
    let loader = loaded(Some(b"ok\n"), Some(hostile.as_bytes()));
    for side_by_side in [false, true] {
        let lines = texts(&loader.lines(0, "x.sh", side_by_side, 120, false));
        for line in &lines {
            assert!(
                !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{line:?}"
            );
        }
        let all = lines.join("\n");
        assert!(all.contains("\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"), "{all}");
        assert!(all.contains("  x\\r"), "tab expanded, CR shown: {all}");
        assert!(all.contains("\\u{9b}31m\\u{202e}rev"), "{all}");
    }
}

#[test]
fn long_lines_are_cut_and_said_to_be() {
    let long = "y".repeat(5_000);
    let loader = loaded(Some(b"a\n"), Some(long.as_bytes()));
    let lines = unified(&loader, "f");
    assert!(lines.iter().any(|l| l.contains("cut at 2000")), "{lines:?}");
    let plus = lines.iter().find(|l| l.starts_with('+')).cloned();
    let plus = plus.unwrap_or_default();
    assert_eq!(plus.chars().count(), 1 + 2_000 + 1, "sign, text, marker");
    assert!(plus.ends_with('…'));
}

#[test]
fn binary_view_finds_the_first_differing_byte_and_shows_both_rows() {
    let old: Vec<u8> = (0u8..100).collect();
    let mut new = old.clone();
    new[37] = 0xff;
    let loader = loaded(Some(&old), Some(&new));
    let lines = loader.lines(0, "bin/tool", false, 100, true);
    let shown = texts(&lines);
    assert!(shown[0].contains("binary"), "{shown:?}");
    assert!(
        shown
            .iter()
            .any(|l| l.contains("first difference at offset 37 (0x25)")),
        "{shown:?}"
    );
    let digest = hex::encode(Sha256::digest(&new));
    assert!(
        shown
            .iter()
            .any(|l| l.contains(&digest) && l.contains("100 bytes"))
    );
    let row = shown
        .iter()
        .position(|l| l.starts_with("00000020 -"))
        .unwrap_or_else(|| panic!("no row at 0x20: {shown:#?}"));
    assert!(shown[row].contains(" 25 "), "{}", shown[row]);
    assert!(
        shown[row + 1].starts_with("         + "),
        "{}",
        shown[row + 1]
    );
    assert!(shown[row + 1].contains(" ff "), "{}", shown[row + 1]);
    // Only the differing byte (hex and ASCII) is marked.
    let marked: Vec<String> = lines[row + 1]
        .spans
        .iter()
        .filter(|s| s.style.add_modifier.contains(Modifier::REVERSED))
        .map(|s| s.content.to_string())
        .collect();
    assert_eq!(marked, ["ff", "."]);
    assert!(shown.iter().any(|l| l.starts_with("00000000 -")));
}

fn inner_tar(mtime_of_a: u64) -> Vec<u8> {
    LayerBuilder::new()
        .file("scripts/a.post-install", "#!/bin/sh\necho a\n")
        .mtime(mtime_of_a)
        .file("scripts/b.post-install", "#!/bin/sh\necho b\n")
        .build()
}

#[test]
fn a_nested_tar_with_only_an_inner_mtime_change_lists_that_entry() {
    let loader = loaded(Some(&inner_tar(1)), Some(&inner_tar(2)));
    let lines = unified(&loader, "lib/apk/db/scripts.tar");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("nested tar archive"), "{lines:?}");
    assert!(lines[0].contains("only in file times"), "{lines:?}");
    assert_eq!(lines[1], "~ scripts/a.post-install  file-time");
}

#[test]
fn nested_tar_gz_and_tar_zst_are_listed_too() {
    let old = LayerBuilder::new().file("a", "1").file("gone", "x").build();
    let new = LayerBuilder::new()
        .file("a", "2")
        .file("new\u{1b}[31m", "y")
        .build();
    for (compress, label) in [(gzip as fn(&[u8]) -> Vec<u8>, "tar.gz"), (zstd, "tar.zst")] {
        let loader = loaded(Some(&compress(&old)), Some(&compress(&new)));
        let lines = unified(&loader, "data.tgz");
        assert!(
            lines[0].contains(&format!("nested {label} archive")),
            "{lines:?}"
        );
        assert!(lines[0].contains("2 entries → 2 entries"), "{lines:?}");
        assert_eq!(
            lines[1..],
            [
                "~ a  content".to_owned(),
                "- gone  file".to_owned(),
                "+ new\\u{1b}[31m  file".to_owned(),
            ]
        );
    }
}

#[test]
fn a_gzip_file_that_is_not_a_tar_is_binary() {
    let loader = loaded(Some(&gzip(b"hello\n")), Some(&gzip(b"world\n")));
    let lines = unified(&loader, "usr/share/man/man1/x.1.gz");
    assert!(lines[0].contains("binary"), "{lines:?}");
}

#[test]
fn a_corrupt_nested_archive_says_so_and_falls_back_to_binary() {
    let good = inner_tar(1);
    let cut = LayerBuilder::new()
        .file("a", vec![b'z'; 4000])
        .truncated_to(1500)
        .build();
    let loader = loaded(Some(&good), Some(&cut));
    let lines = unified(&loader, "scripts.tar");
    assert!(
        lines[0].starts_with("nested archive could not be read: input1:"),
        "{lines:?}"
    );
    assert!(lines[1].contains("binary content"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("first difference at offset"))
    );
}

#[test]
fn read_errors_are_one_escaped_line() {
    let sides = Sides::new(
        SideContent::Error("layer sha256:x: boom\u{1b}[2J".into()),
        SideContent::Bytes(b"x\n".to_vec()),
    );
    let prepared = prepare("f", &sides);
    let lines = texts(&render::render(
        &prepared,
        Mode {
            side_by_side: false,
            width: 80,
            plain: false,
            wrap: false,
            hscroll: 0,
            mask: false,
        },
    ));
    assert_eq!(
        lines,
        ["input0: content could not be read: layer sha256:x: boom\\u{1b}[2J"]
    );
}

#[test]
fn unknown_or_non_regular_differences_draw_nothing() {
    let mut loader = ContentLoader::new(None, ReadLimits::DEFAULT, None);
    assert!(loader.lines(3, "f", false, 80, false).is_empty());
    let report = Report::default();
    loader.want(&report, 3);
    assert!(loader.lines(3, "f", false, 80, false).is_empty());
}

#[test]
fn cached_lines_are_not_diffed_or_rendered_again() {
    let old: String = (0..5_000).map(|i| format!("value_{i} = {i}\n")).collect();
    let new: String = (0..5_000)
        .map(|i| match i % 2 {
            0 => format!("value_{i} = {}\n", i + 1),
            _ => format!("value_{i} = {i}\n"),
        })
        .collect();
    let loader = loaded(Some(old.as_bytes()), Some(new.as_bytes()));
    let first = loader.lines(0, "big.toml", false, 120, false);
    assert!(first.len() > 7_000, "{}", first.len());
    for width in [80, 120, 200] {
        // Unified lines do not depend on the width: the same cached lines for every width.
        let shared = loader.shared_lines(0, "big.toml", false, width, false, false, 0, false);
        assert_eq!(shared.len(), first.len());
    }
    for _ in 0..20 {
        assert_eq!(
            loader.lines(0, "big.toml", false, 120, false).len(),
            first.len()
        );
    }
    assert_eq!(loader.stats.prepared.get(), 1, "diffed once");
    assert_eq!(loader.stats.rendered.get(), 1, "rendered once");
    loader.lines(0, "big.toml", true, 120, false);
    assert_eq!(
        loader.stats.prepared.get(),
        1,
        "another mode does not diff again"
    );
    assert_eq!(loader.stats.rendered.get(), 2);
}

/// Writes two one-layer images into OCI layouts and compares them as the explorer would.
fn compared(dir: &std::path::Path) -> (Arc<Sides<Image>>, Report) {
    compared_with(dir, LayerCompression::Gzip, None)
}

/// A binary file larger than the scan's read buffer, differing in one byte near its end.
fn big_binary(last: u8) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    bytes[299_990] = last;
    bytes
}

/// [`compared`] with layers so compressed, a second layer (so the merged view finds files in layers
/// after the first) and, if given, the content spool filled by the scan.
fn compared_with(
    dir: &std::path::Path,
    compression: LayerCompression,
    spool: Option<Arc<ContentSpool>>,
) -> (Arc<Sides<Image>>, Report) {
    let layer = |conf: &str, dir_mode: u32| {
        LayerBuilder::new()
            .dir("etc")
            .mode(dir_mode)
            .file("etc/app.conf", conf)
            .file("etc/same", "same")
            .build()
    };
    let mut opened = Vec::new();
    for (name, conf, dir_mode, last) in [
        ("a", "old\nkey = 1\ntail\n", 0o755, 1),
        ("b", "old\nkey = 2\ntail\n", 0o700, 2),
    ] {
        let path = dir.join(name);
        let second = LayerBuilder::new()
            .file("usr/lib/big.bin", big_binary(last))
            .build();
        ImageBuilder::new()
            .layer(layer(conf, dir_mode), compression)
            .layer(second, compression)
            .write_oci_layout(&path, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let spec = format!("oci:{}", path.display());
        opened.push(crate::source::open_image(&spec).unwrap_or_else(|e| panic!("{e}")));
    }
    let input1 = opened.pop().unwrap_or_else(|| unreachable!());
    let input0 = opened.pop().unwrap_or_else(|| unreachable!());
    let images = Sides::new(input0, input1);
    let report = Mutex::new(Report::default());
    let sink = |event| {
        if let Ok(mut r) = report.lock() {
            r.apply(event);
        }
    };
    let options = crate::engine::Options {
        jobs: 1,
        include_unchanged: false,
        content_spool: spool,
        ..Default::default()
    };
    crate::engine::compare(&images, &options, &sink);
    let report = report.into_inner().unwrap_or_else(|e| panic!("{e}"));
    (Arc::new(images), report)
}

/// Waits (at most 5 s) for the loader's result for `index` and returns its plain unified lines.
fn loaded_lines(loader: &mut ContentLoader, report: &Report, index: usize) -> Vec<String> {
    loader.want(report, index);
    let deadline = Instant::now() + Duration::from_secs(5);
    while loader.pending.contains(&index) && Instant::now() < deadline {
        if !loader.poll() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(
        !loader.pending.contains(&index),
        "the load did not finish in 5 s"
    );
    let path = report.differences[index].key();
    texts(&loader.lines(index, path, false, 200, true))
}

/// The indexes of the regular file differences (per layer and merged).
fn file_differences(report: &Report) -> Vec<usize> {
    (0..report.differences.len())
        .filter(|&i| {
            let d = &report.differences[i];
            d.kind == DiffKind::File
                && d.entries.as_ref().is_some_and(|e| {
                    e.iter()
                        .any(|(_, m)| m.as_ref().is_some_and(|m| m.kind() == EntryKind::File))
                })
        })
        .collect()
}

const READ_AGAIN: &str = "read again from the layer";

#[test]
fn contents_from_the_spool_are_those_read_again_from_gzip_and_zstd_layers() {
    for compression in [LayerCompression::Gzip, LayerCompression::Zstd] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let spool = Arc::new(ContentSpool::new(1 << 30, MAX_READ));
        let (images, report) = compared_with(dir.path(), compression, Some(Arc::clone(&spool)));
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let files = file_differences(&report);
        assert!(files.len() >= 4, "per layer and merged: {files:?}");
        let mut spooled =
            ContentLoader::new(Some(Arc::clone(&images)), ReadLimits::DEFAULT, Some(spool));
        let mut again = ContentLoader::new(Some(images), ReadLimits::DEFAULT, None);
        for index in files {
            let from_spool = loaded_lines(&mut spooled, &report, index);
            let read_again = loaded_lines(&mut again, &report, index);
            assert!(
                !from_spool.iter().any(|l| l.contains(READ_AGAIN)),
                "{compression:?} {index}: {from_spool:?}"
            );
            assert_eq!(
                read_again[0],
                format!("input0, input1: {READ_AGAIN} (the content cache is off)")
            );
            assert_eq!(from_spool, read_again[1..], "{compression:?} {index}");
            assert!(from_spool.len() > 1, "{from_spool:?}");
        }
    }
}

#[test]
fn files_beyond_the_spool_budget_are_read_again_and_the_pane_says_so() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Room for the small files, not for the 300 kB one.
    let spool = Arc::new(ContentSpool::new(4096, MAX_READ));
    let (images, report) =
        compared_with(dir.path(), LayerCompression::Gzip, Some(Arc::clone(&spool)));
    let mut loader = ContentLoader::new(Some(images), ReadLimits::DEFAULT, Some(spool));
    let index_of = |key: &str| {
        report
            .differences
            .iter()
            .position(|d| d.key() == key)
            .unwrap_or_else(|| panic!("no {key}"))
    };
    let small = loaded_lines(&mut loader, &report, index_of("etc/app.conf"));
    assert_eq!(
        small,
        ["@@ -1,3 +1,3 @@", " old", "-key = 1", "+key = 2", " tail"]
    );
    let big = loaded_lines(&mut loader, &report, index_of("usr/lib/big.bin"));
    assert!(
        big[0].starts_with(&format!(
            "input0, input1: {READ_AGAIN} (not in the content cache"
        )),
        "{big:?}"
    );
    assert!(
        big.iter().any(|l| l.contains("299990")),
        "the first differing byte is found: {big:?}"
    );
}

/// The request for difference `index` and a reader that wants `newest`, without a thread.
fn reader_wanting(newest: usize) -> Reader {
    Reader {
        limits: ReadLimits::DEFAULT,
        spool: None,
        newest: Arc::new(AtomicUsize::new(newest)),
    }
}

#[test]
fn only_the_newest_request_is_served_and_a_left_load_stops() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (images, report) = compared(dir.path());
    let files = file_differences(&report);
    let [first, second, third, ..] = files[..] else {
        panic!("three file differences wanted: {files:?}");
    };
    // `]]]`: three requests queued before the worker takes any.
    let (requests, inbox) = channel();
    let (outbox, results) = channel();
    for index in [first, second, third] {
        let request = Request::new(&report, index, Arc::clone(&images), 0);
        requests.send(request).unwrap_or_else(|e| panic!("{e}"));
    }
    drop(requests);
    work(&reader_wanting(third), &inbox, &outbox);
    let served: Vec<usize> = results.try_iter().map(|done| done.index).collect();
    assert_eq!(served, [third, third], "plain, then highlighted");
    // A load whose row the selection left stops at its layer's next entry and gives nothing.
    let request = Request::new(&report, first, images, 0);
    assert!(!request.wanted.is_empty());
    let images = Arc::clone(&request.images);
    assert!(load(&images, &reader_wanting(second), request).is_none());
}

#[test]
fn a_new_want_leaves_older_loads_behind_and_they_can_be_asked_again() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (images, report) = compared(dir.path());
    let files = file_differences(&report);
    let mut loader = ContentLoader::new(Some(images), ReadLimits::DEFAULT, None);
    loader.want(&report, files[0]);
    loader.want(&report, files[1]);
    assert_eq!(
        loader.pending.iter().copied().collect::<Vec<_>>(),
        [files[1]]
    );
    // Back on the first row: asked again (its load may have been dropped), and it arrives.
    let lines = loaded_lines(&mut loader, &report, files[0]);
    assert!(lines.len() > 1, "{lines:?}");
}

#[test]
fn a_real_load_shows_loading_then_the_diff() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (images, report) = compared(dir.path());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let index = report
        .differences
        .iter()
        .position(|d| d.kind == DiffKind::File && d.key() == "etc/app.conf")
        .unwrap_or_else(|| panic!("no file difference: {:#?}", report.differences));
    let mut loader = ContentLoader::new(Some(images), ReadLimits::DEFAULT, None);
    loader.want(&report, index);
    loader.want(&report, index);
    assert_eq!(loader.pending.len(), 1, "a queued request is not repeated");
    let loading = texts(&loader.lines(index, "etc/app.conf", false, 80, true));
    assert_eq!(loading, ["loading content…"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut arrived = false;
    while Instant::now() < deadline && !arrived {
        arrived = loader.poll();
        if !arrived {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert!(arrived, "the load did not finish in 5 s");
    // The plain diff came first; the highlighted one follows, then nothing more.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !loader.poll() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert!(!loader.poll(), "nothing more arrives");
    let lines = texts(&loader.lines(index, "etc/app.conf", false, 80, true));
    assert_eq!(
        lines,
        [
            "input0, input1: read again from the layer (the content cache is off)",
            "@@ -1,3 +1,3 @@",
            " old",
            "-key = 1",
            "+key = 2",
            " tail"
        ]
    );
    // Directories draw nothing and queue nothing.
    let dir_index = report
        .differences
        .iter()
        .position(|d| d.kind == DiffKind::File && d.key() == "etc")
        .unwrap_or_else(|| panic!("no directory difference: {:#?}", report.differences));
    loader.want(&report, dir_index);
    assert!(loader.pending.is_empty());
    assert!(loader.lines(dir_index, "etc", false, 80, true).is_empty());
}

/// A load the selection has left stops highlighting at once: what the worker would send is the plain
/// form, without colours or word marks, so the next load does not wait for it.
#[test]
fn highlighting_stops_when_the_content_is_no_longer_wanted() {
    let old = "[package]\nname = \"demo\"\nversion = \"1.0\"\n".repeat(50);
    let new = old.replace("1.0", "2.0");
    let sides = Sides::new(
        SideContent::Bytes(old.into_bytes()),
        SideContent::Bytes(new.into_bytes()),
    );
    let mode = render::Mode {
        side_by_side: false,
        width: 80,
        plain: false,
        wrap: false,
        hscroll: 0,
        mask: false,
    };
    let drawn = |highlighting, wanted: &dyn Fn() -> bool| {
        let prepared = prepare_with("Cargo.toml", &sides, highlighting, wanted);
        format!("{:?}", render::render(&prepared, mode))
    };
    let plain = drawn(Highlighting::Plain, &|| true);
    assert_ne!(
        drawn(Highlighting::Syntax, &|| true),
        plain,
        "highlighted when wanted"
    );
    assert_eq!(
        drawn(Highlighting::Syntax, &|| false),
        plain,
        "plain once unwanted"
    );
}

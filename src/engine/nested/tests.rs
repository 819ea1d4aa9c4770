use std::io::Write;

use super::*;
use crate::fixture::{LayerBuilder, gzip, zstd};

fn compare(name: &str, a: &[u8], b: &[u8]) -> Result<NestedComparison, NestedError> {
    let formats = Sides::new(
        NestedFormat::sniff(name, a).expect("input 0 is nested"),
        NestedFormat::sniff(name, b).expect("input 1 is nested"),
    );
    compare_files(name, Sides::new(a, b), formats, &NestedLimits::DEFAULT)
}

/// (key, fields) of every difference, for compact assertions.
fn rows(comparison: &NestedComparison) -> Vec<(String, Vec<String>)> {
    comparison
        .differences
        .iter()
        .map(|d| {
            let fields = d.deltas().iter().map(|x| x.field.to_string()).collect();
            (d.key().to_owned(), fields)
        })
        .collect()
}

fn aspects(comparison: &NestedComparison) -> AspectSet {
    comparison
        .differences
        .iter()
        .fold(AspectSet::empty(), |all, d| all | d.aspects())
}

use crate::model::AspectSet;

/// A gzip member with the given header mtime and payload (flate2 writes mtime 0 unless told).
fn gzip_at(mtime: u32, payload: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(mtime)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(payload).unwrap();
    encoder.finish().unwrap()
}

/// A DOS date and time: year, month, day, hour, minute, second.
type DosTime = (u16, u8, u8, u8, u8, u8);

fn zip_of(members: &[(&str, &[u8], DosTime)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content, (y, mo, d, h, mi, s)) in members {
        let time = zip::DateTime::from_date_and_time(*y, *mo, *d, *h, *mi, *s).unwrap();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(time)
            .unix_permissions(0o644);
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const T1: DosTime = (2024, 1, 2, 3, 4, 6);
const T2: DosTime = (2025, 6, 7, 8, 9, 10);

#[test]
fn a_gzip_whose_header_mtime_alone_differs_differs_in_file_time_only() {
    let changelog = b"pkg (1.0-1) unstable; urgency=low\n".repeat(20);
    let result = compare(
        "usr/share/doc/pkg/changelog.Debian.gz",
        &gzip_at(1_700_000_000, &changelog),
        &gzip_at(1_750_000_000, &changelog),
    )
    .unwrap();
    assert_eq!(
        rows(&result),
        [("(gzip header)".to_owned(), vec!["gzip:mtime".to_owned()])]
    );
    assert_eq!(aspects(&result), AspectSet::only(Aspect::FileTime));
}

#[test]
fn a_gzip_whose_payload_differs_names_the_payload_after_the_file() {
    let result = compare(
        "usr/share/man/man1/ls.1.gz",
        &gzip_at(0, b".TH LS 1\nold\n"),
        &gzip_at(0, b".TH LS 1\nnew\n"),
    )
    .unwrap();
    assert_eq!(
        rows(&result),
        [("ls.1".to_owned(), vec!["content".to_owned()])]
    );
    assert!(aspects(&result).contains(Aspect::Content));
}

#[test]
fn the_same_payload_in_gzip_and_zstd_differs_in_compression_only() {
    let payload = b"same bytes\n".repeat(100);
    let result = compare("data.gz", &gzip(&payload), &zstd(&payload)).unwrap();
    assert_eq!(
        rows(&result),
        [("(gzip header)".to_owned(), vec!["compression".to_owned()])]
    );
    assert_eq!(aspects(&result), AspectSet::only(Aspect::MediaType));
}

#[test]
fn a_tar_gz_is_compared_member_by_member() {
    let old = LayerBuilder::new()
        .file("app/config.toml", "debug = false\n")
        .file("app/bin", "binary")
        .build();
    let new = LayerBuilder::new()
        .file("app/config.toml", "debug = true\n")
        .file("app/bin", "binary")
        .build();
    let result = compare("srv/app.tar.gz", &gzip_at(0, &old), &gzip_at(0, &new)).unwrap();
    assert_eq!(rows(&result)[0].0, "app.tar");
    let (index, tar) = &result.children[0];
    assert_eq!(*index, 0);
    assert_eq!(
        tar.formats,
        Sides::new(NestedFormat::Tar, NestedFormat::Tar)
    );
    let changed: Vec<_> = rows(tar).into_iter().map(|(key, _)| key).collect();
    assert_eq!(changed, ["app/config.toml"]);
}

#[test]
fn a_tar_whose_members_differ_only_in_times_differs_in_file_time_only() {
    let tar = |mtime| {
        LayerBuilder::new()
            .file("pkg-1.0.post-install", "#!/bin/sh\n")
            .mtime(mtime)
            .build()
    };
    let result = compare("lib/apk/db/scripts.tar", &tar(1), &tar(2)).unwrap();
    assert_eq!(aspects(&result), AspectSet::only(Aspect::FileTime));
}

#[test]
fn a_jar_whose_entries_differ_only_in_zip_times_differs_in_file_time_only() {
    let class = b"\xca\xfe\xba\xbe class bytes";
    let a = zip_of(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n", T1),
        ("A.class", class, T1),
    ]);
    let b = zip_of(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n", T2),
        ("A.class", class, T2),
    ]);
    let result = compare("app.jar", &a, &b).unwrap();
    assert_eq!(result.differences.len(), 2);
    assert_eq!(aspects(&result), AspectSet::only(Aspect::FileTime));
    let changed = zip_of(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n", T1),
        ("A.class", b"other", T1),
    ]);
    let result = compare("app.jar", &a, &changed).unwrap();
    assert_eq!(
        rows(&result),
        [(
            "A.class".to_owned(),
            vec!["size".to_owned(), "content".to_owned()]
        )]
    );
}

#[test]
fn a_pyc_whose_source_mtime_alone_differs_differs_in_file_time_only() {
    let pyc = |mtime: u32| {
        let mut bytes = vec![0xcb, 0x0d, b'\r', b'\n']; // Python 3.11's magic (3531)
        bytes.extend(0u32.to_le_bytes());
        bytes.extend(mtime.to_le_bytes());
        bytes.extend(120u32.to_le_bytes());
        bytes.extend(b"\xe3marshalled code object");
        bytes
    };
    let result = compare("x/__pycache__/m.cpython-311.pyc", &pyc(1), &pyc(2)).unwrap();
    assert_eq!(
        rows(&result),
        [(
            "(pyc header)".to_owned(),
            vec!["pyc:source-mtime".to_owned()]
        )]
    );
    assert_eq!(aspects(&result), AspectSet::only(Aspect::FileTime));
    let mut other = pyc(1);
    other.push(b'!');
    let result = compare("m.pyc", &pyc(1), &other).unwrap();
    assert_eq!(
        rows(&result),
        [("(code)".to_owned(), vec!["content".to_owned()])]
    );
}

#[test]
fn xz_payloads_are_read() {
    // Written by xz itself (xz-utils), the writer people use.
    let xz = |payload: &[u8]| {
        let mut child = std::process::Command::new("xz")
            .args(["-c", "-9"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("xz (xz-utils) is installed");
        child.stdin.take().unwrap().write_all(payload).unwrap();
        child.wait_with_output().unwrap().stdout
    };
    let result = compare("notes.txt.xz", &xz(b"one\n"), &xz(b"two\n")).unwrap();
    assert_eq!(rows(&result)[0].0, "notes.txt");
}

/// Ten levels of gzip inside gzip: compared down to the depth limit, the rest by digest, said so.
#[test]
fn deep_nesting_stops_at_the_depth_limit_and_says_so() {
    let nest = |core: &[u8]| (0..10).fold(core.to_vec(), |inner, _| gzip(&inner));
    let result = compare("deep.gz", &nest(b"a"), &nest(b"b")).unwrap();
    let mut level = &result;
    let mut depth = 1;
    while let Some((_, child)) = level.children.first() {
        level = child;
        depth += 1;
    }
    assert_eq!(depth, NestedLimits::DEFAULT.depth);
    assert!(
        level
            .notes
            .iter()
            .any(|n| n.contains("deeper than 3 levels")),
        "{:?}",
        level.notes
    );
}

/// A small file that unpacks to more than the byte limit is compared by digest only.
#[test]
fn a_decompression_bomb_stops_at_the_byte_limit() {
    let zeros = |n: usize| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..n {
            encoder.write_all(&chunk).unwrap();
        }
        encoder.finish().unwrap()
    };
    let (a, b) = (zeros(100), zeros(101));
    assert!(a.len() < 200_000, "the bomb is small: {}", a.len());
    let error = compare("bomb.gz", &a, &b).unwrap_err();
    assert!(matches!(error, NestedError::TooLarge { .. }), "{error}");
    assert!(error.to_string().contains("--max-scale"));
}

#[test]
fn an_archive_with_too_many_members_is_compared_by_digest() {
    let mut many = LayerBuilder::new();
    for i in 0..50 {
        many = many.file(format!("f{i}"), "x");
    }
    let (a, b) = (
        many.clone().file("z", "1").build(),
        many.file("z", "2").build(),
    );
    let limits = NestedLimits {
        members: 20,
        ..NestedLimits::DEFAULT
    };
    let formats = Sides::new(NestedFormat::Tar, NestedFormat::Tar);
    let error = compare_files("t.tar", Sides::new(&a[..], &b[..]), formats, &limits).unwrap_err();
    assert!(
        matches!(error, NestedError::TooManyMembers { limit: 20 }),
        "{error}"
    );
}

#[test]
fn corrupt_insides_are_an_error_not_a_panic() {
    let mut broken = gzip_at(0, &b"payload ".repeat(1000));
    let middle = broken.len() / 2;
    broken[middle..].fill(0xff);
    let error = compare("x.gz", &gzip_at(0, b"ok"), &broken).unwrap_err();
    assert!(
        matches!(error, NestedError::Unreadable { input: 1, .. }),
        "{error}"
    );
}

/// The entry of `key` on input 1 in a comparison, and the comparison of its inside if it has one.
fn member<'c>(
    comparison: &'c NestedComparison,
    key: &str,
) -> (EntryMeta, Option<&'c NestedComparison>) {
    let index = (comparison.differences.iter())
        .position(|d| d.key() == key)
        .unwrap_or_else(|| panic!("no {key}: {:?}", rows(comparison)));
    let entries = comparison.differences[index].entries.as_ref().unwrap();
    let child = (comparison.children.iter()).find_map(|(i, c)| (*i == index).then_some(c));
    (EntryMeta::clone(entries.input1.as_ref().unwrap()), child)
}

#[test]
fn a_member_is_unpacked_again_through_every_level_from_its_file() {
    let jar = |class: &[u8]| zip_of(&[("a.txt", b"same", T1), ("b.class", class, T1)]);
    let tar = |class: &[u8]| LayerBuilder::new().file("lib/x.jar", jar(class)).build();
    let (a, b) = (gzip(&tar(b"old")), gzip(&tar(b"new class")));
    let top = compare("srv/bundle.tar.gz", &a, &b).unwrap();
    let (payload, tar_inside) = member(&top, "bundle.tar");
    let (jar_entry, jar_inside) = member(tar_inside.expect("the tar compared"), "lib/x.jar");
    let (class, _) = member(jar_inside.expect("the jar compared"), "b.class");
    let steps = [
        (NestedFormat::Gzip, payload),
        (NestedFormat::Tar, jar_entry),
        (NestedFormat::Zip, class),
    ];
    let limits = NestedLimits::DEFAULT;
    assert_eq!(
        member_content(1, &b, &steps, &limits).unwrap(),
        b"new class"
    );
    assert_eq!(
        member_content(1, &b, &steps[..2], &limits).unwrap(),
        jar(b"new class"),
        "the jar itself, one level up"
    );
    let small = NestedLimits {
        bytes: 10,
        ..limits
    };
    assert!(matches!(
        member_content(1, &b, &steps, &small),
        Err(NestedError::TooLarge { limit: 10 })
    ));
}

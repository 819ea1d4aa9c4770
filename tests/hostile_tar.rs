//! Hostile layer tars end to end: bombs fail in one line and bounded time, valid oddities (PAX values
//! with newlines, names that are not UTF-8) are read and kept apart. Big inputs are generated as
//! streams into a compressor, so what lands on disk stays small.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{Run, path_string, run, simple_image, write_layout};
use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression, TarFormat};
use ocidiff::oci::{Digest, media_type};
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

/// A zstd layer written from a stream of uncompressed pieces: the blob and its diff_id.
struct StreamedLayer {
    encoder: zstd::stream::write::Encoder<'static, Vec<u8>>,
    diff_id: Sha256,
}

impl StreamedLayer {
    fn new() -> StreamedLayer {
        StreamedLayer {
            encoder: zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd encoder"),
            diff_id: Sha256::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.diff_id.update(bytes);
        self.encoder.write_all(bytes).expect("compress");
    }

    /// `n` bytes of `byte`, fed in pieces.
    fn repeat(&mut self, byte: u8, mut n: u64) {
        let piece = vec![byte; 1 << 20];
        while n > 0 {
            let take = n.min(piece.len() as u64) as usize;
            self.write(&piece[..take]);
            n -= take as u64;
        }
    }

    fn header(&mut self, typeflag: u8, name: &str, size: u64) {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(size);
        header.set_mode(0o644);
        header.as_old_mut().linkflag[0] = typeflag;
        header.set_cksum();
        self.write(header.as_bytes());
    }

    fn pad(&mut self, size: u64) {
        self.repeat(0, (512 - size % 512) % 512);
    }

    fn image(mut self) -> ImageBuilder {
        self.write(&[0u8; 1024]);
        let diff_id = Digest::from_sha256(self.diff_id.finalize().into());
        let blob = self.encoder.finish().expect("finish zstd");
        ImageBuilder::new().raw_layer(blob, media_type::OCI_LAYER_ZSTD, diff_id)
    }
}

/// Compares a good image with `bad` and checks the one-line failure naming `needles`, in bounded time.
fn assert_fails_fast(bad: &ImageBuilder, extra: &[&str], needles: &[&str]) -> Run {
    let dir = TempDir::new().expect("tempdir");
    let good = write_layout(dir.path(), "good", &simple_image("good\n"));
    let bad = write_layout(dir.path(), "bad", bad);
    let started = Instant::now();
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["--format", "json", &good, &bad]);
    let out = run(&args);
    let elapsed = started.elapsed();
    out.expect_code(2).assert_sane();
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "one error line:\n{}", out.stderr());
    for needle in needles {
        assert!(errors[0].contains(needle), "{needle:?} in {}", errors[0]);
    }
    assert!(
        elapsed < Duration::from_secs(60),
        "took {elapsed:?}: not bounded"
    );
    out
}

#[test]
fn a_gnu_long_name_of_a_gigabyte_is_refused_before_it_is_read() {
    let mut layer = StreamedLayer::new();
    layer.header(b'L', "././@LongLink", 1 << 30);
    layer.repeat(b'a', 1 << 30);
    layer.header(b'0', "x", 0);
    let out = assert_fails_fast(
        &layer.image(),
        &[],
        &[
            "input 1",
            "GNU long name",
            "1073741824 bytes",
            "--max-scale",
        ],
    );
    assert!(!out.stderr().contains("aaaa"), "no raw bytes");
}

#[test]
fn a_pax_header_of_a_gigabyte_is_refused_before_it_is_read() {
    let mut layer = StreamedLayer::new();
    layer.header(b'x', "PaxHeaders/x", 1 << 30);
    layer.repeat(b'9', 1 << 30);
    layer.header(b'0', "x", 0);
    assert_fails_fast(
        &layer.image(),
        &[],
        &["PAX header at offset 0", "1073741824 bytes", "--max-scale"],
    );
}

#[test]
fn a_sparse_file_of_petabytes_is_refused_at_once() {
    let mut header = tar::Header::new_gnu();
    header.set_path("bomb").expect("name");
    header.set_entry_type(tar::EntryType::GNUSparse);
    header.set_size(1);
    header.set_mode(0o644);
    let block = header.as_mut_bytes();
    block[386..398].copy_from_slice(b"00000000000\0");
    block[398..410].copy_from_slice(b"00000000001\0");
    block[483] = 0x80;
    block[487] = 0x04; // 2^58 bytes (256 PiB) in the base-256 realsize field
    header.set_cksum();
    let mut layer = StreamedLayer::new();
    layer.write(header.as_bytes());
    layer.write(b"x");
    layer.pad(1);
    assert_fails_fast(
        &layer.image(),
        &[],
        &[
            "sparse file (expanded)",
            "288230376151711744 bytes",
            "--max-scale",
        ],
    );
}

/// Millions of entries are refused at the layer limit instead of exhausting memory. The limit is
/// scaled down here (the default, 2^20, is checked in the engine's unit tests) so the test stays fast.
#[test]
fn a_layer_with_too_many_entries_fails_in_one_line() {
    let mut layer = StreamedLayer::new();
    for i in 0..30_000 {
        layer.header(b'0', &format!("d/{i:08}"), 0);
    }
    assert_fails_fast(
        &layer.image(),
        &["--max-scale", "0.02"],
        &["more than 20971 entries in one layer", "--max-scale"],
    );
}

/// POSIX allows newlines in PAX values; they must not make the layer "corrupt".
#[test]
fn pax_values_with_newlines_are_read() {
    let dir = TempDir::new().expect("tempdir");
    let layer = |comment: &str| {
        LayerBuilder::new()
            .format(TarFormat::Pax)
            .file("etc/motd", "hi\n")
            .pax("comment", comment)
            .pax("SCHILY.xattr.user.note", "line 1\nline 2")
            .build()
    };
    let a = ImageBuilder::new().layer(layer("one\ntwo\n"), LayerCompression::Gzip);
    let b = ImageBuilder::new().layer(layer("one\nthree\n"), LayerCompression::Gzip);
    let (a, b) = (
        write_layout(dir.path(), "a", &a),
        write_layout(dir.path(), "b", &b),
    );
    let out = run(["--format", "json", &a, &b]);
    out.expect_code(1).assert_sane();
    let report = out.json();
    let text = report.to_string();
    assert!(text.contains("pax:comment"), "{text}");
    assert!(text.contains(r"one\ntwo\n"), "{text}");
    assert!(out.error_lines().is_empty(), "{}", out.stderr());
}

/// Names that differ in one invalid byte, or that spell an escape literally, stay different entries:
/// per layer, merged, under --semantic, and in the report directory.
#[test]
fn names_that_are_not_utf8_never_merge() {
    let dir = TempDir::new().expect("tempdir");
    let a = ImageBuilder::new().layer(
        LayerBuilder::new()
            .dir("d/")
            .file(b"d/x\xfe".as_slice(), "same")
            .build(),
        LayerCompression::Gzip,
    );
    let b = ImageBuilder::new().layer(
        LayerBuilder::new()
            .dir("d/")
            .file(b"d/x\xff".as_slice(), "same")
            .build(),
        LayerCompression::Gzip,
    );
    let c = ImageBuilder::new().layer(
        LayerBuilder::new()
            .dir("d/")
            .file(r"d/x\xfe", "same")
            .build(),
        LayerCompression::Gzip,
    );
    let (a, b, c) = (
        write_layout(dir.path(), "a", &a),
        write_layout(dir.path(), "b", &b),
        write_layout(dir.path(), "c", &c),
    );
    for (n, other) in [&b, &c].into_iter().enumerate() {
        for view in ["per-layer", "merged"] {
            let out = run(["--semantic", "--view", view, "--format", "json", &a, other]);
            out.expect_code(1).assert_sane();
            let report = out.json();
            let keys: Vec<String> = report["differences"]
                .as_array()
                .expect("differences")
                .iter()
                .filter(|d| d["kind"] == "File")
                .map(|d| d["key"].as_str().unwrap_or_default().to_owned())
                .collect();
            assert_eq!(keys.len(), 2, "{view}: one removed, one added: {keys:?}");
            assert_ne!(keys[0], keys[1], "{view}");
        }
        let report_dir = dir.path().join(format!("report-{n}"));
        let out = run([
            "--semantic",
            "--report-dir",
            &path_string(&report_dir),
            "--format",
            "json",
            &a,
            other,
        ]);
        out.expect_code(1);
        let written = common::walk(&report_dir)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("/d/x"))
            .count();
        assert_eq!(written, 2, "both files written");
    }
}

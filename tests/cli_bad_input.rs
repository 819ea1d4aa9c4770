//! Bad input end to end: every failure exits 2 with one clear line on stderr naming the input, its spec
//! and the blob or context, never a panic, and whatever was printed before stays valid.

mod common;

use common::{Run, make_example, path_string, run, simple_image, write_layout};
use ocidiff::fixture::{
    Fault, ImageBuilder, IndexBuilder, LayerBuilder, LayerCompression, gzip, truncated, zstd,
};
use ocidiff::oci::{Digest, media_type};
use tempfile::TempDir;

/// A layer big enough that truncating its compressed stream cuts real data. The good image's layer
/// differs from it (`hostname`), so that the engine cannot skip reading either by equal diff_ids.
fn layer_with(hostname: &str) -> Vec<u8> {
    let text: String = (0..400)
        .map(|i| format!("line {i} of the payload\n"))
        .collect();
    LayerBuilder::new()
        .dir("etc/")
        .file("etc/hostname", hostname)
        .file("usr/share/payload.txt", text)
        .build()
}

/// The bad image's layer (before it is damaged).
fn payload_layer() -> Vec<u8> {
    layer_with("bad\n")
}

/// Checks the failure: exit 2, one error line naming `input <n> (<spec>)` and every one of `needles`,
/// nothing else on stderr but the summary. Then the same comparison as JSON: stdout, if any, is one
/// valid JSON report listing that same error.
fn assert_one_error(args: &[&str], input: usize, spec: &str, needles: &[&str]) -> Run {
    let out = run(args);
    out.expect_code(2).assert_sane();
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "one error line:\n{}", out.stderr());
    let line = &errors[0];
    assert!(
        line.contains(&format!("input {input}")) && line.contains(spec),
        "the error names input {input} and {spec}: {line}"
    );
    for needle in needles {
        assert!(line.contains(needle), "the error names {needle:?}: {line}");
    }
    let stderr = out.stderr();
    let other: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("ocidiff-tui: "))
        .collect();
    assert!(
        other.len() <= 1 && other.iter().all(|l| !l.contains(spec)),
        "besides the error, at most the summary line:\n{stderr}"
    );

    let mut json_args = vec!["--format", "json"];
    json_args.extend_from_slice(args);
    let json_run = run(&json_args);
    json_run.expect_code(2).assert_sane();
    assert_eq!(
        json_run.error_lines(),
        errors,
        "same error line with --format json"
    );
    if !json_run.stdout.is_empty() {
        let report = json_run.json();
        assert_eq!(report["ocidiffReport"], 2);
        let listed = report["errors"].as_array().expect("errors array");
        assert_eq!(listed.len(), 1, "{report:#}");
        let message = listed[0].as_str().expect("error string");
        assert!(line.ends_with(message), "{line} vs {message}");
    }
    out
}

struct Pair {
    _dir: TempDir,
    good: String,
    bad: String,
}

/// A good image and a bad one, both written as OCI layouts.
fn pair(good: &ImageBuilder, bad: &ImageBuilder) -> Pair {
    let dir = TempDir::new().unwrap();
    let good = write_layout(dir.path(), "good", good);
    let bad = write_layout(dir.path(), "bad", bad);
    Pair {
        _dir: dir,
        good,
        bad,
    }
}

fn good_image() -> ImageBuilder {
    ImageBuilder::new().layer(layer_with("good\n"), LayerCompression::Gzip)
}

/// The image that faults are applied to: like the good one but for its layer.
fn bad_base() -> ImageBuilder {
    ImageBuilder::new().layer(payload_layer(), LayerCompression::Gzip)
}

/// An image whose only layer is `blob` stored as is under `media`, with the right diff_id.
fn raw_image(blob: Vec<u8>, media: &str) -> ImageBuilder {
    ImageBuilder::new().raw_layer(blob, media, Digest::sha256_of(&payload_layer()))
}

fn digest_of(blob: &[u8]) -> String {
    Digest::sha256_of(blob).to_string()
}

#[test]
fn truncated_gzip_layer() {
    let blob = truncated(gzip(&payload_layer()), 40);
    let p = pair(
        &good_image(),
        &raw_image(blob.clone(), media_type::OCI_LAYER_GZIP),
    );
    assert_one_error(&[&p.good, &p.bad], 1, &p.bad, &[&digest_of(&blob), "gzip"]);
}

#[test]
fn truncated_zstd_layer() {
    let blob = truncated(zstd(&payload_layer()), 40);
    let p = pair(
        &good_image(),
        &raw_image(blob.clone(), media_type::OCI_LAYER_ZSTD),
    );
    // The bad image is input 0 here.
    assert_one_error(&[&p.bad, &p.good], 0, &p.bad, &[&digest_of(&blob), "zstd"]);
}

#[test]
fn layer_tar_without_end_of_archive_blocks() {
    let tar = LayerBuilder::new()
        .file("etc/hostname", "good\n")
        .without_end_blocks()
        .build();
    let bad = ImageBuilder::new().layer(tar.clone(), LayerCompression::Gzip);
    let blob = gzip(&tar);
    let p = pair(&good_image(), &bad);
    assert_one_error(
        &[&p.good, &p.bad],
        1,
        &p.bad,
        &[&digest_of(&blob), "end-of-archive"],
    );
}

#[test]
fn corrupt_json_config() {
    let bytes = b"{\"architecture\": \"amd64\", \"os\": ".to_vec();
    let bad = bad_base().fault(Fault::ConfigBytes(bytes.clone()));
    let p = pair(&good_image(), &bad);
    assert_one_error(
        &[&p.good, &p.bad],
        1,
        &p.bad,
        &[&digest_of(&bytes), "config", "JSON"],
    );
}

#[test]
fn missing_layer_blob() {
    let bad = bad_base().fault(Fault::OmitLayer(0));
    let digest = digest_of(&gzip(&payload_layer()));
    let p = pair(&good_image(), &bad);
    assert_one_error(&[&p.bad, &p.good], 0, &p.bad, &[&digest, "missing"]);
}

#[test]
fn missing_config_blob() {
    let bad = bad_base().fault(Fault::OmitConfig);
    let digest = bad.build().config.digest.to_string();
    let p = pair(&good_image(), &bad);
    assert_one_error(&[&p.good, &p.bad], 1, &p.bad, &[&digest, "missing"]);
}

/// One byte of the stored blob changed, under the original digest: reported as a digest mismatch,
/// whether the change also breaks the compression (gzip's trailer) or not (a plain tar's padding).
#[test]
fn layer_digest_mismatch() {
    for compression in [
        LayerCompression::None,
        LayerCompression::Gzip,
        LayerCompression::Zstd,
    ] {
        let bad = ImageBuilder::new()
            .layer(payload_layer(), compression)
            .fault(Fault::CorruptLayer(0));
        let digest = bad.build().layers[0].digest.to_string();
        let p = pair(&good_image(), &bad);
        assert_one_error(&[&p.good, &p.bad], 1, &p.bad, &[&digest, "digest mismatch"]);
    }
}

#[test]
fn layer_not_matching_the_config_diff_id() {
    let tar = payload_layer();
    let wrong = Digest::sha256_of(b"some other tar");
    let bad = ImageBuilder::new().raw_layer(gzip(&tar), media_type::OCI_LAYER_GZIP, wrong.clone());
    let p = pair(&good_image(), &bad);
    assert_one_error(
        &[&p.good, &p.bad],
        1,
        &p.bad,
        &[&digest_of(&gzip(&tar)), "diff_id", &wrong.to_string()],
    );
}

#[test]
fn nonexistent_path() {
    let dir = TempDir::new().unwrap();
    let good = write_layout(dir.path(), "good", &good_image());
    let missing = path_string(&dir.path().join("no-such-image"));
    let out = assert_one_error(&[&good, &missing], 1, &missing, &["no such file"]);
    assert!(out.stdout.is_empty(), "nothing compared, nothing printed");
    let missing_archive = format!("oci-archive:{}", dir.path().join("nope.tar").display());
    assert_one_error(
        &[&missing_archive, &good],
        0,
        &missing_archive,
        &["nope.tar"],
    );
}

#[test]
fn file_that_is_not_an_image() {
    let dir = TempDir::new().unwrap();
    let good = write_layout(dir.path(), "good", &good_image());
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some text, not a tar\n").unwrap();
    let text = path_string(&text);
    assert_one_error(&[&text, &good], 0, &text, &["not an image"]);
    // A directory that is not a layout.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let empty = path_string(&empty);
    assert_one_error(&[&good, &empty], 1, &empty, &[]);
}

#[test]
fn bad_command_line_usage_exits_2() {
    for args in [
        &["only-one-image"][..],
        &["--no-such-flag", "a", "b"],
        &["--format", "xml", "a", "b"],
        &["--platform", "linux", "a", "b"],
        &["--ignore-history=maybe", "a", "b"],
    ] {
        let out = run(args);
        out.expect_code(2).assert_sane();
        assert!(out.stdout.is_empty(), "{args:?}: usage goes to stderr");
        let stderr = out.stderr();
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
    }
}

/// Runs with `--platform linux/s390x` and expects one error naming it, before any comparison output.
fn assert_platform_error(good: &str, bad: &str) {
    let out = run(["--platform", "linux/s390x", good, bad]);
    out.expect_code(2).assert_sane();
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "{}", out.stderr());
    assert!(
        errors[0].contains("linux/s390x") && errors[0].contains("neither"),
        "names the platform: {}",
        errors[0]
    );
    // At most the root descriptors' difference, found before the platforms were selected.
    let table = out.stdout();
    assert!(
        table.lines().skip(1).all(|l| l.starts_with("Desc ")) && !table.contains("File "),
        "nothing below the root was compared: {table}"
    );
}

#[test]
fn platform_that_neither_index_has() {
    let dir = TempDir::new().unwrap();
    let index = |hostname: &str| {
        IndexBuilder::new()
            .image(
                ImageBuilder::new()
                    .platform("linux", "amd64", None)
                    .layer(layer_with(hostname), LayerCompression::Gzip),
            )
            .image(
                ImageBuilder::new()
                    .platform("linux", "arm64", Some("v8"))
                    .layer(layer_with(hostname), LayerCompression::Gzip),
            )
    };
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    index("a\n").write_oci_layout(&a, None).unwrap();
    index("b\n").write_oci_layout(&b, None).unwrap();
    assert_platform_error(&path_string(&a), &path_string(&b));
    // A platform that both have works.
    let out = run([
        "--platform",
        "linux/arm64/v8",
        &path_string(&a),
        &path_string(&b),
    ]);
    out.expect_code(1).assert_sane();
}

#[test]
fn platform_that_neither_single_manifest_image_has() {
    let p = pair(&good_image(), &simple_image("other\n"));
    assert_platform_error(&p.good, &p.bad);
    let out = run(["--platform", "linux/amd64", &p.good, &p.bad]);
    out.expect_code(1).assert_sane();
}

/// Layer 0 differs (and is fine); layer 1 of input 1 is corrupt. The difference in layer 0 is printed,
/// the error names layer 1's blob, and the exit code is 2, not 1.
#[test]
fn corrupt_second_layer_keeps_the_first_layers_differences() {
    let second = layer_with("same\n");
    let good = ImageBuilder::new()
        .layer(
            LayerBuilder::new().file("etc/version", "1.0\n").build(),
            LayerCompression::Gzip,
        )
        .layer(second.clone(), LayerCompression::Gzip);
    let bad = ImageBuilder::new()
        .layer(
            LayerBuilder::new().file("etc/version", "2.0\n").build(),
            LayerCompression::Gzip,
        )
        .layer(layer_with("other\n"), LayerCompression::Gzip)
        .fault(Fault::CorruptLayer(1));
    let p = pair(&good, &bad);
    let out = assert_one_error(
        &[&p.good, &p.bad],
        1,
        &p.bad,
        &[&digest_of(&gzip(&layer_with("other\n"))), "layers-1"],
    );
    let table = out.stdout();
    let row = table
        .lines()
        .find(|l| l.starts_with("File ") && l.contains("etc/version"))
        .unwrap_or_else(|| panic!("layer 0's difference is printed:\n{table}"));
    let sha = |s: &str| Digest::sha256_of(s.as_bytes()).hex();
    assert!(
        row.contains(&sha("1.0\n")) && row.contains(&sha("2.0\n")),
        "{row}"
    );
    assert!(
        table.starts_with("TYPE "),
        "a whole table, header first:\n{table}"
    );

    // The JSON report is complete JSON, holds the difference and the error, and says it is partial
    // or at least lists the error.
    let json = run(["--format", "json", &p.good, &p.bad]);
    json.expect_code(2);
    let report = json.json();
    let differences = report["differences"].as_array().unwrap();
    assert!(
        differences
            .iter()
            .any(|d| d["kind"] == "File" && d["key"] == "etc/version"),
        "{report:#}"
    );
    assert_eq!(report["errors"].as_array().unwrap().len(), 1);

    // NDJSON streams the difference, the error, and still ends with `finished`.
    let ndjson = run(["--format", "ndjson", &p.good, &p.bad]);
    ndjson.expect_code(2);
    let events: Vec<serde_json::Value> = ndjson
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(events.iter().any(|e| e["event"] == "error"));
    assert!(events.iter().any(|e| e["event"] == "difference"));
    assert_eq!(events.last().unwrap()["event"], "finished");
}

/// A truncated docker archive (the other source kind) fails the same way.
#[test]
fn truncated_layer_in_a_docker_archive() {
    let dir = TempDir::new().unwrap();
    let good = write_layout(dir.path(), "good", &good_image());
    let archive = dir.path().join("bad.tar");
    bad_base()
        .fault(Fault::CorruptLayer(0))
        .write_docker_archive(&archive, Some("example/bad:1"))
        .unwrap();
    let spec = format!("docker-archive:{}", archive.display());
    let out = run([&good, &spec]);
    out.expect_code(2).assert_sane();
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "{}", out.stderr());
    assert!(
        errors[0].contains("input 1") && errors[0].contains(&spec),
        "{}",
        errors[0]
    );
}

#[test]
fn max_scale_scales_the_json_blob_limit() {
    let dir = TempDir::new().unwrap();
    let example = make_example(dir.path());
    let (a, b) = (
        path_string(&example.join("a")),
        path_string(&example.join("b")),
    );
    // 16 MiB x 0.00002 = 335 bytes: smaller than the example's configs (over 600 bytes).
    let small = run(["--max-scale", "0.00002", a.as_str(), b.as_str()]);
    small.expect_code(2);
    assert!(
        small
            .stderr()
            .contains("larger than the limit of 335; raise it with --max-scale 1"),
        "{}",
        small.stderr()
    );
    // 0 means 1, as in diffoci.
    run(["--max-scale", "0", a.as_str(), b.as_str()]).expect_code(1);
    let negative = run(["--max-scale=-1", a.as_str(), b.as_str()]);
    negative.expect_code(2);
    assert!(
        negative.stderr().contains("--max-scale"),
        "{}",
        negative.stderr()
    );
}

/// A message part said twice in a row (`X: X`), as a cause printed by an error's message and again
/// as its source.
fn repeated_part(line: &str) -> Option<&str> {
    let parts: Vec<&str> = line.split(": ").collect();
    parts
        .windows(2)
        .find(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
}

#[test]
fn no_error_line_repeats_its_cause() {
    let dir = TempDir::new().unwrap();
    let good = write_layout(dir.path(), "good", &good_image());
    // index.json is a directory: reading it fails with the OS's "Is a directory".
    let dir_index = dir.path().join("dir-index");
    std::fs::create_dir_all(dir_index.join("index.json")).unwrap();
    // index.json is not JSON: the parser's message.
    let bad_json = dir.path().join("bad-json");
    std::fs::create_dir_all(&bad_json).unwrap();
    std::fs::write(bad_json.join("index.json"), b"{\"manifests\": [").unwrap();
    let archive_dir = format!("docker-archive:{}", dir.path().display());
    for (spec, needle) in [
        (path_string(&dir_index), "Is a directory"),
        (path_string(&bad_json), "EOF while parsing"),
        (archive_dir, "a directory, not an archive file"),
    ] {
        let out = assert_one_error(&[&good, &spec], 1, &spec, &[needle]);
        let line = &out.error_lines()[0];
        assert_eq!(repeated_part(line), None, "{line}");
        assert_eq!(line.matches(needle).count(), 1, "{line}");
    }
}

#[test]
fn compressions_not_read_get_the_same_hint() {
    let dir = TempDir::new().unwrap();
    let good = write_layout(dir.path(), "good", &good_image());
    for (name, magic) in [
        ("bzip2", &b"BZh91AY&SY"[..]),
        ("lz4", b"\x04\x22\x4d\x18\x64\x40"),
        ("lzip", b"LZIP\x01\x0c"),
    ] {
        let file = path_string(&dir.path().join(format!("image.tar.{name}")));
        std::fs::write(&file, magic).unwrap();
        let hint = format!(
            "{name}-compressed file; compressed archives are read when gzip, zstd or xz, decompress it first"
        );
        for spec in [file.clone(), format!("docker-archive:{file}")] {
            assert_one_error(&[&spec, &good], 0, &spec, &[&hint]);
        }
    }
}

/// Sets a tar header's checksum to match its bytes.
fn fix_checksum(header: &mut [u8]) {
    header[148..156].fill(b' ');
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

#[test]
fn tar_errors_in_archives_name_the_offset_never_the_bytes() {
    let dir = TempDir::new().unwrap();
    let good = write_layout(dir.path(), "good", &good_image());
    let tar = good_image().oci_files(None).to_tar();
    // The second header: after the first (a directory, no data).
    let second = 512;
    let garbage = b"\x1b[2J\x1b]0;owned\x07\xff\xfe";
    let mut bad_checksum = tar.clone();
    bad_checksum[second..second + garbage.len()].copy_from_slice(garbage);
    let mut bad_size = tar.clone();
    bad_size[second + 124..second + 124 + 12].copy_from_slice(b"\x1b[31m\xff\xfe12345");
    fix_checksum(&mut bad_size[second..second + 512]);
    for (name, bytes, needle) in [
        (
            "checksum.tar",
            bad_checksum,
            "tar header at offset 512 has a bad checksum",
        ),
        (
            "size.tar",
            bad_size,
            "tar header at offset 512 has an invalid size field",
        ),
    ] {
        let file = path_string(&dir.path().join(name));
        std::fs::write(&file, bytes).unwrap();
        for spec in [file.clone(), format!("oci-archive:{file}")] {
            let out = assert_one_error(&[&spec, &good], 0, &spec, &["not an image", needle]);
            let line = &out.error_lines()[0];
            assert!(!line.contains("owned") && !line.contains("[31m"), "{line}");
            assert!(!out.stderr.windows(2).any(|w| w == b"\xff\xfe"), "{line}");
        }
    }
}

#[test]
fn unknown_schema_versions_are_said_as_such() {
    let dir = TempDir::new().unwrap();
    let good = write_layout(dir.path(), "good", &good_image());
    let layout = dir.path().join("v3");
    good_image().write_oci_layout(&layout, None).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut v3 = index.clone();
    v3["schemaVersion"] = 3.into();
    v3["manifests"] = serde_json::json!({"future": "shape"});
    std::fs::write(layout.join("index.json"), v3.to_string()).unwrap();
    let spec = path_string(&layout);
    assert_one_error(
        &[&good, &spec],
        1,
        &spec,
        &["index.json has unsupported schemaVersion 3"],
    );

    let mut files = good_image().docker_files(None, ocidiff::fixture::DockerStyle::Legacy);
    files.insert_file(
        "manifest.json",
        br#"{"schemaVersion": 1, "name": "x", "fsLayers": []}"#.to_vec(),
    );
    let archive = dir.path().join("v1.tar");
    files.write_tar(&archive).unwrap();
    let spec = format!("docker-archive:{}", archive.display());
    assert_one_error(
        &[&good, &spec],
        1,
        &spec,
        &["manifest.json has unsupported schemaVersion 1"],
    );
}

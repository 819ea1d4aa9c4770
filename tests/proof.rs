//! Equality is proven, end to end: a layer behind an equal diff_id is read and checked, every blob an
//! image references must be there with its size (equal digests too), and `--verify` reads them all.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Run, bin, path_string, run, run_command};
use ocidiff::fixture::{Fault, ImageBuilder, LayerBuilder, LayerCompression, gzip, truncated};
use ocidiff::oci::{Digest, media_type};
use tempfile::TempDir;

/// A layer big enough that cutting its gzip stream cuts data.
fn base_tar() -> Vec<u8> {
    let text: String = (0..400)
        .map(|i| format!("line {i} of the base\n"))
        .collect();
    LayerBuilder::new()
        .dir("etc/")
        .file("etc/os-release", "debian\n")
        .file("usr/share/base.txt", text)
        .build()
}

/// The base layer with one more file.
fn backdoored_tar() -> Vec<u8> {
    let text: String = (0..400)
        .map(|i| format!("line {i} of the base\n"))
        .collect();
    LayerBuilder::new()
        .dir("etc/")
        .file("etc/os-release", "debian\n")
        .file("usr/share/base.txt", text)
        .file("etc/backdoor", "#!/bin/sh\n")
        .build()
}

fn good_image() -> ImageBuilder {
    ImageBuilder::new().layer(base_tar(), LayerCompression::Gzip)
}

/// An image whose config repeats the good image's diff_id over `blob`.
fn lying_image(blob: Vec<u8>) -> ImageBuilder {
    ImageBuilder::new().raw_layer(
        blob,
        media_type::OCI_LAYER_GZIP,
        Digest::sha256_of(&base_tar()),
    )
}

/// Deterministic bytes that look like nothing (xorshift), not starting with a gzip or zstd magic.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    assert!(!bytes.starts_with(&[0x1f, 0x8b]) && !bytes.starts_with(&[0x28, 0xb5]));
    bytes
}

fn layout(dir: &Path, name: &str, image: &ImageBuilder) -> String {
    let path = dir.join(name);
    image.write_oci_layout(&path, None).expect("write layout");
    path_string(&path)
}

fn blob_path(layout: &str, digest: &Digest) -> PathBuf {
    Path::new(layout).join("blobs/sha256").join(digest.hex())
}

/// Exactly one error line, naming input 1 with its spec and every needle.
fn assert_one_error(out: &Run, spec: &str, needles: &[&str]) {
    out.assert_sane();
    assert_eq!(out.code, 2, "exit 2 expected:\n{}", out.stderr());
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "one error line:\n{}", out.stderr());
    let line = &errors[0];
    assert!(
        line.contains(&format!("input 1 ({spec})")),
        "names input 1 ({spec}): {line}"
    );
    for needle in needles {
        assert!(line.contains(needle), "names {needle:?}: {line}");
    }
}

#[test]
fn a_lying_layer_behind_an_equal_diff_id_is_an_error_never_equal() {
    let good_diff_id = Digest::sha256_of(&base_tar()).to_string();
    let cut = truncated(gzip(&base_tar()), 200);
    let noise = random_bytes(4096);
    let backdoor = gzip(&backdoored_tar());
    let cases: [(&str, Vec<u8>, Vec<String>); 3] = [
        (
            "truncated gzip",
            cut.clone(),
            vec![
                "corrupt or truncated gzip stream".into(),
                format!("diff_id {good_diff_id}"),
            ],
        ),
        (
            "random bytes",
            noise.clone(),
            vec![format!(
                "diff_id {good_diff_id} (got {})",
                Digest::sha256_of(&noise)
            )],
        ),
        (
            "one more file",
            backdoor.clone(),
            vec![format!(
                "diff_id {good_diff_id} (got {})",
                Digest::sha256_of(&backdoored_tar())
            )],
        ),
    ];
    let dir = TempDir::new().unwrap();
    let good = layout(dir.path(), "good", &good_image());
    for (i, (what, blob, needles)) in cases.into_iter().enumerate() {
        let bad = layout(dir.path(), &format!("bad{i}"), &lying_image(blob.clone()));
        let blob_digest = Digest::sha256_of(&blob).to_string();
        let mut needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        needles.extend(["layer", &blob_digest, "/layers-0"]);
        for flags in [&["--semantic"][..], &[]] {
            let mut args: Vec<&str> = flags.to_vec();
            args.extend([good.as_str(), bad.as_str()]);
            let out = run(&args);
            eprintln!("{what} {flags:?}");
            assert_one_error(&out, &bad, &needles);
        }
    }
}

#[test]
fn gzip_and_zstd_of_one_layer_are_proven_equal() {
    let dir = TempDir::new().unwrap();
    let gz = layout(dir.path(), "gz", &good_image());
    let zst = layout(
        dir.path(),
        "zst",
        &ImageBuilder::new().layer(base_tar(), LayerCompression::Zstd),
    );
    let out = run(["--semantic", "--format", "json", &gz, &zst]);
    out.expect_code(0);
    let report = out.json();
    assert_eq!(report["summary"]["verifiedLayers"], 1, "{report:#}");
    assert_eq!(report["summary"]["skippedLayers"], 0, "{report:#}");
    let proofs: Vec<(&str, &str)> = report["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| Some((c["path"].as_str()?, c["proof"].as_str()?)))
        .collect();
    assert_eq!(proofs, [("/layers-0", "content-verified")]);

    let debug = run(["--semantic", "--debug", &gz, &zst]);
    debug.expect_code(0);
    assert!(
        debug
            .stderr()
            .contains("/layers-0: content verified equal (same uncompressed digest)"),
        "{}",
        debug.stderr()
    );
}

/// Two layouts of one image (same root digest).
struct SameImage {
    _dir: TempDir,
    a: String,
    b: String,
    manifest: Digest,
    config: Digest,
    layer: Digest,
    layer_size: u64,
}

fn same_image() -> SameImage {
    let dir = TempDir::new().unwrap();
    let image = good_image();
    let a = layout(dir.path(), "a", &image);
    let b = layout(dir.path(), "b", &image);
    let built = image.build();
    SameImage {
        _dir: dir,
        a,
        b,
        manifest: built.manifest.digest,
        config: built.config.digest,
        layer: built.layers[0].digest.clone(),
        layer_size: built.layers[0].size,
    }
}

#[test]
fn a_missing_blob_behind_an_equal_manifest_is_an_error() {
    for what in ["layer", "config", "manifest"] {
        let same = same_image();
        let (digest, context) = match what {
            "layer" => (&same.layer, "at /layers-0:"),
            "config" => (&same.config, "at /config:"),
            _ => (&same.manifest, "at /:"),
        };
        std::fs::remove_file(blob_path(&same.b, digest)).unwrap();
        let digest = digest.to_string();
        let out = run([&same.a, &same.b]);
        assert_one_error(&out, &same.b, &[what, &digest, context, "is missing"]);
    }

    let same = same_image();
    let digest = same.layer.to_string();
    let dir = TempDir::new().unwrap();
    let archive = dir.path().join("omitted.tar");
    good_image()
        .fault(Fault::OmitLayer(0))
        .write_oci_archive(&archive, None)
        .unwrap();
    let spec = format!("oci-archive:{}", path_string(&archive));
    let out = run([&same.a, &spec]);
    assert_one_error(&out, &spec, &["layer", &digest, "is missing"]);
}

#[test]
fn a_blob_of_the_wrong_size_is_an_error_without_reading_it() {
    let same = same_image();
    let path = blob_path(&same.b, &same.layer);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&path, &bytes).unwrap();
    let expected = format!(
        "size mismatch: expected {} bytes, got {}",
        same.layer_size,
        same.layer_size - 10
    );
    let out = run([&same.a, &same.b]);
    assert_one_error(
        &out,
        &same.b,
        &["layer", &same.layer.to_string(), &expected],
    );
}

/// Runs the binary, killed if it has not exited after `limit`: a blob that blocks must fail the
/// test, not hang it.
fn run_bounded(args: &[&str], limit: Duration) -> Run {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ocidiff-tui");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ocidiff-tui {args:?} still running after {limit:?}: it blocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("collect output");
    Run {
        code: output.status.code().expect("exited by itself"),
        stdout: output.stdout,
        stderr: output.stderr,
    }
}

fn make_fifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(made.success());
}

#[test]
fn a_fifo_blob_is_refused_without_blocking() {
    let limit = Duration::from_secs(20);
    let same = same_image();
    let path = blob_path(&same.b, &same.layer);
    std::fs::remove_file(&path).unwrap();
    make_fifo(&path);
    let out = run_bounded(&[&same.a, &same.b], limit);
    assert_one_error(&out, &same.b, &["layer", "a FIFO, not a regular file"]);
    let out = run_bounded(&["--verify", &same.a, &same.b], limit);
    assert_one_error(&out, &same.b, &["layer", "a FIFO, not a regular file"]);

    // A layer that differs is opened to be read: refused all the same.
    let dir = TempDir::new().unwrap();
    let other = ImageBuilder::new().layer(backdoored_tar(), LayerCompression::Gzip);
    let other_layout = layout(dir.path(), "other", &other);
    let out = run_bounded(&[&other_layout, &same.b], limit);
    assert_one_error(&out, &same.b, &["layer", "a FIFO, not a regular file"]);
}

#[test]
fn a_directory_blob_is_refused() {
    let same = same_image();
    let path = blob_path(&same.b, &same.layer);
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let out = run([&same.a, &same.b]);
    assert_one_error(&out, &same.b, &["layer", "a directory, not a regular file"]);
}

#[test]
fn a_blob_linked_out_of_the_layout_is_refused_and_one_inside_is_read() {
    let same = same_image();
    let path = blob_path(&same.b, &same.layer);
    let outside = Path::new(&same.b).with_file_name("outside-blob");
    std::fs::rename(&path, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &path).unwrap();
    let out = run([&same.a, &same.b]);
    assert_one_error(
        &out,
        &same.b,
        &["layer", "a symbolic link out of the layout"],
    );
    let out = run(["--verify", &same.a, &same.b]);
    assert_one_error(
        &out,
        &same.b,
        &["layer", "a symbolic link out of the layout"],
    );

    let inside = Path::new(&same.b).join("shared-blob");
    std::fs::rename(&outside, &inside).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("../../shared-blob", &path).unwrap();
    run(["--verify", &same.a, &same.b]).expect_code(0);
}

#[test]
fn verify_finds_a_corrupt_copy_of_a_blob_shared_by_digest() {
    let dir = TempDir::new().unwrap();
    let app = |version: &str| LayerBuilder::new().file("app", version).build();
    let image = |version: &str| good_image().layer(app(version), LayerCompression::Gzip);
    let a = layout(dir.path(), "a", &image("v1"));
    let b = layout(dir.path(), "b", &image("v2"));
    let base = image("v2").build().layers[0].digest.clone();
    let path = blob_path(&b, &base);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();

    // Without --verify the shared blob is only checked to be there with its size: it is.
    let out = run(["--semantic", &a, &b]);
    out.assert_sane().expect_code(1);
    assert!(out.error_lines().is_empty(), "{}", out.stderr());
    let out = run(["--semantic", "--verify", &a, &b]);
    assert_one_error(
        &out,
        &b,
        &["layer", &base.to_string(), "/layers-0", "digest mismatch"],
    );
    // The same with the copies swapped: input 0's copy is the corrupt one.
    let out = run(["--semantic", "--verify", &b, &a]);
    out.assert_sane().expect_code(2);
    assert!(
        out.error_lines()
            .iter()
            .any(|l| l.contains(&format!("input 0 ({b})")) && l.contains("digest mismatch")),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_config_whose_diff_ids_do_not_match_the_layers_is_an_error() {
    let dir = TempDir::new().unwrap();
    let good = layout(dir.path(), "good", &good_image());
    let two_layers = good_image().layer(
        LayerBuilder::new().file("app", "v1").build(),
        LayerCompression::Gzip,
    );
    let built = two_layers.build();
    for (name, diff_ids) in [
        ("fewer", vec![built.diff_ids[0].clone()]),
        ("more", vec![built.diff_ids[0].clone(); 3]),
    ] {
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        let bytes = serde_json::to_vec(&config).unwrap();
        let bad = layout(
            dir.path(),
            name,
            &two_layers.clone().fault(Fault::ConfigBytes(bytes)),
        );
        let expected = format!(
            "lists {} diff_ids for the manifest's 2 layers",
            diff_ids.len()
        );
        let out = run(["--semantic", &good, &bad]);
        assert_one_error(&out, &bad, &["config", "/config", &expected]);
    }
}

#[test]
fn identical_images_read_no_layer() {
    let same = same_image();
    let out = run(["--debug", &same.a, &same.b]);
    out.assert_sane().expect_code(0);
    let stderr = out.stderr();
    assert!(
        !stderr.contains("read and compared") && !stderr.contains("content verified"),
        "{stderr}"
    );
    let events = run(["--format", "ndjson", &same.a, &same.b]);
    events.expect_code(0);
    let progress: Vec<serde_json::Value> = events
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "progress")
        .collect();
    assert!(!progress.is_empty());
    assert!(
        progress
            .iter()
            .all(|p| p["layers_total"] == 0 && p["bytes_total"] == 0),
        "{progress:?}"
    );
}

/// The real Debian pair (built by make-images.sh), when this machine has it.
fn testbed() -> Option<PathBuf> {
    let root = PathBuf::from("/var/tmp/testbed/layouts");
    let ready = ["deb-a", "deb-b", "deb-a-zstd"]
        .iter()
        .all(|name| root.join(name).join("index.json").exists());
    if ready {
        Some(root)
    } else {
        eprintln!("skipped: no testbed layouts at {}", root.display());
        None
    }
}

#[test]
fn the_testbed_pairs_give_the_same_verdicts() {
    let Some(root) = testbed() else { return };
    let spec = |name: &str| format!("oci:{}", root.join(name).display());
    let json = |a: &str, b: &str| {
        let out = run_command(bin().args(["--semantic", "--format", "json", &spec(a), &spec(b)]));
        (out.code, out.json())
    };
    // deb-a vs deb-b, as before this change: 853 differences, 6 shown, the shared layer not read.
    let (code, report) = json("deb-a", "deb-b");
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(report["differences"].as_array().unwrap().len(), 853);
    assert_eq!(report["summary"]["rows"], 6);
    assert_eq!(
        report["summary"]["differences"],
        report["verdict"]["differences"]
    );
    assert_eq!(report["summary"]["skippedLayers"], 1);
    assert_eq!(report["summary"]["verifiedLayers"], 0);
    // The same image as gzip and as zstd: every layer read and proven equal.
    let (code, report) = json("deb-a", "deb-a-zstd");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["verifiedLayers"], 3);
    // Itself: nothing read.
    let out = run(["--debug", &spec("deb-a"), &spec("deb-a")]);
    out.expect_code(0);
    assert!(
        !out.stderr().contains("read and compared"),
        "{}",
        out.stderr()
    );
}

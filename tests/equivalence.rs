//! Images that are the same under `--semantic` but differ strictly: storage (compression, media types,
//! layout vs archives), rebuild timestamps, layer splits (merged view), and platform pairing in indexes.

mod support;

use std::path::Path;

use ocidiff::fixture::{
    FIXED_MTIME, ImageBuilder, IndexBuilder, LayerBuilder, LayerCompression, MediaTypes,
};
use serde_json::{Value, json};
use support::{Report, compare, path_str, show};

const T1: &str = "2023-11-14T22:13:20Z";
const T2: &str = "2024-02-02T10:00:00Z";

fn base_layer(mtime: u64) -> Vec<u8> {
    LayerBuilder::new()
        .dir("etc")
        .mtime(mtime)
        .file("etc/os-release", "ID=test\n")
        .mtime(mtime)
        .dir("bin")
        .mtime(mtime)
        .file("bin/tool", "#!/bin/sh\necho tool\n")
        .mode(0o755)
        .mtime(mtime)
        .symlink("bin/sh", "tool")
        .mtime(mtime)
        .build()
}

fn app_layer(mtime: u64) -> Vec<u8> {
    LayerBuilder::new()
        .dir("app")
        .mtime(mtime)
        .file("app/main.py", "print('hi')\n".repeat(50))
        .mtime(mtime)
        .file("app/data.bin", vec![7u8; 3000])
        .mtime(mtime)
        .build()
}

fn config(created: &str) -> Value {
    json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/app/main.py"]},
        "history": [
            {"created": created, "created_by": "ADD base"},
            {"created": created, "created_by": "COPY app /app"},
        ],
    })
}

/// The two-layer test image, stored as asked.
fn image(compression: LayerCompression, media_types: MediaTypes) -> ImageBuilder {
    ImageBuilder::new()
        .media_types(media_types)
        .config(config(T1))
        .layer(base_layer(FIXED_MTIME), compression)
        .layer(app_layer(FIXED_MTIME), compression)
}

fn gzip_oci() -> ImageBuilder {
    image(LayerCompression::Gzip, MediaTypes::Oci)
}

fn layout(dir: &Path, name: &str, image: &ImageBuilder) -> String {
    let path = dir.join(name);
    image.write_oci_layout(&path, None).unwrap();
    path_str(&path)
}

/// Strictly different (exit 1, with something shown), equal under `--semantic` (exit 0, nothing shown).
fn assert_semantically_equal(a: &str, b: &str) -> Report {
    let (code, strict) = compare(&[], a, b);
    assert_eq!(code, 1, "strictly different: {a} {b}");
    assert!(!strict.shown().is_empty());
    let (code, semantic) = compare(&["--semantic"], a, b);
    assert_eq!(
        code,
        0,
        "--semantic {a} {b} shows:\n{}",
        show(&semantic.shown())
    );
    assert!(semantic.shown().is_empty());
    assert_eq!(semantic.shown_count(), 0);
    strict
}

fn aspects(report: &Report) -> std::collections::BTreeSet<String> {
    report.shown().into_iter().map(|p| p.aspect).collect()
}

#[test]
fn gzip_vs_zstd_is_equal_under_semantic_and_under_ignore_media_types_alone() {
    let dir = tempfile::tempdir().unwrap();
    let a = layout(dir.path(), "gzip", &gzip_oci());
    let b = layout(
        dir.path(),
        "zstd",
        &image(LayerCompression::Zstd, MediaTypes::Oci),
    );
    let strict = assert_semantically_equal(&a, &b);
    let shown = strict.shown();
    assert!(
        shown
            .iter()
            .any(|p| p.key == "layer" && p.field == "mediaType" && p.aspect == "media-type"),
        "{}",
        show(&shown)
    );
    // The content is the same: no file differs even strictly.
    assert!(
        strict.shown_files().is_empty(),
        "{:?}",
        strict.shown_files()
    );
    assert_eq!(
        aspects(&strict),
        ["digest", "media-type"].map(String::from).into()
    );
    let (code, _) = compare(&["--ignore-media-types"], &a, &b);
    assert_eq!(code, 0);
    // Uncompressed layers are the same image too.
    let c = layout(
        dir.path(),
        "plain",
        &image(LayerCompression::None, MediaTypes::Oci),
    );
    assert_semantically_equal(&a, &c);
}

#[test]
fn oci_vs_docker_media_types_is_equal_under_semantic() {
    let dir = tempfile::tempdir().unwrap();
    let a = layout(dir.path(), "oci", &gzip_oci());
    let b = layout(
        dir.path(),
        "docker",
        &image(LayerCompression::Gzip, MediaTypes::Docker),
    );
    let strict = assert_semantically_equal(&a, &b);
    let keys = strict.shown_keys();
    for want in [("layer", "mediaType"), ("config", "mediaType")] {
        assert!(
            keys.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {keys:?}"
        );
    }
    assert!(strict.shown_files().is_empty());
    assert_eq!(
        aspects(&strict),
        ["digest", "media-type"].map(String::from).into()
    );
}

#[test]
fn oci_layout_oci_archive_and_docker_archive_of_one_image_are_equal() {
    let dir = tempfile::tempdir().unwrap();
    let image = gzip_oci();
    let layout_path = layout(dir.path(), "layout", &image);
    let oci_tar = dir.path().join("image.oci.tar");
    image.write_oci_archive(&oci_tar, None).unwrap();
    let docker_tar = dir.path().join("image.docker.tar");
    image
        .write_docker_archive(&docker_tar, Some("test/image:1"))
        .unwrap();
    let layout_spec = format!("oci:{layout_path}");
    let oci_spec = format!("oci-archive:{}", path_str(&oci_tar));
    let docker_spec = format!("docker-archive:{}", path_str(&docker_tar));

    // The same bytes in a directory or a tar: equal even strictly.
    for (a, b) in [
        (&layout_spec, &oci_spec),
        (&layout_path, &path_str(&oci_tar)),
    ] {
        let (code, report) = compare(&[], a, b);
        assert_eq!(code, 0, "{a} {b}:\n{}", show(&report.shown()));
    }
    // docker save stores layers uncompressed under Docker media types: different strictly, the same
    // image semantically; no file differs.
    for a in [&layout_spec, &oci_spec] {
        let strict = assert_semantically_equal(a, &docker_spec);
        assert!(strict.shown_files().is_empty(), "{a}");
        assert!(aspects(&strict).contains("media-type"), "{a}");
    }
    // A plain path is recognised as a docker archive too.
    assert_semantically_equal(&layout_path, &path_str(&docker_tar));
}

#[test]
fn a_rebuild_with_other_timestamps_is_equal_under_ignore_timestamps_and_semantic() {
    let dir = tempfile::tempdir().unwrap();
    let later = FIXED_MTIME + 86_400;
    let rebuilt = ImageBuilder::new()
        .config(config(T2))
        .layer(base_layer(later), LayerCompression::Gzip)
        .layer(app_layer(later), LayerCompression::Gzip);
    let a = layout(dir.path(), "a", &gzip_oci());
    let b = layout(dir.path(), "b", &rebuilt);
    let strict = assert_semantically_equal(&a, &b);
    assert_eq!(
        aspects(&strict),
        ["digest", "file-time", "image-time"]
            .map(String::from)
            .into()
    );
    // Every entry of both layers has a new mtime.
    assert_eq!(strict.shown_files().len(), 8, "{:?}", strict.shown_files());
    let (code, report) = compare(&["--ignore-timestamps"], &a, &b);
    assert_eq!(code, 0, "{}", show(&report.shown()));
    // One timestamp option alone is not enough.
    let (code, report) = compare(&["--ignore-file-timestamps"], &a, &b);
    assert_eq!(code, 1);
    assert_eq!(
        aspects(&report),
        ["digest", "image-time"].map(String::from).into()
    );
    assert!(report.shown_files().is_empty());
    let (code, report) = compare(&["--ignore-image-timestamps"], &a, &b);
    assert_eq!(code, 1);
    assert!(aspects(&report).contains("file-time"));
    assert!(!aspects(&report).contains("image-time"));
}

/// a: base + one layer adding etc/extra; b: one layer holding both.
fn split_pair(dir: &Path) -> (String, String) {
    let lower = LayerBuilder::new()
        .dir("etc")
        .file("etc/base", "base\n")
        .file("etc/gone", "x\n");
    let upper = LayerBuilder::new()
        .dir("etc")
        .file("etc/extra", "extra\n")
        .whiteout("etc/gone");
    let both = LayerBuilder::new()
        .dir("etc")
        .file("etc/base", "base\n")
        .file("etc/extra", "extra\n");
    let history = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"created": T1, "created_by": format!("step {i}")}))
            .collect()
    };
    let cfg = |n: usize| json!({"created": T1, "architecture": "amd64", "os": "linux", "config": {}, "history": history(n)});
    let a = ImageBuilder::new()
        .config(cfg(2))
        .layer(lower.build(), LayerCompression::Gzip)
        .layer(upper.build(), LayerCompression::Gzip);
    let b = ImageBuilder::new()
        .config(cfg(2))
        .layer(both.build(), LayerCompression::Gzip);
    (layout(dir, "split", &a), layout(dir, "squashed", &b))
}

#[test]
fn a_different_layer_split_of_the_same_filesystem_is_equal_in_the_merged_view() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = split_pair(dir.path());
    for view in ["merged", "auto"] {
        let (code, report) = compare(&["--semantic", "--view", view], &a, &b);
        assert_eq!(report.view(), view);
        assert_eq!(code, 0, "--view {view}:\n{}", show(&report.shown()));
        // The merged filesystems were compared: nothing differs in them even strictly.
        let (_, strict) = compare(&["--view", view], &a, &b);
        assert!(
            strict.shown_files().is_empty(),
            "--view {view} strict: {:?}",
            strict.shown_files()
        );
    }
    // Layer by layer, etc/extra is in layer 1 on one side and layer 0 on the other, and etc/gone
    // and its whiteout are in a only.
    let (code, report) = compare(&["--semantic", "--view", "per-layer"], &a, &b);
    assert_eq!(code, 1);
    let files = report.shown_files();
    for want in ["etc/extra", "etc/gone", "etc/.wh.gone"] {
        assert!(files.contains(want), "{want} in {files:?}");
    }
}

#[test]
fn the_merged_view_still_shows_a_real_change_with_its_layers() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = split_pair(dir.path());
    let changed = ImageBuilder::new()
        .config(json!({"created": T1, "architecture": "amd64", "os": "linux", "config": {},
            "history": [{"created": T1, "created_by": "step 0"}, {"created": T1, "created_by": "step 1"}]}))
        .layer(
            LayerBuilder::new()
                .dir("etc")
                .file("etc/base", "changed\n")
                .file("etc/extra", "extra\n")
                .build(),
            LayerCompression::Gzip,
        );
    let b = layout(dir.path(), "changed", &changed);
    let (code, report) = compare(&["--semantic", "--view", "merged"], &a, &b);
    assert_eq!(code, 1);
    assert_eq!(
        report.shown_files(),
        ["etc/base".to_owned()].into(),
        "{}",
        show(&report.shown())
    );
    // The merged difference says which layer each side's entry came from.
    let diff = report.0["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "etc/base" && d["shown"] == true)
        .unwrap();
    assert_eq!(diff["origin"], json!([0, 0]));
}

fn platform_image(arch: &str, content: &str) -> ImageBuilder {
    ImageBuilder::new().platform("linux", arch, None).layer(
        LayerBuilder::new()
            .file("etc/arch", format!("{arch}\n"))
            .file("etc/content", content)
            .build(),
        LayerCompression::Gzip,
    )
}

fn index(dir: &Path, name: &str, images: Vec<ImageBuilder>) -> String {
    let path = dir.join(name);
    let mut index = IndexBuilder::new();
    for image in images {
        index = index.image(image);
    }
    index.write_oci_layout(&path, None).unwrap();
    path_str(&path)
}

fn manifest_platforms(report: &Report) -> Vec<String> {
    report.0["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"]["type"] == "manifest")
        .map(|c| c["kind"]["platform"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn index_platforms_are_paired_by_platform_not_position() {
    let dir = tempfile::tempdir().unwrap();
    let amd = || platform_image("amd64", "same");
    let arm = || platform_image("arm64", "same");
    let a = index(dir.path(), "a", vec![amd(), arm()]);
    let b = index(dir.path(), "b", vec![arm(), amd()]);
    let (code, report) = compare(&[], &a, &b);
    // Only the index blob itself differs (its manifest list is in another order): nothing below it.
    let shown = report.shown();
    assert!(
        shown
            .iter()
            .all(|p| p.aspect == "digest" && p.context == "/"),
        "{}",
        show(&shown)
    );
    assert!(code == 0 || code == 1);
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 0, "{}", show(&report.shown()));
    let mut platforms = manifest_platforms(&report);
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
}

#[test]
fn platform_option_restricts_the_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let a = index(
        dir.path(),
        "a",
        vec![
            platform_image("amd64", "one"),
            platform_image("arm64", "same"),
        ],
    );
    let b = index(
        dir.path(),
        "b",
        vec![
            platform_image("amd64", "two"),
            platform_image("arm64", "same"),
        ],
    );
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 1);
    assert_eq!(report.shown_files(), ["etc/content".to_owned()].into());
    let (code, report) = compare(&["--semantic", "--platform", "linux/arm64"], &a, &b);
    assert_eq!(code, 0, "{}", show(&report.shown()));
    assert_eq!(manifest_platforms(&report), ["linux/arm64"]);
    let (code, report) = compare(&["--semantic", "--platform", "linux/amd64"], &a, &b);
    assert_eq!(code, 1);
    assert_eq!(manifest_platforms(&report), ["linux/amd64"]);
    assert_eq!(report.shown_files(), ["etc/content".to_owned()].into());
}

#[test]
fn a_platform_on_one_side_only_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let a = index(
        dir.path(),
        "a",
        vec![
            platform_image("amd64", "same"),
            platform_image("arm64", "same"),
        ],
    );
    let b = index(dir.path(), "b", vec![platform_image("amd64", "same")]);
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 1, "a missing platform is a difference");
    // One row for the one-sided platform (the index digest restates it).
    let rows: Vec<&Value> = report.0["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["shown"] == true)
        .filter(|d| d["aspects"] != json!(["digest"]))
        .collect();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let d = rows[0];
    assert_eq!(d["kind"], "Idx", "{d:#}");
    assert_eq!(d["key"], "platform linux/arm64", "{d:#}");
    assert_eq!(d["aspects"], json!(["presence"]), "{d:#}");
    assert_eq!(
        d["deltas"][0]["values"],
        json!(["linux/arm64", null]),
        "{d:#}"
    );
    // Reversed, the other side lacks it.
    let (code, report) = compare(&["--semantic"], &b, &a);
    assert_eq!(code, 1);
    let values: Vec<&Value> = report.0["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["shown"] == true && d["aspects"] == json!(["presence"]))
        .map(|d| &d["deltas"][0]["values"])
        .collect();
    assert_eq!(values, [&json!([null, "linux/arm64"])]);
    // Restricted to the shared platform, they are equal.
    let (code, _) = compare(&["--semantic", "--platform", "linux/amd64"], &a, &b);
    assert_eq!(code, 0);
}

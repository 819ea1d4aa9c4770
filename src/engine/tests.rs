//! Engine tests on images built in memory.

use serde_json::json;

use super::Options;
use super::testing::{MemorySource, image, index, run, tar_at};
use crate::filter::{Filter, IgnoreOption, Presentation, View};
use crate::model::{DiffKind, Report, Sides, SkipReason};
use crate::oci::media_type::*;

fn shown(report: &Report, options: &[IgnoreOption], view: View) -> Vec<String> {
    let filter = Filter::new(options, &[]).unwrap();
    Presentation::new(report, &filter, view)
        .shown()
        .iter()
        .map(|s| {
            let fields: Vec<&str> = s.deltas.iter().map(|d| d.field.as_str()).collect();
            format!(
                "{} {} {}",
                s.difference.kind.label(),
                s.difference.key,
                fields.join(",")
            )
        })
        .collect()
}

fn single(
    layers: &[(Vec<u8>, &str)],
    config: serde_json::Value,
) -> (MemorySource, crate::oci::Descriptor) {
    let mut source = MemorySource::default();
    let root = image(&mut source, layers, config);
    (source, root)
}

#[test]
fn a_rebuild_that_differs_only_in_timestamps_is_equal_under_semantic() {
    let files: &[(&str, &[u8])] = &[("etc/os-release", b"debian"), ("bin/sh", b"ELF")];
    let a = single(
        &[(tar_at(files, 1), OCI_LAYER_GZIP)],
        json!({"created": "2023-01-01T00:00:00Z"}),
    );
    let b = single(
        &[(tar_at(files, 2), OCI_LAYER_GZIP)],
        json!({"created": "2024-01-01T00:00:00Z"}),
    );
    let report = run(Sides::new(a, b), &Options::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let strict = shown(&report, &[], View::PerLayer);
    assert!(
        strict.contains(&"File bin/sh mtime".to_string()),
        "{strict:?}"
    );
    assert!(
        strict.contains(&"Cfg config created,rootfs.diff_ids[0]".to_string()),
        "{strict:?}"
    );
    assert!(
        strict.iter().any(|s| s.starts_with("Desc layer digest")),
        "{strict:?}"
    );
    assert_eq!(
        shown(&report, &IgnoreOption::SEMANTIC, View::PerLayer),
        Vec::<String>::new()
    );
    // Ignoring file times alone still shows the image time, and the digests that it explains.
    let files_only = shown(&report, &[IgnoreOption::FileTimestamps], View::PerLayer);
    assert!(
        files_only
            .iter()
            .any(|s| s.starts_with("Cfg config created")),
        "{files_only:?}"
    );
    assert!(
        !files_only.iter().any(|s| s.starts_with("File")),
        "{files_only:?}"
    );
}

#[test]
fn gzip_vs_zstd_of_the_same_layer_is_not_read_and_equal_under_semantic() {
    let tar = tar_at(&[("a", b"1")], 1);
    let a = single(&[(tar.clone(), OCI_LAYER_GZIP)], json!({}));
    let b = single(&[(tar, OCI_LAYER_ZSTD)], json!({}));
    let report = run(Sides::new(a, b), &Options::default());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].1, SkipReason::EqualDiffId);
    assert_eq!(
        report.progress.layers_total, 0,
        "no layer should have been read"
    );
    let strict = shown(&report, &[], View::PerLayer);
    assert!(
        strict
            .iter()
            .any(|s| s == "Desc layer mediaType,digest,size"),
        "{strict:?}"
    );
    assert_eq!(
        shown(&report, &IgnoreOption::SEMANTIC, View::PerLayer),
        Vec::<String>::new()
    );
    assert_eq!(
        shown(&report, &[IgnoreOption::MediaTypes], View::PerLayer),
        Vec::<String>::new()
    );
}

#[test]
fn different_layer_counts_compare_the_merged_filesystems() {
    let base = tar_at(&[("etc/a", b"1"), ("etc/b", b"2")], 1);
    let a = single(
        &[
            (base.clone(), OCI_LAYER_GZIP),
            (tar_at(&[("app", b"v1")], 1), OCI_LAYER_GZIP),
        ],
        json!({}),
    );
    let b = single(
        &[
            (base, OCI_LAYER_GZIP),
            (tar_at(&[("app", b"v1")], 1), OCI_LAYER_GZIP),
            (tar_at(&[("etc/.wh.b", b"")], 1), OCI_LAYER_GZIP),
        ],
        json!({}),
    );
    let report = run(Sides::new(a, b), &Options::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let auto: Vec<String> = shown(&report, &IgnoreOption::SEMANTIC, View::Auto)
        .into_iter()
        .filter(|s| s.starts_with("File"))
        .collect();
    assert_eq!(auto, ["File etc/b presence"]);
    let per_layer = shown(&report, &IgnoreOption::SEMANTIC, View::PerLayer);
    assert!(
        per_layer.contains(&"File etc/.wh.b presence".to_string()),
        "{per_layer:?}"
    );
}

#[test]
fn index_manifests_pair_by_platform_not_position() {
    let mut sa = MemorySource::default();
    let amd = image(
        &mut sa,
        &[(tar_at(&[("x", b"amd")], 1), OCI_LAYER_GZIP)],
        json!({}),
    );
    let arm = image(
        &mut sa,
        &[(tar_at(&[("x", b"arm")], 1), OCI_LAYER_GZIP)],
        json!({"architecture": "arm64", "os": "linux"}),
    );
    let ia = index(
        &mut sa,
        &[(amd.clone(), "linux/amd64"), (arm.clone(), "linux/arm64")],
    );
    let mut sb = MemorySource::default();
    let amd_b = image(
        &mut sb,
        &[(tar_at(&[("x", b"amd")], 1), OCI_LAYER_GZIP)],
        json!({}),
    );
    let arm_b = image(
        &mut sb,
        &[(tar_at(&[("x", b"arm2")], 1), OCI_LAYER_GZIP)],
        json!({"architecture": "arm64", "os": "linux"}),
    );
    let s390 = image(
        &mut sb,
        &[(tar_at(&[("x", b"s390")], 1), OCI_LAYER_GZIP)],
        json!({"architecture": "s390x", "os": "linux"}),
    );
    let ib = index(
        &mut sb,
        &[
            (s390, "linux/s390x"),
            (arm_b, "linux/arm64"),
            (amd_b, "linux/amd64"),
        ],
    );
    let report = run(Sides::new((sa, ia), (sb, ib)), &Options::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let files: Vec<(String, String)> = report
        .differences
        .iter()
        .filter(|d| d.kind == DiffKind::File && report.in_layer_view(d.context))
        .map(|d| {
            (
                report.ancestry(d.context).nth(1).unwrap().label.clone(),
                d.key.clone(),
            )
        })
        .collect();
    assert_eq!(files, [("linux/arm64".to_string(), "x".to_string())]);
    let platforms = shown(&report, &[], View::PerLayer);
    assert!(
        platforms.contains(&"Idx platform linux/s390x platform".to_string()),
        "{platforms:?}"
    );

    let only_amd = Options {
        platforms: vec![crate::oci::Platform::parse("linux/amd64").unwrap()],
        ..Options::default()
    };
    let mut sa = MemorySource::default();
    let a1 = image(
        &mut sa,
        &[(tar_at(&[("x", b"amd")], 1), OCI_LAYER_GZIP)],
        json!({}),
    );
    let ia = index(&mut sa, &[(a1, "linux/amd64")]);
    let mut sb = MemorySource::default();
    let b1 = image(
        &mut sb,
        &[(tar_at(&[("x", b"amd")], 2), OCI_LAYER_GZIP)],
        json!({}),
    );
    let ib = index(&mut sb, &[(b1, "linux/amd64")]);
    let report = run(Sides::new((sa, ia), (sb, ib)), &only_amd);
    assert!(shown(&report, &[], View::PerLayer).contains(&"File x mtime".to_string()));
}

#[test]
fn a_corrupt_layer_is_one_error_naming_input_and_blob_and_the_rest_is_compared() {
    let good = tar_at(&[("ok", b"1")], 1);
    let a = single(
        &[
            (good.clone(), OCI_LAYER_GZIP),
            (tar_at(&[("f", b"1")], 1), OCI_LAYER_GZIP),
        ],
        json!({}),
    );
    let (mut source_b, _) = single(&[], json!({}));
    let root_b = image(
        &mut source_b,
        &[
            (tar_at(&[("ok", b"2")], 1), OCI_LAYER_GZIP),
            (tar_at(&[("f", b"2")], 1), OCI_LAYER_GZIP),
        ],
        json!({}),
    );
    // Corrupt the second layer of input 1: same digest key, different bytes.
    let manifest: crate::oci::Manifest = {
        use crate::source::BlobSource;
        let mut r = source_b.open(&root_b.digest).unwrap();
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut s).unwrap();
        serde_json::from_slice(&s).unwrap()
    };
    let bad = &manifest.layers[1];
    source_b.blobs_insert_for_test(&bad.digest, vec![0x1f, 0x8b, 0, 0]);
    let report = run(Sides::new(a, (source_b, root_b)), &Options::default());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let message = &report.errors[0];
    assert!(
        message.starts_with("input 1 (memory): layer sha256:"),
        "{message}"
    );
    assert!(message.contains("/layers-1"), "{message}");
    assert!(!message.contains('\n'));
    let files = shown(&report, &[], View::PerLayer);
    assert!(
        files.contains(&"File ok content,size".to_string())
            || files.contains(&"File ok content".to_string()),
        "{files:?}"
    );
}

#[test]
fn identical_images_produce_nothing_and_read_nothing() {
    let tar = tar_at(&[("a", b"1")], 1);
    let a = single(&[(tar.clone(), OCI_LAYER_GZIP)], json!({}));
    let b = single(&[(tar, OCI_LAYER_GZIP)], json!({}));
    let report = run(Sides::new(a, b), &Options::default());
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    assert!(report.finished);
    assert_eq!(report.progress.bytes_done, 0);
}

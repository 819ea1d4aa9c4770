//! Engine tests on images built in memory.

use serde_json::json;

use super::testing::{MemorySource, image, index, run, tar_at};
use super::{MergedView, Options};
use crate::filter::{Filter, IgnoreOption, Presentation, View};
use crate::model::{DiffKind, LayerProof, Report, Sides};
use crate::oci::media_type::*;

fn shown(report: &Report, options: &[IgnoreOption], view: View) -> Vec<String> {
    let filter = Filter::new(options, &[]).unwrap();
    Presentation::new(report, &filter, view)
        .shown()
        .iter()
        .map(|s| {
            let deltas = s.deltas();
            let fields: Vec<&str> = deltas.iter().map(|d| d.field.as_ref()).collect();
            format!(
                "{} {} {}",
                s.difference.kind.label(),
                s.difference.key(),
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
fn gzip_vs_zstd_of_the_same_layer_is_verified_equal_without_listing_entries() {
    let tar = tar_at(&[("a", b"1")], 1);
    let a = single(&[(tar.clone(), OCI_LAYER_GZIP)], json!({}));
    let b = single(&[(tar, OCI_LAYER_ZSTD)], json!({}));
    let report = run(Sides::new(a, b), &Options::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.equal_layers.len(), 1);
    assert_eq!(report.equal_layers[0].1, LayerProof::ContentVerified);
    assert_eq!(report.progress.layers_total, 2, "both blobs are read");
    assert!(
        report.layer_entries.is_empty(),
        "no entries are compared: {:?}",
        report.layer_entries
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

/// An image whose config repeats the good image's diff_id over a layer that is something else.
fn lying(layer: Vec<u8>, good_tar: &[u8]) -> (MemorySource, crate::oci::Descriptor) {
    let mut source = MemorySource::default();
    let root = image(&mut source, &[(layer, OCI_LAYER_GZIP)], json!({}));
    let manifest = read_manifest(&source, &root);
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [crate::oci::Digest::sha256_of(good_tar)]},
    });
    let config = source.add(OCI_CONFIG, serde_json::to_vec(&config).unwrap());
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": manifest.layers,
    });
    let root = source.add(OCI_MANIFEST, serde_json::to_vec(&manifest).unwrap());
    (source, root)
}

fn read_manifest(source: &MemorySource, root: &crate::oci::Descriptor) -> crate::oci::Manifest {
    use crate::source::BlobSource;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut source.open(&root.digest).unwrap(), &mut bytes).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn a_layer_behind_an_equal_diff_id_is_read_and_a_lie_is_an_error() {
    let good = tar_at(&[("etc/a", b"1")], 1);
    let more = tar_at(&[("etc/a", b"1"), ("etc/backdoor", b"x")], 1);
    for merged in [MergedView::Never, MergedView::Always] {
        let options = Options {
            merged,
            ..Options::default()
        };
        let a = single(&[(good.clone(), OCI_LAYER_ZSTD)], json!({}));
        let report = run(Sides::new(a, lying(more.clone(), &good)), &options);
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        let message = &report.errors[0];
        let expected = crate::oci::Digest::sha256_of(&good);
        let actual = crate::oci::Digest::sha256_of(&more);
        assert!(
            message.starts_with("input 1 (memory): layer sha256:")
                && message.contains(&format!("diff_id {expected} (got {actual})")),
            "{message}"
        );
        assert!(report.equal_layers.is_empty(), "{:?}", report.equal_layers);
    }
}

#[test]
fn the_merged_view_takes_a_proven_layer_from_one_side() {
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
            (base, OCI_LAYER_ZSTD),
            (tar_at(&[("app", b"v2")], 1), OCI_LAYER_GZIP),
        ],
        json!({}),
    );
    let options = Options {
        merged: MergedView::Always,
        ..Options::default()
    };
    let report = run(Sides::new(a, b), &options);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        report
            .equal_layers
            .iter()
            .map(|(_, p)| *p)
            .collect::<Vec<_>>(),
        [LayerProof::ContentVerified]
    );
    let merged: Vec<String> = shown(&report, &IgnoreOption::SEMANTIC, View::Merged)
        .into_iter()
        .filter(|s| s.starts_with("File"))
        .collect();
    assert_eq!(merged, ["File app content"]);
}

#[test]
fn identical_images_still_need_every_blob() {
    let tar = tar_at(&[("a", b"1")], 1);
    let a = single(&[(tar.clone(), OCI_LAYER_GZIP)], json!({}));
    let (mut source_b, root_b) = single(&[(tar, OCI_LAYER_GZIP)], json!({}));
    let layer = read_manifest(&source_b, &root_b).layers[0].clone();
    source_b.remove(&layer.digest);
    let report = run(Sides::new(a, (source_b, root_b)), &Options::default());
    assert_eq!(
        report.errors,
        [format!(
            "input 1 (memory): layer {0} at /layers-0: blob {0} is missing",
            layer.digest
        )]
    );
    assert_eq!(report.progress.layers_total, 0, "nothing is read");
}

#[test]
fn an_equal_layer_of_differing_images_must_be_there_with_its_size() {
    let base = tar_at(&[("a", b"1")], 1);
    let a = single(
        &[
            (base.clone(), OCI_LAYER_GZIP),
            (tar_at(&[("b", b"1")], 1), OCI_LAYER_GZIP),
        ],
        json!({}),
    );
    let (mut source_b, root_b) = single(
        &[
            (base, OCI_LAYER_GZIP),
            (tar_at(&[("b", b"2")], 1), OCI_LAYER_GZIP),
        ],
        json!({}),
    );
    let layer = read_manifest(&source_b, &root_b).layers[0].clone();
    source_b.blobs_insert_for_test(&layer.digest, vec![0x1f, 0x8b]);
    let per_layer = Options {
        merged: MergedView::Never,
        ..Options::default()
    };
    let report = run(Sides::new(a, (source_b, root_b)), &per_layer);
    assert_eq!(
        report.errors,
        [format!(
            "input 1 (memory): layer {} at /layers-0: size mismatch: expected {} bytes, got 2",
            layer.digest, layer.size
        )]
    );
    assert_eq!(
        report.progress.layers_total, 2,
        "only the differing pair is read"
    );
}

#[test]
fn verify_reads_both_copies_of_an_equal_blob() {
    let tar = tar_at(&[("a", b"1")], 1);
    let a = single(&[(tar.clone(), OCI_LAYER_GZIP)], json!({}));
    let (mut source_b, root_b) = single(&[(tar, OCI_LAYER_GZIP)], json!({}));
    let layer = read_manifest(&source_b, &root_b).layers[0].clone();
    let mut corrupt = crate::engine::testing::gzip(&tar_at(&[("a", b"2")], 1));
    corrupt.resize(layer.size as usize, 0);
    source_b.blobs_insert_for_test(&layer.digest, corrupt);
    let b = (source_b, root_b);

    let unverified = run(Sides::new(a.clone(), b.clone()), &Options::default());
    assert!(
        unverified.errors.is_empty(),
        "only the size is checked, and it is right: {:?}",
        unverified.errors
    );
    let verify = Options {
        verify: true,
        ..Options::default()
    };
    let verified = run(Sides::new(a, b), &verify);
    assert_eq!(verified.errors.len(), 1, "{:?}", verified.errors);
    let expected = format!(
        "input 1 (memory): layer {} at /layers-0: digest mismatch",
        layer.digest
    );
    assert!(
        verified.errors[0].starts_with(&expected),
        "{}",
        verified.errors[0]
    );
    assert_eq!(verified.progress.layers_total, 2, "both copies are read");
}

#[test]
fn a_config_with_fewer_diff_ids_than_layers_is_an_error() {
    let a = single(&[(tar_at(&[("a", b"1")], 1), OCI_LAYER_GZIP)], json!({}));
    let (mut source, root) = single(&[(tar_at(&[("a", b"2")], 1), OCI_LAYER_GZIP)], json!({}));
    let mut manifest = read_manifest(&source, &root);
    let extra = source.add(
        OCI_LAYER_GZIP,
        crate::engine::testing::gzip(&tar_at(&[("b", b"1")], 1)),
    );
    manifest.layers.push(extra);
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": manifest.config, "layers": manifest.layers,
    });
    let root = source.add(OCI_MANIFEST, serde_json::to_vec(&manifest).unwrap());
    let report = run(Sides::new(a, (source, root)), &Options::default());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0].starts_with("input 1 (memory): config sha256:")
            && report.errors[0]
                .ends_with("at /config: lists 1 diff_ids for the manifest's 2 layers"),
        "{}",
        report.errors[0]
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
                d.key().to_owned(),
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

/// An index of an amd64 image, an arm64 image and a BuildKit attestation for the amd64 one, in one
/// source; returns the source, the index and the digests of the arm64 manifest, the attestation's
/// layer and the amd64 layer.
fn index_with_attestation() -> (
    MemorySource,
    crate::oci::Descriptor,
    [crate::oci::Digest; 3],
) {
    use crate::oci::annotation;
    let mut source = MemorySource::default();
    let amd = image(
        &mut source,
        &[(tar_at(&[("x", b"amd")], 1), OCI_LAYER_GZIP)],
        json!({}),
    );
    let arm = image(
        &mut source,
        &[(tar_at(&[("x", b"arm")], 1), OCI_LAYER_GZIP)],
        json!({"architecture": "arm64", "os": "linux"}),
    );
    let statement = source.add(
        "application/vnd.in-toto+json",
        b"{\"_type\": \"x\"}".to_vec(),
    );
    let config = json!({"architecture": "unknown", "os": "unknown",
        "rootfs": {"type": "layers", "diff_ids": [statement.digest]}});
    let config = source.add(OCI_CONFIG, serde_json::to_vec(&config).unwrap());
    let attestation = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": config, "layers": [statement]});
    let attestation = source.add(OCI_MANIFEST, serde_json::to_vec(&attestation).unwrap());
    let entry = |desc: &crate::oci::Descriptor, platform: &str| {
        let mut entry = serde_json::to_value(desc).unwrap();
        let (os, architecture) = platform.split_once('/').unwrap();
        entry["platform"] = json!({"os": os, "architecture": architecture});
        entry
    };
    let mut attestation_entry = entry(&attestation, "unknown/unknown");
    attestation_entry["annotations"] = json!({
        annotation::DOCKER_REFERENCE_TYPE: annotation::ATTESTATION_MANIFEST,
        annotation::DOCKER_REFERENCE_DIGEST: amd.digest.to_string(),
    });
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        entry(&amd, "linux/amd64"), entry(&arm, "linux/arm64"), attestation_entry]});
    let index = source.add(OCI_INDEX, serde_json::to_vec(&index).unwrap());
    let amd_layer = read_manifest(&source, &amd).layers[0].digest.clone();
    (source, index, [arm.digest, statement.digest, amd_layer])
}

#[test]
fn an_identical_index_checks_what_each_input_holds() {
    let (full, index, [arm_manifest, statement, amd_layer]) = index_with_attestation();
    // An export of one platform: no arm64 manifest, no attestation statement.
    let mut export = full.clone();
    export.remove(&arm_manifest);
    export.remove(&statement);
    for verify in [false, true] {
        let options = Options {
            verify,
            ..Options::default()
        };
        let report = run(
            Sides::new(
                (full.clone(), index.clone()),
                (export.clone(), index.clone()),
            ),
            &options,
        );
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
        assert!(
            report.warnings[0].contains("platform linux/arm64: not in input 1 (memory)"),
            "{:?}",
            report.warnings
        );
        assert!(
            report.warnings[1].contains(&format!("layer {statement} at /manifests-2/layers-0")),
            "{:?}",
            report.warnings
        );
    }
    let mut broken = export.clone();
    broken.remove(&amd_layer);
    let report = run(
        Sides::new((full, index.clone()), (broken, index)),
        &Options::default(),
    );
    assert_eq!(
        report.errors,
        [format!(
            "input 1 (memory): layer {amd_layer} at /manifests-0/layers-0: blob {amd_layer} is missing"
        )]
    );
}

#[test]
fn platforms_left_out_by_platform_are_not_checked() {
    let (full, index, [_, _, amd_layer]) = index_with_attestation();
    let mut broken = full.clone();
    broken.remove(&amd_layer);
    let arm_only = Options {
        platforms: vec![crate::oci::Platform::parse("linux/arm64").unwrap()],
        ..Options::default()
    };
    let report = run(
        Sides::new((full, index.clone()), (broken, index)),
        &arm_only,
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

/// A source that, like a registry, cannot tell what it holds without reading; counts the blobs opened.
struct Remote {
    blobs: MemorySource,
    opened: std::sync::atomic::AtomicUsize,
}

impl crate::source::BlobSource for Remote {
    fn open(
        &self,
        digest: &crate::oci::Digest,
    ) -> Result<Box<dyn std::io::Read + Send>, crate::source::SourceError> {
        self.opened
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.blobs.open(digest)
    }

    fn stat(
        &self,
        _digest: &crate::oci::Digest,
    ) -> Result<Option<u64>, crate::source::SourceError> {
        Ok(None)
    }
}

#[test]
fn identical_remote_images_are_not_downloaded_unless_verify() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let (blobs, root) = single(&[(tar_at(&[("a", b"1")], 1), OCI_LAYER_GZIP)], json!({}));
    for (verify, opened) in [(false, 0), (true, 3)] {
        let remote = Arc::new(Remote {
            blobs: blobs.clone(),
            opened: Default::default(),
        });
        let images = Sides::from_fn(|_| crate::source::Image {
            spec: "remote".into(),
            source: remote.clone(),
            root: root.clone(),
        });
        let options = Options {
            verify,
            ..Options::default()
        };
        let report = std::sync::Mutex::new(Report::default());
        let sink = |event| {
            report.lock().unwrap().apply(event);
        };
        crate::engine::compare(&images, &options, &sink);
        let report = report.into_inner().unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        // With --verify, each side reads its manifest, config and layer.
        assert_eq!(
            remote.opened.load(Ordering::Relaxed),
            2 * opened,
            "verify: {verify}"
        );
    }
}

#[test]
fn a_bounded_backlog_hands_over_every_event_a_slow_caller_takes() {
    use std::sync::Arc;
    let files: Vec<(String, Vec<u8>)> =
        (0..200).map(|i| (format!("f{i}"), vec![b'x'; i])).collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (n.as_str(), &c[..])).collect();
    let images = Arc::new(
        Sides::new(
            single(&[(tar_at(&files, 1), OCI_LAYER_GZIP)], json!({})),
            single(&[(tar_at(&files, 2), OCI_LAYER_GZIP)], json!({})),
        )
        .map(|(source, root)| crate::source::Image {
            spec: "memory".into(),
            source: Arc::new(source),
            root,
        }),
    );
    let collect = |backlog| {
        let mut report = Report::default();
        for event in super::spawn(Arc::clone(&images), Options::default(), backlog) {
            // Slower than the engine: with room for two events, it waits for the caller.
            std::thread::sleep(std::time::Duration::from_micros(200));
            report.apply(event);
        }
        report
    };
    let bounded = collect(super::Backlog::Bounded(2));
    let unbounded = collect(super::Backlog::Unbounded);
    assert!(
        bounded.finished && bounded.errors.is_empty(),
        "{:?}",
        bounded.errors
    );
    let keys = |r: &Report| {
        r.differences
            .iter()
            .map(|d| d.key.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&bounded), keys(&unbounded));
    assert!(
        keys(&bounded).len() > 200,
        "every file's mtime: {:?}",
        keys(&bounded)
    );
}

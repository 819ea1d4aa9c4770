//! What is not a plain image: OCI artifacts (SBOMs, attestations, Helm charts), layers that are not
//! tars or that the image does not hold (foreign layers), indexes of which an archive holds only some
//! platforms (`ctr export --platform`), two platforms compared with each other, compression details
//! in annotations (zstd:chunked, eStargz), and manifests of a schema this does not read.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use ocidiff::fixture::{
    FileTree, ImageBuilder, IndexBuilder, LayerBuilder, LayerCompression, gzip,
};
use ocidiff::oci::{Descriptor, Digest, annotation, media_type};
use serde_json::{Value, json};
use support::{
    Pair, Report, Run, compare, error_free_report, is_derived, path_str, run_json, show,
};

// ---------------------------------------------------------------------------------------------------
// Fixtures

fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: Digest::sha256_of(bytes),
        size: bytes.len() as u64,
        urls: None,
        annotations: BTreeMap::new(),
        platform: None,
        artifact_type: None,
    }
}

/// An OCI 1.1 artifact: an `artifactType`, a config (the empty descriptor unless set) and blobs.
#[derive(Clone)]
struct Artifact {
    artifact_type: String,
    config: (String, Vec<u8>),
    layers: Vec<(String, Vec<u8>)>,
    subject: Option<Descriptor>,
}

impl Artifact {
    fn new(artifact_type: &str) -> Artifact {
        Artifact {
            artifact_type: artifact_type.to_owned(),
            config: (media_type::OCI_EMPTY.to_owned(), b"{}".to_vec()),
            layers: Vec::new(),
            subject: None,
        }
    }

    fn config(mut self, media_type: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.config = (media_type.to_owned(), bytes.into());
        self
    }

    fn layer(mut self, media_type: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.layers.push((media_type.to_owned(), bytes.into()));
        self
    }

    fn subject(mut self, subject: Descriptor) -> Self {
        self.subject = Some(subject);
        self
    }

    /// The manifest's descriptor and every blob.
    fn build(&self) -> (Descriptor, Vec<(Digest, Vec<u8>)>) {
        let config = descriptor(&self.config.0, &self.config.1);
        let mut blobs = vec![(config.digest.clone(), self.config.1.clone())];
        let mut layers = Vec::new();
        for (media_type, bytes) in &self.layers {
            let layer = descriptor(media_type, bytes);
            blobs.push((layer.digest.clone(), bytes.clone()));
            layers.push(layer);
        }
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_MANIFEST,
            "artifactType": self.artifact_type,
            "config": config,
            "layers": layers,
        });
        if let Some(subject) = &self.subject {
            manifest["subject"] = json!(subject);
        }
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let desc = descriptor(media_type::OCI_MANIFEST, &bytes);
        blobs.push((desc.digest.clone(), bytes));
        (desc, blobs)
    }
}

/// An OCI layout whose index.json lists `entries`, holding `blobs`.
fn layout_files(entries: &[Descriptor], blobs: &[(Digest, Vec<u8>)]) -> FileTree {
    let mut tree = FileTree::new();
    tree.insert_file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec());
    for (digest, bytes) in blobs {
        tree.insert_file(&blob_path(digest), bytes.clone());
    }
    let index =
        json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": entries});
    tree.insert_file("index.json", serde_json::to_vec(&index).unwrap());
    tree
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

fn write_dir(dir: &Path, name: &str, tree: &FileTree) -> String {
    let path = dir.join(name);
    tree.write_dir(&path).unwrap();
    path_str(&path)
}

fn write_artifact(dir: &Path, name: &str, artifact: &Artifact) -> String {
    let (manifest, blobs) = artifact.build();
    write_dir(dir, name, &layout_files(&[manifest], &blobs))
}

/// Rewrites the manifest of a single-image layout written by `ImageBuilder` (its index.json lists it).
fn edit_manifest(layout: &str, edit: impl FnOnce(&mut Value)) {
    let dir = Path::new(layout);
    let index_path = dir.join("index.json");
    let mut index: Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let entry = &mut index["manifests"][0];
    let digest: Digest = entry["digest"].as_str().unwrap().parse().unwrap();
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join(blob_path(&digest))).unwrap()).unwrap();
    edit(&mut manifest);
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let new = Digest::sha256_of(&bytes);
    std::fs::write(dir.join(blob_path(&new)), &bytes).unwrap();
    entry["digest"] = json!(new);
    entry["size"] = json!(bytes.len());
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

fn spdx(version: &str, created: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "spdxVersion": "SPDX-2.3",
        "name": "app",
        "creationInfo": {"created": created, "creators": ["Tool: test"]},
        "packages": [
            {"name": "openssl", "versionInfo": version},
            {"name": "zlib", "versionInfo": "1.3"},
        ],
    }))
    .unwrap()
}

fn deltas_of(report: &Report, kind: &str) -> Vec<Value> {
    report.0["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == kind)
        .flat_map(|d| d["deltas"].as_array().unwrap().clone())
        .collect()
}

fn warnings(report: &Report) -> Vec<String> {
    report.0["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect()
}

fn error_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("ocidiff-tui: ") && !l.starts_with("ocidiff-tui: warning:"))
        .collect()
}

/// Exit 2, one error line holding every needle, no panic.
fn assert_error(run: &Run, needles: &[&str]) {
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let errors = error_lines(run);
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    for needle in needles {
        assert!(errors[0].contains(needle), "{needle:?} in {}", errors[0]);
    }
}

// ---------------------------------------------------------------------------------------------------
// Artifacts and blob layers

#[test]
fn two_sboms_that_differ_are_compared_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let sbom = |version: &str, created: &str| {
        Artifact::new("application/spdx+json")
            .layer("application/spdx+json", spdx(version, created))
    };
    let a = write_artifact(dir.path(), "a", &sbom("3.0.1", "2024-01-01T00:00:00Z"));
    let b = write_artifact(dir.path(), "b", &sbom("3.0.2", "2024-02-02T00:00:00Z"));
    let (code, report) = compare(&[], &a, &b);
    assert_eq!(code, 1);
    let fields: Vec<(String, String)> = deltas_of(&report, "Layer")
        .iter()
        .map(|d| {
            (
                d["field"].as_str().unwrap().into(),
                d["aspect"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("creationInfo.created".to_owned(), "image-time".to_owned()),
            ("packages[0].versionInfo".to_owned(), "content".to_owned()),
        ]
    );
    let layer = report.0["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "/layers-0")
        .unwrap();
    assert_eq!(layer["kind"], json!({"type": "blob", "index": 0}));
    // The creation time is an image time: --semantic shows the package alone.
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 1);
    let primary: Vec<Pair> = report
        .shown()
        .into_iter()
        .filter(|p| !is_derived(&p.aspect))
        .collect();
    assert_eq!(
        primary,
        [Pair::new(
            "/layers-0",
            "layer",
            "packages[0].versionInfo",
            "content"
        )],
        "{}",
        show(&report.shown())
    );
    // Only the time differs: equal under --semantic.
    let c = write_artifact(dir.path(), "c", &sbom("3.0.1", "2025-03-03T00:00:00Z"));
    let (code, report) = compare(&["--semantic"], &a, &c);
    assert_eq!(code, 0, "{}", show(&report.shown()));
}

/// Blob layers are in no file view: a blob more on one side is shown whatever the view (layer counts
/// that differ make `auto` the merged view, which blobs do not enter).
#[test]
fn a_blob_layer_more_is_shown_in_every_view() {
    let dir = tempfile::tempdir().unwrap();
    let one = Artifact::new("application/spdx+json").layer("application/spdx+json", spdx("1", "t"));
    let two = one
        .clone()
        .layer("application/vnd.example.sig", "signature");
    let a = write_artifact(dir.path(), "a", &one);
    let b = write_artifact(dir.path(), "b", &two);
    for view in ["auto", "merged", "per-layer"] {
        let (code, report) = compare(&["--semantic", "--view", view], &a, &b);
        assert_eq!(code, 1, "{view}");
        let shown = report.shown();
        assert!(
            shown.contains(&Pair::new("/layers-1", "layer", "layer", "presence")),
            "{view}: {}",
            show(&shown)
        );
    }
}

#[test]
fn in_toto_attestation_artifacts_compare_statement_and_subject() {
    let dir = tempfile::tempdir().unwrap();
    let statement = |digest: &str| {
        serde_json::to_vec(&json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app", "digest": {"sha256": digest}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"runDetails": {"metadata": {"startedOn": digest}}},
        }))
        .unwrap()
    };
    let attestation = |image: &str| {
        let subject = descriptor(media_type::OCI_MANIFEST, image.as_bytes());
        Artifact::new("application/vnd.in-toto+json")
            .layer("application/vnd.in-toto+json", statement(image))
            .subject(subject)
    };
    let a = write_artifact(dir.path(), "a", &attestation("one"));
    let b = write_artifact(dir.path(), "b", &attestation("three"));
    let (code, report) = compare(&[], &a, &b);
    assert_eq!(code, 1);
    let all = report.all();
    for expected in [
        Pair::new("/layers-0", "layer", "subject[0].digest.sha256", "content"),
        Pair::new(
            "/layers-0",
            "layer",
            "predicate.runDetails.metadata.startedOn",
            "image-time",
        ),
        Pair::new("/", "manifest", "subject.digest", "digest"),
        Pair::new("/", "manifest", "subject.size", "digest"),
    ] {
        assert!(all.contains(&expected), "{expected:?} in\n{}", show(&all));
    }
}

#[test]
fn text_payloads_are_compared_line_by_line_and_binary_ones_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = |text: &str, binary: &[u8]| {
        Artifact::new("application/vnd.example.bundle")
            .layer("text/spdx", text)
            .layer("application/octet-stream", binary)
    };
    let a = write_artifact(
        dir.path(),
        "a",
        &artifact("SPDXVersion: SPDX-2.3\nPackageName: a\n", &[0, 1, 2]),
    );
    let b = write_artifact(
        dir.path(),
        "b",
        &artifact("SPDXVersion: SPDX-2.3\nPackageName: b\n", &[0, 1, 3]),
    );
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 1);
    let deltas = deltas_of(&report, "Layer");
    assert_eq!(deltas.len(), 2, "{deltas:#?}");
    assert_eq!(deltas[0]["field"], "lines[1]");
    assert_eq!(
        deltas[0]["values"],
        json!(["PackageName: a", "PackageName: b"])
    );
    assert_eq!(deltas[1]["field"], "content");
    assert_eq!(deltas[1]["aspect"], "content");
    assert_eq!(
        deltas[1]["values"],
        json!([Digest::sha256_of(&[0, 1, 2]), Digest::sha256_of(&[0, 1, 3])])
    );
    assert!(
        deltas.iter().all(|d| d["shown"] == true),
        "--semantic hides no content"
    );
}

#[test]
fn a_json_payload_over_the_limit_is_compared_by_digest_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let big = |n: u32| {
        let items: Vec<u32> = (0..20_000).map(|i| i + n).collect();
        serde_json::to_vec(&json!({"items": items})).unwrap()
    };
    let artifact =
        |n| Artifact::new("application/vnd.example+json").layer("application/json", big(n));
    let a = write_artifact(dir.path(), "a", &artifact(0));
    let b = write_artifact(dir.path(), "b", &artifact(1));
    // 16 MiB × 0.004 = 67 kB: the manifests fit, the ~110 kB payloads do not.
    let run = run_json(&["--max-scale", "0.004"], &a, &b);
    let report = error_free_report(&run, &"big payloads");
    assert_eq!(run.code, 1);
    let deltas = deltas_of(&report, "Layer");
    assert_eq!(deltas.len(), 1, "{deltas:#?}");
    assert_eq!(deltas[0]["field"], "content");
    assert!(
        warnings(&report)
            .iter()
            .any(|w| w.contains("/layers-0") && w.contains("compared by digest only")),
        "{:?}",
        warnings(&report)
    );
}

#[test]
fn a_helm_chart_is_read_as_a_tar_and_its_config_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let chart = |version: &str, replicas: &str| {
        let tar = LayerBuilder::new()
            .dir("app/")
            .file("app/Chart.yaml", format!("name: app\nversion: {version}\n"))
            .file("app/values.yaml", format!("replicas: {replicas}\n"))
            .build();
        Artifact::new("application/vnd.cncf.helm.config.v1+json")
            .config(
                "application/vnd.cncf.helm.config.v1+json",
                serde_json::to_vec(&json!({"name": "app", "version": version, "apiVersion": "v2"}))
                    .unwrap(),
            )
            .layer(
                "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                gzip(&tar),
            )
    };
    let a = write_artifact(dir.path(), "a", &chart("1.0.0", "1"));
    let b = write_artifact(dir.path(), "b", &chart("1.0.1", "2"));
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 1);
    assert_eq!(
        report.shown_files(),
        ["app/Chart.yaml".to_owned(), "app/values.yaml".to_owned()].into()
    );
    assert!(
        report
            .shown()
            .contains(&Pair::new("/config", "config", "version", "config")),
        "{}",
        show(&report.shown())
    );
}

#[test]
fn a_layer_typed_application_tar_gzip_is_read_as_a_layer() {
    let dir = tempfile::tempdir().unwrap();
    let image = |content: &str| {
        let tar = LayerBuilder::new().file("etc/motd", content).build();
        let diff_id = Digest::sha256_of(&tar);
        ImageBuilder::new().raw_layer(gzip(&tar), "application/tar+gzip", diff_id)
    };
    let a = support_layout(dir.path(), "a", &image("one\n"));
    let b = support_layout(dir.path(), "b", &image("two\n"));
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 1);
    assert_eq!(report.shown_files(), ["etc/motd".to_owned()].into());
}

fn support_layout(dir: &Path, name: &str, image: &ImageBuilder) -> String {
    let path = dir.join(name);
    image.write_oci_layout(&path, None).unwrap();
    path_str(&path)
}

#[test]
fn an_artifact_config_that_is_not_an_image_config_is_compared_as_a_blob() {
    let dir = tempfile::tempdir().unwrap();
    // Not an object: parsing it as an image config would fail.
    let artifact = |config: &str| {
        Artifact::new("application/vnd.example")
            .config("application/vnd.example.config.v1+json", config)
            .layer("application/vnd.example.data", "same")
    };
    let a = write_artifact(dir.path(), "a", &artifact(r#"["x", 1]"#));
    let b = write_artifact(dir.path(), "b", &artifact(r#"["x", 2]"#));
    let (code, report) = compare(&[], &a, &b);
    assert_eq!(code, 1);
    assert!(
        report
            .all()
            .contains(&Pair::new("/config", "config", "[1]", "config")),
        "{}",
        show(&report.all())
    );
    let label = report.0["contexts"][1]["label"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(label, "artifact application/vnd.example");
}

// ---------------------------------------------------------------------------------------------------
// Foreign layers

fn windows_like(base: &[u8], app: &str, hold_base: bool) -> ImageBuilder {
    let diff_id = Digest::sha256_of(base);
    let image = ImageBuilder::new()
        .raw_layer(gzip(base), media_type::DOCKER_FOREIGN_LAYER, diff_id)
        .layer(
            LayerBuilder::new().file("app/version", app).build(),
            LayerCompression::Gzip,
        );
    if hold_base {
        image
    } else {
        image.fault(ocidiff::fixture::Fault::OmitLayer(0))
    }
}

#[test]
fn a_foreign_layer_the_image_does_not_hold_is_compared_by_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let base = |n: &str| LayerBuilder::new().file("Windows/System32/n", n).build();
    let a = support_layout(dir.path(), "a", &windows_like(&base("1"), "1\n", false));
    let b = support_layout(dir.path(), "b", &windows_like(&base("2"), "2\n", false));
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 1);
    assert_eq!(report.shown_files(), ["app/version".to_owned()].into());
    let content = Pair::new("/layers-0", "layer", "content", "content");
    assert!(
        report.shown().contains(&content),
        "{}",
        show(&report.shown())
    );
    let notes: Vec<String> = warnings(&report)
        .into_iter()
        .filter(|w| w.contains("foreign layer") && w.contains("compared by descriptor"))
        .collect();
    assert_eq!(notes.len(), 2, "{:?}", warnings(&report));
    // The same foreign layer on both sides: no difference, and nothing read.
    let c = support_layout(dir.path(), "c", &windows_like(&base("1"), "2\n", false));
    let (code, report) = compare(&["--semantic"], &a, &c);
    assert_eq!(code, 1);
    assert_eq!(report.shown_files(), ["app/version".to_owned()].into());
    assert!(
        !report.all().iter().any(|p| p.context == "/layers-0"),
        "{}",
        show(&report.all())
    );
}

#[test]
fn a_foreign_layer_the_image_holds_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let base = |n: &str| LayerBuilder::new().file("Windows/System32/n", n).build();
    let a = support_layout(dir.path(), "a", &windows_like(&base("1"), "1\n", true));
    let b = support_layout(dir.path(), "b", &windows_like(&base("2"), "1\n", true));
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 1);
    assert_eq!(
        report.shown_files(),
        ["Windows/System32/n".to_owned()].into()
    );
    assert!(warnings(&report).is_empty(), "{:?}", warnings(&report));
}

// ---------------------------------------------------------------------------------------------------
// Indexes an archive holds only some platforms of (`ctr export --platform`)

fn platform_image(os_arch: (&str, Option<&str>), content: &str) -> ImageBuilder {
    ImageBuilder::new()
        .platform("linux", os_arch.0, os_arch.1)
        .layer(
            LayerBuilder::new().file("etc/content", content).build(),
            LayerCompression::Gzip,
        )
}

const AMD64: (&str, Option<&str>) = ("amd64", None);
const ARM64: (&str, Option<&str>) = ("arm64", None);
const ARMV7: (&str, Option<&str>) = ("arm", Some("v7"));

/// The blobs of one platform's image (manifest, config, layers).
fn blobs_of(image: &ImageBuilder) -> Vec<Digest> {
    image.build().blobs.into_iter().map(|(d, _)| d).collect()
}

/// An OCI archive of `index` (named, as `ctr export` writes it) without the blobs of `dropped`.
fn export_without(
    dir: &Path,
    name: &str,
    index: &IndexBuilder,
    dropped: &[&ImageBuilder],
) -> String {
    let mut files = index.oci_files(Some("docker.io/library/app:1"));
    for image in dropped {
        for digest in blobs_of(image) {
            files.remove(&blob_path(&digest));
        }
    }
    let path = dir.join(name);
    files.write_tar(&path).unwrap();
    path_str(&path)
}

#[test]
fn exports_of_different_platforms_of_one_index_are_not_equal() {
    let dir = tempfile::tempdir().unwrap();
    let (amd, arm) = (platform_image(AMD64, "x\n"), platform_image(ARM64, "y\n"));
    let index = IndexBuilder::new().image(amd.clone()).image(arm.clone());
    let amd_only = export_without(dir.path(), "amd.tar", &index, &[&arm]);
    let arm_only = export_without(dir.path(), "arm.tar", &index, &[&amd]);
    let run = run_json(&[], &amd_only, &arm_only);
    assert_error(
        &run,
        &[
            "no platform is in both inputs",
            "input 0",
            "holds linux/amd64",
            "holds linux/arm64",
        ],
    );
    // Against the whole index, the platform held is compared and the other is a warning.
    let whole = export_without(dir.path(), "all.tar", &index, &[]);
    let (code, report) = compare(&[], &amd_only, &whole);
    assert_eq!(code, 0, "{}", show(&report.all()));
    let warnings = warnings(&report);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("platform linux/arm64: not in input 0")
            && warnings[0].contains("amd.tar"),
        "{warnings:?}"
    );
    let summary = run_json(&[], &amd_only, &whole);
    assert!(
        summary.stderr.contains("warning: platform linux/arm64"),
        "{}",
        summary.stderr
    );
}

#[test]
fn a_requested_platform_an_archive_does_not_hold_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (amd, armv7) = (platform_image(AMD64, "x\n"), platform_image(ARMV7, "y\n"));
    let index = IndexBuilder::new().image(amd.clone()).image(armv7.clone());
    let amd_only = export_without(dir.path(), "amd.tar", &index, &[&armv7]);
    let whole = export_without(dir.path(), "all.tar", &index, &[]);
    let run = run_json(&["--platform", "linux/arm/v7"], &whole, &amd_only);
    assert_error(
        &run,
        &[
            "platform linux/arm/v7",
            "input 1",
            "amd.tar",
            "does not hold",
        ],
    );
    // A platform one index does not even list.
    let other = IndexBuilder::new().image(platform_image(AMD64, "z\n"));
    let listed_once = export_without(dir.path(), "other.tar", &other, &[]);
    let run = run_json(&["--platform", "linux/arm/v7"], &whole, &listed_once);
    assert_error(
        &run,
        &[
            "platform linux/arm/v7 is not in input 1",
            "other.tar",
            "linux/amd64",
        ],
    );
    // What both hold compares.
    let (code, _) = compare(&["--platform", "linux/amd64"], &whole, &amd_only);
    assert_eq!(code, 0);
}

#[test]
fn a_platform_whose_config_an_archive_lacks_is_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, arm: &ImageBuilder, drop_config: bool| {
        let index = IndexBuilder::new()
            .image(platform_image(AMD64, "same\n"))
            .image(arm.clone());
        let mut files = index.oci_files(None);
        if drop_config {
            files.remove(&blob_path(&arm.build().config.digest));
        }
        let path = dir.path().join(name);
        files.write_tar(&path).unwrap();
        path_str(&path)
    };
    let a = write("a.tar", &platform_image(ARM64, "one\n"), false);
    let b = write("b.tar", &platform_image(ARM64, "two\n"), true);
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 0, "{}", show(&report.shown()));
    let warnings = warnings(&report);
    assert!(
        warnings.iter().any(
            |w| w.starts_with("platform linux/arm64: not in this archive")
                && w.contains("config")
                && w.contains("b.tar")
        ),
        "{warnings:?}"
    );
    // Asked for, it is an error.
    let run = run_json(&["--platform", "linux/arm64"], &a, &b);
    assert_error(&run, &["input 1", "b.tar", "config", "missing"]);
}

/// An index with one image and its BuildKit attestation manifest (in-toto statements as layers).
fn attested(image: &ImageBuilder, statement: &str) -> (Descriptor, Vec<(Digest, Vec<u8>)>, Digest) {
    let built = image.build();
    let config = serde_json::to_vec(&json!({
        "architecture": "unknown", "os": "unknown", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(statement.as_bytes())]},
    }))
    .unwrap();
    let (attestation, mut blobs) = Artifact::new("application/vnd.in-toto+json")
        .config(media_type::OCI_CONFIG, config)
        .layer("application/vnd.in-toto+json", statement)
        .build();
    let statement_digest = Digest::sha256_of(statement.as_bytes());
    let mut attestation = attestation;
    attestation.platform = ocidiff::oci::Platform::parse("unknown/unknown");
    attestation.annotations.insert(
        annotation::DOCKER_REFERENCE_TYPE.into(),
        annotation::ATTESTATION_MANIFEST.into(),
    );
    attestation.annotations.insert(
        annotation::DOCKER_REFERENCE_DIGEST.into(),
        built.manifest.digest.to_string(),
    );
    blobs.extend(built.blobs);
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": [built.manifest, attestation],
    });
    let bytes = serde_json::to_vec(&index).unwrap();
    let root = descriptor(media_type::OCI_INDEX, &bytes);
    blobs.push((root.digest.clone(), bytes));
    (root, blobs, statement_digest)
}

#[test]
fn a_missing_attestation_blob_is_a_warning_and_the_comparison_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let statement =
        |n: u32| json!({"_type": "https://in-toto.io/Statement/v1", "n": n}).to_string();
    let (root_a, blobs_a, _) = attested(&platform_image(AMD64, "a\n"), &statement(1));
    let a = write_dir(dir.path(), "a", &layout_files(&[root_a], &blobs_a));
    let (root_b, blobs_b, missing) = attested(&platform_image(AMD64, "b\n"), &statement(2));
    let mut files = layout_files(&[root_b], &blobs_b);
    files.remove(&blob_path(&missing));
    let b = write_dir(dir.path(), "b", &files);
    let (code, report) = compare(&[], &a, &b);
    assert_eq!(code, 1);
    assert_eq!(report.shown_files(), ["etc/content".to_owned()].into());
    let warnings = warnings(&report);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&missing.to_string()) && w.contains("missing")),
        "{warnings:?}"
    );
    // Both attestation blobs held: their statements are compared.
    let (root_c, blobs_c, _) = attested(&platform_image(AMD64, "b\n"), &statement(2));
    let c = write_dir(dir.path(), "c", &layout_files(&[root_c], &blobs_c));
    let (_, report) = compare(&[], &a, &c);
    let attestation = report.0["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"]["type"] == "attestation")
        .map(|c| c["path"].as_str().unwrap().to_owned())
        .unwrap();
    let layer = format!("{attestation}/layers-0");
    assert!(
        report
            .all()
            .contains(&Pair::new(&layer, "layer", "n", "content")),
        "{}",
        show(&report.all())
    );
}

// ---------------------------------------------------------------------------------------------------
// Two platforms compared with each other

#[test]
fn platform0_and_platform1_compare_two_platforms_of_one_index() {
    let dir = tempfile::tempdir().unwrap();
    let index = IndexBuilder::new()
        .image(platform_image(AMD64, "x\n"))
        .image(platform_image(ARM64, "y\n"));
    let path = dir.path().join("multi");
    index.write_oci_layout(&path, None).unwrap();
    let img = path_str(&path);
    let flags = ["--platform0", "linux/amd64", "--platform1", "linux/arm64"];
    let (code, report) = compare(&flags, &img, &img);
    assert_eq!(code, 1);
    let shown = report.shown();
    assert!(
        shown.contains(&Pair::new(
            "/manifests-0",
            "platform",
            "platform",
            "platform"
        )),
        "{}",
        show(&shown)
    );
    assert!(
        shown.contains(&Pair::new(
            "/manifests-0/config",
            "config",
            "architecture",
            "platform"
        )),
        "{}",
        show(&shown)
    );
    assert_eq!(report.shown_files(), ["etc/content".to_owned()].into());
    let labels: Vec<&str> = report.0["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"]["type"] == "manifest")
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["linux/amd64 vs linux/arm64"]);
    // With two inputs: a single-platform image against one platform of the index.
    let single = support_layout(dir.path(), "single", &platform_image(AMD64, "y\n"));
    let (code, report) = compare(
        &["--platform0", "linux/amd64", "--platform1", "linux/arm64"],
        &single,
        &img,
    );
    assert_eq!(code, 1);
    assert!(
        report.shown_files().is_empty(),
        "same content: {}",
        show(&report.shown())
    );
    // An input without the platform asked of it.
    let run = run_json(
        &["--platform0", "linux/amd64", "--platform1", "linux/s390x"],
        &img,
        &img,
    );
    assert_error(&run, &["platform linux/s390x is not in input 1"]);
}

// ---------------------------------------------------------------------------------------------------
// Compression details and schema versions

#[test]
fn zstd_chunked_annotations_are_encoding_hidden_by_semantic() {
    let dir = tempfile::tempdir().unwrap();
    let tar = LayerBuilder::new().file("etc/motd", "hello\n").build();
    let a = support_layout(
        dir.path(),
        "gzip",
        &ImageBuilder::new().layer(tar.clone(), LayerCompression::Gzip),
    );
    let b = support_layout(
        dir.path(),
        "chunked",
        &ImageBuilder::new().layer(tar, LayerCompression::Zstd),
    );
    edit_manifest(&b, |manifest| {
        manifest["layers"][0]["annotations"] = json!({
            "io.github.containers.zstd-chunked.manifest-checksum": "sha256:0123",
            "io.github.containers.zstd-chunked.manifest-position": "10:20:30:1",
            "io.containers.zstd-chunked.manifest-checksum": "sha256:0123",
            "containerd.io/snapshot/stargz/toc.digest": "sha256:4567",
            "io.containers.estargz.uncompressed-size": "2048",
        });
    });
    let (code, report) = compare(&["--semantic"], &a, &b);
    assert_eq!(code, 0, "{}", show(&report.shown()));
    let annotations: Vec<Pair> = report
        .all()
        .into_iter()
        .filter(|p| p.field.starts_with("annotations"))
        .collect();
    assert_eq!(annotations.len(), 5, "{annotations:?}");
    assert!(
        annotations.iter().all(|p| p.aspect == "media-type"),
        "{annotations:?}"
    );
    let (code, _) = compare(&[], &a, &b);
    assert_eq!(code, 1);
}

/// skopeo's own zstd:chunked (its `io.containers.zstd-chunked.*` annotations) against the gzip original.
#[test]
fn skopeo_zstd_chunked_equals_gzip_under_semantic() {
    if !support::have_program("skopeo") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs this test: needs skopeo"
        );
        eprintln!("skipping: needs skopeo");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tar = LayerBuilder::new()
        .dir("etc/")
        .file("etc/motd", "hello\n".repeat(100))
        .build();
    let gzip = support_layout(
        dir.path(),
        "gzip",
        &ImageBuilder::new().layer(tar, LayerCompression::Gzip),
    );
    let chunked = path_str(&dir.path().join("chunked"));
    let out = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--dest-compress",
            "--dest-compress-format",
            "zstd:chunked",
        ])
        .arg(format!("oci:{gzip}"))
        .arg(format!("oci:{chunked}:x"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, report) = compare(&["--semantic"], &gzip, &format!("oci:{chunked}:x"));
    assert_eq!(code, 0, "{}", show(&report.shown()));
    assert!(
        report
            .all()
            .iter()
            .any(|p| p.field.contains("zstd-chunked") && p.aspect == "media-type"),
        "{}",
        show(&report.all())
    );
}

#[test]
fn a_manifest_of_an_unknown_schema_version_is_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let good = support_layout(dir.path(), "good", &ImageBuilder::new());
    let three = support_layout(dir.path(), "three", &ImageBuilder::new());
    edit_manifest(&three, |manifest| manifest["schemaVersion"] = json!(3));
    let run = run_json(&[], &good, &three);
    assert_error(
        &run,
        &[
            "input 1",
            "three",
            "manifest sha256:",
            "unsupported schemaVersion 3",
        ],
    );
    assert!(!run.stderr.contains("JSON"), "{}", run.stderr);
    // Valid JSON without what a manifest has is not called invalid JSON either.
    let headless = support_layout(dir.path(), "headless", &ImageBuilder::new());
    edit_manifest(&headless, |manifest| {
        manifest.as_object_mut().unwrap().remove("config");
    });
    let run = run_json(&[], &good, &headless);
    assert_error(
        &run,
        &["input 1", "unexpected content", "missing field `config`"],
    );
    assert!(!run.stderr.contains("JSON"), "{}", run.stderr);
    // Docker schema 1, as a registry of old served it.
    let v1 = json!({
        "schemaVersion": 1, "name": "library/app", "tag": "1", "architecture": "amd64",
        "fsLayers": [{"blobSum": Digest::sha256_of(b"")}], "history": [{"v1Compatibility": "{}"}],
    });
    let bytes = serde_json::to_vec(&v1).unwrap();
    let desc = descriptor(media_type::DOCKER_MANIFEST_V1_SIGNED, &bytes);
    let old = write_dir(
        dir.path(),
        "old",
        &layout_files(std::slice::from_ref(&desc), &[(desc.digest.clone(), bytes)]),
    );
    let run = run_json(&[], &old, &good);
    assert_error(
        &run,
        &["input 0", "Docker schema 1 manifests are not supported"],
    );
}

#[test]
fn an_image_whose_media_type_nothing_reads_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = support_layout(dir.path(), "good", &ImageBuilder::new());
    let strange = descriptor("application/vnd.example.thing", b"{}");
    let bad = write_dir(
        dir.path(),
        "bad",
        &layout_files(
            std::slice::from_ref(&strange),
            &[(strange.digest.clone(), b"{}".to_vec())],
        ),
    );
    let run = run_json(&[], &good, &bad);
    assert_error(
        &run,
        &[
            "input 1",
            "unsupported media type",
            "application/vnd.example.thing",
        ],
    );
}

// ---------------------------------------------------------------------------------------------------
// A real `ctr export --platform`

/// A containerd of its own (1.6 here, like tests/engines.rs), stopped by PID and its directory
/// removed when dropped. `None` (the test is skipped) without root or containerd, except under `CI`.
struct Containerd {
    root: std::path::PathBuf,
    child: std::process::Child,
}

impl Containerd {
    fn start() -> Option<Containerd> {
        use std::process::{Command, Stdio};
        let root_user = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let missing = if !root_user {
            Some("needs root")
        } else if !support::have_program("containerd") || !support::have_program("ctr") {
            Some("needs containerd and ctr")
        } else {
            None
        };
        if let Some(why) = missing {
            assert!(std::env::var_os("CI").is_none(), "CI runs this test: {why}");
            eprintln!("skipping: {why}");
            return None;
        }
        // Short: the socket path (plus ".ttrpc") must stay under 104 bytes.
        let root = tempfile::Builder::new()
            .prefix("oca")
            .tempdir_in("/var/tmp")
            .unwrap()
            .keep();
        let config = format!(
            "version = 2\nroot = \"{r}/root\"\nstate = \"{r}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.snapshotter.v1.aufs\", \
             \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.devmapper\", \
             \"io.containerd.snapshotter.v1.zfs\"]\n\
             [grpc]\n  address = \"{r}/c.sock\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{r}/opt\"\n",
            r = root.display()
        );
        std::fs::write(root.join("c.toml"), config).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(root.join("c.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let containerd = Containerd { root, child };
        let started = std::time::Instant::now();
        while !containerd.ctr(&["version"]).status.success() {
            assert!(started.elapsed().as_secs() < 10, "containerd did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(containerd)
    }

    fn ctr(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("ctr")
            .arg("--address")
            .arg(self.root.join("c.sock"))
            .args(["--namespace", "ocidiff-test"])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn ctr_exports_of_one_platform_each() {
    let Some(containerd) = Containerd::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let index = IndexBuilder::new()
        .image(platform_image(AMD64, "x\n"))
        .image(platform_image(ARM64, "y\n"));
    let whole = dir.path().join("whole.tar");
    index
        .write_oci_archive(&whole, Some("example.org/app:1"))
        .unwrap();
    let whole = path_str(&whole);
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(containerd.ctr(&["images", "import", "--all-platforms", "--no-unpack", &whole]));
    let export = |platform: &str, name: &str| {
        let path = path_str(&dir.path().join(name));
        ok(containerd.ctr(&[
            "images",
            "export",
            "--platform",
            platform,
            &path,
            "example.org/app:1",
        ]));
        path
    };
    let amd = export("linux/amd64", "amd.tar");
    let arm = export("linux/arm64", "arm.tar");
    assert_error(
        &run_json(&[], &amd, &arm),
        &[
            "no platform is in both inputs",
            "holds linux/amd64",
            "holds linux/arm64",
        ],
    );
    let (code, report) = compare(&["--ignore-image-name"], &amd, &whole);
    assert_eq!(code, 0, "{}", show(&report.shown()));
    assert!(
        warnings(&report)
            .iter()
            .any(|w| w.contains("platform linux/arm64: not in input 0")),
        "{:?}",
        warnings(&report)
    );
    assert_error(
        &run_json(&["--platform", "linux/arm64"], &amd, &whole),
        &["platform linux/arm64 is not in input 0", "amd.tar"],
    );
    let flags = ["--platform0", "linux/amd64", "--platform1", "linux/arm64"];
    let (code, report) = compare(&flags, &amd, &arm);
    assert_eq!(code, 1);
    assert_eq!(report.shown_files(), ["etc/content".to_owned()].into());
}

//! `docker save` archives. Docker 25+ writes an OCI layout (plus `manifest.json`); older Docker, skopeo
//! and Podman write only `manifest.json`, a config `<hex>.json` and layer tars, with no image manifest
//! at all. For those, a Docker schema 2 manifest is synthesized so the engine sees the same model as
//! for any other image.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::archive::{TarBlobs, TarFile, blob_member, io_error, not_an_image};
use super::layout::{check_schema_version, familiar};
use super::{ArchiveCompression, MemoryBlobs, SourceError};
use crate::oci::{Descriptor, Digest, ImageConfig, Manifest, annotation, media_type};

/// One image of `manifest.json`, decoded as `docker load` decodes it (see [`go_fields`]).
#[derive(Debug, Clone)]
pub(crate) struct SavedImage {
    pub config: String,
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

impl SavedImage {
    fn tags(&self) -> impl Iterator<Item = &str> {
        self.repo_tags.iter().flatten().map(String::as_str)
    }
}

impl<'de> Deserialize<'de> for SavedImage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let members = deserializer.deserialize_map(KeyValues)?;
        fn field<T: serde::de::DeserializeOwned, E: serde::de::Error>(
            members: &[(String, Value)],
            name: &str,
        ) -> Result<Option<T>, E> {
            let value = go_fields(members, name).cloned().unwrap_or(Value::Null);
            serde_json::from_value(value).map_err(|e| E::custom(format_args!("{name}: {e}")))
        }
        Ok(SavedImage {
            config: field(&members, "Config")?.unwrap_or_default(),
            repo_tags: field(&members, "RepoTags")?,
            layers: field(&members, "Layers")?.unwrap_or_default(),
        })
    }
}

/// A JSON object's members in the order written, duplicates kept.
struct KeyValues;

impl<'de> serde::de::Visitor<'de> for KeyValues {
    type Value = Vec<(String, Value)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Value>()? {
            members.push(member);
        }
        Ok(members)
    }
}

/// The value Go's encoding/json decodes into the struct field `name` (ASCII): every key that
/// matches it, exactly or case-insensitively, overwrites the field, so the last one counts. Jib
/// writes `config`, `repoTags` and `layers`, which `docker load` reads this way.
fn go_fields<'a>(members: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    members
        .iter()
        .rev()
        .find(|(key, _)| go_name_matches(key, name))
        .map(|(_, value)| value)
}

/// Go's case folding of a key against an ASCII field name: ASCII letters either case, plus the two
/// non-ASCII letters that fold to ASCII ones (ſ to s, the Kelvin sign to k).
fn go_name_matches(key: &str, name: &str) -> bool {
    let folds_to = |c: char, ascii: char| {
        c.eq_ignore_ascii_case(&ascii)
            || (c == '\u{17f}' && ascii.eq_ignore_ascii_case(&'s'))
            || (c == '\u{212a}' && ascii.eq_ignore_ascii_case(&'k'))
    };
    key.chars().count() == name.len() && key.chars().zip(name.chars()).all(|(c, n)| folds_to(c, n))
}

/// Reads and parses `manifest.json`; `Ok(None)` if the archive has none.
pub(crate) fn read_manifest_json(tar: &TarFile) -> Result<Option<Vec<SavedImage>>, SourceError> {
    let Some(bytes) = tar.read_member("manifest.json")? else {
        return Ok(None);
    };
    let path = tar.path();
    let images = match serde_json::from_slice::<Option<Vec<SavedImage>>>(&bytes) {
        Ok(images) => images.unwrap_or_default(),
        Err(cause) => {
            check_schema_version(path, "manifest.json", &bytes)?;
            return Err(SourceError::BadJson {
                path: path.to_owned(),
                what: "manifest.json".into(),
                cause,
            });
        }
    };
    if images.iter().any(|image| image.config.is_empty()) {
        return Err(not_an_image(
            path,
            "manifest.json lists an image without a Config",
        ));
    }
    Ok(Some(images))
}

/// Picks the image tagged `repo_tag` (exactly, or by familiar name), or the only image.
pub(crate) fn select_saved<'a>(
    path: &Path,
    images: &'a [SavedImage],
    repo_tag: Option<&str>,
) -> Result<(&'a SavedImage, Option<String>), SourceError> {
    let all_tags = || {
        images
            .iter()
            .flat_map(SavedImage::tags)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (repo_tag, images) {
        (_, []) => Err(not_an_image(path, "manifest.json lists no images")),
        (None, [only]) => Ok((only, only.tags().next().map(str::to_owned))),
        (None, several) => Err(SourceError::Ambiguous {
            path: path.to_owned(),
            count: several.len(),
            hint: super::naming_hint(super::InputKind::DockerArchive, path, "REPO:TAG"),
            available: super::layout::or_none(all_tags()),
        }),
        (Some(wanted), _) => {
            let exact = images.iter().find(|i| i.tags().any(|t| t == wanted));
            let loose = || {
                images
                    .iter()
                    .find(|i| i.tags().any(|t| familiar(t) == familiar(wanted)))
            };
            let image = exact
                .or_else(loose)
                .ok_or_else(|| SourceError::NoSuchReference {
                    path: path.to_owned(),
                    reference: wanted.to_owned(),
                    available: super::layout::or_none(all_tags()),
                })?;
            let tag = image
                .tags()
                .find(|t| familiar(t) == familiar(wanted))
                .unwrap_or(wanted);
            Ok((image, Some(tag.to_owned())))
        }
    }
}

/// In a Docker 25+ archive, finds the index.json entry for the image `manifest.json` describes: the
/// entry whose manifest (or one of whose platform manifests) has that image's config.
pub(crate) fn entry_for_saved(
    tar: &TarFile,
    entries: &[Descriptor],
    saved: &SavedImage,
) -> Result<Option<Descriptor>, SourceError> {
    let Some(config_digest) = digest_from_member_name(&saved.config) else {
        return Ok(None);
    };
    for entry in entries {
        if has_config(tar, entry, &config_digest, 1)? {
            return Ok(Some(entry.clone()));
        }
    }
    Ok(None)
}

/// Whether `descriptor` is a manifest with that config, or an index holding one (`depth` levels down).
fn has_config(
    tar: &TarFile,
    descriptor: &Descriptor,
    config: &Digest,
    depth: u32,
) -> Result<bool, SourceError> {
    let Some(bytes) = tar.read_member(&blob_member(&descriptor.digest))? else {
        return Ok(false);
    };
    match descriptor.kind() {
        crate::oci::BlobKind::Manifest => Ok(
            serde_json::from_slice::<Manifest>(&bytes).is_ok_and(|m| m.config.digest == *config)
        ),
        crate::oci::BlobKind::Index if depth > 0 => {
            let Ok(index) = serde_json::from_slice::<crate::oci::Index>(&bytes) else {
                return Ok(false);
            };
            for child in &index.manifests {
                if has_config(tar, child, config, depth - 1)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        _ => Ok(false),
    }
}

/// `blobs/sha256/<hex>` → the digest.
fn digest_from_member_name(name: &str) -> Option<Digest> {
    let normalized = super::archive::normalize(name.as_bytes())?;
    let hex = normalized.strip_prefix("blobs/sha256/")?;
    format!("sha256:{hex}").parse().ok()
}

/// A legacy archive opened as an image: the synthesized manifest served from memory, the config and
/// layers from their members.
pub(crate) fn open_legacy(
    tar: Arc<TarFile>,
    saved: &SavedImage,
    repo_tag: Option<String>,
) -> Result<(Arc<dyn super::BlobSource>, Descriptor), SourceError> {
    let path = tar.path().to_owned();
    let config_bytes = tar.read_member(&saved.config)?.ok_or_else(|| {
        not_an_image(
            &path,
            &format!(
                "manifest.json names config {} which is not in the archive",
                saved.config
            ),
        )
    })?;
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|cause| SourceError::BadJson {
            path: path.clone(),
            what: format!("config {}", saved.config),
            cause,
        })?;
    let config_descriptor = plain_descriptor(
        media_type::DOCKER_CONFIG,
        Digest::sha256_of(&config_bytes),
        config_bytes.len() as u64,
    );
    let mut renamed = HashMap::from([(config_descriptor.digest.clone(), saved.config.clone())]);
    let mut layers = Vec::with_capacity(saved.layers.len());
    for (position, member) in saved.layers.iter().enumerate() {
        let layer = legacy_layer(&tar, member, config.rootfs.diff_ids.get(position))?;
        renamed.insert(layer.digest.clone(), member.clone());
        layers.push(layer);
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::DOCKER_MANIFEST,
        "config": config_descriptor,
        "layers": layers,
    });
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| io_error(&path, e.into()))?;
    let mut root = plain_descriptor(
        media_type::DOCKER_MANIFEST,
        Digest::sha256_of(&manifest_bytes),
        manifest_bytes.len() as u64,
    );
    root.platform = Some(config.platform());
    if let Some(tag) = repo_tag {
        root.annotations
            .insert(annotation::CONTAINERD_IMAGE_NAME.into(), tag);
    }
    let blobs = TarBlobs { tar, renamed };
    let source = MemoryBlobs::new(Arc::new(blobs), [(root.digest.clone(), manifest_bytes)]);
    Ok((Arc::new(source), root))
}

/// The descriptor of one legacy layer member. An uncompressed member is the diff itself, so its digest
/// is the config's diff_id (the engine verifies it while reading); a compressed one is hashed here.
fn legacy_layer(
    tar: &TarFile,
    member: &str,
    diff_id: Option<&Digest>,
) -> Result<Descriptor, SourceError> {
    let path = tar.path();
    let missing = || {
        not_an_image(
            path,
            &format!("manifest.json names layer {member} which is not in the archive"),
        )
    };
    let extent = tar.extent(member)?.ok_or_else(missing)?;
    let magic = tar.member_magic(member)?.ok_or_else(missing)?;
    let media = match ArchiveCompression::sniff(&magic) {
        None => {
            let diff_id = diff_id.ok_or_else(|| {
                not_an_image(
                    path,
                    &format!("the config has no diff_id for layer {member}"),
                )
            })?;
            return Ok(plain_descriptor(
                media_type::DOCKER_LAYER_TAR,
                diff_id.clone(),
                extent.size,
            ));
        }
        Some(ArchiveCompression::Gzip) => media_type::DOCKER_LAYER_GZIP,
        Some(ArchiveCompression::Zstd) => media_type::DOCKER_LAYER_ZSTD,
        // `docker load` also takes xz and bzip2 layers; no image manifest can say so.
        Some(other) => {
            return Err(not_an_image(
                path,
                &format!(
                    "layer {member} is {}-compressed; layers are read when plain, gzip or zstd",
                    other.name()
                ),
            ));
        }
    };
    let reader = tar.open_member(member)?.ok_or_else(missing)?;
    Ok(plain_descriptor(
        media,
        hash_reader(path, reader)?,
        extent.size,
    ))
}

fn hash_reader(path: &Path, mut reader: impl Read) -> Result<Digest, SourceError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = reader.read(&mut buffer).map_err(|e| io_error(path, e))?;
        let Some(chunk) = buffer.get(..read).filter(|c| !c.is_empty()) else {
            break;
        };
        hasher.update(chunk);
    }
    Ok(Digest::from_sha256(hasher.finalize().into()))
}

fn plain_descriptor(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest,
        size,
        urls: None,
        annotations: Default::default(),
        platform: None,
        artifact_type: None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use crate::fixture::{
        DockerStyle, Fault, ImageBuilder, LayerBuilder, LayerCompression, MediaTypes,
    };
    use crate::oci::{Digest, Manifest, annotation, media_type};
    use crate::source::{Image, SourceError, open_image};

    fn image(content: &str) -> ImageBuilder {
        let base = LayerBuilder::new()
            .dir("etc")
            .file("etc/motd", content)
            .build();
        let top = LayerBuilder::new().whiteout("etc/motd").build();
        ImageBuilder::new()
            .media_types(MediaTypes::Docker)
            .platform("linux", "arm", Some("v7"))
            .layer(base, LayerCompression::Gzip)
            .layer(top, LayerCompression::None)
    }

    fn read(image: &Image, digest: &Digest) -> Vec<u8> {
        let mut bytes = Vec::new();
        image
            .source
            .open(digest)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    }

    fn write(dir: &tempfile::TempDir, files: crate::fixture::FileTree) -> String {
        let file = dir.path().join("saved.tar");
        files.write_tar(&file).unwrap();
        file.display().to_string()
    }

    /// The synthesized manifest: config by content digest, layers by diff_id, served as a blob.
    fn check_synthesized(opened: &Image, built: &crate::fixture::BuiltImage) {
        assert_eq!(opened.root.media_type, media_type::DOCKER_MANIFEST);
        assert_eq!(opened.root.platform.as_ref().unwrap().key(), "linux/arm/v7");
        let manifest_bytes = read(opened, &opened.root.digest);
        assert_eq!(Digest::sha256_of(&manifest_bytes), opened.root.digest);
        assert_eq!(manifest_bytes.len() as u64, opened.root.size);
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes).unwrap();
        assert_eq!(manifest.config.digest, built.config.digest);
        assert_eq!(manifest.config.media_type, media_type::DOCKER_CONFIG);
        assert_eq!(read(opened, &manifest.config.digest), built.config_bytes);
        let layer_digests: Vec<&Digest> = manifest.layers.iter().map(|l| &l.digest).collect();
        assert_eq!(layer_digests, built.diff_ids.iter().collect::<Vec<_>>());
        for layer in &manifest.layers {
            assert_eq!(layer.media_type, media_type::DOCKER_LAYER_TAR);
            let bytes = read(opened, &layer.digest);
            assert_eq!(
                (Digest::sha256_of(&bytes), bytes.len() as u64),
                (layer.digest.clone(), layer.size)
            );
        }
    }

    #[test]
    fn legacy_archive_gets_a_synthesized_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let spec = write(
            &dir,
            image("a").docker_files(Some("testbed/a:latest"), DockerStyle::Legacy),
        );
        let opened = open_image(&format!("docker-archive:{spec}")).unwrap();
        check_synthesized(&opened, &image("a").build());
        assert_eq!(
            opened.root.annotations[annotation::CONTAINERD_IMAGE_NAME],
            "testbed/a:latest"
        );
    }

    #[test]
    fn podman_style_symlinked_layers_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let files =
            image("a").docker_files(Some("localhost/testbed/a:latest"), DockerStyle::Symlinked);
        assert!(
            files
                .get("manifest.json")
                .unwrap()
                .windows(10)
                .any(|w| w == b"/layer.tar")
        );
        let spec = write(&dir, files);
        let opened = open_image(&format!("docker-archive:{spec}:testbed/a:latest")).unwrap();
        check_synthesized(&opened, &image("a").build());
        assert_eq!(
            opened.root.annotations[annotation::CONTAINERD_IMAGE_NAME],
            "localhost/testbed/a:latest"
        );
    }

    #[test]
    fn compressed_legacy_member_is_hashed_and_typed_by_its_magic() {
        let dir = tempfile::tempdir().unwrap();
        let built = image("a").build();
        let mut files = image("a").docker_files(None, DockerStyle::Legacy);
        let manifest: serde_json::Value =
            serde_json::from_slice(files.get("manifest.json").unwrap()).unwrap();
        let first_layer = manifest[0]["Layers"][0].as_str().unwrap().to_owned();
        let gzipped = crate::fixture::gzip(files.get(&first_layer).unwrap());
        files.insert_file(&first_layer, gzipped.clone());
        let opened = open_image(&write(&dir, files)).unwrap();
        let manifest: Manifest =
            serde_json::from_slice(&read(&opened, &opened.root.digest)).unwrap();
        assert_eq!(manifest.layers[0].media_type, media_type::DOCKER_LAYER_GZIP);
        assert_eq!(manifest.layers[0].digest, Digest::sha256_of(&gzipped));
        assert_eq!(read(&opened, &manifest.layers[0].digest), gzipped);
        assert_eq!(manifest.layers[1].digest, built.diff_ids[1]);
    }

    #[test]
    fn a_layer_member_compressed_in_a_way_no_manifest_can_say_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = image("a").docker_files(None, DockerStyle::Legacy);
        let manifest: serde_json::Value =
            serde_json::from_slice(files.get("manifest.json").unwrap()).unwrap();
        let first_layer = manifest[0]["Layers"][0].as_str().unwrap().to_owned();
        let mut xz = Vec::new();
        liblzma::read::XzEncoder::new(files.get(&first_layer).unwrap(), 1)
            .read_to_end(&mut xz)
            .unwrap();
        files.insert_file(&first_layer, xz);
        let error = open_image(&write(&dir, files)).unwrap_err();
        assert!(
            error.to_string().ends_with(&format!(
                "layer {first_layer} is xz-compressed; layers are read when plain, gzip or zstd"
            )),
            "{error}"
        );
    }

    #[test]
    fn docker25_archive_is_selected_through_manifest_json() {
        let dir = tempfile::tempdir().unwrap();
        let built = image("a").build();
        let spec = write(
            &dir,
            image("a").docker_files(Some("testbed/a:latest"), DockerStyle::Docker25),
        );
        let opened = open_image(&format!("docker-archive:{spec}:testbed/a:latest")).unwrap();
        assert_eq!(opened.root.digest, built.manifest.digest);
        assert_eq!(
            opened.root.annotations[annotation::CONTAINERD_IMAGE_NAME],
            "docker.io/testbed/a:latest"
        );
        assert_eq!(read(&opened, &opened.root.digest), built.manifest_bytes);
        // As a bare path it is an OCI archive.
        assert_eq!(
            open_image(&spec).unwrap().root.digest,
            built.manifest.digest
        );
    }

    #[test]
    fn several_saved_images_need_a_repo_tag() {
        let dir = tempfile::tempdir().unwrap();
        let a = image("a").docker_files(Some("x/a:1"), DockerStyle::Legacy);
        let b = image("b").docker_files(Some("x/b:1"), DockerStyle::Legacy);
        let mut merged = a.clone();
        for name in b.names() {
            if let Some(bytes) = b.get(name) {
                merged.insert_file(name, bytes.to_vec());
            }
        }
        let entries = |t: &crate::fixture::FileTree| -> Vec<serde_json::Value> {
            serde_json::from_slice(t.get("manifest.json").unwrap()).unwrap()
        };
        let both: Vec<serde_json::Value> = entries(&a).into_iter().chain(entries(&b)).collect();
        merged.insert_file("manifest.json", serde_json::to_vec(&both).unwrap());
        let spec = write(&dir, merged);
        let error = open_image(&format!("docker-archive:{spec}")).unwrap_err();
        assert!(
            matches!(&error, SourceError::Ambiguous { count: 2, available, .. } if available == "x/a:1, x/b:1")
        );
        let b_opened = open_image(&format!("docker-archive:{spec}:x/b:1")).unwrap();
        let manifest: Manifest =
            serde_json::from_slice(&read(&b_opened, &b_opened.root.digest)).unwrap();
        assert_eq!(manifest.config.digest, image("b").build().config.digest);
        let error = open_image(&format!("docker-archive:{spec}:x/c:1")).unwrap_err();
        assert!(
            matches!(error, SourceError::NoSuchReference { .. }),
            "{error}"
        );
    }

    #[test]
    fn manifest_json_keys_match_as_go_matches_them() {
        let parse = |json: &str| -> Vec<super::SavedImage> { serde_json::from_str(json).unwrap() };
        let jib =
            parse(r#"[{"config": "config.json", "repoTags": ["app:1"], "layers": ["a.tar.gz"]}]"#);
        assert_eq!(jib[0].config, "config.json");
        assert_eq!(jib[0].repo_tags.as_deref(), Some(&["app:1".to_owned()][..]));
        assert_eq!(jib[0].layers, ["a.tar.gz"]);
        // The last key that matches wins, exact or not, duplicates included; ſ folds to s.
        let images = parse(
            r#"[{"Config": "a", "CONFIG": "b", "Layers": ["x"], "layerſ": ["y"], "Layers": null, "RepoTags": null}]"#,
        );
        assert_eq!(images[0].config, "b");
        assert!(images[0].layers.is_empty());
        assert_eq!(images[0].repo_tags, None);
        assert!(!super::go_name_matches("Configs", "Config"));
        assert!(!super::go_name_matches("Cönfig", "Config"));
        assert!(super::go_name_matches("REPOTAGS", "RepoTags"));
        // A null list of images is no image; a wrong type is still an error.
        let none: Option<Vec<super::SavedImage>> = serde_json::from_str("null").unwrap();
        assert!(none.is_none());
        let error =
            serde_json::from_str::<Vec<super::SavedImage>>(r#"[{"layers": 3}]"#).unwrap_err();
        assert!(
            error.to_string().contains("Layers: invalid type"),
            "{error}"
        );
    }

    #[test]
    fn garbage_manifest_json_is_bad_json() {
        let dir = tempfile::tempdir().unwrap();
        for garbage in [
            &b"{not json"[..],
            b"{\"Config\": \"x.json\"}",
            b"[{\"Layers\": 3}]",
        ] {
            let mut files = image("a").docker_files(None, DockerStyle::Legacy);
            files.insert_file("manifest.json", garbage.to_vec());
            let error = open_image(&write(&dir, files)).unwrap_err();
            assert!(
                matches!(&error, SourceError::BadJson { what, .. } if what == "manifest.json"),
                "{error}"
            );
        }
    }

    #[test]
    fn missing_members_and_bad_config_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing_layer = image("a")
            .fault(Fault::OmitLayer(1))
            .docker_files(None, DockerStyle::Legacy);
        let error = open_image(&write(&dir, missing_layer)).unwrap_err();
        assert!(
            error.to_string().contains("which is not in the archive"),
            "{error}"
        );
        let bad_config = image("a").fault(Fault::ConfigBytes(b"{oops".to_vec()));
        let error = open_image(&write(
            &dir,
            bad_config.docker_files(None, DockerStyle::Legacy),
        ))
        .unwrap_err();
        assert!(matches!(error, SourceError::BadJson { .. }), "{error}");
        let dangling = image("a").docker_files(None, DockerStyle::Symlinked);
        let mut dangling = dangling.clone();
        let stored: Vec<String> = dangling
            .names()
            .filter(|n| n.ends_with(".tar") && !n.contains('/'))
            .map(str::to_owned)
            .collect();
        dangling.remove(&stored[0]);
        let error = open_image(&write(&dir, dangling)).unwrap_err();
        assert!(matches!(error, SourceError::NotAnImage { .. }), "{error}");
    }
}

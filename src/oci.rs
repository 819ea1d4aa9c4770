//! OCI and Docker image data model: digests, descriptors, platforms, indexes, manifests and media types.
//!
//! Only what the comparison needs is typed; the full JSON of every blob is kept as `serde_json::Value`
//! so that field-by-field comparison sees every field, including ones this model does not name.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Media types the engine understands.
pub mod media_type {
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// The config of an artifact that needs none: the two bytes `{}`.
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker schema 1, unsupported: recognised so that it is said so.
    pub const DOCKER_MANIFEST_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
    pub const DOCKER_MANIFEST_V1_SIGNED: &str =
        "application/vnd.docker.distribution.manifest.v1+prettyjws";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
    pub const DOCKER_FOREIGN_LAYER: &str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}

/// What a descriptor points at, decided from its media type. This is the one place that decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    Index,
    Manifest,
    /// An image configuration (OCI or Docker); an artifact's config is a [`BlobKind::Blob`].
    Config,
    /// A tar stream, compressed or not: an image layer, a Helm chart, any `application/tar+gzip`.
    Layer(Compression),
    /// A foreign (non-distributable) tar layer: often absent from the image, its content being at its
    /// URLs.
    ForeignLayer(Compression),
    /// Anything else: an artifact's payload or config, an SBOM, an attestation, a signature, the empty
    /// descriptor. Compared as a blob, its content as JSON or text when it is that.
    Blob(Payload),
}

/// What a blob's media type says about its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// `application/json`, `…+json` (in-toto, SPDX and CycloneDX JSON, the empty descriptor).
    Json,
    /// `text/…`, XML, YAML.
    Text,
    /// Nothing said: JSON if its bytes are.
    Unknown,
}

impl Payload {
    fn of(media_type: &str) -> Payload {
        let m = media_type.to_ascii_lowercase();
        let m = m.split(';').next().unwrap_or("").trim();
        if m == "application/json" || m.ends_with("+json") {
            Payload::Json
        } else if m.starts_with("text/")
            || ["+xml", "+yaml", "/xml", "/yaml", "/x-yaml"]
                .iter()
                .any(|suffix| m.ends_with(suffix))
        {
            Payload::Text
        } else {
            Payload::Unknown
        }
    }
}

/// Compression of a layer blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Compression detected from the first bytes of a blob.
    pub fn sniff(magic: &[u8]) -> Option<Compression> {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

impl BlobKind {
    pub fn of(media_type: &str) -> BlobKind {
        use media_type::*;
        match media_type {
            OCI_INDEX | DOCKER_MANIFEST_LIST => BlobKind::Index,
            OCI_MANIFEST | DOCKER_MANIFEST | DOCKER_MANIFEST_V1 | DOCKER_MANIFEST_V1_SIGNED => {
                BlobKind::Manifest
            }
            OCI_CONFIG | DOCKER_CONFIG => BlobKind::Config,
            m => match tar_compression(m) {
                Some(c) if m.contains("nondistributable") || m.contains(".foreign.") => {
                    BlobKind::ForeignLayer(c)
                }
                Some(c) => BlobKind::Layer(c),
                None => BlobKind::Blob(Payload::of(m)),
            },
        }
    }

    /// How a tar stream of this kind is compressed, if it is a tar stream.
    pub fn tar_compression(self) -> Option<Compression> {
        match self {
            BlobKind::Layer(c) | BlobKind::ForeignLayer(c) => Some(c),
            _ => None,
        }
    }
}

/// The compression of a tar media type (`…tar`, `…tar+gzip`, `…tar.gzip`, `…tar+zstd`, `application/x-tar`),
/// or `None` if the media type is not a tar stream (`…tar+gzip+encrypted` is not one this can read).
fn tar_compression(media_type: &str) -> Option<Compression> {
    const SUFFIXES: [(&str, Compression); 5] = [
        ("+gzip", Compression::Gzip),
        (".gzip", Compression::Gzip),
        ("+zstd", Compression::Zstd),
        (".zstd", Compression::Zstd),
        ("", Compression::None),
    ];
    let m = media_type.to_ascii_lowercase();
    SUFFIXES.iter().find_map(|(suffix, compression)| {
        let base = m.strip_suffix(suffix)?;
        let tar = ["/tar", "/x-tar", ".tar", "+tar"]
            .iter()
            .any(|t| base.ends_with(t));
        tar.then_some(*compression)
    })
}

/// A content digest, validated: `sha256:` followed by 64 lowercase hex digits.
///
/// Validation matters beyond correctness: digests become file names (`blobs/sha256/<hex>`), so a digest
/// from an image must never be able to name anything but one file in the blob directory.
///
/// Kept as its 32 bytes (a layer of a million files holds a million of them); the text is written when
/// shown. Bytes order as their lowercase hex does.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    sha256: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid digest {0:?}: expected sha256:<64 lowercase hex digits>")]
pub struct InvalidDigest(pub String);

impl Digest {
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::from_sha256(Sha256::digest(bytes).into())
    }

    pub fn from_sha256(raw: [u8; 32]) -> Digest {
        Digest { sha256: raw }
    }

    pub fn algorithm(&self) -> &'static str {
        "sha256"
    }

    /// The 64 hex digits, without the algorithm prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// The 32 bytes of the digest.
    pub fn bytes(&self) -> [u8; 32] {
        self.sha256
    }
}

impl FromStr for Digest {
    type Err = InvalidDigest;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidDigest(s.to_owned());
        let hex = s.strip_prefix("sha256:").ok_or_else(invalid)?;
        // Uppercase digits decode too, but a digest is spelled one way only.
        if hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid());
        }
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(hex, &mut sha256).map_err(|_| invalid())?;
        Ok(Digest { sha256 })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 64];
        // 64 bytes of room for 32 bytes' hex: this cannot fail.
        let _ = hex::encode_to_slice(self.sha256, &mut text);
        f.write_str("sha256:")?;
        f.write_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Reads `null` as the empty value, as Go's encoding/json does: Docker, containerd and BuildKit are
/// written in Go, and write a nil slice or map as `null` (e.g. `"layers": null`).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An OCI platform. `variant` normalisation (arm64 → v8) is done by [`Platform::key`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default, deserialize_with = "null_as_default")]
    pub architecture: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

impl Platform {
    /// `os/arch[/variant]` with the conventional normalisations, used to pair manifests across images.
    pub fn key(&self) -> String {
        let arch = match self.architecture.as_str() {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        let variant = match (arch, self.variant.as_deref()) {
            ("arm64", Some("v8")) | ("arm64", None) | (_, Some("")) | (_, None) => None,
            (_, Some(v)) => Some(v),
        };
        match variant {
            Some(v) => format!("{}/{}/{}", self.os, arch, v),
            None => format!("{}/{}", self.os, arch),
        }
    }

    /// Parses `os/arch[/variant]` as given to `--platform`.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty())?;
        let arch = parts.next().filter(|p| !p.is_empty())?;
        let variant = parts.next().map(str::to_owned);
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            architecture: arch.to_owned(),
            os: os.to_owned(),
            variant,
            os_version: None,
        })
    }
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default, deserialize_with = "null_as_default")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    pub fn kind(&self) -> BlobKind {
        BlobKind::of(&self.media_type)
    }
}

/// Annotation keys with a meaning for the comparison.
pub mod annotation {
    pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
    pub const CONTAINERD_IMAGE_NAME: &str = "io.containerd.image.name";
    pub const CREATED: &str = "org.opencontainers.image.created";
    pub const DOCKER_REFERENCE_TYPE: &str = "vnd.docker.reference.type";
    pub const DOCKER_REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
    pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";

    /// Prefixes of the annotations that say how a layer blob is encoded, not what it holds: the
    /// zstd:chunked and eStargz tables of contents, the uncompressed digest and size.
    const ENCODING_PREFIXES: [&str; 5] = [
        "io.containers.zstd-chunked.",
        "io.github.containers.zstd-chunked.",
        "io.containers.estargz.",
        "containerd.io/snapshot/stargz/",
        "containerd.io/uncompressed",
    ];

    /// Whether an annotation describes the encoding of a blob (a compression detail).
    pub fn is_encoding(key: &str) -> bool {
        ENCODING_PREFIXES
            .iter()
            .any(|prefix| key.starts_with(prefix))
    }
}

/// An image index or Docker manifest list.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest (OCI or Docker schema 2), or an artifact's (OCI, with `artifactType`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default, deserialize_with = "null_as_default")]
    pub layers: Vec<Descriptor>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub annotations: BTreeMap<String, String>,
}

/// The parts of an image configuration the engine needs to read layers; the rest is compared as JSON.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default, deserialize_with = "null_as_default")]
    pub architecture: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rootfs: RootFs,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(default, deserialize_with = "null_as_default")]
    pub diff_ids: Vec<Digest>,
}

impl ImageConfig {
    pub fn platform(&self) -> Platform {
        Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            variant: self.variant.clone(),
            os_version: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_rejects_anything_that_could_name_another_file() {
        for bad in [
            "sha256:../../etc/passwd",
            "sha256:ABCDEF",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}/", "a".repeat(63)),
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad} accepted");
        }
        let ok = format!("sha256:{}", "0a".repeat(32));
        assert_eq!(ok.parse::<Digest>().unwrap().to_string(), ok);
    }

    #[test]
    fn digests_kept_as_bytes_order_and_print_as_their_text() {
        let texts = ["0a", "09", "a0", "ff", "f0"].map(|b| format!("sha256:{}", b.repeat(32)));
        let mut digests: Vec<Digest> = texts.iter().map(|t| t.parse().unwrap()).collect();
        digests.sort();
        let mut sorted = texts.to_vec();
        sorted.sort();
        let printed: Vec<String> = digests.iter().map(|d| format!("{d} {d:?}")).collect();
        let expected: Vec<String> = sorted.iter().map(|t| format!("{t} {t}")).collect();
        assert_eq!(printed, expected);
        assert_eq!(digests[0].hex(), "09".repeat(32));
    }

    #[test]
    fn platform_keys_normalise_arm64_variant_and_arch_aliases() {
        let p = |a: &str, v: Option<&str>| Platform {
            architecture: a.into(),
            os: "linux".into(),
            variant: v.map(Into::into),
            os_version: None,
        };
        assert_eq!(p("arm64", Some("v8")).key(), p("aarch64", None).key());
        assert_eq!(p("x86_64", None).key(), "linux/amd64");
        assert_eq!(p("arm", Some("v7")).key(), "linux/arm/v7");
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap().key(),
            "linux/arm/v7"
        );
        assert!(Platform::parse("linux").is_none());
    }

    #[test]
    fn media_types_classify_layers_and_manifests() {
        assert_eq!(
            BlobKind::of(media_type::OCI_LAYER_ZSTD),
            BlobKind::Layer(Compression::Zstd)
        );
        assert_eq!(
            BlobKind::of(media_type::DOCKER_LAYER_TAR),
            BlobKind::Layer(Compression::None)
        );
        assert_eq!(
            BlobKind::of(media_type::DOCKER_MANIFEST_LIST),
            BlobKind::Index
        );
        assert_eq!(
            BlobKind::of("application/vnd.in-toto+json"),
            BlobKind::Blob(Payload::Json)
        );
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Compression::Zstd)
        );
    }

    #[test]
    fn tar_media_types_are_layers_whoever_wrote_them_and_the_rest_are_blobs() {
        use Compression::*;
        for (media_type, kind) in [
            ("application/tar", BlobKind::Layer(None)),
            ("application/x-tar", BlobKind::Layer(None)),
            ("application/tar+gzip", BlobKind::Layer(Gzip)),
            (
                "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                BlobKind::Layer(Gzip),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+zstd",
                BlobKind::Layer(Zstd),
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.zstd",
                BlobKind::Layer(Zstd),
            ),
            (
                media_type::DOCKER_FOREIGN_LAYER,
                BlobKind::ForeignLayer(Gzip),
            ),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
                BlobKind::ForeignLayer(None),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
                BlobKind::Blob(Payload::Unknown),
            ),
            ("application/gzip", BlobKind::Blob(Payload::Unknown)),
            ("application/spdx+json", BlobKind::Blob(Payload::Json)),
            (media_type::OCI_EMPTY, BlobKind::Blob(Payload::Json)),
            (
                "application/vnd.cyclonedx+xml",
                BlobKind::Blob(Payload::Text),
            ),
            ("text/spdx", BlobKind::Blob(Payload::Text)),
            ("application/octet-stream", BlobKind::Blob(Payload::Unknown)),
            (media_type::DOCKER_MANIFEST_V1_SIGNED, BlobKind::Manifest),
        ] {
            assert_eq!(BlobKind::of(media_type), kind, "{media_type}");
        }
    }

    #[test]
    fn encoding_annotations_are_told_apart() {
        for key in [
            "io.github.containers.zstd-chunked.manifest-checksum",
            "io.containers.zstd-chunked.manifest-position",
            "containerd.io/snapshot/stargz/toc.digest",
            "io.containers.estargz.uncompressed-size",
            "containerd.io/uncompressed",
        ] {
            assert!(annotation::is_encoding(key), "{key}");
        }
        assert!(!annotation::is_encoding("org.opencontainers.image.title"));
    }

    #[test]
    fn null_lists_and_maps_read_as_empty_as_go_writes_them() {
        let digest = format!("sha256:{}", "0a".repeat(32));
        let descriptor = format!(
            r#"{{"mediaType": null, "digest": "{digest}", "size": 2, "annotations": null, "platform": {{"architecture": null, "os": null}}}}"#
        );
        let index: Index =
            serde_json::from_str(r#"{"schemaVersion": 2, "manifests": null, "annotations": null}"#)
                .unwrap();
        assert!(index.manifests.is_empty() && index.annotations.is_empty());
        let manifest: Manifest = serde_json::from_str(&format!(
            r#"{{"config": {descriptor}, "layers": null, "annotations": null}}"#
        ))
        .unwrap();
        assert!(manifest.layers.is_empty() && manifest.config.annotations.is_empty());
        assert_eq!(manifest.config.platform.unwrap().key(), "/");
        let config: ImageConfig =
            serde_json::from_str(r#"{"architecture": null, "rootfs": {"diff_ids": null}}"#)
                .unwrap();
        assert!(config.rootfs.diff_ids.is_empty());
        let config: ImageConfig = serde_json::from_str(r#"{"rootfs": null}"#).unwrap();
        assert!(config.rootfs.diff_ids.is_empty());
    }
}

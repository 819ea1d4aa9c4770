//! Test helpers: an in-memory blob source and small tar builders.

use std::collections::HashMap;
use std::io::{Read, Write};

use crate::model::Sides;
use crate::oci::{Descriptor, Digest};
use crate::source::{BlobSource, SourceError};

#[derive(Default, Clone)]
pub struct MemorySource {
    blobs: HashMap<Digest, Vec<u8>>,
}

impl MemorySource {
    pub fn add(&mut self, media_type: &str, bytes: Vec<u8>) -> Descriptor {
        let desc = descriptor(media_type, &bytes);
        self.blobs.insert(desc.digest.clone(), bytes);
        desc
    }

    /// Forgets a blob, as a store that lost it would.
    pub fn remove(&mut self, digest: &Digest) {
        self.blobs.remove(digest);
    }

    /// Stores bytes under a digest they do not hash to, as a corrupt store would.
    pub fn blobs_insert_for_test(&mut self, digest: &Digest, bytes: Vec<u8>) {
        self.blobs.insert(digest.clone(), bytes);
    }
}

impl BlobSource for MemorySource {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError> {
        match self.blobs.get(digest) {
            Some(b) => Ok(Box::new(std::io::Cursor::new(b.clone()))),
            None => Err(SourceError::BlobMissing {
                digest: digest.clone(),
            }),
        }
    }

    fn stat(&self, digest: &Digest) -> Result<Option<u64>, SourceError> {
        match self.blobs.get(digest) {
            Some(b) => Ok(Some(b.len() as u64)),
            None => Err(SourceError::BlobMissing {
                digest: digest.clone(),
            }),
        }
    }
}

pub fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: Digest::sha256_of(bytes),
        size: bytes.len() as u64,
        urls: None,
        annotations: Default::default(),
        platform: None,
        artifact_type: None,
    }
}

/// A tar with the given files (name, content, mode), ustar headers, mtime 1700000000.
pub fn tar_of(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content, mode) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(1_700_000_000);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 1).unwrap()
}

/// Writes a single-platform image (config + manifest) into `source` and returns the manifest descriptor.
/// Each layer is `(uncompressed tar, media type)`; the blob is compressed to match the media type.
pub fn image(
    source: &mut MemorySource,
    layers: &[(Vec<u8>, &str)],
    config: serde_json::Value,
) -> Descriptor {
    use crate::oci::media_type::*;
    let mut config = config;
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|(tar, _)| Digest::sha256_of(tar).to_string())
        .collect();
    config["rootfs"] = serde_json::json!({"type": "layers", "diff_ids": diff_ids});
    if config.get("architecture").is_none() {
        config["architecture"] = "amd64".into();
        config["os"] = "linux".into();
    }
    let config_desc = source.add(OCI_CONFIG, serde_json::to_vec(&config).unwrap());
    let layer_descs: Vec<Descriptor> = layers
        .iter()
        .map(|(tar, media)| {
            let blob = match *media {
                OCI_LAYER_GZIP | DOCKER_LAYER_GZIP => gzip(tar),
                OCI_LAYER_ZSTD => zstd(tar),
                _ => tar.clone(),
            };
            source.add(media, blob)
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_desc,
        "layers": layer_descs,
    });
    source.add(OCI_MANIFEST, serde_json::to_vec(&manifest).unwrap())
}

/// Writes an index of the given manifests (with platforms) and returns its descriptor.
pub fn index(source: &mut MemorySource, manifests: &[(Descriptor, &str)]) -> Descriptor {
    let entries: Vec<serde_json::Value> = manifests
        .iter()
        .map(|(desc, platform)| {
            let p = crate::oci::Platform::parse(platform).unwrap();
            let mut d = desc.clone();
            d.platform = Some(p);
            serde_json::to_value(d).unwrap()
        })
        .collect();
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": crate::oci::media_type::OCI_INDEX, "manifests": entries});
    source.add(
        crate::oci::media_type::OCI_INDEX,
        serde_json::to_vec(&index).unwrap(),
    )
}

/// The images of two roots held by two sources.
pub fn images_of(sources: Sides<(MemorySource, Descriptor)>) -> Sides<crate::source::Image> {
    sources.map(|(source, root)| crate::source::Image {
        spec: "memory".into(),
        source: std::sync::Arc::new(source),
        root,
    })
}

/// Runs a comparison of two roots held by two sources and collects the report.
pub fn run(
    sources: Sides<(MemorySource, Descriptor)>,
    options: &crate::engine::Options,
) -> crate::model::Report {
    run_keeping_images(sources, options).0
}

/// [`run`], giving back the images too (to read their layers again).
pub fn run_keeping_images(
    sources: Sides<(MemorySource, Descriptor)>,
    options: &crate::engine::Options,
) -> (crate::model::Report, Sides<crate::source::Image>) {
    let images = images_of(sources);
    let report = std::sync::Mutex::new(crate::model::Report::default());
    let sink = |event| {
        report.lock().unwrap().apply(event);
    };
    crate::engine::compare(&images, options, &sink);
    (report.into_inner().unwrap(), images)
}

/// A tar of (name, content) with a given mtime for every entry.
pub fn tar_at(files: &[(&str, &[u8])], mtime: u64) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

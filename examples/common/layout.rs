//! Writes a generated OCI layout of one gzip layer by streaming: the tar is hashed (diff_id), gzipped
//! and hashed again (blob digest) on its way to the file, so no layer is ever held in memory. Shared by
//! the benchmarks' generators (`#[path = "common/layout.rs"] mod layout;`).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// The tar builder the entries are appended to.
pub type LayerTar = tar::Builder<Hashing<GzEncoder<Hashing<BufWriter<File>>>>>;

/// A writer that hashes and counts what goes through it.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `layout` (an OCI layout: index, manifest, config, one gzip layer) whose layer holds what
/// `entries` appends; `history` is the config's.
pub fn write_layout(
    layout: &Path,
    history: Vec<serde_json::Value>,
    entries: impl FnOnce(&mut LayerTar) -> io::Result<()>,
) -> io::Result<()> {
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs)?;
    let partial = blobs.join("layer.partial");
    let compressed = Hashing::new(BufWriter::new(File::create(&partial)?));
    let gzip = GzEncoder::new(compressed, Compression::fast());
    let mut tar = tar::Builder::new(Hashing::new(gzip));
    entries(&mut tar)?;
    let uncompressed = tar.into_inner()?;
    let diff_id = hex::encode(uncompressed.hasher.finalize());
    let mut compressed = uncompressed.inner.finish()?;
    compressed.flush()?;
    let layer_digest = hex::encode(compressed.hasher.finalize());
    let layer_size = compressed.len;
    fs::rename(&partial, blobs.join(&layer_digest))?;
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        "history": history,
    }))?;
    let config_digest = write_blob(&blobs, &config)?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_digest}"),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": format!("sha256:{layer_digest}"),
            "size": layer_size,
        }],
    }))?;
    let manifest_digest = write_blob(&blobs, &manifest)?;
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
        }],
    });
    fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    fs::write(layout.join("index.json"), serde_json::to_vec(&index)?)
}

fn write_blob(blobs: &Path, bytes: &[u8]) -> io::Result<String> {
    let digest = hex::encode(Sha256::digest(bytes));
    fs::write(blobs.join(&digest), bytes)?;
    Ok(digest)
}

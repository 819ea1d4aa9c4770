//! Every blob an image references is there. The comparison reads what differs; what it does not read
//! (the blobs below a node whose digest is the same on both sides) is checked to exist with its
//! descriptor's size without being read: a stat, an archive's member index. With `--verify` it is
//! read and verified instead.
//!
//! The walker records those blobs here ([`Walker::record_unread`]); the layer phase checks each once
//! ([`super::layers`]), next to the layers it reads.

use std::sync::Mutex;

use crate::model::{ContextId, Side, Sides};
use crate::oci::{BlobKind, Descriptor, Digest, ImageConfig, Manifest};

use super::blob::read_small_blob;
use super::error::{BlobError, EngineError};
use super::lock;
use super::walk::Walker;

/// A blob the comparison does not otherwise read.
#[derive(Debug, Clone)]
pub struct UnreadBlob {
    pub side: Side,
    /// `layer` or `config`, for messages.
    pub what: &'static str,
    pub descriptor: Descriptor,
    /// A layer's diff_id, verified too when the layer is read (`--verify`).
    pub diff_id: Option<Digest>,
    /// The context path it belongs to, for messages.
    pub path: String,
    /// Whether its absence is an error; for attestations it is a warning (exporters leave them out).
    pub required: bool,
}

/// The blobs recorded while walking, taken by the layer phase.
#[derive(Debug, Default)]
pub struct UnreadBlobs(Mutex<Vec<UnreadBlob>>);

impl UnreadBlobs {
    fn push(&self, blob: UnreadBlob) {
        self.lock().push(blob);
    }

    pub fn take(&self) -> Vec<UnreadBlob> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<UnreadBlob>> {
        lock(&self.0)
    }
}

/// The config's diff_ids, one per layer of the manifest. An image config that lists more or fewer than
/// the manifest has layers describes another image. (Other configs, an artifact's, list none.)
pub fn diff_ids_per_layer<'c>(
    manifest: &Manifest,
    config_kind: BlobKind,
    config: &'c ImageConfig,
) -> Result<&'c [Digest], BlobError> {
    let (layers, diff_ids) = (manifest.layers.len(), config.rootfs.diff_ids.len());
    if config_kind == BlobKind::Config && layers != diff_ids {
        return Err(BlobError::LayerCount { layers, diff_ids });
    }
    Ok(&config.rootfs.diff_ids)
}

impl Walker<'_> {
    /// Below a manifest whose digest is the same on both sides nothing is compared, but each input
    /// must still hold every blob there. Reads each side's manifest (small, and verified as read) and
    /// records its config and layers for the layer phase to check. The missing blobs of an attestation
    /// (`required` false) are warnings. A source that cannot tell what it holds
    /// without reading (a registry) is left alone unless `--verify` asks for everything to be read.
    pub(super) fn record_unread(
        &self,
        ctx: ContextId,
        descs: &Sides<Descriptor>,
        path: &str,
        required: bool,
    ) {
        for side in Side::BOTH {
            let source = &self.images.get(side).source;
            let can_check =
                self.options.verify || !matches!(source.stat(&descs.get(side).digest), Ok(None));
            if !can_check {
                continue; // a registry: nothing to learn without downloading, and all read is verified
            }
            if let Err(error) = self.record_below(side, descs.get(side), path, required) {
                self.report(Some(ctx), required, error);
            }
        }
    }

    fn record_below(
        &self,
        side: Side,
        desc: &Descriptor,
        path: &str,
        required: bool,
    ) -> Result<(), EngineError> {
        // Equal indexes are walked entry by entry (an archive may hold only some of their
        // platforms), so what arrives here is a manifest.
        match desc.kind() {
            BlobKind::Manifest => self.record_manifest(side, desc, or_root(path), required),
            _ => Ok(()),
        }
    }

    fn record_manifest(
        &self,
        side: Side,
        desc: &Descriptor,
        path: &str,
        required: bool,
    ) -> Result<(), EngineError> {
        let bytes = self.read_verified(side, "manifest", desc, path)?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| self.blob_error(side, "manifest", desc, path, BlobError::Json(e)))?;
        let config_path = format!("{}/config", path.trim_end_matches('/'));
        let diff_ids = if self.options.verify {
            self.read_diff_ids(side, &manifest, &config_path)?
        } else {
            self.unread.push(UnreadBlob {
                side,
                what: "config",
                descriptor: manifest.config.clone(),
                diff_id: None,
                path: config_path,
                required,
            });
            Vec::new()
        };
        for (i, layer) in manifest.layers.iter().enumerate() {
            self.unread.push(UnreadBlob {
                side,
                what: "layer",
                descriptor: layer.clone(),
                diff_id: diff_ids.get(i).cloned(),
                path: format!("{}/layers-{i}", path.trim_end_matches('/')),
                required,
            });
        }
        Ok(())
    }

    /// Reads a manifest's config (verified) for the diff_ids its layers are verified against.
    fn read_diff_ids(
        &self,
        side: Side,
        manifest: &Manifest,
        path: &str,
    ) -> Result<Vec<Digest>, EngineError> {
        let desc = &manifest.config;
        let error = |e| self.blob_error(side, "config", desc, path, e);
        let bytes = self.read_verified(side, "config", desc, path)?;
        if desc.kind() != BlobKind::Config {
            return Ok(Vec::new());
        }
        let config: ImageConfig =
            serde_json::from_slice(&bytes).map_err(|e| error(BlobError::Json(e)))?;
        let diff_ids = diff_ids_per_layer(manifest, desc.kind(), &config).map_err(error)?;
        Ok(diff_ids.to_vec())
    }

    fn read_verified(
        &self,
        side: Side,
        what: &'static str,
        desc: &Descriptor,
        path: &str,
    ) -> Result<Vec<u8>, EngineError> {
        let source = self.images.get(side).source.as_ref();
        read_small_blob(source, desc, self.options.json_limit)
            .map_err(|e| self.blob_error(side, what, desc, path, e))
    }

    /// An error, or for what is not required (an attestation's blobs) a warning.
    fn report(&self, ctx: Option<ContextId>, required: bool, error: EngineError) {
        if required {
            self.error(ctx, error.to_string());
        } else {
            self.warn(ctx, error.to_string());
        }
    }
}

fn or_root(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

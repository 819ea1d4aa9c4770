//! Image sources: where blobs come from. A source only hands out bytes by digest; the engine verifies
//! every blob's size and digest as it reads it, whatever the source.
//!
//! Input forms (see [`open_image`]):
//! - `oci:DIR[:REF]`: an OCI image layout directory;
//! - `oci-archive:FILE[:REF]`: a tarred OCI layout, read in place (members are located once, then read
//!   by offset; nothing is unpacked);
//! - `docker-archive:FILE[:REPO:TAG]`: `docker save` output, legacy (`manifest.json`, `<id>/layer.tar`)
//!   or Docker 25+ (an OCI layout inside);
//! - a bare path: a directory is a layout, a file an archive whose kind is read from its content.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use crate::oci::{Descriptor, Digest};

/// Where an image's blobs are read from.
pub trait BlobSource: Send + Sync {
    /// Opens a blob's stored bytes. The reader yields exactly what is stored; verification is the
    /// caller's job.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError>;
}

/// An opened input: its blobs and the descriptor of its top object (an index or a manifest).
#[derive(Clone)]
pub struct Image {
    /// The input as the user wrote it, for messages.
    pub spec: String,
    pub source: Arc<dyn BlobSource>,
    pub root: Descriptor,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("spec", &self.spec)
            .field("root", &self.root)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an image: {reason}")]
    NotAnImage { path: PathBuf, reason: String },
    #[error("{path}: {what} is not valid JSON: {source}")]
    BadJson {
        path: PathBuf,
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: no image named {reference:?} (it has: {available})")]
    NoSuchReference {
        path: PathBuf,
        reference: String,
        available: String,
    },
    #[error("{path}: holds {count} images; name one as {hint} (it has: {available})")]
    Ambiguous {
        path: PathBuf,
        count: usize,
        hint: String,
        available: String,
    },
    #[error("blob {digest} is missing")]
    BlobMissing { digest: Digest },
    #[error("{spec}: {reason}")]
    Unsupported { spec: String, reason: String },
}

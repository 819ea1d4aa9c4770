use std::io;

use crate::oci::Digest;
use crate::source::SourceError;

/// A blob whose bytes are not what its descriptor promises. Travels inside `io::Error`s through
/// decoders and the tar reader, so it is `Clone` to be recovered from a borrowed error chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Integrity {
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("digest mismatch: content hashes to {actual}")]
    DigestMismatch { actual: Digest },
}

impl Integrity {
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// Finds an integrity failure anywhere in an error's chain.
    fn find(error: &(dyn std::error::Error + 'static)) -> Option<Integrity> {
        let mut current = Some(error);
        while let Some(e) = current {
            if let Some(found) = e.downcast_ref::<Integrity>() {
                return Some(found.clone());
            }
            if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref())
                && let Some(found) = Integrity::find(inner)
            {
                return Some(found);
            }
            current = e.source();
        }
        None
    }
}

/// What went wrong reading one blob.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error(transparent)]
    Source(SourceError),
    #[error(transparent)]
    Integrity(#[from] Integrity),
    #[error("uncompressed layer does not match the config's diff_id {expected} (got {actual})")]
    DiffIdMismatch { expected: Digest, actual: Digest },
    #[error("too large for a JSON blob ({size} bytes, limit {limit})")]
    TooLarge { size: u64, limit: u64 },
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("corrupt or truncated {codec} stream: {message}")]
    Decode {
        codec: &'static str,
        message: String,
    },
    #[error("corrupt tar: {0}")]
    Tar(String),
    #[error("tar stream ends without end-of-archive blocks (truncated tar)")]
    MissingEndOfArchive,
    #[error("tar entry {name:?} is truncated: header says {expected} bytes, stream has {actual}")]
    TruncatedEntry {
        name: String,
        expected: u64,
        actual: u64,
    },
    #[error("tar entry {name:?} has an invalid {field} field")]
    BadHeaderField { name: String, field: &'static str },
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("foreign layer: its content is not part of the image")]
    ForeignLayer,
    #[error("{0}")]
    Io(io::Error),
}

impl BlobError {
    /// Recovers a verification error that travelled up through decoders as an `io::Error`.
    pub fn from_io(error: io::Error) -> BlobError {
        match Integrity::find(&error) {
            Some(integrity) => BlobError::Integrity(integrity),
            None => BlobError::Io(error),
        }
    }

    pub fn decode(codec: &'static str, error: io::Error) -> BlobError {
        match BlobError::from_io(error) {
            BlobError::Io(e) => BlobError::Decode {
                codec,
                message: e.to_string(),
            },
            other => other,
        }
    }
}

/// An error of the comparison, with the input and the blob or context it concerns.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("input {input} ({spec}): {what} {digest} at {context}: {source}")]
    Blob {
        input: usize,
        spec: String,
        what: &'static str,
        digest: Digest,
        context: String,
        #[source]
        source: Box<BlobError>,
    },
    #[error("{0}")]
    Platform(String),
    #[error("input {input} ({spec}): cannot write {name:?}: {message}")]
    Write {
        input: usize,
        spec: String,
        name: String,
        message: String,
    },
}

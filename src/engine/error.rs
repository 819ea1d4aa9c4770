use std::io;

use crate::oci::Digest;
use crate::source::{ReadFailure, SourceError};
use crate::tarball::TarError;

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
}

/// Finds an error of type `T` anywhere in an error's chain, inside `io::Error`s too.
fn find<T: std::error::Error + Clone + 'static>(
    error: &(dyn std::error::Error + 'static),
) -> Option<T> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found.clone());
        }
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref())
            && let Some(found) = find::<T>(inner)
        {
            return Some(found);
        }
        current = e.source();
    }
    None
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
    #[error(
        "{size} bytes, larger than the limit of {limit}; raise it with --max-scale {scale_needed}"
    )]
    TooLarge {
        size: u64,
        limit: u64,
        scale_needed: u64,
    },
    #[error("lists {diff_ids} diff_ids for the manifest's {layers} layers")]
    LayerCount { layers: usize, diff_ids: usize },
    #[error("cannot verify it against diff_id {diff_id}: {source}")]
    Unverified {
        diff_id: Digest,
        source: Box<BlobError>,
    },
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON that does not have the fields its media type promises.
    #[error("unexpected content: {0}")]
    Shape(serde_json::Error),
    #[error("unsupported schemaVersion {0}")]
    SchemaVersion(String),
    #[error("Docker schema 1 manifests are not supported")]
    SchemaV1,
    #[error("corrupt or truncated {codec} stream: {message}")]
    Decode {
        codec: &'static str,
        message: String,
    },
    #[error("{0}")]
    Tar(TarError),
    #[error("more than {limit} entries in one layer (--max-scale raises the limit)")]
    TooManyEntries { limit: u64 },
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// The reader was asked to stop (a content load the explorer no longer wants).
    #[error("stopped before the end of the blob")]
    Stopped,
    #[error("{0}")]
    Io(io::Error),
    /// The source could not deliver the bytes (e.g. a download given up on): not the blob's fault,
    /// so never blamed on a codec or on tar.
    #[error(transparent)]
    Read(ReadFailure),
}

impl BlobError {
    /// Recovers a verification error that travelled up through decoders as an `io::Error`.
    pub fn from_io(error: io::Error) -> BlobError {
        let error = match error.downcast::<TarError>() {
            Ok(tar) => return BlobError::from_tar(tar),
            Err(error) => error,
        };
        if let Some(integrity) = find::<Integrity>(&error) {
            return BlobError::Integrity(integrity);
        }
        match find::<ReadFailure>(&error) {
            Some(failure) => BlobError::Read(failure),
            None => BlobError::Io(error),
        }
    }

    /// A tar reader's failure: the stream below it (decoder, verifier, source), or the tar itself.
    pub fn from_tar(error: TarError) -> BlobError {
        match error.into_io() {
            Ok(io) => BlobError::from_io(io),
            Err(tar) => BlobError::Tar(tar),
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

impl EngineError {
    /// The input that does not hold the blob this error is about, if that is the error (an export of
    /// some platforms holds only theirs).
    pub fn missing_in(&self) -> Option<usize> {
        match self {
            EngineError::Blob { input, source, .. }
                if matches!(**source, BlobError::Source(SourceError::BlobMissing { .. })) =>
            {
                Some(*input)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_that_cannot_deliver_is_not_blamed_on_the_codec() {
        let failure =
            ReadFailure("registry r, repository p: blob b: reset after 4 attempts".into());
        let error = BlobError::decode("gzip", io::Error::other(failure.clone()));
        assert!(
            matches!(&error, BlobError::Read(f) if *f == failure),
            "{error}"
        );
        assert_eq!(error.to_string(), failure.0);
        let plain = BlobError::decode("gzip", io::Error::other("bad block"));
        assert!(matches!(plain, BlobError::Decode { codec: "gzip", .. }));
    }
}

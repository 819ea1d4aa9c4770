//! Reading blobs with verification: every byte that comes from a source is counted and hashed, and the
//! blob is accepted only if its size and sha256 match its descriptor.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};

use crate::oci::{Descriptor, Digest};
use crate::source::BlobSource;

use super::error::{BlobError, Integrity};
use super::stream_hash::SharedCompanion;

/// Largest JSON blob (index, manifest, config) accepted, so a hostile descriptor cannot make us read
/// gigabytes into memory. diffoci uses 1 MiB; real configs with long histories approach that.
pub const MAX_JSON_BLOB: u64 = 16 << 20;

/// What hashes a blob's bytes as they are read.
pub trait BlobHasher {
    fn update(&mut self, bytes: &[u8]);
    /// The sha256 of the bytes so far.
    fn digest(&mut self) -> [u8; 32];
}

impl BlobHasher for Sha256 {
    fn update(&mut self, bytes: &[u8]) {
        sha2::Digest::update(self, bytes);
    }

    fn digest(&mut self) -> [u8; 32] {
        self.clone().finalize().into()
    }
}

/// A layer's blob, hashed along with its tar stream (see `StreamHasher`).
impl BlobHasher for SharedCompanion {
    fn update(&mut self, bytes: &[u8]) {
        self.borrow_mut().push(bytes);
    }

    fn digest(&mut self) -> [u8; 32] {
        self.borrow_mut().digest()
    }
}

/// Wraps a blob's raw stream; fails the read that reaches the end if size or digest differ from the
/// descriptor, and fails at once if the stream runs past the declared size.
pub struct VerifyingReader<R, H = Sha256> {
    inner: R,
    hasher: H,
    read: u64,
    expected: Descriptor,
    progress: Option<Arc<AtomicU64>>,
    verified: bool,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, expected: &Descriptor, progress: Option<Arc<AtomicU64>>) -> Self {
        VerifyingReader::with_hasher(inner, expected, progress, Sha256::new())
    }
}

impl<R: Read, H: BlobHasher> VerifyingReader<R, H> {
    pub fn with_hasher(
        inner: R,
        expected: &Descriptor,
        progress: Option<Arc<AtomicU64>>,
        hasher: H,
    ) -> Self {
        VerifyingReader {
            inner,
            hasher,
            read: 0,
            expected: expected.clone(),
            progress,
            verified: false,
        }
    }

    /// Reads whatever is left and verifies. Needed because decoders stop at their own end marker and
    /// never ask for the end of the stream (oci-client's pitfall 1 is the same trap).
    pub fn finish(mut self) -> io::Result<()> {
        io::copy(&mut self, &mut io::sink())?;
        if self.verified {
            Ok(())
        } else {
            Err(self.mismatch())
        }
    }

    fn check_at_end(&mut self) -> io::Result<()> {
        let actual = Digest::from_sha256(self.hasher.digest());
        if self.read != self.expected.size || actual != self.expected.digest {
            return Err(self.mismatch());
        }
        self.verified = true;
        Ok(())
    }

    fn mismatch(&mut self) -> io::Error {
        let actual = Digest::from_sha256(self.hasher.digest());
        let error = if self.read != self.expected.size {
            Integrity::SizeMismatch {
                expected: self.expected.size,
                actual: self.read,
            }
        } else {
            Integrity::DigestMismatch { actual }
        };
        error.into_io()
    }
}

impl<R: Read, H: BlobHasher> Read for VerifyingReader<R, H> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            if !self.verified {
                self.check_at_end()?;
            }
            return Ok(0);
        }
        self.read += n as u64;
        if self.read > self.expected.size {
            let error = Integrity::SizeMismatch {
                expected: self.expected.size,
                actual: self.read,
            };
            return Err(error.into_io());
        }
        self.hasher.update(&buf[..n]);
        if let Some(progress) = &self.progress {
            progress.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Reads a whole JSON blob of at most `limit` bytes, verified, and returns its bytes.
pub fn read_small_blob(
    source: &dyn BlobSource,
    desc: &Descriptor,
    limit: u64,
) -> Result<Vec<u8>, BlobError> {
    if desc.size > limit {
        return Err(BlobError::TooLarge {
            size: desc.size,
            limit,
            scale_needed: desc.size.div_ceil(MAX_JSON_BLOB),
        });
    }
    let raw = source.open(&desc.digest).map_err(BlobError::Source)?;
    let mut reader = VerifyingReader::new(raw, desc, None);
    let mut bytes = Vec::with_capacity(desc.size as usize);
    reader.read_to_end(&mut bytes).map_err(BlobError::from_io)?;
    Ok(bytes)
}

/// Reads a whole blob only to verify its size and digest.
pub fn verify_blob(
    source: &dyn BlobSource,
    desc: &Descriptor,
    progress: Option<Arc<AtomicU64>>,
) -> Result<(), BlobError> {
    let raw = source.open(&desc.digest).map_err(BlobError::Source)?;
    VerifyingReader::new(raw, desc, progress)
        .finish()
        .map_err(BlobError::from_io)
}

/// Checks, without reading it, that a source holds a blob of its descriptor's size. A source that
/// cannot tell without reading (a registry) passes: its blobs are verified when read.
pub fn check_stored(source: &dyn BlobSource, desc: &Descriptor) -> Result<(), BlobError> {
    match source.stat(&desc.digest).map_err(BlobError::Source)? {
        Some(stored) if stored != desc.size => Err(BlobError::Integrity(Integrity::SizeMismatch {
            expected: desc.size,
            actual: stored,
        })),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc_of(bytes: &[u8]) -> Descriptor {
        crate::engine::testing::descriptor("application/octet-stream", bytes)
    }

    fn read_all(data: &[u8], desc: &Descriptor) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        VerifyingReader::new(data, desc, None).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn accepts_exact_bytes() {
        let d = desc_of(b"hello");
        assert_eq!(read_all(b"hello", &d).unwrap(), b"hello");
    }

    #[test]
    fn rejects_changed_truncated_and_overlong_blobs() {
        let d = desc_of(b"hello");
        let changed = read_all(b"hellO", &d).unwrap_err().to_string();
        assert!(changed.contains("digest mismatch"), "{changed}");
        let truncated = read_all(b"hell", &d).unwrap_err().to_string();
        assert!(
            truncated.contains("size mismatch: expected 5 bytes, got 4"),
            "{truncated}"
        );
        let long = read_all(b"hello world", &d).unwrap_err().to_string();
        assert!(long.contains("expected 5 bytes"), "{long}");
    }

    #[test]
    fn a_json_blob_over_the_limit_says_which_max_scale_reads_it() {
        let mut d = desc_of(b"{}");
        d.size = MAX_JSON_BLOB + MAX_JSON_BLOB / 5;
        let source = crate::engine::testing::MemorySource::default();
        let error = read_small_blob(&source, &d, MAX_JSON_BLOB).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{} bytes, larger than the limit of {MAX_JSON_BLOB}; raise it with --max-scale 2",
                d.size
            )
        );
    }

    #[test]
    fn check_stored_compares_the_stored_size_without_reading() {
        let mut source = crate::engine::testing::MemorySource::default();
        let d = source.add("application/octet-stream", b"hello".to_vec());
        check_stored(&source, &d).unwrap();
        let mut longer = d.clone();
        longer.size = 6;
        let error = check_stored(&source, &longer).unwrap_err().to_string();
        assert_eq!(error, "size mismatch: expected 6 bytes, got 5");
        let absent = desc_of(b"other");
        let error = check_stored(&source, &absent).unwrap_err().to_string();
        assert!(error.contains("is missing"), "{error}");
    }

    #[test]
    fn verify_blob_reads_to_the_end() {
        let mut source = crate::engine::testing::MemorySource::default();
        let d = source.add("application/octet-stream", b"hello".to_vec());
        verify_blob(&source, &d, None).unwrap();
        source.blobs_insert_for_test(&d.digest, b"hellO".to_vec());
        let error = verify_blob(&source, &d, None).unwrap_err().to_string();
        assert!(error.contains("digest mismatch"), "{error}");
    }

    #[test]
    fn finish_verifies_a_partly_read_blob() {
        let d = desc_of(b"hello world");
        let mut r = VerifyingReader::new(&b"hello world"[..], &d, None);
        let mut five = [0u8; 5];
        r.read_exact(&mut five).unwrap();
        r.finish().unwrap();
        let mut bad = VerifyingReader::new(&b"hello worlD"[..], &d, None);
        bad.read_exact(&mut five).unwrap();
        assert!(bad.finish().is_err());
    }
}

//! Test helpers: an in-memory blob source and small tar builders.

use std::collections::HashMap;
use std::io::{Read, Write};

use crate::oci::{Descriptor, Digest};
use crate::source::{BlobSource, SourceError};

#[derive(Default)]
pub struct MemorySource {
    blobs: HashMap<Digest, Vec<u8>>,
}

impl MemorySource {
    pub fn add(&mut self, media_type: &str, bytes: Vec<u8>) -> Descriptor {
        let desc = descriptor(media_type, &bytes);
        self.blobs.insert(desc.digest.clone(), bytes);
        desc
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
            None => Err(SourceError::BlobMissing { digest: digest.clone() }),
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

//! Archives that cannot be read in place: compressed ones (`docker save img | gzip > img.tar.gz`)
//! and pipes (`<(docker save img)`). A tar is read by offsets, which neither can give; so it is
//! copied (decompressed) once into a temporary file in `$TMPDIR`, read from there, and removed when
//! the image is dropped (or by the signal handler).
//!
//! Bounded: the decompressed size by [`ArchiveLimits::decompressed_size`], xz's memory by
//! [`ArchiveLimits::xz_memory`] (zstd's decoder refuses windows over 128 MiB by itself, gzip needs
//! 32 KiB), and the disk by stopping while some space is still free.

use crate::codec::{self, Codec};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::archive::{io_error, not_an_image};
use super::{ArchiveLimits, SourceError};
use crate::cleanup::{Registration, remove_on_signal};
use crate::oci::Compression;
use crate::tarball;

/// How an archive file is compressed, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveCompression {
    Gzip,
    Zstd,
    Xz,
    Bzip2,
    Lz4,
    Lzip,
}

impl ArchiveCompression {
    pub fn sniff(magic: &[u8]) -> Option<ArchiveCompression> {
        match Compression::sniff(magic) {
            Some(Compression::Gzip) => return Some(ArchiveCompression::Gzip),
            Some(Compression::Zstd) => return Some(ArchiveCompression::Zstd),
            Some(Compression::None) | None => {}
        }
        let signatures: [(&[u8], ArchiveCompression); 4] = [
            (b"\xfd7zXZ\0", ArchiveCompression::Xz),
            (b"BZh", ArchiveCompression::Bzip2),
            (b"\x04\x22\x4d\x18", ArchiveCompression::Lz4),
            (b"LZIP", ArchiveCompression::Lzip),
        ];
        signatures
            .into_iter()
            .find(|(signature, _)| magic.starts_with(signature))
            .map(|(_, compression)| compression)
    }

    pub fn name(self) -> &'static str {
        match self {
            ArchiveCompression::Gzip => "gzip",
            ArchiveCompression::Zstd => "zstd",
            ArchiveCompression::Xz => "xz",
            ArchiveCompression::Bzip2 => "bzip2",
            ArchiveCompression::Lz4 => "lz4",
            ArchiveCompression::Lzip => "lzip",
        }
    }

    /// Whether archives compressed so are read (decompressed to a temporary file).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            ArchiveCompression::Gzip | ArchiveCompression::Zstd | ArchiveCompression::Xz
        )
    }

    /// Why an archive compressed so is not read, the same words whatever the kind.
    pub(crate) fn not_read_reason(self) -> String {
        format!(
            "{}-compressed file; compressed archives are read when gzip, zstd or xz, decompress it first",
            self.name()
        )
    }
}

/// The first bytes of a file, enough to tell a tar header or a compression.
pub(crate) fn read_magic(path: &Path) -> Result<Vec<u8>, SourceError> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    read_block(path, &mut file)
}

/// Reads up to one tar block from `reader`.
pub(crate) fn read_block(path: &Path, reader: &mut dyn Read) -> Result<Vec<u8>, SourceError> {
    let mut block = Vec::with_capacity(tarball::BLOCK);
    reader
        .take(tarball::BLOCK as u64)
        .read_to_end(&mut block)
        .map_err(|e| io_error(path, e))?;
    Ok(block)
}

/// A copy of an archive that cannot be read in place, in a directory of its own that is removed on
/// drop.
pub(crate) struct TemporaryCopy {
    _on_signal: Registration,
    dir: tempfile::TempDir,
}

impl TemporaryCopy {
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().join("archive.tar")
    }
}

impl std::fmt::Debug for TemporaryCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TemporaryCopy").field(&self.path()).finish()
    }
}

/// Free space is checked every this many bytes written.
const SPACE_CHECK_INTERVAL: u64 = 16 << 20;

/// Copies the archive `input` read from `path` into a temporary file in `$TMPDIR`, decompressing it
/// if `compression` says so (else it is a pipe, which cannot be read by offsets either).
pub(crate) fn copy_to_temporary(
    path: &Path,
    compression: Option<ArchiveCompression>,
    input: Box<dyn Read>,
    limits: &ArchiveLimits,
) -> Result<TemporaryCopy, SourceError> {
    let mut decoder = decoder(path, compression, input, limits)?;
    let base = std::env::temp_dir();
    let dir = tempfile::Builder::new()
        .prefix("ocidiff-decompressed-")
        .tempdir_in(&base)
        .map_err(|e| io_error(&base, e))?;
    let copy = TemporaryCopy {
        _on_signal: remove_on_signal(dir.path()),
        dir,
    };
    let mut output = File::create(copy.path()).map_err(|e| io_error(&copy.path(), e))?;
    let mut copying = Copying {
        path,
        compression,
        limits,
        dir: &base,
        written: 0,
    };
    let mut head = Vec::with_capacity(tarball::BLOCK);
    decoder
        .by_ref()
        .take(tarball::BLOCK as u64)
        .read_to_end(&mut head)
        .map_err(|e| copying.read_error(e))?;
    if !tarball::is_header(&head) {
        let reason = match compression {
            Some(compression) => format!(
                "{}-compressed, but what it holds is not a tar archive",
                compression.name()
            ),
            None => "not a tar archive".to_owned(),
        };
        return Err(not_an_image(path, &reason));
    }
    copying.write(&mut output, &head)?;
    copying.copy_rest(&mut decoder, &mut output)?;
    Ok(copy)
}

fn decoder(
    path: &Path,
    compression: Option<ArchiveCompression>,
    input: Box<dyn Read>,
    limits: &ArchiveLimits,
) -> Result<Box<dyn Read>, SourceError> {
    let Some(compression) = compression else {
        return Ok(input);
    };
    let failed = |e: io::Error| decode_error(path, compression, limits, e);
    let codec = match compression {
        ArchiveCompression::Gzip => Codec::Gzip,
        ArchiveCompression::Zstd => Codec::Zstd,
        ArchiveCompression::Xz => Codec::Xz,
        ArchiveCompression::Bzip2 | ArchiveCompression::Lz4 | ArchiveCompression::Lzip => {
            return Err(not_an_image(path, &compression.not_read_reason()));
        }
    };
    codec::decoder(codec, input, limits.xz_memory).map_err(failed)
}

/// One copy under way: what it is for messages, and how far it got.
struct Copying<'a> {
    path: &'a Path,
    compression: Option<ArchiveCompression>,
    limits: &'a ArchiveLimits,
    /// Where the temporary file is.
    dir: &'a Path,
    written: u64,
}

impl Copying<'_> {
    fn copy_rest(&mut self, decoder: &mut dyn Read, output: &mut File) -> Result<(), SourceError> {
        let mut buffer = vec![0u8; 1 << 20];
        let mut next_space_check = 0;
        loop {
            let read = match decoder.read(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_error(e)),
            };
            if self.written >= next_space_check {
                self.check_free_space()?;
                next_space_check = self.written + SPACE_CHECK_INTERVAL;
            }
            let chunk = buffer.get(..read).unwrap_or_default();
            self.write(output, chunk)?;
        }
    }

    fn write(&mut self, output: &mut File, chunk: &[u8]) -> Result<(), SourceError> {
        let limit = self.limits.decompressed_size;
        if self.written.saturating_add(chunk.len() as u64) > limit {
            let what = match self.compression {
                Some(compression) => format!("{} content", compression.name()),
                None => "content".to_owned(),
            };
            return Err(SourceError::Decompress {
                path: self.path.to_owned(),
                problem: format!(
                    "its {what} is larger than the limit of {limit} bytes (--max-scale raises it)"
                ),
            });
        }
        output.write_all(chunk).map_err(|e| self.write_error(e))?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    fn read_error(&self, error: io::Error) -> SourceError {
        match self.compression {
            Some(compression) => decode_error(self.path, compression, self.limits, error),
            None => io_error(self.path, error),
        }
    }

    fn write_error(&self, error: io::Error) -> SourceError {
        if error.kind() == io::ErrorKind::StorageFull {
            return self.no_space("no space left");
        }
        io_error(self.dir, error)
    }

    /// Stops while the file system still has a little room: filling it would break other programs.
    fn check_free_space(&self) -> Result<(), SourceError> {
        match free_space(self.dir) {
            Some((free, total)) if free < reserve(total) => {
                Err(self.no_space(&format!("only {free} bytes left free")))
            }
            _ => Ok(()),
        }
    }

    fn no_space(&self, what: &str) -> SourceError {
        SourceError::Decompress {
            path: self.path.to_owned(),
            problem: format!(
                "{what} in {} after writing {} bytes of its temporary copy (set TMPDIR to a directory with more room)",
                self.dir.display(),
                self.written
            ),
        }
    }
}

/// Bytes that may still be written in `dir` while keeping [`reserve`] free, if that can be asked.
pub(crate) fn room_left(dir: &Path) -> Option<u64> {
    free_space(dir).map(|(free, total)| free.saturating_sub(reserve(total)))
}

/// What is kept free on the file system of the temporary file: 5%, at most 1 GiB.
fn reserve(total: u64) -> u64 {
    (total / 20).min(1 << 30)
}

/// Bytes available to us and the size of the file system holding `dir`, if it can be asked.
#[cfg(unix)]
fn free_space(dir: &Path) -> Option<(u64, u64)> {
    let stats = rustix::fs::statvfs(dir).ok()?;
    Some((
        stats.f_bavail.saturating_mul(stats.f_frsize),
        stats.f_blocks.saturating_mul(stats.f_frsize),
    ))
}

#[cfg(not(unix))]
fn free_space(_dir: &Path) -> Option<(u64, u64)> {
    None
}

fn decode_error(
    path: &Path,
    compression: ArchiveCompression,
    limits: &ArchiveLimits,
    error: io::Error,
) -> SourceError {
    let what = compression.name();
    let lzma_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<liblzma::stream::Error>());
    let problem = match lzma_error {
        Some(liblzma::stream::Error::MemLimit) => format!(
            "its xz stream needs more than {} bytes of memory to decompress (--max-scale raises the limit)",
            limits.xz_memory
        ),
        _ => format!("corrupt or truncated {what} stream: {error}"),
    };
    SourceError::Decompress {
        path: path.to_owned(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressions_are_told_by_their_magic() {
        let cases: [(&[u8], Option<ArchiveCompression>); 7] = [
            (b"\x1f\x8b\x08\0", Some(ArchiveCompression::Gzip)),
            (b"\x28\xb5\x2f\xfd\0", Some(ArchiveCompression::Zstd)),
            (b"\xfd7zXZ\0\0", Some(ArchiveCompression::Xz)),
            (b"BZh91AY", Some(ArchiveCompression::Bzip2)),
            (b"\x04\x22\x4d\x18", Some(ArchiveCompression::Lz4)),
            (b"LZIP\x01", Some(ArchiveCompression::Lzip)),
            (b"manifest.json\0\0\0", None),
        ];
        for (magic, expected) in cases {
            assert_eq!(ArchiveCompression::sniff(magic), expected, "{magic:?}");
        }
    }

    /// `data` as xz with a 64 MiB dictionary, which decoding needs in memory.
    fn xz_with_a_big_dictionary(data: &[u8]) -> Vec<u8> {
        use liblzma::stream::{Check, Filters, LzmaOptions, Stream};
        let mut options = LzmaOptions::new_preset(0).unwrap();
        options.dict_size(64 << 20);
        let mut filters = Filters::new();
        filters.lzma2(&options);
        let stream = Stream::new_stream_encoder(&filters, Check::Crc64).unwrap();
        let mut encoder = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn xz_memory_is_bounded() {
        let tar = crate::fixture::LayerBuilder::new().file("a", "b").build();
        let xz = xz_with_a_big_dictionary(&tar);
        let path = Path::new("big-dictionary.tar.xz");
        let copy = |limits: &ArchiveLimits| {
            let input = Box::new(io::Cursor::new(xz.clone()));
            copy_to_temporary(path, Some(ArchiveCompression::Xz), input, limits)
        };
        let copied = copy(&ArchiveLimits::DEFAULT).unwrap();
        assert_eq!(std::fs::read(copied.path()).unwrap(), tar);
        let error = copy(&ArchiveLimits::scaled(0.1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "big-dictionary.tar.xz: its xz stream needs more than 26843545 bytes of memory to decompress (--max-scale raises the limit)"
        );
    }

    #[test]
    fn the_reserve_is_five_percent_at_most_a_gibibyte() {
        assert_eq!(reserve(2 << 20), (2 << 20) / 20);
        assert_eq!(reserve(1 << 40), 1 << 30);
    }
}

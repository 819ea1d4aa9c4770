//! Tar archives read in place: the headers are walked once to locate every member, and a blob is then
//! read by seeking to its offset. Nothing is unpacked, so a multi-gigabyte archive costs one header scan.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::decompress::{ArchiveCompression, TemporaryCopy, copy_to_temporary, read_block};
use super::{ArchiveLimits, BlobSource, SourceError};
use crate::oci::Digest;
use crate::tarball::{self, Seekable, TarError};

/// Symlink hops followed when resolving a member (Podman needs one: `<id>/layer.tar -> ../<diffid>.tar`).
const MAX_LINK_HOPS: usize = 8;

/// JSON members (index.json, manifest.json, manifests, configs) larger than this are refused rather
/// than read into memory.
pub(crate) const MAX_JSON_SIZE: u64 = 64 << 20;

/// What a member name stands for once its header has been read.
#[derive(Debug, Clone)]
enum Member {
    /// Content stored in the archive: `size` bytes starting at `offset`.
    Data { offset: u64, size: u64 },
    /// A symbolic link; the target is already resolved against the link's directory.
    Symlink { target: Option<String> },
    /// A hard link; tar hard-link targets name another member from the archive root.
    Hardlink { target: Option<String> },
}

/// The members of a tar file, located by one scan of its headers.
#[derive(Debug)]
pub(crate) struct TarFile {
    /// The archive as the user named it, for messages.
    path: PathBuf,
    /// Where its bytes are read: `path` itself, or its temporary copy.
    data: PathBuf,
    len: u64,
    members: HashMap<String, Member>,
    /// The temporary copy (decompressed, or of a pipe), kept while the archive is read.
    _copy: Option<TemporaryCopy>,
}

/// Where a member's content lives in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extent {
    pub offset: u64,
    pub size: u64,
}

impl TarFile {
    /// Opens the archive at `path` with the default limits (see [`TarFile::open`]).
    pub(crate) fn scan(path: &Path) -> Result<TarFile, SourceError> {
        TarFile::open(path, &ArchiveLimits::DEFAULT)
    }

    /// Opens the archive at `path`: a plain tar file is read in place; a gzip, zstd or xz one, or
    /// a pipe, is first copied (decompressed) to a temporary file (see [`super::decompress`]).
    pub(crate) fn open(path: &Path, limits: &ArchiveLimits) -> Result<TarFile, SourceError> {
        if path.is_dir() {
            let layout = super::InputKind::Layout.prefix().unwrap_or_default();
            return Err(not_an_image(
                path,
                &format!(
                    "a directory, not an archive file (a layout directory is read as {layout}DIR)"
                ),
            ));
        }
        let mut file = open_file(path)?;
        // The first block is read from the file opened once: a pipe can be read only once.
        let magic = read_block(path, &mut file)?;
        let in_place = file.metadata().map_err(|e| io_error(path, e))?.is_file();
        let compression = ArchiveCompression::sniff(&magic);
        match compression {
            Some(compression) if !compression.is_read() => {
                return Err(not_an_image(path, &compression.not_read_reason()));
            }
            None if in_place && !tarball::is_header(&magic) => {
                return Err(not_an_image(path, "not a tar archive"));
            }
            None if in_place => return TarFile::scan_file(path, path, None, limits),
            _ => {}
        }
        let input = Box::new(std::io::Cursor::new(magic).chain(file));
        let copy = copy_to_temporary(path, compression, input, limits)?;
        TarFile::scan_file(path, &copy.path(), Some(copy), limits)
    }

    /// Walks the headers of the tar at `data`, seeking past member data.
    fn scan_file(
        path: &Path,
        data: &Path,
        copy: Option<TemporaryCopy>,
        limits: &ArchiveLimits,
    ) -> Result<TarFile, SourceError> {
        let file = open_file(data)?;
        let len = file.metadata().map_err(|e| io_error(path, e))?.len();
        let input = Seekable::new(file).map_err(|e| io_error(path, e))?;
        let mut reader = tarball::Reader::new(input, limits.tar);
        let mut members = HashMap::new();
        loop {
            let entry = match reader.next_entry() {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                // A member cut short is found when it is used (see `checked_extent`), so an archive
                // cut after the members an image needs still opens, as before.
                Err(
                    TarError::MissingEndOfArchive
                    | TarError::TruncatedHeader { .. }
                    | TarError::TruncatedData { .. },
                ) => break,
                Err(TarError::Io(e)) => return Err(io_error(path, e)),
                Err(e) => return Err(not_an_image(path, &e.to_string())),
            };
            let Some(name) = normalize(&entry.name) else {
                continue;
            };
            if let Some(member) = describe(&name, &entry, reader.offset()) {
                members.insert(name, member);
            }
        }
        if members.is_empty() {
            return Err(not_an_image(path, "the tar archive has no members"));
        }
        Ok(TarFile {
            path: path.to_owned(),
            data: data.to_owned(),
            len,
            members,
            _copy: copy,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a member of that name exists (a link counts, resolved or not).
    pub(crate) fn contains(&self, name: &str) -> bool {
        normalize(name.as_bytes()).is_some_and(|n| self.members.contains_key(&n))
    }

    /// Locates a member's content, following links. `Ok(None)` when there is no such member.
    pub(crate) fn extent(&self, name: &str) -> Result<Option<Extent>, SourceError> {
        let Some(mut current) = normalize(name.as_bytes()) else {
            return Ok(None);
        };
        for _ in 0..=MAX_LINK_HOPS {
            let next = match self.members.get(&current) {
                None => return Ok(None),
                Some(Member::Data { offset, size }) => {
                    return self.checked_extent(&current, *offset, *size).map(Some);
                }
                Some(Member::Symlink { target } | Member::Hardlink { target }) => target.clone(),
            };
            current = next.ok_or_else(|| {
                not_an_image(
                    &self.path,
                    &format!("member {current} links outside the archive"),
                )
            })?;
        }
        Err(not_an_image(
            &self.path,
            &format!("member {name} has too many levels of links"),
        ))
    }

    fn checked_extent(&self, name: &str, offset: u64, size: u64) -> Result<Extent, SourceError> {
        if offset.checked_add(size).is_none_or(|end| end > self.len) {
            return Err(not_an_image(
                &self.path,
                &format!("member {name} is cut short (truncated archive)"),
            ));
        }
        Ok(Extent { offset, size })
    }

    /// Opens a member's content as a reader of exactly its size.
    pub(crate) fn open_member(
        &self,
        name: &str,
    ) -> Result<Option<Box<dyn Read + Send>>, SourceError> {
        let Some(extent) = self.extent(name)? else {
            return Ok(None);
        };
        let mut file = open_file(&self.data)?;
        file.seek(SeekFrom::Start(extent.offset))
            .map_err(|e| io_error(&self.path, e))?;
        Ok(Some(Box::new(file.take(extent.size))))
    }

    /// Reads a small member (JSON) whole. `Ok(None)` when there is no such member.
    pub(crate) fn read_member(&self, name: &str) -> Result<Option<Vec<u8>>, SourceError> {
        let Some(extent) = self.extent(name)? else {
            return Ok(None);
        };
        if extent.size > MAX_JSON_SIZE {
            return Err(not_an_image(
                &self.path,
                &format!("member {name} is too large ({} bytes)", extent.size),
            ));
        }
        let Some(mut reader) = self.open_member(name)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(&self.path, e))?;
        Ok(Some(bytes))
    }

    /// Reads the first bytes of a member (for sniffing its compression).
    pub(crate) fn member_magic(&self, name: &str) -> Result<Option<Vec<u8>>, SourceError> {
        let Some(reader) = self.open_member(name)? else {
            return Ok(None);
        };
        let mut magic = Vec::with_capacity(8);
        reader
            .take(8)
            .read_to_end(&mut magic)
            .map_err(|e| io_error(&self.path, e))?;
        Ok(Some(magic))
    }
}

/// What a member is; `data_offset` is where the reader stands after its header.
fn describe(name: &str, entry: &tarball::Entry, data_offset: u64) -> Option<Member> {
    match entry.typeflag {
        b'0' | b'7' if !entry.is_sparse() => Some(Member::Data {
            offset: data_offset,
            size: entry.size,
        }),
        b'2' => Some(Member::Symlink {
            target: resolve_symlink(name, &entry.link),
        }),
        b'1' => Some(Member::Hardlink {
            target: normalize(&entry.link),
        }),
        _ => None,
    }
}

/// Resolves a symlink target against the link's directory; `None` if it leaves the archive.
fn resolve_symlink(link_name: &str, target: &[u8]) -> Option<String> {
    if target.first() == Some(&b'/') {
        return None;
    }
    let dir = link_name.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut joined = dir.as_bytes().to_vec();
    joined.push(b'/');
    joined.extend_from_slice(target);
    normalize(&joined)
}

/// A member name in canonical form: `./`, empty and `.` components dropped, `..` applied. `None` for
/// names that climb out of the archive root, are not UTF-8 or are empty.
pub(crate) fn normalize(name: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(name).ok()?;
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// Blobs of an OCI layout stored in a tar (`blobs/sha256/<hex>`), plus blobs mapped to other members
/// (legacy docker archives name layers `<id>/layer.tar`).
pub(crate) struct TarBlobs {
    pub tar: Arc<TarFile>,
    /// Blobs stored under a member name that is not `blobs/sha256/<hex>`.
    pub renamed: HashMap<Digest, String>,
}

impl TarBlobs {
    fn member_name(&self, digest: &Digest) -> String {
        match self.renamed.get(digest) {
            Some(name) => name.clone(),
            None => blob_member(digest),
        }
    }
}

impl BlobSource for TarBlobs {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError> {
        self.tar
            .open_member(&self.member_name(digest))?
            .ok_or_else(|| SourceError::BlobMissing {
                digest: digest.clone(),
            })
    }

    /// From the member index: nothing is read.
    fn stat(&self, digest: &Digest) -> Result<Option<u64>, SourceError> {
        match self.tar.extent(&self.member_name(digest))? {
            Some(extent) => Ok(Some(extent.size)),
            None => Err(SourceError::BlobMissing {
                digest: digest.clone(),
            }),
        }
    }
}

/// The member name of a blob in an OCI layout.
pub(crate) fn blob_member(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm(), digest.hex())
}

fn open_file(path: &Path) -> Result<File, SourceError> {
    File::open(path).map_err(|e| io_error(path, e))
}

pub(crate) fn io_error(path: &Path, cause: std::io::Error) -> SourceError {
    if cause.kind() == std::io::ErrorKind::NotFound {
        return SourceError::NotFound {
            path: path.to_owned(),
        };
    }
    SourceError::Io {
        path: path.to_owned(),
        cause,
    }
}

pub(crate) fn not_an_image(path: &Path, reason: &str) -> SourceError {
    SourceError::NotAnImage {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_escapes_refused() {
        assert_eq!(
            normalize(b"./blobs//sha256/ab").as_deref(),
            Some("blobs/sha256/ab")
        );
        assert_eq!(normalize(b"blobs/sha256/").as_deref(), Some("blobs/sha256"));
        assert_eq!(normalize(b"a/../b").as_deref(), Some("b"));
        assert_eq!(normalize(b"../x"), None);
        assert_eq!(normalize(b"./"), None);
        assert_eq!(normalize(b"a\xff"), None);
    }

    #[test]
    fn symlinks_resolve_against_their_directory() {
        assert_eq!(
            resolve_symlink("id/layer.tar", b"../d.tar").as_deref(),
            Some("d.tar")
        );
        assert_eq!(
            resolve_symlink("id/layer.tar", b"other.tar").as_deref(),
            Some("id/other.tar")
        );
        assert_eq!(resolve_symlink("id/layer.tar", b"../../etc/passwd"), None);
        assert_eq!(resolve_symlink("id/layer.tar", b"/etc/passwd"), None);
    }
}

#[cfg(test)]
mod archive_tests {
    use std::io::Read;

    use crate::fixture::{DockerStyle, Fault, ImageBuilder, LayerBuilder, LayerCompression};
    use crate::oci::Manifest;
    use crate::source::{SourceError, open_image};

    fn image() -> ImageBuilder {
        let layer = LayerBuilder::new()
            .dir("etc")
            .file("etc/motd", "hello")
            .build();
        ImageBuilder::new().layer(layer, LayerCompression::Zstd)
    }

    fn read_all(reader: &mut dyn Read) -> Vec<u8> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn oci_archive_blobs_are_read_in_place_with_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("img.tar");
        let built = image().build();
        image()
            .write_oci_archive(&file, Some("testbed/a:latest"))
            .unwrap();
        let opened =
            open_image(&format!("oci-archive:{}:testbed/a:latest", file.display())).unwrap();
        assert_eq!(opened.root.digest, built.manifest.digest);
        let manifest_bytes = read_all(&mut opened.source.open(&built.manifest.digest).unwrap());
        assert_eq!(manifest_bytes, built.manifest_bytes);
        for (digest, bytes) in &built.blobs {
            assert_eq!(
                &read_all(&mut opened.source.open(digest).unwrap()),
                bytes,
                "{digest}"
            );
        }
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes).unwrap();
        assert_eq!(manifest.config.digest, built.config.digest);
    }

    #[test]
    fn dot_slash_member_names_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("img.tar");
        let built = image().build();
        std::fs::write(&file, image().oci_files(None).to_tar_with_prefix("./")).unwrap();
        let opened = open_image(file.to_str().unwrap()).unwrap();
        let config = read_all(&mut opened.source.open(&built.config.digest).unwrap());
        assert_eq!(config, built.config_bytes);
    }

    #[test]
    fn missing_blob_in_archive_is_blob_missing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("img.tar");
        let faulty = image().fault(Fault::OmitConfig);
        faulty.write_oci_archive(&file, None).unwrap();
        let opened = open_image(&format!("oci-archive:{}", file.display())).unwrap();
        let error = opened
            .source
            .open(&faulty.build().config.digest)
            .err()
            .unwrap();
        assert!(matches!(error, SourceError::BlobMissing { .. }), "{error}");
    }

    #[test]
    fn symlinks_out_of_the_archive_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("img.tar");
        let built = image().build();
        let mut tree = image().oci_files(None);
        let config_member = format!("blobs/sha256/{}", built.config.digest.hex());
        tree.remove(&config_member);
        tree.insert_symlink(&config_member, "../../../etc/passwd");
        tree.write_tar(&file).unwrap();
        let opened = open_image(file.to_str().unwrap()).unwrap();
        let error = opened.source.open(&built.config.digest).err().unwrap();
        assert!(
            error.to_string().contains("links outside the archive"),
            "{error}"
        );
    }

    #[test]
    fn truncated_archive_member_is_reported_not_short_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("img.tar");
        let built = image().build();
        let mut tree = image().oci_files(None);
        // Put a big blob last so that cutting the file cuts its data.
        tree.insert_file("zz-big", vec![7u8; 4096]);
        let mut tar = tree.to_tar();
        tar.truncate(tar.len() - 1024 - 2048);
        std::fs::write(&file, &tar).unwrap();
        let opened = open_image(file.to_str().unwrap()).unwrap();
        assert_eq!(opened.root.digest, built.manifest.digest);
        let tar_file = super::TarFile::scan(&file).unwrap();
        let error = tar_file.open_member("zz-big").err().unwrap();
        assert!(error.to_string().contains("truncated archive"), "{error}");
    }

    #[test]
    fn oci_archive_prefix_on_a_docker_archive_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("img.tar");
        image()
            .docker_files(None, DockerStyle::Legacy)
            .write_tar(&file)
            .unwrap();
        let error = open_image(&format!("oci-archive:{}", file.display())).unwrap_err();
        assert!(
            error.to_string().contains("looks like a docker-archive"),
            "{error}"
        );
    }
}

//! Reading one layer: verify the blob, decompress it, walk its tar stream and keep each entry's metadata
//! and the sha256 of its content. Content is streamed through hashers and never held.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use sha2::{Digest as _, Sha256};

use crate::model::{EntryKind, EntryMeta, TarFormat, Timestamp, name_from_bytes};
use crate::oci::{BlobKind, Compression, Descriptor, Digest};
use crate::source::BlobSource;

use super::blob::VerifyingReader;
use super::error::BlobError;
use super::stream_hash::StreamHasher;

const READ_BUFFER: usize = 256 * 1024;
const BLOCK: u64 = 512;

/// What reading a layer gives.
#[derive(Debug, Default)]
pub struct LayerScan {
    pub entries: Vec<EntryMeta>,
    /// The compression actually found (which may contradict the media type).
    pub compression: Option<Compression>,
    pub warnings: Vec<String>,
}

/// Receives the content of chosen entries when a layer is read again to extract files.
pub trait ContentVisitor {
    fn wants(&mut self, index: u32) -> bool;
    fn visit(&mut self, entry: &EntryMeta, content: &mut dyn Read) -> io::Result<()>;
}

/// Reads and verifies one layer blob. `diff_id` is the config's digest of the uncompressed tar.
pub fn scan_layer(
    source: &dyn BlobSource,
    desc: &Descriptor,
    diff_id: Option<&Digest>,
    progress: Option<Arc<AtomicU64>>,
) -> Result<LayerScan, BlobError> {
    read_layer(source, desc, diff_id, progress, None)
}

/// Reads a layer again and hands the content of the entries `visitor` wants to it (still verified).
pub fn extract_from_layer(
    source: &dyn BlobSource,
    desc: &Descriptor,
    visitor: &mut dyn ContentVisitor,
) -> Result<(), BlobError> {
    read_layer(source, desc, None, None, Some(visitor)).map(|_| ())
}

/// Walks an uncompressed tar stream that is not a layer blob (an archive nested inside a file), with the
/// same reader and checks as layers but nothing to verify it against. The caller bounds the stream.
pub fn scan_tar_stream<R: Read>(stream: R) -> Result<Vec<EntryMeta>, BlobError> {
    scan_tar(stream, None, None).map(|(entries, _)| entries)
}

fn read_layer(
    source: &dyn BlobSource,
    desc: &Descriptor,
    diff_id: Option<&Digest>,
    progress: Option<Arc<AtomicU64>>,
    visitor: Option<&mut dyn ContentVisitor>,
) -> Result<LayerScan, BlobError> {
    read_layer_stream(source, desc, diff_id, progress, visitor)
        .map_err(|e| blame_blob(source, desc, e))
}

/// A decoder or the tar reader stops at the first bad byte, before the verifier has seen the end of
/// the blob; a blob altered in storage would then be reported as a corrupt stream. Such failures are
/// checked against the blob once more: if its bytes are not the descriptor's, that is the error.
fn blame_blob(source: &dyn BlobSource, desc: &Descriptor, error: BlobError) -> BlobError {
    match error {
        BlobError::Integrity(_)
        | BlobError::Source(_)
        | BlobError::ForeignLayer
        | BlobError::UnsupportedMediaType(_) => error,
        other => {
            let Ok(raw) = source.open(&desc.digest) else {
                return other;
            };
            let mut verifier = VerifyingReader::new(raw, desc, None);
            match io::copy(&mut verifier, &mut io::sink()).map_err(BlobError::from_io) {
                Err(integrity @ BlobError::Integrity(_)) => integrity,
                _ => other,
            }
        }
    }
}

fn read_layer_stream(
    source: &dyn BlobSource,
    desc: &Descriptor,
    diff_id: Option<&Digest>,
    progress: Option<Arc<AtomicU64>>,
    visitor: Option<&mut dyn ContentVisitor>,
) -> Result<LayerScan, BlobError> {
    let declared = match desc.kind() {
        BlobKind::Layer(c) => c,
        BlobKind::ForeignLayer => return Err(BlobError::ForeignLayer),
        _ => return Err(BlobError::UnsupportedMediaType(desc.media_type.clone())),
    };
    let raw = source.open(&desc.digest).map_err(BlobError::Source)?;
    let verifier = VerifyingReader::new(raw, desc, progress);
    let mut buffered = BufReader::with_capacity(READ_BUFFER, verifier);
    let magic = buffered.fill_buf().map_err(BlobError::from_io)?;
    let found = Compression::sniff(magic).unwrap_or(Compression::None);
    let mut warnings = Vec::new();
    if found != declared {
        warnings.push(format!(
            "layer {} has media type {} but its content is {}; read as {}",
            desc.digest,
            desc.media_type,
            compression_name(found),
            compression_name(found)
        ));
    }
    let (entries, buffered) = match found {
        Compression::Gzip => {
            let (entries, decoder) = scan_tar(
                flate2::bufread::MultiGzDecoder::new(buffered),
                diff_id,
                visitor,
            )
            .map_err(|e| in_codec("gzip", e))?;
            (entries, decoder.into_inner())
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| BlobError::decode("zstd", e))?;
            let (entries, decoder) =
                scan_tar(decoder, diff_id, visitor).map_err(|e| in_codec("zstd", e))?;
            (entries, decoder.finish())
        }
        Compression::None => scan_tar(buffered, diff_id, visitor)?,
    };
    let mut verifier = buffered.into_inner();
    io::copy(&mut verifier, &mut io::sink()).map_err(BlobError::from_io)?;
    verifier.finish().map_err(BlobError::from_io)?;
    Ok(LayerScan {
        entries,
        compression: Some(found),
        warnings,
    })
}

fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "plain tar",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

/// Attributes a generic I/O failure inside a decompressed stream to the codec (truncation, corruption).
fn in_codec(codec: &'static str, error: BlobError) -> BlobError {
    match error {
        BlobError::Io(e) => BlobError::decode(codec, e),
        BlobError::Tar(message) if message.contains("unexpected end of file") => {
            BlobError::Decode { codec, message }
        }
        other => other,
    }
}

/// The uncompressed stream as the decoder gives it.
struct Watched<R> {
    inner: R,
    /// Set when the stream below failed, so the failure is blamed on the codec and not on tar.
    failed: Rc<Cell<bool>>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| self.failed.set(true))
    }
}

/// What the tar reader consumes, hashed for the diff_id check. Hashed here, above the buffer, because
/// here the tar reader's reads of a file's content are exactly that content, so its digest comes from
/// the same pass (see `StreamHasher`).
struct Tapped<R> {
    inner: R,
    /// Shared with the walker, which cannot reach the stream while the tar iterator borrows it.
    hasher: Rc<RefCell<StreamHasher>>,
}

impl<R: Read> Read for Tapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.borrow_mut().update(&buf[..n]);
        Ok(n)
    }
}

/// Walks a tar stream, then drains it and checks its diff_id. Returns the entries and the reader below.
///
/// The tar reader asks for 512-byte headers; a buffer between it and the decoder keeps the decoder
/// working on large blocks (its fast path).
fn scan_tar<R: Read>(
    decoded: R,
    diff_id: Option<&Digest>,
    mut visitor: Option<&mut dyn ContentVisitor>,
) -> Result<(Vec<EntryMeta>, R), BlobError> {
    let hasher = Rc::new(RefCell::new(StreamHasher::new()));
    let failed = Rc::new(Cell::new(false));
    let watched = Watched {
        inner: decoded,
        failed: Rc::clone(&failed),
    };
    let stream = Tapped {
        inner: BufReader::with_capacity(READ_BUFFER, watched),
        hasher: Rc::clone(&hasher),
    };
    let tar_error = |error: io::Error| match BlobError::from_io(error) {
        BlobError::Io(e) if failed.get() => BlobError::Io(e),
        // The stream ended inside the padding after the last entry: no end-of-archive blocks either.
        BlobError::Io(e) if e.to_string().contains("unexpected EOF during skip") => {
            BlobError::MissingEndOfArchive
        }
        BlobError::Io(e) => BlobError::Tar(e.to_string()),
        other => other,
    };
    let mut archive = tar::Archive::new(stream);
    let mut entries = Vec::new();
    let mut content_buffer = vec![0u8; READ_BUFFER];
    let mut iter = archive.entries().map_err(tar_error)?;
    let mut before_next = 0;
    for entry in iter.by_ref() {
        let mut entry = entry.map_err(tar_error)?;
        let read = if entry.header().entry_type().is_pax_global_extensions() {
            drain_entry(&mut entry, &mut content_buffer).map(|_| None)
        } else {
            let index = entries.len() as u32;
            let wants = visitor.as_mut().is_some_and(|v| v.wants(index));
            let wanted = if wants { visitor.as_mut() } else { None };
            read_entry(index, &mut entry, &mut content_buffer, wanted, &hasher).map(Some)
        };
        match read {
            Ok(meta) => entries.extend(meta),
            Err(BlobError::Io(e)) => return Err(tar_error(e)),
            Err(other) => return Err(other),
        }
        before_next = hasher.borrow().len();
    }
    // The final `next()` skipped the last entry's padding (< 512 bytes) and then either read a zero
    // block (a proper end) or hit the end of the stream (a truncated tar).
    if hasher.borrow().len() - before_next < BLOCK {
        return Err(BlobError::MissingEndOfArchive);
    }
    let mut stream = archive.into_inner();
    io::copy(&mut stream, &mut io::sink()).map_err(BlobError::from_io)?;
    let watched = stream.inner.into_inner();
    let actual = Digest::from_sha256(hasher.borrow().finalize());
    if let Some(expected) = diff_id
        && *expected != actual
    {
        return Err(BlobError::DiffIdMismatch {
            expected: expected.clone(),
            actual,
        });
    }
    Ok((entries, watched.inner))
}

fn drain_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    buffer: &mut [u8],
) -> Result<u64, BlobError> {
    let mut total = 0u64;
    loop {
        let n = entry.read(buffer).map_err(BlobError::from_io)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

fn read_entry<R: Read>(
    index: u32,
    entry: &mut tar::Entry<'_, R>,
    buffer: &mut [u8],
    visitor: Option<&mut &mut dyn ContentVisitor>,
    stream: &RefCell<StreamHasher>,
) -> Result<EntryMeta, BlobError> {
    let name = name_from_bytes(&entry.path_bytes());
    let header = entry.header().clone();
    let kind = EntryKind::from_typeflag(header.entry_type().as_byte());
    let pax = pax_records(entry)?;
    let bad = |field| BlobError::BadHeaderField {
        name: name.clone(),
        field,
    };
    let size = entry.size();
    let mut meta = EntryMeta {
        index,
        name: name.clone(),
        kind,
        link: entry.link_name_bytes().map(|l| name_from_bytes(&l)),
        size,
        mode: numeric(&header.as_old().mode, header.mode()).ok_or_else(|| bad("mode"))?,
        uid: numeric(&header.as_old().uid, header.uid()).ok_or_else(|| bad("uid"))?,
        gid: numeric(&header.as_old().gid, header.gid()).ok_or_else(|| bad("gid"))?,
        uname: header
            .username_bytes()
            .map(name_from_bytes)
            .unwrap_or_default(),
        gname: header
            .groupname_bytes()
            .map(name_from_bytes)
            .unwrap_or_default(),
        mtime: Timestamp::from_secs(
            numeric(&header.as_old().mtime, header.mtime()).ok_or_else(|| bad("mtime"))? as i64,
        ),
        atime: gnu_time(&header, true),
        ctime: gnu_time(&header, false),
        device: None,
        xattrs: BTreeMap::new(),
        pax: BTreeMap::new(),
        format: header_format(&header, !pax.is_empty()),
        content: None,
    };
    if matches!(kind, EntryKind::CharDevice | EntryKind::BlockDevice) {
        let fields = header
            .as_ustar()
            .map(|u| (u.dev_major, u.dev_minor))
            .unwrap_or_default();
        let major =
            device_number(&fields.0, header.device_major()).ok_or_else(|| bad("devmajor"))?;
        let minor =
            device_number(&fields.1, header.device_minor()).ok_or_else(|| bad("devminor"))?;
        meta.device = Some((major, minor));
    }
    apply_pax(&mut meta, pax);
    if let Some(visitor) = visitor {
        visitor.visit(&meta, entry).map_err(BlobError::from_io)?;
        drain_entry(entry, buffer)?;
    } else if kind == EntryKind::File {
        // The stream's hasher hashes the content as the tar reader reads it; a content that does not
        // start on a block boundary (never seen in a tar) is hashed here instead.
        let mut own = (!stream.borrow_mut().begin_section()).then(Sha256::new);
        let mut read = 0u64;
        loop {
            let n = entry.read(buffer).map_err(BlobError::from_io)?;
            if n == 0 {
                break;
            }
            if let Some(own) = own.as_mut() {
                own.update(&buffer[..n]);
            }
            read += n as u64;
        }
        let section = stream.borrow_mut().end_section();
        if read != size {
            return Err(BlobError::TruncatedEntry {
                name,
                expected: size,
                actual: read,
            });
        }
        meta.content = own
            .map(|own| own.finalize().into())
            .or(section)
            .map(Digest::from_sha256);
    } else {
        drain_entry(entry, buffer)?;
    }
    Ok(meta)
}

/// PAX records that apply to this entry (key, raw value).
fn pax_records<R: Read>(
    entry: &mut tar::Entry<'_, R>,
) -> Result<Vec<(String, Vec<u8>)>, BlobError> {
    let Some(extensions) = entry.pax_extensions().map_err(BlobError::from_io)? else {
        return Ok(Vec::new());
    };
    let mut records = Vec::new();
    for extension in extensions {
        let extension = extension.map_err(BlobError::from_io)?;
        records.push((
            name_from_bytes(extension.key_bytes()),
            extension.value_bytes().to_vec(),
        ));
    }
    Ok(records)
}

/// Folds PAX records into the entry: times, names and xattrs get their own fields; the rest is kept.
fn apply_pax(meta: &mut EntryMeta, records: Vec<(String, Vec<u8>)>) {
    for (key, value) in records {
        let text = name_from_bytes(&value);
        match key.as_str() {
            "path" | "linkpath" | "size" | "uid" | "gid" => {}
            "mtime" => meta.mtime = Timestamp::parse_pax(&text).unwrap_or(meta.mtime),
            "atime" => meta.atime = Timestamp::parse_pax(&text).or(meta.atime),
            "ctime" => meta.ctime = Timestamp::parse_pax(&text).or(meta.ctime),
            "uname" => meta.uname = text,
            "gname" => meta.gname = text,
            _ => match key.strip_prefix("SCHILY.xattr.") {
                Some(attr) => {
                    meta.xattrs.insert(attr.to_owned(), text);
                }
                None => {
                    meta.pax.insert(key, text);
                }
            },
        }
    }
}

/// A numeric header field; a field of only NULs or spaces means 0 (as Go's reader and real writers
/// have it), anything else unparsable is an error.
fn numeric<T: Default>(raw: &[u8], parsed: io::Result<T>) -> Option<T> {
    match parsed {
        Ok(value) => Some(value),
        Err(_) if raw.iter().all(|b| *b == 0 || *b == b' ') => Some(T::default()),
        Err(_) => None,
    }
}

/// Device numbers: the accessor returns `None` for headers without the fields (V7).
fn device_number(raw: &[u8], parsed: io::Result<Option<u32>>) -> Option<u32> {
    numeric(raw, parsed.map(Option::unwrap_or_default))
}

fn header_format(header: &tar::Header, has_pax: bool) -> TarFormat {
    if has_pax {
        TarFormat::Pax
    } else if header.as_ustar().is_some() {
        TarFormat::Ustar
    } else if header.as_gnu().is_some() {
        TarFormat::Gnu
    } else {
        TarFormat::V7
    }
}

/// GNU headers carry atime and ctime fields; zero means unset.
fn gnu_time(header: &tar::Header, atime: bool) -> Option<Timestamp> {
    let gnu = header.as_gnu()?;
    let secs = if atime { gnu.atime() } else { gnu.ctime() }.ok()?;
    (secs != 0).then(|| Timestamp::from_secs(secs as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testing::{MemorySource, gzip, tar_of, zstd};
    use crate::oci::media_type::*;

    fn scan(
        source: &MemorySource,
        desc: &Descriptor,
        diff_id: &[u8],
    ) -> Result<LayerScan, BlobError> {
        scan_layer(source, desc, Some(&Digest::sha256_of(diff_id)), None)
    }

    #[test]
    fn reads_every_member_of_a_multi_member_gzip_layer() {
        let tar = tar_of(&[("a", b"first", 0o644), ("b", b"second", 0o755)]);
        let (head, tail) = tar.split_at(512 * 2);
        let mut blob = gzip(head);
        blob.extend(gzip(tail));
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_GZIP, blob);
        let scan = scan(&source, &desc, &tar).unwrap();
        let names: Vec<_> = scan.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(scan.entries[1].content, Some(Digest::sha256_of(b"second")));
        assert_eq!(scan.entries[1].mode, 0o755);
    }

    #[test]
    fn content_digests_are_right_for_every_size_and_around_the_read_buffer() {
        // Content digests come from the stream hasher's second state; sizes around a 64-byte block,
        // a 512-byte tar block and the 256 KiB read buffer, after headers of every kind.
        let sizes = [
            0,
            1,
            55,
            56,
            63,
            64,
            65,
            511,
            512,
            513,
            READ_BUFFER - 1,
            READ_BUFFER + 1,
        ];
        let contents: Vec<Vec<u8>> = sizes
            .iter()
            .map(|&size| (0..size).map(|i| (i * 7 + size) as u8).collect())
            .collect();
        let mut builder = tar::Builder::new(Vec::new());
        for (i, content) in contents.iter().enumerate() {
            // GNU headers with a 130-byte name add a long-name entry before the file's own header.
            let mut header = if i % 2 == 0 {
                tar::Header::new_gnu()
            } else {
                tar::Header::new_ustar()
            };
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            let name = format!("{}/f{i}", "long-name-".repeat(13));
            builder
                .append_data(&mut header, name, content.as_slice())
                .unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_GZIP, gzip(&tar));
        let scan = scan(&source, &desc, &tar).unwrap();
        let digests: Vec<_> = scan.entries.iter().map(|e| e.content.clone()).collect();
        let expected: Vec<_> = contents
            .iter()
            .map(|c| Some(Digest::sha256_of(c)))
            .collect();
        assert_eq!(digests, expected);
    }

    #[test]
    fn zstd_and_plain_layers_give_the_same_entries() {
        let tar = tar_of(&[("etc/x", b"x", 0o600)]);
        let mut source = MemorySource::default();
        let z = source.add(OCI_LAYER_ZSTD, zstd(&tar));
        let p = source.add(OCI_LAYER_TAR, tar.clone());
        assert_eq!(
            scan(&source, &z, &tar).unwrap().entries,
            scan(&source, &p, &tar).unwrap().entries
        );
    }

    #[test]
    fn pax_times_uid_and_xattrs_are_read() {
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_pax_extensions([
                ("mtime", &b"1700000000.123456789"[..]),
                ("SCHILY.xattr.user.k", b"v"),
                ("uid", b"1000"),
                ("GNU.custom", b"z"),
            ])
            .unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_size(0);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, "f", &b""[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_TAR, tar.clone());
        let entry = &scan(&source, &desc, &tar).unwrap().entries[0];
        assert_eq!(
            entry.mtime,
            Timestamp {
                secs: 1_700_000_000,
                nanos: 123_456_789
            }
        );
        assert_eq!(entry.uid, 1000);
        assert_eq!(entry.xattrs.get("user.k").map(String::as_str), Some("v"));
        assert_eq!(entry.pax.get("GNU.custom").map(String::as_str), Some("z"));
        assert_eq!(entry.format, TarFormat::Pax);
    }

    #[test]
    fn truncated_gzip_and_zstd_are_clear_errors() {
        let tar = tar_of(&[("big", &[7u8; 100_000], 0o644)]);
        for (media, blob) in [(OCI_LAYER_GZIP, gzip(&tar)), (OCI_LAYER_ZSTD, zstd(&tar))] {
            let cut = blob[..blob.len() / 2].to_vec();
            let mut source = MemorySource::default();
            let mut desc = source.add(media, cut);
            // The descriptor matches the truncated bytes: only the decoder can notice.
            desc.media_type = media.into();
            let err = scan(&source, &desc, &tar).unwrap_err().to_string();
            assert!(err.contains("corrupt or truncated"), "{media}: {err}");
        }
    }

    #[test]
    fn tar_without_end_of_archive_blocks_is_rejected() {
        let tar = tar_of(&[("a", b"1", 0o644)]);
        let cut = tar[..1024].to_vec(); // header + one data block, no zero blocks
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_TAR, cut.clone());
        let err = scan(&source, &desc, &cut).unwrap_err();
        assert!(matches!(err, BlobError::MissingEndOfArchive), "{err}");
    }

    #[test]
    fn entry_data_cut_short_is_rejected() {
        let tar = tar_of(&[("a", &[1u8; 4000], 0o644)]);
        let cut = tar[..2048].to_vec();
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_TAR, cut.clone());
        let err = scan(&source, &desc, &cut).unwrap_err().to_string();
        assert!(
            err.contains("\"a\" is truncated") || err.contains("corrupt tar"),
            "{err}"
        );
    }

    #[test]
    fn digest_and_diff_id_mismatches_name_what_failed() {
        let tar = tar_of(&[("a", b"1", 0o644)]);
        let mut source = MemorySource::default();
        let good = source.add(OCI_LAYER_GZIP, gzip(&tar));
        let err = scan(&source, &good, b"not the tar")
            .unwrap_err()
            .to_string();
        assert!(err.contains("diff_id"), "{err}");
        let mut lying = good.clone();
        lying.digest = Digest::sha256_of(b"other");
        source.blobs_insert_for_test(&lying.digest, gzip(&tar));
        let err = scan(&source, &lying, &tar).unwrap_err().to_string();
        assert!(err.contains("digest mismatch"), "{err}");
    }

    #[test]
    fn garbage_is_a_tar_error_not_a_panic() {
        let junk = vec![0x41u8; 2048];
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_TAR, junk.clone());
        let err = scan(&source, &desc, &junk).unwrap_err().to_string();
        assert!(err.contains("corrupt tar"), "{err}");
    }
}

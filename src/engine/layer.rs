//! Reading one layer: verify the blob, decompress it, walk its tar stream and keep each entry's metadata
//! and the sha256 of its content. Content is streamed through hashers and never held.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use sha2::{Digest as _, Sha256};

use crate::codec::GzipMembers;
use crate::model::{
    EntryExtras, EntryFields, EntryKind, EntryMeta, NestedFormat, Owner, canonical_path,
    name_from_bytes,
};
use crate::oci::{Compression, Descriptor, Digest};
use crate::source::BlobSource;
use crate::tarball::{self, BufStreamed};

use super::blob::VerifyingReader;
use super::error::BlobError;
use super::held::{HeldContent, HeldWriter};
use super::spool::{ContentSpool, SpoolWriter};
use super::stream_hash::{Companion, StreamHasher};

const READ_BUFFER: usize = 256 * 1024;
/// The blob's own reads stay small: the kernel copies each into this buffer, and a buffer that fits the
/// cache next to the decoder's window made those copies 4x cheaper (W1: 162 → 41 perf samples in
/// `_copy_to_iter`, wall 1.25x → 1.20x of the baseline, which reads 32 KiB at a time too).
const BLOB_READ_BUFFER: usize = 32 * 1024;

/// Bounds on what one layer may make the reader hold: the tar reader's own, and the number of entries
/// (each is kept in memory until the comparison ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    pub tar: tarball::Limits,
    pub layer_entries: u64,
    /// The most content a [`Capture`] keeps of one layer's files.
    pub capture_layer: u64,
}

impl ReadLimits {
    pub const DEFAULT: ReadLimits = ReadLimits {
        tar: tarball::Limits::DEFAULT,
        layer_entries: 1 << 20,
        capture_layer: 256 << 20,
    };

    /// Every limit multiplied by `factor` (`--max-scale`).
    pub fn scaled(factor: f64) -> ReadLimits {
        let scale = |limit: u64| (limit as f64 * factor).clamp(1.0, u64::MAX as f64) as u64;
        ReadLimits {
            tar: tarball::Limits::scaled(factor),
            layer_entries: scale(Self::DEFAULT.layer_entries),
            capture_layer: scale(Self::DEFAULT.capture_layer),
        }
    }
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits::DEFAULT
    }
}

/// What reading a layer gives.
#[derive(Debug, Default)]
pub struct LayerScan {
    /// Shared from the start: the differences and the pairing hold the same entries.
    pub entries: Vec<EntryMeta>,
    /// The contents kept of the files a [`Capture`] asked for, by entry index.
    pub captured: Vec<(u32, Vec<u8>)>,
    /// The compression actually found (which may contradict the media type).
    pub compression: Option<Compression>,
    pub warnings: Vec<String>,
}

/// Receives the content of chosen entries when a layer is read again to extract files.
pub trait ContentVisitor {
    fn wants(&mut self, index: u32) -> bool;
    fn visit(&mut self, entry: &EntryMeta, content: &mut dyn Read) -> io::Result<()>;
    /// Whether the read should end now (nobody waits for it any more); asked at each entry.
    fn stopped(&mut self) -> bool {
        false
    }
}

/// Is told of each entry as the scan reads it, on the reading thread (before the layer is verified).
pub trait EntryObserver: Sync {
    /// Where to copy the whole content of the file at `path`, `size` bytes long, that holds files (an
    /// archive, a compressed file), if the observer wants it: the content then comes with the entry.
    fn hold(&self, _path: &str, _size: u64) -> Option<HeldWriter> {
        None
    }

    /// The entry is shared with the scan's list of entries: keeping it costs no copy.
    fn entry(&self, entry: &EntryMeta, content: Option<HeldContent>);
}

/// Which files' contents a scan keeps (within [`ReadLimits::capture_layer`] per layer): files whose
/// content explains differences, such as package databases and the logs a noise rule reads. `wants`
/// gives, for a canonical path, the most bytes to keep of it: a longer file is kept cut (its size says
/// so), 0 keeps only its presence. With a `spool` (the explorer), every regular file's content is
/// also copied there, within its budget.
pub struct Capture<'c> {
    pub wants: &'c (dyn Fn(&str) -> Option<u64> + Sync),
    pub spool: Option<&'c ContentSpool>,
}

/// How a layer's tar is read: what it is checked against and who wants which contents.
struct TarRead<'v> {
    /// The config's digest of the uncompressed tar.
    diff_id: Option<&'v Digest>,
    /// Whether the tar is walked and its entries listed; if not, it is only hashed.
    list_entries: bool,
    /// Whether the entries walked are kept; a read again for contents hands them to its visitor only.
    keep_entries: bool,
    visitor: Option<&'v mut dyn ContentVisitor>,
    capture: Option<&'v Capture<'v>>,
    observer: Option<&'v dyn EntryObserver>,
    /// Where this layer's file contents are copied, if they are.
    spool: Option<SpoolWriter<'v>>,
    limits: &'v ReadLimits,
}

impl<'v> TarRead<'v> {
    fn new(limits: &'v ReadLimits) -> TarRead<'v> {
        TarRead {
            diff_id: None,
            list_entries: true,
            keep_entries: true,
            visitor: None,
            capture: None,
            observer: None,
            spool: None,
            limits,
        }
    }
}

/// A tar walked: its entries and the contents captured.
#[derive(Default)]
struct Walked<'s> {
    entries: Vec<EntryMeta>,
    captured: Vec<(u32, Vec<u8>)>,
    /// To commit once the blob is verified.
    spooled: Option<SpoolWriter<'s>>,
}

/// Reads and verifies one layer blob. `diff_id` is the config's digest of the uncompressed tar; the
/// contents `capture` asks for are kept; `observer` is told of each entry as it is read.
pub fn scan_layer(
    source: &dyn BlobSource,
    desc: &Descriptor,
    diff_id: Option<&Digest>,
    progress: Option<Arc<AtomicU64>>,
    limits: &ReadLimits,
    capture: Option<&Capture<'_>>,
    observer: Option<&dyn EntryObserver>,
) -> Result<LayerScan, BlobError> {
    let how = TarRead {
        diff_id,
        capture,
        observer,
        spool: capture
            .and_then(|c| c.spool)
            .and_then(|spool| spool.writer(&desc.digest)),
        ..TarRead::new(limits)
    };
    read_layer(source, desc, progress, how)
}

/// Reads one layer blob only to verify it: its size and digest, and that its uncompressed tar hashes
/// to `diff_id`. Its entries are not listed.
pub fn verify_layer(
    source: &dyn BlobSource,
    desc: &Descriptor,
    diff_id: &Digest,
    progress: Option<Arc<AtomicU64>>,
    limits: &ReadLimits,
) -> Result<LayerScan, BlobError> {
    let how = TarRead {
        diff_id: Some(diff_id),
        list_entries: false,
        ..TarRead::new(limits)
    };
    read_layer(source, desc, progress, how)
}

/// Reads a layer again and hands the content of the entries `visitor` wants to it (still verified).
pub fn extract_from_layer(
    source: &dyn BlobSource,
    desc: &Descriptor,
    visitor: &mut dyn ContentVisitor,
    limits: &ReadLimits,
) -> Result<(), BlobError> {
    let how = TarRead {
        visitor: Some(visitor),
        keep_entries: false,
        ..TarRead::new(limits)
    };
    read_layer(source, desc, None, how).map(|_| ())
}

/// Walks an uncompressed tar stream that is not a layer blob (an archive nested inside a file), with the
/// same reader and checks as layers but nothing to verify it against. The caller bounds the stream.
pub fn scan_tar_stream<R: Read>(
    stream: R,
    limits: &ReadLimits,
) -> Result<Vec<EntryMeta>, BlobError> {
    scan_tar(stream, StreamHasher::new(), TarRead::new(limits)).map(|(walked, _)| walked.entries)
}

/// [`scan_tar_stream`], handing the content of the entries `visitor` wants to it.
pub fn visit_tar_stream<R: Read>(
    stream: R,
    visitor: &mut dyn ContentVisitor,
    limits: &ReadLimits,
) -> Result<Vec<EntryMeta>, BlobError> {
    let how = TarRead {
        visitor: Some(visitor),
        ..TarRead::new(limits)
    };
    scan_tar(stream, StreamHasher::new(), how).map(|(walked, _)| walked.entries)
}

fn read_layer(
    source: &dyn BlobSource,
    desc: &Descriptor,
    progress: Option<Arc<AtomicU64>>,
    how: TarRead<'_>,
) -> Result<LayerScan, BlobError> {
    read_layer_stream(source, desc, progress, how).map_err(|e| blame_blob(source, desc, e))
}

/// A decoder or the tar reader stops at the first bad byte, before the verifier has seen the end of
/// the blob; a blob altered in storage would then be reported as a corrupt stream. Such failures are
/// checked against the blob once more: if its bytes are not the descriptor's, that is the error.
fn blame_blob(source: &dyn BlobSource, desc: &Descriptor, error: BlobError) -> BlobError {
    match error {
        BlobError::Integrity(_)
        | BlobError::Source(_)
        | BlobError::UnsupportedMediaType(_)
        | BlobError::Stopped => error,
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
    progress: Option<Arc<AtomicU64>>,
    how: TarRead<'_>,
) -> Result<LayerScan, BlobError> {
    let Some(declared) = desc.kind().tar_compression() else {
        return Err(BlobError::UnsupportedMediaType(desc.media_type.clone()));
    };
    let raw = source.open(&desc.digest).map_err(BlobError::Source)?;
    let companion = Companion::shared();
    let verifier = VerifyingReader::with_hasher(raw, desc, progress, Rc::clone(&companion));
    let hasher = StreamHasher::with_companion(companion);
    let mut buffered = BufReader::with_capacity(BLOB_READ_BUFFER, verifier);
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
    let (walked, buffered) = match found {
        // With a diff_id to verify the decompressed stream against, gzip's CRC-32 adds nothing.
        Compression::Gzip if how.diff_id.is_some() => {
            let (walked, decoder) = scan_tar(GzipMembers::new(buffered), hasher, how)
                .map_err(|e| in_codec("gzip", e))?;
            let buffered = decoder.into_inner().ok_or_else(|| {
                BlobError::decode("gzip", io::Error::other("stream read after an error"))
            })?;
            (walked, buffered)
        }
        Compression::Gzip => {
            let (walked, decoder) =
                scan_tar(flate2::bufread::MultiGzDecoder::new(buffered), hasher, how)
                    .map_err(|e| in_codec("gzip", e))?;
            (walked, decoder.into_inner())
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| BlobError::decode("zstd", e))?;
            let (walked, decoder) =
                scan_tar(decoder, hasher, how).map_err(|e| in_codec("zstd", e))?;
            (walked, decoder.finish())
        }
        Compression::None => scan_tar(buffered, hasher, how)?,
    };
    let mut verifier = buffered.into_inner();
    io::copy(&mut verifier, &mut io::sink()).map_err(BlobError::from_io)?;
    verifier.finish().map_err(BlobError::from_io)?;
    if let Some(spooled) = walked.spooled {
        spooled.commit();
    }
    Ok(LayerScan {
        entries: walked.entries,
        captured: walked.captured,
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
        other => other,
    }
}

/// What the tar reader consumes, hashed for the diff_id check. Hashed here, above the buffer, because
/// here the tar reader's reads of a file's content are exactly that content, so its digest comes from
/// the same pass (see `StreamHasher`).
struct Tapped<R> {
    inner: BufReader<R>,
    /// Shared with the walker, which cannot reach the stream while the tar reader borrows it.
    hasher: Rc<RefCell<StreamHasher>>,
}

impl<R: Read> Read for Tapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.borrow_mut().update(&buf[..n]);
        Ok(n)
    }
}

/// Skipped bytes are hashed in the buffer, as they are consumed: a content nothing keeps is never
/// copied.
impl<R: Read> BufRead for Tapped<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.inner.buffer().len());
        self.hasher.borrow_mut().update(&self.inner.buffer()[..n]);
        self.inner.consume(n);
    }
}

type TarReader<R> = tarball::Reader<BufStreamed<Tapped<R>>>;

/// Walks a tar stream (unless `how.list_entries` is false), then drains it and checks its diff_id.
/// Returns what was walked and the reader below.
///
/// The tar reader asks for 512-byte headers; a buffer between it and the decoder keeps the decoder
/// working on large blocks (its fast path).
fn scan_tar<'v, R: Read>(
    decoded: R,
    hasher: StreamHasher,
    mut how: TarRead<'v>,
) -> Result<(Walked<'v>, R), BlobError> {
    let hasher = Rc::new(RefCell::new(hasher));
    let stream = Tapped {
        inner: BufReader::with_capacity(READ_BUFFER, decoded),
        hasher: Rc::clone(&hasher),
    };
    let limits = how.limits;
    let mut reader = tarball::Reader::new(BufStreamed(stream), limits.tar);
    let mut walked = Walked::default();
    let mut captured_bytes = 0u64;
    let mut content_buffer = vec![0u8; READ_BUFFER];
    let mut owners = Owners::default();
    let mut walked_count = 0u64;
    while how.list_entries
        && let Some(entry) = reader.next_entry().map_err(BlobError::from_tar)?
    {
        if walked_count >= limits.layer_entries {
            return Err(BlobError::TooManyEntries {
                limit: limits.layer_entries,
            });
        }
        if how.visitor.as_mut().is_some_and(|v| v.stopped()) {
            return Err(BlobError::Stopped);
        }
        let index = walked_count as u32;
        walked_count += 1;
        let wants = how.visitor.as_mut().is_some_and(|v| v.wants(index));
        let wanted = if wants { how.visitor.as_mut() } else { None };
        let name = name_from_bytes(&entry.name);
        let mut keep = how
            .capture
            .filter(|_| EntryKind::from_typeflag(entry.typeflag) == EntryKind::File)
            .and_then(|c| (c.wants)(&canonical_path(&name)))
            .map(|limit| limit.min(entry.size))
            .filter(|&kept| captured_bytes + kept <= limits.capture_layer)
            .map(Kept::new);
        let (meta, held) = read_entry(
            (index, name.into_boxed_str(), owners.of(&entry)),
            &entry,
            &mut reader,
            &mut content_buffer,
            wanted,
            &hasher,
            Keep {
                kept: keep.as_mut(),
                spool: how.spool.as_mut(),
                observer: how.observer,
            },
        )?;
        if let Some(kept) = keep.filter(|_| meta.kind() == EntryKind::File) {
            captured_bytes += kept.bytes.len() as u64;
            walked.captured.push((index, kept.bytes));
        }
        if let Some(observer) = how.observer {
            observer.entry(&meta, held);
        }
        if how.keep_entries {
            walked.entries.push(meta);
        }
    }
    // Kept until the comparison ends: without the room the last doublings left.
    walked.entries.shrink_to_fit();
    let mut stream = reader.into_inner().0;
    io::copy(&mut stream, &mut io::sink()).map_err(BlobError::from_io)?;
    let actual = Digest::from_sha256(hasher.borrow().finalize());
    if let Some(expected) = how.diff_id
        && *expected != actual
    {
        return Err(BlobError::DiffIdMismatch {
            expected: expected.clone(),
            actual,
        });
    }
    walked.spooled = how.spool;
    Ok((walked, stream.inner.into_inner()))
}

fn read_entry<R: Read>(
    (index, name, owner): (u32, Box<str>, Arc<Owner>),
    entry: &tarball::Entry,
    reader: &mut TarReader<R>,
    buffer: &mut [u8],
    visitor: Option<&mut &mut dyn ContentVisitor>,
    stream: &RefCell<StreamHasher>,
    keep: Keep<'_, '_>,
) -> Result<(EntryMeta, Option<HeldContent>), BlobError> {
    let kind = EntryKind::from_typeflag(entry.typeflag);
    let mut meta = EntryFields {
        index,
        name,
        kind,
        link: (!entry.link.is_empty()).then(|| name_from_bytes(&entry.link).into()),
        size: entry.size,
        mode: entry.mode,
        owner,
        mtime: entry.mtime,
        format: entry.format,
        content: None,
        nested: None,
        extras: EntryExtras {
            atime: entry.atime,
            ctime: entry.ctime,
            device: matches!(kind, EntryKind::CharDevice | EntryKind::BlockDevice)
                .then_some(entry.device),
            xattrs: text_pairs(&entry.xattrs),
            pax: text_pairs(&entry.pax),
        }
        .boxed(),
    };
    let mut held = None;
    if let Some(visitor) = visitor {
        visitor
            .visit(&meta.clone().into(), &mut reader.content(entry))
            .map_err(BlobError::from_io)?;
    } else if kind == EntryKind::File {
        let hold = Hold {
            observer: keep.observer,
            name: &meta.name,
        };
        let read = content_digest(index, entry, reader, buffer, stream, keep, hold)?;
        meta.content = read.digest;
        meta.nested = read.nested;
        held = read.held;
    }
    Ok((meta.into(), held))
}

/// The owners of a layer's entries, each kept once for the entries to share: a layer has a few.
#[derive(Default)]
struct Owners(Vec<Arc<Owner>>);

impl Owners {
    /// Beyond this many, a new owner is not kept for sharing (the search would cost more than it saves).
    const KEPT: usize = 64;

    fn of(&mut self, entry: &tarball::Entry) -> Arc<Owner> {
        let ids = |o: &&Arc<Owner>| o.uid == entry.uid && o.gid == entry.gid;
        let as_written = |o: &&Arc<Owner>| {
            ids(o) && o.uname.as_bytes() == entry.uname && o.gname.as_bytes() == entry.gname
        };
        if let Some(owner) = self.0.iter().find(as_written) {
            return Arc::clone(owner);
        }
        // Names that are not UTF-8 are kept escaped, so only their decoded form matches.
        let owner = Owner {
            uid: entry.uid,
            gid: entry.gid,
            uname: name_from_bytes(&entry.uname).into(),
            gname: name_from_bytes(&entry.gname).into(),
        };
        if let Some(same) = self.0.iter().find(|o| ***o == owner) {
            return Arc::clone(same);
        }
        let owner = Arc::new(owner);
        if self.0.len() < Self::KEPT {
            self.0.push(Arc::clone(&owner));
        }
        owner
    }
}

/// Where a file's content is kept besides being hashed: in memory (captured), in the spool, and
/// whole for the observer if it holds files.
struct Keep<'k, 's> {
    kept: Option<&'k mut Kept>,
    spool: Option<&'k mut SpoolWriter<'s>>,
    observer: Option<&'k dyn EntryObserver>,
}

/// Recognises a file's format on its first bytes and, if it holds files, asks the observer to hold
/// its content.
struct Hold<'h> {
    observer: Option<&'h dyn EntryObserver>,
    name: &'h str,
}

impl Hold<'_> {
    /// The file's format, and the writer the rest of its content goes to (having the first bytes) if
    /// the observer holds it.
    fn decide(&self, start: &Start, size: u64) -> (Option<NestedFormat>, Option<HeldWriter>) {
        let format = NestedFormat::sniff(self.name, start.bytes());
        let writer = format.and(self.observer).and_then(|observer| {
            let mut writer = observer.hold(&canonical_path(self.name), size)?;
            writer.write(start.bytes());
            Some(writer)
        });
        (format, writer)
    }
}

/// The content kept of a captured file: its first `limit` bytes.
struct Kept {
    bytes: Vec<u8>,
    limit: usize,
}

impl Kept {
    fn new(limit: u64) -> Kept {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Kept {
            bytes: Vec::with_capacity(limit.min(1 << 20)),
            limit,
        }
    }

    fn add(&mut self, chunk: &[u8]) {
        let room = self.limit - self.bytes.len();
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

/// The first bytes of a file's content, enough to recognise its format.
struct Start {
    bytes: [u8; 512],
    len: usize,
}

impl Start {
    fn new() -> Start {
        Start {
            bytes: [0; 512],
            len: 0,
        }
    }

    fn keep(&mut self, chunk: &[u8]) {
        let take = chunk.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&chunk[..take]);
        self.len += take;
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn room(&self) -> usize {
        self.bytes.len() - self.len
    }
}

/// What reading a file's content gave.
struct ContentRead {
    digest: Option<Digest>,
    nested: Option<NestedFormat>,
    held: Option<HeldContent>,
}

/// The sha256 of a file's content, the format its first bytes show, and the content if the observer
/// holds it. The stream's hasher hashes the content as the
/// tar reader reads it; a sparse file's content is not the stream (its holes are not stored), nor is a
/// content that does not start on a block boundary (never seen in a tar): those are hashed here.
fn content_digest<R: Read>(
    index: u32,
    entry: &tarball::Entry,
    reader: &mut TarReader<R>,
    buffer: &mut [u8],
    stream: &RefCell<StreamHasher>,
    mut keep: Keep<'_, '_>,
    hold: Hold<'_>,
) -> Result<ContentRead, BlobError> {
    let mut own = (entry.is_sparse() || !stream.borrow_mut().begin_section()).then(Sha256::new);
    let mut start = Start::new();
    if let Some(spool) = keep.spool.as_mut() {
        spool.begin(index, entry.size);
    }
    // Nothing but the stream hasher needs the bytes past the first ones: they are skipped, and hashed
    // where they lie in the read buffer.
    let mut hashed_only = keep.kept.is_none() && keep.spool.is_none() && own.is_none();
    // The format and the writer holding the content, decided on its first bytes.
    let mut decided: Option<(Option<NestedFormat>, Option<HeldWriter>)> = None;
    let mut content = reader.content(entry);
    loop {
        // An observer may hold the content: its first bytes are read apart to decide.
        let deciding = decided.is_none() && hold.observer.is_some();
        let want = if hashed_only || (deciding && start.room() > 0) {
            start.room()
        } else {
            buffer.len()
        };
        if want == 0 {
            break;
        }
        let n = content
            .read(&mut buffer[..want])
            .map_err(BlobError::from_io)?;
        if n == 0 {
            break;
        }
        start.keep(&buffer[..n]);
        if let Some(kept) = keep.kept.as_mut() {
            kept.add(&buffer[..n]);
        }
        if let Some(spool) = keep.spool.as_mut() {
            spool.write(&buffer[..n]);
        }
        if let Some(own) = own.as_mut() {
            own.update(&buffer[..n]);
        }
        if let Some((_, Some(held))) = decided.as_mut() {
            held.write(&buffer[..n]);
        }
        if start.room() == 0 && decided.is_none() {
            let decision = hold.decide(&start, entry.size);
            hashed_only &= decision.1.is_none();
            decided = Some(decision);
        }
    }
    // A file shorter than the first bytes looked at.
    let (nested, held) = decided.unwrap_or_else(|| hold.decide(&start, entry.size));
    if hashed_only {
        reader.skip_content().map_err(BlobError::from_tar)?;
    }
    if let Some(spool) = keep.spool {
        spool.end();
    }
    let section = stream.borrow_mut().end_section();
    let digest = own
        .map(|own| own.finalize().into())
        .or(section)
        .map(Digest::from_sha256);
    Ok(ContentRead {
        digest,
        nested,
        held: held.and_then(HeldWriter::finish),
    })
}

/// Names and values of PAX records and xattrs, kept as text (invalid UTF-8 escaped, never merged).
fn text_pairs(pairs: &[(Vec<u8>, Vec<u8>)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (name_from_bytes(key), name_from_bytes(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testing::{MemorySource, gzip, tar_of, zstd};
    use crate::model::{TarFormat, Timestamp};
    use crate::oci::media_type::*;

    fn scan(
        source: &MemorySource,
        desc: &Descriptor,
        diff_id: &[u8],
    ) -> Result<LayerScan, BlobError> {
        scan_layer(
            source,
            desc,
            Some(&Digest::sha256_of(diff_id)),
            None,
            &ReadLimits::DEFAULT,
            None,
            None,
        )
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
        let names: Vec<_> = scan.entries.iter().map(|e| e.name()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            scan.entries[1].content(),
            Some(&Digest::sha256_of(b"second"))
        );
        assert_eq!(scan.entries[1].mode(), 0o755);
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
        let digests: Vec<_> = scan.entries.iter().map(|e| e.content().cloned()).collect();
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
            entry.mtime(),
            Timestamp {
                secs: 1_700_000_000,
                nanos: 123_456_789
            }
        );
        assert_eq!(entry.owner().uid, 1000);
        assert_eq!(
            entry.extras().xattrs.get("user.k").map(String::as_str),
            Some("v")
        );
        assert_eq!(
            entry.extras().pax.get("GNU.custom").map(String::as_str),
            Some("z")
        );
        assert_eq!(entry.format(), TarFormat::Pax);
    }

    #[test]
    fn entries_with_one_owner_share_it_and_names_not_utf8_stay_escaped() {
        let mut builder = tar::Builder::new(Vec::new());
        let owners: [(u64, &[u8]); 5] = [
            (0, b"root"),
            (1000, b"user"),
            (0, b"root"),
            (7, b"caf\xe9"),
            (7, b"caf\xe9"),
        ];
        for (i, (uid, uname)) in owners.iter().enumerate() {
            let mut header = tar::Header::new_gnu();
            header.set_size(0);
            header.set_mode(0o644);
            header.set_uid(*uid);
            header.set_username("x").unwrap();
            header.as_gnu_mut().unwrap().uname[..uname.len()].copy_from_slice(uname);
            header.as_gnu_mut().unwrap().uname[uname.len()..].fill(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, format!("f{i}"), &b""[..])
                .unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_TAR, tar.clone());
        let entries = scan(&source, &desc, &tar).unwrap().entries;
        let owner = |i: usize| entries[i].owner();
        assert_eq!((owner(0).uid, &*owner(0).uname), (0, "root"));
        assert_eq!((owner(1).uid, &*owner(1).uname), (1000, "user"));
        assert_eq!(&*owner(3).uname, "caf\\xe9");
        assert!(std::ptr::eq(owner(0), owner(2)), "one root for both");
        assert!(std::ptr::eq(owner(3), owner(4)), "escaped names shared too");
        assert!(!std::ptr::eq(owner(0), owner(1)));
    }

    #[test]
    fn a_read_again_hands_over_the_wanted_entries_by_their_place_in_the_layer() {
        struct Wants(Vec<(u32, String, Vec<u8>)>);
        impl ContentVisitor for Wants {
            fn wants(&mut self, index: u32) -> bool {
                index == 2
            }
            fn visit(&mut self, entry: &EntryMeta, content: &mut dyn Read) -> io::Result<()> {
                let mut bytes = Vec::new();
                content.read_to_end(&mut bytes)?;
                self.0
                    .push((entry.index(), entry.name().to_string(), bytes));
                Ok(())
            }
        }
        let tar = tar_of(&[
            ("f0", b"0", 0o644),
            ("f1", b"1", 0o644),
            ("f2", b"2", 0o644),
        ]);
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_GZIP, gzip(&tar));
        let mut wants = Wants(Vec::new());
        extract_from_layer(&source, &desc, &mut wants, &ReadLimits::DEFAULT).unwrap();
        assert_eq!(wants.0, [(2, "f2".to_string(), b"2".to_vec())]);
    }

    #[test]
    fn a_wrong_gzip_crc_is_read_when_the_diff_id_proves_the_content_and_refused_without_one() {
        let tar = tar_of(&[("f", &[7u8; 10_000], 0o644)]);
        let mut blob = gzip(&tar);
        let crc_at = blob.len() - 8;
        blob[crc_at] ^= 0xFF;
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_GZIP, blob);
        let entries = scan(&source, &desc, &tar)
            .expect("diff_id verified")
            .entries;
        assert_eq!(entries.len(), 1);
        let unproven = scan_layer(&source, &desc, None, None, &ReadLimits::DEFAULT, None, None);
        let error = unproven
            .map(|scan| scan.entries.len())
            .expect_err("CRC checked without a diff_id")
            .to_string();
        assert!(error.contains("corrupt or truncated gzip"), "{error}");
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
        assert!(
            matches!(err, BlobError::Tar(tarball::TarError::MissingEndOfArchive)),
            "{err}"
        );
    }

    #[test]
    fn entry_data_cut_short_is_rejected() {
        let tar = tar_of(&[("a", &[1u8; 4000], 0o644)]);
        let cut = tar[..2048].to_vec();
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_TAR, cut.clone());
        let err = scan(&source, &desc, &cut).unwrap_err().to_string();
        assert!(err.contains("\"a\" at offset 0 is truncated"), "{err}");
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
    fn verifying_a_layer_hashes_it_without_listing_entries() {
        let tar = tar_of(&[("a", b"1", 0o644)]);
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_ZSTD, zstd(&tar));
        let limits = ReadLimits::DEFAULT;
        let diff_id = Digest::sha256_of(&tar);
        let scan = verify_layer(&source, &desc, &diff_id, None, &limits).unwrap();
        assert!(scan.entries.is_empty());
        let other = Digest::sha256_of(b"another tar");
        let error = verify_layer(&source, &desc, &other, None, &limits).unwrap_err();
        assert!(
            matches!(&error, BlobError::DiffIdMismatch { expected, actual }
                if *expected == other && *actual == diff_id),
            "{error}"
        );
        // Not a tar at all, but what the config says: verified (nothing claims it is a valid tar).
        let junk = vec![0x41u8; 100];
        let junk_desc = source.add(OCI_LAYER_TAR, junk.clone());
        verify_layer(
            &source,
            &junk_desc,
            &Digest::sha256_of(&junk),
            None,
            &limits,
        )
        .unwrap();
    }

    #[test]
    fn garbage_is_a_tar_error_not_a_panic() {
        let junk = vec![0x41u8; 2048];
        let mut source = MemorySource::default();
        let desc = source.add(OCI_LAYER_TAR, junk.clone());
        let err = scan(&source, &desc, &junk).unwrap_err().to_string();
        assert!(err.contains("bad checksum (not a tar header)"), "{err}");
    }
}

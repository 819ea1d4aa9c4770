//! The crate's one tar reader, for layers, archives of images and archives nested in files.
//!
//! It reads as Go's `archive/tar` does (Docker, BuildKit and containerd use it), with what a hostile
//! stream needs besides:
//! - names are bytes, never decoded: ustar and GNU names as written, PAX `path` as its value;
//! - PAX records are cut by their length prefix, so values may hold newlines;
//! - GNU long names and links, PAX headers and sparse maps are bounded by [`Limits`], and a sparse
//!   file's expanded size too, so a bomb is a one-line error, not an exhausted memory;
//! - errors name the header offset and field, never quote the input's bytes;
//! - sparse files (old GNU `S` and PAX 0.0, 0.1, 1.0) are read expanded, holes as zeros.

mod header;
mod pax;
mod sparse;

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use crate::model::{TarFormat, Timestamp, escape_control, name_from_bytes};

pub use header::{BLOCK, is_header};
use header::{Dialect, Header, Segment};
pub use pax::Record;
use sparse::SparseMap;

/// Bounds on what a tar stream can make the reader hold or produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest GNU long name or link, and the largest PAX extended header or sparse map (bytes).
    pub extension: u64,
    /// The largest size a sparse file may expand to (bytes): its holes are hashed as zeros.
    pub sparse_size: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        extension: 1 << 20,
        sparse_size: 8 << 30,
    };

    /// Every limit multiplied by `factor` (`--max-scale`).
    pub fn scaled(factor: f64) -> Limits {
        let scale = |limit: u64| (limit as f64 * factor).clamp(1.0, u64::MAX as f64) as u64;
        Limits {
            extension: scale(Self::DEFAULT.extension),
            sparse_size: scale(Self::DEFAULT.sparse_size),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// What can go wrong reading a tar stream. Offsets are byte offsets in the (uncompressed) tar stream.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    /// The stream below failed (a decoder, a verifier, the disk).
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("tar stream ends without end-of-archive blocks (truncated tar)")]
    MissingEndOfArchive,
    #[error("tar stream ends inside the header at offset {offset} (truncated tar)")]
    TruncatedHeader { offset: u64 },
    #[error(
        "tar entry \"{name}\" at offset {offset} is truncated: header says {expected} bytes, stream has {actual}"
    )]
    TruncatedData {
        name: String,
        offset: u64,
        expected: u64,
        actual: u64,
    },
    #[error("tar header at offset {offset} has a bad checksum (not a tar header)")]
    BadChecksum { offset: u64 },
    #[error("tar header at offset {offset} has an invalid {field} field")]
    BadField { offset: u64, field: &'static str },
    #[error("PAX header at offset {offset}: {reason}")]
    BadPax { offset: u64, reason: &'static str },
    #[error("PAX header at offset {offset}: invalid {key} value")]
    BadPaxValue { offset: u64, key: &'static str },
    #[error("sparse entry at offset {offset}: {reason}")]
    BadSparse { offset: u64, reason: &'static str },
    #[error(
        "{what} at offset {offset} is {size} bytes, more than the limit of {limit} (--max-scale raises it)"
    )]
    TooLarge {
        what: &'static str,
        offset: u64,
        size: u64,
        limit: u64,
    },
    #[error("tar header at offset {offset} follows a single end-of-archive block")]
    DataAfterEnd { offset: u64 },
}

impl TarError {
    /// Recovers the error a [`Content`] reader passed up inside an `io::Error`.
    pub fn from_io(error: io::Error) -> TarError {
        error.downcast::<TarError>().unwrap_or_else(TarError::Io)
    }

    /// The `io::Error` of the stream below, if that is what failed.
    pub fn into_io(self) -> Result<io::Error, TarError> {
        match self {
            TarError::Io(e) => Ok(e),
            other => Err(other),
        }
    }
}

/// One entry, with every extension header before it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Offset of the entry's own header block (after its extension headers).
    pub offset: u64,
    /// The type flag, normalised as Go does (`\0` is `0`, or `5` for a name ending in `/`).
    pub typeflag: u8,
    pub name: Vec<u8>,
    /// The link target as written (hardlinks and symlinks; empty otherwise).
    pub link: Vec<u8>,
    /// The file's size; for sparse files, the expanded size.
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: Vec<u8>,
    pub gname: Vec<u8>,
    pub mtime: Timestamp,
    pub atime: Option<Timestamp>,
    pub ctime: Option<Timestamp>,
    pub device: (u32, u32),
    pub format: TarFormat,
    /// `SCHILY.xattr.*` records: attribute name (without the prefix) and value.
    pub xattrs: Vec<Record>,
    /// PAX records not applied to a field above, in the order written.
    pub pax: Vec<Record>,
    /// Bytes of data stored for the entry in the stream (after any sparse map).
    stored: u64,
    sparse: Option<SparseMap>,
}

impl Entry {
    pub fn is_sparse(&self) -> bool {
        self.sparse.is_some()
    }

    /// The name for messages: invalid UTF-8 and control characters escaped.
    pub fn display_name(&self) -> String {
        escape_control(&name_from_bytes(&self.name)).into_owned()
    }
}

/// A tar stream's source: reading, and moving past data that is not wanted.
pub trait Input: Read {
    /// Moves `n` bytes forward; returns how many there were (fewer at the end of the stream).
    fn skip(&mut self, n: u64) -> io::Result<u64>;
}

/// A stream that can only be read: skipping reads and discards.
pub struct Streamed<R>(pub R);

impl<R: Read> Read for Streamed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Input for Streamed<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        io::copy(&mut self.0.by_ref().take(n), &mut io::sink())
    }
}

/// A buffered stream that can only be read: skipping consumes its buffer without copying it.
pub struct BufStreamed<R>(pub R);

impl<R: BufRead> Read for BufStreamed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: BufRead> Input for BufStreamed<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut skipped = 0;
        while skipped < n {
            let available = self.0.fill_buf()?.len();
            if available == 0 {
                break;
            }
            let step = available.min(usize::try_from(n - skipped).unwrap_or(usize::MAX));
            self.0.consume(step);
            skipped += step as u64;
        }
        Ok(skipped)
    }
}

/// A file (or any seekable reader) of known length: skipping seeks.
pub struct Seekable<R> {
    inner: R,
    position: u64,
    len: u64,
}

impl<R: Read + Seek> Seekable<R> {
    pub fn new(mut inner: R) -> io::Result<Seekable<R>> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        Ok(Seekable {
            inner,
            position: 0,
            len,
        })
    }
}

impl<R: Read> Read for Seekable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Input for Seekable<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let step = n.min(self.len.saturating_sub(self.position));
        self.inner.seek(SeekFrom::Current(step as i64))?;
        self.position += step;
        Ok(step)
    }
}

/// Extension headers read so far for the next entry.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Vec<Record>,
    has_pax: bool,
}

/// Reads a tar stream entry by entry.
pub struct Reader<R> {
    input: R,
    limits: Limits,
    /// Bytes consumed from `input`.
    offset: u64,
    /// The current entry's stored data not yet consumed, and the padding after it.
    data_left: u64,
    padding: u64,
    /// The current entry's name, for a truncation message.
    current: Option<(Vec<u8>, u64, u64)>,
    ended: bool,
}

impl<R: Input> Reader<R> {
    pub fn new(input: R, limits: Limits) -> Reader<R> {
        Reader {
            input,
            limits,
            offset: 0,
            data_left: 0,
            padding: 0,
            current: None,
            ended: false,
        }
    }

    /// Bytes of the stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn into_inner(self) -> R {
        self.input
    }

    /// The next entry; `None` after the end-of-archive marker. Data of the previous entry that was not
    /// read is skipped.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TarError> {
        if self.ended {
            return Ok(None);
        }
        self.skip_rest_of_entry()?;
        let mut pending = Pending::default();
        loop {
            let start = self.offset;
            let Some(block) = self.read_block()? else {
                return if self.ended {
                    Ok(None)
                } else {
                    Err(TarError::MissingEndOfArchive)
                };
            };
            let header = Header::parse(&block, start)?;
            let size = header.size()?;
            match header.typeflag() {
                b'x' => {
                    let data = self.read_extension(&header, size, start, "PAX header")?;
                    pending.pax.extend(pax::parse_records(&data, start)?);
                    pending.has_pax = true;
                }
                b'g' => self.skip_data(size, start)?,
                b'L' => {
                    let data = self.read_extension(&header, size, start, "GNU long name")?;
                    pending.long_name = Some(c_string(data));
                }
                b'K' => {
                    let data = self.read_extension(&header, size, start, "GNU long link")?;
                    pending.long_link = Some(c_string(data));
                }
                _ => return self.entry(&header, size, start, pending).map(Some),
            }
        }
    }

    /// Reads the current entry's stored data (not expanded: see [`Reader::content`]).
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        if self.data_left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.data_left).unwrap_or(usize::MAX));
        let n = self.input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(self.truncated());
        }
        self.offset += n as u64;
        self.data_left -= n as u64;
        Ok(n)
    }

    /// Skips what is left of the current entry's stored data (not its padding); for an input that
    /// skips without copying (a seekable file, [`BufStreamed`]).
    pub fn skip_content(&mut self) -> Result<(), TarError> {
        if self.data_left > 0 {
            let skipped = self.input.skip(self.data_left)?;
            self.offset += skipped;
            self.data_left -= skipped;
            if self.data_left > 0 {
                return Err(self.truncated());
            }
        }
        Ok(())
    }

    /// The entry's content as a reader: its stored data, or for a sparse file the expanded file.
    pub fn content<'r>(&'r mut self, entry: &Entry) -> Content<'r, R> {
        Content {
            reader: self,
            sparse: entry.sparse.as_ref().map(|map| map.cursor(entry.size)),
        }
    }

    fn truncated(&self) -> TarError {
        let (name, offset, expected) = self.current.clone().unwrap_or_default();
        TarError::TruncatedData {
            name: escape_control(&name_from_bytes(&name)).into_owned(),
            offset,
            expected,
            actual: expected - self.data_left,
        }
    }

    fn skip_rest_of_entry(&mut self) -> Result<(), TarError> {
        self.skip_content()?;
        if self.padding > 0 {
            let skipped = self.input.skip(self.padding)?;
            self.offset += skipped;
            if skipped < self.padding {
                // The stream ends inside the last entry's padding: no end-of-archive blocks either.
                return Err(TarError::MissingEndOfArchive);
            }
            self.padding = 0;
        }
        self.current = None;
        Ok(())
    }

    /// The next header block; `None` at the end: a clean end of the stream, or the end-of-archive
    /// marker (then `ended` is set).
    fn read_block(&mut self) -> Result<Option<[u8; BLOCK]>, TarError> {
        let start = self.offset;
        let mut block = [0u8; BLOCK];
        if !self.fill(&mut block, start)? {
            return Ok(None);
        }
        if !header::is_zero(&block) {
            return Ok(Some(block));
        }
        // One zero block followed by the end of the stream or a second one ends the archive; a header
        // after it is an error, as in Go.
        self.ended = true;
        let second = self.offset;
        let mut next = [0u8; BLOCK];
        if self.fill(&mut next, second)? && !header::is_zero(&next) {
            return Err(TarError::DataAfterEnd { offset: second });
        }
        Ok(None)
    }

    /// Fills a block; false at a clean end of the stream (no byte at all).
    fn fill(&mut self, block: &mut [u8; BLOCK], start: u64) -> Result<bool, TarError> {
        let mut filled = 0;
        while filled < BLOCK {
            let n = self.input.read(&mut block[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        self.offset += filled as u64;
        match filled {
            0 => Ok(false),
            BLOCK => Ok(true),
            _ => Err(TarError::TruncatedHeader { offset: start }),
        }
    }

    /// Reads an extension header's data whole, within the limit.
    fn read_extension(
        &mut self,
        header: &Header<'_>,
        size: u64,
        start: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, TarError> {
        if size > self.limits.extension {
            return Err(TarError::TooLarge {
                what,
                offset: start,
                size,
                limit: self.limits.extension,
            });
        }
        self.begin_data(header.name(), start, size);
        let mut data = vec![0u8; size as usize];
        let mut filled = 0;
        while filled < data.len() {
            filled += match self.read_data(&mut data[filled..])? {
                0 => return Err(self.truncated()),
                n => n,
            };
        }
        self.skip_rest_of_entry()?;
        Ok(data)
    }

    fn skip_data(&mut self, size: u64, start: u64) -> Result<(), TarError> {
        self.begin_data(b"(PAX global header)".to_vec(), start, size);
        self.skip_rest_of_entry()
    }

    fn begin_data(&mut self, name: Vec<u8>, start: u64, size: u64) {
        self.data_left = size;
        self.padding = padding(size);
        self.current = Some((name, start, size));
    }

    /// Builds the entry from its header and the extensions before it, and positions the reader at the
    /// start of its content.
    fn entry(
        &mut self,
        header: &Header<'_>,
        size: u64,
        start: u64,
        pending: Pending,
    ) -> Result<Entry, TarError> {
        let dialect = header.dialect();
        let (atime, ctime) = header.gnu_times()?;
        let mut entry = Entry {
            offset: start,
            typeflag: header.typeflag(),
            name: pending.long_name.unwrap_or_else(|| header.name()),
            link: pending.long_link.unwrap_or_else(|| header.link_name()),
            size,
            mode: header.mode()?,
            uid: header.uid()?,
            gid: header.gid()?,
            uname: header.user_name(),
            gname: header.group_name(),
            mtime: header.mtime()?,
            atime,
            ctime,
            device: (0, 0),
            format: if pending.has_pax {
                TarFormat::Pax
            } else {
                dialect.format()
            },
            xattrs: Vec::new(),
            pax: Vec::new(),
            stored: size,
            sparse: None,
        };
        if matches!(entry.typeflag, b'3' | b'4') {
            entry.device = header.device()?;
        }
        let sparse_records = apply_pax(&mut entry, pending.pax, start)?;
        if entry.typeflag == 0 {
            let is_dir = entry.name.last() == Some(&b'/');
            entry.typeflag = if is_dir { b'5' } else { b'0' };
        }
        if is_header_only(entry.typeflag) {
            entry.stored = 0;
        }
        if header.typeflag() == b'S' && dialect == Dialect::Gnu {
            let mut sparse = header.gnu_sparse()?;
            if sparse.extended {
                self.read_gnu_sparse_extensions(&mut sparse.map, start)?;
            }
            entry.sparse = Some(SparseMap::new(sparse.map));
            entry.size = sparse.real_size;
            entry.typeflag = b'0';
        }
        self.begin_data(entry.name.clone(), start, entry.stored);
        if let Some(records) = sparse_records {
            self.apply_pax_sparse(&mut entry, records, start)?;
        }
        if let Some(map) = &entry.sparse {
            self.check_sparse(map, &entry, start)?;
        }
        Ok(entry)
    }

    fn read_gnu_sparse_extensions(
        &mut self,
        map: &mut Vec<Segment>,
        start: u64,
    ) -> Result<(), TarError> {
        let bad = || TarError::BadSparse {
            offset: start,
            reason: "a sparse extension block is invalid",
        };
        loop {
            let at = self.offset;
            let mut block = [0u8; BLOCK];
            if !self.fill(&mut block, at)? {
                return Err(TarError::TruncatedHeader { offset: at });
            }
            map.extend(header::parse_sparse_entries(&block[..504]).ok_or_else(bad)?);
            self.check_map_size(map.len(), start)?;
            if block[504] == 0 {
                return Ok(());
            }
        }
    }

    fn check_map_size(&self, entries: usize, start: u64) -> Result<(), TarError> {
        let bytes = entries as u64 * 24;
        if bytes > self.limits.extension {
            return Err(TarError::TooLarge {
                what: "sparse map",
                offset: start,
                size: bytes,
                limit: self.limits.extension,
            });
        }
        Ok(())
    }

    /// GNU sparse files in PAX form: format 0.0 (`GNU.sparse.offset`/`numbytes` records), 0.1
    /// (`GNU.sparse.map`) and 1.0 (the map at the start of the data).
    fn apply_pax_sparse(
        &mut self,
        entry: &mut Entry,
        records: SparseRecords,
        start: u64,
    ) -> Result<(), TarError> {
        let map = match records.map {
            Some(map) => map,
            None if records.major == Some(1) => {
                let map = sparse::read_map_1_0(self, start)?;
                entry.stored = self.data_left;
                map
            }
            None => {
                return Err(TarError::BadSparse {
                    offset: start,
                    reason: "no sparse map",
                });
            }
        };
        self.check_map_size(map.len(), start)?;
        if let Some(name) = records.name {
            entry.name = name;
        }
        entry.size = records.real_size.ok_or(TarError::BadSparse {
            offset: start,
            reason: "no real size",
        })?;
        entry.sparse = Some(SparseMap::new(map));
        Ok(())
    }

    fn check_sparse(&self, map: &SparseMap, entry: &Entry, start: u64) -> Result<(), TarError> {
        if entry.size > self.limits.sparse_size {
            return Err(TarError::TooLarge {
                what: "sparse file (expanded)",
                offset: start,
                size: entry.size,
                limit: self.limits.sparse_size,
            });
        }
        map.validate(entry.size, entry.stored)
            .map_err(|reason| TarError::BadSparse {
                offset: start,
                reason,
            })
    }
}

/// Entry types that have no data, whatever their size field says (as in Go).
fn is_header_only(typeflag: u8) -> bool {
    matches!(typeflag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6')
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn c_string(mut data: Vec<u8>) -> Vec<u8> {
    if let Some(end) = data.iter().position(|b| *b == 0) {
        data.truncate(end);
    }
    data
}

/// The `GNU.sparse.*` records of an entry.
#[derive(Default)]
struct SparseRecords {
    major: Option<u64>,
    real_size: Option<u64>,
    name: Option<Vec<u8>>,
    map: Option<Vec<Segment>>,
}

/// Applies PAX records to the entry's fields (later records win, as in Go); returns the sparse records
/// if the entry is a PAX sparse file.
fn apply_pax(
    entry: &mut Entry,
    records: Vec<Record>,
    offset: u64,
) -> Result<Option<SparseRecords>, TarError> {
    let mut sparse = SparseRecords::default();
    let mut is_sparse = false;
    let mut offsets: Vec<u64> = Vec::new();
    let mut lengths: Vec<u64> = Vec::new();
    for (key, value) in records {
        let number = |key: &'static str| {
            std::str::from_utf8(&value)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(TarError::BadPaxValue { offset, key })
        };
        match key.as_slice() {
            b"path" => entry.name = value,
            b"linkpath" => entry.link = value,
            b"size" => {
                entry.size = number("size")?;
                entry.stored = entry.size;
            }
            b"uid" => entry.uid = number("uid")?,
            b"gid" => entry.gid = number("gid")?,
            b"uname" => entry.uname = value,
            b"gname" => entry.gname = value,
            b"mtime" => entry.mtime = pax_time(&value).unwrap_or(entry.mtime),
            b"atime" => entry.atime = pax_time(&value).or(entry.atime),
            b"ctime" => entry.ctime = pax_time(&value).or(entry.ctime),
            b"GNU.sparse.major" => {
                is_sparse = true;
                sparse.major = Some(number("GNU.sparse.major")?);
            }
            b"GNU.sparse.minor" | b"GNU.sparse.numblocks" => is_sparse = true,
            b"GNU.sparse.size" | b"GNU.sparse.realsize" => {
                is_sparse = true;
                sparse.real_size = Some(number("GNU.sparse.realsize")?);
            }
            b"GNU.sparse.name" => {
                is_sparse = true;
                sparse.name = Some(value);
            }
            b"GNU.sparse.offset" => {
                is_sparse = true;
                offsets.push(number("GNU.sparse.offset")?);
            }
            b"GNU.sparse.numbytes" => {
                is_sparse = true;
                lengths.push(number("GNU.sparse.numbytes")?);
            }
            b"GNU.sparse.map" => {
                is_sparse = true;
                sparse.map = Some(sparse::parse_map_0_1(&value).ok_or(TarError::BadPaxValue {
                    offset,
                    key: "GNU.sparse.map",
                })?);
            }
            _ => match key.strip_prefix(b"SCHILY.xattr.") {
                Some(name) => entry.xattrs.push((name.to_vec(), value)),
                None => entry.pax.push((key, value)),
            },
        }
    }
    if !is_sparse {
        return Ok(None);
    }
    if sparse.map.is_none() && !offsets.is_empty() {
        if offsets.len() != lengths.len() {
            return Err(TarError::BadSparse {
                offset,
                reason: "GNU.sparse.offset and numbytes records do not pair up",
            });
        }
        sparse.map = Some(offsets.into_iter().zip(lengths).collect());
    }
    Ok(Some(sparse))
}

fn pax_time(value: &[u8]) -> Option<Timestamp> {
    Timestamp::parse_pax(std::str::from_utf8(value).ok()?)
}

/// An entry's content: the stored data, or a sparse file expanded.
pub struct Content<'r, R> {
    reader: &'r mut Reader<R>,
    sparse: Option<sparse::Cursor>,
}

impl<R: Input> Read for Content<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = match &mut self.sparse {
            None => self.reader.read_data(buf),
            Some(cursor) => cursor.read(self.reader, buf),
        };
        result.map_err(|e| match e.into_io() {
            Ok(io) => io,
            Err(tar) => io::Error::new(io::ErrorKind::InvalidData, tar),
        })
    }
}

#[cfg(test)]
mod tests;

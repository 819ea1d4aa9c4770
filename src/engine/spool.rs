//! File contents kept aside while layers are read, so the explorer can show any file at once instead
//! of decompressing its layer again. The first pass copies each regular file's content (as the tar
//! reader yields it, the bytes its digest was computed from) to a temporary file per layer and records
//! where it lies; reading it back is one positioned read.
//!
//! Within a disk budget: an entry that would exceed it is not kept (the explorer reads its layer
//! again). The temporary files are unlinked as soon as they are created, so nothing is left in the
//! temporary directory whatever ends the process. A layer's record is published only once its blob is
//! verified; the reader checks what it reads back against the entry's content digest.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::oci::Digest;

use super::lock;

/// Spooled files of every layer read, shared by the engine's readers and the explorer's loader.
#[derive(Debug)]
pub struct ContentSpool {
    budget: u64,
    /// A larger entry is not kept (nothing shows it).
    max_entry: u64,
    used: AtomicU64,
    /// Layers being or already spooled (a layer read twice is spooled once).
    claimed: Mutex<HashSet<Digest>>,
    layers: Mutex<HashMap<Digest, Arc<SpooledLayer>>>,
}

/// One verified layer's spool file and where each kept content lies in it.
#[derive(Debug)]
struct SpooledLayer {
    file: File,
    index: KeptIndex,
}

/// Where the kept contents lie: one after the other in entry order, so each one's offset is the sum
/// of the lengths before it. 8 bytes an entry (its index and length) and the offset of every
/// [`KeptIndex::BLOCK`]th (a list with every offset took 16, a hash map 52).
#[derive(Debug, Default)]
struct KeptIndex {
    /// (entry index, length), by entry index ascending.
    kept: Vec<(u32, u32)>,
    /// The offset of `kept[i * BLOCK]`.
    starts: Vec<u64>,
}

impl KeptIndex {
    const BLOCK: usize = 64;

    /// Adds the next content, which starts at `offset` (where the last one ended).
    fn push(&mut self, index: u32, len: u32, offset: u64) {
        if self.kept.len().is_multiple_of(Self::BLOCK) {
            self.starts.push(offset);
        }
        self.kept.push((index, len));
    }

    /// Where entry `index`'s content lies: (offset, length).
    fn find(&self, index: u32) -> Option<(u64, u32)> {
        let at = self.kept.binary_search_by_key(&index, |k| k.0).ok()?;
        let block = at / Self::BLOCK;
        let before: u64 = (self.kept[block * Self::BLOCK..at].iter())
            .map(|k| u64::from(k.1))
            .sum();
        Some((self.starts.get(block)? + before, self.kept[at].1))
    }
}

/// The content being copied: its entry, where it starts, how long it is so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kept {
    offset: u64,
    len: u32,
    index: u32,
}

/// What the spool has of one entry.
#[derive(Debug)]
pub enum Spooled {
    /// The content, read back and checked against the entry's digest.
    Content(Vec<u8>),
    /// The layer was not spooled (not read yet, its read failed) or the entry not kept (beyond the
    /// budget or too large).
    NotKept,
    /// Reading it back failed or gave other bytes than the digest the comparison used.
    Unusable(String),
}

impl ContentSpool {
    /// A spool of at most `budget` bytes, keeping entries of at most `max_entry` bytes.
    pub fn new(budget: u64, max_entry: u64) -> ContentSpool {
        ContentSpool {
            budget,
            max_entry,
            used: AtomicU64::new(0),
            claimed: Mutex::new(HashSet::new()),
            layers: Mutex::new(HashMap::new()),
        }
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Bytes kept so far (reserved by layers still being read included).
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// A writer for this layer's contents, unless it is already spooled or being spooled, or the
    /// temporary file cannot be made.
    pub(crate) fn writer(&self, layer: &Digest) -> Option<SpoolWriter<'_>> {
        if self.budget == 0 || !lock(&self.claimed).insert(layer.clone()) {
            return None;
        }
        match tempfile::tempfile() {
            Ok(file) => Some(SpoolWriter {
                spool: self,
                layer: layer.clone(),
                file: Some(BufWriter::with_capacity(256 * 1024, file)),
                written: 0,
                reserved: 0,
                index: KeptIndex::default(),
                current: None,
                failed: false,
                committed: false,
            }),
            Err(_) => {
                lock(&self.claimed).remove(layer);
                None
            }
        }
    }

    /// The content of entry `index` of `layer`, if it was kept, checked against `digest` (the
    /// entry's content digest).
    pub fn read(&self, layer: &Digest, index: u32, digest: &Digest) -> Spooled {
        let Some(spooled) = lock(&self.layers).get(layer).cloned() else {
            return Spooled::NotKept;
        };
        let Some((offset, len)) = spooled.index.find(index) else {
            return Spooled::NotKept;
        };
        let Ok(len) = usize::try_from(len) else {
            return Spooled::NotKept;
        };
        let mut bytes = vec![0; len];
        if let Err(e) = read_exact_at(&spooled.file, &mut bytes, offset) {
            return Spooled::Unusable(format!("the content cache could not be read: {e}"));
        }
        if Digest::sha256_of(&bytes) != *digest {
            return Spooled::Unusable(
                "the content cache holds other bytes than were compared".into(),
            );
        }
        Spooled::Content(bytes)
    }

    /// Takes `bytes` of the budget if there is room.
    fn reserve(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes)
                    .filter(|&total| total <= self.budget)
            })
            .is_ok()
    }

    fn release(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

#[cfg(unix)]
pub(super) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(not(unix))]
pub(super) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut file = file.try_clone()?;
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(buf)
}

#[cfg(unix)]
pub(super) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
pub(super) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = file.try_clone()?;
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// Copies one layer's file contents while it is read. Dropped without [`commit`](Self::commit) (the
/// read failed), it gives its budget back and the layer may be spooled by a later read.
pub(crate) struct SpoolWriter<'s> {
    spool: &'s ContentSpool,
    layer: Digest,
    /// Taken by `commit`.
    file: Option<BufWriter<File>>,
    written: u64,
    /// Budget taken by this writer.
    reserved: u64,
    index: KeptIndex,
    /// The entry being copied and its room left in the budget it reserved.
    current: Option<(Kept, u64)>,
    /// A write failed (disk full...): nothing more is kept of this layer.
    failed: bool,
    /// Published: the budget stays taken.
    committed: bool,
}

impl SpoolWriter<'_> {
    /// Starts copying entry `index`, `size` bytes long, if it fits.
    pub fn begin(&mut self, index: u32, size: u64) {
        self.abandon_current();
        let fits = size <= self.spool.max_entry && u32::try_from(size).is_ok();
        if self.failed || !fits || !self.spool.reserve(size) {
            return;
        }
        self.reserved += size;
        let kept = Kept {
            offset: self.written,
            len: 0,
            index,
        };
        self.current = Some((kept, size));
    }

    pub fn write(&mut self, chunk: &[u8]) {
        let Some((kept, room)) = self.current.as_mut() else {
            return;
        };
        let len = chunk.len() as u64;
        if self.failed {
            self.current = None;
            return;
        }
        if len > *room {
            self.abandon_current();
            return;
        }
        if self
            .file
            .as_mut()
            .is_none_or(|f| f.write_all(chunk).is_err())
        {
            self.failed = true;
            self.current = None;
            return;
        }
        *room -= len;
        // Within `size`, which fits in a u32.
        kept.len += len as u32;
        self.written += len;
    }

    /// The entry's content ended: it is kept.
    pub fn end(&mut self) {
        if let Some((kept, _)) = self.current.take()
            && !self.failed
        {
            self.index.push(kept.index, kept.len, kept.offset);
        }
    }

    /// Drops the content being copied: what was written of it is written over by the next one, so
    /// that the kept contents stay one after the other.
    fn abandon_current(&mut self) {
        let Some((kept, _)) = self.current.take() else {
            return;
        };
        if self.written == kept.offset {
            return;
        }
        let rewound =
            (self.file.as_mut()).is_some_and(|f| f.seek(SeekFrom::Start(kept.offset)).is_ok());
        if rewound {
            self.written = kept.offset;
        } else {
            self.failed = true;
        }
    }

    /// The layer was read and verified: its contents become readable.
    pub fn commit(mut self) {
        if self.failed {
            return;
        }
        let Some(Ok(file)) = self.file.take().map(BufWriter::into_inner) else {
            return;
        };
        let mut index = std::mem::take(&mut self.index);
        // Entries come in index order (the lookups search by index and sum lengths in that order).
        if !index.kept.is_sorted_by_key(|k| k.0) {
            return;
        }
        self.committed = true;
        index.kept.shrink_to_fit();
        let layer = SpooledLayer { file, index };
        lock(&self.spool.layers).insert(self.layer.clone(), Arc::new(layer));
    }
}

impl Drop for SpoolWriter<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.spool.release(self.reserved);
            lock(&self.spool.claimed).remove(&self.layer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(bytes: &[u8]) -> Digest {
        Digest::sha256_of(bytes)
    }

    fn spool_entries(spool: &ContentSpool, layer: &Digest, contents: &[&[u8]]) {
        let mut writer = spool.writer(layer).unwrap_or_else(|| panic!("no writer"));
        for (index, content) in contents.iter().enumerate() {
            writer.begin(index as u32, content.len() as u64);
            for chunk in content.chunks(3) {
                writer.write(chunk);
            }
            writer.end();
        }
        writer.commit();
    }

    #[test]
    fn kept_contents_read_back_and_are_checked_against_their_digest() {
        let spool = ContentSpool::new(1 << 20, 1 << 20);
        let layer = digest(b"layer");
        spool_entries(&spool, &layer, &[b"first file", b"", b"third"]);
        let read = |index, content: &[u8]| match spool.read(&layer, index, &digest(content)) {
            Spooled::Content(bytes) => bytes,
            other => panic!("{other:?}"),
        };
        assert_eq!(read(0, b"first file"), b"first file");
        assert_eq!(read(1, b""), b"");
        assert_eq!(read(2, b"third"), b"third");
        assert!(matches!(
            spool.read(&layer, 0, &digest(b"other")),
            Spooled::Unusable(_)
        ));
        assert!(matches!(
            spool.read(&layer, 3, &digest(b"")),
            Spooled::NotKept
        ));
        assert!(spool.writer(&layer).is_none(), "a layer is spooled once");
    }

    #[test]
    fn a_content_longer_than_declared_is_dropped_and_the_next_ones_still_read_back() {
        let spool = ContentSpool::new(1 << 20, 1 << 20);
        let layer = digest(b"layer");
        let mut writer = spool.writer(&layer).unwrap_or_else(|| panic!("no writer"));
        // Past the first block of offsets, so that both the block starts and the sums are read.
        let contents: Vec<Vec<u8>> = (0..200u32).map(|i| vec![i as u8; i as usize % 7]).collect();
        for (index, content) in contents.iter().enumerate() {
            writer.begin(index as u32, content.len() as u64);
            writer.write(content);
            if index == 100 {
                writer.write(b"more than declared");
            }
            writer.end();
        }
        writer.commit();
        for (index, content) in contents.iter().enumerate() {
            match spool.read(&layer, index as u32, &digest(content)) {
                Spooled::NotKept if index == 100 => {}
                Spooled::Content(bytes) if index != 100 && bytes == *content => {}
                other => panic!("entry {index}: {other:?}"),
            }
        }
    }

    #[test]
    fn entries_beyond_the_budget_or_the_entry_limit_are_not_kept() {
        let spool = ContentSpool::new(10, 6);
        let layer = digest(b"layer");
        spool_entries(&spool, &layer, &[b"123456", b"1234567", b"12345", b"1234"]);
        let kept = |index, content: &[u8]| {
            matches!(
                spool.read(&layer, index, &digest(content)),
                Spooled::Content(_)
            )
        };
        assert!(kept(0, b"123456"));
        assert!(!kept(1, b"1234567"), "larger than an entry may be");
        assert!(!kept(2, b"12345"), "beyond the budget");
        assert!(kept(3, b"1234"), "what still fits is kept");
        assert_eq!(spool.used(), 10);
    }

    #[test]
    fn an_uncommitted_layer_is_not_readable_and_gives_its_budget_back() {
        let spool = ContentSpool::new(100, 100);
        let layer = digest(b"layer");
        let mut writer = spool.writer(&layer).unwrap_or_else(|| panic!("no writer"));
        writer.begin(0, 5);
        writer.write(b"hello");
        writer.end();
        drop(writer);
        assert_eq!(spool.used(), 0);
        assert!(matches!(
            spool.read(&layer, 0, &digest(b"hello")),
            Spooled::NotKept
        ));
        assert!(spool.writer(&layer).is_some(), "a later read may spool it");
    }

    #[test]
    fn a_zero_budget_spools_nothing() {
        let spool = ContentSpool::new(0, 100);
        assert!(spool.writer(&digest(b"layer")).is_none());
    }
}

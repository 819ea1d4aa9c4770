//! Contents of archives and compressed files kept from a layer pair's first read, so that what differs
//! inside them is compared without reading the layers a second time.
//!
//! While both sides of a layer pair are read, a file whose first bytes show a format that holds files
//! (see [`crate::model::NestedFormat`]) is copied whole by the side that reads its path first, and
//! held until the other side reads the same path. The other side compares its content with the held
//! one as it reads it, keeping nothing while they agree: if they differ, both contents are kept in an
//! unlinked temporary file for the findings; if not, the held one is dropped.
//!
//! A content is held in memory while there is room (at most the limit of a file opened inside,
//! [`super::nested::NestedLimits::bytes`], 64 MiB by default, at once) and its side holds, with it, no
//! more than [`HeldContents::AHEAD`] bytes the other side has not reached; otherwise it is written to
//! the temporary file, whose room is not reused (at most [`Spill::LIMIT`] in all). The readers never
//! wait for each other: one side of a pair is often far ahead (by up to 226 MB of such files on the
//! README's host pair), and waiting made the two go in step. A file that finds
//! no room in either is not held, and the findings read its layer again. Held contents are the bytes
//! the scan hashed, so the findings get exactly what a second read would give.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::model::{EntryMeta, Side};
use crate::oci::Digest;

use super::findings::EntryAt;
use super::lock;
use super::spool::{read_exact_at, write_all_at};

/// Bytes held in memory, given back as each held content is dropped.
#[derive(Debug, Default)]
struct Budget {
    used: AtomicU64,
}

/// Room taken in the memory budget, given back when dropped.
#[derive(Debug)]
struct Reservation {
    budget: Arc<Budget>,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

fn reserve(budget: &Arc<Budget>, limit: u64, size: u64) -> Option<Reservation> {
    budget
        .used
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            used.checked_add(size).filter(|&total| total <= limit)
        })
        .ok()?;
    Some(Reservation {
        budget: Arc::clone(budget),
        bytes: size,
    })
}

/// Bytes in the spill file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    offset: u64,
    len: u64,
}

/// The temporary file held and kept contents are written to, made at the first one. Its room is
/// not reused: it holds at most [`Spill::LIMIT`] bytes in all.
#[derive(Debug, Default)]
struct Spill {
    /// The file and the most bytes it may take (less than [`Spill::LIMIT`] if the temporary
    /// directory has less room).
    file: OnceLock<Option<(File, u64)>>,
    len: AtomicU64,
}

impl Spill {
    const LIMIT: u64 = 4 << 30;

    fn file(&self) -> Option<&(File, u64)> {
        self.file
            .get_or_init(|| {
                let room = crate::source::room_left(&std::env::temp_dir()).unwrap_or(u64::MAX);
                Some((tempfile::tempfile().ok()?, Self::LIMIT.min(room)))
            })
            .as_ref()
    }

    /// Room for `size` bytes, if there is.
    fn reserve(&self, size: u64) -> Option<Span> {
        let (_, limit) = self.file()?;
        let offset = self
            .len
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |len| {
                len.checked_add(size).filter(|end| end <= limit)
            })
            .ok()?;
        Some(Span { offset, len: size })
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> bool {
        self.file()
            .is_some_and(|(file, _)| write_all_at(file, bytes, offset).is_ok())
    }

    fn read_at(&self, offset: u64, bytes: &mut [u8]) -> bool {
        self.file()
            .is_some_and(|(file, _)| read_exact_at(file, bytes, offset).is_ok())
    }

    /// Writes `bytes` and says where they lie, if there is room.
    fn write(&self, bytes: &[u8]) -> Option<Span> {
        let span = self.reserve(bytes.len() as u64)?;
        self.write_at(span.offset, bytes).then_some(span)
    }

    fn read(&self, span: Span) -> Option<Vec<u8>> {
        let mut bytes = vec![0; usize::try_from(span.len).ok()?];
        self.read_at(span.offset, &mut bytes).then_some(bytes)
    }
}

/// Where a held content's bytes are.
#[derive(Debug)]
enum Store {
    Memory {
        bytes: Vec<u8>,
        _room: Option<Reservation>,
    },
    /// From the start of the span, as many bytes as were written.
    Disk(Span),
}

/// The memory and the spill file held contents share.
#[derive(Debug)]
struct Room {
    memory: Arc<Budget>,
    /// The most bytes held in memory at once.
    memory_limit: u64,
    spill: Spill,
}

impl Room {
    /// Room for a content of `size` bytes: in memory if `in_memory` and there is room, else on disk.
    fn store(&self, size: u64, in_memory: bool) -> Option<Store> {
        let room = in_memory
            .then(|| reserve(&self.memory, self.memory_limit, size))
            .flatten();
        match room {
            Some(room) => Some(Store::Memory {
                bytes: Vec::with_capacity(usize::try_from(size).ok()?),
                _room: Some(room),
            }),
            None => self.spill.reserve(size).map(Store::Disk),
        }
    }

    /// Writes `bytes` at `at` of `store`.
    fn put(&self, store: &mut Store, at: u64, bytes: &[u8]) -> bool {
        match store {
            Store::Memory { bytes: held, .. } => {
                held.extend_from_slice(bytes);
                true
            }
            Store::Disk(span) => self.spill.write_at(span.offset + at, bytes),
        }
    }
}

/// Copies a file's content as the scan reads it, or compares it with the other side's held one.
#[derive(Debug)]
pub struct HeldWriter {
    size: u64,
    written: u64,
    failed: bool,
    /// The other side's content of the same path, while this one agrees with it.
    partner: Option<Arc<HeldContent>>,
    /// Where this content is copied (from the start, or from where it left the partner's).
    store: Option<Store>,
    room: Arc<Room>,
    /// The partner's bytes read back from disk to compare.
    scratch: Vec<u8>,
}

impl HeldWriter {
    pub fn write(&mut self, chunk: &[u8]) {
        let len = chunk.len() as u64;
        if self.failed || self.written + len > self.size {
            self.failed = true;
            return;
        }
        if let Some(partner) = self.partner.take() {
            if self.agrees(&partner, chunk) {
                self.written += len;
                self.partner = Some(partner);
                return;
            }
            // They part: this content is copied from here on, its start from the partner's.
            self.store = self.room.store(self.size, true);
            if !self.copy_start_of(&partner) {
                self.failed = true;
                return;
            }
        }
        let put = match &mut self.store {
            Some(store) => self.room.put(store, self.written, chunk),
            None => false,
        };
        self.failed = !put;
        self.written += len;
    }

    /// Whether `chunk`, the next bytes of this content, are the partner's next bytes.
    fn agrees(&mut self, partner: &HeldContent, chunk: &[u8]) -> bool {
        let from = self.written;
        if from + chunk.len() as u64 > partner.len {
            return false;
        }
        match &partner.store {
            Store::Memory { bytes, .. } => {
                let from = from as usize;
                bytes.get(from..from + chunk.len()) == Some(chunk)
            }
            Store::Disk(span) => {
                self.scratch.resize(chunk.len(), 0);
                self.room
                    .spill
                    .read_at(span.offset + from, &mut self.scratch)
                    && self.scratch == chunk
            }
        }
    }

    /// Copies the partner's first `written` bytes, which this content shares, into its store.
    fn copy_start_of(&mut self, partner: &HeldContent) -> bool {
        const PIECE: u64 = 1 << 20;
        let Some(store) = &mut self.store else {
            return false;
        };
        let mut at = 0;
        while at < self.written {
            let len = PIECE.min(self.written - at);
            let piece = match &partner.store {
                Store::Memory { bytes, .. } => &bytes[at as usize..(at + len) as usize],
                Store::Disk(span) => {
                    self.scratch.resize(len as usize, 0);
                    if !self.room.spill.read_at(span.offset + at, &mut self.scratch) {
                        return false;
                    }
                    &self.scratch[..]
                }
            };
            if !self.room.put(store, at, piece) {
                return false;
            }
            at += len;
        }
        true
    }

    /// The content held, unless copying it failed.
    pub fn finish(mut self) -> Option<HeldContent> {
        if self.failed {
            return None;
        }
        let (store, same_as_partner) = match self.partner.take() {
            // Read to its end in agreement: the same as the partner if as long.
            Some(partner) if partner.len == self.written => (Store::nothing(), true),
            Some(partner) => (partner.start(self.written), false),
            None => (self.store.take()?, false),
        };
        Some(HeldContent {
            store,
            len: self.written,
            same_as_partner,
        })
    }
}

impl Store {
    fn nothing() -> Store {
        Store::Memory {
            bytes: Vec::new(),
            _room: None,
        }
    }
}

/// A file's content, held until the other side reads its path.
#[derive(Debug)]
pub struct HeldContent {
    store: Store,
    len: u64,
    /// Read in agreement with the other side's held content, to its end: nothing was copied.
    same_as_partner: bool,
}

impl HeldContent {
    /// Its first `len` bytes, as a content of their own.
    fn start(&self, len: u64) -> Store {
        match &self.store {
            Store::Memory { bytes, .. } => Store::Memory {
                bytes: bytes[..len as usize].to_vec(),
                _room: None,
            },
            Store::Disk(span) => Store::Disk(Span {
                offset: span.offset,
                len,
            }),
        }
    }

    /// Where its bytes lie in the spill file, written there if they are in memory.
    fn spilled(&self, spill: &Spill) -> Option<Span> {
        match &self.store {
            Store::Memory { bytes, .. } => spill.write(bytes),
            Store::Disk(span) => Some(Span {
                offset: span.offset,
                len: self.len,
            }),
        }
    }
}

/// The contents held for every layer pair being read, and those kept for the findings.
#[derive(Debug)]
pub(super) struct HeldContents {
    /// Files larger than this are not held (the findings would not open them).
    max_file: u64,
    room: Arc<Room>,
    pairs: Vec<Mutex<HeldPair>>,
    /// Where the contents of differing files lie in the spill file.
    kept: Mutex<HashMap<EntryAt, Span>>,
}

#[derive(Debug, Default)]
struct HeldPair {
    sides: crate::model::Sides<HeldSide>,
}

/// What one side of a layer pair has read of files that hold files.
#[derive(Debug, Default)]
struct HeldSide {
    /// Held contents whose path the other side has not read yet.
    waiting: HashMap<Box<str>, Waiting>,
    /// The bytes of `waiting`.
    waiting_bytes: u64,
    /// Hashes of the paths read and not waiting (a collision only costs a second read).
    passed: HashSet<u64>,
    complete: bool,
}

#[derive(Debug)]
struct Waiting {
    at: EntryAt,
    digest: Option<Digest>,
    content: Arc<HeldContent>,
}

impl HeldContents {
    /// Bytes of held contents the other side has not reached past which a side holds on disk (so
    /// that a file larger than this is always held there). At 4 MiB the README's host pair wrote
    /// about 500 MB to that file per run (1.3 s of system time, 1.21x the floor); at 32 MiB 0.65 s,
    /// 1.15x, and 93-99 MiB instead of 74.
    pub const AHEAD: u64 = 32 << 20;

    /// For `pairs` layer pairs, holding no file over `max_file` and no more than that in memory.
    pub fn new(pairs: usize, max_file: u64) -> HeldContents {
        HeldContents {
            max_file,
            room: Arc::new(Room {
                memory: Arc::default(),
                memory_limit: max_file,
                spill: Spill::default(),
            }),
            pairs: (0..pairs).map(|_| Mutex::default()).collect(),
            kept: Mutex::default(),
        }
    }

    /// A writer for the content of `path`, `size` bytes long, which `side` of each of `pairs` is
    /// reading: comparing it with the other side's if that side holds the path, else copying it
    /// (to disk if this side is ahead of the other or memory is full).
    pub fn hold(&self, pairs: &[(usize, Side)], path: &str, size: u64) -> Option<HeldWriter> {
        if size > self.max_file {
            return None;
        }
        let mut other_reading = false;
        let partner = pairs.iter().find_map(|&(pair, side)| {
            let pair = lock(self.pairs.get(pair)?);
            let other = pair.sides.get(side.other());
            other_reading |= !other.complete;
            Some(Arc::clone(&other.waiting.get(path)?.content))
        });
        if partner.is_none() && !other_reading {
            return None;
        }
        let store = match partner {
            Some(_) => None,
            None => {
                let in_memory = self.ahead_by(pairs) + size <= Self::AHEAD;
                Some(self.room.store(size, in_memory)?)
            }
        };
        Some(HeldWriter {
            size,
            written: 0,
            failed: false,
            partner,
            store,
            room: Arc::clone(&self.room),
            scratch: Vec::new(),
        })
    }

    /// The bytes `side` of `pairs` holds that the other side has not reached yet, if this side is the
    /// one ahead (it holds more of those than the other).
    fn ahead_by(&self, pairs: &[(usize, Side)]) -> u64 {
        pairs
            .iter()
            .filter_map(|&(pair, side)| {
                let pair = lock(self.pairs.get(pair)?);
                let (mine, theirs) = (pair.sides.get(side), pair.sides.get(side.other()));
                (mine.waiting_bytes > theirs.waiting_bytes).then_some(mine.waiting_bytes)
            })
            .sum()
    }

    /// Both contents of a differing file, written aside for the findings.
    fn keep(&self, files: [(EntryAt, &HeldContent); 2]) {
        let spans = files.map(|(_, content)| content.spilled(&self.room.spill));
        if let [Some(first), Some(second)] = spans {
            let mut kept = lock(&self.kept);
            kept.insert(files[0].0, first);
            kept.insert(files[1].0, second);
        }
    }

    /// `side` of layer pair `pair` read `entry` (at `at`), a file that holds files, with its content
    /// if it was held.
    pub fn entry(
        &self,
        pair: usize,
        side: Side,
        at: EntryAt,
        entry: &EntryMeta,
        content: Option<Arc<HeldContent>>,
    ) {
        let Some(pair) = self.pairs.get(pair) else {
            return;
        };
        let mut pair = lock(pair);
        let path: Box<str> = entry.path().into();
        let (mine, other) = pair.sides.split_mut(side);
        if let Some(partner) = other.waiting.remove(&path) {
            other.waiting_bytes -= partner.content.len;
            drop(pair);
            let differ = entry.content().is_some() && partner.digest.as_ref() != entry.content();
            if let (true, Some(content)) = (differ, content)
                && !content.same_as_partner
            {
                self.keep([(partner.at, &partner.content), (at, &content)]);
            }
            return;
        }
        if other.complete || other.passed.contains(&path_hash(&path)) {
            return;
        }
        match content.filter(|c| !c.same_as_partner) {
            Some(content) => {
                let waiting = Waiting {
                    at,
                    digest: entry.content().cloned(),
                    content,
                };
                mine.waiting_bytes += waiting.content.len;
                if let Some(replaced) = mine.waiting.insert(path, waiting) {
                    mine.waiting_bytes -= replaced.content.len;
                }
            }
            None => {
                mine.passed.insert(path_hash(&path));
            }
        }
    }

    /// `side` of layer pair `pair` was read to its end (or failed): what the other side holds for
    /// it will not be needed, nor what it passed; what it holds waits for the other side still.
    pub fn side_complete(&self, index: usize, side: Side) {
        let Some(pair) = self.pairs.get(index) else {
            return;
        };
        let mut pair = lock(pair);
        let (mine, other) = pair.sides.split_mut(side);
        mine.complete = true;
        mine.passed = HashSet::new();
        let dropped = std::mem::take(&mut other.waiting);
        other.waiting_bytes = 0;
        drop(pair);
        drop(dropped);
    }

    /// The content kept of the file at `at`, taken out.
    pub fn take(&self, at: EntryAt) -> Option<Vec<u8>> {
        let span = lock(&self.kept).remove(&at)?;
        self.room.spill.read(span)
    }
}

fn path_hash(path: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    path.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EntryFields;

    fn file(path: &str, content: &[u8]) -> EntryMeta {
        let mut entry = EntryFields::test_file(path);
        entry.content = Some(Digest::sha256_of(content));
        entry.size = content.len() as u64;
        entry.into()
    }

    /// `side` of pair 0 reads `content` at `path` (index `index` of job `side.index()`).
    fn read(contents: &HeldContents, side: Side, index: u32, path: &str, content: &[u8]) {
        let held = contents
            .hold(&[(0, side)], path, content.len() as u64)
            .and_then(|mut writer| {
                for chunk in content.chunks(3) {
                    writer.write(chunk);
                }
                writer.finish()
            });
        let at = at(side.index(), index);
        contents.entry(0, side, at, &file(path, content), held.map(Arc::new));
    }

    fn at(job: usize, index: u32) -> EntryAt {
        EntryAt { job, index }
    }

    fn used(contents: &HeldContents) -> u64 {
        contents.room.memory.used.load(Ordering::Relaxed)
    }

    #[test]
    fn differing_contents_are_kept_on_both_sides_and_equal_ones_dropped() {
        let contents = HeldContents::new(1, 1 << 20);
        read(&contents, Side::Input0, 0, "x.gz", b"first side");
        read(&contents, Side::Input0, 1, "y.gz", b"same");
        read(&contents, Side::Input0, 2, "z.gz", b"longer");
        assert_eq!(used(&contents), 20, "held until the other side reads them");
        read(&contents, Side::Input1, 5, "y.gz", b"same");
        read(&contents, Side::Input1, 4, "x.gz", b"first other");
        read(&contents, Side::Input1, 6, "z.gz", b"long");
        assert_eq!(used(&contents), 0, "what is kept is written aside");
        assert_eq!(contents.take(at(0, 0)).as_deref(), Some(&b"first side"[..]));
        assert_eq!(
            contents.take(at(1, 4)).as_deref(),
            Some(&b"first other"[..])
        );
        assert_eq!(contents.take(at(0, 2)).as_deref(), Some(&b"longer"[..]));
        assert_eq!(
            contents.take(at(1, 6)).as_deref(),
            Some(&b"long"[..]),
            "a prefix"
        );
        assert_eq!(contents.take(at(0, 1)), None, "equal contents are dropped");
        assert_eq!(contents.take(at(1, 5)), None);
        assert_eq!(contents.take(at(0, 0)), None, "taken once");
    }

    #[test]
    fn a_content_is_not_held_for_a_partner_that_cannot_come() {
        let contents = HeldContents::new(1, 1 << 20);
        // The other side read the path without holding it: nothing to wait for.
        contents.entry(0, Side::Input1, at(1, 0), &file("x.gz", b"two"), None);
        read(&contents, Side::Input0, 0, "x.gz", b"one");
        assert_eq!(used(&contents), 0);
        // Waiting for a side that then ends without the path.
        read(&contents, Side::Input0, 1, "z.gz", b"z");
        assert_eq!(used(&contents), 1);
        contents.side_complete(0, Side::Input1);
        assert_eq!(used(&contents), 0);
        read(&contents, Side::Input0, 2, "w.gz", b"w");
        assert_eq!(used(&contents), 0, "the other side is complete");
        assert_eq!(contents.take(at(0, 0)), None);
    }

    #[test]
    fn a_side_read_to_its_end_keeps_what_it_holds_for_the_other() {
        let contents = HeldContents::new(1, 1 << 20);
        read(&contents, Side::Input1, 7, "late.gz", b"abc");
        contents.side_complete(0, Side::Input1);
        read(&contents, Side::Input0, 3, "late.gz", b"abd");
        assert_eq!(contents.take(at(1, 7)).as_deref(), Some(&b"abc"[..]));
        assert_eq!(contents.take(at(0, 3)).as_deref(), Some(&b"abd"[..]));
    }

    #[test]
    fn memory_holds_at_most_the_file_limit_the_rest_goes_to_disk() {
        let contents = HeldContents::new(1, 10);
        assert!(contents.hold(&[(0, Side::Input0)], "big.gz", 11).is_none());
        let first = contents.hold(&[(0, Side::Input0)], "a.gz", 6);
        assert!(first.is_some());
        let second = contents.hold(&[(0, Side::Input0)], "b.gz", 5);
        assert!(second.is_some(), "held on disk");
        assert_eq!(used(&contents), 6, "memory holds the first only");
        drop((first, second));
        assert_eq!(used(&contents), 0);
    }

    #[test]
    fn a_content_longer_than_its_header_said_is_not_held() {
        let contents = HeldContents::new(1, 1 << 20);
        let writer = contents.hold(&[(0, Side::Input0)], "a.gz", 2);
        let mut writer = writer.unwrap_or_else(|| panic!("not held"));
        writer.write(b"abc");
        assert!(writer.finish().is_none());
    }

    #[test]
    fn a_side_ahead_holds_on_disk_and_the_other_compares_with_it_there() {
        let contents = HeldContents::new(1, 64 << 20);
        let big = vec![1u8; HeldContents::AHEAD as usize];
        read(&contents, Side::Input0, 0, "ahead.gz", &big);
        assert_eq!(used(&contents), HeldContents::AHEAD);
        read(&contents, Side::Input0, 1, "differs.gz", b"abcdef");
        read(&contents, Side::Input0, 2, "same.gz", b"same bytes");
        assert_eq!(used(&contents), HeldContents::AHEAD, "held on disk");
        read(&contents, Side::Input1, 1, "differs.gz", b"abcXYZ");
        read(&contents, Side::Input1, 2, "same.gz", b"same bytes");
        read(&contents, Side::Input1, 0, "ahead.gz", &big);
        assert_eq!(used(&contents), 0, "equal contents dropped");
        assert_eq!(contents.take(at(0, 1)).as_deref(), Some(&b"abcdef"[..]));
        assert_eq!(
            contents.take(at(1, 1)).as_deref(),
            Some(&b"abcXYZ"[..]),
            "its start copied from the partner's bytes on disk"
        );
        assert_eq!(contents.take(at(0, 2)), None);
        assert_eq!(contents.take(at(1, 0)), None);
    }
}

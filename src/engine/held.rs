//! Contents of archives and compressed files kept from a layer pair's first read, so that what differs
//! inside them is compared without reading the layers a second time.
//!
//! While both sides of a layer pair are read, a file whose first bytes show a format that holds files
//! (see [`crate::model::NestedFormat`]) is copied whole by the side that reads its path first, and
//! held until the other side reads the same path. The other side compares its content with the held
//! one as it reads it, keeping nothing while they agree: if they differ, both contents are written
//! to an unlinked temporary file for the findings; if not, the held one is dropped.
//!
//! Memory holds at most the limit of a file opened inside ([`super::nested::NestedLimits::bytes`],
//! 64 MiB by default) at once; a side that reads [`HeldContents::AHEAD`] bytes of such files ahead of
//! the other waits for it to catch up (a layer pair ends with its slower side anyway, but the two
//! readers then go in step: on the README's host pair that costs up to 2 s of 11), unless the other
//! side is not being read or waiting gets nowhere (the two sides list their files in different
//! orders). A file that finds no room is not held, and the findings read its layer again.
//! Held contents are the bytes the scan hashed, so the findings get exactly what a second read would
//! give.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::model::{EntryMeta, Side, Sides};
use crate::oci::Digest;

use super::findings::EntryAt;
use super::spool::{read_exact_at, write_all_at};

/// Bytes held in memory, given back as each held content is dropped.
#[derive(Debug, Default)]
struct Budget {
    used: AtomicU64,
    /// Taken to wait for room, and by each release to wake those waiting.
    lock: Mutex<()>,
    freed: Condvar,
}

impl Budget {
    fn wake(&self) {
        let _guard = lock(&self.lock);
        self.freed.notify_all();
    }
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
        self.budget.wake();
    }
}

/// The temporary file kept contents are written to, made at the first one.
#[derive(Debug, Default)]
struct Spill {
    /// The file and the most bytes it may take (less than [`Spill::LIMIT`] if the temporary
    /// directory has less room).
    file: OnceLock<Option<(File, u64)>>,
    len: AtomicU64,
}

impl Spill {
    const LIMIT: u64 = 4 << 30;

    /// Writes `bytes` and says where they lie, if there is room.
    fn write(&self, bytes: &[u8]) -> Option<(u64, u64)> {
        let size = bytes.len() as u64;
        let (file, limit) = self
            .file
            .get_or_init(|| {
                let room = crate::source::room_left(&std::env::temp_dir()).unwrap_or(u64::MAX);
                Some((tempfile::tempfile().ok()?, Self::LIMIT.min(room)))
            })
            .as_ref()?;
        let offset = self
            .len
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |len| {
                len.checked_add(size).filter(|end| end <= limit)
            })
            .ok()?;
        write_all_at(file, bytes, offset).ok()?;
        Some((offset, size))
    }

    fn read(&self, (offset, len): (u64, u64)) -> Option<Vec<u8>> {
        let (file, _) = self.file.get()?.as_ref()?;
        let mut bytes = vec![0; usize::try_from(len).ok()?];
        read_exact_at(file, &mut bytes, offset).ok()?;
        Some(bytes)
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
    /// This content, once it is copied (from the start, or from where it left the partner's).
    bytes: Vec<u8>,
    room: Option<Reservation>,
    budget: Arc<Budget>,
    memory: u64,
}

impl HeldWriter {
    pub fn write(&mut self, chunk: &[u8]) {
        let len = chunk.len() as u64;
        if self.failed || self.written + len > self.size {
            self.failed = true;
            return;
        }
        let from = self.written as usize;
        if let Some(partner) = &self.partner {
            if partner.bytes.get(from..from + chunk.len()) == Some(chunk) {
                self.written += len;
                return;
            }
            // They part: this content is copied from here on, its start from the partner's.
            let partner = self.partner.take();
            match reserve(&self.budget, self.memory, self.size) {
                Some(room) => {
                    self.room = Some(room);
                    self.bytes = Vec::with_capacity(self.size as usize);
                    if let Some(partner) = partner {
                        self.bytes.extend_from_slice(&partner.bytes[..from]);
                    }
                }
                None => {
                    self.failed = true;
                    return;
                }
            }
        }
        self.bytes.extend_from_slice(chunk);
        self.written += len;
    }

    /// The content held, unless copying it failed.
    pub fn finish(mut self) -> Option<HeldContent> {
        if self.failed {
            return None;
        }
        let same = match self.partner.take() {
            // Read to its end in agreement: the same as the partner if as long.
            Some(partner) if partner.bytes.len() as u64 == self.written => true,
            Some(partner) => {
                self.bytes = partner.bytes[..self.written as usize].to_vec();
                false
            }
            None => false,
        };
        Some(HeldContent {
            bytes: self.bytes,
            same_as_partner: same,
            _room: self.room,
        })
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

/// A file's content, held until the other side reads its path.
#[derive(Debug)]
pub struct HeldContent {
    bytes: Vec<u8>,
    /// Read in agreement with the other side's held content, to its end: nothing was copied.
    same_as_partner: bool,
    _room: Option<Reservation>,
}

/// The contents held for every layer pair being read, and those kept for the findings.
#[derive(Debug)]
pub(super) struct HeldContents {
    /// Files larger than this are not held (the findings would not open them); also the most bytes
    /// held in memory at once.
    max_file: u64,
    memory: Arc<Budget>,
    /// Waiting once got nowhere: nobody waits any more.
    stalled: AtomicBool,
    pairs: Vec<Mutex<HeldPair>>,
    /// Per pair, each side's read: not started (0), being read, or complete.
    reads: Vec<Sides<AtomicU8>>,
    spill: Spill,
    /// Where the contents of differing files lie in the spill file.
    kept: Mutex<HashMap<EntryAt, (u64, u64)>>,
}

const READING: u8 = 1;
const COMPLETE: u8 = 2;

#[derive(Debug, Default)]
struct HeldPair {
    sides: Sides<HeldSide>,
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
    /// Bytes of held contents past which a side waits for the other to catch up.
    pub const AHEAD: u64 = 4 << 20;
    /// How long a side waits with no progress before nobody waits any more.
    const MAX_WAIT: Duration = Duration::from_secs(1);

    /// For `pairs` layer pairs, holding no file over `max_file` and no more than that in memory.
    pub fn new(pairs: usize, max_file: u64) -> HeldContents {
        HeldContents {
            max_file,
            memory: Arc::default(),
            stalled: AtomicBool::new(false),
            pairs: (0..pairs).map(|_| Mutex::default()).collect(),
            reads: (0..pairs).map(|_| Sides::default()).collect(),
            spill: Spill::default(),
            kept: Mutex::default(),
        }
    }

    /// `side` of layer pair `pair` starts being read.
    pub fn side_started(&self, pair: usize, side: Side) {
        if let Some(reads) = self.reads.get(pair) {
            reads.get(side).store(READING, Ordering::Relaxed);
        }
    }

    fn other_reading(&self, pair: usize, side: Side) -> bool {
        self.reads
            .get(pair)
            .is_some_and(|reads| reads.get(side.other()).load(Ordering::Relaxed) == READING)
    }

    /// A writer for the content of `path`, `size` bytes long, which `side` of each of `pairs` is
    /// reading: comparing it with the other side's if that side holds the path, else copying it if
    /// there is room (waiting for some while this side is ahead of the other).
    pub fn hold(&self, pairs: &[(usize, Side)], path: &str, size: u64) -> Option<HeldWriter> {
        if size > self.max_file {
            return None;
        }
        let partner = pairs.iter().find_map(|&(pair, side)| {
            let pair = lock(self.pairs.get(pair)?);
            let waiting = pair.sides.get(side.other()).waiting.get(path)?;
            Some(Arc::clone(&waiting.content))
        });
        let (room, bytes) = match partner {
            Some(_) => (None, Vec::new()),
            None => {
                self.wait_while_ahead(size, || self.ahead_by(pairs));
                let room = reserve(&self.memory, self.max_file, size)?;
                (Some(room), Vec::with_capacity(usize::try_from(size).ok()?))
            }
        };
        Some(HeldWriter {
            size,
            written: 0,
            failed: false,
            partner,
            bytes,
            room,
            budget: Arc::clone(&self.memory),
            memory: self.max_file,
        })
    }

    /// The bytes `side` of `pairs` holds that the other side, being read, has not reached yet, if
    /// this side is the one ahead (it holds more of those than the other: only one side of a pair
    /// ever waits for the other).
    fn ahead_by(&self, pairs: &[(usize, Side)]) -> u64 {
        pairs
            .iter()
            .filter(|&&(pair, side)| self.other_reading(pair, side))
            .filter_map(|&(pair, side)| {
                let pair = lock(self.pairs.get(pair)?);
                let (mine, theirs) = (pair.sides.get(side), pair.sides.get(side.other()));
                (mine.waiting_bytes > theirs.waiting_bytes).then_some(mine.waiting_bytes)
            })
            .sum()
    }

    /// Waits while this side is ahead of the other (it holds more than [`Self::AHEAD`] bytes the
    /// other has not reached, or some and there is no room for `size`), as long as the other side
    /// makes progress.
    fn wait_while_ahead(&self, size: u64, ahead_by: impl Fn() -> u64) {
        let too_far = || {
            let ahead = ahead_by();
            let full = self.memory.used.load(Ordering::Relaxed) + size > self.max_file;
            (ahead > Self::AHEAD || (ahead > 0 && full)).then_some(ahead)
        };
        let mut progress = Instant::now();
        let mut least = u64::MAX;
        while !self.stalled.load(Ordering::Relaxed) {
            let Some(ahead) = too_far() else {
                return;
            };
            if ahead < least {
                (least, progress) = (ahead, Instant::now());
            } else if progress.elapsed() >= Self::MAX_WAIT {
                self.stalled.store(true, Ordering::Relaxed);
                return;
            }
            let guard = lock(&self.memory.lock);
            let _ = self
                .memory
                .freed
                .wait_timeout(guard, Duration::from_millis(10));
        }
    }

    /// Both contents of a differing file, written aside for the findings.
    fn keep(&self, files: [(EntryAt, &HeldContent); 2]) {
        let spans = files.map(|(_, content)| self.spill.write(&content.bytes));
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
            other.waiting_bytes -= partner.content.bytes.len() as u64;
            drop(pair);
            let differ = entry.content.is_some() && partner.digest != entry.content;
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
                    digest: entry.content.clone(),
                    content,
                };
                mine.waiting_bytes += waiting.content.bytes.len() as u64;
                if let Some(replaced) = mine.waiting.insert(path, waiting) {
                    mine.waiting_bytes -= replaced.content.bytes.len() as u64;
                }
            }
            None => {
                mine.passed.insert(path_hash(&path));
            }
        }
    }

    /// `side` of layer pair `pair` was read to its end (or failed): what the other side holds for
    /// it will not be needed, nor what it read.
    pub fn side_complete(&self, index: usize, side: Side) {
        let Some(pair) = self.pairs.get(index) else {
            return;
        };
        if let Some(reads) = self.reads.get(index) {
            reads.get(side).store(COMPLETE, Ordering::Relaxed);
        }
        let mut pair = lock(pair);
        let (mine, other) = pair.sides.split_mut(side);
        *mine = HeldSide {
            complete: true,
            ..HeldSide::default()
        };
        let dropped = std::mem::take(&mut other.waiting);
        other.waiting_bytes = 0;
        drop(pair);
        drop(dropped);
        self.memory.wake();
    }

    /// The content kept of the file at `at`, taken out.
    pub fn take(&self, at: EntryAt) -> Option<Vec<u8>> {
        let span = lock(&self.kept).remove(&at)?;
        self.spill.read(span)
    }
}

fn path_hash(path: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    path.hash(&mut hasher);
    hasher.finish()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, content: &[u8]) -> EntryMeta {
        let mut entry = EntryMeta::test_file(path);
        entry.content = Some(Digest::sha256_of(content));
        entry.size = content.len() as u64;
        entry
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
        contents.memory.used.load(Ordering::Relaxed)
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
    fn memory_holds_at_most_the_file_limit_and_a_larger_file_is_not_held() {
        let contents = HeldContents::new(1, 10);
        assert!(contents.hold(&[(0, Side::Input0)], "big.gz", 11).is_none());
        let first = contents.hold(&[(0, Side::Input0)], "a.gz", 6);
        assert!(first.is_some());
        assert!(
            contents.hold(&[(0, Side::Input0)], "b.gz", 5).is_none(),
            "no room (the other side is not being read: nothing to wait for)"
        );
        drop(first);
        assert!(contents.hold(&[(0, Side::Input0)], "b.gz", 5).is_some());
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
    fn a_side_ahead_waits_for_the_other_to_catch_up() {
        let contents = Arc::new(HeldContents::new(1, 64 << 20));
        contents.side_started(0, Side::Input0);
        contents.side_started(0, Side::Input1);
        let big = vec![1u8; (HeldContents::AHEAD + 1) as usize];
        read(&contents, Side::Input0, 0, "ahead.gz", &big);
        let behind = Arc::clone(&contents);
        let catch_up = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            read(&behind, Side::Input1, 0, "ahead.gz", &[1u8; 4]);
        });
        let started = Instant::now();
        let next = contents.hold(&[(0, Side::Input0)], "next.gz", 1);
        assert!(next.is_some());
        assert!(started.elapsed() >= Duration::from_millis(40), "it waited");
        catch_up
            .join()
            .unwrap_or_else(|_| panic!("catching up failed"));
        assert_eq!(used(&contents), 1, "the first file was dropped once passed");
        assert!(contents.take(at(0, 0)).is_some(), "they differ: kept");
    }
}

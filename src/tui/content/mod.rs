//! The explorer's content pane: what two versions of a file contain and how they differ.
//!
//! [`ContentLoader`] reads both sides of a file difference on a background thread, classifies them and
//! prepares the diff once. The sides come from the content spool the scan filled (one positioned read
//! each, checked against the compared digest); a file the spool does not hold is read again from its
//! layer (decompressed and verified again), and the pane says so. Only the newest request is served:
//! one the selection has left is dropped, or stopped in the middle of its layer.
//!
//! What is prepared:
//! - text (valid UTF-8 without NULs): unified or side-by-side hunks, syntax-highlighted (syntect with
//!   two-face's syntaxes), with `-`/`+` signs and tinted backgrounds;
//! - binary: sizes, sha256 digests and a hex+ASCII window around the first differing byte;
//! - nested archives (tar, tar.gz, tar.zst): the inner entries that differ and how, through the
//!   engine's own tar scanner and entry comparison.
//!
//! Everything drawn is inert: control characters and escape sequences are escaped, tabs expanded.
//! [`ContentLoader::lines`] only renders the prepared form (cached per mode and width), so the explorer
//! may call it every frame.

mod highlight;
mod prepare;
mod render;
#[cfg(test)]
mod tests;
mod words;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use ratatui::text::Line;

use crate::engine::extract::{Wanted, extract_until, wanted_for};
use crate::engine::layer::ReadLimits;
use crate::engine::spool::{ContentSpool, Spooled};
use crate::model::{DiffKind, EntryKind, Report, Side, Sides};
use crate::source::Image;

pub(crate) use prepare::MAX_READ;
use prepare::{Highlighting, Prepared, SideContent, prepare, prepare_with};
use render::Mode;

/// Prepared differences kept at most; the oldest are dropped (and loaded again if wanted again).
const MAX_CACHED: usize = 64;
/// Rendered forms kept per difference (mode and width combinations).
const MAX_RENDERS: usize = 4;

/// Loads, prepares and renders the content section of file differences. Lives on the UI thread; the
/// work happens on one background thread.
pub struct ContentLoader {
    worker: Option<Worker>,
    /// The inputs, in the order the explorer shows them (swapped with the sides).
    images: Option<Arc<Sides<Image>>>,
    /// Differences queued and not yet back.
    pending: HashSet<usize>,
    entries: RefCell<HashMap<usize, Entry>>,
    /// Prepared differences, oldest first, for eviction.
    order: VecDeque<usize>,
    /// Bumped by [`clear`](ContentLoader::clear); results of older requests are dropped.
    generation: u64,
    stats: Stats,
}

struct Worker {
    requests: Sender<Request>,
    results: Receiver<Done>,
    /// The difference most recently asked for; a load of any other is abandoned.
    newest: Arc<AtomicUsize>,
}

/// Work counters, for tests and diagnostics.
#[derive(Debug, Default)]
struct Stats {
    /// Contents prepared (diffed, highlighted, listed) on the UI thread (inserted contents).
    prepared: Cell<usize>,
    /// Prepared forms rendered into lines.
    rendered: Cell<usize>,
}

enum Entry {
    /// Not a regular file on either side: nothing to show.
    NotRegular,
    /// Inserted raw contents, prepared on first use.
    Raw(Sides<SideContent>),
    Ready {
        prepared: Prepared,
        renders: Vec<(Mode, Rc<[Line<'static>]>)>,
    },
}

struct Request {
    images: Arc<Sides<Image>>,
    generation: u64,
    index: usize,
    path: String,
    /// What each side is before reading: `Bytes` (empty) marks a side to read.
    sides: Sides<SideContent>,
    wanted: Vec<Wanted>,
}

impl Request {
    /// The load of both sides of difference `index` (a file difference).
    fn new(report: &Report, index: usize, images: Arc<Sides<Image>>, generation: u64) -> Request {
        let difference = &report.differences[index];
        let entries = difference.entries.as_ref();
        let sides = Sides::from_fn(|side| match entries.and_then(|e| e.get(side).as_ref()) {
            None => SideContent::Absent,
            Some(e) if e.kind() != EntryKind::File => SideContent::NotRegular(e.kind().label()),
            Some(e) if e.size() > MAX_READ => SideContent::TooLarge(e.size()),
            Some(_) => SideContent::Bytes(Vec::new()),
        });
        let wanted = wanted_for(report, &[difference])
            .into_iter()
            .filter(|w| matches!(sides.get(w.side), SideContent::Bytes(_)))
            .collect();
        Request {
            images,
            generation,
            index,
            path: difference.key().to_owned(),
            sides,
            wanted,
        }
    }
}

struct Done {
    generation: u64,
    index: usize,
    prepared: Prepared,
}

impl ContentLoader {
    /// `images` is None in tests (nothing can be loaded; use `insert`). `spool` is what the scan
    /// keeps aside (None: every load reads the layer again).
    pub fn new(
        images: Option<Arc<Sides<Image>>>,
        limits: ReadLimits,
        spool: Option<Arc<ContentSpool>>,
    ) -> ContentLoader {
        let worker = images.as_ref().and_then(|_| {
            let (requests, inbox) = channel();
            let (outbox, results) = channel();
            let newest = Arc::new(AtomicUsize::new(usize::MAX));
            let reader = Reader {
                limits,
                spool,
                newest: Arc::clone(&newest),
            };
            std::thread::Builder::new()
                .name("ocidiff-content".into())
                .spawn(move || work(&reader, &inbox, &outbox))
                .ok()
                .map(|_| Worker {
                    requests,
                    results,
                    newest,
                })
        });
        ContentLoader {
            worker,
            images,
            pending: HashSet::new(),
            entries: RefCell::new(HashMap::new()),
            order: VecDeque::new(),
            generation: 0,
            stats: Stats::default(),
        }
    }

    /// Non-blocking: if this difference's content is not cached or pending, queue a background load of
    /// both sides (regular files only; a side larger than 8 MiB is not read). Loads queued before are
    /// abandoned: only the selected difference is loaded.
    pub fn want(&mut self, report: &Report, difference_index: usize) {
        if self.pending.contains(&difference_index)
            || self.entries.borrow().contains_key(&difference_index)
        {
            return;
        }
        let Some(difference) = report.differences.get(difference_index) else {
            return;
        };
        let entries = difference.entries.as_ref();
        let regular = |side: Side| {
            entries
                .and_then(|e| e.get(side).as_ref())
                .is_some_and(|e| e.kind() == EntryKind::File)
        };
        if difference.kind != DiffKind::File || !(regular(Side::Input0) || regular(Side::Input1)) {
            self.entries
                .borrow_mut()
                .insert(difference_index, Entry::NotRegular);
            return;
        }
        let (Some(worker), Some(images)) = (&self.worker, &self.images) else {
            return;
        };
        let request = Request::new(
            report,
            difference_index,
            Arc::clone(images),
            self.generation,
        );
        worker.newest.store(difference_index, Ordering::Relaxed);
        if worker.requests.send(request).is_ok() {
            // An abandoned load never arrives; asked for again, it is queued again.
            self.pending.clear();
            self.pending.insert(difference_index);
        }
    }

    /// Takes in finished loads; true if anything new arrived (the UI redraws then).
    pub fn poll(&mut self) -> bool {
        let Some(worker) = &self.worker else {
            return false;
        };
        let done: Vec<Done> = worker.results.try_iter().collect();
        let arrived = !done.is_empty();
        for Done {
            generation,
            index,
            prepared,
        } in done
        {
            if generation == self.generation {
                self.pending.remove(&index);
                self.store(index, prepared);
            }
        }
        arrived
    }

    /// For tests: put raw contents in the cache as if loaded.
    pub fn insert(&mut self, difference_index: usize, contents: Sides<Option<Vec<u8>>>) {
        let sides = contents.map(|c| c.map_or(SideContent::Absent, SideContent::Bytes));
        self.pending.remove(&difference_index);
        self.entries
            .borrow_mut()
            .insert(difference_index, Entry::Raw(sides));
    }

    /// The sides were swapped: loads read from the inputs in their new order, and what was loaded
    /// is diffed the other way round (so it is loaded again).
    pub fn set_images(&mut self, images: Arc<Sides<Image>>) {
        self.images = Some(images);
        self.clear();
    }

    /// Forgets everything loaded or under way, e.g. when the report's difference indexes change (a
    /// finished report sorts its differences). Loads under way are discarded when they arrive.
    pub fn clear(&mut self) {
        self.entries.borrow_mut().clear();
        self.order.clear();
        self.pending.clear();
        self.generation += 1;
    }

    /// The lines to draw for this difference's content section (already styled; not including the
    /// metadata table), unwrapped and unscrolled. Pending → a single "loading content…" line; not a
    /// regular file on either side → empty vec. A copy, for tests; drawing uses
    /// [`shared_lines`](Self::shared_lines).
    #[cfg(test)]
    pub fn lines(
        &self,
        difference_index: usize,
        path: &str,
        side_by_side: bool,
        width: u16,
        plain: bool,
    ) -> Vec<Line<'static>> {
        self.shared_lines(
            difference_index,
            path,
            side_by_side,
            width,
            plain,
            false,
            0,
            false,
        )
        .to_vec()
    }

    /// [`lines`](Self::lines) without the copy: the cached lines themselves, for a caller that draws
    /// only the visible part of a long diff. Unified lines are whole (the caller fits them); side by
    /// side, each column is fitted to half of `width`, wrapped or scrolled by `hscroll` columns.
    #[allow(clippy::too_many_arguments)]
    pub fn shared_lines(
        &self,
        difference_index: usize,
        path: &str,
        side_by_side: bool,
        width: u16,
        plain: bool,
        wrap: bool,
        hscroll: usize,
        mask: bool,
    ) -> Rc<[Line<'static>]> {
        let mode = Mode {
            side_by_side,
            width,
            plain,
            wrap,
            hscroll,
            mask,
        }
        .normalized();
        let mut entries = self.entries.borrow_mut();
        let Some(entry) = entries.get_mut(&difference_index) else {
            return if self.pending.contains(&difference_index) {
                Rc::from(vec![render::loading(plain)])
            } else {
                Rc::from(Vec::new())
            };
        };
        if let Entry::Raw(sides) = entry {
            self.stats.prepared.set(self.stats.prepared.get() + 1);
            *entry = Entry::Ready {
                prepared: prepare(path, sides),
                renders: Vec::new(),
            };
        }
        match entry {
            Entry::NotRegular | Entry::Raw(_) => Rc::from(Vec::new()),
            Entry::Ready { prepared, renders } => {
                if let Some((_, lines)) = renders.iter().find(|(m, _)| *m == mode) {
                    return Rc::clone(lines);
                }
                self.stats.rendered.set(self.stats.rendered.get() + 1);
                let lines: Rc<[Line<'static>]> = Rc::from(render::render(prepared, mode));
                if renders.len() == MAX_RENDERS {
                    renders.remove(0);
                }
                renders.push((mode, Rc::clone(&lines)));
                lines
            }
        }
    }

    fn store(&mut self, index: usize, prepared: Prepared) {
        let mut entries = self.entries.borrow_mut();
        entries.insert(
            index,
            Entry::Ready {
                prepared,
                renders: Vec::new(),
            },
        );
        self.order.retain(|&i| i != index);
        self.order.push_back(index);
        while self.order.len() > MAX_CACHED {
            if let Some(old) = self.order.pop_front() {
                entries.remove(&old);
            }
        }
    }
}

/// What the worker reads with.
struct Reader {
    limits: ReadLimits,
    spool: Option<Arc<ContentSpool>>,
    /// The difference the explorer wants now (`usize::MAX`: none yet).
    newest: Arc<AtomicUsize>,
}

impl Reader {
    fn abandoned(&self, index: usize) -> bool {
        self.newest.load(Ordering::Relaxed) != index
    }
}

/// The worker: serves only the newest request (the one the user is looking at); older ones still
/// queued are dropped, and a load the selection leaves stops (see [`load`]). A text diff is sent
/// twice: plain at once, then highlighted (unless the selection has moved on by then).
fn work(reader: &Reader, inbox: &Receiver<Request>, outbox: &Sender<Done>) {
    while let Ok(first) = inbox.recv() {
        let request = inbox.try_iter().last().unwrap_or(first);
        let (generation, index) = (request.generation, request.index);
        let images = Arc::clone(&request.images);
        let loaded = catch_unwind(AssertUnwindSafe(|| load(&images, reader, request)));
        let (path, sides, notes) = match loaded {
            Ok(Some(loaded)) => loaded,
            Ok(None) => continue,
            Err(_) => {
                let failed = Prepared {
                    blocks: vec![prepare::note(
                        prepare::NoteKind::Error,
                        "internal error while reading this content",
                    )],
                };
                if outbox
                    .send(Done {
                        generation,
                        index,
                        prepared: failed,
                    })
                    .is_err()
                {
                    return;
                }
                continue;
            }
        };
        for highlighting in [Highlighting::Plain, Highlighting::Syntax] {
            let prepared = catch_unwind(AssertUnwindSafe(|| {
                let wanted = || !reader.abandoned(index);
                let mut prepared = prepare_with(&path, &sides, highlighting, &wanted);
                let notes = notes.iter().cloned().map(prepare::Block::Note);
                prepared.blocks.splice(0..0, notes);
                prepared
            }))
            .unwrap_or_else(|_| Prepared {
                blocks: vec![prepare::note(
                    prepare::NoteKind::Error,
                    "internal error while preparing this content",
                )],
            });
            let plain_is_all = !prepared.has_text();
            if highlighting == Highlighting::Syntax && reader.abandoned(index) {
                // Cut short for a newer load: the plain form already sent stands.
                break;
            }
            let done = Done {
                generation,
                index,
                prepared,
            };
            if outbox.send(done).is_err() {
                return;
            }
            if plain_is_all || reader.abandoned(index) {
                break;
            }
        }
    }
}

/// Reads the sides marked for reading, from the spool where it holds them, else from their layers;
/// returns the path, both sides' contents and notes on where they came from. None if the selection
/// moved on while a layer was read again.
fn load(
    images: &Sides<Image>,
    reader: &Reader,
    request: Request,
) -> Option<(String, Sides<SideContent>, Vec<prepare::Note>)> {
    let mut sides = request.sides;
    let mut read: Sides<Option<(Vec<u8>, u64)>> = Sides::default();
    let mut again = Vec::new();
    let mut reasons: Vec<(String, Vec<&str>)> = Vec::new();
    for wanted in request.wanted {
        match spooled(reader.spool.as_deref(), &wanted) {
            Ok(bytes) => *read.get_mut(wanted.side) = Some((bytes, wanted.entry.size())),
            Err(None) => again.push(wanted),
            Err(Some(why)) => {
                match reasons.iter_mut().find(|(known, _)| *known == why) {
                    Some((_, sides)) => sides.push(wanted.side.name()),
                    None => reasons.push((why, vec![wanted.side.name()])),
                }
                again.push(wanted);
            }
        }
    }
    let notes = reasons
        .into_iter()
        .map(|(why, sides)| prepare::Note {
            kind: prepare::NoteKind::Info,
            text: format!("{}: read again from the layer ({why})", sides.join(", ")),
        })
        .collect();
    let index = request.index;
    let stop = || reader.abandoned(index);
    let errors = extract_until(
        images,
        again.as_slice(),
        &reader.limits,
        &stop,
        |wanted, content| {
            if let Some(content) = content {
                let mut bytes = Vec::new();
                content.take(MAX_READ + 1).read_to_end(&mut bytes)?;
                *read.get_mut(wanted.side) = Some((bytes, wanted.entry.size()));
            }
            Ok(())
        },
    );
    if !again.is_empty() && stop() {
        return None;
    }
    let message = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    for side in Side::BOTH {
        let slot = sides.get_mut(side);
        if !matches!(slot, SideContent::Bytes(_)) {
            continue;
        }
        *slot = match read.get_mut(side).take() {
            Some((bytes, size)) if bytes.len() as u64 > MAX_READ => {
                SideContent::TooLarge(size.max(bytes.len() as u64))
            }
            Some((bytes, _)) => SideContent::Bytes(bytes),
            None if !message.is_empty() => SideContent::Error(message.clone()),
            None => SideContent::Error("the file's content was not found in its layer".into()),
        };
    }
    Some((request.path, sides, notes))
}

/// One side's content from the spool, or why it must be read again (None: it has no layer to read, or
/// no content; the extraction says so).
fn spooled(spool: Option<&ContentSpool>, wanted: &Wanted) -> Result<Vec<u8>, Option<String>> {
    let (Some(layer), Some(digest)) = (&wanted.layer, &wanted.entry.content()) else {
        return Err(None);
    };
    let Some(spool) = spool else {
        return Err(Some("the content cache is off".into()));
    };
    match spool.read(&layer.digest, wanted.entry.index(), digest) {
        Spooled::Content(bytes) => Ok(bytes),
        Spooled::NotKept => Err(Some(format!(
            "not in the content cache: its layer is still being read, or the cache's {} MiB were used up",
            spool.budget() >> 20
        ))),
        Spooled::Unusable(why) => Err(Some(why)),
    }
}

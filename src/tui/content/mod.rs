//! The explorer's content pane: what two versions of a file contain and how they differ.
//!
//! [`ContentLoader`] reads both sides of a file difference on a background thread (re-reading and
//! verifying the layers that hold them), classifies them and prepares the diff once:
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
use std::sync::mpsc::{Receiver, Sender, channel};

use ratatui::text::Line;

use crate::engine::extract::{Wanted, extract, wanted_for};
use crate::engine::layer::ReadLimits;
use crate::model::{DiffKind, EntryKind, Report, Side, Sides};
use crate::source::Image;

use prepare::{MAX_READ, Prepared, SideContent, prepare};
use render::Mode;

/// Prepared differences kept at most; the oldest are dropped (and loaded again if wanted again).
const MAX_CACHED: usize = 64;
/// Rendered forms kept per difference (mode and width combinations).
const MAX_RENDERS: usize = 4;

/// Loads, prepares and renders the content section of file differences. Lives on the UI thread; the
/// work happens on one background thread.
pub struct ContentLoader {
    worker: Option<Worker>,
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
    generation: u64,
    index: usize,
    path: String,
    /// What each side is before reading: `Bytes` (empty) marks a side to read.
    sides: Sides<SideContent>,
    wanted: Vec<Wanted>,
}

struct Done {
    generation: u64,
    index: usize,
    prepared: Prepared,
}

impl ContentLoader {
    /// `images` is None in tests (nothing can be loaded; use `insert`).
    pub fn new(images: Option<Arc<Sides<Image>>>, limits: ReadLimits) -> ContentLoader {
        let worker = images.and_then(|images| {
            let (requests, inbox) = channel();
            let (outbox, results) = channel();
            std::thread::Builder::new()
                .name("ocidiff-content".into())
                .spawn(move || work(&images, &limits, &inbox, &outbox))
                .ok()
                .map(|_| Worker { requests, results })
        });
        ContentLoader {
            worker,
            pending: HashSet::new(),
            entries: RefCell::new(HashMap::new()),
            order: VecDeque::new(),
            generation: 0,
            stats: Stats::default(),
        }
    }

    /// Non-blocking: if this difference's content is not cached or pending, queue a background load of
    /// both sides (regular files only; a side larger than 8 MiB is not read).
    pub fn want(&mut self, report: &Report, difference_index: usize) {
        if self.pending.contains(&difference_index)
            || self.entries.borrow().contains_key(&difference_index)
        {
            return;
        }
        let Some(difference) = report.differences.get(difference_index) else {
            return;
        };
        let entries = difference.entries.as_deref();
        let regular = |side: Side| {
            entries
                .and_then(|e| e.get(side).as_ref())
                .is_some_and(|e| e.kind == EntryKind::File)
        };
        if difference.kind != DiffKind::File || !(regular(Side::Input0) || regular(Side::Input1)) {
            self.entries
                .borrow_mut()
                .insert(difference_index, Entry::NotRegular);
            return;
        }
        let Some(worker) = &self.worker else {
            return;
        };
        let sides = Sides::from_fn(|side| match entries.and_then(|e| e.get(side).as_ref()) {
            None => SideContent::Absent,
            Some(e) if e.kind != EntryKind::File => SideContent::NotRegular(e.kind.label()),
            Some(e) if e.size > MAX_READ => SideContent::TooLarge(e.size),
            Some(_) => SideContent::Bytes(Vec::new()),
        });
        let wanted = wanted_for(report, &[difference])
            .into_iter()
            .filter(|w| matches!(sides.get(w.side), SideContent::Bytes(_)))
            .collect();
        let request = Request {
            generation: self.generation,
            index: difference_index,
            path: difference.key.clone(),
            sides,
            wanted,
        };
        if worker.requests.send(request).is_ok() {
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

    /// Forgets everything loaded or under way, e.g. when the report's difference indexes change (a
    /// finished report sorts its differences). Loads under way are discarded when they arrive.
    pub fn clear(&mut self) {
        self.entries.borrow_mut().clear();
        self.order.clear();
        self.pending.clear();
        self.generation += 1;
    }

    /// The lines to draw for this difference's content section (already styled; not including the
    /// metadata table). Pending → a single "loading content…" line; not a regular file on either side →
    /// empty vec. A copy, for tests; drawing uses [`shared_lines`](Self::shared_lines).
    #[cfg(test)]
    pub fn lines(
        &self,
        difference_index: usize,
        path: &str,
        side_by_side: bool,
        width: u16,
        plain: bool,
    ) -> Vec<Line<'static>> {
        self.shared_lines(difference_index, path, side_by_side, width, plain)
            .to_vec()
    }

    /// [`lines`](Self::lines) without the copy: the cached lines themselves, for a caller that draws
    /// only the visible part of a long diff.
    pub fn shared_lines(
        &self,
        difference_index: usize,
        path: &str,
        side_by_side: bool,
        width: u16,
        plain: bool,
    ) -> Rc<[Line<'static>]> {
        let mode = Mode {
            side_by_side,
            width,
            plain,
        };
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

/// The worker: serves the newest request first (the one the user is looking at), then the older ones.
fn work(
    images: &Sides<Image>,
    limits: &ReadLimits,
    inbox: &Receiver<Request>,
    outbox: &Sender<Done>,
) {
    let mut queue: Vec<Request> = Vec::new();
    loop {
        if queue.is_empty() {
            match inbox.recv() {
                Ok(request) => queue.push(request),
                Err(_) => return,
            }
        }
        queue.extend(inbox.try_iter());
        let Some(request) = queue.pop() else {
            continue;
        };
        let (generation, index) = (request.generation, request.index);
        let prepared = catch_unwind(AssertUnwindSafe(|| {
            let sides = load(images, limits, request);
            prepare(&sides.0, &sides.1)
        }))
        .unwrap_or_else(|_| Prepared {
            blocks: vec![prepare::Block::Note(prepare::Note {
                kind: prepare::NoteKind::Error,
                text: "internal error while preparing this content".into(),
            })],
        });
        if outbox
            .send(Done {
                generation,
                index,
                prepared,
            })
            .is_err()
        {
            return;
        }
    }
}

/// Reads the sides marked for reading; returns the path and both sides' contents.
fn load(
    images: &Sides<Image>,
    limits: &ReadLimits,
    request: Request,
) -> (String, Sides<SideContent>) {
    let mut sides = request.sides;
    let mut read: Sides<Option<(Vec<u8>, u64)>> = Sides::default();
    let errors = extract(images, &request.wanted, limits, |wanted, content| {
        if let Some(content) = content {
            let mut bytes = Vec::new();
            content.take(MAX_READ + 1).read_to_end(&mut bytes)?;
            *read.get_mut(wanted.side) = Some((bytes, wanted.entry.size));
        }
        Ok(())
    });
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
    (request.path, sides)
}

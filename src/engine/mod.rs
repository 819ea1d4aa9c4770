//! The comparison engine: walks two images (index → manifests → config → layers → tar entries), pairs
//! what corresponds, and streams [`Event`]s. It knows nothing of terminals or report formats.
//!
//! Two phases: [`walk`] reads the small JSON blobs and emits the context tree and structural
//! differences; [`layers`] reads layer blobs in parallel and emits file differences per layer pair and
//! per merged filesystem.

pub mod blob;
mod blobs;
pub mod entries;
mod error;
pub mod extract;
mod findings;
pub mod held;
pub mod json_diff;
pub mod layer;
mod layers;
mod live;
pub mod nested;
mod platforms;
mod presence;
pub mod spool;
mod stream_hash;
mod walk;

#[cfg(test)]
pub(crate) mod testing;

pub use error::{BlobError, EngineError, Integrity};

use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::explain::Catalogue;
use crate::model::{Event, Sides};
use crate::oci::Platform;
use crate::source::Image;

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Platforms to compare; empty means every platform the images share.
    pub platforms: Vec<Platform>,
    /// Compare every platform, overriding `platforms`.
    pub all_platforms: bool,
    /// `--platform0`/`--platform1`: compare this platform of input 0 with that of input 1 (one index
    /// given twice compares two of its platforms), overriding both of the above.
    pub platform_pair: Option<Sides<Platform>>,
    /// Layers read at once (defaults to the number of cores).
    pub jobs: usize,
    /// When to compute the merged-filesystem view (it may read shared base layers once).
    pub merged: MergedView,
    /// Also emit entries that compare equal (the explorer shows them on demand).
    pub include_unchanged: bool,
    /// The largest index, manifest or config blob read (bytes); they are held in memory.
    pub json_limit: u64,
    /// Bounds on what reading a layer may hold (tar extension headers, sparse files, entries).
    pub read_limits: layer::ReadLimits,
    /// Read and verify every blob of both inputs, equal digests included (`--verify`). Without it,
    /// blobs with equal digests are only checked to be there with the right size.
    pub verify: bool,
    /// How deep the insides of differing files (archives, compressed files) are compared; depth 0
    /// compares nothing inside (diffoci's content digest row).
    pub nested: nested::NestedLimits,
    /// Hold the contents of files that hold files while a layer pair is read, so the insides of
    /// differing ones are compared without reading the layers again (see [`held`]): faster, for up
    /// to the nested byte limit of memory more.
    pub hold_contents: bool,
    /// The rules that explain differences (known rebuild noise); `None` explains nothing by rule.
    pub catalogue: Option<Arc<Catalogue>>,
    /// Read the images' package databases: package changes, and the package of each differing file.
    pub packages: bool,
    /// Also report the file differences of a layer pair while it is read, as
    /// [`Event::Provisional`]s its end settles (the explorer shows them at once).
    pub provisional: bool,
    /// Where the explorer keeps file contents aside while layers are read (see [`spool`]).
    pub content_spool: Option<Arc<spool::ContentSpool>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            platforms: Vec::new(),
            all_platforms: false,
            platform_pair: None,
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            merged: MergedView::Always,
            include_unchanged: false,
            json_limit: blob::MAX_JSON_BLOB,
            read_limits: layer::ReadLimits::DEFAULT,
            verify: false,
            nested: nested::NestedLimits::DEFAULT,
            hold_contents: true,
            catalogue: None,
            packages: true,
            provisional: false,
            content_spool: None,
        }
    }
}

/// When the engine computes the merged-filesystem view of a manifest pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergedView {
    Never,
    /// Only where the layer counts differ (where per-layer comparison is noise).
    WhenLayerCountsDiffer,
    Always,
}

/// Receives the engine's events; called from several threads.
pub trait EventSink: Sync {
    fn emit(&self, event: Event);
}

impl<F: Fn(Event) + Sync> EventSink for F {
    fn emit(&self, event: Event) {
        self(event)
    }
}

/// Compares two images, streaming events to `sink` and ending with [`Event::Finished`]. Failures are
/// reported as [`Event::Error`]s and the comparison goes on with what can still be compared.
pub fn compare(images: &Sides<Image>, options: &Options, sink: &dyn EventSink) {
    drop(compare_and_keep(images, options, sink));
}

/// [`compare`], handing back what it read (see [`layers::Leftovers`]).
fn compare_and_keep(
    images: &Sides<Image>,
    options: &Options,
    sink: &dyn EventSink,
) -> layers::Leftovers {
    let walker = walk::Walker::new(images, options, sink);
    let plans = walker.plan();
    let leftovers = layers::run(&walker, &plans);
    sink.emit(Event::Finished);
    leftovers
}

/// How many events may wait in the channel for the caller to take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backlog {
    /// As many as come: the explorer, whose frames must not hold the comparison up.
    Unbounded,
    /// At most this many; the engine waits for room. For a caller that takes events as fast as it
    /// can (headless reports): a writer that falls behind a million differences would otherwise
    /// hold them all twice, in the channel and in the report.
    Bounded(usize),
}

/// Runs [`compare`] on a thread of its own and hands its events over a channel: the one way the
/// explorer and the headless reports start a comparison. A panic in the engine ends the stream with
/// an [`Event::Error`] and [`Event::Finished`] instead of a silent stop.
pub fn spawn(images: Arc<Sides<Image>>, options: Options, backlog: Backlog) -> Receiver<Event> {
    enum Tx {
        Unbounded(std::sync::mpsc::Sender<Event>),
        Bounded(std::sync::mpsc::SyncSender<Event>),
    }
    let (tx, rx) = match backlog {
        Backlog::Unbounded => {
            let (tx, rx) = channel();
            (Tx::Unbounded(tx), rx)
        }
        Backlog::Bounded(capacity) => {
            let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
            (Tx::Bounded(tx), rx)
        }
    };
    std::thread::spawn(move || {
        // A caller that went away stops nothing: the comparison runs on to its end unheard.
        let sink = |event| {
            let _ = match &tx {
                Tx::Unbounded(tx) => tx.send(event),
                Tx::Bounded(tx) => tx.send(event),
            };
        };
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compare_and_keep(&images, &options, &sink)
        }));
        // Before the stream closes: a caller that exits when it ends must find the inputs' temporary
        // copies (decompressed archives) already released, or they would outlive the process.
        drop(images);
        let leftovers = match run {
            Ok(leftovers) => Some(leftovers),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                sink(Event::Error {
                    context: None,
                    message: format!("internal error: the comparison stopped: {why}"),
                });
                sink(Event::Finished);
                None
            }
        };
        // The stream closes, and the caller goes on while what was read is freed.
        drop(tx);
        drop(leftovers);
    });
    rx
}

#[cfg(test)]
mod tests;

/// A mutex's guard, also when a thread panicked holding it: a panic ends the comparison with an error
/// event (see [`spawn`]), and the other threads must reach their end rather than panic in turn.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

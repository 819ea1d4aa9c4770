//! Getting the content of differing files back out, for report directories and content diffs. The
//! comparison keeps only digests, so the layers that hold the files are read again (and verified again);
//! each layer once, whatever the number of files wanted from it.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Seek};
use std::sync::Arc;

use crate::model::{ContextId, ContextKind, DiffKind, Difference, EntryMeta, Report, Side, Sides};
use crate::oci::{Descriptor, Digest};
use crate::source::Image;

use super::error::EngineError;
use super::layer::{ContentVisitor, ReadLimits, extract_from_layer};

/// One side of one differing file: where it lives and where it goes in the report. Its context path
/// and layer are shared with the other files of the context: a million files' list is 40 bytes each.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub side: Side,
    /// The context path of the difference (`/manifests-0/layers-1`, `/merged`...).
    pub context_path: Arc<str>,
    pub entry: EntryMeta,
    /// The layer that holds the entry, if it has content to read.
    pub layer: Option<Arc<Descriptor>>,
}

/// What to extract for these file differences (both sides of each).
pub fn wanted_for(report: &Report, differences: &[&Difference]) -> Vec<Wanted> {
    let mut out = Vec::new();
    let mut paths: HashMap<ContextId, Arc<str>> = HashMap::new();
    let mut layers: HashMap<(ContextId, Side, Option<u32>), Option<Arc<Descriptor>>> =
        HashMap::new();
    for difference in differences.iter().filter(|d| d.kind == DiffKind::File) {
        let Some(context) = report.context(difference.context) else {
            continue;
        };
        let Some(entries) = difference.entries.as_ref() else {
            continue;
        };
        let context_path = paths
            .entry(context.id)
            .or_insert_with(|| context.path.as_str().into());
        for side in Side::BOTH {
            let Some(entry) = entries.get(side) else {
                continue;
            };
            let origin = difference.origin.get().and_then(|o| *o.get(side));
            let layer = layers.entry((context.id, side, origin)).or_insert_with(|| {
                let layer = match context.kind {
                    ContextKind::Layer { .. } => context.descriptors.get(side).clone(),
                    ContextKind::MergedFs => origin
                        .and_then(|index| layer_of(report, context.parent, index as usize, side)),
                    _ => None,
                };
                layer.map(Arc::new)
            });
            out.push(Wanted {
                side,
                context_path: Arc::clone(context_path),
                entry: entry.clone(),
                layer: layer.clone(),
            });
        }
    }
    out
}

/// The descriptor of layer `index` of the manifest context `manifest`, on one side.
fn layer_of(
    report: &Report,
    manifest: Option<crate::model::ContextId>,
    index: usize,
    side: Side,
) -> Option<Descriptor> {
    report
        .contexts
        .iter()
        .find(|c| c.parent == manifest && c.kind == ContextKind::Layer { index })
        .and_then(|c| c.descriptors.get(side).clone())
}

/// A layer to read again and, by entry index, who wants each entry of it.
type LayerWants<'w> = (Arc<Descriptor>, HashMap<u32, WantedAt<'w>>);

/// Who wants one entry: most often one.
type WantedAt<'w> = smallvec::SmallVec<[&'w Wanted; 1]>;

/// Hands each wanted entry to `write`, with its content for regular files. Entries without content
/// are handed over without reading anything. Returns the errors (one line each); the rest goes on.
pub fn extract(
    images: &Sides<Image>,
    wanted: &[Wanted],
    limits: &ReadLimits,
    write: impl FnMut(&Wanted, Option<&mut dyn Read>) -> io::Result<()>,
) -> Vec<EngineError> {
    extract_until(images, wanted, limits, &|| false, write)
}

/// [`extract`], giving up as soon as `stop` says so (checked at each entry of a layer): what is left
/// is not handed over, and no error is returned for it.
pub fn extract_until(
    images: &Sides<Image>,
    wanted: &[Wanted],
    limits: &ReadLimits,
    stop: &dyn Fn() -> bool,
    mut write: impl FnMut(&Wanted, Option<&mut dyn Read>) -> io::Result<()>,
) -> Vec<EngineError> {
    let mut errors = Vec::new();
    let mut by_layer: BTreeMap<(Side, Digest), LayerWants<'_>> = BTreeMap::new();
    for w in wanted {
        match (&w.layer, w.entry.content().is_some()) {
            (Some(layer), true) => {
                let slot = by_layer
                    .entry((w.side, layer.digest.clone()))
                    .or_insert_with(|| (Arc::clone(layer), HashMap::new()));
                slot.1.entry(w.entry.index()).or_default().push(w);
            }
            _ => {
                if let Err(e) = write(w, None) {
                    errors.push(write_error(images, w, e));
                }
            }
        }
    }
    for ((side, _), (layer, by_index)) in by_layer {
        if stop() {
            break;
        }
        let mut visitor = Visitor {
            by_index: &by_index,
            write: &mut write,
            failures: Vec::new(),
            stop,
        };
        let source = images.get(side).source.as_ref();
        let read = extract_from_layer(source, &layer, &mut visitor, limits);
        if stop() {
            break;
        }
        if let Err(source_error) = read {
            let path = by_index
                .values()
                .flatten()
                .next()
                .map(|w| w.context_path.to_string())
                .unwrap_or_default();
            errors.push(EngineError::Blob {
                input: side.index(),
                spec: images.get(side).spec.clone(),
                what: "layer",
                digest: layer.digest.clone(),
                context: path,
                source: Box::new(source_error),
            });
        }
        let failures = std::mem::take(&mut visitor.failures);
        errors.extend(failures.into_iter().map(|(w, e)| write_error(images, w, e)));
    }
    errors
}

fn write_error(images: &Sides<Image>, wanted: &Wanted, error: io::Error) -> EngineError {
    EngineError::Write {
        input: wanted.side.index(),
        spec: images.get(wanted.side).spec.clone(),
        name: wanted.entry.name().to_string(),
        message: error.to_string(),
    }
}

struct Visitor<'b, 'w, 'f, F> {
    by_index: &'b HashMap<u32, WantedAt<'w>>,
    write: &'f mut F,
    failures: Vec<(&'w Wanted, io::Error)>,
    stop: &'f dyn Fn() -> bool,
}

impl<F: FnMut(&Wanted, Option<&mut dyn Read>) -> io::Result<()>> ContentVisitor
    for Visitor<'_, '_, '_, F>
{
    fn wants(&mut self, index: u32) -> bool {
        self.by_index.contains_key(&index)
    }

    fn stopped(&mut self) -> bool {
        (self.stop)()
    }

    fn visit(&mut self, entry: &EntryMeta, content: &mut dyn Read) -> io::Result<()> {
        let Some(all) = self.by_index.get(&entry.index()) else {
            return Ok(());
        };
        // Several differences may want the same entry (per-layer and merged views); the content can be
        // streamed once, so it is spooled to a temporary file only in that case.
        if let [only] = all.as_slice() {
            if let Err(e) = (self.write)(only, Some(content)) {
                self.failures.push((only, e));
            }
            return Ok(());
        }
        let mut spool = spool_to_disk(content)?;
        for w in all {
            spool.rewind()?;
            if let Err(e) = (self.write)(w, Some(&mut spool)) {
                self.failures.push((w, e));
            }
        }
        Ok(())
    }
}

/// A rewindable copy of an entry's content, on disk so large files never sit in memory.
fn spool_to_disk(content: &mut dyn Read) -> io::Result<std::fs::File> {
    let mut file = tempfile::tempfile()?;
    io::copy(content, &mut file)?;
    Ok(file)
}

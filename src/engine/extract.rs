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

/// The entries to extract, in order, each made when it is handed over: a million files' report
/// directory would otherwise hold two million [`Wanted`]s (80 MB) while its layers are read.
pub trait WantedList {
    /// How many places the list has.
    fn places(&self) -> usize;
    /// What is wanted at place `at`, if anything is.
    fn wanted(&self, at: usize) -> Option<Wanted>;
}

impl WantedList for [Wanted] {
    fn places(&self) -> usize {
        self.len()
    }

    fn wanted(&self, at: usize) -> Option<Wanted> {
        self.get(at).cloned()
    }
}

/// Both sides of each of these file differences (place `2 * i + side` is side `side` of the `i`th),
/// but for the places left out.
pub struct FilesWanted<'a> {
    differences: &'a [&'a Difference],
    /// Shared by the files of a context.
    paths: HashMap<ContextId, Arc<str>>,
    layers: HashMap<(ContextId, Side, Option<u32>), Option<Arc<Descriptor>>>,
    /// Sorted.
    left_out: Vec<usize>,
}

impl<'a> FilesWanted<'a> {
    pub fn new(report: &Report, differences: &'a [&'a Difference]) -> Self {
        let mut files = FilesWanted {
            differences,
            paths: HashMap::new(),
            layers: HashMap::new(),
            left_out: Vec::new(),
        };
        for difference in differences.iter().filter(|d| d.kind == DiffKind::File) {
            let Some(context) = report.context(difference.context) else {
                continue;
            };
            (files.paths)
                .entry(context.id)
                .or_insert_with(|| context.path.as_str().into());
            for side in Side::BOTH {
                let origin = difference.origin.get().and_then(|o| *o.get(side));
                files
                    .layers
                    .entry((context.id, side, origin))
                    .or_insert_with(|| {
                        let layer = match context.kind {
                            ContextKind::Layer { .. } => context.descriptors.get(side).clone(),
                            ContextKind::MergedFs => origin.and_then(|index| {
                                layer_of(report, context.parent, index as usize, side)
                            }),
                            _ => None,
                        };
                        layer.map(Arc::new)
                    });
            }
        }
        files
    }

    /// Leaves out the places `left_out` (in increasing order).
    pub fn leave_out(&mut self, left_out: Vec<usize>) {
        self.left_out = left_out;
    }

    /// Every place's [`Wanted`].
    pub fn to_vec(&self) -> Vec<Wanted> {
        (0..self.places())
            .filter_map(|at| self.wanted(at))
            .collect()
    }
}

impl WantedList for FilesWanted<'_> {
    fn places(&self) -> usize {
        2 * self.differences.len()
    }

    fn wanted(&self, at: usize) -> Option<Wanted> {
        if self.left_out.binary_search(&at).is_ok() {
            return None;
        }
        let difference = self.differences.get(at / 2)?;
        let side = Side::BOTH[at % 2];
        if difference.kind != DiffKind::File {
            return None;
        }
        let context_path = self.paths.get(&difference.context)?;
        let entry = difference.entries.as_ref()?.get(side).as_ref()?;
        let origin = difference.origin.get().and_then(|o| *o.get(side));
        let layer = self.layers.get(&(difference.context, side, origin))?;
        Some(Wanted {
            side,
            context_path: Arc::clone(context_path),
            entry: entry.clone(),
            layer: layer.clone(),
        })
    }
}

/// What to extract for these file differences (both sides of each).
pub fn wanted_for(report: &Report, differences: &[&Difference]) -> Vec<Wanted> {
    FilesWanted::new(report, differences).to_vec()
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

/// A layer to read again and who wants which of its entries: (entry index, place in the list),
/// sorted by entry index; 8 bytes a wanted entry.
type LayerWants = (Arc<Descriptor>, Vec<(u32, u32)>);

/// Hands each wanted entry to `write`, with its content for regular files. Entries without content
/// are handed over without reading anything. Returns the errors (one line each); the rest goes on.
pub fn extract(
    images: &Sides<Image>,
    wanted: &(impl WantedList + ?Sized),
    limits: &ReadLimits,
    write: impl FnMut(&Wanted, Option<&mut dyn Read>) -> io::Result<()>,
) -> Vec<EngineError> {
    extract_until(images, wanted, limits, &|| false, write)
}

/// [`extract`], giving up as soon as `stop` says so (checked at each entry of a layer): what is left
/// is not handed over, and no error is returned for it.
pub fn extract_until(
    images: &Sides<Image>,
    wanted: &(impl WantedList + ?Sized),
    limits: &ReadLimits,
    stop: &dyn Fn() -> bool,
    mut write: impl FnMut(&Wanted, Option<&mut dyn Read>) -> io::Result<()>,
) -> Vec<EngineError> {
    let mut errors = Vec::new();
    let mut by_layer: BTreeMap<(Side, Digest), LayerWants> = BTreeMap::new();
    for at in 0..wanted.places() {
        let Some(w) = wanted.wanted(at) else {
            continue;
        };
        match (&w.layer, w.entry.content().is_some(), u32::try_from(at)) {
            (Some(layer), true, Ok(place)) => {
                let slot = by_layer
                    .entry((w.side, layer.digest.clone()))
                    .or_insert_with(|| (Arc::clone(layer), Vec::new()));
                slot.1.push((w.entry.index(), place));
            }
            _ => {
                if let Err(e) = write(&w, None) {
                    errors.push(write_error(images, &w, e));
                }
            }
        }
    }
    for ((side, _), (layer, mut by_index)) in by_layer {
        if stop() {
            break;
        }
        // Who wants the same entry keeps the list's order (without the buffer a stable sort takes).
        by_index.sort_unstable();
        let mut visitor = Visitor {
            list: wanted,
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
            let path = (by_index.first())
                .and_then(|(_, at)| wanted.wanted(*at as usize))
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
        errors.extend(
            failures
                .into_iter()
                .map(|(w, e)| write_error(images, &w, e)),
        );
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

struct Visitor<'b, 'f, L: ?Sized, F> {
    list: &'b L,
    by_index: &'b [(u32, u32)],
    write: &'f mut F,
    failures: Vec<(Wanted, io::Error)>,
    stop: &'f dyn Fn() -> bool,
}

impl<'b, L: ?Sized, F> Visitor<'b, '_, L, F> {
    /// The places that want entry `index`, in the list's order.
    fn places_of(&self, index: u32) -> &'b [(u32, u32)] {
        let from = self.by_index.partition_point(|(i, _)| *i < index);
        let wanting = self.by_index[from..].partition_point(|(i, _)| *i == index);
        &self.by_index[from..from + wanting]
    }
}

impl<L: WantedList + ?Sized, F: FnMut(&Wanted, Option<&mut dyn Read>) -> io::Result<()>>
    ContentVisitor for Visitor<'_, '_, L, F>
{
    fn wants(&mut self, index: u32) -> bool {
        !self.places_of(index).is_empty()
    }

    fn stopped(&mut self) -> bool {
        (self.stop)()
    }

    fn visit(&mut self, entry: &EntryMeta, content: &mut dyn Read) -> io::Result<()> {
        let all: smallvec::SmallVec<[Wanted; 1]> = (self.places_of(entry.index()).iter())
            .filter_map(|(_, at)| self.list.wanted(*at as usize))
            .collect();
        // Several differences may want the same entry (per-layer and merged views); the content can be
        // streamed once, so it is spooled to a temporary file only in that case.
        if let [only] = all.as_slice() {
            if let Err(e) = (self.write)(only, Some(content)) {
                self.failures.push((only.clone(), e));
            }
            return Ok(());
        }
        let mut spool = spool_to_disk(content)?;
        for w in all {
            spool.rewind()?;
            if let Err(e) = (self.write)(&w, Some(&mut spool)) {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::Options;
    use crate::engine::testing::{MemorySource, image, run_keeping_images, tar_of};
    use crate::oci::media_type::OCI_LAYER_GZIP;

    /// Two one-layer images whose files `a` and `b` (in that order in the tar) differ, compared.
    fn compared() -> (Report, Sides<Image>) {
        let side = |byte: u8| {
            let mut source = MemorySource::default();
            let tar = tar_of(&[("a", &[byte; 3], 0o644), ("b", &[byte + 1; 5], 0o644)]);
            let root = image(&mut source, &[(tar, OCI_LAYER_GZIP)], json!({}));
            (source, root)
        };
        run_keeping_images(Sides::new(side(b'a'), side(b'x')), &Options::default())
    }

    fn file_differences(report: &Report) -> Vec<&Difference> {
        (report.differences.iter())
            .filter(|d| d.kind == DiffKind::File)
            .collect()
    }

    /// What `extract` hands over: context path, side, name, content.
    fn handed(images: &Sides<Image>, list: &(impl WantedList + ?Sized)) -> Vec<String> {
        let mut out = Vec::new();
        let errors = extract(images, list, &ReadLimits::DEFAULT, |w, content| {
            let mut bytes = String::new();
            if let Some(content) = content {
                content.read_to_string(&mut bytes)?;
            }
            let side = w.side.index();
            out.push(format!(
                "{} {side} {} {bytes}",
                w.context_path,
                w.entry.name()
            ));
            Ok(())
        });
        assert!(errors.is_empty(), "{errors:?}");
        out
    }

    #[test]
    fn wanted_entries_come_in_tar_order_and_one_wanted_twice_comes_to_each_in_list_order() {
        let (report, images) = compared();
        let files = file_differences(&report);
        let all = wanted_for(&report, &files);
        let named = |name: &str, side: Side| {
            let found = all
                .iter()
                .find(|w| w.entry.name() == name && w.side == side);
            found.cloned().unwrap_or_else(|| panic!("{name}: {all:?}"))
        };
        let mut again = named("a", Side::Input0);
        again.context_path = "again".into();
        let list = [named("b", Side::Input0), named("a", Side::Input0), again];
        let path = &*list[0].context_path;
        assert_eq!(
            handed(&images, &list[..]),
            [
                format!("{path} 0 a aaa"),
                "again 0 a aaa".to_owned(),
                format!("{path} 0 b bbbbb"),
            ]
        );
    }

    #[test]
    fn the_places_left_out_are_neither_read_nor_handed_over() {
        let (report, images) = compared();
        let files = file_differences(&report);
        let mut list = FilesWanted::new(&report, &files);
        assert_eq!(list.places(), 2 * files.len());
        let every = handed(&images, &list);
        // Each file in each view (per layer and merged, the same entries), each side.
        assert_eq!(every.len(), 2 * files.len(), "{every:?}");
        assert!(every.iter().any(|h| h.ends_with(" 1 a xxx")), "{every:?}");
        let first_input1 = (0..list.places())
            .find(|&at| list.wanted(at).is_some_and(|w| w.side == Side::Input1))
            .unwrap_or_else(|| panic!("no input 1 place"));
        list.leave_out(vec![first_input1]);
        assert!(list.wanted(first_input1).is_none());
        let rest = handed(&images, &list);
        assert_eq!(rest.len(), every.len() - 1, "{rest:?}");
        assert_eq!(list.to_vec().len(), every.len() - 1);
    }
}

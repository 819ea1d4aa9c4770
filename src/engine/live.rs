//! File differences of a layer pair found while both sides are still being read. An entry is compared
//! as soon as both sides have read its path (the same occurrence of it: names that appear several
//! times pair in order, as [`super::entries`] pairs them), and once a side is read to its end an
//! entry of the other side with no partner there is added or removed. What is found is provisional:
//! the layer's end compares the pair again as a whole (order changes, entry counts) and settles each
//! provisional difference under its id, or withdraws it if the layer failed to read or verify.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::model::{ContextId, DiffId, Difference, EntryMeta, Side, Sides};

use super::entries::file_difference;
use super::lock;

/// The entries a difference pairs: each side's entry index, `None` where the side has none.
pub(super) type Pairing = (Option<u32>, Option<u32>);

/// One layer pair being read.
pub(super) struct LivePair {
    context: ContextId,
    include_unchanged: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sides: Sides<Seen>,
    provisional: ProvisionalIds,
    settled: bool,
}

/// The ids of a layer pair's provisional differences, by the entries they pair: 12 bytes each (a
/// hash map took 44 MB for a million, until the layer's end).
#[derive(Default)]
pub(super) struct ProvisionalIds {
    /// Input 0's entry index, input 1's ([`Self::ABSENT`] for none) and the id ([`Self::TAKEN`] once
    /// taken); sorted when first taken from.
    ids: Vec<[u32; 3]>,
    sorted: bool,
}

impl ProvisionalIds {
    const ABSENT: u32 = u32::MAX;
    const TAKEN: u32 = u32::MAX;

    fn insert(&mut self, (input0, input1): Pairing, id: DiffId) {
        let index = |i: Option<u32>| i.unwrap_or(Self::ABSENT);
        self.ids.push([index(input0), index(input1), id.0]);
        self.sorted = false;
    }

    /// The id of the provisional difference of `pairing`, once.
    pub fn take(&mut self, (input0, input1): Pairing) -> Option<DiffId> {
        if !self.sorted {
            self.ids.sort_unstable();
            self.sorted = true;
        }
        let key = [input0, input1].map(|i| i.unwrap_or(Self::ABSENT));
        let at = (self.ids)
            .binary_search_by(|[a, b, _]| [*a, *b].cmp(&key))
            .ok()?;
        let id = std::mem::replace(&mut self.ids[at][2], Self::TAKEN);
        (id != Self::TAKEN).then_some(DiffId(id))
    }

    /// The ids not taken.
    pub fn into_remaining(self) -> Vec<DiffId> {
        (self.ids.into_iter())
            .filter(|[.., id]| *id != Self::TAKEN)
            .map(|[.., id]| DiffId(id))
            .collect()
    }
}

/// What one side has read so far.
#[derive(Default)]
struct Seen {
    /// How many times each path was read.
    occurrences: HashMap<String, u32>,
    /// Entries whose partner the other side has not read yet, by path and occurrence.
    waiting: HashMap<(String, u32), EntryMeta>,
    /// Read to its end (or absent): what it has not paired has no partner.
    complete: bool,
}

impl LivePair {
    /// A pair whose absent sides (a layer one image does not have) are complete from the start.
    pub fn new(context: ContextId, include_unchanged: bool, present: Sides<bool>) -> LivePair {
        let mut state = State::default();
        for side in Side::BOTH {
            state.sides.get_mut(side).complete = !*present.get(side);
        }
        LivePair {
            context,
            include_unchanged,
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// An entry `side` read: compared with its partner if the other side read it, added or removed
    /// if the other side is complete, else kept until one of them happens. `emit` reports a
    /// provisional difference and gives its id.
    pub fn entry(&self, side: Side, entry: &EntryMeta, emit: impl FnOnce(Difference) -> DiffId) {
        let mut state = self.lock();
        if state.settled {
            return;
        }
        let path = entry.path();
        let seen = state.sides.get_mut(side);
        let count = seen.occurrences.entry(path.clone()).or_insert(0);
        let key = (path, *count);
        *count += 1;
        let other = state.sides.get_mut(side.other());
        let partner = other.waiting.remove(&key);
        if partner.is_none() && !other.complete {
            state.sides.get_mut(side).waiting.insert(key, entry.clone());
            return;
        }
        let (path, _) = key;
        let entries = match side {
            Side::Input0 => Sides::new(Some(entry), partner.as_ref()),
            Side::Input1 => Sides::new(partner.as_ref(), Some(entry)),
        };
        if let Some((pairing, difference)) = self.difference(path, entries) {
            let id = emit(difference);
            state.provisional.insert(pairing, id);
        }
    }

    /// `side` was read to its end: the other side's waiting entries have no partner.
    pub fn side_complete(&self, side: Side, mut emit: impl FnMut(Difference) -> DiffId) {
        let mut state = self.lock();
        if state.settled {
            return;
        }
        state.sides.get_mut(side).complete = true;
        let other = side.other();
        let mut orphans: Vec<((String, u32), EntryMeta)> =
            state.sides.get_mut(other).waiting.drain().collect();
        // In the order the side read them, as the layer's end would find them.
        orphans.sort_by_key(|(_, entry)| entry.index());
        for ((path, _), entry) in orphans {
            let entries = match other {
                Side::Input0 => Sides::new(Some(&entry), None),
                Side::Input1 => Sides::new(None, Some(&entry)),
            };
            if let Some((pairing, difference)) = self.difference(path, entries) {
                let id = emit(difference);
                state.provisional.insert(pairing, id);
            }
        }
    }

    /// The layer's end: nothing more is provisional. The ids given so far, by the entries they pair.
    pub fn settle(&self) -> ProvisionalIds {
        let mut state = self.lock();
        state.settled = true;
        state.sides = Sides::default();
        std::mem::take(&mut state.provisional)
    }

    /// The difference between two entries of a path (one of them may be absent), if any. The
    /// entries' order is not compared: only the layer's end knows it.
    fn difference(
        &self,
        path: String,
        entries: Sides<Option<&EntryMeta>>,
    ) -> Option<(Pairing, Difference)> {
        let difference =
            file_difference(self.context, &path, entries, false, self.include_unchanged)?;
        Some((pairing_of(entries), difference))
    }
}

/// The entries a file difference pairs.
pub(super) fn pairing_of(entries: Sides<Option<&EntryMeta>>) -> Pairing {
    (
        entries.input0.map(|e| e.index()),
        entries.input1.map(|e| e.index()),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use crate::engine::testing::{MemorySource, image, images_of};
    use crate::engine::{MergedView, Options};
    use crate::filter::{Filter, Presentation, View};
    use crate::fixture::LayerBuilder;
    use crate::model::{Event, Report};
    use crate::oci::Digest;
    use crate::oci::media_type::*;
    use crate::source::{BlobSource, Image, SourceError};

    type Layers = Vec<(Vec<u8>, &'static str)>;

    #[test]
    fn provisional_ids_are_taken_once_by_their_pairing_and_the_rest_remain() {
        use super::ProvisionalIds;
        use crate::model::DiffId;
        let mut ids = ProvisionalIds::default();
        for (pairing, id) in [
            ((Some(5), Some(7)), 1),
            ((Some(0), None), 2),
            ((None, Some(3)), 3),
            ((Some(2), Some(2)), 4),
        ] {
            ids.insert(pairing, DiffId(id));
        }
        assert_eq!(ids.take((Some(5), Some(7))), Some(DiffId(1)));
        assert_eq!(ids.take((Some(5), Some(7))), None, "taken once");
        assert_eq!(ids.take((Some(5), None)), None, "another pairing");
        assert_eq!(ids.take((None, Some(3))), Some(DiffId(3)));
        ids.insert((Some(9), Some(9)), DiffId(5));
        assert_eq!(
            ids.take((Some(9), Some(9))),
            Some(DiffId(5)),
            "added after a take"
        );
        let mut rest = ids.into_remaining();
        rest.sort();
        assert_eq!(rest, [DiffId(2), DiffId(4)]);
    }

    fn gz(tar: Vec<u8>) -> (Vec<u8>, &'static str) {
        (tar, OCI_LAYER_GZIP)
    }

    /// Runs a comparison, keeping every event and the report they make.
    fn compare(pair: [&Layers; 2], options: &Options) -> (Report, Vec<Event>) {
        let images = images_of(crate::model::Sides::new(pair[0], pair[1]).map(|layers| {
            let mut source = MemorySource::default();
            let root = image(&mut source, layers, json!({}));
            (source, root)
        }));
        compare_images(&images, options)
    }

    fn compare_images(
        images: &crate::model::Sides<Image>,
        options: &Options,
    ) -> (Report, Vec<Event>) {
        let events = Mutex::new(Vec::new());
        let sink = |event| events.lock().unwrap().push(event);
        crate::engine::compare(images, options, &sink);
        let events = events.into_inner().unwrap();
        let mut report = Report::default();
        for event in events.clone() {
            report.apply(event);
        }
        (report, events)
    }

    /// Everything the headless outputs are made of (they are functions of the report): the report
    /// as it serializes, with what two runs may give in another order sorted (layers finish in any
    /// order) and the ids, handed out as found, left out.
    fn outputs(report: &Report) -> String {
        let mut report = report.clone();
        for difference in &mut report.differences {
            difference.id = crate::model::DiffId::default();
        }
        report.layer_entries.sort_by_key(|(context, _)| *context);
        report.equal_layers.sort_by_key(|(context, _)| *context);
        report.warnings.sort();
        report.errors.sort();
        report.progress = Default::default();
        let mut out = serde_json::to_string_pretty(&report).unwrap();
        let filter = Filter::new(&[], &[]).unwrap();
        for view in [View::PerLayer, View::Merged, View::Auto] {
            for shown in Presentation::new(&report, &filter, view).shown() {
                let deltas = shown.deltas();
                let fields: Vec<&str> = deltas.iter().map(|d| d.field.as_ref()).collect();
                out.push_str(&format!(
                    "\n{} {}",
                    shown.difference.key(),
                    fields.join(",")
                ));
            }
        }
        out
    }

    fn many_files(count: usize, mtime: u64, changed_every: usize) -> Vec<u8> {
        let mut layer = LayerBuilder::new();
        for i in 0..count {
            let content = if i % changed_every == 0 {
                format!("changed {i} {mtime}")
            } else {
                format!("same {i}")
            };
            layer = layer
                .file(format!("usr/share/f{i:05}"), content)
                .mtime(mtime);
        }
        layer.build()
    }

    /// Image pairs whose settling is delicate: duplicate names, hard links to later entries,
    /// whiteouts, reordered tars, a layer on one side only, many entries read at once.
    fn fixtures() -> Vec<(&'static str, Layers, Layers)> {
        let base = || {
            LayerBuilder::new()
                .dir("etc")
                .file("etc/a", "1")
                .file("etc/b", "2")
        };
        vec![
            (
                "changed, added, removed",
                vec![gz(base().file("etc/gone", "x").build())],
                vec![(
                    base()
                        .file("etc/b", "3")
                        .mode(0o600)
                        .file("etc/new", "y")
                        .build(),
                    OCI_LAYER_ZSTD,
                )],
            ),
            (
                "duplicate names",
                vec![gz(base()
                    .file("etc/a", "again")
                    .file("x", "1")
                    .file("x", "2")
                    .build())],
                vec![gz(base().file("x", "1").file("etc/a", "other").build())],
            ),
            (
                "hard links to later entries",
                vec![gz(base()
                    .hardlink("etc/h", "etc/z")
                    .file("etc/z", "1")
                    .build())],
                vec![gz(base()
                    .hardlink("etc/h", "etc/y")
                    .file("etc/y", "1")
                    .build())],
            ),
            (
                "whiteouts",
                vec![
                    gz(base().file("etc/c", "3").build()),
                    gz(LayerBuilder::new()
                        .whiteout("etc/a")
                        .opaque_whiteout("etc")
                        .build()),
                ],
                vec![
                    gz(base().file("etc/c", "4").build()),
                    gz(LayerBuilder::new()
                        .whiteout("etc/b")
                        .file("etc/d", "5")
                        .build()),
                ],
            ),
            (
                "reordered",
                vec![gz(LayerBuilder::new()
                    .file("a", "1")
                    .file("b", "2")
                    .file("c", "3")
                    .file("d", "4")
                    .file("e", "5")
                    .build())],
                vec![gz(LayerBuilder::new()
                    .file("c", "3")
                    .file("a", "1")
                    .file("b", "changed")
                    .file("e", "5")
                    .file("d", "4")
                    .mode(0o600)
                    .build())],
            ),
            (
                "a layer on one side only",
                vec![gz(base().build())],
                vec![
                    gz(base().build()),
                    gz(LayerBuilder::new().file("opt/x", "1").build()),
                ],
            ),
            (
                "many entries",
                vec![gz(many_files(600, 1, 7)), gz(many_files(100, 1, 3))],
                vec![gz(many_files(600, 2, 5)), gz(many_files(120, 1, 3))],
            ),
        ]
    }

    fn options(provisional: bool, include_unchanged: bool) -> Options {
        Options {
            provisional,
            include_unchanged,
            merged: MergedView::Always,
            jobs: 2,
            ..Options::default()
        }
    }

    #[test]
    fn differences_reported_while_reading_settle_into_the_same_report() {
        for (name, a, b) in fixtures() {
            for include_unchanged in [false, true] {
                let (before, _) = compare([&a, &b], &options(false, include_unchanged));
                let (after, events) = compare([&a, &b], &options(true, include_unchanged));
                assert_eq!(outputs(&before), outputs(&after), "{name}");
                assert!(after.errors.is_empty(), "{name}: {:?}", after.errors);
                let provisional = events
                    .iter()
                    .filter(|e| matches!(e, Event::Provisional(_)))
                    .count();
                assert!(provisional > 0, "{name}: nothing was reported early");
                assert_every_provisional_is_settled(&events, name);
                assert_settled_entries_are_the_provisional_ones(&events, name);
            }
        }
    }

    /// A provisional difference holds the entries the scan read, not copies: a layer of a million
    /// changed files would otherwise hold them twice until it ends.
    fn assert_settled_entries_are_the_provisional_ones(events: &[Event], name: &str) {
        let mut provisional = std::collections::HashMap::new();
        for event in events {
            match event {
                Event::Provisional(d) => {
                    provisional.insert(d.id, d.entries.as_ref().cloned());
                }
                Event::Difference(d) => {
                    let Some(Some(early)) = provisional.remove(&d.id) else {
                        continue;
                    };
                    let settled = d.entries.as_ref().expect("a file difference");
                    for (side, entry) in early.iter() {
                        let same = match (entry, settled.get(side)) {
                            (Some(x), Some(y)) => crate::model::EntryMeta::same(x, y),
                            (x, y) => x.is_none() && y.is_none(),
                        };
                        assert!(same, "{name}: {} copied on {side:?}", d.key());
                    }
                }
                _ => {}
            }
        }
    }

    /// Each provisional difference is settled once under its id, or withdrawn.
    fn assert_every_provisional_is_settled(events: &[Event], name: &str) {
        let mut open = std::collections::HashSet::new();
        for event in events {
            match event {
                Event::Provisional(d) => assert!(open.insert(d.id), "{name}: id reused"),
                Event::Difference(d) => {
                    open.remove(&d.id);
                }
                Event::Withdrawn { differences } => {
                    for id in differences {
                        assert!(open.remove(id), "{name}: withdrew {id:?}, not provisional");
                    }
                }
                _ => {}
            }
        }
        assert!(open.is_empty(), "{name}: never settled: {open:?}");
    }

    #[test]
    fn a_layer_that_fails_to_verify_withdraws_what_it_reported() {
        let good = LayerBuilder::new()
            .file("etc/a", "1")
            .file("etc/b", "2")
            .build();
        let other = LayerBuilder::new()
            .file("etc/a", "changed")
            .file("etc/b", "2")
            .build();
        let mut lying = MemorySource::default();
        let root = image(&mut lying, &[gz(other)], json!({}));
        // The config claims the diff_id of another tar: the lie shows only at the layer's end.
        let manifest: crate::oci::Manifest =
            serde_json::from_slice(&read(&lying, &root.digest)).unwrap();
        let mut config: serde_json::Value =
            serde_json::from_slice(&read(&lying, &manifest.config.digest)).unwrap();
        config["rootfs"]["diff_ids"][0] = json!(Digest::sha256_of(b"not this tar").to_string());
        let config = lying.add(OCI_CONFIG, serde_json::to_vec(&config).unwrap());
        let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
            "layers": manifest.layers});
        let root = lying.add(OCI_MANIFEST, serde_json::to_vec(&manifest).unwrap());
        let mut honest = MemorySource::default();
        let honest_root = image(&mut honest, &[gz(good)], json!({}));
        let images = images_of(crate::model::Sides::new(
            (honest, honest_root),
            (lying, root),
        ));
        let (after, events) = compare_images(&images, &options(true, false));
        let (before, _) = compare_images(&images, &options(false, false));
        assert_eq!(outputs(&before), outputs(&after));
        assert_eq!(after.errors.len(), 1, "{:?}", after.errors);
        let withdrawn = events
            .iter()
            .any(|e| matches!(e, Event::Withdrawn { differences } if !differences.is_empty()));
        assert!(
            withdrawn,
            "the changed file reported while reading is taken back"
        );
        assert!(after.differences.iter().all(|d| d.key() != "etc/a"));
        assert_every_provisional_is_settled(&events, "lying layer");
    }

    fn read(source: &MemorySource, digest: &Digest) -> Vec<u8> {
        let mut bytes = Vec::new();
        source
            .open(digest)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    }

    /// A source that counts the bytes read from it.
    struct Counting {
        inner: MemorySource,
        read: Arc<AtomicU64>,
    }

    struct CountingReader {
        inner: Box<dyn Read + Send>,
        read: Arc<AtomicU64>,
    }

    impl Read for CountingReader {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read.fetch_add(n as u64, Ordering::SeqCst);
            Ok(n)
        }
    }

    /// An image of one layer whose blobs count the bytes read from them in `read`.
    fn counted_image(layer: (Vec<u8>, &'static str), read: &Arc<AtomicU64>) -> Image {
        let mut source = MemorySource::default();
        let root = image(&mut source, &[layer], json!({}));
        Image {
            spec: "memory".into(),
            source: Arc::new(Counting {
                inner: source,
                read: Arc::clone(read),
            }),
            root,
        }
    }

    impl BlobSource for Counting {
        fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError> {
            Ok(Box::new(CountingReader {
                inner: self.inner.open(digest)?,
                read: Arc::clone(&self.read),
            }))
        }

        fn stat(&self, digest: &Digest) -> Result<Option<u64>, SourceError> {
            self.inner.stat(digest)
        }
    }

    #[test]
    fn the_first_difference_of_a_big_layer_comes_before_its_end() {
        // The first entry differs; thousands of equal ones follow (plain tars: bytes read are tar
        // bytes, far more than the reader's buffers).
        let layer = |first: &str| {
            let mut layer = LayerBuilder::new().file("etc/first", first);
            for i in 0..6_000 {
                layer = layer.file(format!("usr/lib/f{i:05}"), "same content");
            }
            layer.build()
        };
        let read = Arc::new(AtomicU64::new(0));
        let image_of = |tar: Vec<u8>| counted_image((tar, OCI_LAYER_TAR), &read);
        let (a, b) = (layer("a"), layer("b"));
        let total = (a.len() + b.len()) as u64;
        let images = crate::model::Sides::new(image_of(a), image_of(b));
        let order = Mutex::new(Vec::new());
        let sink = |event: Event| {
            let what = match &event {
                Event::Provisional(d) => format!("provisional {}", d.key()),
                Event::Difference(d) => format!("difference {}", d.key()),
                Event::LayerCompared { .. } => "layer compared".into(),
                _ => return,
            };
            order
                .lock()
                .unwrap()
                .push((what, read.load(Ordering::SeqCst)));
        };
        crate::engine::compare(&images, &options(true, false), &sink);
        let order = order.into_inner().unwrap();
        let first = order
            .iter()
            .position(|(what, _)| what == "provisional etc/first")
            .expect("reported while reading");
        let compared = order
            .iter()
            .position(|(what, _)| what == "layer compared")
            .unwrap_or_else(|| panic!("the layer pair was not compared: {order:?}"));
        assert!(first < compared, "{order:?}");
        let (_, read_then) = &order[first];
        assert!(
            *read_then < total / 2,
            "the first difference waited for {read_then} of {total} bytes"
        );
        // Settled under the same id by the layer's end.
        assert!(order.iter().any(|(what, _)| what == "difference etc/first"));
    }

    #[test]
    fn files_that_hold_files_are_compared_inside_from_the_first_read() {
        let layer = |payload: &str| {
            let mut layer = LayerBuilder::new()
                .file(
                    "usr/share/doc/x/changelog.gz",
                    crate::fixture::gzip(payload.as_bytes()),
                )
                .file("usr/share/doc/y/same.gz", crate::fixture::gzip(b"same"));
            for i in 0..2_000 {
                layer = layer.file(format!("usr/lib/f{i:05}"), "same content");
            }
            layer.build()
        };
        let run = |nested| {
            let read = Arc::new(AtomicU64::new(0));
            let image_of = |tar: Vec<u8>| counted_image(gz(tar), &read);
            let images =
                crate::model::Sides::new(image_of(layer("one\n")), image_of(layer("two\n")));
            let options = Options {
                nested,
                ..options(false, false)
            };
            let nested_events = Mutex::new(0);
            let sink = |event: Event| {
                if let Event::Nested { .. } = event {
                    *nested_events.lock().unwrap() += 1;
                }
            };
            crate::engine::compare(&images, &options, &sink);
            (
                read.load(Ordering::SeqCst),
                nested_events.into_inner().unwrap(),
            )
        };
        let (read_once, none) = run(crate::engine::nested::NestedLimits::OFF);
        let (read, inside) = run(crate::engine::nested::NestedLimits::DEFAULT);
        assert_eq!(none, 0);
        assert_eq!(
            inside, 2,
            "the changelog is compared inside, in the layer and the merged view"
        );
        assert_eq!(read, read_once, "no layer is read a second time");
    }
}

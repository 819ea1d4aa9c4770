//! Comparing tar entries: one entry pair field by field, a layer pair entry by entry, and the merged
//! filesystems path by path.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::json;

use crate::model::{
    Aspect, ContextId, Delta, Deltas, DiffId, DiffKey, DiffKind, Difference, EntryKind, EntryMeta,
    IndexPair, Sides, Whiteout, is_canonical,
};

/// The difference between a path's entries (one of them may be absent), deltas derived from them;
/// `None` when they do not differ, unless `include_unchanged`.
pub(super) fn file_difference(
    context: ContextId,
    path: &str,
    entries: Sides<Option<&EntryMeta>>,
    order_changed: bool,
    include_unchanged: bool,
) -> Option<Difference> {
    let deltas = Deltas::of_entries(entries, order_changed);
    if !include_unchanged && deltas.aspects().is_empty() {
        return None;
    }
    Some(Difference {
        context,
        kind: DiffKind::File,
        key: DiffKey::of_file(path, entries),
        deltas,
        entries: Some(entries.map(|e| e.cloned())).into(),
        origin: Default::default(),
        id: DiffId::default(),
        nested: Default::default(),
        explanations: Default::default(),
    })
}

/// A layer's entries prepared for pairing: each entry's canonical path, and the entries sorted by
/// (path, position). Built once, on the thread that read the layer.
#[derive(Debug, Default)]
pub struct LayerEntries {
    /// Shared with the differences that name them.
    pub entries: Vec<EntryMeta>,
    /// The canonical paths of the entries whose names are spelled otherwise (`./etc`), by entry
    /// index; the others' paths are their names (most layers have no other spelling).
    respelled: Vec<(u32, String)>,
    sorted: Vec<u32>,
    /// The contents the scan kept (see [`super::layer::Capture`]), by entry index, in index order.
    captured: Vec<(u32, Vec<u8>)>,
}

impl LayerEntries {
    pub fn new(entries: Vec<impl Into<EntryMeta>>) -> Self {
        let entries: Vec<EntryMeta> = entries.into_iter().map(Into::into).collect();
        let respelled = (0..entries.len() as u32)
            .zip(&entries)
            .filter(|(_, e)| !is_canonical(e.name()))
            .map(|(index, e)| (index, e.path()))
            .collect();
        let mut layer = LayerEntries {
            entries,
            respelled,
            sorted: Vec::new(),
            captured: Vec::new(),
        };
        let mut sorted: Vec<u32> = (0..layer.len() as u32).collect();
        sorted.sort_by(|&x, &y| layer.path(x).cmp(layer.path(y)).then(x.cmp(&y)));
        layer.sorted = sorted;
        layer
    }

    /// With the contents the scan kept, by entry index.
    pub fn with_captured(mut self, mut captured: Vec<(u32, Vec<u8>)>) -> Self {
        captured.sort_by_key(|(index, _)| *index);
        self.captured = captured;
        self
    }

    /// The kept contents, by entry index.
    pub fn captured(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.captured.iter().map(|(i, c)| (*i, c.as_slice()))
    }

    /// The whole content of entry `index`, if the scan kept all of it.
    pub fn captured_whole(&self, index: u32) -> Option<&[u8]> {
        let at = self
            .captured
            .binary_search_by_key(&index, |(i, _)| *i)
            .ok()?;
        let content = self.captured[at].1.as_slice();
        let entry = self.entries.get(index as usize)?;
        (content.len() as u64 == entry.size()).then_some(content)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn path(&self, index: u32) -> &str {
        match self.respelled.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(at) => &self.respelled[at].1,
            Err(_) => self.entries[index as usize].name(),
        }
    }

    /// (path, occurrence of that path, entry index), in path order.
    fn keys(&self) -> impl Iterator<Item = (&str, u32, u32)> {
        let mut previous: Option<&str> = None;
        let mut occurrence = 0;
        self.sorted.iter().map(move |&index| {
            let path = self.path(index);
            occurrence = if previous == Some(path) {
                occurrence + 1
            } else {
                0
            };
            previous = Some(path);
            (path, occurrence, index)
        })
    }
}

/// Pairs the entries of two layers by path and occurrence (for names that appear several times), in
/// path order: each pair's entry indexes (the path is the entries', not kept: 8 bytes a pair).
fn pair_entries(a: &LayerEntries, b: &LayerEntries) -> Vec<IndexPair> {
    merge_join(a.keys(), b.keys(), |x, y| x.0.cmp(y.0).then(x.1.cmp(&y.1)))
        .map(|(x, y)| IndexPair::new(x.map(|k| k.2), y.map(|k| k.2)))
        .collect()
}

/// Walks two sequences sorted by `order` together, yielding each item of one with its equal in the
/// other, if any.
fn merge_join<T>(
    xs: impl Iterator<Item = T>,
    ys: impl Iterator<Item = T>,
    order: impl Fn(&T, &T) -> Ordering,
) -> impl Iterator<Item = (Option<T>, Option<T>)> {
    let (mut xs, mut ys) = (xs.peekable(), ys.peekable());
    std::iter::from_fn(move || {
        let next = match (xs.peek(), ys.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => order(x, y),
        };
        let x = if next == Ordering::Greater {
            None
        } else {
            xs.next()
        };
        let y = if next == Ordering::Less {
            None
        } else {
            ys.next()
        };
        Some((x, y))
    })
}

/// Compares layer i of each image. An entry's position counts as changed only if its order relative to
/// the entries both layers share changed, so one inserted file does not shift every later one (unlike
/// diffoci's raw index comparison).
pub fn compare_layer_entries(
    context: ContextId,
    a: &LayerEntries,
    b: &LayerEntries,
    include_unchanged: bool,
) -> Vec<Difference> {
    layer_entry_differences(context, a, b, include_unchanged).collect()
}

/// [`compare_layer_entries`] one difference at a time, for a caller that passes each on (a layer of a
/// million changed files is then never a list of its own).
pub fn layer_entry_differences<'l>(
    context: ContextId,
    a: &'l LayerEntries,
    b: &'l LayerEntries,
    include_unchanged: bool,
) -> impl Iterator<Item = Difference> + 'l {
    let pairs = pair_entries(a, b);
    let moved = moved_entries(&pairs);
    let count = (a.len() != b.len()).then(|| Difference {
        context,
        kind: DiffKind::Layer,
        key: "entries".into(),
        deltas: vec![Delta::new(
            Aspect::EntryCount,
            "entries",
            json!(a.len()),
            json!(b.len()),
        )]
        .into(),
        entries: Default::default(),
        origin: Default::default(),
        id: DiffId::default(),
        nested: Default::default(),
        explanations: Default::default(),
    });
    let files = pairs.into_iter().filter_map(move |indexes| {
        let path = match (indexes.input0(), indexes.input1()) {
            (Some(i), _) => a.path(i),
            (None, Some(j)) => b.path(j),
            (None, None) => "",
        };
        let ea = indexes.input0().map(|i| &a.entries[i as usize]);
        let eb = indexes.input1().map(|i| &b.entries[i as usize]);
        let order_changed = indexes.input0().is_some_and(|i| moved.contains(&i));
        file_difference(
            context,
            path,
            Sides::new(ea, eb),
            order_changed,
            include_unchanged,
        )
    });
    count.into_iter().chain(files)
}

/// Input 0's indexes of the shared entries whose relative order differs: those off a longest common
/// subsequence of the two orders.
fn moved_entries(pairs: &[IndexPair]) -> HashSet<u32> {
    let mut shared: Vec<(u32, u32)> = pairs
        .iter()
        .filter_map(|i| Some((i.input0()?, i.input1()?)))
        .collect();
    shared.sort_unstable();
    let order_in_b: Vec<u32> = shared.iter().map(|&(_, j)| j).collect();
    if order_in_b.is_sorted() {
        return HashSet::new();
    }
    let mut ascending = order_in_b.clone();
    ascending.sort_unstable();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let ops = similar::capture_diff_slices_deadline(
        similar::Algorithm::Myers,
        &order_in_b,
        &ascending,
        Some(deadline),
    );
    let mut moved = HashSet::new();
    for op in ops {
        if let similar::DiffOp::Delete {
            old_index, old_len, ..
        } = op
        {
            moved.extend(
                shared[old_index..old_index + old_len]
                    .iter()
                    .map(|&(i, _)| i),
            );
        }
    }
    moved
}

/// One image's final filesystem: each path's entry, as the layer that gave it and the entry's index
/// there, in path order. 8 bytes a path (the path, entry and layer as references took 32: a million
/// files on each side held 64 MB while the merged view was compared).
pub struct MergedFs<'e> {
    layers: Vec<&'e LayerEntries>,
    /// (layer, entry index) of each path's entry.
    at: Vec<(u32, u32)>,
}

impl<'e> MergedFs<'e> {
    fn path(&self, (layer, index): (u32, u32)) -> &'e str {
        self.layers[layer as usize].path(index)
    }

    /// (path, entry, layer) of each path, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&'e str, &'e EntryMeta, usize)> + '_ {
        self.at.iter().map(|&(layer, index)| {
            let entries = self.layers[layer as usize];
            (
                entries.path(index),
                &entries.entries[index as usize],
                layer as usize,
            )
        })
    }
}

/// Applies layers bottom-up with overlay semantics: whiteouts delete from the layers below, opaque
/// whiteouts hide a directory's lower contents, a non-directory replacing a directory hides its
/// lower contents.
pub fn merge_layers<'e>(layers: impl IntoIterator<Item = &'e LayerEntries>) -> MergedFs<'e> {
    let mut fs = MergedFs {
        layers: layers.into_iter().collect(),
        at: Vec::new(),
    };
    for layer in 0..fs.layers.len() as u32 {
        fs.at = merge_layer(&fs, layer);
    }
    fs
}

/// `fs` with its layer `layer` on top of it.
fn merge_layer(fs: &MergedFs<'_>, layer_index: u32) -> Vec<(u32, u32)> {
    let layer = fs.layers[layer_index as usize];
    let mut hidden = Hidden::default();
    for index in 0..layer.len() as u32 {
        match Whiteout::of_path(layer.path(index)) {
            Some(Whiteout::Removes { path }) => {
                hidden.prefixes.push(dir_prefix(&path));
                hidden.paths.push(path);
            }
            Some(Whiteout::Opaque { dir }) => hidden.prefixes.push(dir_prefix(&dir)),
            None => {}
        }
    }
    // Each path's last entry in the layer wins; its first says whether it replaces a lower directory
    // (a lower one a whiteout removed had its contents removed with it).
    let mut winners: Vec<(u32, u32)> = Vec::new();
    let mut keys = layer.keys().peekable();
    while let Some((path, _, first)) = keys.next() {
        let mut last = first;
        while let Some(&(_, _, index)) = keys.peek().filter(|(next, ..)| *next == path) {
            last = index;
            keys.next();
        }
        if path.is_empty() || Whiteout::of_path(path).is_some() {
            continue;
        }
        let lower_dir =
            (fs.at.binary_search_by(|&at| fs.path(at).cmp(path)).ok()).is_some_and(|found| {
                let (lower, index) = fs.at[found];
                fs.layers[lower as usize].entries[index as usize].kind() == EntryKind::Directory
            });
        if lower_dir && layer.entries[first as usize].kind() != EntryKind::Directory {
            hidden.prefixes.push(dir_prefix(path));
        }
        winners.push((layer_index, last));
    }
    hidden.settle();
    let kept = fs
        .at
        .iter()
        .copied()
        .filter(|&at| !hidden.hides(fs.path(at)));
    merge_join(kept, winners.into_iter(), |&x, &y| {
        fs.path(x).cmp(fs.path(y))
    })
    .filter_map(|(below, above)| above.or(below))
    .collect()
}

/// What a layer hides of the layers below it: paths, and everything below some directories.
#[derive(Default)]
struct Hidden {
    paths: Vec<String>,
    /// Directories as `dir/` (`` for the root).
    prefixes: Vec<String>,
}

impl Hidden {
    /// Sorted, and only the prefixes no other one covers: a path is then below at most one, the last
    /// one not after it.
    fn settle(&mut self) {
        self.paths.sort_unstable();
        self.prefixes.sort_unstable();
        self.prefixes.dedup();
        let mut outermost: Vec<String> = Vec::with_capacity(self.prefixes.len());
        for prefix in self.prefixes.drain(..) {
            if !outermost
                .last()
                .is_some_and(|o| prefix.starts_with(o.as_str()))
            {
                outermost.push(prefix);
            }
        }
        self.prefixes = outermost;
    }

    fn hides(&self, path: &str) -> bool {
        let after = self.prefixes.partition_point(|p| p.as_str() <= path);
        (after > 0 && path.starts_with(self.prefixes[after - 1].as_str()))
            || self
                .paths
                .binary_search_by(|p| p.as_str().cmp(path))
                .is_ok()
    }
}

/// What the paths below a directory start with.
fn dir_prefix(dir: &str) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    }
}

/// Compares the two merged filesystems path by path (positions are not compared: they belong to layers),
/// handing each difference to `found` as it is found: a million of them are not first gathered.
pub fn compare_merged(
    context: ContextId,
    a: &MergedFs<'_>,
    b: &MergedFs<'_>,
    include_unchanged: bool,
    mut found: impl FnMut(Difference),
) {
    type Merged<'e> = (&'e str, &'e EntryMeta, usize);
    let mut emit = |path: &str, ea: Option<Merged<'_>>, eb: Option<Merged<'_>>| {
        let entries = Sides::new(ea.map(|(_, e, _)| e), eb.map(|(_, e, _)| e));
        let Some(mut difference) =
            file_difference(context, path, entries, false, include_unchanged)
        else {
            return;
        };
        let layer = |e: Option<Merged<'_>>| e.map(|(_, _, l)| l as u32);
        difference.origin = Some(Sides::new(layer(ea), layer(eb))).into();
        found(difference);
    };
    for (x, y) in merge_join(a.iter(), b.iter(), |x, y| x.0.cmp(y.0)) {
        if let Some((path, ..)) = x.or(y) {
            emit(path, x, y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntryFields, TarFormat, Timestamp, entry_deltas};

    fn entry(index: u32, name: &str) -> EntryFields {
        EntryFields {
            index,
            size: 1,
            mtime: Timestamp::from_secs(1),
            ..EntryFields::test_file(name)
        }
    }

    fn fields(d: &Difference) -> Vec<String> {
        d.deltas().iter().map(|x| x.field.to_string()).collect()
    }

    #[test]
    fn each_field_maps_to_its_aspect() {
        let a = entry(0, "./bin/sh");
        let mut b = entry(0, "bin/sh");
        b.mode = 0o100755;
        b.owner_mut().uid = 1000;
        b.mtime = Timestamp::from_secs(2);
        b.format = TarFormat::Pax;
        b.extras_mut().xattrs.insert("user.x".into(), "1".into());
        let deltas = entry_deltas(&a.clone().into(), &b.clone().into(), false);
        let aspects: Vec<(Aspect, &str)> = deltas
            .iter()
            .map(|d| (d.aspect, d.field.as_ref()))
            .collect();
        assert_eq!(
            aspects,
            [
                (Aspect::NameSpelling, "name"),
                (Aspect::Mode, "mode"),
                (Aspect::ModeTypeBits, "mode-type-bits"),
                (Aspect::Owner, "uid"),
                (Aspect::FileTime, "mtime"),
                (Aspect::TarFormat, "format"),
                (Aspect::Xattr, "xattr:user.x"),
            ]
        );
    }

    #[test]
    fn a_file_key_is_its_canonical_path_whatever_its_entries_are_named() {
        let mut b = entry(0, "etc/a");
        b.mode = 0o100755;
        let c = entry(1, "./etc/c");
        let diffs = compare_layer_entries(
            ContextId(0),
            &LayerEntries::new(vec![entry(0, "./etc/a"), c.clone()]),
            &LayerEntries::new(vec![b, c]),
            false,
        );
        let keys: Vec<_> = diffs.iter().map(|d| (d.key(), &d.key)).collect();
        // Named as its path: no copy kept; spelled otherwise on a side: the path kept.
        assert_eq!(keys, [("etc/a", &DiffKey::Text("etc/a".into()))]);
        let same_name = file_difference(
            ContextId(0),
            "etc/c",
            Sides::new(None, Some(&EntryMeta::from(entry(0, "etc/c")))),
            false,
            false,
        )
        .expect("present on one side only");
        assert_eq!(
            (same_name.key(), &same_name.key),
            ("etc/c", &DiffKey::EntryName)
        );
        let json = serde_json::to_value(&same_name).unwrap();
        assert_eq!(json["key"], "etc/c");
    }

    #[test]
    fn an_inserted_entry_does_not_mark_later_entries_as_moved() {
        let a = vec![entry(0, "a"), entry(1, "b"), entry(2, "c")];
        let b = vec![entry(0, "a"), entry(1, "new"), entry(2, "b"), entry(3, "c")];
        let diffs = compare_layer_entries(
            ContextId(0),
            &LayerEntries::new(a),
            &LayerEntries::new(b),
            false,
        );
        let keys: Vec<_> = diffs.iter().map(|d| (d.key(), fields(d))).collect();
        assert_eq!(
            keys,
            [
                ("entries", vec!["entries".to_owned()]),
                ("new", vec!["presence".to_owned()])
            ]
        );
    }

    #[test]
    fn a_file_difference_keeps_its_entries_and_derives_its_deltas_from_them() {
        let a = entry(0, "etc/a");
        let mut b = entry(0, "etc/a");
        b.mtime = Timestamp::from_secs(2);
        let diffs = compare_layer_entries(
            ContextId(0),
            &LayerEntries::new(vec![a.clone()]),
            &LayerEntries::new(vec![b.clone()]),
            false,
        );
        let [d] = &diffs[..] else {
            panic!("one difference: {diffs:?}")
        };
        // No list of its own: a million files changed by their mtime kept 96 bytes each in one.
        let expected = Deltas::OfEntries {
            order_changed: false,
            aspects: Aspect::FileTime.into(),
        };
        assert_eq!(d.deltas, expected);
        assert_eq!(
            *d.deltas(),
            entry_deltas(&a.clone().into(), &b.clone().into(), false)
        );
        assert!(std::mem::size_of::<Difference>() <= 72, "a million of them");
    }

    #[test]
    fn swapped_entries_are_reported_as_order_changes() {
        let a = vec![entry(0, "a"), entry(1, "b"), entry(2, "c")];
        let b = vec![entry(0, "b"), entry(1, "a"), entry(2, "c")];
        let diffs = compare_layer_entries(
            ContextId(0),
            &LayerEntries::new(a),
            &LayerEntries::new(b),
            false,
        );
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert_eq!(fields(&diffs[0]), ["index"]);
    }

    #[test]
    fn duplicate_names_pair_by_occurrence() {
        let a = vec![entry(0, "x"), entry(1, "x")];
        let mut second = entry(1, "x");
        second.owner_mut().uid = 5;
        let b = vec![entry(0, "x"), second];
        let diffs = compare_layer_entries(
            ContextId(0),
            &LayerEntries::new(a),
            &LayerEntries::new(b),
            false,
        );
        assert_eq!(diffs.len(), 1);
        assert_eq!(fields(&diffs[0]), ["uid"]);
    }

    #[test]
    fn merged_view_applies_whiteouts_opaque_dirs_and_replacements() {
        let lower = vec![
            entry(0, "etc/issue.net"),
            entry(1, "usr/share/doc/a"),
            entry(2, "usr/share/doc/b"),
            entry(3, "opt/dir/x"),
            entry(4, "keep"),
        ];
        let mut opt_dir = entry(0, "opt/dir");
        opt_dir.kind = EntryKind::Directory;
        let lower: Vec<EntryFields> = std::iter::once(opt_dir).chain(lower).collect();
        let upper = vec![
            entry(0, "etc/.wh.issue.net"),
            entry(1, "usr/share/doc/.wh..wh..opq"),
            entry(2, "usr/share/doc/README"),
            entry(3, "opt/dir"), // a file replacing a directory
        ];
        let (lower, upper) = (LayerEntries::new(lower), LayerEntries::new(upper));
        let fs = merge_layers([&lower, &upper]);
        let paths: Vec<(&str, usize)> = fs.iter().map(|(p, _, l)| (p, l)).collect();
        assert_eq!(
            paths,
            [("keep", 0), ("opt/dir", 1), ("usr/share/doc/README", 1)]
        );
    }

    #[test]
    fn merged_view_keeps_a_layers_last_entry_and_hides_below_nested_and_root_whiteouts() {
        let dir = |index, name| EntryFields {
            kind: EntryKind::Directory,
            ..entry(index, name)
        };
        let lower = LayerEntries::new(vec![
            dir(0, "a"),
            entry(1, "a/x"),
            dir(2, "a/b"),
            entry(3, "a/b/y"),
            dir(4, "d"),
            entry(5, "d/z"),
            entry(6, "a-sibling"),
        ]);
        let mut again = entry(4, "f");
        again.size = 2;
        let upper = LayerEntries::new(vec![
            entry(0, "a/.wh.b"),          // removes a/b and what is below it
            entry(1, "a/b/.wh..wh..opq"), // an opaque dir inside the removed one
            dir(2, "d"),                  // first a directory: what is below d stays
            entry(3, "d"),                // then a file: the last entry of a path wins
            entry(4, "f"),
            again,
        ]);
        let fs = merge_layers([&lower, &upper]);
        let paths: Vec<(&str, usize, u64)> = fs.iter().map(|(p, e, l)| (p, l, e.size())).collect();
        assert_eq!(
            paths,
            [
                ("a", 0, 1),
                ("a-sibling", 0, 1),
                ("a/x", 0, 1),
                ("d", 1, 1),
                ("d/z", 0, 1),
                ("f", 1, 2),
            ]
        );
        let root = LayerEntries::new(vec![entry(0, ".wh..wh..opq"), entry(1, "n")]);
        let fs = merge_layers([&lower, &root]);
        let paths: Vec<&str> = fs.iter().map(|(p, ..)| p).collect();
        assert_eq!(paths, ["n"], "an opaque root hides every lower path");
    }

    #[test]
    fn merged_comparison_reports_origin_layers() {
        let (only_f, only_g) = (vec![entry(0, "f")], vec![entry(0, "g")]);
        let mut changed = vec![entry(0, "f")];
        changed[0].content = Some(crate::oci::Digest::sha256_of(b"x"));
        let (only_f, only_g, changed) = (
            LayerEntries::new(only_f),
            LayerEntries::new(only_g),
            LayerEntries::new(changed),
        );
        let a = merge_layers([&only_f]);
        let b = merge_layers([&only_g, &changed]);
        let mut diffs = Vec::new();
        compare_merged(ContextId(3), &a, &b, false, |d| diffs.push(d));
        let summary: Vec<_> = diffs
            .iter()
            .map(|d| (d.key(), fields(d), d.origin.get()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "f",
                    vec!["content".to_owned()],
                    Some(Sides::new(Some(0), Some(1)))
                ),
                (
                    "g",
                    vec!["presence".to_owned()],
                    Some(Sides::new(None, Some(0)))
                ),
            ]
        );
    }
}

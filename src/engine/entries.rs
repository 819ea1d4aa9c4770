//! Comparing tar entries: one entry pair field by field, a layer pair entry by entry, and the merged
//! filesystems path by path.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::model::{
    Aspect, ContextId, Delta, DiffKind, Difference, EntryMeta, Sides, Whiteout, canonical_path,
};

/// Everything that differs between two entries that stand for the same path. `order_changed` says
/// whether the entry moved relative to the entries both layers share (per-layer view only).
pub fn entry_deltas(a: &EntryMeta, b: &EntryMeta, order_changed: bool) -> Vec<Delta> {
    let mut deltas = Vec::new();
    let mut push = |aspect, field: &str, x: Value, y: Value| {
        if x != y {
            deltas.push(Delta::new(aspect, field, x, y));
        }
    };
    push(Aspect::NameSpelling, "name", json!(a.name), json!(b.name));
    push(
        Aspect::Kind,
        "kind",
        json!(a.kind.label()),
        json!(b.kind.label()),
    );
    let (link_a, link_b) = (a.link.as_deref(), b.link.as_deref());
    let same_link_path = link_a.map(canonical_path) == link_b.map(canonical_path);
    let link_aspect = if same_link_path {
        Aspect::NameSpelling
    } else {
        Aspect::LinkTarget
    };
    push(link_aspect, "link", json!(link_a), json!(link_b));
    push(Aspect::Content, "size", json!(a.size), json!(b.size));
    push(
        Aspect::Content,
        "content",
        json!(a.content),
        json!(b.content),
    );
    push(
        Aspect::Mode,
        "mode",
        json!(a.permissions()),
        json!(b.permissions()),
    );
    push(
        Aspect::ModeTypeBits,
        "mode-type-bits",
        json!(a.mode_type_bits()),
        json!(b.mode_type_bits()),
    );
    push(Aspect::Owner, "uid", json!(a.uid), json!(b.uid));
    push(Aspect::Owner, "gid", json!(a.gid), json!(b.gid));
    push(Aspect::Owner, "uname", json!(a.uname), json!(b.uname));
    push(Aspect::Owner, "gname", json!(a.gname), json!(b.gname));
    let device = |e: &EntryMeta| e.device.map(|(major, minor)| format!("{major}:{minor}"));
    push(Aspect::Device, "device", json!(device(a)), json!(device(b)));
    push(Aspect::FileTime, "mtime", json!(a.mtime), json!(b.mtime));
    push(Aspect::FileTime, "atime", json!(a.atime), json!(b.atime));
    push(Aspect::FileTime, "ctime", json!(a.ctime), json!(b.ctime));
    if order_changed {
        push(Aspect::Order, "index", json!(a.index), json!(b.index));
    }
    push(
        Aspect::TarFormat,
        "format",
        json!(a.format),
        json!(b.format),
    );
    map_deltas(&mut deltas, Aspect::Xattr, "xattr:", &a.xattrs, &b.xattrs);
    map_deltas(&mut deltas, Aspect::PaxRecord, "pax:", &a.pax, &b.pax);
    deltas
}

fn map_deltas(
    out: &mut Vec<Delta>,
    aspect: Aspect,
    prefix: &str,
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let (x, y) = (a.get(key), b.get(key));
        if x != y {
            out.push(Delta::new(
                aspect,
                format!("{prefix}{key}"),
                json!(x),
                json!(y),
            ));
        }
    }
}

fn presence_delta(present: Sides<bool>) -> Delta {
    Delta::new(
        Aspect::Presence,
        "presence",
        json!(present.input0),
        json!(present.input1),
    )
}

fn file_difference(
    context: ContextId,
    key: String,
    entries: Sides<Option<&EntryMeta>>,
    deltas: Vec<Delta>,
) -> Difference {
    Difference {
        context,
        kind: DiffKind::File,
        key,
        deltas,
        entries: Some(Box::new(entries.map(|e| e.cloned()))),
        origin: None,
    }
}

/// An entry's identity within a layer: its canonical path and which occurrence of that path it is.
type Occurrence = (String, usize);

fn occurrences(entries: &[EntryMeta]) -> Vec<Occurrence> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    entries
        .iter()
        .map(|e| {
            let path = e.path();
            let n = seen.entry(path.clone()).or_default();
            *n += 1;
            (path, *n - 1)
        })
        .collect()
}

/// Compares layer i of each image. Entries pair by canonical path (and occurrence, for names that
/// appear several times). An entry's position counts as changed only if its order relative to the
/// entries both layers share changed, so one inserted file does not shift every later one (unlike
/// diffoci's raw index comparison).
pub fn compare_layer_entries(
    context: ContextId,
    a: &[EntryMeta],
    b: &[EntryMeta],
    include_unchanged: bool,
) -> Vec<Difference> {
    let keys = Sides::new(occurrences(a), occurrences(b));
    let index_of = keys.as_ref().map(|k| {
        k.iter()
            .enumerate()
            .map(|(i, key)| (key.clone(), i))
            .collect::<HashMap<_, _>>()
    });
    let moved = reordered(&keys, &index_of);
    let mut out = Vec::new();
    if a.len() != b.len() {
        out.push(Difference {
            context,
            kind: DiffKind::Layer,
            key: "entries".into(),
            deltas: vec![Delta::new(
                Aspect::EntryCount,
                "entries",
                json!(a.len()),
                json!(b.len()),
            )],
            entries: None,
            origin: None,
        });
    }
    let mut all: Vec<&Occurrence> = keys.input0.iter().chain(&keys.input1).collect();
    all.sort();
    all.dedup();
    for key in all {
        let ea = index_of.input0.get(key).map(|&i| &a[i]);
        let eb = index_of.input1.get(key).map(|&i| &b[i]);
        let deltas = match (ea, eb) {
            (Some(x), Some(y)) => entry_deltas(x, y, moved.contains_key(key)),
            (x, y) => vec![presence_delta(Sides::new(x.is_some(), y.is_some()))],
        };
        if !deltas.is_empty() || include_unchanged {
            out.push(file_difference(
                context,
                key.0.clone(),
                Sides::new(ea, eb),
                deltas,
            ));
        }
    }
    out
}

/// The shared entries whose relative order differs, found by a diff of the two shared sequences.
fn reordered<'k>(
    keys: &'k Sides<Vec<Occurrence>>,
    index_of: &Sides<HashMap<Occurrence, usize>>,
) -> HashMap<&'k Occurrence, ()> {
    let shared =
        |own: &'k [Occurrence], other: &HashMap<Occurrence, usize>| -> Vec<&'k Occurrence> {
            own.iter().filter(|k| other.contains_key(*k)).collect()
        };
    let seq_a = shared(&keys.input0, &index_of.input1);
    let seq_b = shared(&keys.input1, &index_of.input0);
    if seq_a == seq_b {
        return HashMap::new();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let ops = similar::capture_diff_slices_deadline(
        similar::Algorithm::Myers,
        &seq_a,
        &seq_b,
        Some(deadline),
    );
    let mut moved = HashMap::new();
    for op in ops {
        if let similar::DiffOp::Delete {
            old_index, old_len, ..
        } = op
        {
            for key in &seq_a[old_index..old_index + old_len] {
                moved.insert(*key, ());
            }
        }
    }
    moved
}

/// One image's final filesystem: each path's entry and the layer that gave it.
pub type MergedFs = BTreeMap<String, (EntryMeta, usize)>;

/// Applies layers bottom-up with overlay semantics: whiteouts delete from the layers below, opaque
/// whiteouts hide a directory's lower contents, a non-directory replacing a directory hides its
/// lower contents.
pub fn merge_layers<'a>(layers: impl IntoIterator<Item = &'a [EntryMeta]>) -> MergedFs {
    let mut fs = MergedFs::new();
    for (layer_index, entries) in layers.into_iter().enumerate() {
        for entry in entries {
            match entry.whiteout() {
                Some(Whiteout::Removes { path }) => remove_tree(&mut fs, &path, layer_index, true),
                Some(Whiteout::Opaque { dir }) => remove_tree(&mut fs, &dir, layer_index, false),
                None => {}
            }
        }
        for entry in entries.iter().filter(|e| e.whiteout().is_none()) {
            let path = entry.path();
            if path.is_empty() {
                continue;
            }
            let replaces_dir = fs.get(&path).is_some_and(|(old, from)| {
                *from < layer_index && old.kind == crate::model::EntryKind::Directory
            });
            if replaces_dir && entry.kind != crate::model::EntryKind::Directory {
                remove_tree(&mut fs, &path, layer_index, false);
            }
            fs.insert(path, (entry.clone(), layer_index));
        }
    }
    fs
}

/// Removes what lower layers put under `path` (and `path` itself if `including_self`).
fn remove_tree(fs: &mut MergedFs, path: &str, layer_index: usize, including_self: bool) {
    if including_self && fs.get(path).is_some_and(|(_, from)| *from < layer_index) {
        fs.remove(path);
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let doomed: Vec<String> = fs
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(_, (_, from))| *from < layer_index)
        .map(|(k, _)| k.clone())
        .collect();
    for key in doomed {
        fs.remove(&key);
    }
}

/// Compares the two merged filesystems path by path (positions are not compared: they belong to layers).
pub fn compare_merged(
    context: ContextId,
    a: &MergedFs,
    b: &MergedFs,
    include_unchanged: bool,
) -> Vec<Difference> {
    let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        let (ea, eb) = (a.get(path), b.get(path));
        let deltas = match (ea, eb) {
            (Some((x, _)), Some((y, _))) => entry_deltas(x, y, false),
            (x, y) => vec![presence_delta(Sides::new(x.is_some(), y.is_some()))],
        };
        if deltas.is_empty() && !include_unchanged {
            continue;
        }
        let entries = Sides::new(ea.map(|(e, _)| e), eb.map(|(e, _)| e));
        let mut difference = file_difference(context, path.clone(), entries, deltas);
        difference.origin = Some(Sides::new(ea.map(|(_, l)| *l), eb.map(|(_, l)| *l)));
        out.push(difference);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntryKind, TarFormat, Timestamp};

    fn entry(index: u32, name: &str) -> EntryMeta {
        EntryMeta {
            index,
            name: name.into(),
            kind: EntryKind::File,
            link: None,
            size: 1,
            mode: 0o644,
            uid: 0,
            gid: 0,
            uname: String::new(),
            gname: String::new(),
            mtime: Timestamp::from_secs(1),
            atime: None,
            ctime: None,
            device: None,
            xattrs: BTreeMap::new(),
            pax: BTreeMap::new(),
            format: TarFormat::Ustar,
            content: None,
        }
    }

    fn fields(d: &Difference) -> Vec<&str> {
        d.deltas.iter().map(|x| x.field.as_str()).collect()
    }

    #[test]
    fn each_field_maps_to_its_aspect() {
        let a = entry(0, "./bin/sh");
        let mut b = entry(0, "bin/sh");
        b.mode = 0o100755;
        b.uid = 1000;
        b.mtime = Timestamp::from_secs(2);
        b.format = TarFormat::Pax;
        b.xattrs.insert("user.x".into(), "1".into());
        let deltas = entry_deltas(&a, &b, false);
        let aspects: Vec<(Aspect, &str)> = deltas
            .iter()
            .map(|d| (d.aspect, d.field.as_str()))
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
    fn an_inserted_entry_does_not_mark_later_entries_as_moved() {
        let a = vec![entry(0, "a"), entry(1, "b"), entry(2, "c")];
        let b = vec![entry(0, "a"), entry(1, "new"), entry(2, "b"), entry(3, "c")];
        let diffs = compare_layer_entries(ContextId(0), &a, &b, false);
        let keys: Vec<_> = diffs.iter().map(|d| (d.key.as_str(), fields(d))).collect();
        assert_eq!(
            keys,
            [("entries", vec!["entries"]), ("new", vec!["presence"])]
        );
    }

    #[test]
    fn swapped_entries_are_reported_as_order_changes() {
        let a = vec![entry(0, "a"), entry(1, "b"), entry(2, "c")];
        let b = vec![entry(0, "b"), entry(1, "a"), entry(2, "c")];
        let diffs = compare_layer_entries(ContextId(0), &a, &b, false);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert_eq!(fields(&diffs[0]), ["index"]);
    }

    #[test]
    fn duplicate_names_pair_by_occurrence() {
        let a = vec![entry(0, "x"), entry(1, "x")];
        let mut second = entry(1, "x");
        second.uid = 5;
        let b = vec![entry(0, "x"), second];
        let diffs = compare_layer_entries(ContextId(0), &a, &b, false);
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
        let lower: Vec<EntryMeta> = std::iter::once(opt_dir).chain(lower).collect();
        let upper = vec![
            entry(0, "etc/.wh.issue.net"),
            entry(1, "usr/share/doc/.wh..wh..opq"),
            entry(2, "usr/share/doc/README"),
            entry(3, "opt/dir"), // a file replacing a directory
        ];
        let fs = merge_layers([lower.as_slice(), upper.as_slice()]);
        let paths: Vec<(&str, usize)> = fs.iter().map(|(p, (_, l))| (p.as_str(), *l)).collect();
        assert_eq!(
            paths,
            [("keep", 0), ("opt/dir", 1), ("usr/share/doc/README", 1)]
        );
    }

    #[test]
    fn merged_comparison_reports_origin_layers() {
        let a = merge_layers([vec![entry(0, "f")].as_slice()]);
        let mut changed = entry(0, "f");
        changed.content = Some(crate::oci::Digest::sha256_of(b"x"));
        let b = merge_layers([vec![entry(0, "g")].as_slice(), vec![changed].as_slice()]);
        let diffs = compare_merged(ContextId(3), &a, &b, false);
        let summary: Vec<_> = diffs
            .iter()
            .map(|d| (d.key.as_str(), fields(d), d.origin.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("f", vec!["content"], Some(Sides::new(Some(0), Some(1)))),
                ("g", vec!["presence"], Some(Sides::new(None, Some(0)))),
            ]
        );
    }
}

//! Writing a report directory for a set of differences: the layers that hold the files are read again
//! and both sides of each file are written safely. The headless `--report-dir` and the explorer's export
//! key both use this.

use std::collections::{HashMap, HashSet};
use std::io::{self, Cursor, Read};
use std::path::PathBuf;

use serde::Serialize;

use crate::engine::EngineError;
use crate::engine::extract::{self, FilesWanted, Wanted, WantedList};
use crate::engine::layer::ReadLimits;
use crate::engine::nested::{self, NestedLimits};
use crate::model::{
    ContextId, DiffKind, Difference, EntryKind, EntryMeta, NestedFormat, Report, Side, Sides,
};
use crate::report::{Cause, Notes, ReportDir, ReportError};
use crate::source::Image;

/// What an export did besides writing files.
#[derive(Debug)]
pub struct Exported {
    pub root: PathBuf,
    /// Entries not written or written under another name, as `report.json` lists them.
    pub notes: Notes,
    /// Entries refused as unsafe, or that could not be written (one line each, names escaped).
    pub refused: Vec<String>,
    /// Layers that could not be read again.
    pub errors: Vec<EngineError>,
}

/// What reading again for an export is held to: the layers' limits, and the limits members of files
/// compared inside were unpacked within (`--max-scale`, `--deep`), which unpacking them again keeps.
#[derive(Debug, Clone, Copy)]
pub struct ReadAgainLimits {
    pub layers: ReadLimits,
    pub nested: NestedLimits,
}

impl ReadAgainLimits {
    pub const DEFAULT: ReadAgainLimits = ReadAgainLimits {
        layers: ReadLimits::DEFAULT,
        nested: NestedLimits::DEFAULT,
    };
}

/// Writes both sides of each file difference in `differences` into `out`, then `report.json` (the report
/// given, with the directory's notes added) and the README. What differs inside a file compared inside
/// (`FILE!/MEMBER`) is unpacked again from the file as it is written, under `FILE!/MEMBER`.
pub fn export_differences(
    mut out: ReportDir,
    images: &Sides<Image>,
    report: &Report,
    mut differences: Vec<&Difference>,
    report_json: &impl Serialize,
    limits: &ReadAgainLimits,
) -> Result<Exported, ReportError> {
    let outer_files = files_of_members(report, &differences);
    // In place: a million files' list is 8 MB.
    differences.retain(|d| d.kind == DiffKind::File);
    let members: Vec<&Difference> =
        (differences.extract_if(.., |d| report.is_inside_a_file(d))).collect();
    let mut files = differences;
    files.extend(outer_files);
    let mut inside = Members::new(&mut out, report, &members, &files, limits.nested);
    let mut wanted = FilesWanted::new(report, &files);
    // A file the limits keep out is handed over without its content: its layer is not read for it.
    let mut refused = Vec::new();
    let mut kept_out = Vec::new();
    for (at, w) in (0..wanted.places()).filter_map(|at| Some((at, wanted.wanted(at)?))) {
        if !out.fits(&w.entry) {
            kept_out.push(at);
            inside.write_file(&mut out, &mut refused, &w, None)?;
        }
    }
    wanted.leave_out(kept_out);
    let errors = extract::extract(images, &wanted, &limits.layers, |w, content| {
        inside.write_file(&mut out, &mut refused, w, content)
    });
    inside.list_left(&mut out, "its file could not be read again");
    let finished = out.finish(report_json)?;
    Ok(Exported {
        root: finished.root,
        notes: finished.notes,
        refused,
        errors,
    })
}

/// The layer's files that members of files compared inside lie in, when `differences` do not hold
/// them (an export of a member's subtree): a member is unpacked from its file, written beside it.
pub fn files_of_members<'r>(
    report: &'r Report,
    differences: &[&Difference],
) -> Vec<&'r Difference> {
    let mut present: HashSet<ContextId> =
        differences.iter().filter_map(|d| d.nested.get()).collect();
    let mut files = Vec::new();
    for member in differences.iter().filter(|d| report.is_inside_a_file(d)) {
        let Some(outermost) = report.outermost_file(member.context) else {
            continue;
        };
        if !present.insert(outermost) {
            continue;
        }
        if let Some(file) = report
            .differences
            .iter()
            .find(|d| d.nested.get() == Some(outermost))
        {
            files.push(file);
        }
    }
    files
}

/// A member of a file compared inside, on one side: where it goes and how to unpack it from the file.
struct Member {
    context_path: String,
    entry: EntryMeta,
    /// From the layer's file down to the member ([`nested::member_content`]).
    steps: Vec<UnpackStep>,
    /// The file it lies in, as the table names it (`srv/app.tar`, `a.tar.gz!/x.tar`).
    file: String,
}

/// The members to unpack again, by the layer entry of their outermost file: side, context path, index.
struct Members {
    wanted: HashMap<(Side, String, u32), Vec<Member>>,
    limits: NestedLimits,
}

impl Members {
    /// The members of `files` (those being exported); a member whose file is not one of them is listed
    /// as not written at once.
    fn new(
        out: &mut ReportDir,
        report: &Report,
        members: &[&Difference],
        files: &[&Difference],
        limits: NestedLimits,
    ) -> Self {
        let by_inside: HashMap<ContextId, &Difference> = (report.differences.iter())
            .filter_map(|d| Some((d.nested.get()?, d)))
            .collect();
        let exported: HashSet<ContextId> = files.iter().filter_map(|d| d.nested.get()).collect();
        let mut wanted: HashMap<(Side, String, u32), Vec<Member>> = HashMap::new();
        for difference in members {
            let Some(context) = report.context(difference.context) else {
                continue;
            };
            let file = report
                .nested_file_path(difference.context)
                .unwrap_or_default();
            for side in Side::BOTH {
                let Some(entry) = difference
                    .entries
                    .as_ref()
                    .and_then(|e| e.get(side).clone())
                else {
                    continue;
                };
                let member = Member {
                    context_path: context.path.clone(),
                    entry,
                    steps: Vec::new(),
                    file: file.clone(),
                };
                match unpack_path(report, &by_inside, difference, side) {
                    Some((outermost, steps)) if exported.contains(&outermost) => {
                        let layer_file = by_inside[&outermost];
                        let (Some(layer), Some(file_entry)) = (
                            report.context(layer_file.context),
                            layer_file
                                .entries
                                .as_ref()
                                .and_then(|e| e.get(side).as_ref()),
                        ) else {
                            continue;
                        };
                        let key = (side, layer.path.clone(), file_entry.index());
                        wanted
                            .entry(key)
                            .or_default()
                            .push(Member { steps, ..member });
                    }
                    _ => list(
                        out,
                        side,
                        &member,
                        "its file is not part of this export".into(),
                    ),
                }
            }
        }
        Members { wanted, limits }
    }

    /// Writes a layer's file and, if members of it are wanted, unpacks them from its bytes (held in
    /// memory for that, within the limit the comparison unpacked them in).
    fn write_file(
        &mut self,
        out: &mut ReportDir,
        refused: &mut Vec<String>,
        w: &Wanted,
        content: Option<&mut dyn Read>,
    ) -> io::Result<()> {
        let key = (w.side, w.context_path.to_string(), w.entry.index());
        let Some(members) = self.wanted.remove(&key) else {
            write(out, refused, w.side, &w.context_path, &w.entry, content);
            return Ok(());
        };
        let limit = self.limits.bytes;
        let Some(reader) = content.filter(|_| w.entry.size() <= limit) else {
            write(out, refused, w.side, &w.context_path, &w.entry, None);
            for member in &members {
                list(
                    out,
                    w.side,
                    member,
                    "its file is not read again (over the size limits)".into(),
                );
            }
            return Ok(());
        };
        let mut bytes = Vec::new();
        if let Err(error) = reader.take(w.entry.size()).read_to_end(&mut bytes) {
            for member in &members {
                list(
                    out,
                    w.side,
                    member,
                    "its file could not be read again".into(),
                );
            }
            return Err(error);
        }
        write(
            out,
            refused,
            w.side,
            &w.context_path,
            &w.entry,
            Some(&mut Cursor::new(&bytes)),
        );
        for member in &members {
            let entry = &member.entry;
            let has_content = entry.kind() == EntryKind::File && entry.content().is_some();
            if !has_content || !out.fits(entry) {
                write(out, refused, w.side, &member.context_path, entry, None);
                continue;
            }
            match nested::member_content(w.side.index(), &bytes, &member.steps, &self.limits) {
                Ok(unpacked) => {
                    let reader: &mut dyn Read = &mut Cursor::new(unpacked);
                    write(
                        out,
                        refused,
                        w.side,
                        &member.context_path,
                        entry,
                        Some(reader),
                    );
                }
                Err(error) => list(
                    out,
                    w.side,
                    member,
                    format!("could not be unpacked again: {error}"),
                ),
            }
        }
        Ok(())
    }

    /// Lists the members still wanted (their file was never handed over) as not written, in the
    /// order of their files (side, context, index).
    fn list_left(&mut self, out: &mut ReportDir, why: &str) {
        let mut left: Vec<_> = std::mem::take(&mut self.wanted).into_iter().collect();
        left.sort_by(|(a, _), (b, _)| (a.0.index(), &a.1, a.2).cmp(&(b.0.index(), &b.1, b.2)));
        for ((side, _, _), members) in left {
            for member in &members {
                list(out, side, member, why.to_owned());
            }
        }
    }
}

/// One level of unpacking: the format of the file there and the member to take from it.
type UnpackStep = (NestedFormat, EntryMeta);

/// How to unpack a member of a file compared inside on one side: the nested context of its outermost
/// file (the layer's entry) and the steps from that file down to the member.
fn unpack_path(
    report: &Report,
    by_inside: &HashMap<ContextId, &Difference>,
    member: &Difference,
    side: Side,
) -> Option<(ContextId, Vec<UnpackStep>)> {
    let mut steps = Vec::new();
    let mut entry = member.entries.as_ref()?.get(side).clone()?;
    let mut inside = member.context;
    loop {
        let file = by_inside.get(&inside)?;
        let file_entry = file.entries.as_ref()?.get(side).clone()?;
        steps.push((file_entry.nested()?, entry));
        if !report.is_inside_a_file(file) {
            steps.reverse();
            return Some((inside, steps));
        }
        entry = file_entry;
        inside = file.context;
    }
}

/// Lists a member as not written, naming its file.
fn list(out: &mut ReportDir, side: Side, member: &Member, why: String) {
    let reason = format!("a member of {}, compared inside it: {why}", member.file);
    out.list_not_written(
        side,
        &member.context_path,
        &member.entry,
        Cause::InsideAFile,
        reason,
    );
}

/// Writes one side of one entry; a refusal is kept as a line for the caller to show.
fn write(
    out: &mut ReportDir,
    refused: &mut Vec<String>,
    side: Side,
    context_path: &str,
    entry: &EntryMeta,
    content: Option<&mut dyn Read>,
) {
    if let Err(error) = out.write_entry(side, context_path, entry, content) {
        refused.push(error.to_string());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::engine::Options;
    use crate::engine::testing::{
        MemorySource, descriptor, image, run, run_keeping_images, tar_of,
    };
    use crate::oci::media_type::{OCI_LAYER_GZIP, OCI_MANIFEST};
    use crate::report::{NonEmpty, WriteLimits};

    /// Two one-layer images whose file `big` differs, compared.
    fn compared(size: usize) -> Report {
        let side = |byte: u8| {
            let mut source = MemorySource::default();
            let tar = tar_of(&[("big", &vec![byte; size], 0o644)]);
            let root = image(&mut source, &[(tar, OCI_LAYER_GZIP)], json!({}));
            (source, root)
        };
        run(Sides::new(side(0), side(1)), &Options::default())
    }

    /// Images with no blobs at all: reading any layer again fails.
    fn without_blobs() -> Sides<Image> {
        let empty = || Image {
            spec: "emptied".into(),
            source: Arc::new(MemorySource::default()),
            root: descriptor(OCI_MANIFEST, b"{}"),
        };
        Sides::new(empty(), empty())
    }

    fn export(report: &Report, limits: WriteLimits) -> Exported {
        let dir = tempfile::tempdir().unwrap();
        let out = ReportDir::create(&dir.path().join("report"), NonEmpty::Refuse, limits).unwrap();
        let differences: Vec<&Difference> = report.differences.iter().collect();
        let images = without_blobs();
        export_differences(
            out,
            &images,
            report,
            differences,
            &json!({}),
            &ReadAgainLimits::DEFAULT,
        )
        .unwrap()
    }

    /// Two one-layer images whose `srv/app.tar` differs in its member `lib/x`, compared, and the images.
    fn compared_nested() -> (Report, Sides<Image>) {
        let side = |byte: u8| {
            let mut source = MemorySource::default();
            let inner = tar_of(&[("lib/x", &[byte; 10], 0o644), ("lib/same", b"s", 0o644)]);
            let tar = tar_of(&[("srv/app.tar", &inner, 0o644)]);
            let root = image(&mut source, &[(tar, OCI_LAYER_GZIP)], json!({}));
            (source, root)
        };
        run_keeping_images(Sides::new(side(b'a'), side(b'b')), &Options::default())
    }

    fn export_to(
        dir: &std::path::Path,
        report: &Report,
        images: &Sides<Image>,
        differences: &[&Difference],
    ) -> Exported {
        let out = ReportDir::create(dir, NonEmpty::Refuse, WriteLimits::DEFAULT).unwrap();
        let limits = &ReadAgainLimits::DEFAULT;
        export_differences(
            out,
            images,
            report,
            differences.to_vec(),
            &json!({}),
            limits,
        )
        .unwrap()
    }

    #[test]
    fn a_members_subtree_alone_is_unpacked_from_its_file_written_beside_it() {
        let (report, images) = compared_nested();
        // The member's row in the per-layer view (the merged view has its own).
        let member: Vec<&Difference> = (report.differences.iter())
            .filter(|d| report.is_inside_a_file(d) && !report.in_merged_view(d.context))
            .collect();
        assert_eq!(member.len(), 1, "{:?}", report.differences);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("report");
        let exported = export_to(&root, &report, &images, &member);
        assert!(exported.errors.is_empty(), "{:?}", exported.errors);
        assert!(
            exported.notes.not_written.is_empty(),
            "{:?}",
            exported.notes
        );
        for (side, byte) in [("input-0", b'a'), ("input-1", b'b')] {
            let layer = root.join(side).join("layers-0");
            let x = std::fs::read(layer.join("srv/app.tar!/lib/x")).unwrap();
            assert_eq!(x, [byte; 10]);
            assert!(layer.join("srv/app.tar").is_file(), "its file, beside it");
        }
    }

    #[test]
    fn members_whose_file_cannot_be_read_again_are_listed_naming_it() {
        let (report, _) = compared_nested();
        let all: Vec<&Difference> = report.differences.iter().collect();
        let dir = tempfile::tempdir().unwrap();
        let exported = export_to(&dir.path().join("r"), &report, &without_blobs(), &all);
        assert_eq!(exported.errors.len(), 2, "{:?}", exported.errors);
        let members: Vec<(usize, &str, &str)> = (exported.notes.not_written.iter())
            .filter(|n| n.cause == crate::report::Cause::InsideAFile)
            .map(|n| (n.entry.input, n.entry.name.as_str(), n.reason.as_str()))
            .collect();
        let why = "a member of srv/app.tar, compared inside it: its file could not be read again";
        // Both sides, in the per-layer and the merged view.
        let both = [
            (0, "lib/x", why),
            (0, "lib/x", why),
            (1, "lib/x", why),
            (1, "lib/x", why),
        ];
        assert_eq!(members, both);
    }

    #[test]
    fn a_file_over_the_limits_is_not_read_again() {
        let report = compared(1000);
        let over = WriteLimits {
            per_file: 999,
            total: 1 << 20,
        };
        let exported = export(&report, over);
        assert!(exported.errors.is_empty(), "{:?}", exported.errors);
        assert!(exported.refused.is_empty(), "{:?}", exported.refused);
        let inputs: Vec<usize> = exported
            .notes
            .not_written
            .iter()
            .map(|n| n.entry.input)
            .collect();
        assert!(inputs.contains(&0) && inputs.contains(&1), "{inputs:?}");
        assert_eq!(exported.notes.over_limits(), inputs.len());

        // Within the limits, the layers are read again: here they are gone, so that fails.
        let within = WriteLimits {
            per_file: 1000,
            total: 1 << 20,
        };
        let exported = export(&report, within);
        assert_eq!(exported.errors.len(), 2, "{:?}", exported.errors);
    }

    #[test]
    fn the_files_of_a_layer_share_its_path_and_descriptor() {
        use crate::engine::extract::wanted_for;
        use crate::model::Side;
        use crate::report::fixtures::{LAYER0, content_difference, hex_of, report_skeleton};
        let mut report = report_skeleton();
        for path in ["etc/a", "etc/b"] {
            let file = content_difference(LAYER0, path, &hex_of('1'), &hex_of('2'));
            report.differences.push(file);
        }
        let files: Vec<_> = report.differences.iter().collect();
        let wanted = wanted_for(&report, &files);
        let sides: Vec<Side> = wanted.iter().map(|w| w.side).collect();
        assert_eq!(
            sides,
            [Side::Input0, Side::Input1, Side::Input0, Side::Input1]
        );
        let (a, b) = (&wanted[0], &wanted[2]);
        let layer = report.context(LAYER0).unwrap();
        assert_eq!(&*a.context_path, layer.path);
        assert!(Arc::ptr_eq(&a.context_path, &b.context_path));
        let (Some(la), Some(lb)) = (&a.layer, &b.layer) else {
            panic!("no layer: {wanted:?}");
        };
        assert!(Arc::ptr_eq(la, lb));
        assert_eq!(Some(&**la), layer.descriptors.input0.as_ref());
        assert_eq!(
            wanted[1].layer.as_deref(),
            layer.descriptors.input1.as_ref()
        );
    }
}

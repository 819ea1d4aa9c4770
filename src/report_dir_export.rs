//! Writing a report directory for a set of differences: the layers that hold the files are read again
//! and both sides of each file are written safely. The headless `--report-dir` and the explorer's export
//! key both use this.

use std::io::Read;
use std::path::PathBuf;

use serde::Serialize;

use crate::engine::EngineError;
use crate::engine::extract::{self, Wanted};
use crate::engine::layer::ReadLimits;
use crate::model::{DiffKind, Difference, Report, Sides};
use crate::report::{Notes, ReportDir, ReportError};
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

/// Writes both sides of each file difference in `differences` into `out`, then `report.json` (the report
/// given, with the directory's notes added) and the README.
pub fn export_differences(
    mut out: ReportDir,
    images: &Sides<Image>,
    report: &Report,
    differences: &[&Difference],
    report_json: &impl Serialize,
    read_limits: &ReadLimits,
) -> Result<Exported, ReportError> {
    let files: Vec<&Difference> = differences
        .iter()
        .copied()
        .filter(|d| d.kind == DiffKind::File)
        .collect();
    // A file the limits keep out is handed over without its content: its layer is not read for it.
    let (to_read, kept_out): (Vec<Wanted>, Vec<Wanted>) = extract::wanted_for(report, &files)
        .into_iter()
        .partition(|w| out.fits(&w.entry));
    let mut refused = Vec::new();
    for w in &kept_out {
        write(&mut out, &mut refused, w, None);
    }
    let errors = extract::extract(images, &to_read, read_limits, |w, content| {
        write(&mut out, &mut refused, w, content);
        Ok(())
    });
    let finished = out.finish(report_json)?;
    Ok(Exported {
        root: finished.root,
        notes: finished.notes,
        refused,
        errors,
    })
}

/// Writes one side of one file; a refusal is kept as a line for the caller to show.
fn write(
    out: &mut ReportDir,
    refused: &mut Vec<String>,
    w: &Wanted,
    content: Option<&mut dyn Read>,
) {
    if let Err(error) = out.write_entry(w.side, &w.context_path, &w.entry, content) {
        refused.push(error.to_string());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::engine::Options;
    use crate::engine::testing::{MemorySource, descriptor, image, run, tar_of};
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
            &differences,
            &json!({}),
            &ReadLimits::DEFAULT,
        )
        .unwrap()
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
}

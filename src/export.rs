//! Writing a report directory for a set of differences: the layers that hold the files are read again
//! and both sides of each file are written safely. The headless `--report-dir` and the explorer's export
//! key both use this.

use std::path::Path;

use crate::engine::layer::ReadLimits;
use crate::engine::{EngineError, extract};
use crate::model::{DiffKind, Difference, Report, Sides};
use crate::report::{ReportDir, ReportError};
use crate::source::Image;

/// What an export did besides writing files.
#[derive(Debug, Default)]
pub struct Exported {
    /// Entries refused as unsafe or unwritable (one line each, names escaped).
    pub refused: Vec<String>,
    /// Layers that could not be read again.
    pub errors: Vec<EngineError>,
}

/// Writes both sides of each file difference in `differences` into `dir`, then `report.json`.
pub fn write_report_dir(
    dir: &Path,
    images: &Sides<Image>,
    report: &Report,
    differences: &[&Difference],
    report_json: &[u8],
    limits: &ReadLimits,
) -> Result<Exported, ReportError> {
    let mut out = ReportDir::create(dir)?;
    let files: Vec<&Difference> = differences
        .iter()
        .copied()
        .filter(|d| d.kind == DiffKind::File)
        .collect();
    let wanted = extract::wanted_for(report, &files);
    let mut refused = Vec::new();
    let errors = extract::extract(images, &wanted, limits, |w, content| {
        if let Err(error) = out.write_entry(w.side, &w.context_path, &w.entry, content) {
            refused.push(error.to_string());
        }
        Ok(())
    });
    out.finish(report_json)?;
    Ok(Exported { refused, errors })
}

//! The explorer's one export entry point: the selected subtree as a report directory, written on a
//! thread of its own with the same layout and limits as `--report-dir`; the outcome comes back as one
//! line for the status bar.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use crate::model::{DiffKind, Difference, Report, Sides};
use crate::report::{JsonReport, NonEmpty, ReportDir, WriteLimits};
use crate::report_dir_export::{ReadAgainLimits, export_differences, files_of_members};
use crate::source::Image;

use super::session::Session;

/// What an export needs besides the session.
pub struct ExportSetup {
    pub images: Arc<Sides<Image>>,
    pub limits: ReadAgainLimits,
    pub write_limits: WriteLimits,
    pub done: Sender<String>,
}

/// Writes these differences (indexes into the report) into `dir`; a directory that is not empty is
/// written into only with `overwrite` (the user said yes).
pub fn start(
    setup: &ExportSetup,
    session: &Session,
    dir: PathBuf,
    indexes: &[usize],
    overwrite: bool,
) {
    let report = session.report();
    let mut subtree = Report {
        contexts: report.contexts.clone(),
        ..Report::default()
    };
    let chosen: Vec<&Difference> = (indexes.iter())
        .filter_map(|i| report.differences.get(*i))
        .collect();
    // A member's subtree brings the file it is unpacked from.
    let files = files_of_members(report, &chosen);
    subtree.differences = files.into_iter().chain(chosen).cloned().collect();
    subtree.finished = true;
    let specs = session.specs().clone();
    let (filter, view) = (session.filter().clone(), session.view());
    let images = Arc::clone(&setup.images);
    let (limits, write_limits) = (setup.limits, setup.write_limits);
    let done = setup.done.clone();
    let non_empty = if overwrite {
        NonEmpty::Overwrite
    } else {
        NonEmpty::Refuse
    };
    std::thread::spawn(move || {
        let files: Vec<&Difference> = subtree
            .differences
            .iter()
            .filter(|d| d.kind == DiffKind::File)
            .collect();
        let exported = ReportDir::create(&dir, non_empty, write_limits).and_then(|out| {
            let [a, b] = &specs;
            let json = JsonReport::new([a, b], &subtree, &filter, view);
            export_differences(out, &images, &subtree, files, &json, &limits)
        });
        let message = match exported {
            Ok(done) => {
                let mut message = if done.errors.is_empty() && done.refused.is_empty() {
                    format!(
                        "exported {} difference(s) to {}",
                        subtree.differences.len(),
                        dir.display()
                    )
                } else {
                    format!(
                        "exported to {} with {} refused entr(ies) and {} error(s)",
                        dir.display(),
                        done.refused.len(),
                        done.errors.len()
                    )
                };
                for line in done.notes.summary_lines() {
                    message.push_str("; ");
                    message.push_str(&line);
                }
                message
            }
            Err(error) => format!("export failed: {error}"),
        };
        let _ = done.send(message);
    });
}

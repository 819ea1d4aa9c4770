//! The explorer mode: a terminal and no `--format`.

use std::process::ExitCode;

use anyhow::Result;

use ocidiff::engine::MergedView;
use ocidiff::report::WriteLimits;
use ocidiff::tui;

use super::args::CompareArgs;
use super::headless::{Setup, engine_options, exit_code, setup};

pub fn run(args: &CompareArgs) -> Result<ExitCode> {
    let Setup {
        filter,
        catalogue,
        specs,
        images,
        view,
    } = setup(args)?;
    // Both views and unchanged entries are kept: the keys switch between them without re-reading.
    let options = engine_options(args, MergedView::Always, true, catalogue);
    let export_limits = WriteLimits::scaled(args.scale());
    let outcome = tui::run(images, options, export_limits, filter, view, specs)?;
    Ok(exit_code(outcome.errors, outcome.shown))
}

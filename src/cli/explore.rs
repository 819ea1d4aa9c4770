//! The explorer mode: a terminal and no `--format`.

use std::process::ExitCode;

use anyhow::Result;

use ocidiff::engine::{MergedView, Options};
use ocidiff::report::WriteLimits;
use ocidiff::tui::{self, Launch};

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
    let options = Options {
        // The explorer shows a big layer's differences while it is read.
        provisional: true,
        ..engine_options(args, MergedView::Always, true, catalogue)
    };
    let launch = Launch {
        specs,
        filter,
        view,
        select: args.select.clone(),
        extra_args: comparison_args(args),
        export_limits: WriteLimits::scaled(args.scale()),
        content_cache: args.content_cache,
        keys: args.keys.clone(),
    };
    let outcome = tui::run(images, options, launch)?;
    Ok(exit_code(outcome.errors, outcome.shown))
}

/// The arguments that choose what is compared, for the command the explorer copies (`y`).
fn comparison_args(args: &CompareArgs) -> Vec<String> {
    let mut out = Vec::new();
    if args.all_platforms {
        out.push("--all-platforms".to_owned());
    }
    for platform in &args.platform {
        out.push("--platform".to_owned());
        out.push(platform.key());
    }
    out
}

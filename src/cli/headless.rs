//! The headless mode: compare, then print the table or JSON (or stream NDJSON), write the report
//! directory, print a summary on stderr, and exit 0 (equal), 1 (different) or 2 (error).

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, mpsc};

use anyhow::{Context as _, Result, anyhow};

use ocidiff::engine::layer::ReadLimits;
use ocidiff::engine::nested::NestedLimits;
use ocidiff::engine::{self, MergedView, Options};
use ocidiff::explain::{Catalogue, Verdict};
use ocidiff::filter::{Filter, Presentation, View};
use ocidiff::model::{DiffKind, Difference, Event, Report, Sides, escape_control};
use ocidiff::report::{
    Contents, Format, JsonReport, NdjsonWriter, NonEmpty, ReportDir, ReportError, RowDetails,
    Summary, WriteLimits, write_detailed_table, write_html, write_json, write_markdown,
};
use ocidiff::report_dir_export::{ReadAgainLimits, export_differences};
use ocidiff::rules::{Rules, RulesReport};
use ocidiff::source::{Image, SourceOptions, open_image_with};

use super::args::{CompareArgs, FailOn};
use super::debug::DebugLog;
use super::progress::{OpeningNote, ProgressLine};

pub const EXIT_EQUAL: u8 = 0;
pub const EXIT_DIFFERENT: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// What both modes need: the filter, the inputs as given and opened, the view.
pub struct Setup {
    pub filter: Filter,
    /// The noise rules in force.
    pub catalogue: Arc<Catalogue>,
    pub specs: [String; 2],
    pub images: Sides<Image>,
    pub view: View,
}

pub fn setup(args: &CompareArgs) -> Result<Setup> {
    let patterns = args.ignore.path_patterns()?;
    let filter = Filter::new(&args.ignore.options(), &patterns)?
        .with_ignore_noise(args.explain.ignore_noise);
    let catalogue = Arc::new(args.explain.catalogue()?);
    let specs = [
        args.image0.clone().unwrap_or_default(),
        args.image1.clone().unwrap_or_default(),
    ];
    let sources = args.sources.options(&args.platform, args.scale());
    let note = OpeningNote::show(!args.quiet, &specs);
    // Side by side: opening may mean an engine export or a registry round trip per input.
    let (image0, image1) = std::thread::scope(|scope| {
        let image1 = scope.spawn(|| open(1, &specs[1], &sources));
        let image0 = open(0, &specs[0], &sources);
        let image1 = image1
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (image0, image1)
    });
    note.clear();
    let images = Sides::new(image0?, image1?);
    Ok(Setup {
        filter,
        catalogue,
        specs,
        images,
        view: View::from(args.view),
    })
}

pub fn engine_options(
    args: &CompareArgs,
    merged: MergedView,
    include_unchanged: bool,
    catalogue: Arc<Catalogue>,
) -> Options {
    Options {
        platforms: args.platform.clone(),
        all_platforms: args.all_platforms,
        platform_pair: args.platform_pair(),
        jobs: args.jobs.unwrap_or(Options::default().jobs),
        merged,
        include_unchanged,
        json_limit: args.json_limit(),
        read_limits: ReadLimits::scaled(args.scale()),
        verify: args.verify,
        nested: NestedLimits::scaled(args.scale(), args.explain.depth()),
        // A report directory reads the differing files' layers again anyway; its memory goes to that.
        hold_contents: args.report_dir.is_none(),
        catalogue: Some(catalogue),
        packages: !args.explain.no_packages,
        provisional: false,
        content_spool: None,
    }
}

pub fn exit_code(errors: usize, shown: usize) -> ExitCode {
    ExitCode::from(if errors > 0 {
        EXIT_ERROR
    } else if shown == 0 {
        EXIT_EQUAL
    } else {
        EXIT_DIFFERENT
    })
}

pub fn run(args: &CompareArgs) -> Result<ExitCode> {
    let mut debug = DebugLog::new(args.debug());
    // Before the images are opened (an engine export may take minutes), so a refused DIR costs nothing.
    if let Some(dir) = &args.report_dir {
        ReportDir::check(dir, non_empty(args)).map_err(|error| report_dir_error(dir, error))?;
    }
    let rules = args.rules.as_deref().map(load_rules).transpose()?;
    let Setup {
        filter,
        catalogue,
        specs,
        images,
        view,
    } = setup(args)?;
    debug.opened(0, &images.input0);
    debug.opened(1, &images.input1);
    let report_dir = args
        .report_dir
        .as_deref()
        .map(|dir| create_report_dir(dir, args))
        .transpose()?;
    let format = args.format.unwrap_or(Format::Table);
    let merged = match view {
        View::PerLayer => MergedView::Never,
        View::Merged => MergedView::Always,
        View::Auto => MergedView::WhenLayerCountsDiffer,
    };
    let options = engine_options(args, merged, false, catalogue);
    let report = compare(&images, &options, format, args.quiet, &mut debug)?;
    let presentation = Presentation::new(&report, &filter, view);
    let shown = presentation.shown();
    let inputs = [specs[0].as_str(), specs[1].as_str()];
    let rules = rules.map(|rules| rules.evaluate(&report, &presentation, &shown));
    let contents = (format == Format::Html || args.html.is_some()).then(|| {
        let files: Vec<&Difference> = shown.iter().map(|s| s.difference).collect();
        read_contents(&images, &report, &files, &options.read_limits)
    });
    let json_with_rules = || {
        JsonReport::new(inputs, &report, &filter, view)
            .with_rules(rules.as_ref())
            .with_shown(&presentation, &shown)
    };
    let written = match format {
        Format::Table => {
            let details = RowDetails {
                deltas: args.verbose,
                explanations: args.verbose || args.explain.explain,
            };
            let mut out = io::BufWriter::new(io::stdout().lock());
            write_detailed_table(&mut out, &report, &shown, details).and_then(|()| out.flush())
        }
        Format::Json => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            write_json(&mut out, &json_with_rules())
                .map_err(report_io_error)
                .and_then(|()| out.flush())
        }
        Format::Ndjson => Ok(()),
        Format::Html => write_html(
            &mut io::stdout().lock(),
            inputs,
            &report,
            &presentation,
            &shown,
            rules.as_ref(),
            contents.as_ref(),
        ),
        Format::Markdown => write_markdown(
            &mut io::stdout().lock(),
            inputs,
            &report,
            &presentation,
            rules.as_ref(),
            args.markdown_rows,
        ),
    };
    ignore_broken_pipe(written)?;
    if let Some(file) = &args.report_file {
        write_file(file, |out| {
            serde_json::to_writer_pretty(out, &json_with_rules()).map_err(io::Error::from)
        })?;
    }
    if let Some(file) = &args.html {
        write_file(file, |out| {
            let contents = contents.as_ref();
            write_html(
                out,
                inputs,
                &report,
                &presentation,
                &shown,
                rules.as_ref(),
                contents,
            )
        })?;
    }
    if let Some(file) = &args.markdown {
        write_file(file, |out| {
            let rows = args.markdown_rows;
            write_markdown(out, inputs, &report, &presentation, rules.as_ref(), rows)
        })?;
    }
    let shown_count = shown.len();
    let verdict = Verdict::new(&report, &shown);
    let summary = Summary::new(&report, &presentation, &shown).to_string();
    let mut failed = !report.errors.is_empty();
    if let (Some(out), Some(dir)) = (report_dir, &args.report_dir) {
        let files: Vec<&Difference> = shown
            .iter()
            .map(|s| s.difference)
            .filter(|d| d.kind == DiffKind::File)
            .collect();
        // While the layers are read again, the report's presentation is not kept (at a million
        // differences, 40 MB): `report.json` works it out again once they are read.
        drop(shown);
        drop(presentation);
        let json = JsonReport::new(inputs, &report, &filter, view);
        let limits = &ReadAgainLimits {
            layers: options.read_limits,
            nested: options.nested,
        };
        failed |= !write_report_dir(dir, out, &images, &report, files, &json, limits)?;
    }
    debug.line(&format!(
        "{} differences, {shown_count} shown",
        report.differences.len(),
    ));
    if !args.quiet {
        eprintln!("{summary}");
        // A partial comparison has no verdict; no difference needs none.
        if report.errors.is_empty() && verdict.differences > 0 {
            eprintln!("verdict: {verdict}");
        }
    }
    if let Some(rules) = &rules {
        print_rules(rules);
    }
    let failing = match (&rules, args.explain.fail_on) {
        (Some(rules), _) => usize::from(rules.failed()),
        (None, FailOn::Any) => shown_count,
        (None, FailOn::Unexplained) => verdict.unexplained,
    };
    Ok(exit_code(usize::from(failed), failing))
}

/// The HTML page's file contents; a layer that cannot be read again is a warning (the page says
/// what it has).
fn read_contents(
    images: &Sides<Image>,
    report: &Report,
    files: &[&Difference],
    limits: &ReadLimits,
) -> Contents {
    let contents = Contents::read(images, report, files, limits);
    for error in &contents.errors {
        eprintln!("ocidiff-tui: warning: html: {}", escape_control(error));
    }
    contents
}

/// `--rules FILE`, read and checked before any image is opened.
fn load_rules(file: &Path) -> Result<Rules> {
    let name = file.display().to_string();
    let size = std::fs::metadata(file)
        .with_context(|| format!("--rules {name}"))?
        .len();
    if size > ocidiff::rules::MAX_RULES_FILE_BYTES as u64 {
        return Err(anyhow!(
            "--rules {name}: too large for a rules file ({size} bytes)"
        ));
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("--rules {name}"))?;
    Ok(Rules::parse(&name, &text)?)
}

/// One `PASS:`/`FAIL:`/`SKIP:` line per rule on stderr (stdout holds the report), offending items
/// indented below.
fn print_rules(rules: &RulesReport) {
    for result in &rules.results {
        eprintln!("{result}");
    }
}

/// `--html FILE`, `--markdown FILE`: written whole, the file named on error.
fn write_file(file: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let mut out = io::BufWriter::new(
        std::fs::File::create(file).with_context(|| file.display().to_string())?,
    );
    write(&mut out)
        .and_then(|()| out.flush())
        .with_context(|| file.display().to_string())
}

/// A writer's error as the I/O error it is, if it is one (so that a closed pipe is recognised).
fn report_io_error(error: ReportError) -> io::Error {
    match error {
        ReportError::Write(e) => e,
        ReportError::Json(e) => e.into(),
        other => io::Error::other(other),
    }
}

fn open(input: usize, spec: &str, options: &SourceOptions) -> Result<Image> {
    open_image_with(spec, options).with_context(|| format!("input {input} ({spec})"))
}

/// Events the engine may send ahead of the report and the NDJSON writer: at a million differences an
/// unbounded channel held 140 MB of them while NDJSON was written.
const EVENT_BACKLOG: engine::Backlog = engine::Backlog::Bounded(4096);

/// Runs the engine on its own threads ([`engine::spawn`]) and collects its events; errors are printed
/// as they come, and NDJSON is streamed as it comes.
fn compare(
    images: &Sides<Image>,
    options: &Options,
    format: Format,
    quiet: bool,
    debug: &mut DebugLog,
) -> Result<Report> {
    let events = engine::spawn(Arc::new(images.clone()), options.clone(), EVENT_BACKLOG);
    let mut report = Report::default();
    // Debug lines would break into the progress line.
    let mut progress = ProgressLine::new(!quiet && !debug.enabled());
    let mut ndjson = (format == Format::Ndjson)
        .then(|| NdjsonWriter::new(io::BufWriter::new(io::stdout().lock())));
    let mut stdout_closed = false;
    loop {
        let event = match events.try_recv() {
            Ok(event) => event,
            Err(waiting) => {
                // Caught up with the comparison: what was written goes out before waiting.
                if let Some(writer) = ndjson.as_mut().filter(|_| !stdout_closed) {
                    stdout_closed = to_stdout(writer.flush())?;
                }
                match waiting {
                    mpsc::TryRecvError::Empty => match events.recv() {
                        Ok(event) => event,
                        Err(_) => break,
                    },
                    mpsc::TryRecvError::Disconnected => break,
                }
            }
        };
        debug.event(&event);
        match &event {
            Event::Progress(p) => progress.update(p),
            Event::Error { message, .. } => {
                progress.clear();
                eprintln!("ocidiff-tui: {}", escape_control(message));
            }
            Event::Warning { message, .. } if !quiet => {
                progress.clear();
                eprintln!("ocidiff-tui: warning: {}", escape_control(message));
            }
            _ => {}
        }
        if let Some(writer) = ndjson.as_mut().filter(|_| !stdout_closed) {
            stdout_closed = to_stdout(writer.write_event(&event))?;
        }
        report.apply(event);
    }
    progress.clear();
    Ok(report)
}

/// A write to stdout: whether stdout is now closed (the reader went away), or the error.
fn to_stdout(written: io::Result<()>) -> io::Result<bool> {
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(true),
        other => other.map(|()| false),
    }
}

/// `--report-dir DIR`: new or empty, unless `--overwrite-report-dir` says to replace a previous report.
fn non_empty(args: &CompareArgs) -> NonEmpty {
    if args.overwrite_report_dir {
        NonEmpty::Overwrite
    } else {
        NonEmpty::Refuse
    }
}

fn create_report_dir(dir: &Path, args: &CompareArgs) -> Result<ReportDir> {
    let limits = WriteLimits::scaled(args.scale());
    ReportDir::create(dir, non_empty(args), limits).map_err(|error| report_dir_error(dir, error))
}

fn report_dir_error(dir: &Path, error: ReportError) -> anyhow::Error {
    match error {
        ReportError::NotEmpty { .. } => anyhow!(
            "--report-dir {}: the directory is not empty (give a new or empty one, or add \
             --overwrite-report-dir)",
            dir.display()
        ),
        other => anyhow::Error::new(other).context(format!("--report-dir {}", dir.display())),
    }
}

/// Writes both sides of each differing file; returns false if a layer could not be read again.
fn write_report_dir(
    dir: &Path,
    out: ReportDir,
    images: &Sides<Image>,
    report: &Report,
    files: Vec<&Difference>,
    report_json: &JsonReport<'_, '_>,
    limits: &ReadAgainLimits,
) -> Result<bool> {
    let exported = export_differences(out, images, report, files, report_json, limits)
        .with_context(|| format!("--report-dir {}", dir.display()))?;
    for refused in &exported.refused {
        eprintln!("ocidiff-tui: report-dir: {refused}");
    }
    for error in &exported.errors {
        eprintln!(
            "ocidiff-tui: report-dir: {}",
            escape_control(&error.to_string())
        );
    }
    for line in exported.notes.summary_lines() {
        eprintln!("ocidiff-tui: report-dir: {line}");
    }
    Ok(exported.errors.is_empty())
}

/// `ocidiff-tui ... | head` is not an error.
fn ignore_broken_pipe(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.and_then(|_| io::stdout().flush()),
    }
}

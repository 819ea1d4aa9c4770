//! The interactive explorer: `ocidiff-tui IMG0 IMG1` on a terminal.
//!
//! The engine runs on its own threads and streams events over a channel; content is loaded and diffed
//! on a worker; exports run on a thread of their own. The loop below only takes events in, turns keys
//! into actions and draws, so the UI never waits on I/O.

pub mod app;
pub mod content;
pub mod keys;
pub mod theme;
pub mod tree;
pub mod view;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent, KeyEventKind,
};

use crate::engine::layer::ReadLimits;
use crate::engine::{self, Options};
use crate::filter::{Filter, View};
use crate::model::{Event, Report, Sides};
use crate::report::{NonEmpty, ReportDir, ReportError, WriteLimits, json_report};
use crate::report_dir_export::export_differences;
use crate::source::Image;

use app::{Action, App, Effect};
use content::ContentLoader;
use theme::Theme;

/// What the session ended with, for the exit status.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub shown: usize,
    pub errors: usize,
}

const FRAME: Duration = Duration::from_millis(33);

pub fn run(
    images: Sides<Image>,
    options: Options,
    export_limits: WriteLimits,
    filter: Filter,
    view: View,
    specs: [String; 2],
) -> io::Result<Outcome> {
    let images = Arc::new(images);
    let read_limits = options.read_limits;
    let events = start_engine(Arc::clone(&images), options);
    let mut app = App::new(specs, filter, view);
    let theme = Theme::from_env();
    app.no_color = theme.plain;
    let mut content = ContentLoader::new(Some(Arc::clone(&images)), read_limits);
    let mut terminal = TerminalGuard::enter()?;
    let (export_tx, export_rx) = mpsc::channel::<String>();
    let mut areas = view::Areas::default();
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        let was_finished = app.report.finished;
        dirty |= take_events(&mut app, &events);
        if app.report.finished && !was_finished {
            // The report reorders its differences when it finishes; cached contents are keyed by index.
            content.clear();
        }
        dirty |= content.poll();
        while let Ok(message) = export_rx.try_recv() {
            app.message = Some(message);
            dirty = true;
        }
        if dirty && last_draw.elapsed() >= FRAME {
            app.refresh();
            if let Some((index, _)) = app.selected_difference() {
                content.want(&app.report, index);
            }
            terminal
                .terminal
                .draw(|frame| areas = view::draw(frame, &mut app, &content, &theme))?;
            dirty = false;
            last_draw = Instant::now();
        }
        if !event::poll(if dirty {
            FRAME
        } else {
            Duration::from_millis(100)
        })? {
            continue;
        }
        let action = match event::read()? {
            TermEvent::Key(key) if key.kind == KeyEventKind::Press => {
                if app.prompt.is_some() {
                    keys::prompt_action(&key)
                } else if app.help {
                    // The overlay says "any key closes": unbound keys (Esc, x...) too.
                    keys::action_for(&key).or(Some(Action::ToggleHelp))
                } else {
                    keys::action_for(&key)
                }
            }
            TermEvent::Mouse(mouse) => keys::mouse_action(&mouse, areas.tree),
            TermEvent::Resize(..) => Some(Action::Resize),
            _ => None,
        };
        let Some(action) = action else { continue };
        dirty = true;
        match app.update(action) {
            Effect::None => {}
            Effect::Quit => break,
            Effect::Export { dir, differences } => {
                app.message = Some(format!(
                    "exporting {} difference(s) to {}…",
                    differences.len(),
                    dir.display()
                ));
                start_export(
                    &images,
                    &app,
                    dir,
                    differences,
                    read_limits,
                    export_limits,
                    export_tx.clone(),
                );
            }
        }
    }
    drop(terminal);
    Ok(Outcome {
        shown: app.shown.iter().filter(|s| **s).count(),
        errors: app.report.errors.len(),
    })
}

fn start_engine(images: Arc<Sides<Image>>, options: Options) -> Receiver<Event> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let sink = move |event| {
            let _ = tx.send(event);
        };
        engine::compare(&images, &options, &sink);
    });
    rx
}

/// Takes in what the engine sent since the last frame (bounded, so input stays responsive).
fn take_events(app: &mut App, events: &Receiver<Event>) -> bool {
    let started = Instant::now();
    let mut any = false;
    while let Ok(event) = events.try_recv() {
        app.on_event(event);
        any = true;
        if started.elapsed() > Duration::from_millis(20) {
            break;
        }
    }
    any
}

/// Writes the report directory for the selected subtree on a thread; the result comes back as a message.
fn start_export(
    images: &Arc<Sides<Image>>,
    app: &App,
    dir: PathBuf,
    indexes: Vec<usize>,
    read_limits: ReadLimits,
    write_limits: WriteLimits,
    done: mpsc::Sender<String>,
) {
    let images = Arc::clone(images);
    let mut subtree = Report {
        contexts: app.report.contexts.clone(),
        ..Report::default()
    };
    subtree.differences = indexes
        .iter()
        .filter_map(|i| app.report.differences.get(*i).cloned())
        .collect();
    subtree.finished = true;
    let json = json_report(
        [&app.specs[0], &app.specs[1]],
        &subtree,
        &app.filter,
        app.view,
    );
    std::thread::spawn(move || {
        let differences: Vec<&crate::model::Difference> = subtree.differences.iter().collect();
        let exported = ReportDir::create(&dir, NonEmpty::Refuse, write_limits).and_then(|out| {
            export_differences(out, &images, &subtree, &differences, json, &read_limits)
        });
        let message = match exported {
            Ok(done) => {
                let mut message = if done.errors.is_empty() && done.refused.is_empty() {
                    format!(
                        "exported {} difference(s) to {}",
                        differences.len(),
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
            // The explorer will ask before writing into it (issue 11); until then it is refused.
            Err(ReportError::NotEmpty { .. }) => format!(
                "export refused: {} is not empty; give a new or empty directory",
                dir.display()
            ),
            Err(error) => format!("export failed: {error}"),
        };
        let _ = done.send(message);
    });
}

/// Raw mode, the alternate screen and mouse capture, undone on drop, on error, on panic and on a
/// signal (`kill`, a closed terminal).
struct TerminalGuard {
    terminal: ratatui::DefaultTerminal,
    _on_signal: crate::cleanup::Registration,
}

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        let terminal = ratatui::try_init()?;
        let on_signal = crate::cleanup::run_on_signal(restore_terminal);
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = crossterm::execute!(io::stdout(), DisableMouseCapture);
            hook(info);
        }));
        crossterm::execute!(io::stdout(), EnableMouseCapture)?;
        Ok(TerminalGuard {
            terminal,
            _on_signal: on_signal,
        })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Also run from the signal thread, where the terminal is not dropped: so the cursor is shown here too.
fn restore_terminal() {
    let _ = crossterm::execute!(io::stdout(), DisableMouseCapture, crossterm::cursor::Show);
    ratatui::restore();
}

#[cfg(test)]
mod tests;

//! The interactive explorer: `ocidiff-tui IMG0 IMG1` on a terminal.
//!
//! The engine runs on its own threads ([`engine::spawn`]) and streams events over a channel; content
//! is loaded and diffed on a worker, configs (for `created_by`) and exports on threads of their own.
//! The loop below only takes events in, turns keys into actions and draws, so the UI never waits on
//! I/O.

pub mod app;
pub mod command;
pub mod content;
pub mod export;
pub mod fit;
pub mod history;
pub mod keys;
pub mod labels;
pub mod session;
pub mod swap;
pub mod theme;
pub mod tree;
pub mod view;

use std::io;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent, KeyEventKind,
};

use crate::engine::spool::ContentSpool;
use crate::engine::{self, Options};
use crate::filter::{Filter, View};
use crate::model::{Event, Sides};
use crate::report::WriteLimits;
use crate::report_dir_export::ReadAgainLimits;
use crate::source::Image;

use app::{Action, App, Effect};
use content::ContentLoader;
use export::ExportSetup;
use session::Changed;
use theme::Theme;

/// What the session ended with, for the exit status.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub shown: usize,
    pub errors: usize,
}

/// How the explorer starts, besides the images and the engine's options.
pub struct Launch {
    /// The inputs as the user wrote them.
    pub specs: [String; 2],
    pub filter: Filter,
    pub view: View,
    /// `--select`: the path selected once it is listed.
    pub select: Option<String>,
    /// Arguments that chose what is compared (`--platform`...), for the copied command.
    pub extra_args: Vec<String>,
    pub export_limits: WriteLimits,
    /// `--content-cache`: the most bytes of file contents kept aside while layers are read (0: none).
    pub content_cache: u64,
    /// The key bindings (the config file's `[keys]`).
    pub keys: keys::Keymap,
}

const FRAME: Duration = Duration::from_millis(33);

/// The spool for file contents: `budget` bytes, or less if the temporary directory has less room
/// (keeping what [`crate::source::room_left`] keeps free); None if that leaves nothing.
fn content_spool(budget: u64) -> Option<Arc<ContentSpool>> {
    let room = crate::source::room_left(&std::env::temp_dir()).unwrap_or(u64::MAX);
    let budget = budget.min(room);
    (budget > 0).then(|| Arc::new(ContentSpool::new(budget, content::MAX_READ)))
}

pub fn run(images: Sides<Image>, mut options: Options, launch: Launch) -> io::Result<Outcome> {
    let mut images = Arc::new(images);
    let spool = content_spool(launch.content_cache);
    options.content_spool = spool.clone();
    let read_limits = options.read_limits;
    let nested_limits = options.nested;
    let json_limit = options.json_limit;
    let events = engine::spawn(Arc::clone(&images), options, engine::Backlog::Unbounded);
    let mut app = App::new(launch.specs, launch.filter, launch.view);
    app.select_when_listed(launch.select);
    app.set_extra_args(launch.extra_args);
    app.keys = launch.keys;
    let theme = Theme::from_env();
    let mut content = ContentLoader::new(Some(Arc::clone(&images)), read_limits, spool);
    let mut terminal = TerminalGuard::enter()?;
    let (export_tx, export_rx) = mpsc::channel::<String>();
    let mut export = ExportSetup {
        images: Arc::clone(&images),
        limits: ReadAgainLimits {
            layers: read_limits,
            nested: nested_limits,
        },
        write_limits: launch.export_limits,
        done: export_tx,
    };
    let mut areas = view::Areas::default();
    let mut dragging = false;
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        let changed = take_events(&mut app, &events);
        if changed.indexes {
            // The report reorders its differences when it finishes; cached contents are keyed by index.
            content.clear();
        }
        dirty |= changed != Changed::default() || content.poll();
        app.session.read_created_by(&images, json_limit);
        dirty |= app.session.created_by.poll();
        while let Ok(message) = export_rx.try_recv() {
            app.bar.say(view::status::Message::result(message));
            dirty = true;
        }
        if dirty && last_draw.elapsed() >= FRAME {
            app.refresh();
            // A member of an archive has no layer entry of its own to read.
            if let Some((index, d)) = app.selected_difference()
                && !app.session.report().is_inside_a_file(d)
            {
                content.want(app.session.report(), index);
            }
            terminal
                .terminal
                .draw(|frame| areas = view::draw(frame, &mut app, &content, &theme))?;
            dirty = false;
            last_draw = Instant::now();
            // The new listing is on screen; what each option hides follows in the next frame.
            dirty |= app.refresh_counts();
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
                if app.bar.prompt().is_some() {
                    keys::prompt_action(&key)
                } else if app.help.is_open() {
                    // The overlay says "any other key closes": unbound keys (Esc, x...) too.
                    app.keys.action_for(&key).or(Some(Action::PromptCancel))
                } else {
                    app.keys.action_for(&key)
                }
            }
            TermEvent::Mouse(mouse) => keys::mouse_action(&mouse, &areas, &mut dragging),
            TermEvent::Resize(..) => Some(Action::Resize),
            _ => None,
        };
        let Some(action) = action else { continue };
        dirty = true;
        match app.update(action) {
            Effect::None => {}
            Effect::Quit => break,
            Effect::Export {
                dir,
                differences,
                overwrite,
            } => {
                app.bar.say(view::status::Message::result(format!(
                    "exporting {} difference(s) to {}…",
                    differences.len(),
                    dir.display()
                )));
                export::start(&export, &app.session, dir, &differences, overwrite);
            }
            Effect::Copy(text) => {
                // Between frames: the sequence does not break into ratatui's output.
                command::copy_to_clipboard(&text, &mut io::stdout())?;
            }
            Effect::Swapped => {
                images = Arc::new(swap::swapped(Sides::clone(&images)));
                content.set_images(Arc::clone(&images));
                export.images = Arc::clone(&images);
            }
        }
    }
    drop(terminal);
    Ok(Outcome {
        shown: app.session.shown_total(),
        errors: app.session.report().errors.len(),
    })
}

/// Takes in what the engine sent since the last frame (bounded, so input stays responsive).
fn take_events(app: &mut App, events: &Receiver<Event>) -> Changed {
    let started = Instant::now();
    let mut changed = Changed::default();
    while let Ok(event) = events.try_recv() {
        let now = app.on_event(event);
        changed.tree |= now.tree;
        changed.indexes |= now.indexes;
        // Progress alone redraws too (the status bar counts layers and bytes).
        changed.progress = true;
        if started.elapsed() > Duration::from_millis(20) {
            break;
        }
    }
    changed
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

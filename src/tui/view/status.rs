//! The status bar: its state (the line being typed, the last message, the last search) and its
//! lines: a hint when the first screen is mostly noise, progress and counts, then the filters (or
//! the prompt, or a message). Every count is what `]` can reach; every name is a user's word.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::filter::IgnoreOption;
use crate::model::escape_control;
use crate::tui::app::Action;
use crate::tui::fit::{shorten_middle, window};
use crate::tui::keys::Keymap;
use crate::tui::labels::{option_words, status_words, view_words};
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::tree::{Expansion, NodeKey, Status};

/// Where an incremental search started, to go back there on Esc.
#[derive(Debug, Clone)]
pub struct SearchStart {
    pub expansion: Expansion,
    pub selected: Option<NodeKey>,
}

/// A line being typed at the bottom of the screen.
#[derive(Debug, Clone)]
pub enum Prompt {
    Search {
        text: String,
        start: SearchStart,
    },
    TreeFilter(String),
    Export(String),
    /// The export directory is not empty: write into it (`y`) or not.
    ConfirmOverwrite {
        dir: PathBuf,
        differences: Vec<usize>,
    },
}

/// A one-line message. A navigation message ("no differences listed") stops being true when more
/// data arrives, so it goes then too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    navigation: bool,
}

impl Message {
    pub fn result(text: String) -> Message {
        Message {
            text,
            navigation: false,
        }
    }

    pub fn navigation(text: String) -> Message {
        Message {
            text,
            navigation: true,
        }
    }
}

#[derive(Debug, Default)]
pub struct StatusBar {
    prompt: Option<Prompt>,
    message: Option<Message>,
    /// The last search, for `n` and `N`.
    search: Option<String>,
    /// Matches of the search being typed.
    match_count: Option<usize>,
}

impl StatusBar {
    pub fn prompt(&self) -> Option<&Prompt> {
        self.prompt.as_ref()
    }

    pub fn ask(&mut self, prompt: Prompt) {
        self.prompt = Some(prompt);
    }

    pub fn close_prompt(&mut self) {
        self.prompt = None;
        self.match_count = None;
    }

    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    pub fn say(&mut self, message: Message) {
        self.message = Some(message);
    }

    pub fn clear_message(&mut self) {
        self.message = None;
    }

    pub fn forget_navigation(&mut self) {
        if self.message.as_ref().is_some_and(|m| m.navigation) {
            self.message = None;
        }
    }

    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    pub fn set_search(&mut self, search: Option<String>) {
        self.search = search;
    }

    pub fn set_match_count(&mut self, count: Option<usize>) {
        self.match_count = count;
    }

    /// Lines the bar needs (the hint and the verdict take one more each).
    pub fn height(&self, session: &Session) -> u16 {
        2 + u16::from(session.hint().is_some()) + u16::from(session.verdict().is_some())
    }

    pub fn draw(
        &self,
        frame: &mut Frame<'_>,
        area: Rect,
        session: &Session,
        keymap: &Keymap,
        theme: &Theme,
    ) {
        let width = area.width as usize;
        let mut lines = Vec::new();
        if let Some(hint) = session.hint() {
            let hint = match keymap.first_key(&Action::ToggleSemantic) {
                Some(key) => format!("{hint} — press {key} for --semantic"),
                None => hint.to_owned(),
            };
            lines.push(Line::styled(
                format!(" {}", shorten_middle(&hint, width.saturating_sub(1))),
                theme.changed(),
            ));
        }
        if let Some(verdict) = session.verdict() {
            lines.push(Line::from(vec![
                Span::styled(" verdict: ", theme.heading()),
                Span::raw(escape_control(verdict).into_owned()),
            ]));
        }
        lines.push(progress_line(session, theme));
        lines.push(self.second_line(session, keymap, theme, width));
        // A line too long for the terminal ends with `›`, never silently.
        let lines: Vec<Line<'static>> = lines.iter().map(|l| window(l, 0, 0, width)).collect();
        frame.render_widget(Paragraph::new(lines), area);
    }

    fn second_line(
        &self,
        session: &Session,
        keymap: &Keymap,
        theme: &Theme,
        width: usize,
    ) -> Line<'static> {
        match &self.prompt {
            Some(Prompt::Search { text, .. }) => {
                let count = match self.match_count {
                    None => String::new(),
                    Some(0) => "  not found".into(),
                    Some(n) => format!("  {n} match(es)"),
                };
                return Line::from(vec![
                    Span::raw(format!(" /{}▏", escape_control(text))),
                    Span::styled(count, theme.dim()),
                    Span::styled("  (Enter keeps, Esc goes back)", theme.dim()),
                ]);
            }
            Some(Prompt::TreeFilter(text)) => {
                let listed = session.listed_counts().total();
                return Line::from(vec![
                    Span::raw(format!(" list only paths with: {}▏", escape_control(text))),
                    Span::styled(
                        format!("  {listed} row(s) listed  (Enter keeps, Esc clears)"),
                        theme.dim(),
                    ),
                ]);
            }
            Some(Prompt::Export(text)) => {
                return Line::from(format!(
                    " export the selected subtree to: {}▏  (Enter, Esc)",
                    escape_control(text)
                ));
            }
            Some(Prompt::ConfirmOverwrite { dir, .. }) => {
                return Line::styled(
                    format!(
                        " {} is not empty: write into it, replacing a previous report there? (y/N)",
                        escape_control(&dir.display().to_string())
                    ),
                    theme.changed(),
                );
            }
            None => {}
        }
        if let Some(message) = &self.message {
            let text = shorten_middle(&escape_control(&message.text), width.saturating_sub(1));
            return Line::styled(format!(" {text}"), theme.heading());
        }
        filters_line(session, keymap, theme)
    }
}

/// Progress (layers as the tree shows them), the listed count and what the status keys hide, the
/// view, the status keys.
fn progress_line(session: &Session, theme: &Theme) -> Line<'static> {
    let report = session.report();
    let p = report.progress;
    let mb = |b: u64| b as f64 / 1e6;
    let reading = if report.finished {
        "done".to_owned()
    } else if p.layers_total == 0 {
        "reading structure…".to_owned()
    } else {
        let (done, total) = session.layer_progress();
        let rate = mb(p.bytes_done) / session.started().elapsed().as_secs_f64().max(0.001);
        format!(
            "reading layers {done}/{total}  {:.1}/{:.1} MB  {rate:.0} MB/s",
            mb(p.bytes_done),
            mb(p.bytes_total)
        )
    };
    let listed = session.listed_counts();
    let shown = session.shown_counts();
    let toggles = session.toggles();
    let mut hidden: Vec<String> = Vec::new();
    for (key, statuses, on) in [
        ('A', &[Status::Added][..], toggles.added),
        ('R', &[Status::Removed][..], toggles.removed),
        (
            'M',
            &[Status::Modified, Status::TypeChanged][..],
            toggles.modified,
        ),
    ] {
        let count: usize = statuses.iter().map(|s| shown.get(*s)).sum();
        if !on && count > 0 {
            hidden.push(format!("{key} hides {count}"));
        }
    }
    if session.tree_filter().is_some() {
        hidden.push("tree filtered".into());
    }
    if toggles.unexplained_only {
        hidden.push("u: unexplained only".into());
    }
    let hidden = if hidden.is_empty() {
        String::new()
    } else {
        format!(" ({})", hidden.join(", "))
    };
    let errors = report.errors.len();
    let mut spans = vec![
        Span::styled(format!(" {reading} "), theme.heading()),
        Span::raw(format!(
            "│ {}{hidden} │ view: {} │ ",
            rows_differ(listed.total()),
            view_words(session.view())
        )),
    ];
    // The status keys with the marker each lists: bold when listed, dim when hidden.
    for (key, status, on) in [
        ('A', Status::Added, toggles.added),
        ('R', Status::Removed, toggles.removed),
        ('M', Status::Modified, toggles.modified),
        ('U', Status::Unchanged, toggles.unchanged),
    ] {
        let style = if on { theme.heading() } else { theme.dim() };
        spans.push(Span::styled(
            format!("{key}{} ", status_words(status).marker),
            style,
        ));
    }
    if errors > 0 {
        let first = report
            .errors
            .first()
            .map(|e| escape_control(e).into_owned())
            .unwrap_or_default();
        spans.push(Span::styled(
            format!("│ {errors} error(s): {first}"),
            theme.error(),
        ));
    }
    Line::from(spans)
}

/// The rows `]` visits: "rows", not "differences", since the verdict counts differences otherwise
/// (the members of a file count with it, digest rows not at all).
fn rows_differ(n: usize) -> String {
    match n {
        1 => "1 row differs".into(),
        n => format!("{n} rows differ"),
    }
}

/// The active filters by name, with what each hides; ignored paths; the keys for help.
fn filters_line(session: &Session, keymap: &Keymap, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" filters: ")];
    let active = session.filter().options();
    let hidden = session.hidden_by_option();
    if active.is_empty() {
        spans.push(Span::styled("none (strict) ", theme.dim()));
    }
    let semantic = IgnoreOption::SEMANTIC.iter().all(|o| active.contains(o));
    if semantic {
        spans.push(Span::styled("--semantic ", theme.changed()));
    }
    let pending = session.counts_pending();
    let mut quiet = 0;
    for option in IgnoreOption::ALL.iter().filter(|o| active.contains(o)) {
        let count = hidden.get(option).copied().unwrap_or(0);
        let in_semantic = semantic && IgnoreOption::SEMANTIC.contains(option);
        // Under --semantic, its options are named when they hide something (once counted).
        if in_semantic && (pending || count == 0) {
            quiet += usize::from(!pending);
            continue;
        }
        let what = if pending {
            String::new()
        } else {
            format!(" −{count}")
        };
        spans.push(Span::styled(
            format!(
                "[{}]{}{what} ",
                keymap.option_key(*option),
                option_words(*option)
            ),
            theme.changed(),
        ));
    }
    if pending {
        spans.push(Span::styled("(counting what each hides…) ", theme.dim()));
    }
    if quiet > 0 {
        spans.push(Span::styled(
            format!("({quiet} more hide nothing) "),
            theme.dim(),
        ));
    }
    let patterns = session.filter().patterns().len();
    if patterns > 0 {
        spans.push(Span::raw(format!(
            "│ {patterns} ignored path(s) −{} ",
            session.hidden_by_paths()
        )));
    }
    let hints: Vec<String> = [
        (Action::ToggleHelp, "help"),
        (Action::ShowLegend, "legend"),
        (Action::Quit, "quit"),
    ]
    .iter()
    .filter_map(|(action, what)| Some(format!("{} {what}", keymap.first_key(action)?)))
    .collect();
    spans.push(Span::styled(format!("│ {}", hints.join("  ")), theme.dim()));
    Line::from(spans)
}

//! The help overlay: every key binding (from the same table the key handling uses) and the legend of
//! markers and badges (from the same tables the rows use). Two columns where they fit (keys; legend
//! and ignore options), one otherwise; it scrolls when it does not fit, and says so.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::tui::app::Action;
use crate::tui::fit::{shorten_middle, window};
use crate::tui::keys::Keymap;
use crate::tui::labels::{BADGES, EXPLANATION_BADGES, STATUSES};
use crate::tui::theme::Theme;

/// Columns of one help column.
const COLUMN: usize = 38;

#[derive(Debug, Default)]
pub struct Help {
    open: bool,
    /// Where the legend starts is shown first (`b`), or the keys (`?`).
    legend: bool,
    scroll: usize,
}

impl Help {
    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn open_at_keys(&mut self) {
        *self = Help {
            open: true,
            legend: false,
            scroll: 0,
        };
    }

    pub fn open_at_legend(&mut self) {
        *self = Help {
            open: true,
            legend: true,
            scroll: 0,
        };
    }

    /// `?` while open: closes it, or goes to the keys if the legend was shown.
    pub fn toggle_keys(&mut self) {
        if self.legend {
            self.open_at_keys();
        } else {
            self.close();
        }
    }

    pub fn toggle_legend(&mut self) {
        if self.legend {
            self.close();
        } else {
            self.open_at_legend();
        }
    }

    pub fn close(&mut self) {
        self.open = false;
    }

    pub fn scroll_by(&mut self, lines: isize) {
        self.scroll = self.scroll.saturating_add_signed(lines);
    }

    pub fn draw(&mut self, frame: &mut Frame<'_>, area: Rect, keymap: &Keymap, theme: &Theme) {
        let two_columns = area.width as usize >= 2 * COLUMN + 2;
        let (left, right) = if self.legend {
            (
                legend(theme),
                [explanations(theme), options(keymap, theme)].concat(),
            )
        } else {
            (
                keys(keymap, theme),
                [
                    legend(theme),
                    options(keymap, theme),
                    vec![Line::raw("")],
                    explanations(theme),
                ]
                .concat(),
            )
        };
        let columns: Vec<Vec<Line<'static>>> = if two_columns {
            vec![left, right]
        } else {
            vec![[left, right].concat()]
        };
        let content_height = columns.iter().map(Vec::len).max().unwrap_or(0);
        let height = (content_height as u16 + 2).min(area.height);
        // Centred with a margin, or the whole width (a one-column sliver beside it reads as a
        // broken frame).
        let wanted = 2 * COLUMN as u16 + 3;
        let width = if two_columns && area.width >= wanted + 4 {
            wanted
        } else {
            area.width
        };
        let [_, middle, _] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(height),
            Constraint::Fill(1),
        ])
        .areas(area);
        let [_, popup, _] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Length(width),
            Constraint::Fill(1),
        ])
        .areas(middle);
        let rows = popup.height.saturating_sub(2) as usize;
        self.scroll = self.scroll.min(content_height.saturating_sub(rows));
        let more_below = self.scroll + rows < content_height;
        let keys = |action| keymap.keys_of(&action).replace(' ', "/");
        let more = match (self.scroll > 0, more_below) {
            (_, true) => format!(" ↓ more: {} ", keys(Action::Down)),
            (true, false) => format!(" ↑ more: {} ", keys(Action::Up)),
            (false, false) => String::new(),
        };
        let inner_width = popup.width.saturating_sub(2) as usize;
        let (switch_key, other) = if self.legend {
            (keymap.first_key(&Action::ToggleHelp), "keys")
        } else {
            (keymap.first_key(&Action::ShowLegend), "legend")
        };
        let here = if self.legend { "legend" } else { "keys" };
        let switch = switch_key.map_or(String::new(), |key| format!("{key} {other}, "));
        let title = shorten_middle(
            &format!(" {here} ({switch}any other key closes) "),
            inner_width,
        );
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(title)
            .title_bottom(Line::from(more).right_aligned())
            .border_style(theme.border(true));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let areas: Vec<Rect> = if columns.len() == 2 {
            Layout::horizontal([Constraint::Length(COLUMN as u16 + 1), Constraint::Fill(1)])
                .split(inner)
                .to_vec()
        } else {
            vec![inner]
        };
        for (lines, area) in columns.into_iter().zip(areas) {
            let shown: Vec<Line<'static>> = lines
                .into_iter()
                .skip(self.scroll)
                .take(rows)
                .map(|l| window(&l, 0, 0, area.width as usize))
                .collect();
            frame.render_widget(Paragraph::new(shown), area);
        }
    }
}

fn heading(text: &str, theme: &Theme) -> Line<'static> {
    Line::styled(format!(" {text}"), theme.heading())
}

fn keys(keymap: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![heading("Keys", theme)];
    lines.extend(
        keymap
            .help_rows()
            .into_iter()
            .filter(|row| !row.toggles_an_option)
            .map(|row| Line::from(format!(" {:<12} {}", row.keys, row.what))),
    );
    lines
}

fn options(keymap: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::raw(""),
        heading("Ignore options (one key each)", theme),
    ];
    lines.extend(
        keymap
            .help_rows()
            .into_iter()
            .filter(|row| row.toggles_an_option)
            .map(|row| Line::from(format!(" {} {}", row.keys, row.what))),
    );
    lines
}

/// Markers and badges, from the tables the rows are drawn with.
fn legend(theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![heading("Markers (a row's status)", theme)];
    for status in &STATUSES {
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", status.marker), theme.status(status.status)),
            Span::raw(format!("{}: {}", status.name, status.meaning)),
        ]));
    }
    lines.push(Line::raw(" (N) differences listed inside"));
    lines.push(Line::raw(""));
    lines.push(heading("Badges [..] (what differs)", theme));
    for badge in &BADGES {
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", badge.letter), theme.badge()),
            Span::raw(badge.meaning),
        ]));
    }
    lines
}

/// The words after a row that say how its difference is explained.
fn explanations(theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![heading("After a row (why it differs)", theme)];
    for badge in EXPLANATION_BADGES {
        let style = if badge.alert {
            theme.error()
        } else {
            theme.badge()
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<7}", badge.text), style),
            Span::raw(badge.meaning),
        ]));
    }
    lines.push(Line::raw(" none    unexplained (u: only those)"));
    lines
}

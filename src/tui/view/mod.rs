//! Drawing the explorer: a tree pane, a detail pane, the status bar and the help overlay, each with
//! its own state (in its module); [`Layout`] is where the panes go.

pub mod detail;
pub mod help;
pub mod status;
pub mod tree_pane;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};

use super::app::{App, Focus};
use super::content::ContentLoader;
use super::theme::Theme;

/// Where the panes went in the last frame (for the mouse).
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub tree: Rect,
    pub detail: Rect,
}

impl Areas {
    /// The column of the border between the panes a drag can move (the tree's right edge).
    pub fn split_column(&self) -> Option<u16> {
        (self.tree.width > 0).then(|| self.tree.x + self.tree.width - 1)
    }
}

/// The split between the panes, the zoom, the focus.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layout {
    pub focus: Focus,
    /// The tree's share of the width in percent; by default 45 below 100 columns, else 40.
    tree_percent: Option<u16>,
    /// The detail pane takes the whole width (lazydocker's expand).
    zoom: bool,
    /// The width the panes shared in the last frame (for a drag).
    width: u16,
}

/// Percent one `{` or `}` moves the split.
const SPLIT_STEP: i16 = 5;
const MIN_PERCENT: u16 = 10;
const MAX_PERCENT: u16 = 90;

impl Layout {
    pub fn zoomed(&self) -> bool {
        self.zoom
    }

    pub fn tree_percent(&self) -> u16 {
        self.tree_percent
            .unwrap_or(if self.width < 100 { 45 } else { 40 })
    }

    pub fn switch_focus(&mut self) {
        self.focus = match self.focus {
            Focus::Tree => Focus::Detail,
            Focus::Detail => Focus::Tree,
        };
    }

    pub fn toggle_zoom(&mut self) {
        self.zoom = !self.zoom;
    }

    pub fn move_split(&mut self, steps: i16) {
        self.zoom = false;
        let percent = self.tree_percent() as i16 + steps * SPLIT_STEP;
        self.tree_percent = Some((percent.max(0) as u16).clamp(MIN_PERCENT, MAX_PERCENT));
    }

    /// The border dragged to `column`: the tree ends there.
    pub fn drag_split(&mut self, column: u16) {
        if self.width == 0 {
            return;
        }
        self.zoom = false;
        let percent = (u32::from(column) + 1) * 100 / u32::from(self.width);
        self.tree_percent = Some((percent as u16).clamp(MIN_PERCENT, MAX_PERCENT));
    }
}

pub fn draw(frame: &mut Frame<'_>, app: &mut App, content: &ContentLoader, theme: &Theme) -> Areas {
    let bar_height = app.bar.height(&app.session);
    let [main, status_area] =
        ratatui::layout::Layout::vertical([Constraint::Fill(1), Constraint::Length(bar_height)])
            .areas(frame.area());
    app.layout.width = main.width;
    let (tree, detail) = if app.layout.zoomed() {
        (Rect { width: 0, ..main }, main)
    } else {
        let [tree, detail] = ratatui::layout::Layout::horizontal([
            Constraint::Percentage(app.layout.tree_percent()),
            Constraint::Fill(1),
        ])
        .areas(main);
        (tree, detail)
    };
    let prompt_open = app.bar.prompt().is_some();
    if tree.width > 0 {
        let focused = app.layout.focus == Focus::Tree && !prompt_open;
        app.tree.draw(frame, tree, &app.session, focused, theme);
    } else {
        // Zoomed: the tree still moves with the keys, a page being the pane's height.
        app.tree.set_height(main.height.saturating_sub(2) as usize);
    }
    let focused = app.layout.focus == Focus::Detail && !prompt_open;
    let shown = detail::Shown {
        session: &app.session,
        selected: app.tree.selected_node(),
        content,
    };
    app.detail.draw(frame, detail, &shown, focused, theme);
    app.bar
        .draw(frame, status_area, &app.session, &app.keys, theme);
    if app.help.is_open() {
        app.help.draw(frame, frame.area(), &app.keys, theme);
    }
    Areas { tree, detail }
}

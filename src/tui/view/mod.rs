//! Drawing the explorer: a tree pane, a detail pane, a two-line status bar and the help overlay.

mod detail;
mod help;
mod status;
mod tree_pane;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::app::App;
use super::content::ContentLoader;
use super::theme::Theme;

/// Where the panes went in the last frame (for mouse clicks).
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub tree: Rect,
    pub detail: Rect,
}

pub fn draw(frame: &mut Frame<'_>, app: &mut App, content: &ContentLoader, theme: &Theme) -> Areas {
    let [main, status_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(frame.area());
    let tree_share = if main.width < 100 { 45 } else { 40 };
    let [tree, detail] =
        Layout::horizontal([Constraint::Percentage(tree_share), Constraint::Fill(1)]).areas(main);
    tree_pane::draw(frame, tree, app, theme);
    detail::draw(frame, detail, app, content, theme);
    status::draw(frame, status_area, app, theme);
    if app.help {
        help::draw(frame, frame.area(), theme);
    }
    Areas { tree, detail }
}

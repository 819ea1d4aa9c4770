//! The help overlay: every key binding, from the same table the key handling uses. Two columns
//! (moving around, then the ignore options) so it fits an 80x24 terminal.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::tui::keys::BINDINGS;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let column = |options: bool, key_width: usize| -> Vec<Line<'static>> {
        BINDINGS
            .iter()
            .filter(|b| !b.keys.is_empty() && b.toggles_an_option() == options)
            .map(|b| Line::from(format!(" {:<key_width$} {}", b.keys, b.what)))
            .collect()
    };
    let (left, right) = (column(false, 12), column(true, 1));
    let height = (left.len().max(right.len()) as u16 + 2).min(area.height);
    let width = 80.min(area.width);
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
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(" keys (any key closes) ")
        .border_style(theme.border(true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [first, second] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(38)]).areas(inner);
    frame.render_widget(Paragraph::new(left), first);
    frame.render_widget(Paragraph::new(right), second);
}

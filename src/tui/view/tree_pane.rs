//! The tree pane: only the rows on screen are turned into text, whatever the tree's size.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::model::{ContextKind, escape_control};
use crate::report::human_size;
use crate::tui::app::{App, Focus};
use crate::tui::theme::Theme;
use crate::tui::tree::{NodeKind, Row, Status, badges, size_change};

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &mut App, theme: &Theme) {
    let focused = app.focus == Focus::Tree && app.prompt.is_none();
    let title = format!(
        " {} ↔ {} ",
        escape_control(&app.specs[0]),
        escape_control(&app.specs[1])
    );
    let block = Block::bordered()
        .title(title)
        .border_style(theme.border(focused));
    let inner = block.inner(area);
    app.tree_height = inner.height as usize;
    // Keep the selection on screen after a resize.
    if app.selected_row >= app.tree_offset + app.tree_height.max(1) {
        app.tree_offset = app.selected_row + 1 - app.tree_height.max(1);
    }
    let end = (app.tree_offset + inner.height as usize).min(app.rows.len());
    let lines: Vec<Line<'static>> = app.rows[app.tree_offset.min(end)..end]
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let selected = app.tree_offset + i == app.selected_row;
            let line = row_line(app, row, theme, inner.width as usize);
            if selected {
                line.patch_style(theme.selected(focused))
            } else {
                line
            }
        })
        .collect();
    let text = if app.rows.is_empty() {
        vec![Line::styled("reading…", theme.dim())]
    } else {
        lines
    };
    frame.render_widget(Paragraph::new(text).block(block), area);
}

fn row_line(app: &App, row: &Row, theme: &Theme, width: usize) -> Line<'static> {
    let node = app.tree.node(row.node);
    let indent = "  ".repeat(row.depth as usize);
    let expander = match (row.has_children, row.expanded) {
        (true, true) => "▾ ",
        (true, false) => "▸ ",
        _ => "  ",
    };
    let mut spans = vec![Span::raw(format!("{indent}{expander}"))];
    match &node.kind {
        NodeKind::Context(id) => {
            let label = escape_control(&node.name).into_owned();
            spans.push(Span::styled(label, theme.context()));
            if let Some(note) = context_note(app, *id) {
                spans.push(Span::styled(format!("  {note}"), theme.dim()));
            }
        }
        _ => {
            let difference = app
                .tree
                .difference_of(row.node)
                .and_then(|i| Some((i, app.report.differences.get(i)?)));
            let status = difference
                .map(|(i, d)| Status::of(d, app.shown.get(i).copied().unwrap_or(false)))
                .unwrap_or(Status::Unchanged);
            let marker = match (difference.is_some(), status) {
                (false, _) => ' ',
                (_, Status::Added) => '+',
                (_, Status::Removed) => '-',
                (_, Status::TypeChanged) => 'T',
                (_, Status::Modified) => '~',
                (_, Status::Unchanged) => '=',
            };
            let dir = matches!(node.kind, NodeKind::Dir { .. });
            let name = format!(
                "{marker} {}{}",
                escape_control(&node.name),
                if dir { "/" } else { "" }
            );
            spans.push(Span::styled(
                name,
                if difference.is_some() {
                    theme.status(status)
                } else {
                    theme.heading()
                },
            ));
            if let Some((i, d)) = difference.filter(|_| status != Status::Unchanged) {
                let shown: Vec<&crate::model::Delta> = if app.shown.get(i).copied().unwrap_or(false)
                {
                    d.deltas
                        .iter()
                        .filter(|x| !app.filter.ignored_aspects().contains(x.aspect))
                        .collect()
                } else {
                    Vec::new()
                };
                let badges = badges(&shown, d);
                if !badges.is_empty() {
                    spans.push(Span::styled(format!(" [{badges}]"), theme.badge()));
                }
                if let Some(change) = size_change(d).filter(|c| *c != 0) {
                    spans.push(Span::styled(format!(" {change:+}B"), theme.dim()));
                }
            }
        }
    }
    truncate(Line::from(spans), width)
}

/// A short note next to a context: how a layer pair was proven equal, or its sizes.
fn context_note(app: &App, id: crate::model::ContextId) -> Option<String> {
    if let Some(proof) = app.report.layer_proof(id) {
        return Some(proof.description().to_owned());
    }
    let context = app.report.context(id)?;
    match &context.kind {
        ContextKind::Layer { .. } => {
            let sizes = context
                .descriptors
                .as_ref()
                .map(|d| d.as_ref().map(|d| d.size));
            let size = |s: Option<u64>| s.map_or("-".to_owned(), human_size);
            Some(format!("{} / {}", size(sizes.input0), size(sizes.input1)))
        }
        _ => None,
    }
}

/// Cuts a line to the pane's width (by characters; names are escaped, so no control codes remain).
fn truncate(line: Line<'static>, width: usize) -> Line<'static> {
    let mut left = width;
    let spans = line
        .spans
        .into_iter()
        .filter_map(|span| {
            if left == 0 {
                return None;
            }
            let count = span.content.chars().count();
            if count <= left {
                left -= count;
                return Some(span);
            }
            let cut: String = span.content.chars().take(left).collect();
            left = 0;
            Some(Span::styled(cut, span.style))
        })
        .collect::<Vec<_>>();
    Line::from(spans)
}

//! The tree pane: its state (rows, selection, scroll, open nodes) and its drawing. Only the rows on
//! screen are turned into text, whatever the tree's size.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::model::DiffKind;
use crate::model::escape_control;
use crate::tui::labels::{
    PackageChange, badges, context_name, context_note, explanation_badges, property_label,
    row_marker,
};
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::tree::{Expansion, NodeId, NodeKey, NodeKind, Row, Status, size_change};

use crate::tui::fit::{ELLIPSIS, shorten_end, shorten_middle, width};

/// What the tree pane shows and where its selection is.
#[derive(Debug)]
pub struct TreePane {
    rows: Vec<Row>,
    /// The selected node, kept by key so it survives re-filtering and rebuilds.
    selected: Option<NodeKey>,
    selected_row: usize,
    /// First row drawn.
    offset: usize,
    /// Rows the pane showed in the last frame.
    height: usize,
    expansion: Expansion,
    /// Only what is open changed: the rows must be redone, not the listing.
    rows_stale: bool,
}

impl Default for TreePane {
    fn default() -> Self {
        TreePane {
            rows: Vec::new(),
            selected: None,
            selected_row: 0,
            offset: 0,
            height: 20,
            expansion: Expansion::default(),
            rows_stale: true,
        }
    }
}

impl TreePane {
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn selected_row(&self) -> usize {
        self.selected_row
    }

    pub fn selected_key(&self) -> Option<&NodeKey> {
        self.selected.as_ref()
    }

    pub fn selected_node(&self) -> Option<NodeId> {
        self.rows.get(self.selected_row).map(|r| r.node)
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn height(&self) -> usize {
        self.height.max(1)
    }

    pub fn expansion(&self) -> &Expansion {
        &self.expansion
    }

    pub fn rows_stale(&self) -> bool {
        self.rows_stale
    }

    pub fn mark_rows_stale(&mut self) {
        self.rows_stale = true;
    }

    /// Opens or closes a node.
    pub fn set_expanded(&mut self, session: &Session, id: NodeId, open: bool) {
        self.expansion.set(session.tree(), id, open);
        self.rows_stale = true;
    }

    /// Replaces the open nodes (an incremental search puts back what it opened).
    pub fn set_expansion(&mut self, expansion: Expansion) {
        self.expansion = expansion;
        self.rows_stale = true;
    }

    /// Redoes the rows from the session's listing; the selection stays on its node if it is still
    /// listed, at the same place on screen (rows arriving above it do not move it), else on the row
    /// at the same place.
    pub fn rebuild(&mut self, session: &Session) {
        self.rows = session.tree().rows(session.listing(), &self.expansion);
        self.rows_stale = false;
        let found = self
            .selected
            .as_ref()
            .and_then(|key| session.tree().find(key))
            .and_then(|id| self.rows.iter().position(|r| r.node == id));
        if let Some(row) = found {
            let on_screen = self.selected_row.saturating_sub(self.offset);
            self.offset = row.saturating_sub(on_screen);
        }
        let row = found.unwrap_or(self.selected_row);
        self.select_row(session, row);
    }

    /// The row of a node, if it is drawn.
    pub fn row_of(&self, id: NodeId) -> Option<usize> {
        self.rows.iter().position(|r| r.node == id)
    }

    pub fn select_row(&mut self, session: &Session, row: usize) {
        if self.rows.is_empty() {
            self.selected_row = 0;
            self.offset = 0;
            return;
        }
        let row = row.min(self.rows.len() - 1);
        self.selected_row = row;
        self.selected = Some(session.tree().key(self.rows[row].node));
        self.scroll_to_selection();
    }

    /// Selects a node by key once its row exists (the next rebuild puts it there).
    pub fn want(&mut self, key: NodeKey) {
        self.selected = Some(key);
    }

    /// Keeps the selection on screen and the screen full: after a resize from small to large the
    /// list never starts mid-way with empty rows below.
    fn scroll_to_selection(&mut self) {
        let height = self.height();
        let last_start = self.rows.len().saturating_sub(height);
        self.offset = self.offset.min(last_start);
        if self.selected_row < self.offset {
            self.offset = self.selected_row;
        } else if self.selected_row >= self.offset + height {
            self.offset = self.selected_row + 1 - height;
        }
    }

    /// The pane's height changed (a resize, the status bar grew).
    pub fn set_height(&mut self, height: usize) {
        self.height = height;
        self.scroll_to_selection();
    }

    pub fn draw(
        &mut self,
        frame: &mut Frame<'_>,
        area: Rect,
        session: &Session,
        focused: bool,
        theme: &Theme,
    ) {
        let block = Block::bordered()
            .title(self.title(session, area.width.saturating_sub(4) as usize))
            .border_style(theme.border(focused));
        let inner = block.inner(area);
        self.set_height(inner.height as usize);
        let end = (self.offset + inner.height as usize).min(self.rows.len());
        let lines: Vec<Line<'static>> = self.rows[self.offset.min(end)..end]
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let line = row_line(session, row, theme, inner.width as usize);
                if self.offset + i == self.selected_row {
                    line.patch_style(theme.selected(focused))
                } else {
                    line
                }
            })
            .collect();
        let text = if self.rows.is_empty() {
            vec![Line::styled(
                if session.report().finished {
                    "nothing listed"
                } else {
                    "reading…"
                },
                theme.dim(),
            )]
        } else {
            lines
        };
        frame.render_widget(Paragraph::new(text).block(block), area);
    }

    /// `a ↔ b`, each shortened in the middle to half the room; the tree filter if one is set.
    fn title(&self, session: &Session, room: usize) -> String {
        let filter = session
            .tree_filter()
            .map(|f| format!(" │ paths with {}", escape_control(f)))
            .unwrap_or_default();
        let room = room.saturating_sub(width(&filter) + 5);
        let [a, b] = session.specs();
        let (a, b) = (escape_control(a), escape_control(b));
        let (wa, wb) = (width(&a), width(&b));
        let (ra, rb) = if wa + wb <= room {
            (wa, wb)
        } else if wa <= room / 2 {
            (wa, room - wa)
        } else if wb <= room / 2 {
            (room - wb, wb)
        } else {
            (room / 2, room - room / 2)
        };
        format!(
            " {} ↔ {}{filter} ",
            shorten_middle(&a, ra),
            shorten_middle(&b, rb)
        )
    }
}

/// One row: indent, open/closed sign, marker, name, count of listed differences inside, badges and
/// size change (entries), note (contexts).
fn row_line(session: &Session, row: &Row, theme: &Theme, width_available: usize) -> Line<'static> {
    let tree = session.tree();
    let report = session.report();
    let node = tree.node(row.node);
    let indent = "  ".repeat(row.depth as usize);
    let expander = match (row.has_children, row.expanded) {
        (true, true) => "▾ ",
        (true, false) => "▸ ",
        _ => "  ",
    };
    let own = tree
        .difference_of(row.node)
        .and_then(|i| Some((i, report.differences.get(i)?)));
    let status = own.map(|(i, d)| Status::of(d, session.is_shown(i)));
    let counts = session.listing().counts(row.node);
    let marker = row_marker(status, counts);
    let marker_style = match marker {
        Some(_) if own.is_some() && status != Some(Status::Unchanged) => {
            theme.status(status.unwrap_or(Status::Modified))
        }
        Some(_) if counts.total() > 0 => theme.status(counts.single().unwrap_or(Status::Modified)),
        _ => theme.dim(),
    };
    let mut head = vec![Span::raw(format!("{indent}{expander}"))];
    head.push(Span::styled(
        format!("{} ", marker.unwrap_or(' ')),
        marker_style,
    ));
    // What follows the name: the count and badges are kept; notes give way first.
    let mut tail: Vec<Span<'static>> = Vec::new();
    let mut note: Option<Span<'static>> = None;
    // The count says what is inside: a directory with nothing listed below it has none.
    let own_counted = usize::from(session.listing().is_own(row.node));
    // A file whose inside was compared holds its members like a directory.
    let is_container =
        matches!(node.kind, NodeKind::Context(_) | NodeKind::Dir { .. }) || row.has_children;
    if is_container && counts.total() > own_counted {
        tail.push(Span::styled(format!(" ({})", counts.total()), theme.dim()));
    }
    let (name, name_style) = match &node.kind {
        NodeKind::Context(id) => {
            let context = report.context(*id);
            let text = match report.layer_proof(*id) {
                Some(proof) => Some(proof.description().to_owned()),
                None => context.and_then(context_note),
            };
            note = text.map(|t| Span::styled(format!("  {t}"), theme.dim()));
            let name = context.map_or_else(|| tree.name(node).to_owned(), context_name);
            (escape_control(&name).into_owned(), theme.context())
        }
        NodeKind::Property {
            kind: DiffKind::Pkg,
            ..
        } => {
            let style = theme.status(status.unwrap_or(Status::Unchanged));
            match own {
                Some((_, d)) => {
                    let change = PackageChange::of(d);
                    note = Some(Span::styled(
                        format!(
                            "  {} · {}",
                            change.change,
                            escape_control(&change.ecosystem)
                        ),
                        theme.dim(),
                    ));
                    (escape_control(&change.row()).into_owned(), style)
                }
                None => (escape_control(tree.name(node)).into_owned(), style),
            }
        }
        NodeKind::Property { kind, .. } => {
            if let Some((index, d)) = own {
                let shown = session.shown_deltas(index, d);
                if let Some(first) = shown.first() {
                    let more = if shown.len() > 1 {
                        format!(" +{}", shown.len() - 1)
                    } else {
                        String::new()
                    };
                    note = Some(Span::styled(
                        format!("  {}{more}", escape_control(&first.field)),
                        theme.dim(),
                    ));
                }
            }
            (
                property_label(*kind, &escape_control(tree.name(node))),
                theme.status(status.unwrap_or(Status::Unchanged)),
            )
        }
        NodeKind::Dir { .. } | NodeKind::Entry { .. } => {
            if let Some((index, d)) = own.filter(|_| status.is_some_and(|s| s != Status::Unchanged))
            {
                let shown = session.shown_deltas(index, d);
                let badges = badges(&shown, d);
                if !badges.is_empty() {
                    tail.push(Span::styled(format!(" [{badges}]"), theme.badge()));
                }
                for badge in explanation_badges(&shown, d) {
                    let style = if badge.alert {
                        theme.error().add_modifier(Modifier::REVERSED)
                    } else {
                        theme.badge()
                    };
                    tail.push(Span::raw(" "));
                    tail.push(Span::styled(badge.text, style));
                }
                if let Some(change) = size_change(d).filter(|c| *c != 0) {
                    tail.push(Span::styled(format!(" {change:+}B"), theme.dim()));
                }
            }
            let slash = if matches!(node.kind, NodeKind::Dir { .. }) {
                "/"
            } else {
                ""
            };
            let style = match (own.is_some(), status) {
                (true, Some(s)) => theme.status(s),
                _ => theme.heading(),
            };
            (format!("{}{slash}", escape_control(tree.name(node))), style)
        }
    };
    let used: usize = head.iter().chain(&tail).map(|s| s.width()).sum();
    let room = width_available.saturating_sub(used);
    let note_width = note.as_ref().map_or(0, |n| n.width());
    if width(&name) + note_width > room {
        // A note is cut at the end, the name in the middle (down to a few columns).
        if width(&name) + 3 <= room {
            note = note.map(|n| {
                let keep = room - width(&name);
                Span::styled(shorten_end(&n.content, keep), n.style)
            });
        } else {
            note = None;
        }
    }
    let name = shorten_middle(&name, room.max(8.min(width(&name))));
    head.push(Span::styled(name, name_style));
    head.extend(tail);
    head.extend(note);
    cut(Line::from(head), width_available)
}

/// Cuts a line to the pane's width, marking the cut with `…`.
fn cut(line: Line<'static>, width_available: usize) -> Line<'static> {
    if line.width() <= width_available {
        return line;
    }
    let mut left = width_available.saturating_sub(1);
    let mut spans = Vec::new();
    for span in line.spans {
        if left == 0 {
            break;
        }
        let w = span.width();
        if w <= left {
            left -= w;
            spans.push(span);
            continue;
        }
        let mut text = String::new();
        for c in span.content.chars() {
            let cw = width(c.encode_utf8(&mut [0u8; 4]));
            if cw > left {
                break;
            }
            left -= cw;
            text.push(c);
        }
        spans.push(Span::styled(text, span.style));
        left = 0;
    }
    if width_available > 0 {
        spans.push(Span::raw(ELLIPSIS.to_string()));
    }
    Line::from(spans)
}

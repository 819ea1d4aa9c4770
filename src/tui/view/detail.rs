//! The detail pane: what the selection is and how its two sides differ.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use serde_json::Value;

use crate::model::{
    ContextId, ContextKind, Delta, DiffKind, Difference, EntryMeta, Sides, escape_control,
};
use crate::tui::app::{App, Focus};
use crate::tui::content::ContentLoader;
use crate::tui::theme::Theme;
use crate::tui::tree::{NodeId, NodeKind, Status};

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, content: &ContentLoader, theme: &Theme) {
    let focused = app.focus == Focus::Detail && app.prompt.is_none();
    let width = area.width.saturating_sub(2);
    let height = area.height.saturating_sub(2) as usize;
    let (title, lines, wrap) = match app.selected_node() {
        None => (" detail ".to_owned(), Vec::new(), false),
        Some(id) => {
            let node = app.tree.node(id);
            match &node.kind {
                NodeKind::Context(c) => {
                    let lines = context_lines(app, *c, id, theme);
                    (format!(" {} ", escape_control(&node.name)), lines, true)
                }
                _ => {
                    let path = app.tree.path_of(id);
                    let mut head = Vec::new();
                    let mut body: std::rc::Rc<[Line<'static>]> = std::rc::Rc::new([]);
                    if let Some((index, d)) = app.selected_difference() {
                        head = entry_lines(app, index, d, width, theme);
                        body = content.shared_lines(
                            index,
                            &path,
                            app.side_by_side,
                            width,
                            theme.plain,
                        );
                    }
                    if matches!(node.kind, NodeKind::Dir { .. }) {
                        head.push(status_line(app, id, theme));
                    }
                    let lines = window(head, &body, app.detail_scroll as usize, height);
                    (format!(" {} ", escape_control(&path)), lines, false)
                }
            }
        }
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme.border(focused));
    let paragraph = if wrap {
        let max_scroll = lines.len().saturating_sub(height) as u16;
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll.min(max_scroll), 0))
    } else {
        Paragraph::new(lines)
    };
    frame.render_widget(paragraph.block(block), area);
}

/// The `height` lines starting at `scroll` of `head` followed by `body`, copying only those: a large
/// text diff stays cached and is never copied whole per frame.
fn window(
    head: Vec<Line<'static>>,
    body: &[Line<'static>],
    scroll: usize,
    height: usize,
) -> Vec<Line<'static>> {
    let head_len = head.len();
    let scroll = scroll.min((head_len + body.len()).saturating_sub(height));
    let mut lines: Vec<Line<'static>> = head.into_iter().skip(scroll).take(height).collect();
    let rest = height - lines.len();
    lines.extend(
        body.iter()
            .skip(scroll.saturating_sub(head_len))
            .take(rest)
            .cloned(),
    );
    lines
}

/// A file difference: status, aspects, and a two-column table of the tar entries.
fn entry_lines(
    app: &App,
    index: usize,
    d: &Difference,
    width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let shown = app.shown.get(index).copied().unwrap_or(false);
    let status = Status::of(d, shown);
    let aspects: Vec<&str> = d.aspects().iter().map(|a| a.name()).collect();
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{status:?}"), theme.status(status)),
        Span::styled(
            if aspects.is_empty() {
                String::new()
            } else {
                format!("  ({})", aspects.join(", "))
            },
            theme.dim(),
        ),
    ])];
    if let Some(origin) = &d.origin {
        let layer = |o: Option<usize>| o.map_or("-".to_owned(), |l| format!("layer {l}"));
        lines.push(Line::styled(
            format!("from {} / {}", layer(origin.input0), layer(origin.input1)),
            theme.dim(),
        ));
    }
    let Some(entries) = &d.entries else {
        return lines;
    };
    let label_width = 12usize;
    let column = (width as usize).saturating_sub(label_width + 2) / 2;
    lines.push(Line::styled(
        format!("{:label_width$} {:column$} {}", "", "input 0", "input 1"),
        theme.heading(),
    ));
    let sides: &Sides<Option<EntryMeta>> = entries;
    for (label, fields, values) in entry_fields(sides.as_ref().map(|e| e.as_ref())) {
        let style = field_style(app, d, &fields, theme);
        let cell = |s: &str| fit(&escape_control(s), column);
        let mut line = Line::from(format!(
            "{label:label_width$} {:column$} {}",
            cell(&values.input0),
            cell(&values.input1)
        ));
        if let Some(style) = style {
            line = line.patch_style(style);
        }
        lines.push(line);
    }
    lines.push(Line::raw(""));
    lines
}

/// Differing and shown: highlighted; differing but hidden by a filter: dimmed.
fn field_style(app: &App, d: &Difference, fields: &[String], theme: &Theme) -> Option<Style> {
    let matching: Vec<&Delta> = d
        .deltas
        .iter()
        .filter(|x| fields.contains(&x.field))
        .collect();
    if matching.is_empty() {
        return None;
    }
    let shown = matching
        .iter()
        .any(|x| !app.filter.ignored_aspects().contains(x.aspect));
    Some(if shown { theme.changed() } else { theme.dim() })
}

type Field = (String, Vec<String>, Sides<String>);

fn entry_fields(entries: Sides<Option<&EntryMeta>>) -> Vec<Field> {
    let get = |f: &dyn Fn(&EntryMeta) -> String| {
        entries.as_ref().map(|e| e.map_or("missing".to_owned(), f))
    };
    let field = |label: &str, deltas: &[&str], f: &dyn Fn(&EntryMeta) -> String| -> Field {
        (
            label.to_owned(),
            deltas.iter().map(|s| (*s).to_owned()).collect(),
            get(f),
        )
    };
    let mut fields = vec![
        field("kind", &["kind", "presence"], &|e| {
            e.kind.label().to_owned()
        }),
        field("name", &["name"], &|e| e.name.clone()),
        field("link", &["link"], &|e| e.link.clone().unwrap_or_default()),
        field("size", &["size"], &|e| e.size.to_string()),
        field("content", &["content"], &|e| {
            e.content.as_ref().map_or(String::new(), |c| c.to_string())
        }),
        field("mode", &["mode", "mode-type-bits"], &|e| {
            format!("{:o}", e.mode)
        }),
        field("uid:gid", &["uid", "gid"], &|e| {
            format!("{}:{}", e.uid, e.gid)
        }),
        field("user:group", &["uname", "gname"], &|e| {
            format!("{}:{}", e.uname, e.gname)
        }),
        field("mtime", &["mtime"], &|e| e.mtime.rfc3339()),
        field("atime", &["atime"], &|e| {
            e.atime.map(|t| t.rfc3339()).unwrap_or_default()
        }),
        field("ctime", &["ctime"], &|e| {
            e.ctime.map(|t| t.rfc3339()).unwrap_or_default()
        }),
        field("device", &["device"], &|e| {
            e.device
                .map(|(a, b)| format!("{a}:{b}"))
                .unwrap_or_default()
        }),
        field("position", &["index"], &|e| e.index.to_string()),
        field("format", &["format"], &|e| {
            format!("{:?}", e.format).to_lowercase()
        }),
    ];
    let mut keys: BTreeMap<String, ()> = BTreeMap::new();
    for e in entries.iter().filter_map(|(_, e)| *e) {
        keys.extend(e.xattrs.keys().map(|k| (format!("xattr:{k}"), ())));
        keys.extend(e.pax.keys().map(|k| (format!("pax:{k}"), ())));
    }
    for key in keys.into_keys() {
        let value = |e: &EntryMeta| {
            let (map, name) = match key.split_once(':') {
                Some(("xattr", k)) => (&e.xattrs, k),
                Some((_, k)) => (&e.pax, k),
                None => (&e.pax, key.as_str()),
            };
            map.get(name).cloned().unwrap_or_default()
        };
        fields.push((key.clone(), vec![key.clone()], get(&value)));
    }
    // Rows that are empty on both sides say nothing.
    fields.retain(|(_, _, v)| !(v.input0.is_empty() && v.input1.is_empty()));
    fields
}

/// A context: its descriptors, what was read, and its non-file differences field by field.
fn context_lines(app: &App, id: ContextId, node: NodeId, theme: &Theme) -> Vec<Line<'static>> {
    let Some(context) = app.report.context(id) else {
        return Vec::new();
    };
    let mut lines = vec![Line::styled(
        format!("context {}", escape_control(&context.path)),
        theme.dim(),
    )];
    for (side, desc) in context.descriptors.iter() {
        if let Some(desc) = desc {
            lines.push(Line::from(format!(
                "input {}: {}  {}  {} bytes",
                side.index(),
                escape_control(&desc.media_type),
                desc.digest,
                desc.size
            )));
        }
    }
    if let Some(proof) = app.report.layer_proof(id) {
        lines.push(Line::styled(proof.description(), theme.dim()));
    }
    if let Some((_, counts)) = app.report.layer_entries.iter().find(|(c, _)| *c == id) {
        let n = |c: Option<usize>| c.map_or("-".into(), |c| c.to_string());
        lines.push(Line::from(format!(
            "entries: {} / {}",
            n(counts.input0),
            n(counts.input1)
        )));
    }
    if matches!(
        context.kind,
        ContextKind::Layer { .. } | ContextKind::MergedFs
    ) {
        lines.push(status_line(app, node, theme));
    }
    lines.push(Line::raw(""));
    // A finished report is sorted by context: look at this context's differences only (a layer
    // can have 100,000; this runs on every frame).
    let differences = &app.report.differences;
    let range = if app.report.finished {
        differences.partition_point(|d| d.context < id)
            ..differences.partition_point(|d| d.context <= id)
    } else {
        0..differences.len()
    };
    for (index, d) in differences[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, d)| (range.start + i, d))
    {
        if d.context != id || d.kind == DiffKind::File {
            continue;
        }
        let shown = app.shown.get(index).copied().unwrap_or(false);
        lines.push(Line::styled(
            format!("{} {}", d.kind.label(), escape_control(&d.key)),
            if shown { theme.heading() } else { theme.dim() },
        ));
        for delta in &d.deltas {
            let visible = shown && !app.filter.ignored_aspects().contains(delta.aspect);
            let style = if visible {
                theme.changed()
            } else {
                theme.dim()
            };
            let note = if visible { "" } else { "  (hidden)" };
            lines.push(Line::styled(
                format!(
                    "  {}: {} → {}{note}",
                    escape_control(&delta.field),
                    value_text(&delta.values.input0),
                    value_text(&delta.values.input1)
                ),
                style,
            ));
        }
    }
    lines
}

/// "Added 3  Modified 12" for the file differences at or below a node (counted in `App::refresh`).
fn status_line(app: &App, node: NodeId, theme: &Theme) -> Line<'static> {
    let counts = app
        .status_counts
        .get(node.0 as usize)
        .copied()
        .unwrap_or_default();
    let spans: Vec<Span<'static>> = Status::ALL
        .into_iter()
        .filter(|status| *status != Status::Unchanged && counts.get(*status) > 0)
        .map(|status| {
            Span::styled(
                format!("{status:?} {}  ", counts.get(status)),
                theme.status(status),
            )
        })
        .collect();
    if spans.is_empty() {
        return Line::styled("no shown differences", theme.dim());
    }
    Line::from(spans)
}

fn value_text(v: &Value) -> String {
    let text = match v {
        Value::Null => "missing".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    escape_control(&text).into_owned()
}

/// Cuts a cell to `width` characters, marking the cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line<'static>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn the_window_spans_head_and_body_and_stops_at_the_end() {
        let head: Vec<Line<'static>> = (0..3).map(|i| Line::from(format!("h{i}"))).collect();
        let body: Vec<Line<'static>> = (0..5).map(|i| Line::from(format!("b{i}"))).collect();
        assert_eq!(
            texts(&window(head.clone(), &body, 0, 4)),
            ["h0", "h1", "h2", "b0"]
        );
        assert_eq!(
            texts(&window(head.clone(), &body, 2, 3)),
            ["h2", "b0", "b1"]
        );
        assert_eq!(
            texts(&window(head.clone(), &body, 4, 3)),
            ["b1", "b2", "b3"]
        );
        assert_eq!(texts(&window(head, &body, 99, 3)), ["b2", "b3", "b4"]);
    }
}

//! The detail pane: its state (scroll, wrap, side by side, history) and what the selection is and how
//! its two sides differ. Sections are built per node kind in `lines_for`; every line goes through
//! `fit`, so nothing wider than the pane is cut without a mark.

use std::collections::BTreeMap;
use std::rc::Rc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use serde_json::Value;

use crate::model::{
    ContextId, ContextKind, Delta, DiffKind, Difference, EntryMeta, Severity, Side, Sides,
    escape_control,
};
use crate::tui::content::ContentLoader;
use crate::tui::history::{FileHistory, file_history};
use crate::tui::labels::{
    PackageChange, STATUSES, kind_words, property_label, severity_words, status_words,
};
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::tree::{NodeId, NodeKey, NodeKind, Status, StatusCounts};

use crate::tui::fit::{shorten_end, shorten_middle, width, window, wrap};

/// What the detail pane shows: the selected node of the session, its content as loaded.
pub struct Shown<'a> {
    pub session: &'a Session,
    pub selected: Option<NodeId>,
    pub content: &'a ContentLoader,
}

/// How the detail pane shows the selection.
#[derive(Debug, Default)]
pub struct DetailPane {
    /// First line shown (a line of the section, before wrapping).
    scroll: usize,
    /// Columns scrolled to the right (when lines are not wrapped).
    hscroll: usize,
    wrap: bool,
    side_by_side: bool,
    /// A file's history across layers instead of its content.
    history: bool,
    /// Date and time tokens masked in text diffs.
    mask: bool,
    /// Rows the pane showed in the last frame.
    height: usize,
    /// The node shown: a new one starts at the top.
    showing: Option<NodeKey>,
}

/// Columns one `<` or `>` scrolls.
const HSCROLL_STEP: usize = 8;

impl DetailPane {
    pub fn page(&self) -> usize {
        self.height.max(1)
    }

    pub fn toggle_wrap(&mut self) {
        self.wrap = !self.wrap;
        self.hscroll = 0;
    }

    /// Masks date and time tokens in text diffs, or shows them again; true if now masked.
    pub fn toggle_mask(&mut self) -> bool {
        self.mask = !self.mask;
        self.mask
    }

    pub fn toggle_side_by_side(&mut self) {
        self.side_by_side = !self.side_by_side;
    }

    pub fn toggle_history(&mut self) {
        self.history = !self.history;
        self.scroll = 0;
    }

    pub fn scroll_by(&mut self, lines: isize) {
        self.scroll = self.scroll.saturating_add_signed(lines);
    }

    /// Scrolls right (positive) or left; wrapped lines do not scroll.
    pub fn scroll_horizontally(&mut self, steps: isize) {
        if !self.wrap {
            self.hscroll = self
                .hscroll
                .saturating_add_signed(steps * HSCROLL_STEP as isize);
        }
    }

    /// Follows the selection: another node starts at the top, at the left.
    pub fn follow(&mut self, selected: Option<&NodeKey>) {
        if self.showing.as_ref() != selected {
            self.showing = selected.cloned();
            self.scroll = 0;
            self.hscroll = 0;
        }
    }

    pub fn draw(
        &mut self,
        frame: &mut Frame<'_>,
        area: Rect,
        what: &Shown<'_>,
        focused: bool,
        theme: &Theme,
    ) {
        let inner_width = area.width.saturating_sub(2) as usize;
        self.height = area.height.saturating_sub(2) as usize;
        let (title, section) = match what.selected {
            None => ("detail".to_owned(), Section::default()),
            Some(id) => self.section(what.session, id, what.content, inner_width, theme),
        };
        let lines = self.layout(&section, inner_width);
        let title = shorten_middle(&escape_control(&title), inner_width.saturating_sub(2));
        let mut block = Block::bordered()
            .title(format!(" {title} "))
            .border_style(theme.border(focused));
        if self.hscroll > 0 && !self.wrap {
            block = block.title_bottom(
                Line::from(format!(" scrolled {} columns right (<) ", self.hscroll))
                    .right_aligned(),
            );
        }
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }

    /// The lines on screen: from `scroll`, each windowed (with marks) or wrapped to the width.
    fn layout(&mut self, section: &Section, width: usize) -> Vec<Line<'static>> {
        let total = section.len();
        let wrapping = self.wrap || section.always_wrap;
        let rows_of = |i: usize| -> Vec<Line<'static>> {
            let (line, fixed, fitted) = section.get(i);
            if fitted {
                vec![line.clone()]
            } else if wrapping {
                wrap(line, fixed, width)
            } else {
                vec![window(line, fixed, self.hscroll, width)]
            }
        };
        // The furthest scroll that still fills the pane.
        let max_scroll = if wrapping {
            let mut rows = 0;
            let mut first = total;
            while first > 0 {
                let (line, fixed, _) = section.get(first - 1);
                rows += wrap(line, fixed, width).len();
                if rows > self.height {
                    break;
                }
                first -= 1;
            }
            first
        } else {
            total.saturating_sub(self.height)
        };
        self.scroll = self.scroll.min(max_scroll);
        let mut out = Vec::with_capacity(self.height);
        let mut index = self.scroll;
        while out.len() < self.height && index < total {
            out.extend(rows_of(index));
            index += 1;
        }
        out.truncate(self.height);
        out
    }

    fn section(
        &self,
        session: &Session,
        id: NodeId,
        content: &ContentLoader,
        width: usize,
        theme: &Theme,
    ) -> (String, Section) {
        let tree = session.tree();
        let node = tree.node(id);
        match &node.kind {
            NodeKind::Context(c) => (
                tree.name(node).to_owned(),
                Section::wrapped(context_lines(session, *c, id, theme)),
            ),
            NodeKind::Property { kind, .. } => {
                let lines = tree
                    .difference_of(id)
                    .and_then(|i| Some((i, session.report().differences.get(i)?)))
                    .map(|(i, d)| {
                        let mut lines = explanation_lines(d, theme);
                        lines.extend(property_lines(session, i, d, theme));
                        if *kind == DiffKind::Pkg {
                            lines.extend(package_files(session, d, theme));
                        }
                        lines
                    })
                    .unwrap_or_default();
                (
                    property_label(*kind, tree.name(node)),
                    Section::wrapped(lines),
                )
            }
            NodeKind::Dir { .. } | NodeKind::Entry { .. } => {
                let path = tree.path_of(id);
                let difference = tree
                    .difference_of(id)
                    .and_then(|i| Some((i, session.report().differences.get(i)?)));
                let mut head = Vec::new();
                if let Some((index, d)) = difference {
                    head = explanation_lines(d, theme);
                    head.extend(entry_lines(session, index, d, width, theme));
                }
                if matches!(node.kind, NodeKind::Dir { .. }) {
                    head.push(status_line(session.listing().counts(id), theme));
                }
                let (body, fitted): (Rc<[Line<'static>]>, bool) = if self.history {
                    let history = file_history(session.report(), tree, node.context, &path);
                    (
                        Rc::from(history_lines(session, &path, &history, theme)),
                        false,
                    )
                } else if let Some((_, d)) = difference
                    && session.report().is_inside_a_file(d)
                {
                    let note = Line::styled(
                        "a member of the file above: compared by its digest and metadata, its content is not shown here",
                        theme.dim(),
                    );
                    (Rc::from(vec![note]), false)
                } else if let Some((index, _)) = difference {
                    let lines = content.shared_lines(
                        index,
                        &path,
                        self.side_by_side,
                        width as u16,
                        theme.plain,
                        self.wrap,
                        self.hscroll,
                        self.mask,
                    );
                    (lines, self.side_by_side)
                } else {
                    (Rc::from(Vec::new()), false)
                };
                let section = Section {
                    head,
                    body,
                    body_fitted: fitted,
                    always_wrap: false,
                };
                (path, section)
            }
        }
    }
}

/// A section of the detail pane: head lines (metadata), then body lines (content: a diff sign in the
/// first column, kept when scrolling sideways; already fitted for the side-by-side layout).
#[derive(Default)]
struct Section {
    head: Vec<Line<'static>>,
    body: Rc<[Line<'static>]>,
    body_fitted: bool,
    always_wrap: bool,
}

impl Section {
    fn wrapped(head: Vec<Line<'static>>) -> Section {
        Section {
            head,
            always_wrap: true,
            ..Section::default()
        }
    }

    fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }

    /// Line `i`, the columns it keeps fixed, and whether it is fitted already.
    fn get(&self, i: usize) -> (&Line<'static>, usize, bool) {
        match self.head.get(i) {
            Some(line) => (line, 0, false),
            None => (&self.body[i - self.head.len()], 1, self.body_fitted),
        }
    }
}

/// A file difference: status, aspects, and a two-column table of the tar entries.
fn entry_lines(
    session: &Session,
    index: usize,
    d: &Difference,
    pane_width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let status = Status::of(d, session.is_shown(index));
    let aspects: Vec<&str> = d.aspects().iter().map(|a| a.name()).collect();
    let mut lines = vec![Line::from(vec![
        Span::styled(status_words(status).name, theme.status(status)),
        Span::styled(
            if aspects.is_empty() {
                String::new()
            } else {
                format!("  ({})", aspects.join(", "))
            },
            theme.dim(),
        ),
    ])];
    if let Some(origin) = &d.origin.get() {
        let layer = |o: Option<u32>| o.map_or("-".to_owned(), |l| format!("layer {l}"));
        lines.push(Line::styled(
            format!("from {} / {}", layer(origin.input0), layer(origin.input1)),
            theme.dim(),
        ));
    }
    let Some(entries) = d.entries.as_ref() else {
        return lines;
    };
    let label_width = 12usize;
    let column = pane_width.saturating_sub(label_width + 2) / 2;
    lines.push(Line::styled(
        format!("{:label_width$} {:column$} {}", "", "input 0", "input 1"),
        theme.heading(),
    ));
    let sides: &Sides<Option<EntryMeta>> = entries;
    for (label, fields, values) in entry_fields(sides.as_ref().map(|e| e.as_ref())) {
        let style = field_style(session, d, &fields, theme);
        // Digests and names keep both ends; times and numbers keep their start.
        let middle = matches!(label.as_str(), "content" | "name" | "link");
        let cell = |s: &str| {
            let text = escape_control(s);
            let text = if middle {
                shorten_middle(&text, column)
            } else {
                shorten_end(&text, column)
            };
            let pad = column.saturating_sub(width(&text));
            format!("{text}{}", " ".repeat(pad))
        };
        let mut line = Line::from(format!(
            "{label:label_width$} {} {}",
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
fn field_style(
    session: &Session,
    d: &Difference,
    fields: &[String],
    theme: &Theme,
) -> Option<Style> {
    let deltas = d.deltas();
    let matching: Vec<&Delta> = deltas
        .iter()
        .filter(|x| fields.iter().any(|f| *f == x.field))
        .collect();
    if matching.is_empty() {
        return None;
    }
    let ignored = session.filter().ignored_aspects();
    let shown = matching.iter().any(|x| !ignored.contains(x.aspect));
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
            e.kind().label().to_owned()
        }),
        field("name", &["name"], &|e| e.name().to_string()),
        field("link", &["link"], &|e| {
            e.link().unwrap_or_default().to_owned()
        }),
        field("size", &["size"], &|e| e.size().to_string()),
        field("content", &["content"], &|e| {
            e.content()
                .as_ref()
                .map_or(String::new(), |c| c.to_string())
        }),
        field("mode", &["mode", "mode-type-bits"], &|e| {
            format!("{:o}", e.mode())
        }),
        field("uid:gid", &["uid", "gid"], &|e| {
            format!("{}:{}", e.owner().uid, e.owner().gid)
        }),
        field("user:group", &["uname", "gname"], &|e| {
            format!("{}:{}", e.owner().uname, e.owner().gname)
        }),
        field("mtime", &["mtime"], &|e| e.mtime().rfc3339()),
        field("atime", &["atime"], &|e| {
            e.extras().atime.map(|t| t.rfc3339()).unwrap_or_default()
        }),
        field("ctime", &["ctime"], &|e| {
            e.extras().ctime.map(|t| t.rfc3339()).unwrap_or_default()
        }),
        field("device", &["device"], &|e| {
            e.extras()
                .device
                .map(|(a, b)| format!("{a}:{b}"))
                .unwrap_or_default()
        }),
        field("position", &["index"], &|e| e.index().to_string()),
        field("format", &["format"], &|e| {
            format!("{:?}", e.format()).to_lowercase()
        }),
    ];
    let mut keys: BTreeMap<String, ()> = BTreeMap::new();
    for e in entries.iter().filter_map(|(_, e)| *e) {
        keys.extend(e.extras().xattrs.keys().map(|k| (format!("xattr:{k}"), ())));
        keys.extend(e.extras().pax.keys().map(|k| (format!("pax:{k}"), ())));
    }
    for key in keys.into_keys() {
        let value = |e: &EntryMeta| {
            let (map, name) = match key.split_once(':') {
                Some(("xattr", k)) => (&e.extras().xattrs, k),
                Some((_, k)) => (&e.extras().pax, k),
                None => (&e.extras().pax, key.as_str()),
            };
            map.get(name).cloned().unwrap_or_default()
        };
        fields.push((key.clone(), vec![key.clone()], get(&value)));
    }
    // Rows that are empty on both sides say nothing.
    fields.retain(|(_, _, v)| !(v.input0.is_empty() && v.input1.is_empty()));
    fields
}

/// A context: its descriptors, what was read, what created it (layers), what differs below it, and
/// its own differences field by field.
fn context_lines(
    session: &Session,
    id: ContextId,
    node: NodeId,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let report = session.report();
    let Some(context) = report.context(id) else {
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
    if let Some(proof) = report.layer_proof(id) {
        lines.push(Line::styled(proof.description(), theme.dim()));
    }
    if let Some((_, counts)) = report.layer_entries.iter().find(|(c, _)| *c == id) {
        let n = |c: Option<usize>| c.map_or("-".into(), |c| c.to_string());
        lines.push(Line::from(format!(
            "entries: {} / {}",
            n(counts.input0),
            n(counts.input1)
        )));
    }
    if let (ContextKind::Layer { index }, Some(manifest)) = (&context.kind, context.parent) {
        lines.extend(created_by_lines(session, manifest, *index, theme));
    }
    match &context.kind {
        ContextKind::Nested { file, format } => lines.push(Line::from(format!(
            "the inside of {} ({}): its members compared like layer entries",
            escape_control(file),
            escape_control(format)
        ))),
        ContextKind::Packages => lines.push(Line::from(
            "packages added, removed, upgraded or downgraded, from each image's package databases",
        )),
        _ => {}
    }
    lines.push(status_line(session.listing().counts(node), theme));
    lines.push(Line::raw(""));
    let tree = session.tree();
    for child in &tree.node(node).children {
        if let NodeKind::Property { .. } = tree.node(*child).kind
            && let Some(index) = tree.difference_of(*child)
            && let Some(d) = report.differences.get(index)
        {
            lines.extend(property_lines(session, index, d, theme));
        }
    }
    lines
}

/// What created a layer on each side (the configs' history), once in both are the same.
fn created_by_lines(
    session: &Session,
    manifest: ContextId,
    index: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let of = |side: Side| match session.created_by.of(manifest, index, side) {
        None => None,
        Some(Ok(command)) => Some(escape_control(command).into_owned()),
        Some(Err(why)) => Some(format!("(unknown: {})", escape_control(why))),
    };
    let sides = Sides::from_fn(of);
    match (sides.input0, sides.input1) {
        (None, None) => Vec::new(),
        (Some(a), Some(b)) if a == b => vec![Line::from(vec![
            Span::styled("created by: ", theme.dim()),
            Span::raw(a),
        ])],
        (a, b) => [(0, a), (1, b)]
            .into_iter()
            .map(|(side, command)| {
                Line::from(vec![
                    Span::styled(format!("created by {side}: "), theme.dim()),
                    Span::styled(command.unwrap_or_else(|| "-".into()), theme.changed()),
                ])
            })
            .collect(),
    }
}

/// One difference of a context: its heading and each delta, shown or hidden by the filter.
fn property_lines(
    session: &Session,
    index: usize,
    d: &Difference,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let shown = session.is_shown(index);
    let status = Status::of(d, shown);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} ", status_words(status).marker),
            theme.status(status),
        ),
        Span::styled(
            property_label(d.kind, &escape_control(d.key())),
            if shown { theme.heading() } else { theme.dim() },
        ),
        Span::styled(format!("  ({})", kind_words(d.kind)), theme.dim()),
    ])];
    let ignored = session.filter().ignored_aspects();
    for delta in d.deltas().iter() {
        let visible = shown && !ignored.contains(delta.aspect);
        let style = if visible {
            theme.changed()
        } else {
            theme.dim()
        };
        let note = if visible {
            ""
        } else {
            "  (hidden by a filter)"
        };
        lines.push(Line::styled(
            format!(
                "  {}: {} → {}{note}",
                escape_control(&delta.field),
                value_text(&delta.values.input0.to_json()),
                value_text(&delta.values.input1.to_json())
            ),
            style,
        ));
    }
    lines
}

/// What explains a difference, one line each, at the top of its detail: alerts stand out.
fn explanation_lines(d: &Difference, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = d
        .explanations
        .iter()
        .map(|e| {
            let style = match e.severity {
                Severity::Alert => theme.error(),
                Severity::Info => theme.dim(),
                Severity::Noise | Severity::Review => theme.heading(),
            };
            let mut spans = vec![
                Span::styled(format!("{} ", severity_words(e.severity)), style),
                Span::raw(escape_control(&e.text).into_owned()),
                Span::styled(format!("  [{}]", escape_control(&e.rule)), theme.dim()),
            ];
            if let Some(evidence) = &e.evidence {
                spans.push(Span::styled(
                    format!("  ({})", escape_control(evidence)),
                    theme.dim(),
                ));
            }
            Line::from(spans)
        })
        .collect();
    if !lines.is_empty() {
        lines.push(Line::raw(""));
    }
    lines
}

/// Files shown at most below a package change.
const PACKAGE_FILES: usize = 50;

/// The file differences a package change explains (their explanations name it).
fn package_files(session: &Session, d: &Difference, theme: &Theme) -> Vec<Line<'static>> {
    let change = PackageChange::of(d);
    let mut lines = vec![
        Line::raw(""),
        Line::from(format!(
            "{}: {} ({})",
            change.change,
            escape_control(&change.row()),
            escape_control(&change.ecosystem)
        )),
    ];
    let Some(named) = PackageChange::explained_by(d) else {
        return lines;
    };
    // Shown ones only: the same file is a difference of its layer and of the merged filesystem.
    let files: Vec<&Difference> = session
        .report()
        .differences
        .iter()
        .enumerate()
        .filter(|(i, f)| f.kind == DiffKind::File && session.is_shown(*i))
        .filter(|(_, f)| f.explanations.iter().any(|e| e.text.contains(named)))
        .map(|(_, f)| f)
        .collect();
    lines.push(Line::styled(
        format!("{} differing file(s) it explains:", files.len()),
        theme.heading(),
    ));
    for file in files.iter().take(PACKAGE_FILES) {
        let status = Status::of(file, true);
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {} ", status_words(status).marker),
                theme.status(status),
            ),
            Span::raw(escape_control(file.key()).into_owned()),
        ]));
    }
    if files.len() > PACKAGE_FILES {
        lines.push(Line::styled(
            format!("  … and {} more", files.len() - PACKAGE_FILES),
            theme.dim(),
        ));
    }
    lines
}

/// "added 3  modified 12" for the listed differences at or below a node.
fn status_line(counts: StatusCounts, theme: &Theme) -> Line<'static> {
    let spans: Vec<Span<'static>> = STATUSES
        .iter()
        .filter(|s| s.status != Status::Unchanged && counts.get(s.status) > 0)
        .map(|s| {
            Span::styled(
                format!("{} {}  ", s.name, counts.get(s.status)),
                theme.status(s.status),
            )
        })
        .collect();
    if spans.is_empty() {
        return Line::styled("no listed differences", theme.dim());
    }
    Line::from(spans)
}

/// The layers that add, change or remove a path on each side, with what created them.
fn history_lines(
    session: &Session,
    path: &str,
    history: &FileHistory,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(
        format!(
            "history of {} across layers (t: back to content)",
            escape_control(path)
        ),
        theme.heading(),
    )];
    if history.steps.is_empty() {
        lines.push(Line::styled(
            "no layer that was read adds, changes or removes it",
            theme.dim(),
        ));
    }
    for step in &history.steps {
        let touch = |side: Side| step.touch.get(side).map_or("-", |t| t.words());
        let same = if step.same { "  (same on both)" } else { "" };
        lines.push(Line::from(vec![
            Span::styled(format!("layer {}: ", step.layer), theme.context()),
            Span::raw(format!(
                "input 0 {}, input 1 {}{same}",
                touch(Side::Input0),
                touch(Side::Input1)
            )),
        ]));
        if let Some(manifest) = history.manifest {
            lines.extend(
                created_by_lines(session, manifest, step.layer, theme)
                    .into_iter()
                    .map(|l| {
                        let mut spans = vec![Span::raw("  ")];
                        spans.extend(l.spans);
                        Line::from(spans)
                    }),
            );
        }
    }
    if !history.not_read.is_empty() {
        let layers: Vec<String> = history
            .not_read
            .iter()
            .map(|(l, _)| l.to_string())
            .collect();
        lines.push(Line::styled(
            format!(
                "layer {} not read (identical on both sides): may touch it too",
                layers.join(", ")
            ),
            theme.dim(),
        ));
    }
    if !history.pending.is_empty() {
        let layers: Vec<String> = history.pending.iter().map(|l| l.to_string()).collect();
        lines.push(Line::styled(
            format!("layer {} still being read", layers.join(", ")),
            theme.dim(),
        ));
    }
    lines
}

fn value_text(v: &Value) -> String {
    let text = match v {
        Value::Null => "missing".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    escape_control(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line<'static>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    fn pane(scroll: usize, height: usize) -> DetailPane {
        DetailPane {
            scroll,
            height,
            ..DetailPane::default()
        }
    }

    fn section() -> Section {
        let head: Vec<Line<'static>> = (0..3).map(|i| Line::from(format!("h{i}"))).collect();
        let body: Vec<Line<'static>> = (0..5).map(|i| Line::from(format!("b{i}"))).collect();
        Section {
            head,
            body: Rc::from(body),
            body_fitted: false,
            always_wrap: false,
        }
    }

    #[test]
    fn the_window_spans_head_and_body_and_stops_at_the_end() {
        let s = section();
        assert_eq!(texts(&pane(0, 4).layout(&s, 20)), ["h0", "h1", "h2", "b0"]);
        assert_eq!(texts(&pane(2, 3).layout(&s, 20)), ["h2", "b0", "b1"]);
        assert_eq!(texts(&pane(4, 3).layout(&s, 20)), ["b1", "b2", "b3"]);
        let mut p = pane(99, 3);
        assert_eq!(texts(&p.layout(&s, 20)), ["b2", "b3", "b4"]);
        assert_eq!(p.scroll, 5, "clamped to the last full screen");
    }

    #[test]
    fn wrapped_lines_fill_the_pane_and_the_end_stays_reachable() {
        let s = Section {
            head: vec![Line::from("x".repeat(25))],
            body: Rc::from(vec![Line::from("+".to_owned() + &"y".repeat(15))]),
            body_fitted: false,
            always_wrap: false,
        };
        let mut p = pane(0, 4);
        p.wrap = true;
        let rows = texts(&p.layout(&s, 10));
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert_eq!(rows[0], "x".repeat(10));
        assert_eq!(rows[3], "+yyyyyyyyy");
        // As far as the last line's last piece can be seen: the body line on top.
        p.scroll = 9;
        let rows = texts(&p.layout(&s, 10));
        assert_eq!(p.scroll, 1);
        assert_eq!(rows, ["+yyyyyyyyy", " ↪yyyyyy"]);
    }
}

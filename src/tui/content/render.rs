//! Turning a [`Prepared`] content section into styled lines for one mode (unified or side by side),
//! width and colour setting. Cheap: no diffing or highlighting happens here.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use similar::DiffOp;

use crate::model::Side;
use crate::text_diff::{LineTag as Tag, hunk_header, op_rows};
use crate::tui::fit;

use super::highlight::{HlLine, HlSpan};
use super::prepare::{
    ArchiveBlock, BinaryBlock, Block, HEX_ROW, Note, NoteKind, Prepared, TextBlock,
};

/// How to draw: the part of the cache key that changes the lines. Unified lines are drawn whole
/// (the detail pane fits them to its width), so only the side-by-side layout depends on the width,
/// the wrapping and the horizontal scroll, each column being fitted on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Mode {
    pub side_by_side: bool,
    pub width: u16,
    pub plain: bool,
    pub wrap: bool,
    pub hscroll: usize,
    /// Date and time tokens masked: lines that differ only in them are left out.
    pub mask: bool,
}

impl Mode {
    /// The same lines, whatever the parts a layout ignores: one cache entry for them.
    pub(crate) fn normalized(self) -> Mode {
        if self.side_by_side {
            self
        } else {
            Mode {
                width: 0,
                wrap: false,
                hscroll: 0,
                ..self
            }
        }
    }
}

const DELETE_BG: Color = Color::Rgb(63, 0, 1);
const INSERT_BG: Color = Color::Rgb(0, 40, 0);
/// Behind the words that changed inside a changed line.
const DELETE_EMPHASIS_BG: Color = Color::Rgb(144, 16, 17);
const INSERT_EMPHASIS_BG: Color = Color::Rgb(0, 96, 0);

pub(crate) fn loading(plain: bool) -> Line<'static> {
    note_line(
        &Note {
            kind: NoteKind::Info,
            text: "loading content…".into(),
        },
        plain,
    )
}

pub(crate) fn render(prepared: &Prepared, mode: Mode) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for block in &prepared.blocks {
        let masked;
        let block = match block {
            Block::Text(text) if mode.mask => {
                masked = mask_timestamps(text);
                if masked.hunks.is_empty() {
                    out.push(note_line(
                        &Note {
                            kind: NoteKind::Info,
                            text:
                                "every changed line differs only in date/time tokens (m shows them)"
                                    .into(),
                        },
                        mode.plain,
                    ));
                    continue;
                }
                out.push(note_line(
                    &Note {
                        kind: NoteKind::Info,
                        text: format!(
                            "date/time tokens masked as {TIME_MASK}: lines differing only in them are left out (m shows them)"
                        ),
                    },
                    mode.plain,
                ));
                &Block::Text(masked)
            }
            block => block,
        };
        match block {
            Block::Note(note) => out.push(note_line(note, mode.plain)),
            Block::Text(text) if mode.side_by_side => side_by_side(text, mode, &mut out),
            Block::Text(text) => unified(text, mode, &mut out),
            Block::Binary(binary) => hex_view(binary, mode.plain, &mut out),
            Block::Archive(archive) => archive_listing(archive, mode.plain, &mut out),
        }
    }
    out
}

/// What a masked date or time token shows.
const TIME_MASK: &str = "‹time›";

/// The diff with every date/time token masked (the explain module's recogniser): changed line pairs
/// equal once masked are left out, and hunks left without a change go.
fn mask_timestamps(text: &TextBlock) -> TextBlock {
    let old: Vec<HlLine> = text.old.iter().map(masked_line).collect();
    let new: Vec<HlLine> = text.new.iter().map(masked_line).collect();
    let same = |o: usize, n: usize| match (old.get(o), new.get(n)) {
        (Some(a), Some(b)) => a.text() == b.text(),
        _ => false,
    };
    let mut hunks = Vec::new();
    for hunk in &text.hunks {
        let mut ops = Vec::new();
        let mut changed = false;
        for op in hunk {
            let (_, o, n) = op.as_tag_tuple();
            if matches!(op, DiffOp::Equal { .. }) {
                ops.push(*op);
                continue;
            }
            for k in 0..o.len().max(n.len()) {
                let (old_index, new_index) = (o.start + k, n.start + k);
                let op = match (k < o.len(), k < n.len()) {
                    (true, true) if same(old_index, new_index) => continue,
                    (true, true) => DiffOp::Replace {
                        old_index,
                        old_len: 1,
                        new_index,
                        new_len: 1,
                    },
                    (true, false) => DiffOp::Delete {
                        old_index,
                        old_len: 1,
                        new_index: n.end,
                    },
                    _ => DiffOp::Insert {
                        old_index: o.end,
                        new_index,
                        new_len: 1,
                    },
                };
                changed = true;
                ops.push(op);
            }
        }
        if changed {
            hunks.push(ops);
        }
    }
    TextBlock {
        old,
        new,
        hunks,
        no_newline_at_end: text.no_newline_at_end,
    }
}

/// A line with its date/time tokens replaced by [`TIME_MASK`] (dimmed); other text plain.
fn masked_line(line: &HlLine) -> HlLine {
    let text = line.text();
    let ranges = crate::explain::timestamp_ranges(text.as_bytes(), false);
    if ranges.is_empty() {
        return line.clone();
    }
    let piece = |text: &str, modifier: Modifier| HlSpan {
        fg: None,
        modifier,
        text: text.to_owned(),
    };
    let mut spans = Vec::new();
    let mut at = 0;
    for range in ranges {
        // The recogniser's ranges start and end at ASCII bytes, so they are char boundaries.
        if let (Some(before), true) = (text.get(at..range.start), text.is_char_boundary(range.end))
        {
            spans.push(piece(before, Modifier::empty()));
            spans.push(piece(TIME_MASK, Modifier::DIM));
            at = range.end;
        }
    }
    spans.push(piece(text.get(at..).unwrap_or_default(), Modifier::empty()));
    HlLine {
        spans,
        cut: line.cut,
        emphasis: Vec::new(),
    }
}

fn note_line(note: &Note, plain: bool) -> Line<'static> {
    let style = match (note.kind, plain) {
        (NoteKind::Info, true) => Style::new().add_modifier(Modifier::ITALIC),
        (NoteKind::Info, false) => Style::new().fg(Color::Gray).add_modifier(Modifier::ITALIC),
        (NoteKind::Warning, true) => Style::new().add_modifier(Modifier::BOLD),
        (NoteKind::Warning, false) => Style::new().fg(Color::Yellow),
        (NoteKind::Error, true) => Style::new().add_modifier(Modifier::BOLD),
        (NoteKind::Error, false) => Style::new()
            .fg(Color::LightRed)
            .add_modifier(Modifier::BOLD),
    };
    Line::from(Span::styled(note.text.clone(), style))
}

fn header_style(plain: bool) -> Style {
    if plain {
        Style::new().add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::Cyan)
    }
}

impl Tag {
    fn sign(self) -> &'static str {
        match self {
            Tag::Equal => " ",
            Tag::Delete => "-",
            Tag::Insert => "+",
        }
    }

    /// Changed words: a stronger background, or underlined without colours.
    fn emphasis(self, style: Style, plain: bool) -> Style {
        match (self, plain) {
            (Tag::Equal, _) => style,
            (_, true) => style.add_modifier(Modifier::UNDERLINED),
            (Tag::Delete, false) => style.bg(DELETE_EMPHASIS_BG),
            (Tag::Insert, false) => style.bg(INSERT_EMPHASIS_BG),
        }
    }

    fn background(self, plain: bool) -> Option<Color> {
        match (self, plain) {
            (_, true) | (Tag::Equal, _) => None,
            (Tag::Delete, false) => Some(DELETE_BG),
            (Tag::Insert, false) => Some(INSERT_BG),
        }
    }

    fn sign_style(self, plain: bool) -> Style {
        let style = Style::new();
        let style = match (self, plain) {
            (Tag::Delete, false) => style.fg(Color::LightRed),
            (Tag::Insert, false) => style.fg(Color::LightGreen),
            _ => style,
        };
        match self.background(plain) {
            Some(bg) => style.bg(bg),
            None => style,
        }
    }
}

fn span_style(span: &HlSpan, tag: Tag, plain: bool) -> Style {
    if plain {
        return Style::new();
    }
    let mut style = Style::new().add_modifier(span.modifier);
    if let Some(fg) = span.fg {
        style = style.fg(fg);
    }
    if let Some(bg) = tag.background(plain) {
        style = style.bg(bg);
    }
    style
}

/// Pushes a line's spans (and `…` if its text was cut at the highlighter's limit).
fn push_spans(spans: &mut Vec<Span<'static>>, line: &HlLine, tag: Tag, plain: bool) {
    for (text, style) in styled_pieces(line, tag, plain) {
        spans.push(Span::styled(text.to_owned(), style));
    }
    if line.cut {
        spans.push(Span::styled("…", span_style(&plain_span(), tag, plain)));
    }
}

/// The line's spans in their styles, split where changed words start and end.
fn styled_pieces(line: &HlLine, tag: Tag, plain: bool) -> Vec<(&str, Style)> {
    let emphasis: &[std::ops::Range<usize>] = match tag {
        Tag::Equal => &[],
        Tag::Delete | Tag::Insert => &line.emphasis,
    };
    let mut pieces = Vec::new();
    let mut at = 0;
    for span in &line.spans {
        let style = span_style(span, tag, plain);
        let mut rest = span.text.as_str();
        while !rest.is_empty() {
            let emphasized = emphasis.iter().any(|r| r.contains(&at));
            let boundary = emphasis
                .iter()
                .flat_map(|r| [r.start, r.end])
                .filter(|&b| b > at)
                .min();
            let chars = boundary.map_or(usize::MAX, |b| b - at);
            let split = rest
                .char_indices()
                .nth(chars)
                .map_or(rest.len(), |(i, _)| i);
            let (piece, tail) = rest.split_at(split);
            let style = if emphasized {
                tag.emphasis(style, plain)
            } else {
                style
            };
            pieces.push((piece, style));
            at += piece.chars().count();
            rest = tail;
        }
    }
    pieces
}

fn plain_span() -> HlSpan {
    HlSpan {
        fg: None,
        modifier: Modifier::empty(),
        text: String::new(),
    }
}

fn hunk_header_line(hunk: &[DiffOp], plain: bool) -> Line<'static> {
    Line::from(Span::styled(hunk_header(hunk), header_style(plain)))
}

fn unified(text: &TextBlock, mode: Mode, out: &mut Vec<Line<'static>>) {
    let empty = HlLine::default();
    for hunk in &text.hunks {
        out.push(hunk_header_line(hunk, mode.plain));
        for op in hunk {
            for (tag, old, new) in op_rows(op) {
                let line = match tag {
                    Tag::Delete | Tag::Equal => old.and_then(|i| text.old.get(i)),
                    Tag::Insert => new.and_then(|i| text.new.get(i)),
                };
                out.push(diff_line(tag, line.unwrap_or(&empty), mode.plain));
                let last_without_newline = match tag {
                    Tag::Delete | Tag::Equal => {
                        text.no_newline_at_end.input0 && old == text.old.len().checked_sub(1)
                    }
                    Tag::Insert => {
                        text.no_newline_at_end.input1 && new == text.new.len().checked_sub(1)
                    }
                };
                if last_without_newline {
                    out.push(Line::from(Span::styled(
                        "\\ No newline at end of file",
                        header_style(mode.plain),
                    )));
                }
            }
        }
    }
}

/// A diff line whole: sign and text; its style carries the tint, which the pane runs to its edge
/// (as delta does).
fn diff_line(tag: Tag, line: &HlLine, plain: bool) -> Line<'static> {
    let mut spans = vec![Span::styled(tag.sign(), tag.sign_style(plain))];
    push_spans(&mut spans, line, tag, plain);
    let mut out = Line::from(spans);
    if let Some(bg) = tag.background(plain) {
        out.style = Style::new().bg(bg);
    }
    out
}

/// One column of a side-by-side row, fitted to exactly `width` columns: scrolled sideways with
/// marks where it continues, or wrapped into several rows.
fn column(row: Option<(Tag, &HlLine)>, width: usize, mode: Mode) -> Vec<Line<'static>> {
    if width == 0 {
        return vec![Line::default()];
    }
    let Some((tag, line)) = row else {
        return vec![Line::from(" ".repeat(width))];
    };
    let whole = diff_line(tag, line, mode.plain);
    let pieces = if mode.wrap {
        fit::wrap(&whole, 1, width)
    } else {
        vec![fit::window(&whole, 1, mode.hscroll, width)]
    };
    pieces
        .into_iter()
        .map(|mut piece| {
            let used = piece.width();
            if used < width {
                piece
                    .spans
                    .push(Span::styled(" ".repeat(width - used), piece.style));
            }
            piece
        })
        .collect()
}

fn side_by_side(text: &TextBlock, mode: Mode, out: &mut Vec<Line<'static>>) {
    let width = mode.width as usize;
    let left = width / 2;
    let right = width - left;
    let empty = HlLine::default();
    for hunk in &text.hunks {
        out.push(hunk_header_line(hunk, mode.plain));
        for op in hunk {
            let (_, old, new) = op.as_tag_tuple();
            let equal = matches!(op, DiffOp::Equal { .. });
            let rows = old.len().max(new.len());
            for k in 0..rows {
                let o = (k < old.len()).then(|| old.start + k);
                let n = (k < new.len()).then(|| new.start + k);
                let (old_tag, new_tag) = if equal {
                    (Tag::Equal, Tag::Equal)
                } else {
                    (Tag::Delete, Tag::Insert)
                };
                let old_line = o.map(|i| text.old.get(i).unwrap_or(&empty));
                let new_line = n.map(|i| text.new.get(i).unwrap_or(&empty));
                let lefts = column(old_line.map(|l| (old_tag, l)), left, mode);
                let rights = column(new_line.map(|l| (new_tag, l)), right, mode);
                for k in 0..lefts.len().max(rights.len()) {
                    let blank = || Line::from(" ".repeat(left));
                    let mut spans = lefts.get(k).cloned().unwrap_or_else(blank).spans;
                    spans.extend(rights.get(k).cloned().unwrap_or_default().spans);
                    out.push(Line::from(spans));
                }
            }
        }
    }
}

fn hex_view(binary: &BinaryBlock, plain: bool, out: &mut Vec<Line<'static>>) {
    out.push(Line::from(Span::styled(
        "binary content",
        header_style(plain),
    )));
    for side in Side::BOTH {
        let sign = if side == Side::Input0 { "-" } else { "+" };
        let text = match (binary.sizes.get(side), binary.digests.get(side)) {
            (Some(size), Some(digest)) => {
                format!("{sign} {}: {size} bytes, sha256:{digest}", side.name())
            }
            _ => format!("{sign} {}: absent", side.name()),
        };
        out.push(Line::from(text));
    }
    match binary.first_difference {
        Some(offset) => out.push(Line::from(format!(
            "first difference at offset {offset} (0x{offset:x})"
        ))),
        None => out.push(Line::from("no byte differs")),
    }
    let windows = binary.windows.as_ref().map(|w| w.as_deref());
    let rows = windows
        .iter()
        .filter_map(|(_, w)| *w)
        .map(|w| w.len().div_ceil(HEX_ROW))
        .max()
        .unwrap_or(0);
    for row in 0..rows {
        let mut first = true;
        for side in Side::BOTH {
            let Some(window) = windows.get(side) else {
                continue;
            };
            let begin = row * HEX_ROW;
            if begin >= window.len() {
                continue;
            }
            let other = windows.get(match side {
                Side::Input0 => Side::Input1,
                Side::Input1 => Side::Input0,
            });
            let offset = if first {
                format!("{:08x} ", binary.start + begin)
            } else {
                " ".repeat(9)
            };
            first = false;
            out.push(hex_row(side, offset, window, *other, begin, plain));
        }
    }
}

/// One side's hex row: offset, sign, 16 bytes in hex, then as ASCII; differing bytes stand out.
fn hex_row(
    side: Side,
    offset: String,
    window: &[u8],
    other: Option<&[u8]>,
    begin: usize,
    plain: bool,
) -> Line<'static> {
    let tag = if side == Side::Input0 {
        Tag::Delete
    } else {
        Tag::Insert
    };
    let marked = match (plain, tag) {
        (true, _) => Style::new().add_modifier(Modifier::REVERSED),
        (false, Tag::Delete) => Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
        (false, _) => Style::new()
            .fg(Color::Black)
            .bg(Color::Green)
            .add_modifier(Modifier::BOLD),
    };
    let mut spans = vec![
        Span::raw(offset),
        Span::styled(tag.sign(), tag.sign_style(plain)),
        Span::raw(" "),
    ];
    let mut ascii = Vec::new();
    for k in 0..HEX_ROW {
        let i = begin + k;
        if k == HEX_ROW / 2 {
            spans.push(Span::raw(" "));
        }
        match window.get(i) {
            Some(&b) => {
                let differs = other.and_then(|o| o.get(i)) != Some(&b);
                let style = if differs { marked } else { Style::new() };
                spans.push(Span::styled(format!("{b:02x}"), style));
                spans.push(Span::raw(" "));
                let c = if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                };
                ascii.push(Span::styled(c.to_string(), style));
            }
            None => spans.push(Span::raw("   ")),
        }
    }
    spans.push(Span::raw("|"));
    spans.extend(ascii);
    spans.push(Span::raw("|"));
    Line::from(spans)
}

fn archive_listing(archive: &ArchiveBlock, plain: bool, out: &mut Vec<Line<'static>>) {
    out.push(Line::from(Span::styled(
        archive.summary.clone(),
        header_style(plain),
    )));
    for row in &archive.rows {
        let sign_style = match (row.status, plain) {
            (_, true) => Style::new(),
            ('+', false) => Style::new().fg(Color::LightGreen),
            ('-', false) => Style::new().fg(Color::LightRed),
            _ => Style::new().fg(Color::Yellow),
        };
        let detail_style = if plain {
            Style::new().add_modifier(Modifier::ITALIC)
        } else {
            Style::new().fg(Color::Gray)
        };
        out.push(Line::from(vec![
            Span::styled(format!("{} ", row.status), sign_style),
            Span::raw(row.path.clone()),
            Span::raw("  "),
            Span::styled(row.detail.clone(), detail_style),
        ]));
    }
    if archive.omitted > 0 {
        out.push(note_line(
            &Note {
                kind: NoteKind::Info,
                text: format!("… and {} more inner entries", archive.omitted),
            },
            plain,
        ));
    }
}

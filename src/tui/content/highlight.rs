//! Syntax highlighting for the terminal, with the syntaxes and theme of [`crate::syntax`] (the HTML
//! report's too).
//!
//! Each side's whole file is highlighted once (syntect's state carries from line to line), then the diff
//! indexes the result by line. Text leaves this module inert: tabs expanded, control characters and
//! escape sequences escaped, long lines cut.

use std::time::Instant;

use ratatui::style::{Color, Modifier};
use syntect::easy::HighlightLines;
use syntect::highlighting::FontStyle;

use crate::model::escape_control;
use crate::syntax::{syntax_for, syntaxes, theme};

/// Columns between tab stops when tabs are expanded.
const TAB_WIDTH: usize = 4;
/// Characters kept of one rendered line (after escaping); the rest is cut and marked.
pub(crate) const MAX_LINE_CHARS: usize = 2_000;
/// Lines longer than this (in bytes) are not highlighted, nor is anything after them: a regex engine on
/// a megabyte of minified JSON is slow and the state after a cut line would be wrong anyway.
const MAX_HIGHLIGHT_LINE_BYTES: usize = 10_000;

/// One piece of a line with its syntax style (no background: the diff adds that).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HlSpan {
    pub fg: Option<Color>,
    pub modifier: Modifier,
    pub text: String,
}

/// One line of a file, ready to draw: escaped, tabs expanded, at most [`MAX_LINE_CHARS`] characters.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HlLine {
    pub spans: Vec<HlSpan>,
    /// Whether the line was cut at [`MAX_LINE_CHARS`].
    pub cut: bool,
    /// Character ranges of the words that changed, on a replaced line (see `words`).
    pub emphasis: Vec<std::ops::Range<usize>>,
}

impl HlLine {
    /// The text as drawn.
    pub(crate) fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }
}

/// Highlights `lines` (each with its line ending) as one file. After `deadline`, or from a line too
/// long to highlight, the rest is plain.
pub(crate) fn highlight(path: &str, lines: &[&str], deadline: Instant) -> Vec<HlLine> {
    let first = lines.first().copied().unwrap_or("");
    let syntax = syntax_for(path, first);
    let mut state = Some(HighlightLines::new(syntax, theme()));
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.len() > MAX_HIGHLIGHT_LINE_BYTES || Instant::now() > deadline {
            state = None;
        }
        let mut builder = LineBuilder::default();
        let pieces = state
            .as_mut()
            .and_then(|s| s.highlight_line(line, syntaxes()).ok());
        match pieces {
            Some(pieces) => {
                for (style, text) in pieces {
                    builder.push(text, convert_color(style.foreground), modifier(style));
                }
            }
            None => {
                state = None;
                builder.push(line, None, Modifier::empty());
            }
        }
        out.push(builder.finish());
    }
    out
}

/// Lines without highlighting, made inert the same way.
pub(crate) fn plain_lines(lines: &[&str]) -> Vec<HlLine> {
    lines
        .iter()
        .map(|line| {
            let mut builder = LineBuilder::default();
            builder.push(line, None, Modifier::empty());
            builder.finish()
        })
        .collect()
}

/// syntect colours to terminal colours. The `ansi` and `base16` themes keep a palette index in `r` with
/// `a == 0`, and `a == 1` for the terminal's default colour.
fn convert_color(c: syntect::highlighting::Color) -> Option<Color> {
    match c.a {
        0 => Some(Color::Indexed(c.r)),
        1 => None,
        _ => Some(Color::Rgb(c.r, c.g, c.b)),
    }
}

fn modifier(style: syntect::highlighting::Style) -> Modifier {
    let mut m = Modifier::empty();
    if style.font_style.contains(FontStyle::BOLD) {
        m |= Modifier::BOLD;
    }
    if style.font_style.contains(FontStyle::ITALIC) {
        m |= Modifier::ITALIC;
    }
    if style.font_style.contains(FontStyle::UNDERLINE) {
        m |= Modifier::UNDERLINED;
    }
    m
}

/// Builds one inert line from styled pieces: drops the line ending, expands tabs, escapes control
/// characters, cuts at [`MAX_LINE_CHARS`] and merges neighbours of the same style.
#[derive(Default)]
pub(crate) struct LineBuilder {
    line: HlLine,
    column: usize,
}

impl LineBuilder {
    pub(crate) fn push(&mut self, text: &str, fg: Option<Color>, modifier: Modifier) {
        if self.line.cut {
            return;
        }
        let text = text.strip_suffix('\n').unwrap_or(text);
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if self.column >= MAX_LINE_CHARS {
                self.line.cut = true;
                break;
            }
            if c == '\t' {
                let n = TAB_WIDTH - self.column % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', n));
                self.column += n;
            } else {
                let mut buf = [0u8; 4];
                let shown = escape_control(c.encode_utf8(&mut buf));
                out.push_str(&shown);
                self.column += shown.chars().count();
            }
        }
        if out.is_empty() {
            return;
        }
        match self.line.spans.last_mut() {
            Some(last) if last.fg == fg && last.modifier == modifier => last.text.push_str(&out),
            _ => self.line.spans.push(HlSpan {
                fg,
                modifier,
                text: out,
            }),
        }
    }

    pub(crate) fn finish(self) -> HlLine {
        self.line
    }
}

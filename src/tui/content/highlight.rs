//! Highlighted lines ready to draw in a terminal: the styled pieces of the crate's one highlighter
//! ([`crate::text_diff::highlight`], the syntaxes and theme of [`crate::syntax`]) in terminal colours. Text leaves this module inert: tabs
//! expanded, control characters and escape sequences escaped, long lines cut.

use crate::text_diff::Budget;

use ratatui::style::{Color, Modifier};
use syntect::highlighting::FontStyle;

use crate::model::escape_control;
use crate::text_diff::highlight::highlight;

/// Columns between tab stops when tabs are expanded.
const TAB_WIDTH: usize = 4;
/// Characters kept of one rendered line (after escaping); the rest is cut and marked.
pub(crate) const MAX_LINE_CHARS: usize = 2_000;

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

/// Highlights `lines` (each with its line ending) as one file, with the crate's one highlighter
/// ([`crate::text_diff::highlight`]); once `budget` is spent, or from a line too long to highlight, the
/// rest is plain. Every line made inert.
pub(crate) fn highlighted_lines(path: &str, lines: &[&str], budget: Budget<'_>) -> Vec<HlLine> {
    let styled = highlight(path, lines, budget);
    lines
        .iter()
        .zip(styled)
        .map(|(line, pieces)| {
            let mut builder = LineBuilder::default();
            match pieces {
                Some(pieces) => {
                    for (style, text) in pieces {
                        builder.push(text, convert_color(style.foreground), modifier(style));
                    }
                }
                None => builder.push(line, None, Modifier::empty()),
            }
            builder.finish()
        })
        .collect()
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

//! Syntax highlighting with syntect, the syntaxes and theme of [`crate::syntax`]: the styled pieces of
//! each line, for the explorer to draw in a terminal and the HTML report to write as spans.
//!
//! Each side's whole file is highlighted once (syntect's state carries from line to line).

use syntect::easy::HighlightLines;
use syntect::highlighting::Style;

use super::Budget;
use crate::syntax::{syntax_for, syntaxes, theme};

/// Lines longer than this (in bytes) are not highlighted, nor is anything after them: a regex engine on
/// a megabyte of minified JSON is slow and the state after a cut line would be wrong anyway.
const MAX_HIGHLIGHT_LINE_BYTES: usize = 10_000;

/// One line's pieces in their styles (with the line ending, if the line has one), or `None` for a
/// line left plain.
pub type StyledLine<'l> = Option<Vec<(Style, &'l str)>>;

/// Highlights `lines` (each with its line ending) as one file named `path`, with the process's
/// syntaxes and theme ([`crate::syntax`]). Once `budget` is spent, from a line too long to highlight,
/// or once syntect fails, the rest is plain (`None`).
pub fn highlight<'l>(path: &str, lines: &[&'l str], budget: Budget<'_>) -> Vec<StyledLine<'l>> {
    let first = lines.first().copied().unwrap_or("");
    let syntax = syntax_for(path, first);
    let mut state = Some(HighlightLines::new(syntax, theme()));
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.len() > MAX_HIGHLIGHT_LINE_BYTES || budget.spent() {
            state = None;
        }
        let pieces = state
            .as_mut()
            .and_then(|s| s.highlight_line(line, syntaxes()).ok());
        if pieces.is_none() {
            state = None;
        }
        out.push(pieces);
    }
    out
}

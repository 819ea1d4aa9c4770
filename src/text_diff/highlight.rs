//! Syntax highlighting with syntect, two-face's extra syntaxes (Dockerfile, TOML, INI, ...) and its
//! Monokai Extended theme: the styled pieces of each line, for the explorer to draw in a terminal
//! and the HTML report to write as spans.
//!
//! Each side's whole file is highlighted once (syntect's state carries from line to line).

use std::sync::OnceLock;

use syntect::easy::HighlightLines;
use syntect::highlighting::{Style, Theme};
use syntect::parsing::{SyntaxReference, SyntaxSet};

use super::Budget;

/// Lines longer than this (in bytes) are not highlighted, nor is anything after them: a regex engine on
/// a megabyte of minified JSON is slow and the state after a cut line would be wrong anyway.
const MAX_HIGHLIGHT_LINE_BYTES: usize = 10_000;

/// One line's pieces in their styles (with the line ending, if the line has one), or `None` for a
/// line left plain.
pub type StyledLine<'l> = Option<Vec<(Style, &'l str)>>;

pub struct Highlighter {
    syntaxes: SyntaxSet,
    theme: Theme,
}

/// The process-wide highlighter, loaded on first use (cheap: regexes compile lazily).
pub fn highlighter() -> &'static Highlighter {
    static HIGHLIGHTER: OnceLock<Highlighter> = OnceLock::new();
    HIGHLIGHTER.get_or_init(|| Highlighter {
        syntaxes: two_face::syntax::extra_newlines(),
        theme: two_face::theme::extra()
            .get(two_face::theme::EmbeddedThemeName::MonokaiExtended)
            .clone(),
    })
}

impl Highlighter {
    /// The syntax for a file: by its name (`Dockerfile`, `Makefile`), then its extension, then its first
    /// line (`#!/bin/sh`), else plain text.
    fn syntax_for(&self, path: &str, first_line: &str) -> &SyntaxReference {
        let name = path.rsplit('/').next().unwrap_or(path);
        let by_name = || self.syntaxes.find_syntax_by_extension(name);
        let by_extension = || {
            let (_, ext) = name.rsplit_once('.')?;
            self.syntaxes.find_syntax_by_extension(ext).or_else(|| {
                self.syntaxes
                    .find_syntax_by_extension(&ext.to_ascii_lowercase())
            })
        };
        by_name()
            .or_else(by_extension)
            .or_else(|| self.syntaxes.find_syntax_by_first_line(first_line))
            .unwrap_or_else(|| self.syntaxes.find_syntax_plain_text())
    }

    /// Highlights `lines` (each with its line ending) as one file named `path`. Once `budget` is spent,
    /// from a line too long to highlight, or once syntect fails, the rest is plain (`None`).
    pub fn highlight<'l>(
        &self,
        path: &str,
        lines: &[&'l str],
        budget: Budget<'_>,
    ) -> Vec<StyledLine<'l>> {
        let first = lines.first().copied().unwrap_or("");
        let syntax = self.syntax_for(path, first);
        let mut state = Some(HighlightLines::new(syntax, &self.theme));
        let mut out = Vec::with_capacity(lines.len());
        for line in lines {
            if line.len() > MAX_HIGHLIGHT_LINE_BYTES || budget.spent() {
                state = None;
            }
            let pieces = state
                .as_mut()
                .and_then(|s| s.highlight_line(line, &self.syntaxes).ok());
            if pieces.is_none() {
                state = None;
            }
            out.push(pieces);
        }
        out
    }
}

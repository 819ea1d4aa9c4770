//! The contents of differing files in the HTML page: both sides read again from their layers through
//! the engine's one extractor ([`extract`], as `--report-dir` does), then text as unified hunks
//! highlighted with syntect (the explorer's syntaxes and theme, [`crate::syntax`]), binary as sizes,
//! digests and a hex excerpt around the first differing byte. Bounded: files up to [`MAX_FILE_BYTES`], [`MAX_FILES`] files, hunks cut
//! after [`MAX_HUNK_LINES`] lines with a note.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, DiffTag};
use syntect::easy::HighlightLines;

use crate::engine::extract::{extract, wanted_for};
use crate::engine::layer::ReadLimits;
use crate::model::{DiffId, Difference, EntryKind, Report, Side, Sides};
use crate::source::Image;
use crate::syntax::{syntax_for, syntaxes, theme};

use super::escape;

/// Files whose contents are read, at most (the first in report order).
pub const MAX_FILES: usize = 500;
/// A side larger than this is not read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Diff lines written per file.
pub const MAX_HUNK_LINES: usize = 2_000;
const CONTEXT_LINES: usize = 3;
const DIFF_TIMEOUT: Duration = Duration::from_millis(200);
const HEX_ROW: usize = 16;

/// Both sides' bytes of the files read (`None`: absent, or not read).
#[derive(Debug, Default)]
pub struct Contents {
    files: HashMap<DiffId, Sides<Option<Vec<u8>>>>,
    /// Reading errors, one line each.
    pub errors: Vec<String>,
}

impl Contents {
    /// Reads both sides of the first [`MAX_FILES`] regular files of `files` no larger than
    /// [`MAX_FILE_BYTES`]; each layer that holds one is read (and verified) once more.
    pub fn read(
        images: &Sides<Image>,
        report: &Report,
        files: &[&Difference],
        limits: &ReadLimits,
    ) -> Contents {
        let small = |d: &&&Difference| {
            d.entries.as_deref().is_some_and(|e| {
                let fits = |s: &Option<crate::model::EntryMeta>| {
                    s.as_ref()
                        .is_none_or(|e| e.kind == EntryKind::File && e.size <= MAX_FILE_BYTES)
                };
                fits(&e.input0) && fits(&e.input1)
            })
        };
        let chosen: Vec<&Difference> = files
            .iter()
            .filter(small)
            .take(MAX_FILES)
            .copied()
            .collect();
        let mut by_entry: HashMap<(Side, String, u32, String), DiffId> = HashMap::new();
        let mut contents = Contents::default();
        for d in &chosen {
            contents.files.insert(d.id, Sides::default());
            for (side, entry) in d.entries.as_deref().into_iter().flat_map(|e| e.iter()) {
                if let (Some(entry), Some(context)) = (entry, report.context(d.context)) {
                    by_entry.insert(
                        (side, context.path.clone(), entry.index, entry.name.clone()),
                        d.id,
                    );
                }
            }
        }
        let wanted = wanted_for(report, &chosen);
        let errors = extract(images, &wanted, limits, |w, content| {
            let key = (
                w.side,
                w.context_path.clone(),
                w.entry.index,
                w.entry.name.clone(),
            );
            if let (Some(content), Some(id)) = (content, by_entry.get(&key)) {
                let mut bytes = Vec::new();
                content.take(MAX_FILE_BYTES).read_to_end(&mut bytes)?;
                if let Some(sides) = contents.files.get_mut(id) {
                    *sides.get_mut(w.side) = Some(bytes);
                }
            }
            Ok(())
        });
        contents.errors = errors.iter().map(ToString::to_string).collect();
        contents
    }

    /// The contents section of one file difference, or nothing when its contents were not read.
    pub fn section(&self, d: &Difference) -> Option<String> {
        let sides = self.files.get(&d.id)?;
        let (old, new) = (sides.input0.as_deref(), sides.input1.as_deref());
        if old.is_none() && new.is_none() {
            return None;
        }
        if old == new {
            return Some("<p class=\"note\">contents are identical</p>\n".into());
        }
        Some(match (text(old), text(new)) {
            (Some(old), Some(new)) => hunks(&d.key, old, new),
            _ => hex(old.unwrap_or_default(), new.unwrap_or_default()),
        })
    }
}

/// A side as text: valid UTF-8 without NUL bytes (an absent side is empty); None for binary.
fn text(bytes: Option<&[u8]>) -> Option<&str> {
    match bytes {
        None => Some(""),
        Some(b) if b.contains(&0) => None,
        Some(b) => std::str::from_utf8(b).ok(),
    }
}

/// Each line of `text` as HTML: syntect's colours as inline styles, every piece escaped.
fn highlighted(path: &str, text: &str) -> Vec<String> {
    let syntax = syntax_for(path, text.lines().next().unwrap_or(""));
    let mut state = HighlightLines::new(syntax, theme());
    let deadline = Instant::now() + Duration::from_secs(1);
    text.split_inclusive('\n')
        .map(|line| {
            let pieces = (line.len() < 10_000 && Instant::now() < deadline)
                .then(|| state.highlight_line(line, syntaxes()).ok())
                .flatten();
            match pieces {
                Some(pieces) => pieces
                    .iter()
                    .filter(|(_, piece)| !piece.trim_end_matches('\n').is_empty())
                    .map(|(style, piece)| {
                        let piece = escape(piece.trim_end_matches('\n'));
                        match css_color(style.foreground) {
                            Some(color) => format!("<span style=\"color:{color}\">{piece}</span>"),
                            None => piece,
                        }
                    })
                    .collect(),
                None => escape(line.trim_end_matches('\n')),
            }
        })
        .collect()
}

/// A theme colour as CSS; None for the `ansi` and `base16` themes' terminal palette entries (`a` 0
/// or 1: a palette index, not a colour), which the page's own text colour stands for.
fn css_color(c: syntect::highlighting::Color) -> Option<String> {
    (c.a > 1).then(|| format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b))
}

/// The hunks' `<pre>` in the theme's own background and text colours; a light background gets light
/// colours for removed and added lines (the `light` class).
fn hunks_start() -> String {
    let settings = &theme().settings;
    let (background, foreground) = (settings.background, settings.foreground);
    let light =
        background.is_some_and(|c| u32::from(c.r) + u32::from(c.g) + u32::from(c.b) > 3 * 128);
    let mut style = String::new();
    if let Some(color) = background.and_then(css_color) {
        let _ = write!(style, "background:{color};");
    }
    if let Some(color) = foreground.and_then(css_color) {
        let _ = write!(style, "color:{color};");
    }
    format!(
        "<pre class=\"hunks{}\" style=\"{style}\">",
        if light { " light" } else { "" }
    )
}

fn hunks(path: &str, old: &str, new: &str) -> String {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        &old_lines,
        &new_lines,
        Some(Instant::now() + DIFF_TIMEOUT),
    );
    let (old_html, new_html) = (highlighted(path, old), highlighted(path, new));
    let mut out = hunks_start();
    let mut written = 0;
    for group in similar::group_diff_ops(ops, CONTEXT_LINES) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (o, n) = (first.old_range().start, first.new_range().start);
        let (oe, ne) = (last.old_range().end, last.new_range().end);
        let _ = write!(
            out,
            "<span class=\"at\">@@ -{},{} +{},{} @@</span>",
            o + 1,
            oe - o,
            n + 1,
            ne - n
        );
        for op in &group {
            for (tag, old_index, new_index) in op_lines(op) {
                if written == MAX_HUNK_LINES {
                    let _ = writeln!(
                        out,
                        "</pre>\n<p class=\"note\">the diff goes on: cut after {MAX_HUNK_LINES} lines (--report-dir has both files)</p>"
                    );
                    return out;
                }
                written += 1;
                let (class, sign, line) = match tag {
                    DiffTag::Delete => ("del", '-', old_html.get(old_index)),
                    DiffTag::Insert => ("ins", '+', new_html.get(new_index)),
                    _ => ("eq", ' ', old_html.get(old_index)),
                };
                // Each line a block: no newline of its own in the <pre>.
                let _ = write!(
                    out,
                    "<span class=\"{class}\">{sign}{}</span>",
                    line.map_or("", String::as_str)
                );
            }
        }
    }
    out.push_str("</pre>\n");
    out
}

/// The lines of one diff op: (tag, old line index, new line index).
fn op_lines(op: &DiffOp) -> Vec<(DiffTag, usize, usize)> {
    let (old, new) = (op.old_range(), op.new_range());
    match op.tag() {
        DiffTag::Equal => old.zip(new).map(|(o, n)| (DiffTag::Equal, o, n)).collect(),
        DiffTag::Delete => old.map(|o| (DiffTag::Delete, o, 0)).collect(),
        DiffTag::Insert => new.map(|n| (DiffTag::Insert, 0, n)).collect(),
        DiffTag::Replace => old
            .map(|o| (DiffTag::Delete, o, 0))
            .chain(new.map(|n| (DiffTag::Insert, 0, n)))
            .collect(),
    }
}

/// Sizes and a hex excerpt of both sides around the first differing byte.
fn hex(old: &[u8], new: &[u8]) -> String {
    let first = old
        .iter()
        .zip(new)
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(new.len()));
    let start = (first / HEX_ROW).saturating_sub(2) * HEX_ROW;
    let mut out = format!(
        "<p class=\"note\">binary: {} and {} bytes, first difference at byte {first}</p>\n",
        old.len(),
        new.len()
    );
    for (side, bytes) in [("input 0", old), ("input 1", new)] {
        let _ = writeln!(out, "<pre class=\"hex\">{side}");
        for row in bytes
            .get(start..)
            .unwrap_or_default()
            .chunks(HEX_ROW)
            .take(6)
            .enumerate()
        {
            let (i, row) = row;
            let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = row
                .iter()
                .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
                .collect();
            let _ = writeln!(
                out,
                "{:08x}  {:<47}  {}",
                start + i * HEX_ROW,
                hex.join(" "),
                escape(&ascii)
            );
        }
        out.push_str("</pre>\n");
    }
    out
}

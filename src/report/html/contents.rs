//! The contents of differing files in the HTML page: both sides read again from their layers through
//! the engine's one extractor ([`extract`], as `--report-dir` does), then text as unified hunks
//! diffed and highlighted as the explorer does ([`crate::text_diff`], with the theme of
//! [`crate::syntax`]), binary as sizes, digests and a hex excerpt around
//! the first differing byte. Bounded: files up to [`MAX_FILE_BYTES`], [`MAX_FILES`] files, hunks cut
//! after [`MAX_HUNK_LINES`] lines with a note.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read;
use std::time::Duration;

use crate::engine::extract::{extract, wanted_for};
use crate::engine::layer::ReadLimits;
use crate::model::{DiffId, Difference, EntryKind, Report, Side, Sides};
use crate::source::Image;
use crate::syntax::theme;
use crate::text_diff::highlight::highlight;
use crate::text_diff::{Budget, LineTag, hunk_header, line_hunks, op_rows};

use super::escape;

/// Files whose contents are read, at most (the first in report order).
pub const MAX_FILES: usize = 500;
/// A side larger than this is not read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Diff lines written per file.
pub const MAX_HUNK_LINES: usize = 2_000;
const DIFF_TIMEOUT: Duration = Duration::from_millis(200);
/// Time for highlighting each side of a file; the rest is written plain.
const HIGHLIGHT_BUDGET: Duration = Duration::from_secs(1);
const HEX_ROW: usize = 16;

/// The contents section of each file read, made as soon as both its sides are read so that their
/// bytes are not kept until the page is written (85 MB of them on the README's host pair).
#[derive(Debug, Default)]
pub struct Contents {
    sections: HashMap<DiffId, String>,
    /// Reading errors, one line each.
    pub errors: Vec<String>,
}

/// A file whose sides are being read: what is read so far and which sides are still to come.
struct Reading<'d> {
    difference: &'d Difference,
    sides: Sides<Option<Vec<u8>>>,
    to_come: Sides<bool>,
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
            d.entries.as_ref().is_some_and(|e| {
                let fits = |s: &Option<crate::model::EntryMeta>| {
                    s.as_ref()
                        .is_none_or(|e| e.kind() == EntryKind::File && e.size() <= MAX_FILE_BYTES)
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
        let mut reading: HashMap<DiffId, Reading<'_>> = HashMap::new();
        for d in &chosen {
            let mut to_come = Sides::<bool>::default();
            for (side, entry) in d.entries.as_ref().into_iter().flat_map(|e| e.iter()) {
                if let (Some(entry), Some(context)) = (entry, report.context(d.context)) {
                    *to_come.get_mut(side) = true;
                    by_entry.insert(
                        (
                            side,
                            context.path.clone(),
                            entry.index(),
                            entry.name().to_string(),
                        ),
                        d.id,
                    );
                }
            }
            let file = Reading {
                difference: d,
                sides: Sides::default(),
                to_come,
            };
            reading.insert(d.id, file);
        }
        let mut contents = Contents::default();
        let wanted = wanted_for(report, &chosen);
        let errors = extract(images, wanted.as_slice(), limits, |w, content| {
            let key = (
                w.side,
                w.context_path.to_string(),
                w.entry.index(),
                w.entry.name().to_string(),
            );
            let Some(&id) = by_entry.get(&key) else {
                return Ok(());
            };
            let Some(file) = reading.get_mut(&id) else {
                return Ok(());
            };
            if let Some(content) = content {
                let mut bytes = Vec::new();
                content.take(MAX_FILE_BYTES).read_to_end(&mut bytes)?;
                *file.sides.get_mut(w.side) = Some(bytes);
            }
            *file.to_come.get_mut(w.side) = false;
            if !file.to_come.input0
                && !file.to_come.input1
                && let Some(file) = reading.remove(&id)
            {
                contents.add(file);
            }
            Ok(())
        });
        // Files a side of which could not be read: with what was.
        for (_, file) in reading {
            contents.add(file);
        }
        contents.errors = errors.iter().map(ToString::to_string).collect();
        contents
    }

    fn add(&mut self, file: Reading<'_>) {
        if let Some(section) = section(file.difference, &file.sides) {
            self.sections.insert(file.difference.id, section);
        }
    }

    /// The contents section of one file difference, or nothing when its contents were not read.
    pub fn section(&self, d: &Difference) -> Option<&str> {
        self.sections.get(&d.id).map(String::as_str)
    }
}

/// The contents section of a file with these sides' bytes, or nothing when none was read.
fn section(d: &Difference, sides: &Sides<Option<Vec<u8>>>) -> Option<String> {
    let (old, new) = (sides.input0.as_deref(), sides.input1.as_deref());
    if old.is_none() && new.is_none() {
        return None;
    }
    if old == new {
        return Some("<p class=\"note\">contents are identical</p>\n".into());
    }
    Some(match (text(old), text(new)) {
        (Some(old), Some(new)) => hunks(d.key(), old, new),
        _ => hex(old.unwrap_or_default(), new.unwrap_or_default()),
    })
}

/// A side as text: valid UTF-8 without NUL bytes (an absent side is empty); None for binary.
fn text(bytes: Option<&[u8]>) -> Option<&str> {
    match bytes {
        None => Some(""),
        Some(b) if b.contains(&0) => None,
        Some(b) => std::str::from_utf8(b).ok(),
    }
}

/// Each of `lines` (one file's) as HTML: the explorer's highlighting ([`crate::text_diff::highlight`]),
/// syntect's colours as inline styles, every piece escaped.
fn highlighted(path: &str, lines: &[&str]) -> Vec<String> {
    let styled = highlight(path, lines, Budget::time(HIGHLIGHT_BUDGET));
    lines
        .iter()
        .zip(styled)
        .map(|(line, pieces)| match pieces {
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
    let hunks = line_hunks(&old_lines, &new_lines, DIFF_TIMEOUT);
    let (old_html, new_html) = (highlighted(path, &old_lines), highlighted(path, &new_lines));
    let mut out = hunks_start();
    let mut written = 0;
    for hunk in hunks {
        let _ = write!(out, "<span class=\"at\">{}</span>", hunk_header(&hunk));
        for op in &hunk {
            for (tag, old_index, new_index) in op_rows(op) {
                if written == MAX_HUNK_LINES {
                    let _ = writeln!(
                        out,
                        "</pre>\n<p class=\"note\">the diff goes on: cut after {MAX_HUNK_LINES} lines (--report-dir has both files)</p>"
                    );
                    return out;
                }
                written += 1;
                let (class, sign, line) = match tag {
                    LineTag::Delete => ("del", '-', old_index.and_then(|i| old_html.get(i))),
                    LineTag::Insert => ("ins", '+', new_index.and_then(|i| new_html.get(i))),
                    LineTag::Equal => ("eq", ' ', old_index.and_then(|i| old_html.get(i))),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(lines: usize, changed: &[usize]) -> String {
        (1..=lines)
            .map(|i| {
                if changed.contains(&i) {
                    format!("key{i} = \"changed {i}\"\n")
                } else {
                    format!("key{i} = \"value {i}\"\n")
                }
            })
            .collect()
    }

    #[test]
    fn text_is_highlighted_unified_hunks_with_three_lines_of_context() {
        let old = numbered(20, &[]);
        let mut new = numbered(20, &[2, 17]);
        new.push_str("added = true");
        insta::assert_snapshot!(hunks("etc/app.toml", &old, &new));
    }

    #[test]
    fn an_added_text_file_is_one_hunk_of_insertions() {
        insta::assert_snapshot!(hunks("usr/bin/start", "", "#!/bin/sh\nexec app \"$@\"\n"));
    }

    #[test]
    fn a_long_diff_is_cut_after_the_line_limit_with_a_note() {
        let lines = MAX_HUNK_LINES + 500;
        let old = numbered(lines, &[]);
        let new = numbered(lines, &(1..=lines).collect::<Vec<_>>());
        let out = hunks("etc/big.conf", &old, &new);
        let rows = out.matches("<span class=\"del\">").count()
            + out.matches("<span class=\"ins\">").count()
            + out.matches("<span class=\"eq\">").count();
        assert_eq!(rows, MAX_HUNK_LINES);
        assert!(
            out.ends_with(&format!(
                "</pre>\n<p class=\"note\">the diff goes on: cut after {MAX_HUNK_LINES} lines (--report-dir has both files)</p>\n"
            )),
            "{}",
            &out[out.len() - 200..]
        );
        let short = hunks("etc/small.conf", &numbered(10, &[]), &numbered(10, &[5]));
        assert!(!short.contains("the diff goes on"));
    }

    #[test]
    fn binary_files_show_sizes_the_first_difference_and_an_escaped_hex_excerpt() {
        let old: Vec<u8> = (0..200u8).collect();
        let mut new = old.clone();
        new[70] = b'<';
        new.push(0);
        let out = hex(&old, &new);
        assert!(
            out.starts_with(
                "<p class=\"note\">binary: 200 and 201 bytes, first difference at byte 70</p>\n"
            ),
            "{out}"
        );
        // Two rows before the first difference's row (70 / 16 = 4), six rows a side.
        assert_eq!(out.matches("\n00000020  20 21").count(), 2, "{out}");
        assert_eq!(out.matches("<pre class=\"hex\">").count(), 2);
        assert!(out.contains("00000040  40 41 42 43 44 45 3c 47"), "{out}");
        assert!(out.contains("@ABCDE&lt;G"), "{out}");
        assert!(!out.contains("00000080"), "{out}");
        assert!(!out.contains("ABCDE<G"), "{out}");
    }
}

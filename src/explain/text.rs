//! What kind of change a text file went through: only dates and times, only the directory the build ran
//! in, both, or something else.
//!
//! Lines are compared by position (line k of one side with line k of the other): a change made only of
//! dates and build paths never adds or removes a line, so no diff is needed, and the work is one pass
//! over both texts. Each changed pair is cut into tokens: date/time tokens (see [`super::timestamp`]),
//! absolute paths, and the text between them. The pair differs "only in timestamps" when both sides
//! have the same tokens, their text equal byte for byte, and only date/time tokens differ; a path may
//! differ only inside a build or temporary directory (see [`is_build_path_change`]).

use std::cell::OnceCell;
use std::ops::Range;

use serde::Serialize;
use similar::{DiffOp, DiffTag};

use super::timestamp::{starts_word, timestamp_at};

/// Larger texts are not classified (the caller bounds what it hands over; this is the backstop).
pub const MAX_TEXT_BYTES: usize = 16 << 20;

/// Directories a build's scratch space lives under: a path that differs only below one of these
/// differs only in where the build ran.
const BUILD_ROOTS: [&str; 10] = [
    "tmp",
    "var/tmp",
    "dev/shm",
    "build",
    "builds",
    "builddir",
    "home/runner/work",
    "var/folders",
    "private/tmp",
    "private/var/folders",
];

/// The kind of change between two texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// The texts are the same.
    Unchanged,
    /// Every changed token is a date or a time.
    Timestamps,
    /// Every changed token is a path that differs only in a build or temporary directory.
    BuildPaths,
    /// Every changed token is one of the two above, and both occur.
    TimestampsAndBuildPaths,
    /// Something else changed (a word, a number, a line added or removed...).
    Other,
    /// Not classified: larger than [`MAX_TEXT_BYTES`].
    TooLarge,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::Timestamps => "timestamps",
            ChangeKind::BuildPaths => "build-paths",
            ChangeKind::TimestampsAndBuildPaths => "timestamps-and-build-paths",
            ChangeKind::Other => "other",
            ChangeKind::TooLarge => "too-large",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ChangeKind::Timestamps => "timestamps",
            ChangeKind::BuildPaths => "build paths",
            ChangeKind::TimestampsAndBuildPaths => "timestamps and build paths",
            _ => self.name(),
        }
    }
}

/// A classified change: its kind and how many lines changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub kind: ChangeKind,
    /// Changed line pairs (counted only when `kind` is not `Other` or `TooLarge`).
    pub changed_lines: usize,
}

impl Classification {
    fn other() -> Classification {
        Classification {
            kind: ChangeKind::Other,
            changed_lines: 0,
        }
    }

    /// One line of evidence, e.g. `678 changed lines differ only in timestamps`.
    pub fn evidence(&self) -> String {
        format!(
            "{} only in {}",
            changed_lines_differ(self.changed_lines),
            self.kind.describe()
        )
    }
}

/// `1 changed line differs` or `N changed lines differ`.
pub(super) fn changed_lines_differ(count: usize) -> String {
    if count == 1 {
        "1 changed line differs".to_owned()
    } else {
        format!("{count} changed lines differ")
    }
}

/// Which numbers count as times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recognise {
    /// 9 or 10 digit numbers are seconds since 1970 (only for files known to hold them).
    pub epoch_seconds: bool,
}

/// Where the changed lines come from.
#[derive(Debug, Clone)]
enum Lines<'a> {
    /// Both whole texts.
    Whole { old: &'a [u8], new: &'a [u8] },
    /// The removed and the added lines of a diff, in order.
    Changed {
        removed: Vec<&'a [u8]>,
        added: Vec<&'a [u8]>,
    },
}

/// A change between two texts, classified on demand (each classification is computed once).
#[derive(Debug, Clone)]
pub struct TextChange<'a> {
    lines: Lines<'a>,
    plain: OnceCell<Classification>,
    with_epoch: OnceCell<Classification>,
}

impl<'a> TextChange<'a> {
    /// Both sides' whole texts (a caller that cut a file must not pass the cut texts as whole ones).
    pub fn new(old: &'a [u8], new: &'a [u8]) -> TextChange<'a> {
        TextChange::from_lines(Lines::Whole { old, new })
    }

    /// The changed lines of a line diff the caller already made with `similar` over `old` and `new`
    /// (lines with or without their `\n`, as long as both sides are cut the same way). The k-th removed
    /// line is compared with the k-th added line.
    pub fn from_diff(old: &[&'a str], new: &[&'a str], ops: &[DiffOp]) -> TextChange<'a> {
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        for op in ops {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            if tag == DiffTag::Equal {
                continue;
            }
            removed.extend(
                old.get(old_range)
                    .unwrap_or_default()
                    .iter()
                    .map(|l| l.as_bytes()),
            );
            added.extend(
                new.get(new_range)
                    .unwrap_or_default()
                    .iter()
                    .map(|l| l.as_bytes()),
            );
        }
        TextChange::from_lines(Lines::Changed { removed, added })
    }

    fn from_lines(lines: Lines<'a>) -> TextChange<'a> {
        TextChange {
            lines,
            plain: OnceCell::new(),
            with_epoch: OnceCell::new(),
        }
    }

    pub fn classify(&self, recognise: Recognise) -> Classification {
        let cell = if recognise.epoch_seconds {
            &self.with_epoch
        } else {
            &self.plain
        };
        *cell.get_or_init(|| self.compute(recognise))
    }

    fn compute(&self, recognise: Recognise) -> Classification {
        if self.size() > MAX_TEXT_BYTES {
            return Classification {
                kind: ChangeKind::TooLarge,
                changed_lines: 0,
            };
        }
        let mut seen = Seen::default();
        let mut changed_lines = 0;
        let complete = self.for_each_changed_pair(|old, new| {
            changed_lines += 1;
            compare_line(old, new, recognise, &mut seen)
        });
        if !complete {
            return Classification::other();
        }
        let kind = match (seen.timestamps, seen.build_paths) {
            (false, false) => ChangeKind::Unchanged,
            (true, false) => ChangeKind::Timestamps,
            (false, true) => ChangeKind::BuildPaths,
            (true, true) => ChangeKind::TimestampsAndBuildPaths,
        };
        Classification {
            kind,
            changed_lines,
        }
    }

    /// Whether every changed line differs from its counterpart only in the given fields (1-based) when
    /// cut at `separator`: the number of changed lines if so.
    pub fn only_fields_differ(&self, separator: u8, fields: &[usize]) -> Option<usize> {
        if self.size() > MAX_TEXT_BYTES {
            return None;
        }
        let fields: std::borrow::Cow<'_, [usize]> = if fields.is_sorted() {
            fields.into()
        } else {
            let mut sorted = fields.to_vec();
            sorted.sort_unstable();
            sorted.into()
        };
        let mut changed_lines = 0;
        let complete = self.for_each_changed_pair(|old, new| {
            changed_lines += 1;
            let (mut old_fields, mut new_fields) = (
                old.split(|b| *b == separator),
                new.split(|b| *b == separator),
            );
            let mut number = 1;
            loop {
                match (old_fields.next(), new_fields.next()) {
                    (None, None) => return true,
                    (Some(a), Some(b)) if a == b || fields.binary_search(&number).is_ok() => {
                        number += 1
                    }
                    _ => return false,
                }
            }
        });
        (complete && changed_lines > 0).then_some(changed_lines)
    }

    fn size(&self) -> usize {
        match &self.lines {
            Lines::Whole { old, new } => old.len().max(new.len()),
            Lines::Changed { removed, added } => {
                let total = |lines: &[&[u8]]| lines.iter().map(|l| l.len()).sum::<usize>();
                total(removed).max(total(added))
            }
        }
    }

    /// Calls `judge` on each pair of lines that differ, until it returns false. Returns false if it did,
    /// or if the sides have different numbers of lines (a line was added or removed).
    fn for_each_changed_pair(&self, mut judge: impl FnMut(&[u8], &[u8]) -> bool) -> bool {
        match &self.lines {
            Lines::Whole { old, new } => {
                let (mut old_lines, mut new_lines) =
                    (old.split(|b| *b == b'\n'), new.split(|b| *b == b'\n'));
                loop {
                    match (old_lines.next(), new_lines.next()) {
                        (None, None) => return true,
                        (Some(a), Some(b)) => {
                            if a != b && !judge(a, b) {
                                return false;
                            }
                        }
                        _ => return false,
                    }
                }
            }
            Lines::Changed { removed, added } => {
                removed.len() == added.len()
                    && removed
                        .iter()
                        .zip(added)
                        .all(|(a, b)| a == b || judge(a, b))
            }
        }
    }
}

/// Which kinds of token were seen to change.
#[derive(Debug, Default)]
struct Seen {
    timestamps: bool,
    build_paths: bool,
}

/// Whether two lines differ only in date/time tokens and build paths; records which did.
fn compare_line(old: &[u8], new: &[u8], recognise: Recognise, seen: &mut Seen) -> bool {
    let (mut old_tokens, mut new_tokens) =
        (Tokens::new(old, recognise), Tokens::new(new, recognise));
    loop {
        match (old_tokens.next(), new_tokens.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) => {
                let (a_text, b_text) = (&old[a.range.clone()], &new[b.range.clone()]);
                if a.kind != b.kind {
                    return false;
                }
                if a_text == b_text {
                    continue;
                }
                match a.kind {
                    TokenKind::Timestamp => seen.timestamps = true,
                    TokenKind::Path if is_build_path_change(a_text, b_text) => {
                        seen.build_paths = true;
                    }
                    _ => return false,
                }
                if same_rest(old, a.range.end, new, b.range.end) {
                    return true;
                }
            }
            _ => return false,
        }
    }
}

/// Whether the lines go on identically after `old_at` and `new_at`, so that the rest would be cut into
/// the same tokens: same bytes, after bytes of the same class (a token start depends on the byte
/// before). The common case, a log line whose only change is its leading timestamp, ends here.
fn same_rest(old: &[u8], old_at: usize, new: &[u8], new_at: usize) -> bool {
    let word_byte = |line: &[u8], at: usize| at > 0 && line[at - 1].is_ascii_alphanumeric();
    word_byte(old, old_at) == word_byte(new, new_at) && old[old_at..] == new[new_at..]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Timestamp,
    Path,
    /// Everything between the other two.
    Text,
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    range: Range<usize>,
}

/// A line cut into date/time tokens, absolute paths and the text between them.
struct Tokens<'l> {
    line: &'l [u8],
    at: usize,
    recognise: Recognise,
    /// A special token found while scanning text, returned after that text.
    pending: Option<Token>,
}

impl<'l> Tokens<'l> {
    fn new(line: &'l [u8], recognise: Recognise) -> Self {
        Tokens {
            line,
            at: 0,
            recognise,
            pending: None,
        }
    }

    fn special_at(&self, at: usize) -> Option<Token> {
        let byte = self.line[at];
        let may_start = byte.is_ascii_digit() || byte.is_ascii_uppercase() || byte == b'/';
        if !may_start || !starts_word(self.line, at) {
            return None;
        }
        if byte == b'/' {
            return path_at(self.line, at).map(|end| Token {
                kind: TokenKind::Path,
                range: at..end,
            });
        }
        timestamp_at(self.line, at, self.recognise.epoch_seconds).map(|end| Token {
            kind: TokenKind::Timestamp,
            range: at..end,
        })
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        if let Some(token) = self.pending.take() {
            self.at = token.range.end;
            return Some(token);
        }
        let start = self.at;
        let mut at = start;
        while at < self.line.len() {
            if let Some(token) = self.special_at(at) {
                if at == start {
                    self.at = token.range.end;
                    return Some(token);
                }
                self.pending = Some(token);
                break;
            }
            at += 1;
        }
        self.at = at;
        (at > start).then_some(Token {
            kind: TokenKind::Text,
            range: start..at,
        })
    }
}

/// An absolute path starting at `at` (a `/` at a word start): where it ends. `//host` (a URL's
/// authority) is not a path; `file:///tmp/x` holds one.
fn path_at(line: &[u8], at: usize) -> Option<usize> {
    if at > 0 && matches!(line[at - 1], b'.' | b'_' | b'-' | b'~' | b'/') {
        return None;
    }
    let slashes = line[at..].iter().take_while(|b| **b == b'/').count();
    if slashes == 2 {
        return None;
    }
    let length = line[at..].iter().take_while(|b| !ends_path(**b)).count();
    (length > slashes).then_some(at + length)
}

fn ends_path(byte: u8) -> bool {
    byte.is_ascii_whitespace()
        || matches!(
            byte,
            b'"' | b'\'' | b'`' | b'<' | b'>' | b'|' | b';' | b',' | b')' | b']' | b'}'
        )
}

/// Whether two different absolute paths differ only in a build or temporary directory: both lie under
/// one of [`BUILD_ROOTS`], and what differs (after their common leading and trailing components) is a
/// directory: not the file name at the end, unless that name sits right under the root
/// (`/tmp/tmp.AbC123`, `/tmp/pip-build-env-x1y2`).
///
/// `/var/tmp/rootfs/a.tmp/var/lib/x` vs `/var/tmp/rootfs/b.tmp/var/lib/x` qualify;
/// `/tmp/build/pkg_1.0.deb` vs `/tmp/build/pkg_1.1.deb` and `/usr/lib/a/x` vs `/usr/lib/b/x` do not.
pub(super) fn is_build_path_change(old: &[u8], new: &[u8]) -> bool {
    let (Some(old_root), Some(new_root)) = (build_root_depth(old), build_root_depth(new)) else {
        return false;
    };
    let (old, new) = (without_leading_slashes(old), without_leading_slashes(new));
    if old == new {
        return false;
    }
    let components = |path: &[u8]| path.iter().filter(|b| **b == b'/').count() + 1;
    let (old_count, new_count) = (components(old), components(new));
    let common_head = path_split(old)
        .zip(path_split(new))
        .take_while(|(a, b)| a == b)
        .count();
    let common_tail = old
        .rsplit(|b| *b == b'/')
        .zip(new.rsplit(|b| *b == b'/'))
        .take(old_count.min(new_count) - common_head)
        .take_while(|(a, b)| a == b)
        .count();
    // What differs on one side: components common_head..count - common_tail. A trailing `/` leaves an
    // empty last component; equal on both sides, it falls in the common tail and marks a directory.
    let only_directories = |path: &[u8], count: usize, root: usize| {
        let region = common_head..count - common_tail;
        let is_last = region.end == count && !region.is_empty();
        let names_a_file = is_last && !(region.len() == 1 && region.start == root);
        let no_empty = path_split(path)
            .skip(region.start)
            .take(region.len())
            .all(|c| !c.is_empty());
        !names_a_file && no_empty
    };
    only_directories(old, old_count, old_root) && only_directories(new, new_count, new_root)
}

fn path_split(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|b| *b == b'/')
}

fn without_leading_slashes(path: &[u8]) -> &[u8] {
    let start = path.iter().take_while(|b| **b == b'/').count();
    &path[start..]
}

/// How many components the build root the path lies under has, if it lies under one.
fn build_root_depth(path: &[u8]) -> Option<usize> {
    let path = without_leading_slashes(path);
    BUILD_ROOTS
        .iter()
        .filter(|root| path.starts_with(root.as_bytes()) && path.get(root.len()) == Some(&b'/'))
        .map(|root| root.split('/').count())
        .max()
}

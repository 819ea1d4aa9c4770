//! Which words changed inside a changed line. A removed line is paired with the added line that took
//! its place (the k-th removed with the k-th added, as the side-by-side view pairs them), both are split
//! into words, whitespace and punctuation, and the tokens that differ are marked for emphasis. A pair
//! with little in common gets no emphasis: marking nearly everything says nothing.
//!
//! Works on the lines as drawn (escaped, tabs expanded), so the marks are character offsets into what
//! the renderer draws.

use crate::text_diff::Budget;
use std::ops::Range;

use similar::{Algorithm, DiffOp};

use super::highlight::HlLine;
use crate::model::Sides;

/// Lines longer than this (characters) are not compared word by word.
const MAX_LINE_CHARS: usize = 1_000;
/// Above this share of changed characters on either side, a pair counts as unrelated.
const MAX_CHANGED_SHARE: f64 = 0.6;

/// Marks the changed words of every replaced line in `hunks`, until `budget` is spent.
pub(crate) fn mark_changed_words(
    hunks: &[Vec<DiffOp>],
    old: &mut [HlLine],
    new: &mut [HlLine],
    budget: Budget<'_>,
) {
    for op in hunks.iter().flatten() {
        let DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } = *op
        else {
            continue;
        };
        for k in 0..old_len.min(new_len) {
            if budget.spent() {
                return;
            }
            let (Some(removed), Some(added)) =
                (old.get_mut(old_index + k), new.get_mut(new_index + k))
            else {
                continue;
            };
            if let Some(changed) = changed_ranges(&removed.text(), &added.text()) {
                removed.emphasis = changed.input0;
                added.emphasis = changed.input1;
            }
        }
    }
}

/// The character ranges that differ on each side, or `None` when the lines are too long to compare or
/// have too little in common.
fn changed_ranges(old: &str, new: &str) -> Option<Sides<Vec<Range<usize>>>> {
    let (old_tokens, new_tokens) = (tokens(old), tokens(new));
    let (old_len, new_len) = (end_of(&old_tokens), end_of(&new_tokens));
    if old_len > MAX_LINE_CHARS || new_len > MAX_LINE_CHARS {
        return None;
    }
    let ops =
        similar::capture_diff_slices(Algorithm::Myers, &texts(&old_tokens), &texts(&new_tokens));
    let (mut in_old, mut in_new) = (Vec::new(), Vec::new());
    for op in ops {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag != similar::DiffTag::Equal {
            extend(&mut in_old, span_of(&old_tokens, old_range));
            extend(&mut in_new, span_of(&new_tokens, new_range));
        }
    }
    let share = |ranges: &[Range<usize>], len: usize| {
        ranges.iter().map(|r| r.len()).sum::<usize>() as f64 / len.max(1) as f64
    };
    if share(&in_old, old_len) > MAX_CHANGED_SHARE || share(&in_new, new_len) > MAX_CHANGED_SHARE {
        return None;
    }
    Some(Sides::new(in_old, in_new))
}

/// A word (letters, digits, `_`), a run of whitespace, or one other character, with its character
/// offsets in the line.
struct Token<'a> {
    text: &'a str,
    chars: Range<usize>,
}

fn tokens(line: &str) -> Vec<Token<'_>> {
    #[derive(PartialEq)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut tokens: Vec<Token<'_>> = Vec::new();
    let mut start: Option<(usize, usize, Class)> = None;
    let mut chars = 0;
    for (byte, c) in line.char_indices() {
        let this = class(c);
        let continues =
            matches!(&start, Some((_, _, open)) if *open == this && this != Class::Other);
        if !continues {
            if let Some((from_byte, from_char, _)) = start.take() {
                tokens.push(Token {
                    text: &line[from_byte..byte],
                    chars: from_char..chars,
                });
            }
            start = Some((byte, chars, this));
        }
        chars += 1;
    }
    if let Some((from_byte, from_char, _)) = start {
        tokens.push(Token {
            text: &line[from_byte..],
            chars: from_char..chars,
        });
    }
    tokens
}

fn texts<'a>(tokens: &[Token<'a>]) -> Vec<&'a str> {
    tokens.iter().map(|t| t.text).collect()
}

fn end_of(tokens: &[Token<'_>]) -> usize {
    tokens.last().map_or(0, |t| t.chars.end)
}

/// The characters covered by a range of tokens (empty for an empty range).
fn span_of(tokens: &[Token<'_>], range: Range<usize>) -> Range<usize> {
    match (
        tokens.get(range.start),
        range.end.checked_sub(1).and_then(|i| tokens.get(i)),
    ) {
        (Some(first), Some(last)) if !range.is_empty() => first.chars.start..last.chars.end,
        _ => 0..0,
    }
}

/// Adds a range, merging it into the last one when they touch.
fn extend(ranges: &mut Vec<Range<usize>>, range: Range<usize>) {
    if range.is_empty() {
        return;
    }
    match ranges.last_mut() {
        Some(last) if last.end >= range.start => last.end = last.end.max(range.end),
        _ => ranges.push(range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(line: &str, ranges: &[Range<usize>]) -> Vec<String> {
        let chars: Vec<char> = line.chars().collect();
        ranges
            .iter()
            .map(|r| chars[r.clone()].iter().collect())
            .collect()
    }

    #[test]
    fn only_the_changed_words_are_marked() {
        let (old, new) = ("let limit = compute(1, 2);", "let limit = compute(1, 30);");
        let changed = changed_ranges(old, new).expect("related lines");
        assert_eq!(marked(old, &changed.input0), ["2"]);
        assert_eq!(marked(new, &changed.input1), ["30"]);
    }

    #[test]
    fn an_insertion_marks_nothing_on_the_other_side() {
        let (old, new) = ("ENV PATH=/usr/bin", "ENV PATH=/usr/local/bin");
        let changed = changed_ranges(old, new).expect("related lines");
        assert!(changed.input0.is_empty(), "{changed:?}");
        assert_eq!(marked(new, &changed.input1), ["local/"]);
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let (old, new) = ("ñame = «a»", "ñame = «b»");
        let changed = changed_ranges(old, new).expect("related lines");
        assert_eq!(marked(old, &changed.input0), ["a"]);
        assert_eq!(marked(new, &changed.input1), ["b"]);
    }

    #[test]
    fn unrelated_and_overlong_lines_get_no_marks() {
        assert_eq!(changed_ranges("fn main() {", "# a comment here"), None);
        let long = "x ".repeat(MAX_LINE_CHARS);
        assert_eq!(changed_ranges(&long, &format!("{long}y")), None);
    }
}

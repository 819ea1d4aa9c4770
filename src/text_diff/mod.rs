//! Line diffs of two texts, as the explorer's content pane and the HTML report show them: the same
//! hunks with the same context, the same rows and `@@` headers, and (in [`highlight`]) the same
//! syntax colours. Presentation-neutral: the callers draw the rows.

pub mod highlight;

use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp};

/// How long the optional, slow steps (highlighting, word marks) may run: until the time budget is
/// spent or the text is no longer wanted (the explorer's selection moved on), whichever comes first.
#[derive(Clone, Copy)]
pub struct Budget<'w> {
    until: Instant,
    wanted: &'w dyn Fn() -> bool,
}

impl<'w> Budget<'w> {
    pub fn new(time: Duration, wanted: &'w dyn Fn() -> bool) -> Budget<'w> {
        Budget {
            until: Instant::now() + time,
            wanted,
        }
    }

    /// A time budget alone.
    pub fn time(time: Duration) -> Budget<'static> {
        Budget::new(time, &|| true)
    }

    pub fn spent(&self) -> bool {
        Instant::now() > self.until || !(self.wanted)()
    }
}

/// Unchanged lines kept around each change.
pub const CONTEXT_LINES: usize = 3;

/// What a row of a hunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineTag {
    Equal,
    Delete,
    Insert,
}

/// The hunks of a line diff of `old` and `new` (lines with their endings), with [`CONTEXT_LINES`]
/// of context. Past `timeout` the diff is coarser (larger hunks), never wrong.
pub fn line_hunks(old: &[&str], new: &[&str], timeout: Duration) -> Vec<Vec<DiffOp>> {
    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Histogram,
        old,
        new,
        Some(Instant::now() + timeout),
    );
    similar::group_diff_ops(ops, CONTEXT_LINES)
}

/// The rows of one op of a hunk, as a unified diff lists them: (tag, old line index, new line
/// index); a replacement is its removed lines, then its added ones.
pub fn op_rows(op: &DiffOp) -> impl Iterator<Item = (LineTag, Option<usize>, Option<usize>)> {
    let (_, old, new) = op.as_tag_tuple();
    let equal = matches!(op, DiffOp::Equal { .. });
    let deletes = old.clone().filter(move |_| !equal);
    let inserts = new.clone().filter(move |_| !equal);
    let equals = old.zip(new).filter(move |_| equal);
    equals
        .map(|(o, n)| (LineTag::Equal, Some(o), Some(n)))
        .chain(deletes.map(|o| (LineTag::Delete, Some(o), None)))
        .chain(inserts.map(|n| (LineTag::Insert, None, Some(n))))
}

/// `@@ -a,b +c,d @@`; an empty range starts at the line before it, as in `diff -u`.
pub fn hunk_header(hunk: &[DiffOp]) -> String {
    let (Some(first), Some(last)) = (hunk.first(), hunk.last()) else {
        return String::new();
    };
    let range = |start: usize, end: usize| {
        let len = end.saturating_sub(start);
        let shown = if len == 0 { start } else { start + 1 };
        format!("{shown},{len}")
    };
    format!(
        "@@ -{} +{} @@",
        range(first.old_range().start, last.old_range().end),
        range(first.new_range().start, last.new_range().end)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_replacement_are_its_removed_then_its_added_lines_with_diff_u_headers() {
        let old = ["a\n", "b\n", "c\n"];
        let new = ["a\n", "B\n", "B2\n", "c\n"];
        let hunks = line_hunks(&old, &new, Duration::from_secs(1));
        assert_eq!(hunks.len(), 1);
        assert_eq!(hunk_header(&hunks[0]), "@@ -1,3 +1,4 @@");
        let rows: Vec<_> = hunks[0].iter().flat_map(op_rows).collect();
        assert_eq!(
            rows,
            [
                (LineTag::Equal, Some(0), Some(0)),
                (LineTag::Delete, Some(1), None),
                (LineTag::Insert, None, Some(1)),
                (LineTag::Insert, None, Some(2)),
                (LineTag::Equal, Some(2), Some(3)),
            ]
        );
        let added = line_hunks(&[], &["x\n"], Duration::from_secs(1));
        assert_eq!(hunk_header(&added[0]), "@@ -0,0 +1,1 @@");
    }
}

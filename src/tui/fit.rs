//! Fitting text into a pane without cutting anything silently: a line wider than the pane shows a mark
//! where it continues (`›` on the right, `‹` on the left once scrolled), or is wrapped; names and
//! titles are shortened in the middle, at a `/` where they can be, so the end (where two paths usually
//! differ) stays.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// Drawn where a line continues past the pane's right edge.
pub const MORE_RIGHT: &str = "›";
/// Drawn at the left edge of a line scrolled horizontally.
pub const MORE_LEFT: &str = "‹";
/// Drawn at the start of a wrapped line's continuation.
pub const CONTINUED: &str = "↪";
/// Stands for what a shortened name leaves out.
pub const ELLIPSIS: char = '…';

fn mark_style() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

fn char_width(c: char) -> usize {
    let mut buf = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

/// Display width of a string.
pub fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// The line's characters with their styles and widths.
fn cells(line: &Line<'_>) -> Vec<(char, Style, usize)> {
    line.spans
        .iter()
        .flat_map(|span| {
            let style = line.style.patch(span.style);
            span.content.chars().map(move |c| (c, style, char_width(c)))
        })
        .collect()
}

/// Collects cells into spans of equal style.
fn spans_of(cells: impl IntoIterator<Item = (char, Style)>) -> Vec<Span<'static>> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut current: Option<Style> = None;
    for (c, style) in cells {
        if current != Some(style) {
            if let Some(style) = current {
                spans.push(Span::styled(std::mem::take(&mut text), style));
            }
            current = Some(style);
        }
        text.push(c);
    }
    if let Some(style) = current {
        spans.push(Span::styled(text, style));
    }
    spans
}

/// Pads a line with spaces in its own style (a diff line's tint) up to `width` columns.
fn padded(mut line: Line<'static>, width: usize) -> Line<'static> {
    let used = line.width();
    if used < width && line.style.bg.is_some() {
        line.spans
            .push(Span::styled(" ".repeat(width - used), line.style));
    }
    line
}

/// The columns `[from, from + width)` of a line, the first `fixed` columns (a diff sign) always kept:
/// `‹` marks hidden text on the left, `›` on the right.
pub fn window(line: &Line<'static>, fixed: usize, from: usize, width: usize) -> Line<'static> {
    let total = line.width();
    if from == 0 && total <= width {
        return padded(line.clone(), width);
    }
    let cells = cells(line);
    let mut out: Vec<(char, Style)> = Vec::new();
    let mut used = 0;
    let mut column = 0;
    let mut rest = cells.iter().peekable();
    while let Some(&&(c, style, w)) = rest.peek() {
        if column + w > fixed.min(width) {
            break;
        }
        out.push((c, style));
        used += w;
        column += w;
        rest.next();
    }
    // A line that ends left of the window shows nothing (the pane's border says it is scrolled).
    let left = from > 0 && total > column + from;
    let start = column + from + usize::from(left);
    let right = total > start + width.saturating_sub(used + usize::from(left));
    let room = width.saturating_sub(used + usize::from(left) + usize::from(right));
    let mut shown: Vec<(char, Style)> = Vec::new();
    let mut taken = 0;
    for &(c, style, w) in rest {
        if column >= start && taken + w <= room {
            shown.push((c, style));
            taken += w;
        } else if column < start && column + w > start && taken < room {
            // A wide character cut by the left edge: a blank in its place.
            shown.push((' ', style));
            taken += 1;
        }
        column += w;
        if taken >= room && column >= start {
            break;
        }
    }
    let mut spans = spans_of(out);
    if left {
        spans.push(Span::styled(MORE_LEFT, mark_style()));
    }
    spans.extend(spans_of(shown));
    if right {
        spans.push(Span::styled(MORE_RIGHT, mark_style()));
    }
    let mut fitted = Line::from(spans);
    fitted.style = line.style;
    if right { fitted } else { padded(fitted, width) }
}

/// A line cut into pieces of at most `width` columns; each piece after the first starts with `↪`
/// below the first `fixed` columns (a diff sign stays a column of its own).
pub fn wrap(line: &Line<'static>, fixed: usize, width: usize) -> Vec<Line<'static>> {
    if line.width() <= width || width <= fixed + 1 {
        return vec![padded(line.clone(), width)];
    }
    let cells = cells(line);
    let mut pieces: Vec<Vec<(char, Style)>> = vec![Vec::new()];
    let mut used = 0;
    for (i, &(c, style, w)) in cells.iter().enumerate() {
        if used + w > width && i > 0 {
            let mut next: Vec<(char, Style)> = (0..fixed).map(|_| (' ', line.style)).collect();
            next.push(('↪', line.style.add_modifier(Modifier::DIM)));
            used = fixed + 1;
            pieces.push(next);
        }
        if let Some(piece) = pieces.last_mut() {
            piece.push((c, style));
        }
        used += w;
    }
    pieces
        .into_iter()
        .map(|piece| {
            let mut line_out = Line::from(spans_of(piece));
            line_out.style = line.style;
            padded(line_out, width)
        })
        .collect()
}

/// A name or title in at most `max` columns: the start and the end kept, `…` between, cut at `/`
/// where that keeps enough (`oci:/var/…/deb-a`).
pub fn shorten_middle(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    if max <= 1 {
        return ELLIPSIS.to_string().chars().take(max).collect();
    }
    let budget = max - 1;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    // The end matters most (a file name, a tag): up to two thirds of the room, or the whole last
    // component if it leaves room for a start; at a `/` if one fits.
    let last = text.rfind('/').map_or(0, |slash| width(&text[slash..]));
    let tail_room = (budget * 2)
        .div_ceil(3)
        .max(if last < budget { last } else { 0 });
    let tail_start = suffix_start(text.len(), &chars, tail_room);
    let tail = &text[tail_start..];
    let head_room = budget - width(tail);
    let head_end = prefix_end(&chars, head_room);
    format!("{}{ELLIPSIS}{tail}", &text[..head_end])
}

/// The start of a text in at most `max` columns, `…` marking the cut.
pub fn shorten_end(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    if max > 0 {
        out.push(ELLIPSIS);
    }
    out
}

/// Where the longest suffix of at most `room` columns starts: at a `/` if one fits, else anywhere.
fn suffix_start(len: usize, chars: &[(usize, char)], room: usize) -> usize {
    let mut used = 0;
    let mut start = len;
    let mut at_slash = None;
    for &(i, c) in chars.iter().rev() {
        let w = char_width(c);
        if used + w > room {
            break;
        }
        used += w;
        start = i;
        if c == '/' {
            at_slash = Some(i);
        }
    }
    at_slash.unwrap_or(start)
}

/// Where the longest prefix of at most `room` columns ends: after a `/` if one fits, else anywhere.
fn prefix_end(chars: &[(usize, char)], room: usize) -> usize {
    let mut used = 0;
    let mut end = 0;
    let mut at_slash = None;
    for &(i, c) in chars {
        let w = char_width(c);
        if used + w > room {
            break;
        }
        used += w;
        end = i + c.len_utf8();
        if c == '/' {
            at_slash = Some(end);
        }
    }
    // A cut at a slash is nicer, unless it throws most of the room away.
    match at_slash {
        Some(slash) if slash * 2 >= end => slash,
        _ => end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line<'_>) -> String {
        line.to_string()
    }

    #[test]
    fn names_are_shortened_in_the_middle_at_slashes() {
        assert_eq!(
            shorten_middle("oci:/var/tmp/testbed/layouts/deb-a", 16),
            "oci:/var/…/deb-a"
        );
        assert_eq!(
            shorten_middle("oci:/var/tmp/testbed/layouts/deb-a-zstd", 21),
            "oci:/var/…/deb-a-zstd"
        );
        assert_eq!(shorten_middle("short", 10), "short");
        let cut = shorten_middle("abcdefghijklmnopqrstuvwxyz", 10);
        assert_eq!(width(&cut), 10);
        assert!(cut.starts_with("abc") && cut.ends_with("xyz"), "{cut}");
        assert_eq!(shorten_middle("abcdef", 1), "…");
        assert_eq!(shorten_middle("abcdef", 0), "");
        assert_eq!(shorten_end("2023-11-14T22:13:20Z", 14), "2023-11-14T22…");
        assert_eq!(shorten_end("abc", 3), "abc");
    }

    #[test]
    fn a_long_line_is_marked_where_it_continues_and_scrolls_with_its_sign_kept() {
        let line = Line::from(vec![Span::raw("+"), Span::raw("0123456789abcdef")]);
        assert_eq!(text(&window(&line, 1, 0, 8)), "+012345›");
        assert_eq!(text(&window(&line, 1, 4, 8)), "+‹56789›");
        assert_eq!(text(&window(&line, 1, 12, 8)), "+‹def");
        assert_eq!(text(&window(&line, 1, 0, 40)), "+0123456789abcdef");
        assert_eq!(text(&window(&line, 1, 30, 8)), "+");
    }

    #[test]
    fn wrapping_keeps_every_character_and_marks_continuations() {
        let line = Line::from(vec![Span::raw("+"), Span::raw("0123456789abcdef")]);
        let pieces: Vec<String> = wrap(&line, 1, 8).iter().map(text).collect();
        assert_eq!(pieces, ["+0123456", " ↪789abc", " ↪def"]);
        let joined: String = pieces
            .iter()
            .map(|p| p.trim_start_matches(' ').trim_start_matches('↪'))
            .collect();
        assert_eq!(joined, "+0123456789abcdef");
    }
}

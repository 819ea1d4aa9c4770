//! Names from images are hostile: they may hold invalid UTF-8, control characters and terminal escape
//! sequences. These helpers make them safe to keep and to print.

use std::fmt::Write as _;

/// A tar name as a `String`: valid UTF-8 is kept as is, each invalid byte becomes `\xNN` and a
/// backslash `\\`. The mapping is one-to-one, so two names are equal exactly when their bytes are, and
/// two different names never collapse into one path, one tree row or one report file.
pub fn name_from_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        if valid.contains('\\') {
            out.push_str(&valid.replace('\\', "\\\\"));
        } else {
            out.push_str(valid);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Escapes control characters (C0, DEL, C1) and a few invisible format characters so that a name printed
/// to a terminal or a text report can never move the cursor, change colours or hide text.
pub fn escape_control(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_kept_distinct_and_printable() {
        assert_eq!(name_from_bytes(b"a\xffb"), "a\\xffb");
        assert_eq!(name_from_bytes("é".as_bytes()), "é");
        // A name spelling out the escape is another name.
        assert_eq!(name_from_bytes(b"a\\xffb"), "a\\\\xffb");
        let names: [&[u8]; 4] = [b"a\xffb", b"a\xfeb", b"a\\xffb", b"a\\\\xffb"];
        let shown: std::collections::HashSet<String> =
            names.iter().map(|n| name_from_bytes(n)).collect();
        assert_eq!(shown.len(), names.len(), "{shown:?}");
    }

    #[test]
    fn escape_sequences_become_inert() {
        let hostile = "evil\u{1b}[2J\u{1b}]0;title\u{7}\u{9b}31m\u{202e}txt";
        let shown = escape_control(hostile);
        assert!(!shown.chars().any(needs_escape), "{shown}");
        assert_eq!(
            shown,
            "evil\\u{1b}[2J\\u{1b}]0;title\\u{7}\\u{9b}31m\\u{202e}txt"
        );
        assert_eq!(escape_control("plain/name"), "plain/name");
    }
}

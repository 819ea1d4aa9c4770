//! `Field: value` paragraphs separated by blank lines, with continuation lines that start with a space or
//! a tab: dpkg's control files (deb822) and Python's core metadata (email headers) alike.

use crate::model::name_from_bytes;

/// One paragraph: its exact bytes (a record to compare between images) and its fields.
pub(super) struct Stanza<'a> {
    pub(super) text: &'a [u8],
    fields: Vec<(&'a [u8], Vec<&'a [u8]>)>,
}

impl Stanza<'_> {
    /// The first line of field `name` (case-insensitive), trimmed; `None` when absent or empty.
    pub(super) fn get(&self, name: &str) -> Option<String> {
        let (_, lines) = self.field(name)?;
        let value = name_from_bytes(lines.first()?.trim_ascii());
        (!value.is_empty()).then_some(value)
    }

    /// The continuation lines of field `name`, trimmed, empty ones left out.
    pub(super) fn lines(&self, name: &str) -> Vec<String> {
        self.field(name).map_or_else(Vec::new, |(_, lines)| {
            lines
                .iter()
                .skip(1)
                .map(|line| name_from_bytes(line.trim_ascii()))
                .filter(|line| !line.is_empty())
                .collect()
        })
    }

    fn field(&self, name: &str) -> Option<&(&[u8], Vec<&[u8]>)> {
        self.fields
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name.as_bytes()))
    }
}

/// Every paragraph of `text`. Lines without a colon outside a field are skipped.
pub(super) fn parse(text: &[u8]) -> Vec<Stanza<'_>> {
    let mut stanzas = Vec::new();
    let mut start = None;
    let mut fields: Vec<(&[u8], Vec<&[u8]>)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        let line_start = offset;
        offset += line.len();
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.trim_ascii().is_empty() {
            if let Some(begin) = start.take() {
                stanzas.push(Stanza {
                    text: &text[begin..line_start],
                    fields: std::mem::take(&mut fields),
                });
            }
            continue;
        }
        start.get_or_insert(line_start);
        if content.starts_with(b" ") || content.starts_with(b"\t") {
            if let Some((_, lines)) = fields.last_mut() {
                lines.push(content);
            }
        } else if let Some(colon) = content.iter().position(|&b| b == b':') {
            fields.push((content[..colon].trim_ascii(), vec![&content[colon + 1..]]));
        }
    }
    if let Some(begin) = start {
        stanzas.push(Stanza {
            text: &text[begin..],
            fields,
        });
    }
    stanzas
}

/// The header paragraph only (Python's METADATA: the body after it is the long description).
pub(super) fn parse_headers(text: &[u8]) -> Option<Stanza<'_>> {
    let end = text
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(text.len(), |p| p + 1);
    parse(&text[..end]).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_fields_and_continuations() {
        let text = b"Package: a\nStatus: install ok installed\nConffiles:\n /etc/a 0123\n .\n\n\n\
                     package: b\r\nDescription: short\r\n long\r\nnot a field\n";
        let stanzas = parse(text);
        assert_eq!(stanzas.len(), 2);
        assert_eq!(stanzas[0].get("Package").as_deref(), Some("a"));
        assert_eq!(stanzas[0].lines("Conffiles"), ["/etc/a 0123", "."]);
        assert_eq!(stanzas[0].get("conffiles"), None, "empty first line");
        assert!(stanzas[0].text.ends_with(b" .\n"));
        assert_eq!(stanzas[1].get("PACKAGE").as_deref(), Some("b"));
        assert_eq!(stanzas[1].lines("Description"), ["long"]);
        assert_eq!(stanzas[1].get("Version"), None);
    }

    #[test]
    fn headers_stop_at_the_first_blank_line() {
        let text = b"Name: x\nVersion: 1.0\n\nName: body text\n";
        let headers = parse_headers(text).unwrap();
        assert_eq!(headers.get("name").as_deref(), Some("x"));
        assert_eq!(headers.get("version").as_deref(), Some("1.0"));
        assert!(parse_headers(b"").is_none());
    }

    #[test]
    fn hostile_bytes_do_not_break_parsing() {
        // a line of blanks separates paragraphs too (deb822(5) allows it)
        let stanzas = parse(b"\xff\xfe: \xff\n \n:\n\n\n:::\nPackage: \xc3(\n");
        assert_eq!(stanzas.len(), 3);
        assert_eq!(
            stanzas[0].get("\\xff\\xfe"),
            None,
            "names are bytes, not escapes"
        );
        assert_eq!(stanzas[2].get("package").as_deref(), Some("\\xc3("));
    }
}

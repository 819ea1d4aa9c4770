//! The command line that reproduces what the explorer shows (inputs in their current order, ignore
//! options and paths, view, selected path), and putting it on the clipboard with OSC 52.

use std::io::{self, Write};

use crate::filter::{Filter, IgnoreOption, View};

use super::labels::view_flag;

/// What the command is built from.
pub struct CommandParts<'a> {
    pub specs: &'a [String; 2],
    pub filter: &'a Filter,
    pub view: View,
    /// The selected path, if an entry or directory is selected.
    pub select: Option<&'a str>,
    /// Arguments of the original command line that choose what is compared (`--platform`...).
    pub extra_args: &'a [String],
}

pub fn reproduce(parts: &CommandParts<'_>) -> String {
    let mut args: Vec<String> = vec!["ocidiff-tui".into()];
    let options = parts.filter.options();
    let semantic = IgnoreOption::SEMANTIC.iter().all(|o| options.contains(o));
    if semantic {
        args.push("--semantic".into());
    }
    for option in options {
        if !(semantic && IgnoreOption::SEMANTIC.contains(option)) {
            args.push(format!("--{}", option.flag()));
        }
    }
    for pattern in parts.filter.patterns() {
        args.push("--ignore-path".into());
        args.push(pattern.clone());
    }
    if parts.view != View::Auto {
        args.push("--view".into());
        args.push(view_flag(parts.view).into());
    }
    if let Some(path) = parts.select {
        args.push("--select".into());
        args.push(path.to_owned());
    }
    args.extend(parts.extra_args.iter().cloned());
    args.extend(parts.specs.iter().cloned());
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes a word for a POSIX shell (bash's `$'…'` where it holds control characters, so that
/// pasting the command cannot send them to a terminal).
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,@+%^".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_owned();
    }
    if !word.chars().any(char::is_control) {
        return format!("'{}'", word.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for c in word.chars() {
        match c {
            '\'' => out.push_str(r"\'"),
            '\\' => out.push_str(r"\\"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The OSC 52 sequence that sets the system clipboard (`c`) to `text`.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

/// Writes the OSC 52 sequence to the terminal.
pub fn copy_to_clipboard(text: &str, out: &mut impl Write) -> io::Result<()> {
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(TABLE[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn words_are_quoted_only_when_needed_and_control_characters_never_go_through() {
        assert_eq!(shell_quote("oci:/var/tmp/a"), "oci:/var/tmp/a");
        assert_eq!(shell_quote("it's here"), r"'it'\''s here'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("evil\x1b[2J"), r"$'evil\x1b[2J'");
    }

    #[test]
    fn the_command_names_the_options_the_view_the_path_and_the_inputs() {
        let filter = Filter::new(
            &[IgnoreOption::FileTimestamps, IgnoreOption::Owner],
            &["var/log".into()],
        )
        .unwrap();
        let specs = ["oci:b".to_owned(), "oci:a dir".to_owned()];
        let extra = ["--platform".to_owned(), "linux/amd64".to_owned()];
        let command = reproduce(&CommandParts {
            specs: &specs,
            filter: &filter,
            view: View::Merged,
            select: Some("etc/app.toml"),
            extra_args: &extra,
        });
        assert_eq!(
            command,
            "ocidiff-tui --ignore-file-timestamps --ignore-owner --ignore-path var/log --view merged \
             --select etc/app.toml --platform linux/amd64 oci:b 'oci:a dir'"
        );
        let semantic = Filter::new(&IgnoreOption::SEMANTIC, &[]).unwrap();
        let command = reproduce(&CommandParts {
            specs: &specs,
            filter: &semantic,
            view: View::Auto,
            select: None,
            extra_args: &[],
        });
        assert_eq!(command, "ocidiff-tui --semantic oci:b 'oci:a dir'");
    }
}

//! Paths as databases spell them, turned into the engine's canonical image paths.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::model::name_from_bytes;

/// A database's spelling of a path (`/usr/bin/x`, `usr/bin/x`, `./x`, with `..` or doubled slashes) as a
/// canonical image path: relative, no `.` or `..` components. `None` for the root itself and for a path
/// that climbs above it.
pub(super) fn clean(raw: &str) -> Option<String> {
    let relative = raw.trim_start_matches('/');
    if is_canonical(relative) {
        return Some(relative.to_owned());
    }
    join("", raw)
}

/// [`clean`] of a name as a database's bytes spell it, decoded as [`name_from_bytes`] decodes tar
/// names; one allocation for the usual valid UTF-8 name without backslashes.
pub(super) fn clean_bytes(raw: &[u8]) -> Option<String> {
    match std::str::from_utf8(raw) {
        Ok(text) if !text.contains('\\') => clean(text),
        _ => clean(&name_from_bytes(raw)),
    }
}

/// Relative, not empty, and no empty, `.` or `..` component.
fn is_canonical(relative: &str) -> bool {
    !relative.is_empty()
        && relative
            .as_bytes()
            .split(|&b| b == b'/')
            .all(|part| !matches!(part, b"" | b"." | b".."))
}

/// `relative` resolved lexically against the directory `base` (itself canonical), as [`clean`] does.
/// An absolute `relative` starts again from the root.
pub(super) fn join(base: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = if relative.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The directory holding `path` (`""` at the top).
pub(super) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The last component of `path`.
pub(super) fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

/// The image's top-level directory symlinks (usr-merge: `bin -> usr/bin`, `lib -> usr/lib`...), so that a
/// database's `/bin/sh` and the image's `usr/bin/sh` are the same path. Only links whose target stays
/// inside the image and is not itself the top are used; with none, paths are left alone.
#[derive(Debug, Clone, Default)]
pub(super) struct Aliases {
    top: BTreeMap<String, String>,
}

impl Aliases {
    pub(super) fn new(symlinks: &BTreeMap<String, String>) -> Aliases {
        let top = symlinks
            .iter()
            .filter_map(|(link, target)| {
                let target = clean(target)?;
                (target != *link && !target.starts_with(&format!("{link}/")))
                    .then(|| (link.clone(), target))
            })
            .collect();
        Aliases { top }
    }

    /// `path` with a first component that is an aliased link replaced by the link's target. The link
    /// itself (a path with one component) is left alone: it is the symlink, not the directory.
    pub(super) fn resolve<'a>(&self, path: &'a str) -> Cow<'a, str> {
        if let Some((first, rest)) = path.split_once('/')
            && let Some(target) = self.top.get(first)
        {
            return Cow::Owned(format!("{target}/{rest}"));
        }
        Cow::Borrowed(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_turns_database_spellings_into_image_paths() {
        assert_eq!(clean("/usr/bin/x").as_deref(), Some("usr/bin/x"));
        assert_eq!(clean("usr//bin/./x").as_deref(), Some("usr/bin/x"));
        assert_eq!(clean("/."), None);
        assert_eq!(clean("/"), None);
        assert_eq!(clean("../../etc/passwd"), None, "above the root");
        assert_eq!(clean("a/../../b"), None);
        assert_eq!(
            join("usr/lib/python3/site-packages", "../../../bin/tool").as_deref(),
            Some("usr/bin/tool")
        );
        assert_eq!(join("usr/lib", "/etc/x").as_deref(), Some("etc/x"));
    }

    #[test]
    fn clean_bytes_decodes_as_tar_names_are_decoded() {
        assert_eq!(clean_bytes(b"/usr/bin/x").as_deref(), Some("usr/bin/x"));
        assert_eq!(clean_bytes(b"/usr/a\\b").as_deref(), Some("usr/a\\\\b"));
        assert_eq!(clean_bytes(b"/usr/\xff//x").as_deref(), Some("usr/\\xff/x"));
        assert_eq!(clean_bytes(b"/.."), None);
        for raw in [&b"/etc/a b"[..], b"./x/./y", b"a\\b/../c", b"\xc3\xa9t\xe9"] {
            assert_eq!(clean_bytes(raw), clean(&name_from_bytes(raw)), "{raw:?}");
        }
    }

    #[test]
    fn aliases_follow_usr_merge_links_only_into_the_image() {
        let links: BTreeMap<String, String> = [
            ("bin", "usr/bin"),
            ("lib", "/usr/lib"),
            ("sbin", "../../usr/sbin"),
            ("loop", "loop/x"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let aliases = Aliases::new(&links);
        assert_eq!(aliases.resolve("bin/sh"), "usr/bin/sh");
        assert_eq!(
            aliases.resolve("lib/terminfo/a/ansi"),
            "usr/lib/terminfo/a/ansi"
        );
        assert_eq!(aliases.resolve("bin"), "bin", "the link itself");
        assert_eq!(
            aliases.resolve("sbin/init"),
            "sbin/init",
            "climbs out of the image"
        );
        assert_eq!(aliases.resolve("loop/a"), "loop/a");
        assert_eq!(aliases.resolve("usr/bin/sh"), "usr/bin/sh");
        assert_eq!(Aliases::default().resolve("bin/sh"), "bin/sh");
    }
}

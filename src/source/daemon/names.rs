//! Image names as engines store them: Docker-style normalisation (`alpine` is
//! `docker.io/library/alpine:latest`), and the check that a name is one at all before it goes into a
//! request path.

use super::super::SourceError;

/// Refuses anything that is not an image name, an image id or `name@digest`: the name becomes part
/// of an API path, so `?`, `#`, spaces, `..` segments and the like must never reach the engine.
pub(super) fn check(spec: &str, name: &str) -> Result<(), SourceError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-/:@".contains(c);
    let bad_component = name
        .split('/')
        .any(|c| c.is_empty() || c.starts_with('.') || c.starts_with('-'));
    if name.is_empty() || !name.chars().all(allowed) || bad_component {
        return Err(SourceError::Unsupported {
            spec: spec.to_owned(),
            reason: "not an image name (expected NAME[:TAG][@DIGEST] or an image id)".into(),
        });
    }
    Ok(())
}

/// Whether `name` is an image id (`sha256:HEX` or a hex prefix of 12 or more digits) rather than a
/// name.
fn is_id(name: &str) -> bool {
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    hex.len() >= 12 && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The fully qualified form Docker gives a name: a registry host (`docker.io` when the first
/// component is not one), `library/` for official docker.io images, and `:latest` when there is
/// neither a tag nor a digest. Ids are returned as they are.
pub(super) fn normalise(name: &str) -> String {
    if is_id(name) {
        return name.to_owned();
    }
    let (domain, path) = split_domain(name);
    let domain = domain.unwrap_or("docker.io");
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_owned()
    };
    format!("{domain}/{}", with_default_tag(&path))
}

/// The name Podman tries first for a name without a registry: `localhost/NAME[:latest]`.
pub(super) fn podman_local(name: &str) -> Option<String> {
    match split_domain(name) {
        (None, path) if !is_id(name) => Some(format!("localhost/{}", with_default_tag(path))),
        _ => None,
    }
}

/// Whether a tag an engine reported (`testbed/a:latest`, `docker.io/testbed/a:latest`,
/// `localhost/a:1`) stands for the name the user gave.
pub(super) fn tag_matches(tag: &str, wanted: &str) -> bool {
    let tag = normalise(tag);
    tag == normalise(wanted) || podman_local(wanted).is_some_and(|local| local == tag)
}

/// Splits off the registry host: the first component when it has a `.` or `:` or is `localhost`.
fn split_domain(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// `path` with `:latest` when it has neither a tag nor a digest.
pub(super) fn with_default_tag(path: &str) -> String {
    let last = path.rsplit('/').next().unwrap_or(path);
    if path.contains('@') || last.contains(':') {
        path.to_owned()
    } else {
        format!("{path}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_as_docker_does() {
        for (name, full) in [
            ("alpine", "docker.io/library/alpine:latest"),
            ("alpine:3.18", "docker.io/library/alpine:3.18"),
            ("testbed/a", "docker.io/testbed/a:latest"),
            ("docker.io/testbed/a:latest", "docker.io/testbed/a:latest"),
            ("localhost/x:1", "localhost/x:1"),
            ("localhost:5000/x", "localhost:5000/x:latest"),
            ("ghcr.io/o/r@sha256:abcd", "ghcr.io/o/r@sha256:abcd"),
            ("sha256:0123456789ab", "sha256:0123456789ab"),
            ("0123456789ab", "0123456789ab"),
        ] {
            assert_eq!(normalise(name), full, "{name}");
        }
    }

    #[test]
    fn engine_tags_match_short_and_qualified_names() {
        assert!(tag_matches("testbed/a:latest", "docker.io/testbed/a"));
        assert!(tag_matches("docker.io/testbed/a:latest", "testbed/a"));
        assert!(tag_matches("localhost/testbed/a:latest", "testbed/a"));
        assert!(tag_matches("docker.io/library/alpine:latest", "alpine"));
        assert!(!tag_matches("testbed/a:1", "testbed/a"));
        assert!(!tag_matches(
            "localhost/testbed/a:latest",
            "docker.io/testbed/a"
        ));
    }

    #[test]
    fn non_names_are_refused() {
        for name in [
            "", "../x", "a/../b", "a//b", "/a", "a?b", "a#b", "a b", "-a", "a\nb", "a/.b", "é",
        ] {
            assert!(check("docker://", name).is_err(), "{name:?} accepted");
        }
        for name in [
            "a",
            "testbed/a:latest",
            "localhost:5000/a@sha256:00",
            "sha256:ab",
        ] {
            assert!(check("docker://", name).is_ok(), "{name:?} refused");
        }
    }
}

//! Registry references: normalisation (oci-client's `Reference` does Docker Hub's rules) and the choice
//! between HTTPS and plain HTTP for a registry.

use std::net::IpAddr;

use oci_client::Reference;

use super::super::SourceError;

/// A parsed registry reference.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub reference: Reference,
}

impl Target {
    /// Parses a reference as Docker does: `alpine` is `docker.io/library/alpine:latest`; a tag and a
    /// digest may both be given, and the digest wins.
    pub fn parse(spec: &str) -> Result<Target, SourceError> {
        let invalid = |e: &dyn std::fmt::Display| SourceError::Unsupported {
            spec: spec.to_owned(),
            reason: format!("not an image reference: {e}"),
        };
        if spec.starts_with('[') {
            return parse_ipv6(spec)
                .map_err(|e| invalid(&e))
                .map(|reference| Target { reference });
        }
        let reference: Reference = spec.parse().map_err(|e| invalid(&e))?;
        Ok(Target { reference })
    }

    /// The registry's `host[:port]` as contacted (`index.docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        self.reference.resolve_registry()
    }

    pub fn repository(&self) -> &str {
        self.reference.repository()
    }

    /// The full normalised name, e.g. `docker.io/library/alpine:latest`.
    pub fn full_name(&self) -> String {
        self.reference.whole()
    }

    /// The tag, if one was given or implied and no digest overrides it.
    pub fn tag(&self) -> Option<&str> {
        self.reference.tag()
    }

    /// Whether the registry is on this machine (`localhost`, 127.0.0.0/8, ::1), which Docker reaches
    /// over plain HTTP when HTTPS is not offered.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(host_of(self.registry()))
    }

    /// Whether `--insecure-registry` names this registry: `HOST:PORT` exactly, or `HOST` for any port.
    pub fn is_listed(&self, insecure: &[String]) -> bool {
        let registry = self.registry();
        let host = host_of(registry);
        insecure.iter().any(|entry| {
            let entry = entry.trim_end_matches('/');
            let entry = entry
                .strip_prefix("http://")
                .or_else(|| entry.strip_prefix("https://"))
                .unwrap_or(entry);
            entry == registry || (entry == host && !entry.contains(':'))
        })
    }
}

/// `[ADDR]:PORT/REPOSITORY[:TAG][@DIGEST]`, as Docker takes it. The grammar oci-client follows has no
/// IPv6 literals: the rest is parsed under a stand-in host, then the literal is put back.
fn parse_ipv6(spec: &str) -> Result<Reference, String> {
    let (host, path) = spec
        .split_once('/')
        .ok_or("a registry without a repository")?;
    let address = host
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .filter(|(address, port)| {
            address.parse::<std::net::Ipv6Addr>().is_ok()
                && (port.is_empty()
                    || port
                        .strip_prefix(':')
                        .is_some_and(|p| p.parse::<u16>().is_ok()))
        });
    if address.is_none() {
        return Err(format!(
            "{host} is not an IPv6 address in brackets, with or without :PORT"
        ));
    }
    let stand_in: Reference = format!("ipv6.invalid/{path}")
        .parse()
        .map_err(|e: oci_client::ParseError| e.to_string())?;
    let (repository, host) = (stand_in.repository().to_owned(), host.to_owned());
    Ok(match (stand_in.tag(), stand_in.digest()) {
        (Some(tag), Some(digest)) => {
            Reference::with_tag_and_digest(host, repository, tag.into(), digest.into())
        }
        (None, Some(digest)) => Reference::with_digest(host, repository, digest.into()),
        (tag, None) => Reference::with_tag(host, repository, tag.unwrap_or("latest").into()),
    })
}

/// The host of `host[:port]`, without the brackets of an IPv6 literal.
fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.split(':').next().unwrap_or(registry)
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(spec: &str) -> Target {
        Target::parse(spec).unwrap()
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        let t = target("alpine");
        assert_eq!(t.full_name(), "docker.io/library/alpine:latest");
        assert_eq!(t.registry(), "index.docker.io");
        assert_eq!(t.repository(), "library/alpine");
        assert_eq!(target("user/app:1").full_name(), "docker.io/user/app:1");
    }

    #[test]
    fn ports_tags_and_digests() {
        let hex = "a".repeat(64);
        let t = target(&format!("127.0.0.1:5000/test/a:v1@sha256:{hex}"));
        assert_eq!(t.registry(), "127.0.0.1:5000");
        assert_eq!(t.repository(), "test/a");
        assert_eq!(
            t.reference.digest().map(str::to_owned),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(target("localhost:5000/x").tag(), Some("latest"));
        assert!(Target::parse("a/b:bad tag").is_err());
    }

    #[test]
    fn loopback_registries_are_recognised() {
        for spec in ["localhost:5000/a", "127.0.0.1:5000/a", "127.1.2.3/a"] {
            assert!(target(spec).is_loopback(), "{spec}");
        }
        assert!(target("[::1]:5000/a").is_loopback());
        for spec in [
            "alpine",
            "10.0.0.1:5000/a",
            "ghcr.io/x/y",
            "localhostx:5000/a",
        ] {
            assert!(!target(spec).is_loopback(), "{spec}");
        }
    }

    #[test]
    fn ipv6_literals_in_brackets_are_registries() {
        let hex = "b".repeat(64);
        let t = target(&format!("[fd00::1]:5000/team/app:v2@sha256:{hex}"));
        assert_eq!(t.registry(), "[fd00::1]:5000");
        assert_eq!(t.repository(), "team/app");
        assert_eq!(t.reference.digest(), Some(format!("sha256:{hex}").as_str()));
        assert_eq!(target("[::1]/x").full_name(), "[::1]/x:latest");
        assert!(!target("[fd00::1]:5000/a").is_loopback());
        for bad in [
            "[::1]",
            "[nope]:5000/a",
            "[::1]:port/a",
            "[::1]é/a",
            "[::1]:5000/Bad:tag",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn insecure_registry_entries_match_host_and_port() {
        let t = target("reg.lan:5000/a");
        assert!(t.is_listed(&["reg.lan:5000".into()]));
        assert!(t.is_listed(&["reg.lan".into()]));
        assert!(t.is_listed(&["http://reg.lan:5000/".into()]));
        assert!(!t.is_listed(&["reg.lan:5001".into()]));
        assert!(!t.is_listed(&["other.lan".into()]));
    }
}

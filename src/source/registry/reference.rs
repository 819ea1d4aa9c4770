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
        let reference: Reference = spec.parse().map_err(|e| SourceError::Unsupported {
            spec: spec.to_owned(),
            reason: format!("not an image reference: {e}"),
        })?;
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
        // The reference grammar has no IPv6 literals; the host check still knows them.
        assert!(is_loopback_host(host_of("[::1]:5000")));
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
    fn insecure_registry_entries_match_host_and_port() {
        let t = target("reg.lan:5000/a");
        assert!(t.is_listed(&["reg.lan:5000".into()]));
        assert!(t.is_listed(&["reg.lan".into()]));
        assert!(t.is_listed(&["http://reg.lan:5000/".into()]));
        assert!(!t.is_listed(&["reg.lan:5001".into()]));
        assert!(!t.is_listed(&["other.lan".into()]));
    }
}

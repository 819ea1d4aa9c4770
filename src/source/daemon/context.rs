//! Where the Docker CLI would connect: `$DOCKER_HOST`, else the Docker endpoint of the current
//! context (`$DOCKER_CONTEXT`, else `currentContext` in `config.json`), else nothing (the default
//! socket). A context's endpoint is in `$DOCKER_CONFIG/contexts/meta/<sha256 of its name>/meta.json`
//! (`~/.docker` without `$DOCKER_CONFIG`), as `docker context create` writes it, and its TLS files in
//! `contexts/tls/<sha256 of its name>/docker/`. With `$DOCKER_HOST`, TLS is used when
//! `$DOCKER_TLS_VERIFY` is set, with the files in `$DOCKER_CERT_PATH` (default: the config directory).

use std::path::{Path, PathBuf};

use crate::oci::Digest;

/// A Docker host and where it was found, for messages (`DOCKER_HOST`, `Docker context "rootless"`).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DockerHost {
    pub host: String,
    pub origin: String,
    /// The directory of `ca.pem`, `cert.pem` and `key.pem` when TLS is to be used.
    pub tls_dir: Option<PathBuf>,
}

/// The host the Docker CLI would use, `None` for the default socket; `Err` says what is wrong with
/// the context that was asked for.
pub(super) fn docker_host() -> Result<Option<DockerHost>, String> {
    let config_dir = config_dir();
    if let Some(host) = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
        let verify = std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty());
        let cert_path = std::env::var_os("DOCKER_CERT_PATH")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or(config_dir);
        return Ok(Some(DockerHost {
            host,
            origin: "DOCKER_HOST".into(),
            tls_dir: cert_path.filter(|_| verify),
        }));
    }
    let Some(config_dir) = config_dir else {
        return Ok(None);
    };
    let context = std::env::var("DOCKER_CONTEXT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| current_context(&config_dir));
    match context {
        None => Ok(None),
        Some(name) if name == "default" => Ok(None),
        Some(name) => context_host(&config_dir, &name).map(|host| {
            let tls_dir = context_dir(&config_dir, "tls", &name).join("docker");
            Some(DockerHost {
                host,
                origin: format!("Docker context {name:?}"),
                tls_dir: tls_dir.join("ca.pem").exists().then_some(tls_dir),
            })
        }),
    }
}

/// `contexts/meta/<hash>` or `contexts/tls/<hash>`.
fn context_dir(config_dir: &Path, kind: &str, name: &str) -> PathBuf {
    config_dir
        .join("contexts")
        .join(kind)
        .join(Digest::sha256_of(name.as_bytes()).hex())
}

fn config_dir() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker")))
}

/// `currentContext` of `config.json`, if it names one.
fn current_context(config_dir: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Config {
        #[serde(default, rename = "currentContext")]
        current_context: Option<String>,
    }
    let text = std::fs::read(config_dir.join("config.json")).ok()?;
    let config: Config = serde_json::from_slice(&text).ok()?;
    config.current_context.filter(|c| !c.is_empty())
}

fn context_host(config_dir: &Path, name: &str) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(default, rename = "Endpoints")]
        endpoints: Endpoints,
    }
    #[derive(Default, serde::Deserialize)]
    struct Endpoints {
        docker: Option<Endpoint>,
    }
    #[derive(serde::Deserialize)]
    struct Endpoint {
        #[serde(default, rename = "Host")]
        host: String,
    }
    let path = context_dir(config_dir, "meta", name).join("meta.json");
    let text = std::fs::read(&path).map_err(|e| {
        format!(
            "Docker context {name:?}: cannot read {}: {e}",
            path.display()
        )
    })?;
    let meta: Meta = serde_json::from_slice(&text).map_err(|e| {
        format!(
            "Docker context {name:?}: {} is not valid: {e}",
            path.display()
        )
    })?;
    match meta.endpoints.docker {
        Some(endpoint) if !endpoint.host.is_empty() => Ok(endpoint.host),
        _ => Err(format!("Docker context {name:?} has no Docker endpoint")),
    }
}

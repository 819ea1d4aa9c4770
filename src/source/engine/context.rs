//! Where the Docker CLI would connect: `$DOCKER_HOST`, else the Docker endpoint of the current
//! context (`$DOCKER_CONTEXT`, else `currentContext` in `config.json`), else nothing (the default
//! socket). A context's endpoint is in `$DOCKER_CONFIG/contexts/meta/<sha256 of its name>/meta.json`
//! (`~/.docker` without `$DOCKER_CONFIG`), as `docker context create` writes it.

use std::path::{Path, PathBuf};

use crate::oci::Digest;

/// A Docker host and where it was found, for messages (`DOCKER_HOST`, `Docker context "rootless"`).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DockerHost {
    pub host: String,
    pub origin: String,
}

/// The host the Docker CLI would use, `None` for the default socket; `Err` says what is wrong with
/// the context that was asked for.
pub(super) fn docker_host() -> Result<Option<DockerHost>, String> {
    if let Some(host) = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
        return Ok(Some(DockerHost {
            host,
            origin: "DOCKER_HOST".into(),
        }));
    }
    let Some(config_dir) = config_dir() else {
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
            Some(DockerHost {
                host,
                origin: format!("Docker context {name:?}"),
            })
        }),
    }
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
    let path = config_dir
        .join("contexts/meta")
        .join(Digest::sha256_of(name.as_bytes()).hex())
        .join("meta.json");
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

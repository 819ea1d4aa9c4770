//! Docker's Engine API, which Podman also serves: `GET /images/NAME/get` exports an image as a tar
//! (legacy `docker save` layout from dockerd < 25, an OCI layout plus `manifest.json` from 25 on, a
//! skopeo-style docker-archive from Podman).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use super::super::runtime::runtime;
use super::super::{Opened, SourceError, SourceOptions};
use super::context::{self, DockerHost};
use super::export::{self, ExportDir};
use super::http::{self, Address, Connection, Failure, Tls};
use super::{Engine, os_reason};
use crate::oci::Platform;

/// The first Docker API version whose `images/get` takes a `platform`.
const PLATFORM_API: (u32, u32) = (1, 48);

/// An engine's API address.
struct Endpoint {
    engine: Engine,
    address: Address,
}

impl Endpoint {
    fn address(&self) -> String {
        self.address.show()
    }

    fn place(&self) -> String {
        format!("at {}", self.address())
    }

    fn hint(&self) -> &'static str {
        match self.engine {
            Engine::Podman => "is `podman system service` running? set CONTAINER_HOST",
            _ => "is dockerd running? set DOCKER_HOST",
        }
    }

    fn unreachable(&self, error: &std::io::Error) -> SourceError {
        SourceError::EngineUnreachable {
            engine: self.engine.title(),
            address: self.address(),
            reason: os_reason(error),
            hint: self.hint().into(),
        }
    }

    fn failed(&self, spec: &str, reason: String) -> SourceError {
        SourceError::EngineFailed {
            spec: spec.to_owned(),
            engine: self.engine.title(),
            place: self.place(),
            reason,
        }
    }

    fn no_such_image(&self, spec: &str) -> SourceError {
        SourceError::NoSuchImage {
            spec: spec.to_owned(),
            engine: self.engine.title(),
            place: self.place(),
        }
    }

    fn error_for(&self, spec: &str, failure: Failure) -> SourceError {
        match failure {
            Failure::Connect(error) => self.unreachable(&error),
            Failure::Protocol(reason) => self.failed(spec, reason),
        }
    }
}

pub(super) fn open_docker(
    spec: &str,
    name: &str,
    options: &SourceOptions,
) -> Result<Opened, SourceError> {
    let host = context::docker_host().map_err(|reason| SourceError::Unsupported {
        spec: spec.to_owned(),
        reason,
    })?;
    let address = engine_address(spec, host, "/var/run/docker.sock")?;
    let endpoint = Endpoint {
        engine: Engine::Docker,
        address,
    };
    export_through_api(&endpoint, spec, name, options)
}

/// Podman's API socket, else (when nothing answers there) `podman save`, as diffoci does.
pub(super) fn open_podman(
    spec: &str,
    name: &str,
    options: &SourceOptions,
) -> Result<Opened, SourceError> {
    let host = std::env::var("CONTAINER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .map(|host| DockerHost {
            host,
            origin: "CONTAINER_HOST".into(),
            tls_dir: None,
        });
    let address = engine_address(spec, host, &default_podman_socket())?;
    let endpoint = Endpoint {
        engine: Engine::Podman,
        address,
    };
    match export_through_api(&endpoint, spec, name, options) {
        Err(unreachable @ SourceError::EngineUnreachable { .. }) => {
            podman_save(spec, name, options, unreachable)
        }
        other => other,
    }
}

/// What `host` names (`unix://PATH`, `tcp://HOST:PORT`), else the socket `default`. Other
/// transports (`ssh://`, `npipe://`) are refused.
fn engine_address(
    spec: &str,
    host: Option<DockerHost>,
    default: &str,
) -> Result<Address, SourceError> {
    let Some(DockerHost {
        host,
        origin,
        tls_dir,
    }) = host
    else {
        return Ok(Address::Unix(PathBuf::from(default)));
    };
    if let Some(path) = host.strip_prefix("unix://").filter(|p| !p.is_empty()) {
        return Ok(Address::Unix(PathBuf::from(path)));
    }
    if let Some(authority) = host
        .strip_prefix("tcp://")
        .map(|rest| rest.trim_end_matches('/'))
        .filter(|a| !a.is_empty() && !a.contains('/'))
    {
        let tls = tls_dir.map(|dir| {
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            Tls {
                ca: dir.join("ca.pem"),
                identity: (cert.exists() && key.exists()).then_some((cert, key)),
            }
        });
        return Ok(Address::Tcp {
            authority: authority.to_owned(),
            tls,
        });
    }
    let said = match origin.as_str() {
        "DOCKER_HOST" | "CONTAINER_HOST" => format!("{origin}={host}"),
        _ => format!("{origin} uses {host}"),
    };
    Err(SourceError::Unsupported {
        spec: spec.to_owned(),
        reason: format!("{said}: only unix:// and tcp:// hosts are supported"),
    })
}

/// The rootful socket, else the rootless one of this user if it exists.
fn default_podman_socket() -> String {
    let rootful = "/run/podman/podman.sock";
    let rootless = std::env::var_os("XDG_RUNTIME_DIR")
        .map(|dir| Path::new(&dir).join("podman/podman.sock"))
        .filter(|socket| socket.exists() && !Path::new(rootful).exists());
    rootless.map_or(rootful.to_owned(), |s| s.display().to_string())
}

fn export_through_api(
    endpoint: &Endpoint,
    spec: &str,
    name: &str,
    options: &SourceOptions,
) -> Result<Opened, SourceError> {
    let connection = Connection::new(&endpoint.address, options.network)
        .map_err(|f| endpoint.error_for(spec, f))?;
    let export = ExportDir::new(options, engine_tag(endpoint.engine))?;
    let archive = export.archive();
    let fetched = fetch(
        endpoint,
        &connection,
        spec,
        name,
        &options.platforms,
        &archive,
    );
    runtime().block_on(fetched)?;
    export::open(
        export,
        name,
        || endpoint.no_such_image(spec),
        |reason| endpoint.failed(spec, reason),
    )
}

fn engine_tag(engine: Engine) -> &'static str {
    match engine {
        Engine::Docker => "docker",
        Engine::Podman => "podman",
        Engine::Containerd => "containerd",
    }
}

async fn fetch(
    endpoint: &Endpoint,
    connection: &Connection,
    spec: &str,
    name: &str,
    platforms: &[Platform],
    archive: &Path,
) -> Result<(), SourceError> {
    let platform = platform_json(endpoint, connection, spec, platforms).await?;
    let mut file = tokio::fs::File::create(archive)
        .await
        .map_err(|cause| SourceError::Io {
            path: archive.to_owned(),
            cause,
        })?;
    let query: Vec<(&str, String)> = platform
        .map(|json| ("platform", json))
        .into_iter()
        .collect();
    let answer = connection
        .get_into(&format!("/images/{name}/get"), &query, &mut file)
        .await
        .map_err(|failure| endpoint.error_for(spec, failure))?;
    match answer {
        Ok(_) => Ok(()),
        Err((StatusCode::NOT_FOUND, _)) => Err(endpoint.no_such_image(spec)),
        Err((status, body)) => Err(endpoint.failed(spec, http::error_message(status, &body))),
    }
}

/// The `platform` parameter (JSON) when exactly one platform is asked for and the engine's API takes
/// it (Docker ≥ 28.1). Older engines export one platform anyway (their export format cannot hold
/// more), and the comparison checks it against `--platform`; with several platforms the whole image
/// is exported.
async fn platform_json(
    endpoint: &Endpoint,
    connection: &Connection,
    spec: &str,
    platforms: &[Platform],
) -> Result<Option<String>, SourceError> {
    let [platform] = platforms else {
        return Ok(None);
    };
    let (status, body) = connection
        .get_small("/version")
        .await
        .map_err(|failure| endpoint.error_for(spec, failure))?;
    if status != StatusCode::OK || api_version(&body).is_none_or(|v| v < PLATFORM_API) {
        return Ok(None);
    }
    let mut json = serde_json::json!({"os": platform.os, "architecture": platform.architecture});
    if let Some(variant) = &platform.variant {
        json["variant"] = variant.as_str().into();
    }
    Ok(Some(json.to_string()))
}

/// `ApiVersion` of a `/version` answer, as (major, minor).
fn api_version(body: &[u8]) -> Option<(u32, u32)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let (major, minor) = value.get("ApiVersion")?.as_str()?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// `$PODMAN save` (default `podman`) into the export directory.
fn podman_save(
    spec: &str,
    name: &str,
    options: &SourceOptions,
    unreachable: SourceError,
) -> Result<Opened, SourceError> {
    let program = std::env::var_os("PODMAN")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| OsString::from("podman"));
    let shown = Path::new(&program).display().to_string();
    let export = ExportDir::new(options, "podman")?;
    // Without CONTAINER_HOST: it names the socket that just failed, and would make podman a
    // remote client of it.
    let output = Command::new(&program)
        .env_remove("CONTAINER_HOST")
        .args(["save", "--quiet", "--format", "docker-archive", "--output"])
        .arg(export.archive())
        .arg(name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let place = format!("through `{shown} save`");
    let output = match output {
        Ok(output) => output,
        Err(error) => return Err(with_fallback_failure(unreachable, &shown, &error)),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(if is_not_found(last) {
            SourceError::NoSuchImage {
                spec: spec.to_owned(),
                engine: Engine::Podman.title(),
                place,
            }
        } else {
            let reason = format!("{} ({})", last.trim(), output.status);
            podman_failed(spec, place, reason)
        });
    }
    export::open(
        export,
        name,
        || podman_failed(spec, place.clone(), "no such image".into()),
        |reason| podman_failed(spec, place.clone(), reason),
    )
}

fn podman_failed(spec: &str, place: String, reason: String) -> SourceError {
    SourceError::EngineFailed {
        spec: spec.to_owned(),
        engine: Engine::Podman.title(),
        place,
        reason,
    }
}

fn is_not_found(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    ["image not known", "no such image", "not found"]
        .iter()
        .any(|needle| message.contains(needle))
}

/// The socket's error, with why `podman save` could not stand in for it.
fn with_fallback_failure(
    unreachable: SourceError,
    program: &str,
    error: &std::io::Error,
) -> SourceError {
    match unreachable {
        SourceError::EngineUnreachable {
            engine,
            address,
            reason,
            hint,
        } => SourceError::EngineUnreachable {
            engine,
            address,
            reason,
            hint: format!(
                "{hint}; and `{program} save` cannot run: {}",
                os_reason(error)
            ),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_are_read_from_version_answers() {
        assert_eq!(api_version(br#"{"ApiVersion":"1.41"}"#), Some((1, 41)));
        assert_eq!(api_version(br#"{"ApiVersion":"1.48"}"#), Some(PLATFORM_API));
        assert_eq!(api_version(br#"{"ApiVersion":"x"}"#), None);
        assert_eq!(api_version(b"not json"), None);
        assert!((1, 41) < PLATFORM_API && (1, 52) > PLATFORM_API);
    }
}

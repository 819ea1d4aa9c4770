//! Images held by a local container engine: `docker://NAME`, `podman://NAME`, `containerd://NAME`.
//!
//! - Docker and Podman: `GET /images/NAME/get` on their (Docker-compatible) API socket streams the
//!   image's export into a temporary file, which is then read in place like a `docker save` archive
//!   and removed when the source is dropped. Podman falls back to `podman save` when no socket
//!   answers.
//! - containerd: the image is resolved by its Images service and blobs are read by digest from its
//!   Content service, as they are needed; nothing is exported.

mod api;
#[cfg(feature = "containerd")]
mod containerd;
mod context;
mod export;
mod http;
mod names;

use super::{Opened, SourceError, SourceOptions};

/// Which engine an input names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
    Containerd,
}

impl Engine {
    /// `docker://` and the like, from the table of input forms.
    pub fn scheme(self) -> &'static str {
        super::InputKind::Engine(self).prefix().unwrap_or_default()
    }

    /// The engine as messages name it.
    fn title(self) -> &'static str {
        match self {
            Engine::Docker => "the Docker engine",
            Engine::Podman => "Podman",
            Engine::Containerd => "containerd",
        }
    }
}

pub(super) fn open(
    engine: Engine,
    name: &str,
    options: &SourceOptions,
) -> Result<Opened, SourceError> {
    let spec = format!("{}{name}", engine.scheme());
    names::check(&spec, name)?;
    match engine {
        Engine::Docker => api::open_docker(&spec, name, options),
        Engine::Podman => api::open_podman(&spec, name, options),
        Engine::Containerd => open_containerd(&spec, name, options),
    }
}

#[cfg(feature = "containerd")]
fn open_containerd(spec: &str, name: &str, options: &SourceOptions) -> Result<Opened, SourceError> {
    containerd::open(spec, name, options)
}

#[cfg(not(feature = "containerd"))]
fn open_containerd(spec: &str, _: &str, _: &SourceOptions) -> Result<Opened, SourceError> {
    Err(SourceError::Unsupported {
        spec: spec.to_owned(),
        reason: "this build has no containerd support (build with `--features containerd`, which needs protoc)"
            .into(),
    })
}

/// An OS error's text without Rust's ` (os error N)` suffix, for one-line messages.
fn os_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

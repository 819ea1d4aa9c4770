//! Images held by a local container engine: `docker://NAME`, `podman://NAME`, `containerd://NAME`.

use super::{Opened, SourceError, SourceOptions};

/// Which engine an input names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
    Containerd,
}

impl Engine {
    pub fn scheme(self) -> &'static str {
        match self {
            Engine::Docker => "docker://",
            Engine::Podman => "podman://",
            Engine::Containerd => "containerd://",
        }
    }
}

pub(super) fn open(
    engine: Engine,
    name: &str,
    _options: &SourceOptions,
) -> Result<Opened, SourceError> {
    Err(SourceError::Unsupported {
        spec: format!("{}{name}", engine.scheme()),
        reason: "engine inputs are not supported yet".into(),
    })
}

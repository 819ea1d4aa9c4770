//! Images in a registry: any input without a transport prefix that is not a path.

use super::{Opened, SourceError, SourceOptions};

pub(super) fn open(spec: &str, _options: &SourceOptions) -> Result<Opened, SourceError> {
    Err(SourceError::Unsupported {
        spec: spec.to_owned(),
        reason: "registry inputs are not supported yet".into(),
    })
}

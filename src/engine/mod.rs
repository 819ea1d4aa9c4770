//! The comparison engine: walks two images (index → manifests → config → layers → tar entries), pairs
//! what corresponds, and streams [`Event`](crate::model::Event)s. It knows nothing of terminals or
//! report formats.

pub mod blob;
mod error;
pub mod layer;

pub use error::{BlobError, EngineError, Integrity};

#[cfg(test)]
mod testing;

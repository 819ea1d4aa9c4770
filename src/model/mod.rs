//! The comparison's result model: what the engine streams out and what every report and the explorer read.
//!
//! One [`Difference`] type serves every level (descriptor, index, manifest, config, layer, file); it names the
//! [`Aspect`]s that differ, so filters are predicates applied when results are presented and never re-read a
//! layer.

mod aspect;
mod delta_value;
mod deltas;
mod entry;
mod event;
mod explanation;
mod report;
mod sides;
mod text;

pub use aspect::{Aspect, AspectSet};
pub use delta_value::DeltaValue;
pub use deltas::{Deltas, entry_deltas, file_deltas};
pub use entry::{
    EntryExtras, EntryFields, EntryKind, EntryMeta, NestedFormat, Owner, TarFormat, Timestamp,
    Whiteout, canonical_path, is_canonical,
};
pub use event::{
    Context, ContextId, ContextKind, Delta, DiffId, DiffKey, DiffKind, Difference, Event,
    FileEntries, IndexPair, KeyText, LayerProof, Nested, Origin, Progress,
};
pub use explanation::{Category, Explanation, Severity};
pub use report::{Applied, Report};
pub use sides::{Side, Sides};
pub use text::{escape_control, name_from_bytes};

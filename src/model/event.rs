use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use thin_vec::ThinVec;
use triomphe::ThinArc;

use super::{Aspect, AspectSet, DeltaValue, Deltas, EntryMeta, Explanation, Sides};
use crate::oci::Descriptor;

/// Identifies a [`Context`] within one comparison. Contexts are numbered in the order they are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ContextId(pub u32);

/// A node of the comparison tree: the images, a platform's manifest, its config, a layer, the merged
/// filesystem. Differences hang off contexts.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub id: ContextId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<ContextId>,
    pub kind: ContextKind,
    /// diffoci's context path, e.g. `/manifests-0/layers-1`; `/` for the images themselves.
    pub path: String,
    /// A short human label, e.g. `linux/amd64` or `layer 1`.
    pub label: String,
    /// The descriptor each input has at this node, if any.
    pub descriptors: Sides<Option<Descriptor>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum ContextKind {
    /// The two images as given (their top descriptors).
    Images,
    /// One platform's manifest pair (or the single manifest of single-platform images).
    Manifest {
        platform: String,
    },
    /// An attestation manifest pair, paired through the manifests they describe.
    Attestation {
        platform: String,
    },
    Config,
    /// Layer `index` of each image (per-layer view).
    Layer {
        index: usize,
    },
    /// Layer `index` of each image where it is not a tar stream to read: an artifact's payload (an
    /// SBOM, an attestation, a signature), or a foreign layer the image does not hold. Compared as a
    /// blob: descriptors, and contents as JSON or text. Not part of either file view.
    Blob {
        index: usize,
    },
    /// Each image's final filesystem after applying all layers and whiteouts (merged view).
    MergedFs,
    /// The inside of a file that differs (an archive, a compressed file, a compiled Python file): its
    /// members, compared like layer entries. A child of the file's context; the file's difference
    /// names it (`Difference::nested`).
    Nested {
        /// The file's path in its context.
        file: String,
        /// What each input's file is (`gzip`, `zip`…), joined with ` vs ` when they differ.
        format: String,
    },
    /// The packages installed in each image (dpkg, apk, rpm, Python, npm), read from their
    /// databases: added, removed, upgraded, downgraded.
    Packages,
}

/// The level a difference belongs to; the names are diffoci's `TYPE` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum DiffKind {
    Desc,
    Idx,
    Mani,
    Cfg,
    Layer,
    File,
    /// A package added, removed or changed.
    Pkg,
}

impl DiffKind {
    pub fn label(self) -> &'static str {
        match self {
            DiffKind::Desc => "Desc",
            DiffKind::Idx => "Idx",
            DiffKind::Mani => "Mani",
            DiffKind::Cfg => "Cfg",
            DiffKind::Layer => "Layer",
            DiffKind::File => "File",
            DiffKind::Pkg => "Pkg",
        }
    }
}

/// One field that differs, the aspect it belongs to and both inputs' values (`null` = absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    pub aspect: Aspect,
    /// What differs: `content`, `mode`, `uid`, `mtime`, `xattr:user.x`, `Env[2]`, `annotations.org.x`...
    pub field: Cow<'static, str>,
    pub values: Sides<DeltaValue>,
}

impl Delta {
    pub fn new(
        aspect: Aspect,
        field: impl Into<Cow<'static, str>>,
        input0: impl Into<DeltaValue>,
        input1: impl Into<DeltaValue>,
    ) -> Delta {
        Delta {
            aspect,
            field: field.into(),
            values: Sides::new(input0.into(), input1.into()),
        }
    }
}

/// Identifies a [`Difference`] within one comparison, given by the engine as it is found; later events
/// (what was found inside a file, what explains it) name it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct DiffId(pub u32);

/// One thing that differs between the inputs, with everything that differs about it.
#[derive(Debug, Clone)]
pub struct Difference {
    pub id: DiffId,
    pub context: ContextId,
    pub kind: DiffKind,
    /// What the difference is about; read it with [`Difference::key`].
    pub key: DiffKey,
    /// What differs about it; read them with [`Difference::deltas`].
    pub deltas: Deltas,
    /// For files: both inputs' tar entries (`None` where absent); read them with `entries.as_ref()`.
    /// Shared with the layer that read them: a file difference costs no copy of its entries.
    pub entries: FileEntries,
    /// For files in the merged view: the layer index that gave each input its entry.
    pub origin: Origin,
    /// For a file whose inside was compared: the context of its members. Its content deltas then only
    /// restate what differs inside, and are shown when something inside is.
    pub nested: Nested,
    /// What explains it, if anything does.
    pub explanations: ThinVec<Explanation>,
}

/// A file difference's two tar entries (`None` where absent), none for other differences: 16 bytes
/// where an `Option` of the pair took 24 (a file has an entry on one side at least).
#[derive(Debug, Clone, Default)]
pub struct FileEntries(Sides<Option<EntryMeta>>);

impl FileEntries {
    pub fn as_ref(&self) -> Option<&Sides<Option<EntryMeta>>> {
        self.is_some().then_some(&self.0)
    }

    pub fn is_some(&self) -> bool {
        self.0.input0.is_some() || self.0.input1.is_some()
    }

    pub fn take(&mut self) -> Option<Sides<Option<EntryMeta>>> {
        let taken = std::mem::take(&mut self.0);
        (taken.input0.is_some() || taken.input1.is_some()).then_some(taken)
    }
}

impl From<Option<Sides<Option<EntryMeta>>>> for FileEntries {
    fn from(entries: Option<Sides<Option<EntryMeta>>>) -> FileEntries {
        FileEntries(entries.unwrap_or_default())
    }
}

/// An index on each side or on one (a layer's, an entry's): 8 bytes where an `Option` of the pair took 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexPair([u32; 2]);

/// The layer index that gave each input its entry, for files in the merged view.
pub type Origin = IndexPair;

impl IndexPair {
    const ABSENT: u32 = u32::MAX;

    pub fn new(input0: Option<u32>, input1: Option<u32>) -> IndexPair {
        IndexPair([input0, input1].map(|i| i.unwrap_or(Self::ABSENT)))
    }

    /// The indexes, `None` when neither side has one.
    pub fn get(self) -> Option<Sides<Option<u32>>> {
        let [input0, input1] = self.0.map(|l| (l != Self::ABSENT).then_some(l));
        (input0.is_some() || input1.is_some()).then_some(Sides::new(input0, input1))
    }

    pub fn input0(self) -> Option<u32> {
        (self.0[0] != Self::ABSENT).then_some(self.0[0])
    }

    pub fn input1(self) -> Option<u32> {
        (self.0[1] != Self::ABSENT).then_some(self.0[1])
    }
}

impl Default for IndexPair {
    fn default() -> IndexPair {
        IndexPair([Self::ABSENT; 2])
    }
}

impl From<Option<Sides<Option<u32>>>> for IndexPair {
    fn from(indexes: Option<Sides<Option<u32>>>) -> IndexPair {
        let sides = indexes.unwrap_or_default();
        IndexPair::new(sides.input0, sides.input1)
    }
}

/// The context of a file's members, for a file whose inside was compared: 4 bytes where an `Option`
/// took 8 (a difference is 80 bytes, not 88).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nested(u32);

impl Nested {
    const NONE: u32 = u32::MAX;

    pub fn get(self) -> Option<ContextId> {
        (self.0 != Self::NONE).then_some(ContextId(self.0))
    }

    pub fn is_some(self) -> bool {
        self.0 != Self::NONE
    }

    pub fn is_none(self) -> bool {
        self.0 == Self::NONE
    }
}

impl Default for Nested {
    fn default() -> Nested {
        Nested(Self::NONE)
    }
}

impl From<Option<ContextId>> for Nested {
    fn from(context: Option<ContextId>) -> Nested {
        Nested(context.map_or(Self::NONE, |c| c.0))
    }
}

/// What a [`Difference`] is about: a file path (canonical), a descriptor's role, a config field...
/// A file whose entries are named as its path keeps no copy of it: a million changed files would
/// otherwise hold their paths three times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffKey {
    Text(KeyText),
    /// The name of the difference's entries (every present one is named so).
    EntryName,
}

/// A key's text behind one thin pointer: a difference is 8 bytes smaller than with a `Box<str>`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyText(ThinArc<(), u8>);

impl KeyText {
    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes were copied from a `str` (`From<&str>`) and are never changed.
        unsafe { std::str::from_utf8_unchecked(&self.0.slice) }
    }
}

impl From<&str> for KeyText {
    fn from(text: &str) -> KeyText {
        KeyText(ThinArc::from_header_and_slice((), text.as_bytes()))
    }
}

impl std::fmt::Debug for KeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl DiffKey {
    /// The key of a file difference: [`DiffKey::EntryName`] when every present entry is named `path`.
    pub fn of_file(path: &str, entries: Sides<Option<&EntryMeta>>) -> DiffKey {
        let named = |e: Option<&EntryMeta>| e.is_none_or(|e| e.name() == path);
        if (entries.input0.is_some() || entries.input1.is_some())
            && named(entries.input0)
            && named(entries.input1)
        {
            DiffKey::EntryName
        } else {
            DiffKey::from(path)
        }
    }
}

impl From<String> for DiffKey {
    fn from(text: String) -> DiffKey {
        DiffKey::Text(text.as_str().into())
    }
}

impl From<&str> for DiffKey {
    fn from(text: &str) -> DiffKey {
        DiffKey::Text(text.into())
    }
}

/// Written as `Difference` was derived: `key` in its place, absent optional fields left out.
impl Serialize for Difference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut object = s.serialize_struct("Difference", 9)?;
        object.serialize_field("id", &self.id)?;
        object.serialize_field("context", &self.context)?;
        object.serialize_field("kind", &self.kind)?;
        object.serialize_field("key", self.key())?;
        object.serialize_field("deltas", &*self.deltas())?;
        if let Some(entries) = self.entries.as_ref() {
            object.serialize_field("entries", entries)?;
        }
        if let Some(origin) = &self.origin.get() {
            object.serialize_field("origin", origin)?;
        }
        if let Some(nested) = &self.nested.get() {
            object.serialize_field("nested", nested)?;
        }
        if !self.explanations.is_empty() {
            object.serialize_field("explanations", &self.explanations)?;
        }
        object.end()
    }
}

impl Difference {
    /// What the difference is about: a file path (canonical), a descriptor's role, a config field...
    pub fn key(&self) -> &str {
        match &self.key {
            DiffKey::Text(text) => text.as_str(),
            DiffKey::EntryName => (self.entries.as_ref())
                .and_then(|e| e.input0.as_ref().or(e.input1.as_ref()))
                .map_or("", |e| e.name()),
        }
    }

    /// Its deltas, in order: derived from its entries for most file differences.
    pub fn deltas(&self) -> Cow<'_, [Delta]> {
        let entries = (self.entries.as_ref()).map(|e| e.as_ref().map(|e| e.as_ref()));
        self.deltas.read(entries)
    }

    /// Its deltas as a list to change (derived ones are listed first).
    pub fn deltas_mut(&mut self) -> &mut ThinVec<Delta> {
        if let Deltas::OfEntries { .. } = self.deltas {
            self.deltas = self.deltas().into_owned().into();
        }
        self.deltas.listed_mut()
    }

    /// The aspects of its deltas.
    pub fn aspects(&self) -> AspectSet {
        self.deltas.aspects()
    }
}

/// How a layer pair was proven equal without comparing its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerProof {
    /// The same blob digest on both sides: the same bytes (content addressing), so neither is read.
    SameDigest,
    /// Different blobs (another compression, say) whose configs name the same diff_id: both were read,
    /// and their uncompressed tars hash to it.
    ContentVerified,
}

impl LayerProof {
    /// What it means, in the words reports use.
    pub fn description(self) -> &'static str {
        match self {
            LayerProof::SameDigest => "equal digest: same bytes, not read",
            LayerProof::ContentVerified => "content verified equal (same uncompressed digest)",
        }
    }
}

/// Work done so far, for progress displays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub layers_done: usize,
    pub layers_total: usize,
    /// Compressed bytes read so far and in all, over the blobs that have to be read.
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// What the engine streams while it compares.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum Event {
    Context(Box<Context>),
    /// A difference, settled. One with the id of an earlier [`Event::Provisional`] replaces it.
    Difference(Difference),
    /// A file difference of a layer pair found while the pair is still being read (only when
    /// [`crate::engine::Options::provisional`] asks for them). The layer's end settles it: a
    /// [`Event::Difference`] with the same id replaces it (an order change is known only then), or
    /// [`Event::Withdrawn`] takes it back (the layer failed to read or verify).
    Provisional(Difference),
    /// Provisional differences taken back.
    Withdrawn {
        differences: Vec<DiffId>,
    },
    /// A layer pair proven equal without comparing its entries.
    LayerEqual {
        context: ContextId,
        proof: LayerProof,
    },
    /// A layer pair has been read and compared; entry counts per input (`None` where absent).
    LayerCompared {
        context: ContextId,
        entries: Sides<Option<usize>>,
    },
    /// The inside of an earlier file difference was compared: its members are in `context`.
    Nested {
        difference: DiffId,
        context: ContextId,
    },
    /// More explains an earlier difference (a package change, found once both images' packages are
    /// known).
    Explained {
        difference: DiffId,
        explanations: Vec<Explanation>,
    },
    Progress(Progress),
    Warning {
        #[serde(skip_serializing_if = "Option::is_none")]
        context: Option<ContextId>,
        message: String,
    },
    /// A failure: the message is one line naming the input and the blob or context.
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        context: Option<ContextId>,
        message: String,
    },
    Finished,
}

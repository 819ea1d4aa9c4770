//! Which manifests of two indexes are compared with which: entries pair by platform (attestations
//! through the manifest they describe), restricted by `--platform`, or one platform of each input
//! with `--platform0`/`--platform1`.

use serde::Deserialize as _;
use serde_json::Value;

use crate::model::{Side, Sides};
use crate::oci::{BlobKind, Descriptor, Platform, annotation};

use super::error::{BlobError, EngineError};
use super::walk::Walker;

/// How the key of an attestation manifest starts: `attestation linux/amd64`.
pub(super) const ATTESTATION: &str = "attestation ";

/// An index entry (or a lone manifest) with its own key: its platform, `attestation <platform>`, or
/// `entry <position>` for one without a platform.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub key: String,
    pub position: usize,
    pub descriptor: Descriptor,
}

/// Index entries to compare with each other.
#[derive(Debug)]
pub(super) struct Pair {
    /// What the pair is called: the platform, or `P vs Q` for two platforms compared.
    pub label: String,
    pub entries: Sides<Option<Entry>>,
    /// Asked for by `--platform` or `--platform0`/`--platform1`: an input lacking it is an error.
    pub requested: bool,
}

impl Pair {
    pub fn is_attestation(&self) -> bool {
        self.label.starts_with(ATTESTATION)
    }

    /// How messages name it: `platform linux/amd64`, `attestation linux/amd64`, `entry 3`.
    pub fn name(&self) -> String {
        if self.is_attestation() || self.label.starts_with("entry ") {
            self.label.clone()
        } else {
            format!("platform {}", self.label)
        }
    }
}

/// Which platforms are compared.
enum Selection {
    /// Every one (the default, and `--all-platforms`).
    All,
    /// `--platform`: these, on both sides.
    Only(Vec<String>),
    /// `--platform0 P --platform1 Q`: P of input 0 with Q of input 1.
    Across(Sides<String>),
}

impl Selection {
    /// The key an entry of `side` pairs by, or `None` if it is not compared.
    fn pairing_key(&self, side: Side, key: &str) -> Option<String> {
        let (prefix, platform) = match key.strip_prefix(ATTESTATION) {
            Some(platform) => (ATTESTATION, platform),
            None => ("", key),
        };
        match self {
            Selection::All => Some(key.to_owned()),
            Selection::Only(wanted) => wanted.iter().any(|w| w == platform).then(|| key.to_owned()),
            Selection::Across(platforms) => (platforms.get(side) == platform)
                .then(|| format!("{prefix}{}", across_label(platforms))),
        }
    }
}

/// `linux/amd64 vs linux/arm64`, or the platform alone when both are the same.
fn across_label(platforms: &Sides<String>) -> String {
    if platforms.differ() {
        format!("{} vs {}", platforms.input0, platforms.input1)
    } else {
        platforms.input0.clone()
    }
}

impl Walker<'_> {
    fn selection(&self) -> Selection {
        if let Some(pair) = &self.options.platform_pair {
            return Selection::Across(pair.as_ref().map(Platform::key));
        }
        if self.options.all_platforms || self.options.platforms.is_empty() {
            return Selection::All;
        }
        Selection::Only(self.options.platforms.iter().map(Platform::key).collect())
    }

    pub(super) fn index_entries(
        &self,
        side: Side,
        index: &Value,
        desc: &Descriptor,
    ) -> Result<Vec<Entry>, EngineError> {
        let descriptors: Vec<Descriptor> = match index.get("manifests") {
            Some(list) => Vec::<Descriptor>::deserialize(list)
                .map_err(|e| self.blob_error(side, "index", desc, "/", BlobError::Shape(e)))?,
            None => Vec::new(),
        };
        let mut entries = Vec::new();
        for (position, descriptor) in descriptors.iter().enumerate() {
            if descriptor.kind() == BlobKind::Index {
                self.warn(
                    None,
                    format!(
                        "input {}: nested index {} is not compared",
                        side.index(),
                        descriptor.digest
                    ),
                );
                continue;
            }
            let key = match &descriptor.platform {
                Some(p) if !is_unknown(p) => p.key(),
                _ => attestation_key(descriptor, &descriptors)
                    .unwrap_or_else(|| format!("entry {position}")),
            };
            entries.push(Entry {
                key,
                position,
                descriptor: descriptor.clone(),
            });
        }
        Ok(entries)
    }

    /// Pairs entries by key, keeps the selected ones, and orders the pairs by input 0. A requested
    /// platform that an input does not list is an error naming the input.
    pub(super) fn pair_entries(
        &self,
        listed: &Sides<Vec<Entry>>,
    ) -> Result<Vec<Pair>, EngineError> {
        let selection = self.selection();
        let keyed: Sides<Vec<(String, &Entry)>> = Sides::from_fn(|side| {
            listed
                .get(side)
                .iter()
                .filter_map(|e| Some((selection.pairing_key(side, &e.key)?, e)))
                .collect()
        });
        self.check_listed(&selection, listed)?;
        let requested = !matches!(selection, Selection::All);
        let pair = |label: &str, entries: Sides<Option<&Entry>>| Pair {
            label: label.to_owned(),
            entries: entries.map(|e| e.cloned()),
            requested: requested && !label.starts_with(ATTESTATION),
        };
        let mut pairs: Vec<Pair> = Vec::new();
        for (key, entry) in &keyed.input0 {
            let other = keyed.input1.iter().find(|(k, _)| k == key).map(|(_, e)| *e);
            pairs.push(pair(key, Sides::new(Some(entry), other)));
        }
        for (key, entry) in &keyed.input1 {
            if !keyed.input0.iter().any(|(k, _)| k == key) {
                pairs.push(pair(key, Sides::new(None, Some(entry))));
            }
        }
        Ok(pairs)
    }

    /// Every requested platform is listed by the input it is asked of.
    fn check_listed(
        &self,
        selection: &Selection,
        listed: &Sides<Vec<Entry>>,
    ) -> Result<(), EngineError> {
        let lists = |side: Side, platform: &str| listed.get(side).iter().any(|e| e.key == platform);
        match selection {
            Selection::All => Ok(()),
            Selection::Only(wanted) => {
                for w in wanted {
                    match (lists(Side::Input0, w), lists(Side::Input1, w)) {
                        (true, true) => {}
                        (false, false) => {
                            return Err(EngineError::Platform(format!(
                                "platform {w} is in neither image (input 0 has: {}; input 1 has: {})",
                                keys(&listed.input0),
                                keys(&listed.input1)
                            )));
                        }
                        (false, true) => return Err(self.lacks(Side::Input0, w, listed)),
                        (true, false) => return Err(self.lacks(Side::Input1, w, listed)),
                    }
                }
                Ok(())
            }
            Selection::Across(platforms) => {
                for side in Side::BOTH {
                    if !lists(side, platforms.get(side)) {
                        return Err(self.lacks(side, platforms.get(side), listed));
                    }
                }
                Ok(())
            }
        }
    }

    fn lacks(&self, side: Side, platform: &str, listed: &Sides<Vec<Entry>>) -> EngineError {
        EngineError::Platform(format!(
            "platform {platform} is not in input {} ({}) (it has: {})",
            side.index(),
            self.images.get(side).spec,
            keys(listed.get(side))
        ))
    }
}

/// BuildKit attestation manifests name the manifest they describe; they pair through its platform.
fn attestation_key(desc: &Descriptor, all: &[Descriptor]) -> Option<String> {
    if desc
        .annotations
        .get(annotation::DOCKER_REFERENCE_TYPE)
        .map(String::as_str)
        != Some(annotation::ATTESTATION_MANIFEST)
    {
        return None;
    }
    let target = desc.annotations.get(annotation::DOCKER_REFERENCE_DIGEST)?;
    let described = all.iter().find(|d| d.digest.to_string() == *target)?;
    Some(format!(
        "{ATTESTATION}{}",
        described.platform.as_ref()?.key()
    ))
}

pub(super) fn is_unknown(p: &Platform) -> bool {
    p.os == "unknown" || p.architecture == "unknown"
}

/// The keys of entries, for messages.
pub(super) fn keys(entries: &[Entry]) -> String {
    let list: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    if list.is_empty() {
        "nothing".into()
    } else {
        list.join(", ")
    }
}

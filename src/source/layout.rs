//! OCI image layouts (a directory with `oci-layout`, `index.json` and `blobs/sha256/<hex>`), and the
//! rules that pick one image out of an `index.json`, shared with tarred layouts.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::archive::{MAX_JSON_SIZE, io_error, not_an_image};
use super::{BlobSource, SourceError};
use crate::oci::{Descriptor, Digest, Index, annotation, media_type};

/// The blobs of a layout directory.
pub(crate) struct LayoutDir {
    pub root: PathBuf,
}

impl BlobSource for LayoutDir {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError> {
        // The digest is validated (64 lowercase hex digits), so this names one file in the blob directory.
        let path = self.root.join("blobs").join(digest.algorithm()).join(digest.hex());
        match std::fs::File::open(&path) {
            Ok(file) => Ok(Box::new(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(SourceError::BlobMissing { digest: digest.clone() })
            }
            Err(e) => Err(SourceError::Io { path, source: e }),
        }
    }
}

/// Reads a layout directory's `index.json`.
pub(crate) fn read_index_json(dir: &Path) -> Result<Vec<u8>, SourceError> {
    let path = dir.join("index.json");
    let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => not_an_image(dir, "no index.json (not an OCI image layout)"),
        _ => io_error(&path, e),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_JSON_SIZE).read_to_end(&mut bytes).map_err(|e| io_error(&path, e))?;
    Ok(bytes)
}

/// The image chosen from an `index.json`.
#[derive(Debug)]
pub(crate) enum Selected {
    /// One entry of the index.
    Entry(Descriptor),
    /// The index.json itself (several unnamed entries, e.g. the platforms of one image): the source must
    /// serve these bytes under the descriptor's digest.
    WholeIndex(Descriptor, Vec<u8>),
}

/// Picks the image named `reference` from `index_json` (see [`super::open_image`] for the rules).
/// `path` and `hint` are for messages: `hint` shows how to name an image, e.g. `oci:DIR:REF`.
pub(crate) fn select(
    path: &Path,
    index_json: Vec<u8>,
    reference: Option<&str>,
    hint: &str,
) -> Result<Selected, SourceError> {
    let index: Index = serde_json::from_slice(&index_json).map_err(|source| SourceError::BadJson {
        path: path.to_owned(),
        what: "index.json".into(),
        source,
    })?;
    let entries = index.manifests;
    if entries.is_empty() {
        return Err(not_an_image(path, "index.json lists no images"));
    }
    match reference {
        Some(reference) => select_named(path, &entries, reference).cloned().map(Selected::Entry),
        None => select_default(path, entries, index_json, hint),
    }
}

fn select_default(
    path: &Path,
    mut entries: Vec<Descriptor>,
    index_json: Vec<u8>,
    hint: &str,
) -> Result<Selected, SourceError> {
    if entries.len() == 1 {
        return Ok(Selected::Entry(entries.remove(0)));
    }
    let names = available_names(&entries);
    if names.is_empty() {
        let root = Descriptor {
            media_type: media_type::OCI_INDEX.into(),
            digest: Digest::sha256_of(&index_json),
            size: index_json.len() as u64,
            urls: None,
            annotations: Default::default(),
            platform: None,
            artifact_type: None,
        };
        return Ok(Selected::WholeIndex(root, index_json));
    }
    Err(SourceError::Ambiguous { path: path.to_owned(), count: entries.len(), hint: hint.into(), available: names })
}

/// Finds the entry named `reference`: by exact name, then by familiar name (`docker.io/library/x` is
/// `x`), then by tag alone (`latest` for `testbed/deb-a:latest`) if only one image has that tag.
pub(crate) fn select_named<'a>(
    path: &Path,
    entries: &'a [Descriptor],
    reference: &str,
) -> Result<&'a Descriptor, SourceError> {
    let by_name = |matches: &dyn Fn(&str) -> bool| unique(entries.iter().filter(|e| names_of(e).any(matches)));
    let familiar_ref = familiar(reference);
    let found = by_name(&|name| name == reference)
        .or_else(|| by_name(&|name| familiar(name) == familiar_ref))
        .or_else(|| by_name(&|name| name.rsplit_once(':').is_some_and(|(_, tag)| tag == reference)));
    found.ok_or_else(|| SourceError::NoSuchReference {
        path: path.to_owned(),
        reference: reference.to_owned(),
        available: or_none(available_names(entries)),
    })
}

/// The only distinct descriptor (by digest) among `matches`, if there is exactly one.
fn unique<'a>(mut matches: impl Iterator<Item = &'a Descriptor>) -> Option<&'a Descriptor> {
    let first = matches.next()?;
    let mut rest = matches;
    rest.all(|other| other.digest == first.digest).then_some(first)
}

/// The names an index entry answers to.
fn names_of(entry: &Descriptor) -> impl Iterator<Item = &str> {
    [annotation::REF_NAME, annotation::CONTAINERD_IMAGE_NAME]
        .into_iter()
        .filter_map(|key| entry.annotations.get(key).map(String::as_str))
}

/// Every name in the index, for messages; empty if no entry is named.
pub(crate) fn available_names(entries: &[Descriptor]) -> String {
    let names: BTreeSet<&str> = entries.iter().flat_map(names_of).collect();
    names.into_iter().collect::<Vec<_>>().join(", ")
}

pub(crate) fn or_none(names: String) -> String {
    if names.is_empty() { "no named images".into() } else { names }
}

/// An image name without the default registry and namespace that Docker and Podman add.
pub(crate) fn familiar(name: &str) -> &str {
    ["docker.io/library/", "docker.io/", "localhost/"]
        .into_iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name)
}

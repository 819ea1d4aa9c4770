//! OCI image layouts (a directory with `oci-layout`, `index.json` and `blobs/sha256/<hex>`), and the
//! rules that pick one image out of an `index.json`, shared with tarred layouts.

use std::collections::BTreeSet;
use std::fs::{File, Metadata};
use std::io::{self, Read};
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
        let path = self.stored_blob(digest)?.0;
        let file = open_without_blocking(&path).map_err(|e| blob_io_error(digest, &path, e))?;
        let metadata = file
            .metadata()
            .map_err(|e| blob_io_error(digest, &path, e))?;
        // Replaced since it was looked at: still no FIFO, device or directory is read.
        if !metadata.is_file() {
            return Err(not_a_blob(&path, &metadata));
        }
        Ok(Box::new(file))
    }

    fn stat(&self, digest: &Digest) -> Result<Option<u64>, SourceError> {
        Ok(Some(self.stored_blob(digest)?.1.len()))
    }
}

impl LayoutDir {
    /// The file holding a blob, and its metadata, checked without opening it (opening a FIFO for
    /// reading blocks): a regular file, or a symbolic link to one inside the layout.
    fn stored_blob(&self, digest: &Digest) -> Result<(PathBuf, Metadata), SourceError> {
        // The digest is validated (64 lowercase hex digits), so this names one file in the blob directory.
        let path = self
            .root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex());
        let metadata =
            std::fs::symlink_metadata(&path).map_err(|e| blob_io_error(digest, &path, e))?;
        let (path, metadata) = if metadata.file_type().is_symlink() {
            let target = self.link_target_inside(digest, &path)?;
            let metadata =
                std::fs::metadata(&target).map_err(|e| blob_io_error(digest, &target, e))?;
            (target, metadata)
        } else {
            (path, metadata)
        };
        if !metadata.is_file() {
            return Err(not_a_blob(&path, &metadata));
        }
        Ok((path, metadata))
    }

    /// Where a blob that is a symbolic link leads, refused if that is outside the layout.
    fn link_target_inside(&self, digest: &Digest, link: &Path) -> Result<PathBuf, SourceError> {
        let target = std::fs::canonicalize(link).map_err(|e| blob_io_error(digest, link, e))?;
        let root = std::fs::canonicalize(&self.root).map_err(|e| io_error(&self.root, e))?;
        if !target.starts_with(&root) {
            return Err(SourceError::Io {
                path: link.to_owned(),
                cause: io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "a symbolic link out of the layout (to {}), refused as a blob",
                        target.display()
                    ),
                ),
            });
        }
        Ok(target)
    }
}

/// Opens a file for reading without following a final symbolic link and without blocking if it
/// turned into a FIFO since it was looked at (the caller checks what it opened).
fn open_without_blocking(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

fn blob_io_error(digest: &Digest, path: &Path, error: io::Error) -> SourceError {
    if error.kind() == io::ErrorKind::NotFound {
        return SourceError::BlobMissing {
            digest: digest.clone(),
        };
    }
    io_error(path, error)
}

fn not_a_blob(path: &Path, metadata: &Metadata) -> SourceError {
    SourceError::Io {
        path: path.to_owned(),
        cause: io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}, not a regular file: refused as a blob",
                kind_of(metadata)
            ),
        ),
    }
}

fn kind_of(metadata: &Metadata) -> &'static str {
    let file_type = metadata.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "something else"
    }
}

/// Reads a layout directory's `index.json`.
pub(crate) fn read_index_json(dir: &Path) -> Result<Vec<u8>, SourceError> {
    let path = dir.join("index.json");
    let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            not_an_image(dir, "no index.json (not an OCI image layout)")
        }
        _ => io_error(&path, e),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_JSON_SIZE)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(&path, e))?;
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
    let entries = parse_index(path, &index_json)?.manifests;
    if entries.is_empty() {
        return Err(not_an_image(path, "index.json lists no images"));
    }
    match reference {
        Some(reference) => select_named(path, &entries, reference)
            .cloned()
            .map(Selected::Entry),
        None => select_default(path, entries, index_json, hint),
    }
}

/// Parses an `index.json`, whose `schemaVersion` must be 2 where it is given.
pub(crate) fn parse_index(path: &Path, index_json: &[u8]) -> Result<Index, SourceError> {
    let parsed = serde_json::from_slice(index_json);
    check_schema_version(path, "index.json", index_json)?;
    parsed.map_err(|cause| SourceError::BadJson {
        path: path.to_owned(),
        what: "index.json".into(),
        cause,
    })
}

/// Refuses a JSON object whose `schemaVersion` is given and is not 2 (the only one there is for
/// indexes and manifests). Anything else passes: what is not JSON is said by the parser.
pub(crate) fn check_schema_version(
    path: &Path,
    what: &str,
    json: &[u8],
) -> Result<(), SourceError> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return Ok(());
    };
    match value.get("schemaVersion") {
        None | Some(serde_json::Value::Null) => Ok(()),
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(2) => Ok(()),
        Some(serde_json::Value::Number(n)) => Err(not_an_image(
            path,
            &format!("{what} has unsupported schemaVersion {n}"),
        )),
        Some(_) => Err(not_an_image(
            path,
            &format!("{what} has a schemaVersion that is not a number"),
        )),
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
    Err(SourceError::Ambiguous {
        path: path.to_owned(),
        count: entries.len(),
        hint: hint.into(),
        available: names,
    })
}

/// Finds the entry named `reference`: by exact name, then by familiar name (`docker.io/library/x` is
/// `x`), then by tag alone (`latest` for `testbed/deb-a:latest`) if only one image has that tag.
pub(crate) fn select_named<'a>(
    path: &Path,
    entries: &'a [Descriptor],
    reference: &str,
) -> Result<&'a Descriptor, SourceError> {
    let by_name = |matches: &dyn Fn(&str) -> bool| {
        unique(entries.iter().filter(|e| names_of(e).any(matches)))
    };
    let familiar_ref = familiar(reference);
    let found = by_name(&|name| name == reference)
        .or_else(|| by_name(&|name| familiar(name) == familiar_ref))
        .or_else(|| {
            by_name(&|name| {
                name.rsplit_once(':')
                    .is_some_and(|(_, tag)| tag == reference)
            })
        });
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
    rest.all(|other| other.digest == first.digest)
        .then_some(first)
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
    if names.is_empty() {
        "no named images".into()
    } else {
        names
    }
}

/// An image name without the default registry and namespace that Docker and Podman add.
pub(crate) fn familiar(name: &str) -> &str {
    ["docker.io/library/", "docker.io/", "localhost/"]
        .into_iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use crate::fixture::{Fault, ImageBuilder, IndexBuilder, LayerBuilder, LayerCompression};
    use crate::oci::{Manifest, annotation, media_type};
    use crate::source::{SourceError, open_image};

    fn image(content: &str) -> ImageBuilder {
        let layer = LayerBuilder::new().file("etc/motd", content).build();
        ImageBuilder::new().layer(layer, LayerCompression::Gzip)
    }

    fn read_blob(image: &crate::source::Image, digest: &crate::oci::Digest) -> Vec<u8> {
        let mut bytes = Vec::new();
        image
            .source
            .open(digest)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    }

    #[test]
    fn single_entry_layout_needs_no_reference_and_keeps_annotations() {
        let dir = tempfile::tempdir().unwrap();
        let written = image("a")
            .write_oci_layout(dir.path(), Some("testbed/a:latest"))
            .unwrap();
        let opened = open_image(&format!("oci:{}", dir.path().display())).unwrap();
        assert_eq!(opened.root.digest, written.digest);
        assert_eq!(
            opened.root.annotations[annotation::REF_NAME],
            "testbed/a:latest"
        );
        let manifest: Manifest =
            serde_json::from_slice(&read_blob(&opened, &opened.root.digest)).unwrap();
        assert_eq!(manifest.layers.len(), 1);
        assert_eq!(
            read_blob(&opened, &manifest.layers[0].digest).len() as u64,
            manifest.layers[0].size
        );
    }

    #[test]
    fn references_select_by_name_familiar_name_or_unique_tag() {
        let dir = tempfile::tempdir().unwrap();
        let a = image("a")
            .write_oci_layout(dir.path(), Some("testbed/a:latest"))
            .unwrap();
        let b = image("b")
            .write_oci_layout(dir.path(), Some("docker.io/library/b:v2"))
            .unwrap();
        let open =
            |reference: &str| open_image(&format!("oci:{}:{reference}", dir.path().display()));
        assert_eq!(open("testbed/a:latest").unwrap().root.digest, a.digest);
        assert_eq!(open("b:v2").unwrap().root.digest, b.digest);
        assert_eq!(open("latest").unwrap().root.digest, a.digest);
        assert_eq!(open("v2").unwrap().root.digest, b.digest);
    }

    #[test]
    fn several_named_images_without_reference_are_ambiguous() {
        let dir = tempfile::tempdir().unwrap();
        image("a")
            .write_oci_layout(dir.path(), Some("deb-a"))
            .unwrap();
        image("b")
            .write_oci_layout(dir.path(), Some("deb-b"))
            .unwrap();
        let error = open_image(&format!("oci:{}", dir.path().display())).unwrap_err();
        let SourceError::Ambiguous {
            count, available, ..
        } = &error
        else {
            panic!("{error}")
        };
        assert_eq!((*count, available.as_str()), (2, "deb-a, deb-b"));
        assert!(
            error
                .to_string()
                .contains(&dir.path().display().to_string())
        );
    }

    #[test]
    fn a_tag_shared_by_two_images_is_not_a_reference() {
        let dir = tempfile::tempdir().unwrap();
        image("a")
            .write_oci_layout(dir.path(), Some("x/a:latest"))
            .unwrap();
        image("b")
            .write_oci_layout(dir.path(), Some("x/b:latest"))
            .unwrap();
        let error = open_image(&format!("oci:{}:latest", dir.path().display())).unwrap_err();
        assert!(
            matches!(error, SourceError::NoSuchReference { .. }),
            "{error}"
        );
    }

    #[test]
    fn unknown_reference_lists_what_exists() {
        let dir = tempfile::tempdir().unwrap();
        image("a")
            .write_oci_layout(dir.path(), Some("deb-a"))
            .unwrap();
        let error = open_image(&format!("oci:{}:nope", dir.path().display())).unwrap_err();
        let SourceError::NoSuchReference {
            reference,
            available,
            ..
        } = &error
        else {
            panic!("{error}")
        };
        assert_eq!((reference.as_str(), available.as_str()), ("nope", "deb-a"));
    }

    #[test]
    fn unnamed_entries_make_the_index_json_the_image() {
        let dir = tempfile::tempdir().unwrap();
        image("a").write_oci_layout(dir.path(), None).unwrap();
        image("b")
            .platform("linux", "arm64", None)
            .write_oci_layout(dir.path(), None)
            .unwrap();
        let opened = open_image(&format!("oci:{}", dir.path().display())).unwrap();
        let index_json = std::fs::read(dir.path().join("index.json")).unwrap();
        assert_eq!(opened.root.media_type, media_type::OCI_INDEX);
        assert_eq!(
            opened.root.digest,
            crate::oci::Digest::sha256_of(&index_json)
        );
        assert_eq!(read_blob(&opened, &opened.root.digest), index_json);
    }

    #[test]
    fn multi_platform_index_entry_is_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let index = IndexBuilder::new()
            .image(image("a"))
            .image(image("b").platform("linux", "arm", Some("v7")));
        let written = index.write_oci_layout(dir.path(), Some("multi")).unwrap();
        let opened = open_image(&format!("oci:{}:multi", dir.path().display())).unwrap();
        assert_eq!(opened.root.digest, written.digest);
        let parsed: crate::oci::Index =
            serde_json::from_slice(&read_blob(&opened, &written.digest)).unwrap();
        let keys: Vec<String> = parsed
            .manifests
            .iter()
            .map(|m| m.platform.clone().unwrap().key())
            .collect();
        assert_eq!(keys, ["linux/amd64", "linux/arm/v7"]);
    }

    #[test]
    fn missing_blob_is_reported_by_digest() {
        let dir = tempfile::tempdir().unwrap();
        let built = image("a").fault(Fault::OmitLayer(0)).build();
        image("a")
            .fault(Fault::OmitLayer(0))
            .write_oci_layout(dir.path(), None)
            .unwrap();
        let opened = open_image(dir.path().to_str().unwrap()).unwrap();
        let error = opened.source.open(&built.layers[0].digest).err().unwrap();
        assert!(
            matches!(&error, SourceError::BlobMissing { digest } if *digest == built.layers[0].digest)
        );
    }

    #[test]
    fn a_directory_without_index_json_is_not_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let error = open_image(&format!("oci:{}", dir.path().display())).unwrap_err();
        assert!(matches!(error, SourceError::NotAnImage { .. }), "{error}");
        std::fs::write(dir.path().join("index.json"), b"{\"manifests\": 3").unwrap();
        let error = open_image(dir.path().to_str().unwrap()).unwrap_err();
        assert!(matches!(error, SourceError::BadJson { .. }), "{error}");
    }
}

//! Image sources: where blobs come from. A source only hands out bytes by digest; the engine verifies
//! every blob's size and digest as it reads it, whatever the source.
//!
//! Input forms (see [`open_image`]):
//! - `oci:DIR[:REF]`: an OCI image layout directory;
//! - `oci-archive:FILE[:REF]`: a tarred OCI layout, read in place (members are located once, then read
//!   by offset; nothing is unpacked);
//! - `docker-archive:FILE[:REPO:TAG]`: `docker save` output, legacy (`manifest.json`, `<id>/layer.tar`)
//!   or Docker 25+ (an OCI layout inside);
//! - a bare path: a directory is a layout, a file an archive whose kind is read from its content.

mod archive;
mod docker_archive;
mod layout;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::oci::{Descriptor, Digest};

use archive::{TarBlobs, TarFile, not_an_image};
use layout::{LayoutDir, Selected};

/// Where an image's blobs are read from.
pub trait BlobSource: Send + Sync {
    /// Opens a blob's stored bytes. The reader yields exactly what is stored; verification is the
    /// caller's job.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError>;
}

/// An opened input: its blobs and the descriptor of its top object (an index or a manifest).
#[derive(Clone)]
pub struct Image {
    /// The input as the user wrote it, for messages.
    pub spec: String,
    pub source: Arc<dyn BlobSource>,
    pub root: Descriptor,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image").field("spec", &self.spec).field("root", &self.root).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an image: {reason}")]
    NotAnImage { path: PathBuf, reason: String },
    #[error("{path}: {what} is not valid JSON: {source}")]
    BadJson {
        path: PathBuf,
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: no image named {reference:?} (it has: {available})")]
    NoSuchReference { path: PathBuf, reference: String, available: String },
    #[error("{path}: holds {count} images; name one as {hint} (it has: {available})")]
    Ambiguous { path: PathBuf, count: usize, hint: String, available: String },
    #[error("blob {digest} is missing")]
    BlobMissing { digest: Digest },
    #[error("{spec}: {reason}")]
    Unsupported { spec: String, reason: String },
}

/// Opens an input given as on the command line.
///
/// - `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`: REF is matched against the `org.opencontainers.image.ref.name`
///   and `io.containerd.image.name` annotations of `index.json` entries, then as a familiar name
///   (without `docker.io/`, `localhost/`), then as a bare tag if only one image has it. Without REF, a
///   single entry is the image; several unnamed entries make the index itself the image; several named
///   ones are [`SourceError::Ambiguous`].
/// - `docker-archive:FILE[:REPO:TAG]`: selects by `manifest.json`'s RepoTags.
/// - a bare existing path: a directory is a layout; a tar with `index.json` is an OCI archive, one with
///   only `manifest.json` a docker archive.
///
/// Since FILE may contain `:` too, the path is the whole remainder if that exists, else the shortest
/// prefix ending before a `:` that exists.
pub fn open_image(spec: &str) -> Result<Image, SourceError> {
    let (source, root) = open_parts(spec)?;
    Ok(Image { spec: spec.to_owned(), source, root })
}

type Opened = (Arc<dyn BlobSource>, Descriptor);

fn open_parts(spec: &str) -> Result<Opened, SourceError> {
    if let Some(rest) = spec.strip_prefix("oci:") {
        let (path, reference) = split_path_and_reference(rest)?;
        return open_layout(&path, reference);
    }
    if let Some(rest) = spec.strip_prefix("oci-archive:") {
        let (path, reference) = split_path_and_reference(rest)?;
        return open_oci_archive(Arc::new(TarFile::scan(&path)?), reference);
    }
    if let Some(rest) = spec.strip_prefix("docker-archive:") {
        let (path, repo_tag) = split_path_and_reference(rest)?;
        return open_docker_archive(Arc::new(TarFile::scan(&path)?), repo_tag);
    }
    let path = Path::new(spec);
    if path.exists() {
        return open_bare_path(path);
    }
    if looks_like_path(spec) {
        return Err(SourceError::NotFound { path: path.to_owned() });
    }
    Err(SourceError::Unsupported {
        spec: spec.to_owned(),
        reason: "registry and engine inputs are not supported yet".into(),
    })
}

/// Whether a string that names nothing on disk was meant as a path rather than an image reference.
fn looks_like_path(spec: &str) -> bool {
    let path_like_start = ["/", "./", "../", "~"].iter().any(|p| spec.starts_with(p));
    let archive_like_end = [".tar", ".tar.gz", ".tgz", ".tar.zst"].iter().any(|e| spec.ends_with(e));
    !spec.contains("://") && (path_like_start || archive_like_end)
}

/// Splits `PATH[:REF]` (see [`open_image`]). An empty REF counts as none.
fn split_path_and_reference(rest: &str) -> Result<(PathBuf, Option<&str>), SourceError> {
    if Path::new(rest).exists() {
        return Ok((PathBuf::from(rest), None));
    }
    let split = rest
        .match_indices(':')
        .map(|(at, _)| (&rest[..at], &rest[at + 1..]))
        .find(|(path, _)| !path.is_empty() && Path::new(path).exists());
    match split {
        Some((path, reference)) => Ok((PathBuf::from(path), Some(reference).filter(|r| !r.is_empty()))),
        None => {
            let path = rest.split(':').next().unwrap_or(rest);
            Err(SourceError::NotFound { path: PathBuf::from(path) })
        }
    }
}

fn open_bare_path(path: &Path) -> Result<Opened, SourceError> {
    if path.is_dir() {
        return open_layout(path, None);
    }
    let tar = Arc::new(TarFile::scan(path)?);
    if tar.contains("index.json") || tar.contains("oci-layout") {
        return open_oci_archive(tar, None);
    }
    if tar.contains("manifest.json") {
        return open_docker_archive(tar, None);
    }
    Err(not_an_image(path, "the tar archive has neither index.json nor manifest.json"))
}

fn open_layout(dir: &Path, reference: Option<&str>) -> Result<Opened, SourceError> {
    if !dir.is_dir() {
        return Err(not_an_image(dir, "an OCI layout must be a directory"));
    }
    let index_json = layout::read_index_json(dir)?;
    let hint = format!("oci:{}:REF", dir.display());
    let blobs = Arc::new(LayoutDir { root: dir.to_owned() });
    Ok(with_selection(blobs, layout::select(dir, index_json, reference, &hint)?))
}

fn open_oci_archive(tar: Arc<TarFile>, reference: Option<&str>) -> Result<Opened, SourceError> {
    let path = tar.path().to_owned();
    let index_json = tar.read_member("index.json")?.ok_or_else(|| {
        let also = if tar.contains("manifest.json") { " (it looks like a docker-archive)" } else { "" };
        not_an_image(&path, &format!("no index.json in the archive{also}"))
    })?;
    let hint = format!("oci-archive:{}:REF", path.display());
    let selected = layout::select(&path, index_json, reference, &hint)?;
    Ok(with_selection(Arc::new(TarBlobs { tar, renamed: HashMap::new() }), selected))
}

fn open_docker_archive(tar: Arc<TarFile>, repo_tag: Option<&str>) -> Result<Opened, SourceError> {
    let path = tar.path().to_owned();
    let saved_images = docker_archive::read_manifest_json(&tar)?;
    if tar.contains("index.json") && tar.contains("oci-layout") {
        return open_docker25(tar, saved_images.as_deref(), repo_tag);
    }
    let images = saved_images.ok_or_else(|| not_an_image(&path, "no manifest.json in the archive"))?;
    let (image, tag) = docker_archive::select_saved(&path, &images, repo_tag)?;
    docker_archive::open_legacy(tar.clone(), image, tag)
}

/// A Docker 25+ archive: an OCI layout whose images are named by `manifest.json`'s RepoTags.
fn open_docker25(
    tar: Arc<TarFile>,
    saved_images: Option<&[docker_archive::SavedImage]>,
    repo_tag: Option<&str>,
) -> Result<Opened, SourceError> {
    let path = tar.path().to_owned();
    let blobs = || Arc::new(TarBlobs { tar: tar.clone(), renamed: HashMap::new() });
    if let Some(images) = saved_images.filter(|images| !images.is_empty()) {
        let (image, tag) = docker_archive::select_saved(&path, images, repo_tag)?;
        let index_json = tar.read_member("index.json")?.unwrap_or_default();
        let index: crate::oci::Index = serde_json::from_slice(&index_json).map_err(|source| SourceError::BadJson {
            path: path.clone(),
            what: "index.json".into(),
            source,
        })?;
        if let Some(mut entry) = docker_archive::entry_for_saved(&tar, &index.manifests, image)? {
            if let Some(tag) = tag {
                entry.annotations.entry(crate::oci::annotation::CONTAINERD_IMAGE_NAME.into()).or_insert(tag);
            }
            return Ok((blobs(), entry));
        }
    }
    open_oci_archive(tar.clone(), repo_tag)
}

fn with_selection(blobs: Arc<dyn BlobSource>, selected: Selected) -> Opened {
    match selected {
        Selected::Entry(root) => (blobs, root),
        Selected::WholeIndex(root, bytes) => {
            let source = MemoryBlobs::new(blobs, [(root.digest.clone(), bytes)]);
            (Arc::new(source), root)
        }
    }
}

/// Blobs held in memory (a synthesized manifest, an index.json standing for the image) in front of
/// another source.
struct MemoryBlobs {
    in_memory: HashMap<Digest, Arc<[u8]>>,
    fallback: Arc<dyn BlobSource>,
}

impl MemoryBlobs {
    fn new(fallback: Arc<dyn BlobSource>, blobs: impl IntoIterator<Item = (Digest, Vec<u8>)>) -> MemoryBlobs {
        let in_memory = blobs.into_iter().map(|(digest, bytes)| (digest, Arc::from(bytes))).collect();
        MemoryBlobs { in_memory, fallback }
    }
}

impl BlobSource for MemoryBlobs {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError> {
        match self.in_memory.get(digest) {
            Some(bytes) => Ok(Box::new(std::io::Cursor::new(bytes.clone()))),
            None => self.fallback.open(digest),
        }
    }
}

//! Image sources: where blobs come from. A source only hands out bytes by digest; the engine verifies
//! every blob's size and digest as it reads it, whatever the source.
//!
//! Input forms (see [`open_image`]):
//! - `oci:DIR[:REF]`: an OCI image layout directory;
//! - `oci-archive:FILE[:REF]`: a tarred OCI layout, read in place (members are located once, then read
//!   by offset; nothing is unpacked);
//! - `docker-archive:FILE[:REPO:TAG]`: `docker save` output, legacy (`manifest.json`, `<id>/layer.tar`)
//!   or Docker 25+ (an OCI layout inside);
//! - a bare path: a directory is a layout, a file an archive whose kind is read from its content;
//! - `docker://NAME`, `podman://NAME`, `containerd://NAME`: an image held by a local engine (see
//!   [`engine`]);
//! - anything else: a registry reference (see [`registry`]).

mod archive;
mod docker_archive;
pub mod engine;
mod layout;
mod network;
pub mod registry;
mod runtime;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::oci::{Descriptor, Digest, Platform};

use archive::{TarBlobs, TarFile, not_an_image};
use layout::{LayoutDir, Selected};
pub use network::NetworkLimits;

/// Where an image's blobs are read from.
pub trait BlobSource: Send + Sync {
    /// Opens a blob's stored bytes. The reader yields exactly what is stored; verification is the
    /// caller's job.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError>;

    /// A blob's stored size, found without reading it (a stat, an archive's member index), to check
    /// that a blob the comparison does not read is there. `Ok(None)` when the source cannot tell
    /// without reading (registries, engines: their blobs are verified when read);
    /// [`SourceError::BlobMissing`] when it is not there; an error too for what cannot be a blob (a
    /// directory, a FIFO, a link out of the image).
    fn stat(&self, digest: &Digest) -> Result<Option<u64>, SourceError>;

    /// Says which blobs the comparison will read, in the order it will read them, before any is
    /// opened. A remote source can start fetching them in parallel; a local one ignores it.
    fn prefetch(&self, _blobs: &[Descriptor]) {}
}

/// How inputs that are not local files are reached: registries, engines, the blob cache.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// `--platform`: engines that can export a single platform are asked for these.
    pub platforms: Vec<Platform>,
    /// `--insecure-registry HOST[:PORT]`: registries reached over plain HTTP when they offer no TLS,
    /// and whose certificates are not checked (loopback ones get plain HTTP too, but checked TLS).
    pub insecure_registries: Vec<String>,
    /// `--registry-ca FILE`: extra CA certificates (PEM) trusted for registries.
    pub registry_ca: Vec<PathBuf>,
    /// Where downloaded blobs are kept.
    pub cache: CacheSetting,
    /// When a registry is asked.
    pub pull: PullPolicy,
    /// `--containerd-address`: containerd's socket (default `$CONTAINERD_ADDRESS`, else
    /// `/run/containerd/containerd.sock`).
    pub containerd_address: Option<PathBuf>,
    /// `--containerd-namespace` (default `$CONTAINERD_NAMESPACE`, else `default`).
    pub containerd_namespace: Option<String>,
    /// `--network-timeout`, `--network-min-rate`: how long registries and engines may keep us waiting.
    pub network: NetworkLimits,
}

/// `--pull`, with diffoci's names: when a registry is asked rather than the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Resolve the reference at the registry on every run. Blobs already in the cache are not
    /// downloaded again: they are named by their digest (containerd's pull skips them too).
    #[default]
    Always,
    /// Use what an earlier run resolved the reference to while the cache holds that manifest; ask the
    /// registry only for what the cache lacks.
    Missing,
    /// Never ask the registry: the reference and every blob read must be in the cache.
    Never,
}

/// The blob cache: `--cache-dir DIR`, `--no-cache`, or the XDG cache dir.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheSetting {
    /// `$XDG_CACHE_HOME/ocidiff-tui` (else `~/.cache/ocidiff-tui`).
    #[default]
    Default,
    Dir(PathBuf),
    /// Nothing is kept after the run.
    Disabled,
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
        f.debug_struct("Image")
            .field("spec", &self.spec)
            .field("root", &self.root)
            .finish()
    }
}

/// The first line of a message, at most 200 characters, for one-line errors.
pub(crate) fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(200) {
        Some((at, _)) => &line[..at],
        None => line,
    }
}

/// The innermost cause of an error (e.g. "connection reset by peer"), which is what a person needs;
/// the outer layers only repeat the request URL. Its first line.
pub(crate) fn clean_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost: &(dyn std::error::Error + 'static) = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    first_line(&innermost.to_string()).to_owned()
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
    NoSuchReference {
        path: PathBuf,
        reference: String,
        available: String,
    },
    #[error("{path}: holds {count} images; name one as {hint} (it has: {available})")]
    Ambiguous {
        path: PathBuf,
        count: usize,
        hint: String,
        available: String,
    },
    #[error("blob {digest} is missing")]
    BlobMissing { digest: Digest },
    #[error("{spec}: {reason}")]
    Unsupported { spec: String, reason: String },
    // Engine inputs (docker://, podman://, containerd://); see `engine`.
    #[error("cannot reach {engine} at {address}: {reason} ({hint})")]
    EngineUnreachable {
        engine: &'static str,
        address: String,
        reason: String,
        hint: String,
    },
    /// `place` says where the engine was asked: `at unix://…` or `through \`podman save\``.
    #[error("{spec}: no such image in {engine} {place}")]
    NoSuchImage {
        spec: String,
        engine: &'static str,
        place: String,
    },
    #[error("{spec}: {engine} {place}: {reason}")]
    EngineFailed {
        spec: String,
        engine: &'static str,
        place: String,
        reason: String,
    },
    /// A registry request that failed for good: one line naming the registry, repository and object.
    #[error("registry {registry}, repository {repository}: {what}: {problem}")]
    Registry {
        registry: String,
        repository: String,
        what: String,
        problem: String,
    },
}

/// A read that failed after a blob was opened because the source could not deliver the bytes (a
/// download given up on), carried inside the `io::Error` the reader returns so that the engine tells
/// it apart from bad content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadFailure(pub String);

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
    open_image_with(spec, &SourceOptions::default())
}

/// [`open_image`], with the options that reach registries and engines.
pub fn open_image_with(spec: &str, options: &SourceOptions) -> Result<Image, SourceError> {
    let (source, root) = open_parts(spec, options)?;
    Ok(Image {
        spec: spec.to_owned(),
        source,
        root,
    })
}

type Opened = (Arc<dyn BlobSource>, Descriptor);

fn open_parts(spec: &str, options: &SourceOptions) -> Result<Opened, SourceError> {
    if let Some(name) = spec.strip_prefix("docker://") {
        return engine::open(engine::Engine::Docker, name, options);
    }
    if let Some(name) = spec.strip_prefix("podman://") {
        return engine::open(engine::Engine::Podman, name, options);
    }
    if let Some(name) = spec.strip_prefix("containerd://") {
        return engine::open(engine::Engine::Containerd, name, options);
    }
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
        return Err(SourceError::NotFound {
            path: path.to_owned(),
        });
    }
    registry::open(spec, options)
}

/// Whether a string that names nothing on disk was meant as a path rather than an image reference.
fn looks_like_path(spec: &str) -> bool {
    let path_like_start = ["/", "./", "../", "~"].iter().any(|p| spec.starts_with(p));
    let archive_like_end = [".tar", ".tar.gz", ".tgz", ".tar.zst"]
        .iter()
        .any(|e| spec.ends_with(e));
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
        Some((path, reference)) => Ok((
            PathBuf::from(path),
            Some(reference).filter(|r| !r.is_empty()),
        )),
        None => {
            let path = rest.split(':').next().unwrap_or(rest);
            Err(SourceError::NotFound {
                path: PathBuf::from(path),
            })
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
    Err(not_an_image(
        path,
        "the tar archive has neither index.json nor manifest.json",
    ))
}

fn open_layout(dir: &Path, reference: Option<&str>) -> Result<Opened, SourceError> {
    if !dir.is_dir() {
        return Err(not_an_image(dir, "an OCI layout must be a directory"));
    }
    let index_json = layout::read_index_json(dir)?;
    let hint = format!("oci:{}:REF", dir.display());
    let blobs = Arc::new(LayoutDir {
        root: dir.to_owned(),
    });
    Ok(with_selection(
        blobs,
        layout::select(dir, index_json, reference, &hint)?,
    ))
}

fn open_oci_archive(tar: Arc<TarFile>, reference: Option<&str>) -> Result<Opened, SourceError> {
    let path = tar.path().to_owned();
    let index_json = tar.read_member("index.json")?.ok_or_else(|| {
        let also = if tar.contains("manifest.json") {
            " (it looks like a docker-archive)"
        } else {
            ""
        };
        not_an_image(&path, &format!("no index.json in the archive{also}"))
    })?;
    let hint = format!("oci-archive:{}:REF", path.display());
    let selected = layout::select(&path, index_json, reference, &hint)?;
    Ok(with_selection(
        Arc::new(TarBlobs {
            tar,
            renamed: HashMap::new(),
        }),
        selected,
    ))
}

fn open_docker_archive(tar: Arc<TarFile>, repo_tag: Option<&str>) -> Result<Opened, SourceError> {
    let path = tar.path().to_owned();
    let saved_images = docker_archive::read_manifest_json(&tar)?;
    if tar.contains("index.json") && tar.contains("oci-layout") {
        return open_docker25(tar, saved_images.as_deref(), repo_tag);
    }
    let images =
        saved_images.ok_or_else(|| not_an_image(&path, "no manifest.json in the archive"))?;
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
    let blobs = || {
        Arc::new(TarBlobs {
            tar: tar.clone(),
            renamed: HashMap::new(),
        })
    };
    if let Some(images) = saved_images.filter(|images| !images.is_empty()) {
        let (image, tag) = docker_archive::select_saved(&path, images, repo_tag)?;
        let index_json = tar.read_member("index.json")?.unwrap_or_default();
        let index: crate::oci::Index =
            serde_json::from_slice(&index_json).map_err(|source| SourceError::BadJson {
                path: path.clone(),
                what: "index.json".into(),
                source,
            })?;
        if let Some(mut entry) = docker_archive::entry_for_saved(&tar, &index.manifests, image)? {
            if let Some(tag) = tag {
                entry
                    .annotations
                    .entry(crate::oci::annotation::CONTAINERD_IMAGE_NAME.into())
                    .or_insert(tag);
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
    fn new(
        fallback: Arc<dyn BlobSource>,
        blobs: impl IntoIterator<Item = (Digest, Vec<u8>)>,
    ) -> MemoryBlobs {
        let in_memory = blobs
            .into_iter()
            .map(|(digest, bytes)| (digest, Arc::from(bytes)))
            .collect();
        MemoryBlobs {
            in_memory,
            fallback,
        }
    }
}

impl BlobSource for MemoryBlobs {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError> {
        match self.in_memory.get(digest) {
            Some(bytes) => Ok(Box::new(std::io::Cursor::new(bytes.clone()))),
            None => self.fallback.open(digest),
        }
    }

    fn stat(&self, digest: &Digest) -> Result<Option<u64>, SourceError> {
        match self.in_memory.get(digest) {
            Some(bytes) => Ok(Some(bytes.len() as u64)),
            None => self.fallback.stat(digest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{DockerStyle, ImageBuilder, LayerBuilder, LayerCompression};
    use crate::oci::{Manifest, media_type};

    fn image() -> ImageBuilder {
        ImageBuilder::new().layer(
            LayerBuilder::new().file("a", "1").build(),
            LayerCompression::Gzip,
        )
    }

    #[test]
    fn bare_paths_are_recognised_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("layout");
        let oci = dir.path().join("x.bin");
        let docker = dir.path().join("y.bin");
        image().write_oci_layout(&layout, None).unwrap();
        image().write_oci_archive(&oci, None).unwrap();
        image().write_docker_archive(&docker, None).unwrap();
        let open = |p: &Path| open_image(p.to_str().unwrap()).unwrap().root.media_type;
        assert_eq!(open(&layout), media_type::OCI_MANIFEST);
        assert_eq!(open(&oci), media_type::OCI_MANIFEST);
        assert_eq!(open(&docker), media_type::DOCKER_MANIFEST);
    }

    #[test]
    fn paths_containing_colons_are_split_at_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a:b.tar");
        image()
            .write_oci_archive(&file, Some("repo/x:tag"))
            .unwrap();
        let whole = open_image(&format!("oci-archive:{}", file.display())).unwrap();
        let named = open_image(&format!("oci-archive:{}:repo/x:tag", file.display())).unwrap();
        assert_eq!(whole.root.digest, named.root.digest);
        let error = open_image(&format!("oci-archive:{}:other", file.display())).unwrap_err();
        assert!(
            matches!(error, SourceError::NoSuchReference { .. }),
            "{error}"
        );
    }

    #[test]
    fn files_that_are_not_tars_are_not_images() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello\n").unwrap();
        let error = open_image(text.to_str().unwrap()).unwrap_err();
        assert!(
            matches!(&error, SourceError::NotAnImage { reason, .. } if reason == "not a tar archive"),
            "{error}"
        );
        assert!(error.to_string().starts_with(&text.display().to_string()));
        let gz = dir.path().join("layout.tar.gz");
        std::fs::write(&gz, crate::fixture::gzip(&image().oci_files(None).to_tar())).unwrap();
        let error = open_image(gz.to_str().unwrap()).unwrap_err();
        assert!(error.to_string().contains("gzip-compressed"), "{error}");
        let empty = dir.path().join("empty.tar");
        std::fs::write(&empty, [0u8; 1024]).unwrap();
        assert!(matches!(
            open_image(empty.to_str().unwrap()),
            Err(SourceError::NotAnImage { .. })
        ));
        let unrelated = dir.path().join("other.tar");
        std::fs::write(&unrelated, LayerBuilder::new().file("x", "y").build()).unwrap();
        let error = open_image(unrelated.to_str().unwrap()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("neither index.json nor manifest.json"),
            "{error}"
        );
    }

    #[test]
    fn truncated_tar_headers_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let tar = image().docker_files(None, DockerStyle::Legacy).to_tar();
        for cut in [600, 1000, tar.len() / 2] {
            let file = dir.path().join(format!("cut{cut}.tar"));
            std::fs::write(&file, &tar[..cut]).unwrap();
            assert!(
                open_image(file.to_str().unwrap()).is_err(),
                "cut at {cut} accepted"
            );
        }
        // Only the end-of-archive blocks missing: every member is intact, so the image opens.
        let file = dir.path().join("no-end.tar");
        std::fs::write(&file, &tar[..tar.len() - 1024]).unwrap();
        assert!(open_image(file.to_str().unwrap()).is_ok());
    }

    #[test]
    fn missing_paths_and_registry_references() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.tar");
        for spec in [
            missing.display().to_string(),
            format!("oci:{}", missing.display()),
        ] {
            let error = open_image(&spec).unwrap_err();
            assert!(
                matches!(&error, SourceError::NotFound { path } if *path == missing),
                "{error}"
            );
        }
        for spec in ["ghcr.io/x/y@sha256:00", "Upper/Case"] {
            let error = open_image(spec).unwrap_err();
            assert!(
                matches!(&error, SourceError::Unsupported { reason, .. } if reason.contains("not an image reference")),
                "{spec}: {error}"
            );
        }
        assert!(matches!(
            open_image("docker://not a name"),
            Err(SourceError::Unsupported { .. })
        ));
        // A registry reference reaches the registry source: here a loopback port nobody listens on.
        let options = SourceOptions {
            cache: CacheSetting::Dir(dir.path().join("cache")),
            ..Default::default()
        };
        let error = open_image_with("127.0.0.1:1/x/y:1", &options).unwrap_err();
        assert!(
            matches!(&error, SourceError::Registry { registry, repository, .. }
                if registry == "127.0.0.1:1" && repository == "x/y"),
            "{error}"
        );
    }

    /// Opens the shared testbed's images in every form, when they exist on this machine.
    #[test]
    fn testbed_images_open_in_every_form() {
        let root = Path::new("/var/tmp/testbed");
        if !root.join("archives/deb-a.oci.tar").exists() {
            eprintln!("skipped: no testbed at {}", root.display());
            return;
        }
        let at = |p: &str| root.join(p).display().to_string();
        let forms = [
            (
                format!("oci:{}", at("layouts/deb-a")),
                media_type::OCI_MANIFEST,
            ),
            (
                format!("oci:{}:deb-b", at("oci/testbed")),
                media_type::OCI_MANIFEST,
            ),
            (
                format!("oci:{}:multi", at("oci/testbed")),
                media_type::OCI_INDEX,
            ),
            (
                format!("oci-archive:{}", at("archives/deb-a.oci.tar")),
                media_type::OCI_MANIFEST,
            ),
            (at("archives/multi.oci.tar"), media_type::OCI_INDEX),
            (
                format!("docker-archive:{}", at("archives/deb-a.docker.tar")),
                media_type::DOCKER_MANIFEST,
            ),
            (
                format!(
                    "docker-archive:{}:testbed/deb-a:latest",
                    at("archives/deb-a.docker.tar")
                ),
                media_type::DOCKER_MANIFEST,
            ),
            (
                format!(
                    "docker-archive:{}:testbed/deb-a:latest",
                    at("archives/deb-a.docker25.tar")
                ),
                media_type::OCI_MANIFEST,
            ),
        ];
        for (spec, expected) in forms {
            let image = open_image(&spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
            assert_eq!(image.root.media_type, expected, "{spec}");
            if expected == media_type::OCI_INDEX {
                continue;
            }
            let manifest = read_manifest(&image);
            if spec.starts_with("docker-archive:") {
                check_layers_are_diff_ids(&image, &manifest);
            }
        }
    }

    fn read_manifest(image: &Image) -> Manifest {
        let mut bytes = Vec::new();
        image
            .source
            .open(&image.root.digest)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(
            Digest::sha256_of(&bytes),
            image.root.digest,
            "{}",
            image.spec
        );
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Uncompressed docker layers are their diffs: the digests listed must be the config's diff_ids.
    fn check_layers_are_diff_ids(image: &Image, manifest: &Manifest) {
        let mut config = Vec::new();
        image
            .source
            .open(&manifest.config.digest)
            .unwrap()
            .read_to_end(&mut config)
            .unwrap();
        let config: crate::oci::ImageConfig = serde_json::from_slice(&config).unwrap();
        let layer_digests: Vec<&Digest> = manifest.layers.iter().map(|l| &l.digest).collect();
        assert_eq!(
            layer_digests,
            config.rootfs.diff_ids.iter().collect::<Vec<_>>(),
            "{}",
            image.spec
        );
    }
}

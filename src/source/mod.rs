//! Image sources: where blobs come from. A source only hands out bytes by digest; the engine verifies
//! every blob's size and digest as it reads it, whatever the source.
//!
//! The forms an input can take are one table, [`INPUT_FORMS`], which [`open_image`], the `--help`
//! text and the progress line read. Archives (`oci-archive:`, `docker-archive:`, a bare file) are
//! read in place: members are located once, then read by offset; nothing is unpacked. A gzip, zstd
//! or xz compressed archive, or a pipe, is first copied (decompressed) to a temporary file (see
//! `decompress`).

mod archive;
pub mod daemon;
mod decompress;
pub(crate) use decompress::room_left;
mod docker_archive;
mod layout;
mod network;
pub mod registry;
mod runtime;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::oci::{Descriptor, Digest, Platform};
use crate::tarball;

use archive::{TarBlobs, TarFile, not_an_image};
pub use decompress::ArchiveCompression;
use layout::{LayoutDir, Selected};
pub use network::NetworkLimits;

/// What an input is, as told by its prefix (or, without one, by what exists on disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Layout,
    OciArchive,
    DockerArchive,
    Engine(daemon::Engine),
    /// A path without a prefix: a directory is a layout, a file an archive told apart by content.
    Path,
    Registry,
}

/// One form an input can take.
#[derive(Debug)]
pub struct InputForm {
    /// What the input starts with, or `None` for the forms told apart without a prefix.
    pub prefix: Option<&'static str>,
    /// The form with its placeholders, e.g. `oci:DIR[:REF]`.
    pub syntax: &'static str,
    pub description: &'static str,
    pub example: &'static str,
    pub kind: InputKind,
}

/// Every form of input, in the order prefixes are tried; the forms without a prefix come last: an
/// existing path (or one that looks like a path) is a path, anything else a registry reference.
pub const INPUT_FORMS: &[InputForm] = &[
    InputForm {
        prefix: Some("oci:"),
        syntax: "oci:DIR[:REF]",
        description: "an OCI layout directory; REF names an image",
        example: "oci:./layout:app:1.0",
        kind: InputKind::Layout,
    },
    InputForm {
        prefix: Some("oci-archive:"),
        syntax: "oci-archive:FILE[:REF]",
        description: "a tarred OCI layout (plain, gzip, zstd or xz)",
        example: "oci-archive:app.oci.tar",
        kind: InputKind::OciArchive,
    },
    InputForm {
        prefix: Some("docker-archive:"),
        syntax: "docker-archive:FILE[:REPO:TAG]",
        description: "`docker save` output (plain, gzip, zstd or xz)",
        example: "docker-archive:app.tar.gz:app:1.0",
        kind: InputKind::DockerArchive,
    },
    InputForm {
        prefix: Some("docker://"),
        syntax: "docker://NAME",
        description: "an image in Docker ($DOCKER_HOST or context)",
        example: "docker://app:1.0",
        kind: InputKind::Engine(daemon::Engine::Docker),
    },
    InputForm {
        prefix: Some("podman://"),
        syntax: "podman://NAME",
        description: "an image in Podman (its API or `podman save`)",
        example: "podman://localhost/app:1.0",
        kind: InputKind::Engine(daemon::Engine::Podman),
    },
    InputForm {
        prefix: Some("containerd://"),
        syntax: "containerd://NAME",
        description: "an image in containerd (see --containerd-*)",
        example: "containerd://docker.io/library/app:1.0",
        kind: InputKind::Engine(daemon::Engine::Containerd),
    },
    InputForm {
        prefix: None,
        syntax: "PATH",
        description: "a layout dir or an archive, told by content",
        example: "./app.tar",
        kind: InputKind::Path,
    },
    InputForm {
        prefix: None,
        syntax: "REFERENCE",
        description: "an image in a registry (as Docker names it)",
        example: "alpine:3.18",
        kind: InputKind::Registry,
    },
];

impl InputKind {
    /// Which form `spec` takes, and what follows its prefix.
    pub fn of(spec: &str) -> (InputKind, &str) {
        let prefixed = INPUT_FORMS.iter().find_map(|form| {
            let rest = spec.strip_prefix(form.prefix?)?;
            Some((form.kind, rest))
        });
        match prefixed {
            Some(found) => found,
            None if Path::new(spec).exists() || looks_like_path(spec) => (InputKind::Path, spec),
            None => (InputKind::Registry, spec),
        }
    }

    /// The prefix that names this kind of input, if one does.
    pub fn prefix(self) -> Option<&'static str> {
        INPUT_FORMS
            .iter()
            .find(|form| form.kind == self)
            .and_then(|form| form.prefix)
    }
}

/// What opening an input will spend time on before the comparison starts, for a progress note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preparation {
    /// The engine exports the image into a temporary file.
    Export,
    /// The archive is decompressed into a temporary file.
    Decompress(ArchiveCompression),
    /// The archive is a pipe, copied into a temporary file.
    Copy,
}

impl Preparation {
    /// What opening `spec` will do first, if anything slow: an engine export, decompressing an
    /// archive (told by the file's first bytes), or copying a pipe.
    pub fn of(spec: &str) -> Option<Preparation> {
        let (kind, rest) = InputKind::of(spec);
        let path = match kind {
            InputKind::Engine(daemon::Engine::Docker | daemon::Engine::Podman) => {
                return Some(Preparation::Export);
            }
            InputKind::OciArchive | InputKind::DockerArchive => {
                split_path_and_reference(rest).ok()?.0
            }
            InputKind::Path => PathBuf::from(rest),
            InputKind::Layout | InputKind::Engine(_) | InputKind::Registry => return None,
        };
        let metadata = std::fs::metadata(&path).ok()?;
        if metadata.is_dir() {
            return None;
        }
        if !metadata.is_file() {
            // Not read here: a pipe's bytes can be read only once.
            return Some(Preparation::Copy);
        }
        let magic = decompress::read_magic(&path).ok()?;
        ArchiveCompression::sniff(&magic)
            .filter(|compression| compression.is_read())
            .map(Preparation::Decompress)
    }
}

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
    /// Bounds on reading archives, scaled by `--max-scale`.
    pub archive_limits: ArchiveLimits,
}

/// Bounds on reading an archive file: its tar headers, and decompressing it when it is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    pub tar: tarball::Limits,
    /// The largest decompressed archive written to the temporary file (bytes).
    pub decompressed_size: u64,
    /// The most memory the xz decoder may take (its dictionary; `xz -9` needs 65 MiB), bytes.
    pub xz_memory: u64,
}

impl ArchiveLimits {
    pub const DEFAULT: ArchiveLimits = ArchiveLimits {
        tar: tarball::Limits::DEFAULT,
        decompressed_size: 64 << 30,
        xz_memory: 256 << 20,
    };

    /// Every limit multiplied by `factor` (`--max-scale`).
    pub fn scaled(factor: f64) -> ArchiveLimits {
        let scale = |limit: u64| (limit as f64 * factor).clamp(1.0, u64::MAX as f64) as u64;
        ArchiveLimits {
            tar: tarball::Limits::scaled(factor),
            decompressed_size: scale(Self::DEFAULT.decompressed_size),
            xz_memory: scale(Self::DEFAULT.xz_memory),
        }
    }
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits::DEFAULT
    }
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
    // The cause is said in the message, so it is not also the error's `source()`: a chain printed
    // whole (anyhow's `{:#}`) would say it twice. Hence `cause`, which thiserror does not take for one.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: not an image: {reason}")]
    NotAnImage { path: PathBuf, reason: String },
    #[error("{path}: {what} {}: {cause}", json_problem(cause))]
    BadJson {
        path: PathBuf,
        what: String,
        cause: serde_json::Error,
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
    /// A compressed archive (or a pipe) that could not be copied to its temporary file.
    #[error("{path}: {problem}")]
    Decompress { path: PathBuf, problem: String },
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

/// How a JSON document failed to parse: not JSON at all, or JSON of the wrong shape.
fn json_problem(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Data => "is not in the expected form",
        _ => "is not valid JSON",
    }
}

/// A read that failed after a blob was opened because the source could not deliver the bytes (a
/// download given up on), carried inside the `io::Error` the reader returns so that the engine tells
/// it apart from bad content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadFailure(pub String);

/// Opens an input given as on the command line (see [`INPUT_FORMS`]).
///
/// - `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`: REF is matched against the `org.opencontainers.image.ref.name`
///   and `io.containerd.image.name` annotations of `index.json` entries, then as a familiar name
///   (without `docker.io/`, `localhost/`), then as a bare tag if only one image has it. Without REF, a
///   single entry is the image; several unnamed entries make the index itself the image; several named
///   ones are [`SourceError::Ambiguous`].
/// - `docker-archive:FILE[:REPO:TAG]`: selects by `manifest.json`'s RepoTags.
/// - a bare existing path: a directory is a layout; a tar with `index.json` listing images is an OCI
///   archive, one with `manifest.json` a docker archive.
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
    let limits = &options.archive_limits;
    match InputKind::of(spec) {
        (InputKind::Engine(engine), name) => daemon::open(engine, name, options),
        (InputKind::Layout, rest) => {
            let (path, reference) = split_path_and_reference(rest)?;
            open_layout(&path, reference)
        }
        (InputKind::OciArchive, rest) => {
            let (path, reference) = split_path_and_reference(rest)?;
            open_oci_archive(Arc::new(TarFile::open(&path, limits)?), reference)
        }
        (InputKind::DockerArchive, rest) => {
            let (path, repo_tag) = split_path_and_reference(rest)?;
            open_docker_archive(Arc::new(TarFile::open(&path, limits)?), repo_tag)
        }
        (InputKind::Path, path) => open_bare_path(Path::new(path), limits),
        (InputKind::Registry, reference) => registry::open(reference, options),
    }
}

/// Whether a string that names nothing on disk was meant as a path rather than an image reference.
fn looks_like_path(spec: &str) -> bool {
    let path_like_start = ["/", "./", "../", "~"].iter().any(|p| spec.starts_with(p));
    let archive_like_end = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".txz"]
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

fn open_bare_path(path: &Path, limits: &ArchiveLimits) -> Result<Opened, SourceError> {
    if !path.exists() {
        return Err(SourceError::NotFound {
            path: path.to_owned(),
        });
    }
    if path.is_dir() {
        return open_layout(path, None);
    }
    let tar = Arc::new(TarFile::open(path, limits)?);
    let is_layout = tar.contains("index.json") || tar.contains("oci-layout");
    let is_docker_save = tar.contains("manifest.json");
    // Docker 25+ writes both; its index.json may list nothing (`"manifests": null`) while
    // manifest.json names the image.
    if is_layout && (!is_docker_save || index_lists_images(&tar)?) {
        return open_oci_archive(tar, None);
    }
    if is_docker_save {
        return open_docker_archive(tar, None);
    }
    Err(not_an_image(
        path,
        "the tar archive has neither index.json nor manifest.json",
    ))
}

/// Whether the archive's index.json lists an image; one that does not parse counts as listing,
/// so that reading it as a layout says what is wrong with it.
fn index_lists_images(tar: &TarFile) -> Result<bool, SourceError> {
    let Some(index_json) = tar.read_member("index.json")? else {
        return Ok(false);
    };
    let parsed = layout::parse_index(tar.path(), &index_json);
    Ok(!matches!(parsed, Ok(index) if index.manifests.is_empty()))
}

fn open_layout(dir: &Path, reference: Option<&str>) -> Result<Opened, SourceError> {
    if !dir.is_dir() {
        return Err(not_an_image(dir, "an OCI layout must be a directory"));
    }
    let index_json = layout::read_index_json(dir)?;
    let hint = naming_hint(InputKind::Layout, dir, "REF");
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
    let hint = naming_hint(InputKind::OciArchive, &path, "REF");
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

/// A Docker 25+ archive: an OCI layout whose images are named by `manifest.json`'s RepoTags. The
/// image manifest.json names is the index.json entry with its config; an image that index.json does
/// not list (`"manifests": null`) is read through manifest.json alone, as a legacy archive is.
fn open_docker25(
    tar: Arc<TarFile>,
    saved_images: Option<&[docker_archive::SavedImage]>,
    repo_tag: Option<&str>,
) -> Result<Opened, SourceError> {
    let Some(images) = saved_images.filter(|images| !images.is_empty()) else {
        return open_oci_archive(tar, repo_tag);
    };
    let path = tar.path().to_owned();
    let (image, tag) = docker_archive::select_saved(&path, images, repo_tag)?;
    let entries = match tar.read_member("index.json")? {
        Some(index_json) => layout::parse_index(&path, &index_json)?.manifests,
        None => Vec::new(),
    };
    let Some(mut entry) = docker_archive::entry_for_saved(&tar, &entries, image)? else {
        return docker_archive::open_legacy(tar.clone(), image, tag);
    };
    if let Some(tag) = tag {
        entry
            .annotations
            .entry(crate::oci::annotation::CONTAINERD_IMAGE_NAME.into())
            .or_insert(tag);
    }
    let blobs = TarBlobs {
        tar,
        renamed: HashMap::new(),
    };
    Ok((Arc::new(blobs), entry))
}

/// How to name one image of the input at `path`, e.g. `oci:DIR:REF`, for messages.
fn naming_hint(kind: InputKind, path: &Path, placeholder: &str) -> String {
    let prefix = kind.prefix().unwrap_or_default();
    format!("{prefix}{}:{placeholder}", path.display())
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

    /// Every variant with a cause, printed whole as the binary prints it (anyhow's `{:#}` walks
    /// `source()`): the cause appears once.
    #[test]
    fn no_error_says_its_cause_twice() {
        let path = PathBuf::from("/tmp");
        let json_cause = || serde_json::from_slice::<Vec<u8>>(b"{").unwrap_err();
        let errors = [
            SourceError::Io {
                path: path.clone(),
                cause: std::io::Error::from_raw_os_error(21),
            },
            SourceError::BadJson {
                path: path.clone(),
                what: "index.json".into(),
                cause: json_cause(),
            },
        ];
        for error in errors {
            let cause = match &error {
                SourceError::Io { cause, .. } => cause.to_string(),
                SourceError::BadJson { cause, .. } => cause.to_string(),
                _ => unreachable!(),
            };
            let line = format!("{:#}", anyhow::Error::new(error).context("input 0 (x)"));
            assert_eq!(line.matches(&cause).count(), 1, "{line}");
        }
    }

    #[test]
    fn json_errors_say_whether_it_is_json_at_all() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.json"), b"{\"manifests\": 3}").unwrap();
        let error = open_image(dir.path().to_str().unwrap()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("index.json is not in the expected form: invalid type"),
            "{error}"
        );
        std::fs::write(dir.path().join("index.json"), b"{\"manifests\": [").unwrap();
        let error = open_image(dir.path().to_str().unwrap()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("index.json is not valid JSON: EOF"),
            "{error}"
        );
    }

    #[test]
    fn inputs_are_told_apart_by_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().display().to_string();
        let cases = [
            ("oci:x", InputKind::Layout, "x"),
            ("oci-archive:a.tar:r", InputKind::OciArchive, "a.tar:r"),
            ("docker-archive:a.tar", InputKind::DockerArchive, "a.tar"),
            ("docker://a", InputKind::Engine(daemon::Engine::Docker), "a"),
            ("podman://a", InputKind::Engine(daemon::Engine::Podman), "a"),
            (
                "containerd://a",
                InputKind::Engine(daemon::Engine::Containerd),
                "a",
            ),
            (existing.as_str(), InputKind::Path, existing.as_str()),
            ("./missing.tar", InputKind::Path, "./missing.tar"),
            ("missing.tar.xz", InputKind::Path, "missing.tar.xz"),
            ("alpine:3.18", InputKind::Registry, "alpine:3.18"),
        ];
        for (spec, kind, rest) in cases {
            assert_eq!(InputKind::of(spec), (kind, rest), "{spec}");
        }
        for form in INPUT_FORMS {
            if let Some(prefix) = form.prefix {
                assert!(form.syntax.starts_with(prefix) && form.example.starts_with(prefix));
                assert_eq!(form.kind.prefix(), Some(prefix));
            }
            assert_eq!(InputKind::of(form.example).0, form.kind, "{}", form.example);
        }
        assert_eq!(daemon::Engine::Podman.scheme(), "podman://");
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
        // Compressions that are not read get the same words, whatever the kind.
        for (magic, name) in [
            (&b"BZh91AY&SY"[..], "bzip2"),
            (b"\x04\x22\x4d\x18\x64", "lz4"),
        ] {
            let file = dir.path().join(format!("layout.tar.{name}"));
            std::fs::write(&file, magic).unwrap();
            let error = open_image(file.to_str().unwrap()).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "{}: not an image: {name}-compressed file; compressed archives are read when gzip, zstd or xz, decompress it first",
                    file.display()
                )
            );
        }
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

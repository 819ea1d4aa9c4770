//! Writes real images, for tests and for the `make-example` subcommand.
//!
//! - [`LayerBuilder`] writes layer tars entry by entry, including what a well-behaved tool never writes
//!   (`../x`, absolute names, escape sequences, invalid UTF-8, truncated archives);
//! - [`gzip`], [`gzip_two_members`], [`zstd`] and [`truncated`] encode layers;
//! - [`ImageBuilder`] and [`IndexBuilder`] assemble images and write them as OCI layouts, OCI archives
//!   and docker archives (legacy, Podman-style symlinked, Docker 25+), optionally with [`Fault`]s.
//!
//! Output is deterministic (fixed mtimes, owners and gzip headers), so digests are stable in snapshots.
//! This is test tooling: inputs are trusted and writer errors are plain `io::Error`s.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::oci::{Descriptor, Digest, Platform, annotation, media_type};

/// The mtime given to every entry unless set otherwise (2023-11-14T22:13:20Z).
pub const FIXED_MTIME: u64 = 1_700_000_000;

/// The tar dialect of a layer, for names and links too long for the 100-byte header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TarFormat {
    /// POSIX ustar: long names are split into prefix + name; when that is impossible a PAX `path`
    /// record is added (as Go's archive/tar does).
    #[default]
    Ustar,
    /// GNU: long names and link targets go in `././@LongLink` (`L`/`K`) entries.
    Gnu,
    /// POSIX pax: long names and link targets go in PAX `path`/`linkpath` records.
    Pax,
}

/// What a tar entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File(Vec<u8>),
    Dir,
    Symlink(Vec<u8>),
    Hardlink(Vec<u8>),
    CharDevice { major: u32, minor: u32 },
    BlockDevice { major: u32, minor: u32 },
    Fifo,
}

/// One entry of a layer, with its metadata.
#[derive(Debug, Clone)]
pub struct TarEntry {
    /// The raw name bytes, written as they are (no validation at all).
    pub name: Vec<u8>,
    pub kind: EntryKind,
    /// The full mode field, file-type bits included if wanted (e.g. `0o100644`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
    pub mtime: u64,
    /// Extra PAX records written in a local `x` header before the entry (e.g. `mtime`, `SCHILY.xattr.*`).
    pub pax: Vec<(String, Vec<u8>)>,
}

impl TarEntry {
    fn new(name: &[u8], kind: EntryKind) -> TarEntry {
        let mode = match kind {
            EntryKind::Dir => 0o755,
            EntryKind::Symlink(_) => 0o777,
            _ => 0o644,
        };
        TarEntry {
            name: name.to_vec(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            uname: String::new(),
            gname: String::new(),
            mtime: FIXED_MTIME,
            pax: Vec::new(),
        }
    }
}

/// Builds a layer tar. Entry methods add an entry; metadata methods ([`mode`](Self::mode),
/// [`owner`](Self::owner), ...) change the entry added last and do nothing if there is none.
#[derive(Debug, Clone, Default)]
pub struct LayerBuilder {
    format: TarFormat,
    entries: Vec<TarEntry>,
    omit_end_blocks: bool,
    truncate_to: Option<usize>,
}

impl LayerBuilder {
    pub fn new() -> LayerBuilder {
        LayerBuilder::default()
    }

    pub fn format(mut self, format: TarFormat) -> Self {
        self.format = format;
        self
    }

    /// Adds a prepared entry.
    pub fn entry(mut self, entry: TarEntry) -> Self {
        self.entries.push(entry);
        self
    }

    fn push(self, name: impl AsRef<[u8]>, kind: EntryKind) -> Self {
        let entry = TarEntry::new(name.as_ref(), kind);
        self.entry(entry)
    }

    pub fn file(self, name: impl AsRef<[u8]>, content: impl AsRef<[u8]>) -> Self {
        let content = content.as_ref().to_vec();
        self.push(name, EntryKind::File(content))
    }

    pub fn dir(self, name: impl AsRef<[u8]>) -> Self {
        self.push(name, EntryKind::Dir)
    }

    pub fn symlink(self, name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        let target = target.as_ref().to_vec();
        self.push(name, EntryKind::Symlink(target))
    }

    pub fn hardlink(self, name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        let target = target.as_ref().to_vec();
        self.push(name, EntryKind::Hardlink(target))
    }

    pub fn char_device(self, name: impl AsRef<[u8]>, major: u32, minor: u32) -> Self {
        self.push(name, EntryKind::CharDevice { major, minor })
    }

    pub fn block_device(self, name: impl AsRef<[u8]>, major: u32, minor: u32) -> Self {
        self.push(name, EntryKind::BlockDevice { major, minor })
    }

    pub fn fifo(self, name: impl AsRef<[u8]>) -> Self {
        self.push(name, EntryKind::Fifo)
    }

    /// A whiteout deleting `path` (`dir/name` → `dir/.wh.name`, an empty file).
    pub fn whiteout(self, path: &str) -> Self {
        let name = match path.rsplit_once('/') {
            Some((dir, base)) => format!("{dir}/.wh.{base}"),
            None => format!(".wh.{path}"),
        };
        self.file(name, b"")
    }

    /// An opaque whiteout: `dir` hides everything below it in lower layers (`dir/.wh..wh..opq`).
    pub fn opaque_whiteout(self, dir: &str) -> Self {
        let name = format!("{}/.wh..wh..opq", dir.trim_end_matches('/'));
        self.file(name, b"")
    }

    fn with_last(mut self, change: impl FnOnce(&mut TarEntry)) -> Self {
        if let Some(last) = self.entries.last_mut() {
            change(last);
        }
        self
    }

    pub fn mode(self, mode: u32) -> Self {
        self.with_last(|e| e.mode = mode)
    }

    pub fn owner(self, uid: u64, gid: u64) -> Self {
        self.with_last(|e| {
            e.uid = uid;
            e.gid = gid;
        })
    }

    pub fn owner_names(self, uname: &str, gname: &str) -> Self {
        self.with_last(|e| {
            e.uname = uname.to_owned();
            e.gname = gname.to_owned();
        })
    }

    pub fn mtime(self, mtime: u64) -> Self {
        self.with_last(|e| e.mtime = mtime)
    }

    /// Adds a PAX record to the last entry, e.g. `("mtime", "1700000000.123456789")` or
    /// `("SCHILY.xattr.user.x", "value")`.
    pub fn pax(self, key: &str, value: impl AsRef<[u8]>) -> Self {
        let record = (key.to_owned(), value.as_ref().to_vec());
        self.with_last(|e| e.pax.push(record))
    }

    /// Leaves out the two zero blocks that end an archive.
    pub fn without_end_blocks(mut self) -> Self {
        self.omit_end_blocks = true;
        self
    }

    /// Cuts the built tar to its first `len` bytes (e.g. in the middle of an entry's data).
    pub fn truncated_to(mut self, len: usize) -> Self {
        self.truncate_to = Some(len);
        self
    }

    /// The uncompressed tar.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for entry in &self.entries {
            write_entry(&mut out, entry, self.format);
        }
        if !self.omit_end_blocks {
            out.extend_from_slice(&[0u8; 1024]);
        }
        if let Some(len) = self.truncate_to {
            out.truncate(len);
        }
        out
    }
}

fn write_entry(out: &mut Vec<u8>, entry: &TarEntry, format: TarFormat) {
    let mut pax = entry.pax.clone();
    let mut header = match format {
        TarFormat::Gnu => tar::Header::new_gnu(),
        TarFormat::Ustar | TarFormat::Pax => tar::Header::new_ustar(),
    };
    place_name(out, &mut header, &entry.name, format, &mut pax);
    let (kind, data, link): (tar::EntryType, &[u8], Option<&[u8]>) = match &entry.kind {
        EntryKind::File(content) => (tar::EntryType::Regular, content, None),
        EntryKind::Dir => (tar::EntryType::Directory, &[], None),
        EntryKind::Symlink(target) => (tar::EntryType::Symlink, &[], Some(target)),
        EntryKind::Hardlink(target) => (tar::EntryType::Link, &[], Some(target)),
        EntryKind::CharDevice { .. } => (tar::EntryType::Char, &[], None),
        EntryKind::BlockDevice { .. } => (tar::EntryType::Block, &[], None),
        EntryKind::Fifo => (tar::EntryType::Fifo, &[], None),
    };
    if let Some(link) = link {
        place_link(out, &mut header, link, format, &mut pax);
    }
    header.set_entry_type(kind);
    header.set_mode(entry.mode);
    header.set_uid(entry.uid);
    header.set_gid(entry.gid);
    header.set_mtime(entry.mtime);
    header.set_size(data.len() as u64);
    if header.set_username(&entry.uname).is_err() {
        pax.push(("uname".into(), entry.uname.clone().into_bytes()));
    }
    if header.set_groupname(&entry.gname).is_err() {
        pax.push(("gname".into(), entry.gname.clone().into_bytes()));
    }
    if let EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } =
        entry.kind
    {
        // Both header kinds used here have device fields, so these cannot fail.
        let _ = header.set_device_major(major);
        let _ = header.set_device_minor(minor);
    }
    if !pax.is_empty() {
        write_pax_header(out, &entry.name, &pax);
    }
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    write_padded(out, data);
}

/// Puts `name` in the header, or arranges for a long-name extension when it does not fit.
fn place_name(
    out: &mut Vec<u8>,
    header: &mut tar::Header,
    name: &[u8],
    format: TarFormat,
    pax: &mut Vec<(String, Vec<u8>)>,
) {
    if name.len() <= 100 {
        copy_field(&mut header.as_old_mut().name, name);
        return;
    }
    match format {
        TarFormat::Gnu => write_gnu_long(out, b'L', name),
        TarFormat::Ustar if split_ustar(header, name) => return,
        TarFormat::Ustar | TarFormat::Pax => pax.push(("path".into(), name.to_vec())),
    }
    copy_field(
        &mut header.as_old_mut().name,
        name.get(..100).unwrap_or(name),
    );
}

fn place_link(
    out: &mut Vec<u8>,
    header: &mut tar::Header,
    link: &[u8],
    format: TarFormat,
    pax: &mut Vec<(String, Vec<u8>)>,
) {
    if link.len() > 100 {
        match format {
            TarFormat::Gnu => write_gnu_long(out, b'K', link),
            TarFormat::Ustar | TarFormat::Pax => pax.push(("linkpath".into(), link.to_vec())),
        }
    }
    copy_field(
        &mut header.as_old_mut().linkname,
        link.get(..100).unwrap_or(link),
    );
}

/// Splits a long name into ustar prefix (≤155) and name (≤100) at a `/`; false if impossible.
fn split_ustar(header: &mut tar::Header, name: &[u8]) -> bool {
    let split = (0..name.len()).rev().find(|&at| {
        name.get(at) == Some(&b'/')
            && at <= 155
            && name.len() - at - 1 <= 100
            && at + 1 < name.len()
    });
    let (Some(at), Some(ustar)) = (split, header.as_ustar_mut()) else {
        return false;
    };
    copy_field(&mut ustar.prefix, &name[..at]);
    copy_field(&mut ustar.name, &name[at + 1..]);
    true
}

fn copy_field(field: &mut [u8], value: &[u8]) {
    field.fill(0);
    for (slot, byte) in field.iter_mut().zip(value) {
        *slot = *byte;
    }
}

fn write_gnu_long(out: &mut Vec<u8>, kind: u8, value: &[u8]) {
    let mut header = tar::Header::new_gnu();
    copy_field(&mut header.as_old_mut().name, b"././@LongLink");
    header.set_entry_type(tar::EntryType::new(kind));
    header.set_mode(0o644);
    let mut data = value.to_vec();
    data.push(0);
    header.set_size(data.len() as u64);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    write_padded(out, &data);
}

fn write_pax_header(out: &mut Vec<u8>, name: &[u8], records: &[(String, Vec<u8>)]) {
    let mut data = Vec::new();
    for (key, value) in records {
        data.extend_from_slice(&pax_record(key, value));
    }
    let mut header = tar::Header::new_ustar();
    let base = name
        .rsplit(|b| *b == b'/')
        .find(|part| !part.is_empty())
        .unwrap_or(b"entry");
    let mut pax_name = b"PaxHeaders.0/".to_vec();
    pax_name.extend_from_slice(base.get(..80).unwrap_or(base));
    copy_field(&mut header.as_old_mut().name, &pax_name);
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_mode(0o644);
    header.set_mtime(FIXED_MTIME);
    header.set_size(data.len() as u64);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    write_padded(out, &data);
}

/// `"<len> <key>=<value>\n"`, where `<len>` counts the whole record including its own digits.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3;
    let mut len = body_len + 1;
    while len != body_len + len.to_string().len() {
        len = body_len + len.to_string().len();
    }
    let mut record = format!("{len} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

fn write_padded(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    let padding = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, padding));
}

/// Gzip with a fixed header (mtime 0), so the output is deterministic.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// Two gzip members concatenated (the first holds the first half of `data`): valid gzip that a
/// single-member decoder reads only half of.
pub fn gzip_two_members(data: &[u8]) -> Vec<u8> {
    let (first, second) = data.split_at(data.len() / 2);
    let mut out = gzip(first);
    out.extend_from_slice(&gzip(second));
    out
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap_or_default()
}

/// Drops the last `cut` bytes (e.g. of a compressed stream, to lose its trailer).
pub fn truncated(mut data: Vec<u8>, cut: usize) -> Vec<u8> {
    data.truncate(data.len().saturating_sub(cut));
    data
}

/// How a layer is stored in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    None,
    Gzip,
    /// Gzip written as two members (see [`gzip_two_members`]).
    GzipTwoMembers,
    Zstd,
}

/// Which family of media types the manifest and its descriptors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MediaTypes {
    #[default]
    Oci,
    Docker,
}

/// Damage done to a written image, for bad-input tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Layer `n`'s blob is written with one byte changed, under its correct digest.
    CorruptLayer(usize),
    /// Layer `n`'s blob is not written.
    OmitLayer(usize),
    /// The config blob is not written.
    OmitConfig,
    /// The config is these bytes (e.g. invalid JSON); its descriptor matches them.
    ConfigBytes(Vec<u8>),
}

#[derive(Debug, Clone)]
struct FixtureLayer {
    /// The uncompressed tar, when known (docker archives store layers uncompressed).
    tar: Option<Vec<u8>>,
    blob: Vec<u8>,
    media_type: String,
    diff_id: Digest,
}

/// Assembles one image (manifest, config, layers).
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    layers: Vec<FixtureLayer>,
    config: Value,
    media_types: MediaTypes,
    annotations: BTreeMap<String, String>,
    faults: Vec<Fault>,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        ImageBuilder::new()
    }
}

/// An image as [`ImageBuilder::build`] made it: the descriptors and the blobs to write.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub manifest: Descriptor,
    pub manifest_bytes: Vec<u8>,
    pub config: Descriptor,
    pub config_bytes: Vec<u8>,
    pub layers: Vec<Descriptor>,
    pub diff_ids: Vec<Digest>,
    /// Blobs to store, faults applied (omitted blobs are absent, corrupt ones altered).
    pub blobs: Vec<(Digest, Vec<u8>)>,
}

impl ImageBuilder {
    /// A linux/amd64 image with no layers and a minimal config.
    pub fn new() -> ImageBuilder {
        ImageBuilder {
            layers: Vec::new(),
            config: json!({
                "created": "2023-11-14T22:13:20Z",
                "architecture": "amd64",
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": []},
            }),
            media_types: MediaTypes::Oci,
            annotations: BTreeMap::new(),
            faults: Vec::new(),
        }
    }

    pub fn media_types(mut self, media_types: MediaTypes) -> Self {
        self.media_types = media_types;
        self
    }

    /// Adds a layer from its uncompressed tar.
    pub fn layer(mut self, tar: Vec<u8>, compression: LayerCompression) -> Self {
        let blob = match compression {
            LayerCompression::None => tar.clone(),
            LayerCompression::Gzip => gzip(&tar),
            LayerCompression::GzipTwoMembers => gzip_two_members(&tar),
            LayerCompression::Zstd => zstd(&tar),
        };
        let media_type = self.layer_media_type(compression).to_owned();
        let diff_id = Digest::sha256_of(&tar);
        self.layers.push(FixtureLayer {
            tar: Some(tar),
            blob,
            media_type,
            diff_id,
        });
        self
    }

    /// Adds a layer blob as is (e.g. a truncated gzip stream) with the diff_id to put in the config.
    pub fn raw_layer(mut self, blob: Vec<u8>, media_type: &str, diff_id: Digest) -> Self {
        self.layers.push(FixtureLayer {
            tar: None,
            blob,
            media_type: media_type.to_owned(),
            diff_id,
        });
        self
    }

    fn layer_media_type(&self, compression: LayerCompression) -> &'static str {
        use media_type::*;
        match (self.media_types, compression) {
            (MediaTypes::Oci, LayerCompression::None) => OCI_LAYER_TAR,
            (MediaTypes::Oci, LayerCompression::Gzip | LayerCompression::GzipTwoMembers) => {
                OCI_LAYER_GZIP
            }
            (MediaTypes::Oci, LayerCompression::Zstd) => OCI_LAYER_ZSTD,
            (MediaTypes::Docker, LayerCompression::None) => DOCKER_LAYER_TAR,
            (MediaTypes::Docker, LayerCompression::Gzip | LayerCompression::GzipTwoMembers) => {
                DOCKER_LAYER_GZIP
            }
            (MediaTypes::Docker, LayerCompression::Zstd) => DOCKER_LAYER_ZSTD,
        }
    }

    /// Replaces the config; `rootfs.diff_ids` is filled in from the layers when the image is built.
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    /// Sets the config's `os`, `architecture` and `variant`.
    pub fn platform(mut self, os: &str, architecture: &str, variant: Option<&str>) -> Self {
        if let Some(object) = self.config.as_object_mut() {
            object.insert("os".into(), os.into());
            object.insert("architecture".into(), architecture.into());
            match variant {
                Some(variant) => object.insert("variant".into(), variant.into()),
                None => object.remove("variant"),
            };
        }
        self
    }

    /// Adds a manifest annotation.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Computes the config and manifest and the blobs to write.
    pub fn build(&self) -> BuiltImage {
        let diff_ids: Vec<Digest> = self.layers.iter().map(|l| l.diff_id.clone()).collect();
        let config_bytes = self.config_bytes(&diff_ids);
        let (config_media, manifest_media) = match self.media_types {
            MediaTypes::Oci => (media_type::OCI_CONFIG, media_type::OCI_MANIFEST),
            MediaTypes::Docker => (media_type::DOCKER_CONFIG, media_type::DOCKER_MANIFEST),
        };
        let config = descriptor(config_media, &config_bytes);
        let layers: Vec<Descriptor> = self
            .layers
            .iter()
            .map(|l| descriptor(&l.media_type, &l.blob))
            .collect();
        let mut manifest_json = json!({
            "schemaVersion": 2,
            "mediaType": manifest_media,
            "config": config,
            "layers": layers,
        });
        if !self.annotations.is_empty() {
            manifest_json["annotations"] = json!(self.annotations);
        }
        let manifest_bytes = serde_json::to_vec(&manifest_json).unwrap_or_default();
        let mut manifest = descriptor(manifest_media, &manifest_bytes);
        manifest.platform = Some(self.platform_of_config());
        let blobs = self.blobs_to_write(&manifest_bytes, &config_bytes);
        BuiltImage {
            manifest,
            manifest_bytes,
            config,
            config_bytes,
            layers,
            diff_ids,
            blobs,
        }
    }

    fn config_bytes(&self, diff_ids: &[Digest]) -> Vec<u8> {
        let replaced = self.faults.iter().find_map(|f| match f {
            Fault::ConfigBytes(bytes) => Some(bytes.clone()),
            _ => None,
        });
        if let Some(bytes) = replaced {
            return bytes;
        }
        let mut config = self.config.clone();
        if let Some(object) = config.as_object_mut() {
            let rootfs = object
                .entry("rootfs")
                .or_insert_with(|| json!({"type": "layers"}));
            if let Some(rootfs) = rootfs.as_object_mut() {
                rootfs.insert("diff_ids".into(), json!(diff_ids));
            }
        }
        serde_json::to_vec(&config).unwrap_or_default()
    }

    fn platform_of_config(&self) -> Platform {
        let field = |name: &str| {
            self.config
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Platform {
            architecture: field("architecture").unwrap_or_default(),
            os: field("os").unwrap_or_default(),
            variant: field("variant"),
            os_version: None,
        }
    }

    fn blobs_to_write(&self, manifest_bytes: &[u8], config_bytes: &[u8]) -> Vec<(Digest, Vec<u8>)> {
        let mut blobs = vec![(Digest::sha256_of(manifest_bytes), manifest_bytes.to_vec())];
        if !self.faults.contains(&Fault::OmitConfig) {
            blobs.push((Digest::sha256_of(config_bytes), config_bytes.to_vec()));
        }
        for (position, layer) in self.layers.iter().enumerate() {
            if self.faults.contains(&Fault::OmitLayer(position)) {
                continue;
            }
            let mut bytes = layer.blob.clone();
            if self.faults.contains(&Fault::CorruptLayer(position)) {
                corrupt(&mut bytes);
            }
            blobs.push((Digest::sha256_of(&layer.blob), bytes));
        }
        blobs
    }

    /// The files of an OCI layout holding this image, named `ref_name` if given.
    pub fn oci_files(&self, ref_name: Option<&str>) -> FileTree {
        let mut tree = FileTree::new();
        let built = self.build();
        add_blobs(&mut tree, &built.blobs);
        add_index_entry(&mut tree, &built.manifest, &ref_annotations(ref_name));
        tree
    }

    /// Writes the image into the layout at `dir` (created if needed; an existing index.json gets one
    /// more entry) and returns the manifest's descriptor.
    pub fn write_oci_layout(&self, dir: &Path, ref_name: Option<&str>) -> io::Result<Descriptor> {
        let built = self.build();
        let mut tree = FileTree::from_layout_index(dir)?;
        add_blobs(&mut tree, &built.blobs);
        add_index_entry(&mut tree, &built.manifest, &ref_annotations(ref_name));
        tree.write_dir(dir)?;
        Ok(built.manifest)
    }

    /// Writes a tarred OCI layout holding this image.
    pub fn write_oci_archive(&self, file: &Path, ref_name: Option<&str>) -> io::Result<Descriptor> {
        self.oci_files(ref_name).write_tar(file)?;
        Ok(self.build().manifest)
    }

    /// The files of a `docker save` archive in the given style (layers always stored uncompressed
    /// when their tar is known).
    pub fn docker_files(&self, repo_tag: Option<&str>, style: DockerStyle) -> FileTree {
        match style {
            DockerStyle::Docker25 => self.docker25_files(repo_tag),
            DockerStyle::Legacy | DockerStyle::Symlinked => {
                self.legacy_docker_files(repo_tag, style)
            }
        }
    }

    fn legacy_docker_files(&self, repo_tag: Option<&str>, style: DockerStyle) -> FileTree {
        let built = self.build();
        let mut tree = FileTree::new();
        let config_name = format!("{}.json", built.config.digest.hex());
        if !self.faults.contains(&Fault::OmitConfig) {
            tree.insert_file(&config_name, built.config_bytes.clone());
        }
        let mut layer_names = Vec::new();
        let mut parent = String::new();
        for (position, layer) in self.layers.iter().enumerate() {
            let id = Digest::sha256_of(format!("{parent}\n{}", layer.diff_id).as_bytes())
                .hex()
                .to_owned();
            let member = format!("{id}/layer.tar");
            let mut data = layer.tar.clone().unwrap_or_else(|| layer.blob.clone());
            if self.faults.contains(&Fault::CorruptLayer(position)) {
                corrupt(&mut data);
            }
            if !self.faults.contains(&Fault::OmitLayer(position)) {
                if style == DockerStyle::Symlinked {
                    let stored = format!("{}.tar", layer.diff_id.hex());
                    tree.insert_file(&stored, data);
                    tree.insert_symlink(&member, &format!("../{stored}"));
                } else {
                    tree.insert_file(&member, data);
                }
            }
            tree.insert_file(&format!("{id}/VERSION"), b"1.0".to_vec());
            tree.insert_file(
                &format!("{id}/json"),
                json!({"id": id}).to_string().into_bytes(),
            );
            layer_names.push(member);
            parent = id;
        }
        let tags: Vec<&str> = repo_tag.into_iter().collect();
        let manifest = json!([{"Config": config_name, "RepoTags": tags, "Layers": layer_names}]);
        tree.insert_file("manifest.json", manifest.to_string().into_bytes());
        tree
    }

    /// Docker 25+: an OCI layout whose index entry carries the image name, plus `manifest.json`
    /// naming blobs by `blobs/sha256/<hex>` paths.
    fn docker25_files(&self, repo_tag: Option<&str>) -> FileTree {
        let built = self.build();
        let mut tree = FileTree::new();
        add_blobs(&mut tree, &built.blobs);
        let mut annotations = BTreeMap::new();
        if let Some(tag) = repo_tag {
            annotations.insert(
                annotation::CONTAINERD_IMAGE_NAME.to_owned(),
                format!("docker.io/{tag}"),
            );
            let short = tag.rsplit_once(':').map_or("latest", |(_, t)| t);
            annotations.insert(annotation::REF_NAME.to_owned(), short.to_owned());
        }
        add_index_entry(&mut tree, &built.manifest, &annotations);
        let path = |d: &Descriptor| format!("blobs/sha256/{}", d.digest.hex());
        let tags: Vec<&str> = repo_tag.into_iter().collect();
        let layers: Vec<String> = built.layers.iter().map(path).collect();
        let manifest = json!([{"Config": path(&built.config), "RepoTags": tags, "Layers": layers}]);
        tree.insert_file("manifest.json", manifest.to_string().into_bytes());
        tree
    }

    /// Writes a legacy `docker save` archive (`manifest.json`, `<hex>.json`, `<id>/layer.tar`).
    pub fn write_docker_archive(&self, file: &Path, repo_tag: Option<&str>) -> io::Result<()> {
        self.docker_files(repo_tag, DockerStyle::Legacy)
            .write_tar(file)
    }
}

/// The layouts `docker save` (and look-alikes) produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerStyle {
    /// Docker before 25: `<id>/layer.tar` files.
    Legacy,
    /// skopeo / Podman: `<diffid>.tar` files and `<id>/layer.tar -> ../<diffid>.tar` symlinks.
    Symlinked,
    /// Docker 25+: an OCI layout plus `manifest.json`.
    Docker25,
}

/// Several images under one index (e.g. the platforms of a multi-platform image).
#[derive(Debug, Clone, Default)]
pub struct IndexBuilder {
    images: Vec<ImageBuilder>,
    annotations: BTreeMap<String, String>,
}

impl IndexBuilder {
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// Adds an image; its platform (from its config) is recorded in the index.
    pub fn image(mut self, image: ImageBuilder) -> Self {
        self.images.push(image);
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The index JSON and every blob of its images.
    pub fn build(&self) -> (Descriptor, Vec<(Digest, Vec<u8>)>) {
        let mut blobs = Vec::new();
        let mut manifests = Vec::new();
        for image in &self.images {
            let built = image.build();
            blobs.extend(built.blobs);
            manifests.push(built.manifest);
        }
        let mut index = json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_INDEX,
            "manifests": manifests,
        });
        if !self.annotations.is_empty() {
            index["annotations"] = json!(self.annotations);
        }
        let bytes = serde_json::to_vec(&index).unwrap_or_default();
        let root = descriptor(media_type::OCI_INDEX, &bytes);
        blobs.push((root.digest.clone(), bytes));
        (root, blobs)
    }

    pub fn oci_files(&self, ref_name: Option<&str>) -> FileTree {
        let (root, blobs) = self.build();
        let mut tree = FileTree::new();
        add_blobs(&mut tree, &blobs);
        add_index_entry(&mut tree, &root, &ref_annotations(ref_name));
        tree
    }

    /// Writes the index and its images into the layout at `dir` (adding to an existing index.json).
    pub fn write_oci_layout(&self, dir: &Path, ref_name: Option<&str>) -> io::Result<Descriptor> {
        let (root, blobs) = self.build();
        let mut tree = FileTree::from_layout_index(dir)?;
        add_blobs(&mut tree, &blobs);
        add_index_entry(&mut tree, &root, &ref_annotations(ref_name));
        tree.write_dir(dir)?;
        Ok(root)
    }

    pub fn write_oci_archive(&self, file: &Path, ref_name: Option<&str>) -> io::Result<Descriptor> {
        self.oci_files(ref_name).write_tar(file)?;
        Ok(self.build().0)
    }
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: Digest::sha256_of(bytes),
        size: bytes.len() as u64,
        urls: None,
        annotations: BTreeMap::new(),
        platform: None,
        artifact_type: None,
    }
}

fn corrupt(bytes: &mut Vec<u8>) {
    match bytes.last_mut() {
        Some(last) => *last ^= 0xff,
        None => bytes.push(0),
    }
}

fn ref_annotations(ref_name: Option<&str>) -> BTreeMap<String, String> {
    ref_name
        .map(|name| (annotation::REF_NAME.to_owned(), name.to_owned()))
        .into_iter()
        .collect()
}

fn add_blobs(tree: &mut FileTree, blobs: &[(Digest, Vec<u8>)]) {
    tree.insert_file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec());
    for (digest, bytes) in blobs {
        tree.insert_file(&format!("blobs/sha256/{}", digest.hex()), bytes.clone());
    }
}

/// Appends an entry to the tree's index.json (creating it if needed).
fn add_index_entry(
    tree: &mut FileTree,
    target: &Descriptor,
    annotations: &BTreeMap<String, String>,
) {
    let mut index: Value = tree
        .get("index.json")
        .and_then(|bytes| serde_json::from_slice(bytes).ok())
        .unwrap_or_else(
            || json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": []}),
        );
    let mut entry = target.clone();
    entry.annotations.extend(annotations.clone());
    if let Some(manifests) = index.get_mut("manifests").and_then(Value::as_array_mut) {
        manifests.push(json!(entry));
    }
    tree.insert_file("index.json", serde_json::to_vec(&index).unwrap_or_default());
}

/// A node of a [`FileTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeNode {
    File(Vec<u8>),
    Symlink(String),
}

/// The files of a layout or archive, before they are written: tests can change them (add garbage,
/// remove a member) and then write them as a directory or a tar.
#[derive(Debug, Clone, Default)]
pub struct FileTree {
    nodes: BTreeMap<String, TreeNode>,
}

impl FileTree {
    pub fn new() -> FileTree {
        FileTree::default()
    }

    /// A tree holding the index.json already at `dir`, if any (so that writing adds to it).
    fn from_layout_index(dir: &Path) -> io::Result<FileTree> {
        let mut tree = FileTree::new();
        match std::fs::read(dir.join("index.json")) {
            Ok(bytes) => tree.insert_file("index.json", bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(tree)
    }

    pub fn insert_file(&mut self, name: &str, bytes: Vec<u8>) {
        self.nodes.insert(name.to_owned(), TreeNode::File(bytes));
    }

    pub fn insert_symlink(&mut self, name: &str, target: &str) {
        self.nodes
            .insert(name.to_owned(), TreeNode::Symlink(target.to_owned()));
    }

    pub fn remove(&mut self, name: &str) -> Option<TreeNode> {
        self.nodes.remove(name)
    }

    /// A file's bytes (not a symlink's).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        match self.nodes.get(name) {
            Some(TreeNode::File(bytes)) => Some(bytes),
            _ => None,
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// Writes the tree under `dir` (created if needed).
    pub fn write_dir(&self, dir: &Path) -> io::Result<()> {
        for (name, node) in &self.nodes {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            match node {
                TreeNode::File(bytes) => std::fs::write(&path, bytes)?,
                TreeNode::Symlink(target) => symlink(target, &path)?,
            }
        }
        Ok(())
    }

    /// The tree as a tar, with directory entries, member names prefixed by `prefix` (`""` or `"./"`).
    pub fn to_tar_with_prefix(&self, prefix: &str) -> Vec<u8> {
        let mut layer = LayerBuilder::new();
        let mut dirs_written = std::collections::BTreeSet::new();
        for (name, node) in &self.nodes {
            for (at, _) in name.match_indices('/') {
                let dir = &name[..=at];
                if dirs_written.insert(dir.to_owned()) {
                    layer = layer.dir(format!("{prefix}{dir}"));
                }
            }
            let member = format!("{prefix}{name}");
            layer = match node {
                TreeNode::File(bytes) => layer.file(member, bytes),
                TreeNode::Symlink(target) => layer.symlink(member, target),
            };
        }
        layer.build()
    }

    pub fn to_tar(&self) -> Vec<u8> {
        self.to_tar_with_prefix("")
    }

    pub fn write_tar(&self, file: &Path) -> io::Result<()> {
        std::fs::write(file, self.to_tar())
    }
}

#[cfg(unix)]
fn symlink(target: &str, path: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn symlink(_target: &str, _path: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symlinks need unix",
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn entries(tar: &[u8]) -> Vec<(Vec<u8>, tar::EntryType, u32, Vec<u8>)> {
        let mut archive = tar::Archive::new(tar);
        let mut out = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            out.push((
                entry.path_bytes().into_owned(),
                header.entry_type(),
                header.mode().unwrap(),
                data,
            ));
        }
        out
    }

    #[test]
    fn layer_entries_read_back_with_the_tar_crate() {
        let tar = LayerBuilder::new()
            .dir("etc")
            .file("etc/passwd", "root:x:0:0")
            .mode(0o100600)
            .owner(1000, 1000)
            .owner_names("alice", "staff")
            .symlink("bin", "usr/bin")
            .hardlink("etc/passwd-", "etc/passwd")
            .char_device("dev/null", 1, 3)
            .block_device("dev/sda", 8, 0)
            .fifo("run/fifo")
            .whiteout("etc/motd")
            .opaque_whiteout("usr/share/doc/")
            .build();
        let read = entries(&tar);
        let names: Vec<&[u8]> = read.iter().map(|e| e.0.as_slice()).collect();
        let expected: [&[u8]; 9] = [
            b"etc",
            b"etc/passwd",
            b"bin",
            b"etc/passwd-",
            b"dev/null",
            b"dev/sda",
            b"run/fifo",
            b"etc/.wh.motd",
            b"usr/share/doc/.wh..wh..opq",
        ];
        assert_eq!(names, expected);
        assert_eq!(
            (read[1].2, read[1].3.as_slice()),
            (0o100600, &b"root:x:0:0"[..])
        );
        assert_eq!(read[4].1, tar::EntryType::Char);
        let header = tar::Header::from_byte_slice(&tar[512..1024]);
        assert_eq!(header.username().unwrap(), Some("alice"));
    }

    #[test]
    fn hostile_and_long_names_are_written_raw() {
        let long = format!("{}/file", "d".repeat(300));
        for format in [TarFormat::Ustar, TarFormat::Gnu, TarFormat::Pax] {
            let tar = LayerBuilder::new()
                .format(format)
                .file("../escape", "x")
                .file("/abs", "y")
                .file(b"esc\x1b[2J\xff", "z")
                .file(&long, "long")
                .symlink("link", &long)
                .build();
            let mut archive = tar::Archive::new(tar.as_slice());
            let read: Vec<(Vec<u8>, Option<Vec<u8>>)> = archive
                .entries()
                .unwrap()
                .raw(false)
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.path_bytes().into_owned(),
                        e.link_name_bytes().map(|l| l.into_owned()),
                    )
                })
                .collect();
            let names: Vec<&[u8]> = read.iter().map(|(n, _)| n.as_slice()).collect();
            let expected: [&[u8]; 5] = [
                b"../escape",
                b"/abs",
                b"esc\x1b[2J\xff",
                long.as_bytes(),
                b"link",
            ];
            assert_eq!(names, expected, "{format:?}");
            assert_eq!(read[4].1.as_deref(), Some(long.as_bytes()), "{format:?}");
        }
    }

    #[test]
    fn pax_records_and_truncation() {
        let tar = LayerBuilder::new()
            .file("usr/bin/ping", "elf")
            .pax("mtime", "1700000000.123456789")
            .pax("SCHILY.xattr.user.x", b"v\x00al")
            .build();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
        let records: Vec<(String, Vec<u8>)> = entry
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|r| r.unwrap())
            .map(|r| (r.key().unwrap().to_owned(), r.value_bytes().to_vec()))
            .collect();
        assert_eq!(
            records[0],
            ("mtime".to_owned(), b"1700000000.123456789".to_vec())
        );
        assert_eq!(
            records[1],
            ("SCHILY.xattr.user.x".to_owned(), b"v\x00al".to_vec())
        );
        let mut data = String::new();
        entry.read_to_string(&mut data).unwrap();
        assert_eq!(data, "elf");
        assert_eq!(pax_record("path", b"x").as_slice(), b"9 path=x\n");
        let full = LayerBuilder::new().file("a", "1").build();
        assert_eq!(full.len(), 512 * 4);
        assert_eq!(
            LayerBuilder::new()
                .file("a", "1")
                .without_end_blocks()
                .build()
                .len(),
            1024
        );
        assert_eq!(
            LayerBuilder::new()
                .file("a", "1")
                .truncated_to(700)
                .build()
                .len(),
            700
        );
    }

    #[test]
    fn compression_helpers_round_trip_and_are_deterministic() {
        let tar = LayerBuilder::new().file("a", "x".repeat(5000)).build();
        assert_eq!(gzip(&tar), gzip(&tar));
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(gzip_two_members(&tar).as_slice())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, tar);
        let mut single = Vec::new();
        let _ = flate2::read::GzDecoder::new(gzip_two_members(&tar).as_slice())
            .read_to_end(&mut single);
        assert!(
            single.len() < tar.len(),
            "the second member must be separate"
        );
        assert_eq!(zstd::decode_all(zstd(&tar).as_slice()).unwrap(), tar);
        assert_eq!(truncated(gzip(&tar), 8).len(), gzip(&tar).len() - 8);
    }

    #[test]
    fn images_fill_diff_ids_and_apply_faults() {
        let tar = LayerBuilder::new().file("a", "1").build();
        let image = ImageBuilder::new().layer(tar.clone(), LayerCompression::Zstd);
        let built = image.build();
        let config: serde_json::Value = serde_json::from_slice(&built.config_bytes).unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            Digest::sha256_of(&tar).to_string()
        );
        assert_eq!(built.layers[0].media_type, media_type::OCI_LAYER_ZSTD);
        assert_eq!(
            image.build().manifest.digest,
            built.manifest.digest,
            "deterministic"
        );
        let corrupt = image.clone().fault(Fault::CorruptLayer(0)).build();
        let (digest, bytes) = corrupt
            .blobs
            .iter()
            .find(|(d, _)| *d == built.layers[0].digest)
            .unwrap();
        assert_ne!(Digest::sha256_of(bytes), *digest);
        let omitted = image.fault(Fault::OmitConfig).build();
        assert!(omitted.blobs.iter().all(|(d, _)| *d != built.config.digest));
    }

    #[test]
    fn written_layouts_and_archives_read_back_with_open_image() {
        let dir = tempfile::tempdir().unwrap();
        let image = ImageBuilder::new()
            .layer(
                LayerBuilder::new().file("a", "1").build(),
                LayerCompression::GzipTwoMembers,
            )
            .annotation("org.example", "yes");
        let built = image.build();
        let layout = dir.path().join("layout");
        image.write_oci_layout(&layout, Some("x")).unwrap();
        let archive = dir.path().join("a.tar");
        image.write_oci_archive(&archive, Some("x")).unwrap();
        let docker = dir.path().join("d.tar");
        image.write_docker_archive(&docker, Some("x/y:1")).unwrap();
        for spec in [
            format!("oci:{}:x", layout.display()),
            format!("oci-archive:{}:x", archive.display()),
        ] {
            let opened = crate::source::open_image(&spec).unwrap();
            assert_eq!(opened.root.digest, built.manifest.digest, "{spec}");
            let mut layer = Vec::new();
            opened
                .source
                .open(&built.layers[0].digest)
                .unwrap()
                .read_to_end(&mut layer)
                .unwrap();
            assert_eq!(Digest::sha256_of(&layer), built.layers[0].digest);
        }
        let opened =
            crate::source::open_image(&format!("docker-archive:{}:x/y:1", docker.display()))
                .unwrap();
        let mut layer = Vec::new();
        opened
            .source
            .open(&built.diff_ids[0])
            .unwrap()
            .read_to_end(&mut layer)
            .unwrap();
        assert_eq!(Digest::sha256_of(&layer), built.diff_ids[0]);
    }
}

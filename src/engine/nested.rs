//! What is inside two files whose contents differ: archives (tar, zip and its kin), compressed streams
//! (gzip, zstd, xz) and compiled Python files are compared member by member, with the same aspects as
//! layer entries, recursively. A change inside (one class in a jar) then shows for what it is, and a
//! difference of packing only (a gzip header's mtime, a zip's entry times) is hidden with the aspect it
//! belongs to.
//!
//! Everything here works on bytes in memory, bounded by [`NestedLimits`]: the bytes unpacked for one
//! top-level file (all levels together), the members of one archive and the depth. Past a limit the file
//! is compared by digest only, and the comparison says so.

use std::io::{self, Cursor, Read};

use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::codec::{self, Codec};
use crate::model::{
    Aspect, ContextId, Delta, DiffId, DiffKey, DiffKind, Difference, EntryFields, EntryKind,
    EntryMeta, NestedFormat, Owner, Sides, TarFormat, Timestamp, name_from_bytes,
};
use crate::oci::Digest;

use super::entries::{LayerEntries, compare_layer_entries};
use super::error::BlobError;
use super::layer::{ContentVisitor, ReadLimits, scan_tar_stream, visit_tar_stream};

/// Bounds on comparing inside files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NestedLimits {
    /// Levels of nesting compared (a jar in a tar.gz is 3); 0 compares nothing inside files.
    pub depth: u32,
    /// Members of one archive.
    pub members: u64,
    /// Bytes unpacked for one top-level file, per side, all levels together.
    pub bytes: u64,
}

impl NestedLimits {
    pub const DEFAULT: NestedLimits = NestedLimits {
        depth: 3,
        members: 10_000,
        bytes: 64 << 20,
    };

    /// Nothing inside files is compared (diffoci's behaviour: a content digest row).
    pub const OFF: NestedLimits = NestedLimits {
        depth: 0,
        members: 0,
        bytes: 0,
    };

    /// The member and byte limits multiplied by `factor` (`--max-scale`), at depth `depth`.
    pub fn scaled(factor: f64, depth: u32) -> NestedLimits {
        let scale = |limit: u64| (limit as f64 * factor).clamp(1.0, u64::MAX as f64) as u64;
        NestedLimits {
            depth,
            members: scale(Self::DEFAULT.members),
            bytes: scale(Self::DEFAULT.bytes),
        }
    }
}

impl Default for NestedLimits {
    fn default() -> Self {
        NestedLimits::DEFAULT
    }
}

/// Two nested files compared.
#[derive(Debug)]
pub struct NestedComparison {
    pub formats: Sides<NestedFormat>,
    /// The differences between their members; `context` is left for the caller to set.
    pub differences: Vec<Difference>,
    /// Members that are nested files themselves, compared in turn, by index into `differences`.
    pub children: Vec<(usize, NestedComparison)>,
    /// Members compared by digest only, and why (a limit, a member that cannot be read).
    pub notes: Vec<String>,
}

/// Why two files could not be compared inside: they are then compared by digest only.
#[derive(Debug, thiserror::Error)]
pub enum NestedError {
    #[error("unpacks to more than {limit} bytes (--max-scale raises the limit)")]
    TooLarge { limit: u64 },
    #[error("holds more than {limit} members (--max-scale raises the limit)")]
    TooManyMembers { limit: u64 },
    #[error("{format} of input {input} cannot be read: {message}")]
    Unreadable {
        input: usize,
        format: &'static str,
        message: String,
    },
    #[error("a {0} and a {1} are not compared inside")]
    Unlike(&'static str, &'static str),
}

/// The bytes one top-level comparison may still unpack, per side.
struct Budget {
    left: Sides<u64>,
    limit: u64,
}

impl Budget {
    fn take(&mut self, index: usize, bytes: u64) -> Result<(), NestedError> {
        let left = if index == 0 {
            &mut self.left.input0
        } else {
            &mut self.left.input1
        };
        *left = left
            .checked_sub(bytes)
            .ok_or(NestedError::TooLarge { limit: self.limit })?;
        Ok(())
    }
}

/// Compares the insides of two files named `name` (for the names of compressed payloads), both
/// recognised as nested formats.
pub fn compare_files(
    name: &str,
    bytes: Sides<&[u8]>,
    formats: Sides<NestedFormat>,
    limits: &NestedLimits,
) -> Result<NestedComparison, NestedError> {
    if limits.depth == 0 {
        return Err(NestedError::TooLarge { limit: 0 });
    }
    let mut budget = Budget {
        left: Sides::new(limits.bytes, limits.bytes),
        limit: limits.bytes,
    };
    for (side, b) in bytes.iter() {
        budget.take(side.index(), b.len() as u64)?;
    }
    Comparer { limits, budget }.compare(name, bytes, formats, 1)
}

/// The content of a member of a file compared inside, unpacked again from the file's bytes (input
/// `input`'s). `steps` go from the file down: at each level the format of the file there and its member
/// to take (a tar's or a zip's member by index, a compressed stream's payload), the last one the member
/// wanted. Each level unpacks at most `limits.bytes`.
pub fn member_content<E: std::borrow::Borrow<EntryMeta>>(
    input: usize,
    file: &[u8],
    steps: &[(NestedFormat, E)],
    limits: &NestedLimits,
) -> Result<Vec<u8>, NestedError> {
    let mut bytes = file.to_vec();
    for (format, member) in steps {
        bytes = unpack_member(input, &bytes, *format, member.borrow(), limits)?;
    }
    Ok(bytes)
}

/// One level of [`member_content`].
fn unpack_member(
    input: usize,
    bytes: &[u8],
    format: NestedFormat,
    member: &EntryMeta,
    limits: &NestedLimits,
) -> Result<Vec<u8>, NestedError> {
    let unreadable = |message: String| NestedError::Unreadable {
        input,
        format: format.label(),
        message,
    };
    let bounded = |reader: &mut dyn Read| {
        let mut out = Vec::new();
        reader
            .take(limits.bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| unreadable(e.to_string()))?;
        match out.len() as u64 > limits.bytes {
            true => Err(NestedError::TooLarge {
                limit: limits.bytes,
            }),
            false => Ok(out),
        }
    };
    let codec = match format {
        NestedFormat::Gzip => Codec::Gzip,
        NestedFormat::Zstd => Codec::Zstd,
        NestedFormat::Xz => Codec::Xz,
        NestedFormat::Tar => {
            let read_limits = ReadLimits {
                layer_entries: limits.members,
                ..ReadLimits::DEFAULT
            };
            let mut collector = Collector {
                wanted: vec![member.index()],
                found: Vec::new(),
            };
            visit_tar_stream(bytes, &mut collector, &read_limits)
                .map_err(|e| member_error(input, format, e, &read_limits))?;
            let found = collector.found.pop().map(|(_, content)| content);
            return found.ok_or_else(|| unreadable(format!("no member {}", member.name())));
        }
        NestedFormat::Zip => {
            let zip_error = |e: zip::result::ZipError| unreadable(e.to_string());
            let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
            let mut file = archive
                .by_index(member.index() as usize)
                .map_err(zip_error)?;
            return bounded(&mut file);
        }
        NestedFormat::Pyc => {
            return Err(unreadable("a pyc's header fields are not files".into()));
        }
    };
    let mut decoder =
        codec::decoder(codec, bytes, codec::XZ_MEMORY).map_err(|e| unreadable(e.to_string()))?;
    bounded(&mut decoder)
}

struct Comparer<'l> {
    limits: &'l NestedLimits,
    budget: Budget,
}

impl Comparer<'_> {
    fn compare(
        &mut self,
        name: &str,
        bytes: Sides<&[u8]>,
        formats: Sides<NestedFormat>,
        depth: u32,
    ) -> Result<NestedComparison, NestedError> {
        use NestedFormat::*;
        let mut out = NestedComparison {
            formats,
            differences: Vec::new(),
            children: Vec::new(),
            notes: Vec::new(),
        };
        match (formats.input0, formats.input1) {
            (Gzip | Zstd | Xz, Gzip | Zstd | Xz) => {
                self.compare_streams(name, bytes, formats, depth, &mut out)?
            }
            (Tar, Tar) => self.compare_tars(bytes, depth, &mut out)?,
            (Zip, Zip) => self.compare_zips(bytes, depth, &mut out)?,
            (Pyc, Pyc) => compare_pycs(bytes, &mut out),
            (a, b) => return Err(NestedError::Unlike(a.label(), b.label())),
        }
        Ok(out)
    }

    /// Two compressed streams: their headers (gzip's), then their payloads as one member.
    fn compare_streams(
        &mut self,
        name: &str,
        bytes: Sides<&[u8]>,
        formats: Sides<NestedFormat>,
        depth: u32,
        out: &mut NestedComparison,
    ) -> Result<(), NestedError> {
        let mut header_deltas = Vec::new();
        if formats.differ() {
            header_deltas.push(Delta::new(
                Aspect::MediaType,
                "compression",
                json!(formats.input0.label()),
                json!(formats.input1.label()),
            ));
        }
        let headers = Sides::new(
            gzip_header(formats.input0, bytes.input0),
            gzip_header(formats.input1, bytes.input1),
        );
        if let (Some(a), Some(b)) = (&headers.input0, &headers.input1) {
            header_deltas.extend(a.deltas(b));
        }
        if !header_deltas.is_empty() {
            out.differences
                .push(member_difference("(gzip header)", header_deltas, None));
        }
        let payloads = Sides::new(
            self.unpack(0, formats.input0, bytes.input0)?,
            self.unpack(1, formats.input1, bytes.input1)?,
        );
        let inner = payload_name(name);
        let entries = payloads.as_ref().map(|p| payload_entry(&inner, p));
        let deltas = content_deltas(&entries.input0, &entries.input1);
        if deltas.is_empty() {
            return Ok(());
        }
        out.differences.push(member_difference(
            &inner,
            deltas,
            Some(Sides::new(
                Some(entries.input0.clone()),
                Some(entries.input1.clone()),
            )),
        ));
        let index = out.differences.len() - 1;
        let inner_formats = Sides::new(entries.input0.nested(), entries.input1.nested());
        self.descend(
            &inner,
            payloads.as_ref().map(|p| p.as_slice()),
            inner_formats,
            depth,
            index,
            out,
        );
        Ok(())
    }

    /// Compares two members that are nested files themselves, if the depth allows; a failure becomes a
    /// note, and the member stays a content difference.
    fn descend(
        &mut self,
        name: &str,
        bytes: Sides<&[u8]>,
        formats: Sides<Option<NestedFormat>>,
        depth: u32,
        index: usize,
        out: &mut NestedComparison,
    ) {
        let (Some(a), Some(b)) = (formats.input0, formats.input1) else {
            return;
        };
        if depth >= self.limits.depth {
            out.notes.push(format!(
                "{}: nested deeper than {} levels, compared by digest only",
                name, self.limits.depth
            ));
            return;
        }
        match self.compare(name, bytes, Sides::new(a, b), depth + 1) {
            Ok(child) => out.children.push((index, child)),
            Err(error) => out
                .notes
                .push(format!("{name}: compared by digest only: {error}")),
        }
    }

    /// A compressed stream's payload, within the budget.
    fn unpack(
        &mut self,
        input: usize,
        format: NestedFormat,
        bytes: &[u8],
    ) -> Result<Vec<u8>, NestedError> {
        let unreadable = |error: io::Error| NestedError::Unreadable {
            input,
            format: format.label(),
            message: error.to_string(),
        };
        let codec = match format {
            NestedFormat::Gzip => Codec::Gzip,
            NestedFormat::Zstd => Codec::Zstd,
            NestedFormat::Xz => Codec::Xz,
            _ => return Ok(bytes.to_vec()),
        };
        let decoder = codec::decoder(codec, bytes, codec::XZ_MEMORY).map_err(unreadable)?;
        let left = *self.budget.left.get(side(input));
        let mut payload = Vec::new();
        decoder
            .take(left.saturating_add(1))
            .read_to_end(&mut payload)
            .map_err(unreadable)?;
        self.budget.take(input, payload.len() as u64)?;
        Ok(payload)
    }

    fn compare_tars(
        &mut self,
        bytes: Sides<&[u8]>,
        depth: u32,
        out: &mut NestedComparison,
    ) -> Result<(), NestedError> {
        let limits = ReadLimits {
            layer_entries: self.limits.members,
            ..ReadLimits::DEFAULT
        };
        let mut scanned: Sides<LayerEntries> = Sides::default();
        for (side, b) in bytes.iter() {
            let entries = scan_tar_stream(*b, &limits)
                .map_err(|e| member_error(side.index(), NestedFormat::Tar, e, &limits))?;
            *scanned.get_mut(side) = LayerEntries::new(entries);
        }
        out.differences =
            compare_layer_entries(ContextId(0), &scanned.input0, &scanned.input1, false);
        let wanted = nested_members(&out.differences);
        if wanted.is_empty() {
            return Ok(());
        }
        let mut contents: Sides<Vec<(u32, Vec<u8>)>> = Sides::default();
        for (side, b) in bytes.iter() {
            let indexes: Vec<u32> = wanted
                .iter()
                .filter_map(|(_, entries)| entries.get(side).as_ref().map(|e| e.index()))
                .collect();
            let mut collector = Collector {
                wanted: indexes,
                found: Vec::new(),
            };
            visit_tar_stream(*b, &mut collector, &limits)
                .map_err(|e| member_error(side.index(), NestedFormat::Tar, e, &limits))?;
            for (_, content) in &collector.found {
                self.budget.take(side.index(), content.len() as u64)?;
            }
            *contents.get_mut(side) = collector.found;
        }
        for (index, entries) in wanted {
            let content = |side: crate::model::Side| {
                let wanted_index = entries.get(side).as_ref().map(|e| e.index());
                contents
                    .get(side)
                    .iter()
                    .find(|(i, _)| Some(*i) == wanted_index)
                    .map(|(_, c)| c.as_slice())
                    .unwrap_or_default()
            };
            let bytes = Sides::from_fn(content);
            let formats = entries
                .as_ref()
                .map(|e| e.as_ref().and_then(|e| e.nested()));
            let name = out.differences[index].key().to_owned();
            self.descend(&name, bytes, formats, depth, index, out);
        }
        Ok(())
    }

    fn compare_zips(
        &mut self,
        bytes: Sides<&[u8]>,
        depth: u32,
        out: &mut NestedComparison,
    ) -> Result<(), NestedError> {
        let mut zips: Sides<ZipListing> = Sides::default();
        for (side, b) in bytes.iter() {
            *zips.get_mut(side) = self.read_zip(side.index(), b)?;
        }
        out.differences = compare_layer_entries(
            ContextId(0),
            &LayerEntries::new(zips.input0.entries.clone()),
            &LayerEntries::new(zips.input1.entries.clone()),
            false,
        );
        add_zip_deltas(&zips, &mut out.differences);
        for (index, entries) in nested_members(&out.differences) {
            let content = |side: crate::model::Side| {
                let listing = zips.get(side);
                entries
                    .get(side)
                    .as_ref()
                    .and_then(|e| listing.contents.get(e.index() as usize))
                    .and_then(|c| c.as_deref())
                    .unwrap_or_default()
            };
            let bytes = Sides::from_fn(content);
            let formats = entries
                .as_ref()
                .map(|e| e.as_ref().and_then(|e| e.nested()));
            let name = out.differences[index].key().to_owned();
            self.descend(&name, bytes, formats, depth, index, out);
        }
        Ok(())
    }

    /// Lists a zip's members: metadata as tar entries (so they compare alike), the zip-only fields
    /// apart, and the contents of members that are nested files themselves.
    fn read_zip(&mut self, input: usize, bytes: &[u8]) -> Result<ZipListing, NestedError> {
        let unreadable = |error: zip::result::ZipError| NestedError::Unreadable {
            input,
            format: "zip",
            message: error.to_string(),
        };
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
        if archive.len() as u64 > self.limits.members {
            return Err(NestedError::TooManyMembers {
                limit: self.limits.members,
            });
        }
        let mut listing = ZipListing {
            comment: archive.comment().to_vec(),
            ..ZipListing::default()
        };
        for index in 0..archive.len() {
            let mut file = archive.by_index(index).map_err(unreadable)?;
            let name = name_from_bytes(file.name_raw());
            let mut content = Vec::new();
            let left = *self.budget.left.get(side(input));
            (&mut file)
                .take(left.saturating_add(1))
                .read_to_end(&mut content)
                .map_err(|e| NestedError::Unreadable {
                    input,
                    format: "zip",
                    message: format!("member {name}: {e}"),
                })?;
            self.budget.take(input, content.len() as u64)?;
            let kind = if file.is_dir() {
                EntryKind::Directory
            } else if file.is_symlink() {
                EntryKind::Symlink
            } else {
                EntryKind::File
            };
            let mtime = zip_mtime(&file);
            let mut entry = EntryFields {
                index: index as u32,
                kind,
                link: (kind == EntryKind::Symlink).then(|| name_from_bytes(&content).into()),
                size: file.size(),
                mode: file.unix_mode().unwrap_or(0),
                mtime,
                format: TarFormat::Ustar,
                content: (kind == EntryKind::File)
                    .then(|| Digest::from_sha256(Sha256::digest(&content).into())),
                nested: None,
                ..zip_entry_base(&name)
            };
            if kind == EntryKind::File {
                entry.nested = NestedFormat::sniff(&name, &content);
            }
            listing.methods.push(format!("{:?}", file.compression()));
            listing.comments.push(file.comment().to_owned());
            listing
                .contents
                .push(entry.nested.is_some().then_some(content));
            listing.entries.push(entry.into());
        }
        Ok(listing)
    }
}

fn side(index: usize) -> crate::model::Side {
    if index == 0 {
        crate::model::Side::Input0
    } else {
        crate::model::Side::Input1
    }
}

/// A zip's members as the comparison needs them.
#[derive(Debug, Default)]
struct ZipListing {
    entries: Vec<EntryMeta>,
    /// Per member: the compression method, the comment, and the content when it is a nested file.
    methods: Vec<String>,
    comments: Vec<String>,
    contents: Vec<Option<Vec<u8>>>,
    comment: Vec<u8>,
}

fn zip_entry_base(name: &str) -> EntryFields {
    EntryFields {
        index: 0,
        name: name.into(),
        kind: EntryKind::File,
        link: None,
        size: 0,
        mode: 0,
        owner: Owner::none(),
        mtime: Timestamp::default(),
        extras: None,
        format: TarFormat::Ustar,
        content: None,
        nested: None,
    }
}

/// A member's modification time: the extended timestamp (Unix seconds) when there is one, else the
/// DOS date and time (local time of the writer, 2-second steps), read as UTC.
fn zip_mtime<R: Read>(file: &zip::read::ZipFile<'_, R>) -> Timestamp {
    let extended = file.extra_data_fields().find_map(|field| match field {
        zip::extra_fields::ExtraField::ExtendedTimestamp(t) => t.mod_time(),
        _ => None,
    });
    if let Some(secs) = extended {
        return Timestamp::from_secs(i64::from(secs));
    }
    let Some(dos) = file.last_modified() else {
        return Timestamp::default();
    };
    let civil = jiff::civil::DateTime::new(
        dos.year() as i16,
        dos.month() as i8,
        dos.day() as i8,
        dos.hour() as i8,
        dos.minute() as i8,
        dos.second() as i8,
        0,
    );
    civil
        .ok()
        .and_then(|c| c.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| Timestamp::from_secs(z.timestamp().as_second()))
        .unwrap_or_default()
}

/// Compression methods (how the bytes are packed: hidden with media types) and comments.
fn add_zip_deltas(zips: &Sides<ZipListing>, differences: &mut Vec<Difference>) {
    let (a, b) = (&zips.input0, &zips.input1);
    if a.comment != b.comment {
        differences.push(member_difference(
            "(zip comment)",
            vec![Delta::new(
                Aspect::Annotation,
                "comment",
                json!(name_from_bytes(&a.comment)),
                json!(name_from_bytes(&b.comment)),
            )],
            None,
        ));
    }
    for (i, x) in a.entries.iter().enumerate() {
        let Some(j) = b.entries.iter().position(|y| y.name() == x.name()) else {
            continue;
        };
        let mut deltas = Vec::new();
        if a.methods[i] != b.methods[j] {
            deltas.push(Delta::new(
                Aspect::MediaType,
                "zip:method",
                json!(a.methods[i]),
                json!(b.methods[j]),
            ));
        }
        if a.comments[i] != b.comments[j] {
            deltas.push(Delta::new(
                Aspect::Annotation,
                "zip:comment",
                json!(a.comments[i]),
                json!(b.comments[j]),
            ));
        }
        if deltas.is_empty() {
            continue;
        }
        match differences.iter_mut().find(|d| d.key() == x.path()) {
            Some(difference) => difference.deltas_mut().extend(deltas),
            None => {
                let entries = Sides::new(Some(x.clone()), Some(b.entries[j].clone()));
                differences.push(member_difference(&x.path(), deltas, Some(entries)));
            }
        }
    }
}

/// Differences whose two sides are nested files with different contents: (index, both entries).
fn nested_members(differences: &[Difference]) -> Vec<(usize, Sides<Option<EntryMeta>>)> {
    differences
        .iter()
        .enumerate()
        .filter(|(_, d)| d.deltas().iter().any(|x| x.field == "content"))
        .filter_map(|(i, d)| {
            let entries = d.entries.as_ref()?;
            let both = entries.input0.as_ref()?.nested().is_some()
                && entries.input1.as_ref()?.nested().is_some();
            both.then(|| (i, entries.clone()))
        })
        .collect()
}

/// Collects the content of chosen tar members.
struct Collector {
    wanted: Vec<u32>,
    found: Vec<(u32, Vec<u8>)>,
}

impl ContentVisitor for Collector {
    fn wants(&mut self, index: u32) -> bool {
        self.wanted.contains(&index)
    }

    fn visit(&mut self, entry: &EntryMeta, content: &mut dyn Read) -> io::Result<()> {
        let mut bytes = Vec::new();
        content.read_to_end(&mut bytes)?;
        self.found.push((entry.index(), bytes));
        Ok(())
    }
}

fn member_error(
    input: usize,
    format: NestedFormat,
    error: BlobError,
    limits: &ReadLimits,
) -> NestedError {
    match error {
        BlobError::TooManyEntries { .. } => NestedError::TooManyMembers {
            limit: limits.layer_entries,
        },
        other => NestedError::Unreadable {
            input,
            format: format.label(),
            message: other.to_string(),
        },
    }
}

/// The name of a compressed file's payload: the file's name without its compression suffix.
fn payload_name(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    for (suffix, replacement) in [(".tgz", ".tar"), (".gz", ""), (".zst", ""), (".xz", "")] {
        if let Some(stem) = base.strip_suffix(suffix)
            && !stem.is_empty()
        {
            return format!("{stem}{replacement}");
        }
    }
    "(decompressed)".into()
}

/// A payload as an entry: its size, digest and whether it is nested in turn.
fn payload_entry(name: &str, payload: &[u8]) -> EntryMeta {
    EntryFields {
        size: payload.len() as u64,
        content: Some(Digest::from_sha256(Sha256::digest(payload).into())),
        nested: NestedFormat::sniff(name, payload),
        ..zip_entry_base(name)
    }
    .into()
}

fn content_deltas(a: &EntryMeta, b: &EntryMeta) -> Vec<Delta> {
    let mut deltas = Vec::new();
    if a.size() != b.size() {
        deltas.push(Delta::new(
            Aspect::Content,
            "size",
            json!(a.size()),
            json!(b.size()),
        ));
    }
    if a.content() != b.content() {
        deltas.push(Delta::new(
            Aspect::Content,
            "content",
            json!(a.content()),
            json!(b.content()),
        ));
    }
    deltas
}

fn member_difference(
    key: &str,
    deltas: Vec<Delta>,
    entries: Option<Sides<Option<EntryMeta>>>,
) -> Difference {
    Difference {
        context: ContextId(0),
        kind: DiffKind::File,
        key: match &entries {
            Some(e) => DiffKey::of_file(key, e.as_ref().map(Option::as_ref)),
            None => key.into(),
        },
        deltas: deltas.into(),
        entries: entries.into(),
        origin: Default::default(),
        id: DiffId::default(),
        nested: Default::default(),
        explanations: Default::default(),
    }
}

/// The fields of a gzip member header (RFC 1952) that can differ when the payload does not.
#[derive(Debug, PartialEq, Eq)]
struct GzipHeader {
    mtime: u32,
    extra_flags: u8,
    os: u8,
    name: Option<Vec<u8>>,
    comment: Option<Vec<u8>>,
}

fn gzip_header(format: NestedFormat, bytes: &[u8]) -> Option<GzipHeader> {
    if format != NestedFormat::Gzip || bytes.len() < 10 {
        return None;
    }
    let flags = bytes[3];
    let mut at = 10usize;
    if flags & 0x04 != 0 {
        let extra = u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]) as usize;
        at += 2 + extra;
    }
    let mut text = |present: bool| -> Option<Option<Vec<u8>>> {
        if !present {
            return Some(None);
        }
        let rest = bytes.get(at..)?;
        let end = rest.iter().position(|b| *b == 0)?;
        at += end + 1;
        Some(Some(rest[..end].to_vec()))
    };
    let name = text(flags & 0x08 != 0)?;
    let comment = text(flags & 0x10 != 0)?;
    Some(GzipHeader {
        mtime: u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        extra_flags: bytes[8],
        os: bytes[9],
        name,
        comment,
    })
}

impl GzipHeader {
    fn deltas(&self, other: &GzipHeader) -> Vec<Delta> {
        let mut out = Vec::new();
        let text = |t: &Option<Vec<u8>>| t.as_deref().map(name_from_bytes);
        if self.mtime != other.mtime {
            let time = |t: u32| (t != 0).then(|| Timestamp::from_secs(i64::from(t)));
            out.push(Delta::new(
                Aspect::FileTime,
                "gzip:mtime",
                json!(time(self.mtime)),
                json!(time(other.mtime)),
            ));
        }
        if self.name != other.name {
            out.push(Delta::new(
                Aspect::Annotation,
                "gzip:name",
                json!(text(&self.name)),
                json!(text(&other.name)),
            ));
        }
        if self.comment != other.comment {
            out.push(Delta::new(
                Aspect::Annotation,
                "gzip:comment",
                json!(text(&self.comment)),
                json!(text(&other.comment)),
            ));
        }
        if self.os != other.os {
            out.push(Delta::new(
                Aspect::MediaType,
                "gzip:os",
                json!(self.os),
                json!(other.os),
            ));
        }
        if self.extra_flags != other.extra_flags {
            out.push(Delta::new(
                Aspect::MediaType,
                "gzip:xfl",
                json!(self.extra_flags),
                json!(other.extra_flags),
            ));
        }
        out
    }
}

/// A compiled Python file: magic (the Python version), flags, the source's mtime and size or its
/// hash (PEP 552), then the marshalled code object.
struct Pyc<'b> {
    magic: u16,
    flags: u32,
    source_mtime: Option<u32>,
    source_size: Option<u32>,
    source_hash: Option<&'b [u8]>,
    code: &'b [u8],
}

fn parse_pyc(bytes: &[u8]) -> Option<Pyc<'_>> {
    let magic = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]);
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    // Python 3.7 (magic 3390) and later: 16 bytes with flags; 3.3 to 3.6: 12; older: 8.
    let (flags, header) = match magic {
        3390.. => (word(4)?, 16),
        3210.. => (0, 12),
        _ => (0, 8),
    };
    let hashed = flags & 1 != 0;
    let fields_at = if header == 16 { 8 } else { 4 };
    Some(Pyc {
        magic,
        flags,
        source_mtime: (!hashed).then(|| word(fields_at)).flatten(),
        source_size: (!hashed && header >= 12)
            .then(|| word(fields_at + 4))
            .flatten(),
        source_hash: hashed.then(|| bytes.get(8..16)).flatten(),
        code: bytes.get(header..)?,
    })
}

fn compare_pycs(bytes: Sides<&[u8]>, out: &mut NestedComparison) {
    let (Some(a), Some(b)) = (parse_pyc(bytes.input0), parse_pyc(bytes.input1)) else {
        let deltas = vec![Delta::new(
            Aspect::Content,
            "content",
            json!("pyc"),
            json!("pyc"),
        )];
        out.differences
            .push(member_difference("(code)", deltas, None));
        out.notes.push("a pyc header cannot be read".into());
        return;
    };
    let mut header = Vec::new();
    if a.magic != b.magic {
        header.push(Delta::new(
            Aspect::Structure,
            "pyc:magic",
            json!(a.magic),
            json!(b.magic),
        ));
    }
    if a.flags != b.flags {
        header.push(Delta::new(
            Aspect::Structure,
            "pyc:flags",
            json!(a.flags),
            json!(b.flags),
        ));
    }
    if a.source_mtime != b.source_mtime {
        let time = |t: Option<u32>| t.map(|t| Timestamp::from_secs(i64::from(t)));
        header.push(Delta::new(
            Aspect::FileTime,
            "pyc:source-mtime",
            json!(time(a.source_mtime)),
            json!(time(b.source_mtime)),
        ));
    }
    if a.source_size != b.source_size {
        header.push(Delta::new(
            Aspect::Content,
            "pyc:source-size",
            json!(a.source_size),
            json!(b.source_size),
        ));
    }
    if a.source_hash != b.source_hash {
        header.push(Delta::new(
            Aspect::Content,
            "pyc:source-hash",
            json!(a.source_hash.map(hex::encode)),
            json!(b.source_hash.map(hex::encode)),
        ));
    }
    if !header.is_empty() {
        out.differences
            .push(member_difference("(pyc header)", header, None));
    }
    if a.code != b.code {
        let digest = |code: &[u8]| Digest::from_sha256(Sha256::digest(code).into());
        let deltas = vec![Delta::new(
            Aspect::Content,
            "content",
            json!(digest(a.code)),
            json!(digest(b.code)),
        )];
        out.differences
            .push(member_difference("(code)", deltas, None));
    }
}

#[cfg(test)]
mod tests;

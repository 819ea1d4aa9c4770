use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use triomphe::ThinArc;

use crate::oci::Digest;

/// The metadata of one tar entry, as read from a layer. Content is never kept, only its sha256.
/// Read through its methods: how it is kept is its own business. A layer of a million files holds a
/// million of these, so an entry is one allocation shared by whoever holds it (a clone is a count):
/// the fixed fields (80 bytes), then its name and link target. Made from the [`EntryFields`] a
/// reader fills in.
#[derive(Clone, PartialEq, Eq)]
pub struct EntryMeta(ThinArc<Fixed, u8>);

/// The fields every entry has, packed: the text that follows them in the allocation is the name,
/// then (with [`Flags::LINK`]) the link target and where it starts, as 4 little-endian bytes.
#[derive(Debug, PartialEq, Eq)]
struct Fixed {
    size: u64,
    mtime_secs: i64,
    owner: Arc<Owner>,
    extras: Option<Box<EntryExtras>>,
    /// All zeros without [`Flags::CONTENT`].
    digest: Digest,
    index: u32,
    mode: u32,
    mtime_nanos: u32,
    kind: EntryKind,
    nested: Option<NestedFormat>,
    flags: Flags,
}

/// The tar format (two bits) and whether the entry has content and a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flags(u8);

impl Flags {
    const FORMAT: u8 = 0b11;
    const CONTENT: u8 = 0b100;
    const LINK: u8 = 0b1000;

    fn new(format: TarFormat, content: bool, link: bool) -> Flags {
        let format = match format {
            TarFormat::V7 => 0,
            TarFormat::Ustar => 1,
            TarFormat::Gnu => 2,
            TarFormat::Pax => 3,
        };
        let content = if content { Flags::CONTENT } else { 0 };
        let link = if link { Flags::LINK } else { 0 };
        Flags(format | content | link)
    }

    fn format(self) -> TarFormat {
        match self.0 & Flags::FORMAT {
            0 => TarFormat::V7,
            1 => TarFormat::Ustar,
            2 => TarFormat::Gnu,
            _ => TarFormat::Pax,
        }
    }

    fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

/// The bytes that say where a link target starts, after it.
const LINK_AT: usize = 4;

/// An entry's fields as a reader (or a test) fills them in; `into()` makes the [`EntryMeta`].
///
/// What few entries have is kept apart, in [`EntryExtras`], and costs the others one pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFields {
    /// 0-based position of the entry in its layer's tar stream.
    pub index: u32,
    /// The name as written in the tar (GNU long names and PAX `path` applied), invalid UTF-8 as `\xNN`.
    pub name: Box<str>,
    pub kind: EntryKind,
    /// Symlink or hardlink target as written.
    pub link: Option<Box<str>>,
    pub size: u64,
    /// The whole mode field: permission bits, setuid/setgid/sticky and any file-type bits the writer set.
    pub mode: u32,
    /// Shared by the entries of a layer that have the same owner, as most do.
    pub owner: Arc<Owner>,
    pub mtime: Timestamp,
    pub format: TarFormat,
    /// sha256 of the entry's data, for regular files.
    pub content: Option<Digest>,
    /// What the data holds that can be compared member by member (an archive, a compressed stream, a
    /// compiled Python file), as its first bytes say.
    pub nested: Option<NestedFormat>,
    /// `None` when the entry has none of them; read them with [`EntryMeta::extras`].
    pub extras: Option<Box<EntryExtras>>,
}

/// Who owns an entry: its ids and, as written, its user and group names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    pub uid: u64,
    pub gid: u64,
    pub uname: Box<str>,
    pub gname: Box<str>,
}

impl Owner {
    /// Root, without names: the owner of members of archives that record none (zip, gzip), and of test
    /// entries. One shared value.
    pub fn none() -> Arc<Owner> {
        static NONE: std::sync::LazyLock<Arc<Owner>> = std::sync::LazyLock::new(Arc::default);
        Arc::clone(&NONE)
    }
}

/// What few tar entries have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryExtras {
    pub atime: Option<Timestamp>,
    pub ctime: Option<Timestamp>,
    pub device: Option<(u32, u32)>,
    pub xattrs: BTreeMap<String, String>,
    /// PAX records not represented by another field (values lossily decoded).
    pub pax: BTreeMap<String, String>,
}

static NO_EXTRAS: EntryExtras = EntryExtras {
    atime: None,
    ctime: None,
    device: None,
    xattrs: BTreeMap::new(),
    pax: BTreeMap::new(),
};

impl EntryExtras {
    /// Boxed, or `None` when there is nothing in it.
    pub fn boxed(self) -> Option<Box<EntryExtras>> {
        (self != NO_EXTRAS).then(|| Box::new(self))
    }
}

/// Written as one object, in the order of the fields as listed (the extras in their place after
/// `mtime`), absent optional fields left out.
impl Serialize for EntryMeta {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (extras, owner) = (self.extras(), self.owner());
        let mut object = s.serialize_struct("EntryMeta", 18)?;
        object.serialize_field("index", &self.index())?;
        object.serialize_field("name", self.name())?;
        object.serialize_field("kind", &self.kind())?;
        if let Some(link) = self.link() {
            object.serialize_field("link", link)?;
        }
        object.serialize_field("size", &self.size())?;
        object.serialize_field("mode", &self.mode())?;
        object.serialize_field("uid", &owner.uid)?;
        object.serialize_field("gid", &owner.gid)?;
        object.serialize_field("uname", &owner.uname)?;
        object.serialize_field("gname", &owner.gname)?;
        object.serialize_field("mtime", &self.mtime())?;
        if let Some(atime) = &extras.atime {
            object.serialize_field("atime", atime)?;
        }
        if let Some(ctime) = &extras.ctime {
            object.serialize_field("ctime", ctime)?;
        }
        if let Some(device) = &extras.device {
            object.serialize_field("device", device)?;
        }
        if !extras.xattrs.is_empty() {
            object.serialize_field("xattrs", &extras.xattrs)?;
        }
        if !extras.pax.is_empty() {
            object.serialize_field("pax", &extras.pax)?;
        }
        object.serialize_field("format", &self.format())?;
        if let Some(content) = self.content() {
            object.serialize_field("content", content)?;
        }
        if let Some(nested) = &self.nested() {
            object.serialize_field("nested", nested)?;
        }
        object.end()
    }
}

/// As the [`EntryMeta`] made of them.
impl Serialize for EntryFields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EntryMeta::from(self.clone()).serialize(s)
    }
}

/// A file format whose inside is compared when two files of it differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NestedFormat {
    Tar,
    Gzip,
    Zstd,
    Xz,
    /// Zip and its kin: jar, war, whl, apk (Android), egg.
    Zip,
    /// Compiled Python (`.pyc`): a header (magic, flags, source mtime and size or hash) and a code object.
    Pyc,
}

impl NestedFormat {
    /// Recognises a format from a file's first bytes (up to 512 are enough) and, for `.pyc`, its name.
    pub fn sniff(name: &str, start: &[u8]) -> Option<NestedFormat> {
        const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0];
        if start.starts_with(&[0x1f, 0x8b]) {
            Some(NestedFormat::Gzip)
        } else if start.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(NestedFormat::Zstd)
        } else if start.starts_with(XZ) {
            Some(NestedFormat::Xz)
        } else if start.starts_with(b"PK\x03\x04") || start.starts_with(b"PK\x05\x06") {
            Some(NestedFormat::Zip)
        } else if name.ends_with(".pyc") && start.len() >= 16 && start.get(2..4) == Some(b"\r\n") {
            Some(NestedFormat::Pyc)
        } else if crate::tarball::is_header(start) {
            Some(NestedFormat::Tar)
        } else {
            None
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            NestedFormat::Tar => "tar",
            NestedFormat::Gzip => "gzip",
            NestedFormat::Zstd => "zstd",
            NestedFormat::Xz => "xz",
            NestedFormat::Zip => "zip",
            NestedFormat::Pyc => "pyc",
        }
    }
}

impl From<EntryFields> for EntryMeta {
    fn from(fields: EntryFields) -> EntryMeta {
        let link_at = fields
            .link
            .as_ref()
            .and_then(|_| u32::try_from(fields.name.len()).ok());
        let mut text = Vec::from(fields.name.into_boxed_bytes());
        if let (Some(link), Some(at)) = (&fields.link, link_at) {
            text.reserve_exact(link.len() + LINK_AT);
            text.extend_from_slice(link.as_bytes());
            text.extend_from_slice(&at.to_le_bytes());
        }
        let fixed = Fixed {
            size: fields.size,
            mtime_secs: fields.mtime.secs,
            owner: fields.owner,
            extras: fields.extras,
            digest: fields
                .content
                .as_ref()
                .map_or_else(|| Digest::from_sha256([0; 32]), Clone::clone),
            index: fields.index,
            mode: fields.mode,
            mtime_nanos: fields.mtime.nanos,
            kind: fields.kind,
            nested: fields.nested,
            flags: Flags::new(fields.format, fields.content.is_some(), link_at.is_some()),
        };
        EntryMeta(ThinArc::from_header_and_slice(fixed, &text))
    }
}

impl fmt::Debug for EntryMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_fields().fmt(f)
    }
}

impl EntryMeta {
    fn fixed(&self) -> &Fixed {
        &self.0.header.header
    }

    /// The name, and the link target if there is one.
    fn texts(&self) -> (&str, Option<&str>) {
        let text = &self.0.slice;
        let link_at = || {
            let end = text.len().checked_sub(LINK_AT)?;
            let at = u32::from_le_bytes(text.get(end..)?.try_into().ok()?) as usize;
            Some((text.get(..at)?, text.get(at..end)?))
        };
        let (name, link) = match (self.fixed().flags.has(Flags::LINK), link_at()) {
            (false, _) => (text, None),
            (true, Some((name, link))) => (name, Some(link)),
            // Never made: a linked entry's text ends with where its link starts.
            (true, None) => (&[][..], None),
        };
        // SAFETY: the text was made of the name's and the link's bytes, each a `str`, and these are
        // exactly their bytes again (where the link starts is kept after them); it is never changed.
        unsafe {
            (
                std::str::from_utf8_unchecked(name),
                link.map(|link| std::str::from_utf8_unchecked(link)),
            )
        }
    }

    /// Whether the two are one entry (not two equal ones).
    pub fn same(a: &EntryMeta, b: &EntryMeta) -> bool {
        a.0.ptr() == b.0.ptr()
    }

    /// 0-based position of the entry in its layer's tar stream.
    pub fn index(&self) -> u32 {
        self.fixed().index
    }

    /// The name as written in the tar (GNU long names and PAX `path` applied), invalid UTF-8 as
    /// `\xNN`.
    pub fn name(&self) -> &str {
        self.texts().0
    }

    pub fn kind(&self) -> EntryKind {
        self.fixed().kind
    }

    /// Symlink or hardlink target as written.
    pub fn link(&self) -> Option<&str> {
        self.texts().1
    }

    pub fn size(&self) -> u64 {
        self.fixed().size
    }

    /// The whole mode field: permission bits, setuid/setgid/sticky and any file-type bits the writer
    /// set.
    pub fn mode(&self) -> u32 {
        self.fixed().mode
    }

    pub fn owner(&self) -> &Owner {
        &self.fixed().owner
    }

    pub fn mtime(&self) -> Timestamp {
        Timestamp {
            secs: self.fixed().mtime_secs,
            nanos: self.fixed().mtime_nanos,
        }
    }

    pub fn format(&self) -> TarFormat {
        self.fixed().flags.format()
    }

    /// sha256 of the entry's data, for regular files.
    pub fn content(&self) -> Option<&Digest> {
        let fixed = self.fixed();
        fixed.flags.has(Flags::CONTENT).then_some(&fixed.digest)
    }

    /// What the data holds that can be compared member by member, as its first bytes say.
    pub fn nested(&self) -> Option<NestedFormat> {
        self.fixed().nested
    }

    /// Its PAX times, device numbers, extended attributes and other PAX records.
    pub fn extras(&self) -> &EntryExtras {
        self.fixed().extras.as_deref().unwrap_or(&NO_EXTRAS)
    }

    /// Its fields, to make another entry from.
    pub fn to_fields(&self) -> EntryFields {
        EntryFields {
            index: self.index(),
            name: self.name().into(),
            kind: self.kind(),
            link: self.link().map(Into::into),
            size: self.size(),
            mode: self.mode(),
            owner: Arc::clone(&self.fixed().owner),
            mtime: self.mtime(),
            format: self.format(),
            content: self.content().cloned(),
            nested: self.nested(),
            extras: self.fixed().extras.clone(),
        }
    }

    /// The path this entry stands for, with `./`, leading `/`, `//` and a trailing `/` removed.
    pub fn path(&self) -> String {
        canonical_path(self.name())
    }

    /// Whether this entry is an overlay whiteout, and of what.
    pub fn whiteout(&self) -> Option<Whiteout> {
        Whiteout::of_path(&self.path())
    }

    /// Permission bits plus setuid/setgid/sticky.
    pub fn permissions(&self) -> u32 {
        self.mode() & 0o7777
    }

    /// The redundant file-type bits of the mode field.
    pub fn mode_type_bits(&self) -> u32 {
        self.mode() & !0o7777
    }
}

impl EntryFields {
    /// Its owner, to change (a copy, if others share it).
    pub fn owner_mut(&mut self) -> &mut Owner {
        Arc::make_mut(&mut self.owner)
    }

    /// Its extras, to change.
    pub fn extras_mut(&mut self) -> &mut EntryExtras {
        self.extras.get_or_insert_default()
    }

    /// A plain regular file entry with everything else zero or empty, for tests to adjust.
    #[cfg(test)]
    pub(crate) fn test_file(name: &str) -> EntryFields {
        EntryFields {
            index: 0,
            name: name.into(),
            kind: EntryKind::File,
            link: None,
            size: 0,
            mode: 0o644,
            owner: Owner::none(),
            mtime: Timestamp::default(),
            format: TarFormat::Ustar,
            content: None,
            nested: None,
            extras: None,
        }
    }
}

/// What a whiteout entry deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Whiteout {
    /// `.wh.<name>`: removes `path` from the layers below.
    Removes { path: String },
    /// `.wh..wh..opq`: hides everything below `dir` in the layers below.
    Opaque { dir: String },
}

impl Whiteout {
    /// What the entry at this canonical path deletes, if it is a whiteout.
    pub fn of_path(path: &str) -> Option<Whiteout> {
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
        if base == ".wh..wh..opq" {
            return Some(Whiteout::Opaque {
                dir: dir.to_owned(),
            });
        }
        let target = base.strip_prefix(".wh.")?;
        let path = if dir.is_empty() {
            target.to_owned()
        } else {
            format!("{dir}/{target}")
        };
        Some(Whiteout::Removes { path })
    }
}

/// A tar entry type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    File,
    Hardlink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
    /// Any other type flag, kept by value.
    Other(u8),
}

impl EntryKind {
    pub fn from_typeflag(flag: u8) -> EntryKind {
        match flag {
            b'0' | 0 | b'7' => EntryKind::File,
            b'1' => EntryKind::Hardlink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::CharDevice,
            b'4' => EntryKind::BlockDevice,
            b'5' => EntryKind::Directory,
            b'6' => EntryKind::Fifo,
            other => EntryKind::Other(other),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Hardlink => "hardlink",
            EntryKind::Symlink => "symlink",
            EntryKind::CharDevice => "char-device",
            EntryKind::BlockDevice => "block-device",
            EntryKind::Directory => "directory",
            EntryKind::Fifo => "fifo",
            EntryKind::Other(_) => "other",
        }
    }
}

/// Header format of an entry, as diffoci's `--ignore-tar-format` distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TarFormat {
    V7,
    Ustar,
    Gnu,
    Pax,
}

impl TarFormat {
    /// The name and number diffoci prints (Go's `tar.Format`).
    pub fn go_label(self) -> &'static str {
        match self {
            TarFormat::V7 => "V7 (1)",
            TarFormat::Ustar => "USTAR (2)",
            TarFormat::Pax => "PAX (4)",
            TarFormat::Gnu => "GNU (8)",
        }
    }
}

/// A point in time with nanoseconds, as tar headers and PAX records give it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn from_secs(secs: i64) -> Self {
        Timestamp { secs, nanos: 0 }
    }

    /// Parses a PAX time value: `seconds[.fraction]`, possibly negative.
    pub fn parse_pax(value: &str) -> Option<Timestamp> {
        let (int, frac) = value.split_once('.').unwrap_or((value, ""));
        let negative = int.starts_with('-');
        let secs: i64 = int.parse().ok()?;
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
        let nanos: u32 = digits.parse().ok()?;
        if negative && nanos > 0 {
            return Some(Timestamp {
                secs: secs - 1,
                nanos: 1_000_000_000 - nanos,
            });
        }
        Some(Timestamp { secs, nanos })
    }

    /// RFC 3339 in UTC, with nanoseconds when there are any.
    pub fn rfc3339(&self) -> String {
        match jiff::Timestamp::new(self.secs, self.nanos as i32) {
            Ok(t) => t.to_string(),
            Err(_) => format!("{}.{:09}s", self.secs, self.nanos),
        }
    }

    /// The form diffoci's table prints (Go's `time.Time.String()` in UTC).
    pub fn go_string(&self) -> String {
        match jiff::Timestamp::new(self.secs, self.nanos as i32) {
            Ok(t) => {
                let base = t.strftime("%Y-%m-%d %H:%M:%S").to_string();
                if self.nanos == 0 {
                    format!("{base} +0000 UTC")
                } else {
                    let frac = format!("{:09}", self.nanos);
                    format!("{base}.{} +0000 UTC", frac.trim_end_matches('0'))
                }
            }
            Err(_) => self.rfc3339(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.rfc3339())
    }
}

/// The canonical spelling of a tar path: no leading `/` or `./`, no empty or `.` components, no trailing
/// `/`. `..` is kept: it is reported, never resolved.
pub fn canonical_path(name: &str) -> String {
    if is_canonical(name) {
        return name.to_owned();
    }
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    parts.join("/")
}

/// Already what [`canonical_path`] makes of it (most names in a layer): no leading or trailing `/`, no
/// empty or `.` component.
pub fn is_canonical(name: &str) -> bool {
    !name.starts_with('/')
        && !name.ends_with('/')
        && !name.contains("//")
        && name != "."
        && !name.starts_with("./")
        && !name.ends_with("/.")
        && !name.contains("/./")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_written_with_its_extras_in_their_place_and_absent_fields_left_out() {
        let plain = EntryFields::test_file("a");
        assert_eq!(plain.extras, None);
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"index":0,"name":"a","kind":"file","size":0,"mode":420,"uid":0,"gid":0,"uname":"","gname":"","mtime":"1970-01-01T00:00:00Z","format":"ustar"}"#
        );
        let mut full = EntryFields::test_file("d");
        full.link = Some("t".into());
        full.content = Some(crate::oci::Digest::from_sha256([0; 32]));
        full.nested = Some(NestedFormat::Gzip);
        let extras = full.extras_mut();
        extras.atime = Some(Timestamp::from_secs(1));
        extras.ctime = Some(Timestamp::from_secs(2));
        extras.device = Some((1, 3));
        extras.xattrs.insert("user.x".into(), "v".into());
        extras.pax.insert("comment".into(), "c".into());
        let zeros = "0".repeat(64);
        assert_eq!(
            serde_json::to_string(&full).unwrap(),
            format!(
                r#"{{"index":0,"name":"d","kind":"file","link":"t","size":0,"mode":420,"uid":0,"gid":0,"uname":"","gname":"","mtime":"1970-01-01T00:00:00Z","atime":"1970-01-01T00:00:01Z","ctime":"1970-01-01T00:00:02Z","device":[1,3],"xattrs":{{"user.x":"v"}},"pax":{{"comment":"c"}},"format":"ustar","content":"sha256:{zeros}","nested":"gzip"}}"#
            )
        );
        assert_eq!(EntryExtras::default().boxed(), None);
    }

    #[test]
    fn canonical_paths_fold_spellings_but_keep_dotdot() {
        assert_eq!(canonical_path("./etc/"), "etc");
        assert_eq!(canonical_path("/etc//passwd"), "etc/passwd");
        assert_eq!(canonical_path("./"), "");
        assert_eq!(canonical_path("../x"), "../x");
        for name in [
            "",
            ".",
            "./",
            "a/.",
            "a/./b",
            "a//b",
            "/a",
            "a/",
            "etc/passwd",
            "a/..",
            ".a/b.",
        ] {
            let slow: Vec<&str> = name
                .split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .collect();
            assert_eq!(canonical_path(name), slow.join("/"), "{name:?}");
        }
    }

    #[test]
    fn pax_times_keep_nanoseconds_and_handle_negative_values() {
        assert_eq!(
            Timestamp::parse_pax("1700000000.123456789"),
            Some(Timestamp {
                secs: 1700000000,
                nanos: 123456789
            })
        );
        assert_eq!(
            Timestamp::parse_pax("12.5"),
            Some(Timestamp {
                secs: 12,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            Timestamp::parse_pax("-1.25"),
            Some(Timestamp {
                secs: -2,
                nanos: 750_000_000
            })
        );
        assert_eq!(Timestamp::parse_pax("x"), None);
    }

    #[test]
    fn go_time_strings_match_diffoci() {
        assert_eq!(
            Timestamp::from_secs(1691446152).go_string(),
            "2023-08-07 22:09:12 +0000 UTC"
        );
        assert_eq!(
            Timestamp {
                secs: 1691446152,
                nanos: 500_000_000
            }
            .go_string(),
            "2023-08-07 22:09:12.5 +0000 UTC"
        );
    }

    #[test]
    fn an_entry_keeps_every_field_it_was_made_from_in_one_thin_allocation() {
        let plain = EntryFields::test_file("etc/a");
        let mut full = EntryFields::test_file("usr/lib/x");
        full.kind = EntryKind::Symlink;
        full.link = Some("../../lib/y".into());
        full.size = 7;
        full.mtime = Timestamp { secs: -3, nanos: 5 };
        full.content = Some(crate::oci::Digest::sha256_of(b"x"));
        full.nested = Some(NestedFormat::Zip);
        full.extras_mut().xattrs.insert("user.a".into(), "1".into());
        let mut cases = vec![plain, full];
        for (format, (name, link)) in [
            TarFormat::V7,
            TarFormat::Ustar,
            TarFormat::Gnu,
            TarFormat::Pax,
        ]
        .into_iter()
        .zip([
            ("", Some("")),
            ("é/ü", Some("→x")),
            ("a", Some("")),
            ("\\x00", None),
        ]) {
            let mut fields = EntryFields::test_file(name);
            fields.format = format;
            fields.link = link.map(Into::into);
            fields.kind = EntryKind::Other(b'x');
            cases.push(fields);
        }
        for fields in cases {
            let entry = EntryMeta::from(fields.clone());
            assert_eq!(entry.to_fields(), fields);
            assert_eq!(entry.name(), &*fields.name);
            assert_eq!(entry.link(), fields.link.as_deref());
        }
        assert_eq!(
            std::mem::size_of::<EntryMeta>(),
            8,
            "held by lists and differences"
        );
        assert!(std::mem::size_of::<Fixed>() <= 80, "two million of them");
    }

    #[test]
    fn whiteouts_are_recognised_by_name() {
        let mut e = EntryFields::test_file("./usr/share/doc/.wh..wh..opq");
        assert_eq!(
            EntryMeta::from(e.clone()).whiteout(),
            Some(Whiteout::Opaque {
                dir: "usr/share/doc".into()
            })
        );
        e.name = "etc/.wh.issue.net".into();
        assert_eq!(
            EntryMeta::from(e.clone()).whiteout(),
            Some(Whiteout::Removes {
                path: "etc/issue.net".into()
            })
        );
        e.name = ".wh.top".into();
        assert_eq!(
            EntryMeta::from(e.clone()).whiteout(),
            Some(Whiteout::Removes { path: "top".into() })
        );
        e.name = "etc/what.wh.not".into();
        assert_eq!(EntryMeta::from(e.clone()).whiteout(), None);
    }
}

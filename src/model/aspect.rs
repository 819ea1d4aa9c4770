use enumset::{EnumSet, EnumSetType};
use serde::{Deserialize, Serialize};

/// One way in which two things can differ. Every [`Delta`](super::Delta) carries exactly one; ignore
/// options are sets of aspects.
#[derive(Debug, EnumSetType, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
#[enumset(serialize_repr = "list")]
pub enum Aspect {
    /// Present in one input only (a file, a platform, a field, a layer).
    Presence,
    /// File content (sha256 of the data) and size.
    Content,
    /// Entry type: file, directory, symlink, device...
    Kind,
    /// Permission bits, including setuid, setgid and sticky.
    Mode,
    /// The redundant file-type bits some writers put in the tar mode field (0o100000, 0o40000...).
    ModeTypeBits,
    /// uid, gid, uname, gname.
    Owner,
    /// mtime, atime, ctime of tar entries, including PAX sub-second times.
    FileTime,
    /// Position of an entry in its layer.
    Order,
    /// `./a`, `/a` and `a` spell the same path.
    NameSpelling,
    /// USTAR, PAX or GNU headers.
    TarFormat,
    /// Symlink or hardlink target.
    LinkTarget,
    /// Extended attributes.
    Xattr,
    /// PAX records not covered by another aspect.
    PaxRecord,
    /// Device major/minor numbers.
    Device,
    /// Image creation time, history timestamps and the `org.opencontainers.image.created` annotation.
    ImageTime,
    /// Config history entries (other than their timestamps).
    History,
    /// `io.containerd.image.name` and `org.opencontainers.image.ref.name` annotations.
    ImageName,
    /// Media types and compression: OCI vs Docker types, gzip vs zstd vs plain.
    MediaType,
    /// Other annotations.
    Annotation,
    /// Other config fields (env, cmd, labels, user, healthcheck...).
    Config,
    /// Platform fields.
    Platform,
    /// Other structural fields (schema version, layer count, artifact type, subject, urls).
    Structure,
    /// An installed package (dpkg, apk, rpm, Python, npm) added, removed or of another version.
    Package,
    /// Blob digests and sizes: a consequence of other differences, see [`Aspect::is_derived`].
    Digest,
    /// Number of entries in a layer or of entries with one name: a consequence of presence differences.
    EntryCount,
}

pub type AspectSet = EnumSet<Aspect>;

impl Aspect {
    /// A derived aspect only restates other differences (a blob digest changes because its content did).
    /// It is shown when no filter is active (strict mode, as diffoci) or when something it summarises is
    /// shown; so an image that differs only in ignored aspects compares equal.
    pub fn is_derived(self) -> bool {
        matches!(self, Aspect::Digest | Aspect::EntryCount)
    }

    pub fn name(self) -> &'static str {
        match self {
            Aspect::Presence => "presence",
            Aspect::Content => "content",
            Aspect::Kind => "kind",
            Aspect::Mode => "mode",
            Aspect::ModeTypeBits => "mode-type-bits",
            Aspect::Owner => "owner",
            Aspect::FileTime => "file-time",
            Aspect::Order => "order",
            Aspect::NameSpelling => "name-spelling",
            Aspect::TarFormat => "tar-format",
            Aspect::LinkTarget => "link-target",
            Aspect::Xattr => "xattr",
            Aspect::PaxRecord => "pax-record",
            Aspect::Device => "device",
            Aspect::ImageTime => "image-time",
            Aspect::History => "history",
            Aspect::ImageName => "image-name",
            Aspect::MediaType => "media-type",
            Aspect::Annotation => "annotation",
            Aspect::Config => "config",
            Aspect::Platform => "platform",
            Aspect::Structure => "structure",
            Aspect::Package => "package",
            Aspect::Digest => "digest",
            Aspect::EntryCount => "entry-count",
        }
    }
}

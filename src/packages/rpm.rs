//! rpm (Fedora, RHEL/UBI 9, Amazon Linux 2023...): the sqlite database `rpmdb.sqlite` in
//! `usr/lib/sysimage/rpm` or `var/lib/rpm`, whose `Packages` table holds one header blob per package.
//! A non-empty write-ahead log (`rpmdb.sqlite-wal`) is applied first, as sqlite would. The older
//! Berkeley DB (`Packages`) and ndb (`Packages.db`) formats are named in a note, not read.

use rusqlite::{Connection, MAIN_DB, OpenFlags, OptionalExtension};

use super::inventory::{Builder, Records};
use super::paths::clean_bytes;
use super::wal;
use super::{
    Algorithm, Checksum, DatabaseFiles, Ecosystem, MAX_DATABASE_BYTES, Package, PackageFile,
    PackageKey, Recorded, Wanted,
};
use crate::model::name_from_bytes;

/// Where rpm keeps its database: the newer location first (Fedora 36+ and openSUSE link the old one to it).
pub(super) const DIRS: [&str; 2] = ["usr/lib/sysimage/rpm", "var/lib/rpm"];
const SQLITE: &str = "rpmdb.sqlite";
const SQLITE_WAL: &str = "rpmdb.sqlite-wal";
const BERKELEY_DB: &str = "Packages";
const NDB: &str = "Packages.db";

/// More rows than any real system has: a bound on a hostile table.
const MAX_PACKAGES: usize = 200_000;

pub(super) fn wanted(path: &str) -> Option<Wanted> {
    let (dir, name) = path.rsplit_once('/')?;
    if !DIRS.contains(&dir) {
        return None;
    }
    match name {
        SQLITE | SQLITE_WAL => Some(Wanted::Content {
            limit: MAX_DATABASE_BYTES,
        }),
        BERKELEY_DB | NDB => Some(Wanted::Presence),
        _ => None,
    }
}

pub(super) fn read(files: &DatabaseFiles, out: &mut Builder) {
    let mut read_from: Option<String> = None;
    for dir in DIRS {
        let sqlite = format!("{dir}/{SQLITE}");
        if files.contains(&sqlite) {
            if let Some(first) = &read_from {
                out.note(
                    &sqlite,
                    format!("a second rpm database: {first} is the one read"),
                );
            } else if let Some(bytes) = out.content(files, &sqlite) {
                read_sqlite(&sqlite, bytes, files, out);
                read_from = Some(sqlite);
            }
            continue;
        }
        for (name, format) in [(BERKELEY_DB, "Berkeley DB"), (NDB, "ndb")] {
            let path = format!("{dir}/{name}");
            if files.contains(&path) {
                out.note(
                    &path,
                    format!("rpm database format {format} not read: packages unknown"),
                );
            }
        }
    }
}

/// Why an rpm database or one of its headers could not be read.
#[derive(Debug, thiserror::Error)]
enum RpmError {
    #[error("not an sqlite database")]
    NotSqlite,
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no Packages table")]
    NoPackagesTable,
    #[error("more than {MAX_PACKAGES} packages: the rest not read")]
    TooManyPackages,
}

fn read_sqlite(path: &str, bytes: &[u8], files: &DatabaseFiles, out: &mut Builder) {
    let with_log = with_write_ahead_log(path, bytes, files, out);
    let bytes = with_log.as_deref().unwrap_or(bytes);
    let mut records = Records::new(bytes);
    let mut bad_headers = Vec::new();
    let result = for_each_header(bytes, |blob| match Header::parse(blob) {
        Ok(header) => match header.package(path) {
            Ok((package, identity)) => {
                records.add(package.key.clone(), &record(&header, &identity));
                out.package(package, &identity);
            }
            Err(why) => bad_headers.push(why),
        },
        Err(why) => bad_headers.push(why),
    });
    if let Err(why) = result {
        out.note(path, why.to_string());
    }
    if let Some(first) = bad_headers.first() {
        out.note(
            path,
            format!(
                "{} package header(s) not read (first: {first})",
                bad_headers.len()
            ),
        );
    }
    out.records(path, records);
}

/// The database with its write-ahead log (`rpmdb.sqlite-wal`, when the image has a non-empty one)
/// applied; `None` to read the database as it is.
fn with_write_ahead_log(
    path: &str,
    bytes: &[u8],
    files: &DatabaseFiles,
    out: &mut Builder,
) -> Option<Vec<u8>> {
    let wal = format!("{path}-wal");
    let log = out.content(files, &wal).filter(|log| !log.is_empty())?;
    let page_size = match bytes.get(16..18)? {
        [0, 1] => 65536,
        size => usize::from(u16::from_be_bytes([size[0], size[1]])),
    };
    match wal::apply(bytes, log, page_size) {
        Ok(image) => Some(image),
        Err(why) => {
            out.note(
                &wal,
                format!("not applied ({why}): the last transactions may be missing"),
            );
            None
        }
    }
}

/// Calls `each` with every blob of the `Packages` table, read from an in-memory copy of the database.
fn for_each_header(bytes: &[u8], mut each: impl FnMut(&[u8])) -> Result<(), RpmError> {
    if !bytes.starts_with(b"SQLite format 3\0") || bytes.len() < 100 {
        return Err(RpmError::NotSqlite);
    }
    let mut image = bytes.to_vec();
    // rpm runs the database in WAL mode (header bytes 18 and 19 = 2), which an in-memory database cannot
    // open; as a rollback-journal database the same pages read the same.
    image[18] = 1;
    image[19] = 1;
    let mut db = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.deserialize_read_exact(MAIN_DB, image.as_slice(), image.len(), true)?;
    // A view or a virtual table named Packages could compute rows forever: only a plain table is read.
    let kind: Option<String> = db
        .query_row(
            "SELECT type FROM sqlite_schema WHERE name = 'Packages' AND sql NOT LIKE '%VIRTUAL%'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if kind.as_deref() != Some("table") {
        return Err(RpmError::NoPackagesTable);
    }
    // Nor a generated column, which is computed on every read (hidden: 2 virtual, 3 stored).
    let generated: i64 = db.query_row(
        "SELECT count(*) FROM pragma_table_xinfo('Packages') WHERE hidden != 0",
        [],
        |row| row.get(0),
    )?;
    if generated != 0 {
        return Err(RpmError::NoPackagesTable);
    }
    let mut statement = db.prepare("SELECT blob FROM Packages")?;
    let mut rows = statement.query([])?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        count += 1;
        if count > MAX_PACKAGES {
            return Err(RpmError::TooManyPackages);
        }
        if let Ok(blob) = row.get_ref(0)?.as_blob() {
            each(blob);
        }
    }
    Ok(())
}

/// What a header contributes to the database's records: the package's build identity and the state of
/// its files; install times (INSTALLTIME, INSTALLTID), which differ between any two installs, are left out.
fn record(header: &Header<'_>, identity: &[u8]) -> Vec<u8> {
    let mut record = identity.to_vec();
    if let Ok(Some(states)) = header.bytes(tag::FILESTATES) {
        record.extend_from_slice(b"\0states\0");
        record.extend_from_slice(states);
    }
    record
}

mod tag {
    pub const SIGMD5: u32 = 261;
    pub const SHA1HEADER: u32 = 269;
    pub const SHA256HEADER: u32 = 273;
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const ARCH: u32 = 1022;
    pub const FILESTATES: u32 = 1029;
    pub const FILEMODES: u32 = 1030;
    pub const FILEDIGESTS: u32 = 1035;
    pub const FILELINKTOS: u32 = 1036;
    pub const FILEFLAGS: u32 = 1037;
    pub const SOURCERPM: u32 = 1044;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const FILEDIGESTALGO: u32 = 5011;
}

mod kind {
    pub const CHAR: u32 = 1;
    pub const INT8: u32 = 2;
    pub const INT16: u32 = 3;
    pub const INT32: u32 = 4;
    pub const STRING: u32 = 6;
    pub const BIN: u32 = 7;
    pub const STRING_ARRAY: u32 = 8;
    pub const I18NSTRING: u32 = 9;
}

const FILE_CONFIG: u32 = 1;
const FILE_GHOST: u32 = 1 << 6;
const MODE_TYPE: u16 = 0o170000;
const MODE_DIR: u16 = 0o040000;
const MODE_LINK: u16 = 0o120000;

/// What is wrong with a header blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum HeaderError {
    #[error("header shorter than its counts")]
    Truncated,
    #[error("header claims {0} entries")]
    TooManyEntries(u32),
    #[error("header claims {0} bytes of data")]
    TooMuchData(u32),
    #[error("tag {tag}: type {kind} unexpected")]
    WrongType { tag: u32, kind: u32 },
    #[error("tag {tag}: past the end of the data")]
    OutOfBounds { tag: u32 },
    #[error("no package name")]
    NoName,
    #[error("file lists of different lengths")]
    FileListsDiffer,
}

/// rpm's own limits on a header (`hdrchkTags`, `hdrchkData`).
const MAX_ENTRIES: u32 = 0xffff;
const MAX_DATA: u32 = 0x0fff_ffff;

/// A header blob as the rpm database stores it (no magic): `il` and `dl` (big-endian), `il` 16-byte
/// index entries, then `dl` bytes of data that the entries point into. Every count and offset is checked.
pub(super) struct Header<'a> {
    index: &'a [u8],
    data: &'a [u8],
}

struct Entry {
    kind: u32,
    offset: usize,
    count: usize,
}

impl<'a> Header<'a> {
    pub(super) fn parse(blob: &'a [u8]) -> Result<Header<'a>, HeaderError> {
        let word = |at: usize| -> Result<u32, HeaderError> {
            let bytes = blob.get(at..at + 4).ok_or(HeaderError::Truncated)?;
            Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        };
        let (il, dl) = (word(0)?, word(4)?);
        if il == 0 || il > MAX_ENTRIES {
            return Err(HeaderError::TooManyEntries(il));
        }
        if dl > MAX_DATA {
            return Err(HeaderError::TooMuchData(dl));
        }
        let index_end = 8 + il as usize * 16;
        let index = blob.get(8..index_end).ok_or(HeaderError::Truncated)?;
        let data = blob
            .get(index_end..index_end + dl as usize)
            .ok_or(HeaderError::Truncated)?;
        Ok(Header { index, data })
    }

    fn entry(&self, tag: u32) -> Option<Entry> {
        self.index.chunks_exact(16).find_map(|e| {
            let word = |i: usize| u32::from_be_bytes([e[i], e[i + 1], e[i + 2], e[i + 3]]);
            (word(0) == tag).then(|| Entry {
                kind: word(4),
                offset: word(8) as usize,
                count: word(12) as usize,
            })
        })
    }

    /// The bytes of `size`-byte items of an entry of one of `kinds`.
    fn items(&self, tag: u32, kinds: &[u32], size: usize) -> Result<Option<&'a [u8]>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if !kinds.contains(&entry.kind) {
            return Err(HeaderError::WrongType {
                tag,
                kind: entry.kind,
            });
        }
        let end = entry
            .count
            .checked_mul(size)
            .and_then(|len| entry.offset.checked_add(len))
            .ok_or(HeaderError::OutOfBounds { tag })?;
        self.data
            .get(entry.offset..end)
            .map(Some)
            .ok_or(HeaderError::OutOfBounds { tag })
    }

    fn bytes(&self, tag: u32) -> Result<Option<&'a [u8]>, HeaderError> {
        self.items(tag, &[kind::CHAR, kind::INT8, kind::BIN], 1)
    }

    fn u16s(&self, tag: u32) -> Result<Option<Vec<u16>>, HeaderError> {
        Ok(self.items(tag, &[kind::INT16], 2)?.map(|bytes| {
            bytes
                .chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect()
        }))
    }

    fn u32s(&self, tag: u32) -> Result<Option<Vec<u32>>, HeaderError> {
        Ok(self.items(tag, &[kind::INT32], 4)?.map(|bytes| {
            bytes
                .chunks_exact(4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }))
    }

    /// `count` NUL-terminated strings from the entry's offset; the count is bounded by the data left.
    fn strings(&self, tag: u32) -> Result<Option<Vec<&'a [u8]>>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if ![kind::STRING, kind::STRING_ARRAY, kind::I18NSTRING].contains(&entry.kind) {
            return Err(HeaderError::WrongType {
                tag,
                kind: entry.kind,
            });
        }
        let count = if entry.kind == kind::STRING {
            1
        } else {
            entry.count
        };
        let mut rest = self
            .data
            .get(entry.offset..)
            .ok_or(HeaderError::OutOfBounds { tag })?;
        if count > rest.len() {
            return Err(HeaderError::OutOfBounds { tag });
        }
        let mut strings = Vec::with_capacity(count);
        for _ in 0..count {
            let end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or(HeaderError::OutOfBounds { tag })?;
            strings.push(&rest[..end]);
            rest = &rest[end + 1..];
        }
        Ok(Some(strings))
    }

    fn string(&self, tag: u32) -> Result<Option<String>, HeaderError> {
        Ok(self
            .strings(tag)?
            .and_then(|s| s.first().map(|s| name_from_bytes(s))))
    }

    /// The package and its build identity (the header digest rpm keeps, which covers everything the
    /// package shipped).
    fn package(&self, database: &str) -> Result<(Package, Vec<u8>), HeaderError> {
        let name = self.string(tag::NAME)?.ok_or(HeaderError::NoName)?;
        let version = self.string(tag::VERSION)?.unwrap_or_default();
        let release = self.string(tag::RELEASE)?;
        let epoch = self.u32s(tag::EPOCH)?.and_then(|e| e.first().copied());
        let mut evr = epoch.map_or_else(String::new, |e| format!("{e}:"));
        evr.push_str(&version);
        if let Some(release) = release {
            evr.push('-');
            evr.push_str(&release);
        }
        let identity = match self.string(tag::SHA256HEADER)? {
            Some(digest) => digest.into_bytes(),
            None => match self.string(tag::SHA1HEADER)? {
                Some(digest) => digest.into_bytes(),
                None => self.bytes(tag::SIGMD5)?.unwrap_or_default().to_vec(),
            },
        };
        let package = Package {
            key: PackageKey {
                ecosystem: Ecosystem::Rpm,
                name,
                arch: self.string(tag::ARCH)?,
                location: None,
            },
            version: evr,
            source: self.string(tag::SOURCERPM)?,
            database: database.to_owned(),
            files: self.files()?,
            fingerprint: [0; 32],
        };
        Ok((package, identity))
    }

    fn files(&self) -> Result<Vec<PackageFile>, HeaderError> {
        let Some(basenames) = self.strings(tag::BASENAMES)? else {
            return Ok(Vec::new());
        };
        let n = basenames.len();
        let dirnames = self.strings(tag::DIRNAMES)?.unwrap_or_default();
        let dirindexes = self.u32s(tag::DIRINDEXES)?.unwrap_or_default();
        if dirindexes.len() != n {
            return Err(HeaderError::FileListsDiffer);
        }
        let modes = per_file(self.u16s(tag::FILEMODES)?, n);
        let flags = per_file(self.u32s(tag::FILEFLAGS)?, n);
        let digests = per_file(self.strings(tag::FILEDIGESTS)?, n);
        let links = per_file(self.strings(tag::FILELINKTOS)?, n);
        let states = self.bytes(tag::FILESTATES)?.filter(|s| s.len() == n);
        let algorithm = match self
            .u32s(tag::FILEDIGESTALGO)?
            .and_then(|a| a.first().copied())
        {
            None | Some(1) => Some(Algorithm::Md5),
            Some(2) => Some(Algorithm::Sha1),
            Some(8) => Some(Algorithm::Sha256),
            Some(9) => Some(Algorithm::Sha384),
            Some(10) => Some(Algorithm::Sha512),
            Some(11) => Some(Algorithm::Sha224),
            Some(_) => None,
        };
        let mut files = Vec::with_capacity(n);
        for (i, basename) in basenames.iter().enumerate() {
            // A file another package replaced, or that was not installed, is not this package's.
            if states.is_some_and(|s| s[i] != 0) {
                continue;
            }
            let Some(dir) = dirnames.get(dirindexes[i] as usize) else {
                continue;
            };
            let mut raw = dir.to_vec();
            raw.extend_from_slice(basename);
            let Some(path) = clean_bytes(&raw) else {
                continue;
            };
            let flag = flags.as_ref().map_or(0, |f| f[i]);
            let mode = modes.as_ref().map_or(0, |m| m[i]);
            let record = if flag & FILE_GHOST != 0 {
                Recorded::Nothing
            } else if mode & MODE_TYPE == MODE_DIR {
                Recorded::Directory
            } else if mode & MODE_TYPE == MODE_LINK {
                links
                    .as_ref()
                    .map_or(Recorded::Nothing, |l| Recorded::LinkTarget(l[i].to_vec()))
            } else {
                let digest = digests.as_ref().map(|d| String::from_utf8_lossy(d[i]));
                match (algorithm, digest) {
                    (Some(algorithm), Some(digest)) => Checksum::from_hex(algorithm, &digest)
                        .map_or(Recorded::Nothing, Recorded::Checksum),
                    _ => Recorded::Nothing,
                }
            };
            files.push(PackageFile {
                path,
                record,
                config: flag & FILE_CONFIG != 0,
            });
        }
        Ok(files)
    }
}

/// A per-file array, treated as absent when its length is not the number of files.
fn per_file<T>(values: Option<Vec<T>>, files: usize) -> Option<Vec<T>> {
    values.filter(|v| v.len() == files)
}

/// Whether `path` is rpm's own state.
pub(super) fn is_state_path(path: &str) -> bool {
    DIRS.iter().any(|dir| {
        path.strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Writes a header blob from (tag, type, count, data) entries, aligning integer data.
    pub(crate) fn header_blob(entries: &[(u32, u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, kind, count, bytes) in entries {
            let align = match *kind {
                kind::INT16 => 2,
                kind::INT32 => 4,
                _ => 1,
            };
            while data.len() % align != 0 {
                data.push(0);
            }
            for word in [*tag, *kind, data.len() as u32, *count] {
                index.extend_from_slice(&word.to_be_bytes());
            }
            data.extend_from_slice(bytes);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&data);
        blob
    }

    pub(crate) fn string(tag: u32, s: &str) -> (u32, u32, u32, Vec<u8>) {
        (tag, kind::STRING, 1, format!("{s}\0").into_bytes())
    }

    pub(crate) fn strings(tag: u32, items: &[&str]) -> (u32, u32, u32, Vec<u8>) {
        let bytes = items
            .iter()
            .flat_map(|s| format!("{s}\0").into_bytes())
            .collect();
        (tag, kind::STRING_ARRAY, items.len() as u32, bytes)
    }

    pub(crate) fn int32s(tag: u32, items: &[u32]) -> (u32, u32, u32, Vec<u8>) {
        let bytes = items.iter().flat_map(|v| v.to_be_bytes()).collect();
        (tag, kind::INT32, items.len() as u32, bytes)
    }

    fn int16s(tag: u32, items: &[u16]) -> (u32, u32, u32, Vec<u8>) {
        let bytes = items.iter().flat_map(|v| v.to_be_bytes()).collect();
        (tag, kind::INT16, items.len() as u32, bytes)
    }

    /// A header with only a name, a version and release 1, for x86_64.
    pub(crate) fn bare_header(name: &str, version: &str) -> Vec<u8> {
        header_blob(&[
            string(tag::NAME, name),
            string(tag::VERSION, version),
            string(tag::RELEASE, "1"),
            string(tag::ARCH, "x86_64"),
        ])
    }

    pub(crate) fn hello_header(version: &str, content_sha256: &str) -> Vec<u8> {
        header_blob(&[
            string(tag::NAME, "hello"),
            string(tag::VERSION, version),
            string(tag::RELEASE, "1.fc40"),
            int32s(tag::EPOCH, &[2]),
            string(tag::ARCH, "x86_64"),
            (tag::FILESTATES, kind::CHAR, 5, vec![0, 0, 0, 0, 1]),
            int16s(
                tag::FILEMODES,
                &[0o100644, 0o040755, 0o120777, 0o100644, 0o100644],
            ),
            strings(
                tag::FILEDIGESTS,
                &[content_sha256, "", "", content_sha256, content_sha256],
            ),
            strings(tag::FILELINKTOS, &["", "", "greeting", "", ""]),
            int32s(tag::FILEFLAGS, &[0, 0, 0, FILE_CONFIG, 0]),
            string(tag::SOURCERPM, "hello-1-1.src.rpm"),
            int32s(tag::DIRINDEXES, &[1, 0, 1, 2, 1]),
            strings(
                tag::BASENAMES,
                &["greeting", "hello", "link", "hello.conf", "replaced"],
            ),
            strings(
                tag::DIRNAMES,
                &["/usr/share/", "/usr/share/hello/", "/etc/"],
            ),
            int32s(tag::FILEDIGESTALGO, &[8]),
        ])
    }

    /// An rpm-shaped sqlite database holding `blobs`, as bytes, marked WAL like rpm's.
    pub(crate) fn sqlite_database(schema: &str, blobs: &[Vec<u8>]) -> Vec<u8> {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(schema).unwrap();
        for blob in blobs {
            db.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
                .unwrap();
        }
        let mut bytes = db.serialize(MAIN_DB).unwrap().to_vec();
        bytes[18] = 2;
        bytes[19] = 2;
        bytes
    }

    pub(crate) const RPM_SCHEMA: &str =
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);";

    fn read_database(bytes: Vec<u8>) -> crate::packages::Inventory {
        let mut files = DatabaseFiles::new();
        files.insert_content("var/lib/rpm/rpmdb.sqlite", bytes);
        crate::packages::read_inventory(&files)
    }

    fn notes(inventory: &crate::packages::Inventory) -> Vec<String> {
        inventory.notes().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn an_sqlite_database_in_wal_mode_is_read_from_memory() {
        let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let kernel = |v: &str| bare_header("kernel", v);
        let bytes = sqlite_database(
            RPM_SCHEMA,
            &[hello_header("1.0", sha), kernel("6.1"), kernel("6.2")],
        );
        let inventory = read_database(bytes);
        let packages: Vec<_> = inventory
            .packages()
            .iter()
            .map(|p| (p.name(), p.version.as_str()))
            .collect();
        assert_eq!(
            packages,
            [
                ("hello", "2:1.0-1.fc40"),
                ("kernel", "6.1-1"),
                ("kernel", "6.2-1")
            ]
        );
        assert!(inventory.notes().is_empty(), "{:?}", inventory.notes());
        assert_eq!(
            inventory.owners("usr/share/hello/greeting")[0]
                .package
                .name(),
            "hello"
        );

        // Fedora's location first; a leftover copy at the old one is named, not read twice.
        let mut files = DatabaseFiles::new();
        let one = sqlite_database(RPM_SCHEMA, &[kernel("6.1")]);
        files.insert_content("usr/lib/sysimage/rpm/rpmdb.sqlite", one.clone());
        files.insert_content("var/lib/rpm/rpmdb.sqlite", one);
        let inventory = crate::packages::read_inventory(&files);
        assert_eq!(inventory.packages().len(), 1);
        assert_eq!(
            notes(&inventory),
            [
                "var/lib/rpm/rpmdb.sqlite: a second rpm database: usr/lib/sysimage/rpm/rpmdb.sqlite is the one read"
            ]
        );
    }

    #[test]
    fn damaged_or_hostile_databases_are_notes() {
        let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let hostile = vec![
            vec![0xff; 8],
            header_blob(&[(tag::NAME, kind::STRING_ARRAY, u32::MAX, b"x\0".to_vec())]),
            Vec::new(),
        ];
        let mut blobs = hostile.clone();
        blobs.push(hello_header("1.0", sha));
        let inventory = read_database(sqlite_database(RPM_SCHEMA, &blobs));
        assert_eq!(
            inventory.packages().len(),
            1,
            "the good header is still read"
        );
        assert_eq!(
            notes(&inventory),
            [
                "var/lib/rpm/rpmdb.sqlite: 3 package header(s) not read (first: header claims 4294967295 entries)"
            ]
        );

        let good = sqlite_database(RPM_SCHEMA, &[hello_header("1.0", sha)]);
        let mut garbage = good.clone();
        for byte in &mut garbage[100..] {
            *byte = 0xa5;
        }
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not a database at all".to_vec(), "not an sqlite database"),
            (good[..200].to_vec(), "sqlite: "),
            (garbage, "sqlite: "),
            (
                sqlite_database(
                    "CREATE TABLE t (blob BLOB); CREATE VIEW Packages AS WITH RECURSIVE n(blob) AS \
                     (SELECT x'00' UNION ALL SELECT blob FROM n) SELECT blob FROM n;",
                    &[],
                ),
                "no Packages table",
            ),
            (
                sqlite_database(
                    "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, raw BLOB, \
                     blob BLOB AS (zeroblob(100)) STORED);",
                    &[],
                ),
                "no Packages table",
            ),
        ];
        for (bytes, expected) in cases {
            let inventory = read_database(bytes);
            assert!(inventory.packages().is_empty());
            let notes = notes(&inventory);
            assert!(
                notes.len() == 1
                    && notes[0].starts_with(&format!("var/lib/rpm/rpmdb.sqlite: {expected}")),
                "{expected}: {notes:?}"
            );
        }
    }

    #[test]
    fn other_database_formats_and_a_pending_log_are_named() {
        let mut files = DatabaseFiles::new();
        files.insert("var/lib/rpm/Packages", Vec::new(), 50 << 20);
        files.insert("usr/lib/sysimage/rpm/Packages.db", Vec::new(), 1 << 20);
        let inventory = crate::packages::read_inventory(&files);
        assert_eq!(
            notes(&inventory),
            [
                "usr/lib/sysimage/rpm/Packages.db: rpm database format ndb not read: packages unknown",
                "var/lib/rpm/Packages: rpm database format Berkeley DB not read: packages unknown",
            ]
        );
        assert_eq!(wanted("var/lib/rpm/Packages"), Some(Wanted::Presence));
        assert_eq!(
            wanted("usr/lib/sysimage/rpm/rpmdb.sqlite"),
            Some(Wanted::Content {
                limit: MAX_DATABASE_BYTES
            })
        );
        assert_eq!(wanted("var/lib/rpm/rpmdb.sqlite-shm"), None);

        let mut files = DatabaseFiles::new();
        files.insert_content("var/lib/rpm/rpmdb.sqlite", sqlite_database(RPM_SCHEMA, &[]));
        files.insert_content("var/lib/rpm/rpmdb.sqlite-wal", vec![0; 4096]);
        assert_eq!(
            notes(&crate::packages::read_inventory(&files)),
            [
                "var/lib/rpm/rpmdb.sqlite-wal: not applied (not a write-ahead log): the last transactions may be missing"
            ]
        );
    }

    #[test]
    fn a_header_gives_the_package_its_files_and_their_records() {
        let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let blob = hello_header("1.0", sha);
        let header = Header::parse(&blob).unwrap();
        let (package, _) = header.package("db").unwrap();
        assert_eq!(package.key.name, "hello");
        assert_eq!(package.version, "2:1.0-1.fc40");
        assert_eq!(package.key.arch.as_deref(), Some("x86_64"));
        assert_eq!(package.source.as_deref(), Some("hello-1-1.src.rpm"));
        let files: Vec<_> = package
            .files
            .iter()
            .map(|f| (f.path.as_str(), &f.record, f.config))
            .collect();
        let checksum = Recorded::Checksum(Checksum::from_hex(Algorithm::Sha256, sha).unwrap());
        assert_eq!(
            files,
            [
                ("usr/share/hello/greeting", &checksum, false),
                ("usr/share/hello", &Recorded::Directory, false),
                (
                    "usr/share/hello/link",
                    &Recorded::LinkTarget(b"greeting".to_vec()),
                    false
                ),
                ("etc/hello.conf", &checksum, true),
            ],
            "the file whose state says replaced is not the package's"
        );
    }

    #[test]
    fn hostile_headers_are_errors_not_panics() {
        let good = hello_header("1.0", "ab");
        // counts beyond the blob, huge counts, offsets past the end, on every prefix of a real header
        for len in 0..good.len() {
            let _ = Header::parse(&good[..len]).and_then(|h| h.package("db"));
        }
        let huge = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1];
        assert_eq!(
            Header::parse(&huge).err(),
            Some(HeaderError::TooManyEntries(u32::MAX))
        );
        let lying = header_blob(&[(
            tag::BASENAMES,
            kind::STRING_ARRAY,
            u32::MAX,
            b"a\0".to_vec(),
        )]);
        assert_eq!(
            Header::parse(&lying).unwrap().files().err(),
            Some(HeaderError::OutOfBounds {
                tag: tag::BASENAMES
            })
        );
        let far = {
            let mut blob = header_blob(&[string(tag::NAME, "x")]);
            blob[16..20].copy_from_slice(&0x7fff_fff0u32.to_be_bytes()); // the entry's offset
            blob
        };
        assert_eq!(
            Header::parse(&far).unwrap().package("db").err(),
            Some(HeaderError::OutOfBounds { tag: tag::NAME })
        );
        let ints = header_blob(&[(tag::DIRINDEXES, kind::INT32, u32::MAX, vec![0; 8])]);
        assert!(Header::parse(&ints).unwrap().u32s(tag::DIRINDEXES).is_err());
        let unterminated = header_blob(&[(tag::NAME, kind::STRING, 1, b"abc".to_vec())]);
        assert!(Header::parse(&unterminated).unwrap().package("db").is_err());
        let wrong_type = header_blob(&[(tag::NAME, kind::INT32, 1, vec![0; 4])]);
        assert!(matches!(
            Header::parse(&wrong_type).unwrap().package("db"),
            Err(HeaderError::WrongType { .. })
        ));
        let bad_index = header_blob(&[
            string(tag::NAME, "x"),
            int32s(tag::DIRINDEXES, &[7]),
            strings(tag::BASENAMES, &["f"]),
            strings(tag::DIRNAMES, &["/"]),
        ]);
        let (package, _) = Header::parse(&bad_index).unwrap().package("db").unwrap();
        assert!(package.files.is_empty(), "a dir index past DIRNAMES");
    }
}

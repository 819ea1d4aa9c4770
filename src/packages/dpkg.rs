//! dpkg (Debian, Ubuntu, distroless): `var/lib/dpkg/status` (or distroless `status.d/`), the file lists
//! `info/<name>[:arch].list` and their MD5s in `info/*.md5sums`, conffiles' MD5s in the status.

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap;

use super::inventory::{Builder, Records};
use super::paths::{clean, clean_bytes};
use super::stanza::{self, Stanza};
use super::{
    Algorithm, Checksum, DatabaseFiles, Ecosystem, MAX_DATABASE_BYTES, MAX_PACKAGE_FILE_BYTES,
    Package, PackageFile, PackageKey, Recorded, Wanted,
};

pub(super) const DIR: &str = "var/lib/dpkg";
pub(super) const STATUS: &str = "var/lib/dpkg/status";
pub(super) const STATUS_OLD: &str = "var/lib/dpkg/status-old";
/// The packages apt last told dpkg about (`dpkg --update-avail`): records like the status file's, so a
/// difference in it is explained when only changed packages' paragraphs differ.
const AVAILABLE: &str = "var/lib/dpkg/available";
const STATUS_D: &str = "var/lib/dpkg/status.d";
const INFO: &str = "var/lib/dpkg/info";

/// Package states whose files are on disk (dpkg(1)): from `unpacked` up.
const STATES_WITH_FILES: [&str; 5] = [
    "installed",
    "unpacked",
    "half-configured",
    "triggers-awaited",
    "triggers-pending",
];

pub(super) fn wanted(path: &str) -> Option<Wanted> {
    let rest = path.strip_prefix("var/lib/dpkg/")?;
    if matches!(rest, "status" | "status-old" | "available") {
        return Some(Wanted::Content {
            limit: MAX_DATABASE_BYTES,
        });
    }
    let per_package = match rest.split_once('/') {
        Some(("status.d", name)) => !name.contains('/'),
        Some(("info", name)) => {
            !name.contains('/') && (name.ends_with(".list") || name.ends_with(".md5sums"))
        }
        _ => false,
    };
    per_package.then_some(Wanted::Content {
        limit: MAX_PACKAGE_FILE_BYTES,
    })
}

pub(super) fn read(files: &DatabaseFiles, out: &mut Builder) {
    if let Some(text) = out.content(files, STATUS) {
        for stanza in status_records(STATUS, text, out) {
            let Some(header) = Header::of(&stanza) else {
                continue;
            };
            if header.has_files() {
                let mut list = FileList::default();
                list.add_info_files(files, &header, out);
                list.add_conffiles(&stanza);
                add_package(header, list, STATUS, out);
            }
        }
    }
    for path in [STATUS_OLD, AVAILABLE] {
        if let Some(text) = out.content(files, path) {
            status_records(path, text, out);
        }
    }
    read_status_d(files, out);
}

/// Distroless: `status.d/<name>` is one package's control stanza, `status.d/<name>.md5sums` its files.
fn read_status_d(files: &DatabaseFiles, out: &mut Builder) {
    for path in files.children(STATUS_D) {
        if path.ends_with(".md5sums") {
            continue;
        }
        let Some(text) = out.content(files, path) else {
            continue;
        };
        let md5sums = format!("{path}.md5sums");
        for stanza in status_records(path, text, out) {
            let Some(header) = Header::of(&stanza) else {
                continue;
            };
            if header.has_files() {
                let mut list = FileList::default();
                if let Some(text) = out.content(files, &md5sums) {
                    list.add_md5sums(text);
                }
                add_package(header, list, path, out);
            }
        }
    }
}

/// Parses a status file, keeps one record per package, and returns its stanzas.
fn status_records<'a>(path: &str, text: &'a [u8], out: &mut Builder) -> Vec<Stanza<'a>> {
    let stanzas = stanza::parse(text);
    let mut records = Records::new(text);
    for stanza in &stanzas {
        match Header::of(stanza) {
            Some(header) => records.add(header.key(), stanza.text),
            None => out.note(path, "a paragraph without a Package field: ignored"),
        }
    }
    out.records(path, records);
    stanzas
}

/// The fields of a stanza that identify the package.
struct Header {
    name: String,
    arch: Option<String>,
    version: String,
    source: Option<String>,
    /// The third word of `Status:`; absent in distroless stanzas, which are all installed.
    state: Option<String>,
}

impl Header {
    fn of(stanza: &Stanza<'_>) -> Option<Header> {
        Some(Header {
            name: stanza.get("Package")?,
            arch: stanza.get("Architecture"),
            version: stanza.get("Version").unwrap_or_default(),
            source: stanza.get("Source"),
            state: stanza
                .get("Status")
                .map(|s| s.split_whitespace().nth(2).unwrap_or_default().to_owned()),
        })
    }

    fn key(&self) -> PackageKey {
        PackageKey {
            ecosystem: Ecosystem::Dpkg,
            name: self.name.clone(),
            arch: self.arch.clone(),
            location: None,
        }
    }

    fn has_files(&self) -> bool {
        self.state
            .as_deref()
            .is_none_or(|state| STATES_WITH_FILES.contains(&state))
    }

    /// The names its info files may have: `name:arch` (Multi-Arch: same, multiarch database) or `name`.
    fn info_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(2);
        if let Some(arch) = &self.arch {
            names.push(format!("{}:{arch}", self.name));
        }
        names.push(self.name.clone());
        names
    }
}

fn add_package(header: Header, list: FileList, database: &str, out: &mut Builder) {
    let key = header.key();
    let package = Package {
        key,
        version: header.version,
        source: header.source,
        database: database.to_owned(),
        files: list.files,
        fingerprint: [0; 32],
    };
    out.package(package, b"");
}

/// A package's files, merged from its `.list`, `.md5sums` and `Conffiles:`.
#[derive(Default)]
struct FileList {
    files: Vec<PackageFile>,
    by_path: FxHashMap<String, usize>,
}

impl FileList {
    fn entry(&mut self, path: String) -> &mut PackageFile {
        let index = match self.by_path.entry(path) {
            Entry::Occupied(known) => *known.get(),
            Entry::Vacant(new) => {
                self.files.push(PackageFile {
                    path: new.key().clone(),
                    record: Recorded::Nothing,
                    config: false,
                });
                *new.insert(self.files.len() - 1)
            }
        };
        &mut self.files[index]
    }

    fn add_info_files(&mut self, files: &DatabaseFiles, header: &Header, out: &mut Builder) {
        let find = |ext: &str| {
            header
                .info_names()
                .into_iter()
                .map(|name| format!("{INFO}/{name}.{ext}"))
                .find(|path| files.contains(path))
        };
        match find("list") {
            Some(path) => {
                if let Some(text) = out.content(files, &path) {
                    self.add_list(text);
                }
            }
            None => out.note(STATUS, format!("{}: no file list in {INFO}", header.name)),
        }
        if let Some(path) = find("md5sums")
            && let Some(text) = out.content(files, &path)
        {
            self.add_md5sums(text);
        }
    }

    /// `.list`: one absolute path per line, directories included.
    fn add_list(&mut self, text: &[u8]) {
        for line in text.split(|&b| b == b'\n') {
            if let Some(path) = clean_bytes(line) {
                self.entry(path);
            }
        }
    }

    /// `.md5sums`: `<md5 hex><two spaces><path>` (md5sum's format: the second character may be `*`).
    fn add_md5sums(&mut self, text: &[u8]) {
        for line in text.split(|&b| b == b'\n') {
            let Some((checksum, path)) = md5sum_line(line) else {
                continue;
            };
            self.entry(path).record = Recorded::Checksum(checksum);
        }
    }

    /// `Conffiles:` lines.
    fn add_conffiles(&mut self, stanza: &Stanza<'_>) {
        for line in stanza.lines("Conffiles") {
            let Some((path, checksum)) = conffile_line(&line) else {
                continue;
            };
            let file = self.entry(path);
            file.config = true;
            if let Some(checksum) = checksum {
                file.record = Recorded::Checksum(checksum);
            }
        }
    }
}

/// `<absolute path> <md5 hex> [obsolete] [remove-on-upgrade]`; the path may hold spaces. A hash that is
/// not an MD5 (`newconffile`: not configured yet) gives no checksum.
fn conffile_line(line: &str) -> Option<(String, Option<Checksum>)> {
    let mut rest = line.trim_end();
    loop {
        let before = rest;
        for flag in [" obsolete", " remove-on-upgrade"] {
            rest = rest.strip_suffix(flag).unwrap_or(rest);
        }
        if rest == before {
            break;
        }
    }
    let (path, hash) = rest.rsplit_once(' ')?;
    Some((clean(path)?, Checksum::from_hex(Algorithm::Md5, hash)))
}

fn md5sum_line(line: &[u8]) -> Option<(Checksum, String)> {
    let hash = std::str::from_utf8(line.get(..32)?).ok()?;
    let rest = line.get(32..)?.strip_prefix(b" ")?;
    let rest = rest
        .strip_prefix(b" ")
        .or_else(|| rest.strip_prefix(b"*"))
        .unwrap_or(rest);
    let path = clean_bytes(rest)?;
    Some((Checksum::from_hex(Algorithm::Md5, hash)?, path))
}

/// The package a file in `info/` belongs to: `info/<name>[:<arch>].<ext>` → (name, arch).
pub(super) fn info_file_package(path: &str) -> Option<(&str, Option<&str>)> {
    let name = path.strip_prefix(INFO)?.strip_prefix('/')?;
    if name.contains('/') {
        return None;
    }
    let (stem, _ext) = name.rsplit_once('.')?;
    Some(match stem.split_once(':') {
        Some((name, arch)) => (name, Some(arch)),
        None => (stem, None),
    })
}

/// Whether `path` is dpkg's own state (under `var/lib/dpkg`).
pub(super) fn is_state_path(path: &str) -> bool {
    path.strip_prefix(DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::packages::{ContentDigests, read_inventory};
    use md5::{Digest, Md5};

    fn md5(content: &[u8]) -> String {
        hex::encode(Md5::digest(content))
    }

    pub(crate) fn image() -> DatabaseFiles {
        let mut files = DatabaseFiles::new();
        let status = format!(
            "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\n\
             Source: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\n\n\
             Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4\n\
             Conffiles:\n /etc/issue {}\n /etc/issue.net newconffile\n /etc/old conf {} obsolete remove-on-upgrade\n\
             Description: x\n multi\n .\n line\n\n\
             Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n\n\
             Package: gone\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1\n\n\
             Package: nolist\nStatus: install ok unpacked\nArchitecture: all\nVersion: 1\n",
            md5(b"Debian 12\n"),
            md5(b"old"),
        );
        files.insert_content(STATUS, status.into_bytes());
        files.insert_content(
            "var/lib/dpkg/info/libc6:amd64.list",
            b"/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n".to_vec(),
        );
        files.insert_content(
            "var/lib/dpkg/info/libc6:amd64.md5sums",
            format!("{}  lib/x86_64-linux-gnu/libc.so.6\n", md5(b"libc")).into_bytes(),
        );
        files.insert_content(
            "var/lib/dpkg/info/base-files.list",
            b"/.\n/etc\n/etc/issue\n/etc/issue.net\n/usr/share/base-files/motd\n".to_vec(),
        );
        files.insert_content(
            "var/lib/dpkg/info/base-files.md5sums",
            format!(
                "{}  usr/share/base-files/motd\nshort  line\n{} */usr/share/star\n",
                md5(b"motd"),
                md5(b"star")
            )
            .into_bytes(),
        );
        files.insert_content(
            "var/lib/dpkg/info/bash.list",
            b"/bin\n/bin/bash\n/usr/bin/rbash\n".to_vec(),
        );
        files.insert_content(
            "var/lib/dpkg/info/bash.md5sums",
            format!("{}  bin/bash\n", md5(b"bash")).into_bytes(),
        );
        files.insert_symlink("bin", "usr/bin");
        files.insert_symlink("lib", "usr/lib");
        files
    }

    fn md5_check(inventory: &super::super::Inventory, path: &str, content: &[u8]) -> Option<bool> {
        let owners = inventory.owners(path);
        let Recorded::Checksum(checksum) = owners.first()?.record() else {
            return None;
        };
        checksum.check(&ContentDigests::of(content, inventory.algorithms_for(path)))
    }

    #[test]
    fn status_lists_md5sums_multi_arch_and_usr_merge() {
        let inventory = read_inventory(&image());
        let packages: Vec<_> = inventory
            .packages()
            .iter()
            .map(|p| (p.name(), p.version.as_str(), p.key.arch.as_deref()))
            .collect();
        assert_eq!(
            packages,
            [
                ("libc6", "2.36-9+deb12u4", Some("amd64")),
                ("base-files", "12.4", Some("amd64")),
                ("bash", "5.2.15-2+b2", Some("amd64")),
                ("nolist", "1", Some("all")),
            ],
            "config-files only is not installed; unpacked is"
        );
        assert_eq!(
            inventory.packages()[0].source.as_deref(),
            Some("glibc (2.36-9)")
        );
        assert_eq!(
            inventory.algorithms_for("usr/lib/x86_64-linux-gnu/libc.so.6"),
            Algorithm::Md5
        );
        // the image has usr/lib/..., the list says /lib/...
        assert_eq!(
            md5_check(&inventory, "usr/lib/x86_64-linux-gnu/libc.so.6", b"libc"),
            Some(true)
        );
        assert_eq!(
            md5_check(&inventory, "usr/lib/x86_64-linux-gnu/libc.so.6", b"libc!"),
            Some(false)
        );
        assert_eq!(md5_check(&inventory, "usr/bin/bash", b"bash"), Some(true));
        assert_eq!(
            md5_check(&inventory, "usr/share/star", b"star"),
            Some(true),
            "md5sum -b form"
        );
        assert_eq!(
            inventory.owners("usr/bin/rbash")[0].record(),
            &Recorded::Nothing
        );
        assert_eq!(
            inventory.owners("usr/share/base-files/motd")[0]
                .package
                .name(),
            "base-files"
        );
        assert!(
            inventory
                .owners("bin")
                .iter()
                .any(|o| o.package.name() == "bash")
        );
        assert!(inventory.owners("usr/bin/other").is_empty());
        assert_eq!(
            inventory
                .notes()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["var/lib/dpkg/status: nolist: no file list in var/lib/dpkg/info"]
        );
    }

    #[test]
    fn conffiles_carry_their_md5_and_are_marked() {
        let inventory = read_inventory(&image());
        let issue = inventory.owners("etc/issue");
        assert!(issue[0].file.is_some_and(|f| f.config));
        assert_eq!(
            md5_check(&inventory, "etc/issue", b"Debian 12\n"),
            Some(true)
        );
        let net = inventory.owners("etc/issue.net");
        assert!(net[0].file.is_some_and(|f| f.config));
        assert_eq!(
            net[0].record(),
            &Recorded::Nothing,
            "newconffile: no hash yet"
        );
        assert_eq!(
            md5_check(&inventory, "etc/old conf", b"old"),
            Some(true),
            "flags after the hash"
        );
    }

    #[test]
    fn distroless_status_d_without_status_or_lists() {
        let mut files = DatabaseFiles::new();
        files.insert_content(
            "var/lib/dpkg/status.d/tzdata",
            b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n".to_vec(),
        );
        files.insert_content(
            "var/lib/dpkg/status.d/tzdata.md5sums",
            format!("{}  usr/share/zoneinfo/UTC\n", md5(b"TZif")).into_bytes(),
        );
        files.insert_content(
            "var/lib/dpkg/status.d/libssl3",
            b"Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n".to_vec(),
        );
        let inventory = read_inventory(&files);
        let names: Vec<_> = inventory.packages().iter().map(|p| p.name()).collect();
        assert_eq!(names, ["libssl3", "tzdata"]);
        assert_eq!(
            md5_check(&inventory, "usr/share/zoneinfo/UTC", b"TZif"),
            Some(true)
        );
        assert_eq!(
            inventory.packages()[1].database,
            "var/lib/dpkg/status.d/tzdata"
        );
        assert!(inventory.notes().is_empty(), "{:?}", inventory.notes());
    }

    #[test]
    fn a_file_over_the_limit_is_a_note_not_a_partial_read() {
        let mut files = image();
        files.insert(STATUS, b"Package: cut".to_vec(), 1 << 40);
        let inventory = read_inventory(&files);
        assert!(inventory.packages().is_empty());
        assert_eq!(
            inventory.notes()[0].to_string(),
            "var/lib/dpkg/status: 1099511627776 bytes, over the limit of 12: not read"
        );
    }

    #[test]
    fn which_paths_are_wanted() {
        for path in [
            STATUS,
            STATUS_OLD,
            "var/lib/dpkg/status.d/base",
            "var/lib/dpkg/status.d/base.md5sums",
            "var/lib/dpkg/info/libc6:amd64.list",
            "var/lib/dpkg/info/bash.md5sums",
            "var/lib/dpkg/available",
        ] {
            assert!(wanted(path).is_some(), "{path}");
        }
        for path in [
            "var/lib/dpkg/info/bash.postinst",
            "var/lib/dpkg/info/x/y.list",
            "var/lib/dpkg/available-old",
            "var/lib/dpkg/status.d/a/b",
            "usr/var/lib/dpkg/status",
        ] {
            assert!(wanted(path).is_none(), "{path}");
        }
        assert_eq!(
            info_file_package("var/lib/dpkg/info/libc6:amd64.list"),
            Some(("libc6", Some("amd64")))
        );
        assert_eq!(
            info_file_package("var/lib/dpkg/info/bash.postinst"),
            Some(("bash", None))
        );
        assert_eq!(info_file_package("var/lib/dpkg/info/format"), None);
    }
}

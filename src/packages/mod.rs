//! Package databases inside an image: which packages are installed (dpkg, apk, rpm, Python, npm), which
//! package owns a path and what checksum it recorded for it, how two images' package sets differ, and
//! whether a file that differs is explained by those differences.
//!
//! Bytes in, facts out: the module reads no files and knows nothing of images, terminals or reports.
//! The caller (the engine) works like this:
//!
//! 1. While scanning an image, for every entry ask [`wanted`] (cheap: a few string checks) and keep the
//!    content of the database files it names (up to the limit it gives; a longer file is kept cut and its
//!    real size given, and is then reported as not read), plus the image's top-level symlinks (`bin ->
//!    usr/bin`...), in a [`DatabaseFiles`]. Paths are canonical: no leading `/`, names as
//!    [`crate::model::name_from_bytes`] writes them.
//! 2. [`read_inventory`] turns one image's files into an [`Inventory`]. It never fails: what cannot be
//!    read becomes a [`Note`].
//! 3. [`Comparison::new`] pairs two inventories: [`Comparison::changes`] lists packages added, removed,
//!    upgraded, downgraded, rebuilt (same version, different build), each versions ordered by
//!    [`compare_versions`] under its ecosystem's rules.
//! 4. For a path whose content differs, [`Inventory::algorithms_for`] on each side says which digests the
//!    package records need (dpkg md5, apk sha1 or a truncated sha256, rpm usually sha256, Python sha256);
//!    the engine hashes the content with a [`ContentHasher`] (or, for sha256 alone, which it has anyway,
//!    builds [`ContentDigests::from_sha256`]) and [`Comparison::explain`] gives the verdict: explained by a
//!    package change, matching on one side only, modified after install, configuration changed, differing
//!    although its package did not change, not from a package, or (for the databases themselves) explained
//!    by the package changes.
//!
//! What is verified: a file "matches" only when its content hashes to the checksum its package recorded
//! on that side. Nothing is called equal because of what a database says about itself; a package whose
//! database records no checksum for a path (npm; directories; dpkg symlinks) is reported as unverified.

mod apk;
mod checksum;
mod compare;
mod dpkg;
mod inventory;
mod npm;
mod paths;
mod python;
mod rpm;
mod stanza;
mod version;
mod wal;

use std::collections::BTreeMap;
use std::fmt;

use crate::model::escape_control;

pub use checksum::{Algorithm, Checksum, ContentDigests, ContentHasher};
pub use compare::{
    ChangeKind, Check, Comparison, Content, DatabaseVerdict, FileExplanation, PackageChange,
    PackageRef, SideCheck, Verdict, compare,
};
pub use inventory::{Inventory, Owner, read_inventory};
pub use version::compare_versions;

/// A package manager whose database the module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    Dpkg,
    Apk,
    Rpm,
    Python,
    Npm,
}

impl Ecosystem {
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Dpkg => "dpkg",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Python => "python",
            Ecosystem::Npm => "npm",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What identifies "the same package" in two images. `location` is set where one image can hold the
/// same name several times in different places: Python (the site-packages directory) and npm (the
/// package's own directory, as nested `node_modules` do).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageKey {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub arch: Option<String>,
    pub location: Option<String>,
}

impl fmt::Display for PackageKey {
    /// `name`, `name:arch` (dpkg's spelling, for every ecosystem with an architecture) or `name at
    /// location`; control characters escaped, as in every `Display` of this module (databases are
    /// hostile input).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_control(&self.name))?;
        if let Some(arch) = &self.arch {
            write!(f, ":{}", escape_control(arch))?;
        }
        if let Some(location) = &self.location {
            write!(f, " at {}", escape_control(location))?;
        }
        Ok(())
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub key: PackageKey,
    pub version: String,
    /// dpkg `Source:`, apk `o:` (origin), rpm SOURCERPM.
    pub source: Option<String>,
    /// The database this package was read from.
    pub database: String,
    pub files: Vec<PackageFile>,
    /// A digest of what identifies this build: its files and their recorded checksums, plus the package's
    /// own build identity where the database keeps one (apk's `C:`, rpm's header). Two packages with the
    /// same version and different fingerprints are different builds.
    pub fingerprint: [u8; 32],
}

impl Package {
    pub fn name(&self) -> &str {
        &self.key.name
    }

    pub fn ecosystem(&self) -> Ecosystem {
        self.key.ecosystem
    }
}

/// A path a package owns and what its database recorded for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    pub path: String,
    pub record: Recorded,
    /// A configuration file (dpkg conffile, rpm `%config`): changed by administrators as a matter of course.
    pub config: bool,
}

/// What a database recorded about one owned path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Ownership only (dpkg `.list` entries without an md5sum, npm, egg-info's installed-files.txt).
    Nothing,
    Checksum(Checksum),
    /// A symlink and its target (rpm).
    LinkTarget(Vec<u8>),
    /// A directory (rpm, apk `F:`).
    Directory,
}

/// Something about a database that could not be read, or was read only in part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            escape_control(&self.path),
            escape_control(&self.message)
        )
    }
}

/// What the engine should keep of a database path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The content, up to `limit` bytes (past that, keep nothing more and give the real size).
    Content { limit: u64 },
    /// Only that it exists (a database format that is not read, so its size does not matter).
    Presence,
}

/// The biggest main database (dpkg status, apk installed, rpmdb.sqlite) read: real ones are a few MiB.
pub const MAX_DATABASE_BYTES: u64 = 256 << 20;
/// The biggest per-package file read (dpkg `.list`/`.md5sums`, Python `RECORD`, npm `package.json`).
pub const MAX_PACKAGE_FILE_BYTES: u64 = 32 << 20;

/// Which regular files the engine must hand over, and how much of them. Called for every entry of every
/// layer, so it only looks at the path's ends (no allocation).
pub fn wanted(path: &str) -> Option<Wanted> {
    dpkg::wanted(path)
        .or_else(|| apk::wanted(path))
        .or_else(|| rpm::wanted(path))
        .or_else(|| python::wanted(path))
        .or_else(|| npm::wanted(path))
}

/// Whether [`wanted`] names this path.
pub fn is_database_path(path: &str) -> bool {
    wanted(path).is_some()
}

/// The database files of one image (its merged filesystem view) and its top-level symlinks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseFiles {
    files: BTreeMap<String, DatabaseFile>,
    symlinks: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DatabaseFile {
    content: Vec<u8>,
    size: u64,
}

/// Why a database file's content is not there to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unreadable {
    #[error("{size} bytes, over the limit of {limit}: not read")]
    TooLarge { size: u64, limit: u64 },
}

impl DatabaseFiles {
    pub fn new() -> DatabaseFiles {
        DatabaseFiles::default()
    }

    /// Adds a file: `content` is what was kept (all of it, or the first bytes up to the limit [`wanted`]
    /// gave), `size` the file's real size.
    pub fn insert(&mut self, path: impl Into<String>, content: Vec<u8>, size: u64) {
        self.files
            .insert(path.into(), DatabaseFile { content, size });
    }

    /// Adds a whole file.
    pub fn insert_content(&mut self, path: impl Into<String>, content: Vec<u8>) {
        let size = content.len() as u64;
        self.insert(path, content, size);
    }

    /// Adds a symlink at the top of the image (`bin` -> `usr/bin`); others are ignored.
    pub fn insert_symlink(&mut self, path: impl Into<String>, target: impl Into<String>) {
        let path = path.into();
        if !path.contains('/') {
            self.symlinks.insert(path, target.into());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The whole content of `path`, or why it is not whole.
    pub(crate) fn content(&self, path: &str) -> Option<Result<&[u8], Unreadable>> {
        let file = self.files.get(path)?;
        if (file.content.len() as u64) < file.size {
            let limit = file.content.len() as u64;
            return Some(Err(Unreadable::TooLarge {
                size: file.size,
                limit,
            }));
        }
        Some(Ok(&file.content))
    }

    /// The paths directly under `dir/`.
    pub(crate) fn children(&self, dir: &str) -> Vec<&str> {
        let prefix = format!("{dir}/");
        self.files
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .map(|(path, _)| path.as_str())
            .take_while(|path| path.starts_with(&prefix))
            .filter(|path| !path[prefix.len()..].contains('/'))
            .collect()
    }

    /// Every path.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    pub(crate) fn symlinks(&self) -> &BTreeMap<String, String> {
        &self.symlinks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sides;

    /// Every database kind, valid, in one image.
    fn every_kind() -> DatabaseFiles {
        let mut files = dpkg::tests::image();
        files.insert_content(apk::INSTALLED, apk::tests::installed());
        let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        files.insert_content(
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            rpm::tests::sqlite_database(
                rpm::tests::RPM_SCHEMA,
                &[rpm::tests::hello_header("1.0", sha)],
            ),
        );
        for path in python::tests::site_packages().paths() {
            if let Some(Ok(content)) = python::tests::site_packages().content(path) {
                files.insert_content(path, content.to_vec());
            }
        }
        files.insert_content(
            "app/node_modules/a/package.json",
            br#"{"name":"a","version":"1.0.0"}"#.to_vec(),
        );
        files.insert_content(
            "app/node_modules/.package-lock.json",
            br#"{"packages":{"node_modules/a":{"version":"1.0.0"}}}"#.to_vec(),
        );
        files
    }

    /// A deterministic generator (xorshift64), so a failure can be replayed.
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn mutated_databases_of_every_kind_read_compare_and_explain_without_panicking() {
        let valid = every_kind();
        let inventory = read_inventory(&valid);
        assert_eq!(
            inventory
                .packages()
                .iter()
                .map(|p| p.ecosystem())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            5,
            "every ecosystem is read: {:?}",
            inventory.notes()
        );
        let paths: Vec<String> = valid.paths().map(str::to_owned).collect();
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        for round in 0..400 {
            let mut files = valid.clone();
            let path = &paths[random.below(paths.len())];
            let Some(Ok(content)) = files.content(path) else {
                continue;
            };
            let mut content = content.to_vec();
            match random.below(4) {
                0 => content.truncate(random.below(content.len())),
                1 => {
                    for _ in 0..=random.below(8) {
                        let at = random.below(content.len());
                        if let Some(byte) = content.get_mut(at) {
                            *byte = random.below(256) as u8;
                        }
                    }
                }
                2 => {
                    let at = random.below(content.len());
                    let junk = [b'\n', b':', b'\0', b'/', b'.', b'"', 0xff, b' '];
                    content.insert(at.min(content.len()), junk[random.below(junk.len())]);
                }
                _ => content = content.repeat(2),
            }
            files.insert_content(path.clone(), content);
            let mutated = read_inventory(&files);
            let comparison = Comparison::new(&inventory, &mutated);
            for path in &paths {
                let explanation =
                    comparison.explain(path, Sides::new(Content::Other, Content::Other));
                assert!(!explanation.to_string().is_empty(), "round {round}");
            }
        }
    }
}

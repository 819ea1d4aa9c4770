//! One image's packages, read from its database files, with an index from path to owner.

use std::collections::BTreeMap;
use std::collections::hash_map::Entry;

use enumset::EnumSet;
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use super::paths::{self, Aliases};
use super::{
    Algorithm, DatabaseFiles, Ecosystem, Note, Package, PackageFile, PackageKey, Recorded, apk,
    dpkg, npm, python, rpm,
};

/// Every package of one image, an index from path to owning package, and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    packages: Vec<Package>,
    notes: Vec<Note>,
    records: BTreeMap<String, Records>,
    aliases: Aliases,
    /// Canonical path → (package, file) indexes.
    index: FxHashMap<String, Entries>,
    /// Directories that a package owns with everything below them (npm).
    roots: FxHashMap<String, usize>,
}

/// The (package, file) indexes of the entries that own one path: nearly always one, kept without an
/// allocation of its own.
#[derive(Debug, Clone)]
enum Entries {
    One([(usize, usize); 1]),
    Several(Vec<(usize, usize)>),
}

impl Entries {
    fn push(&mut self, entry: (usize, usize)) {
        match self {
            Entries::One([first]) => *self = Entries::Several(vec![*first, entry]),
            Entries::Several(all) => all.push(entry),
        }
    }

    fn as_slice(&self) -> &[(usize, usize)] {
        match self {
            Entries::One(one) => one,
            Entries::Several(all) => all,
        }
    }
}

/// A database file that holds one record per package (dpkg `status`, apk `installed`, the rpm database,
/// a Python `RECORD`...): a digest of the whole file and one of each package's record, so that two
/// images' copies can be checked to differ only in the records of packages that changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Records {
    pub(super) content: [u8; 32],
    pub(super) packages: BTreeMap<PackageKey, [u8; 32]>,
}

impl Records {
    pub(super) fn new(content: &[u8]) -> Records {
        Records {
            content: Sha256::digest(content).into(),
            packages: BTreeMap::new(),
        }
    }

    /// Adds a package's record; a key seen twice (two versions of one rpm) gets one digest of both.
    pub(super) fn add(&mut self, key: PackageKey, record: &[u8]) {
        let digest = self.packages.entry(key).or_insert([0; 32]);
        let mut hasher = Sha256::new();
        hasher.update(*digest);
        hasher.update(record);
        *digest = hasher.finalize().into();
    }
}

/// Who owns a path: the package, and the file entry through which it does (none when it owns the path
/// by containment, as npm packages own their directory, or as the compiled `__pycache__` twin of a
/// Python package's module).
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub package: &'a Package,
    pub file: Option<&'a PackageFile>,
}

impl Owner<'_> {
    pub fn record(&self) -> &Recorded {
        self.file.map_or(&Recorded::Nothing, |f| &f.record)
    }
}

/// Reads every database found in `files`. Never fails: what cannot be read becomes a note.
pub fn read_inventory(files: &DatabaseFiles) -> Inventory {
    let mut builder = Builder::default();
    dpkg::read(files, &mut builder);
    apk::read(files, &mut builder);
    rpm::read(files, &mut builder);
    python::read(files, &mut builder);
    npm::read(files, &mut builder);
    builder.finish(Aliases::new(files.symlinks()))
}

/// What the ecosystem readers add to.
#[derive(Default)]
pub(super) struct Builder {
    packages: Vec<Package>,
    notes: Vec<Note>,
    records: BTreeMap<String, Records>,
    roots: Vec<(String, usize)>,
}

impl Builder {
    pub(super) fn note(&mut self, path: &str, message: impl Into<String>) {
        self.notes.push(Note {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// Adds a package; `identity` is what the database keeps of its build besides its files (may be empty).
    pub(super) fn package(&mut self, mut package: Package, identity: &[u8]) -> usize {
        package.fingerprint = fingerprint(&package.files, identity);
        self.packages.push(package);
        self.packages.len() - 1
    }

    /// The whole content of database file `path`, or `None` with a note saying why it cannot be read.
    pub(super) fn content<'a>(&mut self, files: &'a DatabaseFiles, path: &str) -> Option<&'a [u8]> {
        match files.content(path)? {
            Ok(text) => Some(text),
            Err(why) => {
                self.note(path, why.to_string());
                None
            }
        }
    }

    pub(super) fn records(&mut self, path: &str, records: Records) {
        self.records.insert(path.to_owned(), records);
    }

    /// Makes the package at `index` the owner of `dir` and everything below it.
    pub(super) fn root(&mut self, dir: String, index: usize) {
        self.roots.push((dir, index));
    }

    fn finish(self, aliases: Aliases) -> Inventory {
        let files = self.packages.iter().map(|p| p.files.len()).sum();
        let mut index: FxHashMap<String, Entries> =
            FxHashMap::with_capacity_and_hasher(files, Default::default());
        for (p, package) in self.packages.iter().enumerate() {
            for (f, file) in package.files.iter().enumerate() {
                match index.entry(aliases.resolve(&file.path).into_owned()) {
                    Entry::Occupied(mut known) => known.get_mut().push((p, f)),
                    Entry::Vacant(new) => {
                        new.insert(Entries::One([(p, f)]));
                    }
                }
            }
        }
        let roots = self
            .roots
            .into_iter()
            .map(|(dir, p)| (aliases.resolve(&dir).into_owned(), p))
            .collect();
        Inventory {
            packages: self.packages,
            notes: self.notes,
            records: self.records,
            aliases,
            index,
            roots,
        }
    }
}

/// A digest of a package's files (in path order), their records, and `identity`.
fn fingerprint(files: &[PackageFile], identity: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(identity);
    let mut sorted: Vec<&PackageFile> = files.iter().collect();
    sorted.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    for file in sorted {
        field(file.path.as_bytes());
        field(&[u8::from(file.config)]);
        match &file.record {
            Recorded::Nothing => field(b"-"),
            Recorded::Directory => field(b"d"),
            Recorded::LinkTarget(target) => {
                field(b"l");
                field(target);
            }
            Recorded::Checksum(checksum) => {
                field(checksum.algorithm().name().as_bytes());
                field(checksum.digest());
            }
        }
    }
    hasher.finalize().into()
}

impl Inventory {
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// What could not be read (a database format that is not supported, a damaged file, a file too big).
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.notes.is_empty()
    }

    /// The packages of one ecosystem.
    pub fn packages_of(&self, ecosystem: Ecosystem) -> impl Iterator<Item = &Package> {
        self.packages
            .iter()
            .filter(move |p| p.ecosystem() == ecosystem)
    }

    /// The packages owning `path` (canonical image path), through usr-merge links. Several packages
    /// can own one path: directories, a file diverted by dpkg, a Python module also shipped by a
    /// distribution package. The order is the databases' order (dpkg, apk, rpm, Python, npm).
    pub fn owners(&self, path: &str) -> Vec<Owner<'_>> {
        let path = self.aliases.resolve(path);
        if let Some(entries) = self.index.get(path.as_ref()) {
            return entries
                .as_slice()
                .iter()
                .map(|&(p, f)| Owner {
                    package: &self.packages[p],
                    file: self.packages[p].files.get(f),
                })
                .collect();
        }
        if let Some(owner) = self.owner_by_containment(&path) {
            return vec![owner];
        }
        self.compiled_module_owner(&path).into_iter().collect()
    }

    /// The innermost package directory holding `path` (nested `node_modules` are their own packages).
    fn owner_by_containment(&self, path: &str) -> Option<Owner<'_>> {
        if self.roots.is_empty() {
            return None;
        }
        let mut dir = path;
        loop {
            if let Some(&p) = self.roots.get(dir) {
                return Some(Owner {
                    package: &self.packages[p],
                    file: None,
                });
            }
            if dir.is_empty() {
                return None;
            }
            dir = paths::parent(dir);
        }
    }

    /// `dir/__pycache__/mod.cpython-311.pyc` belongs to whoever owns `dir/mod.py` with a Python RECORD:
    /// pip compiles modules at install time without always listing the result.
    fn compiled_module_owner(&self, path: &str) -> Option<Owner<'_>> {
        let (cache_dir, name) = path.rsplit_once('/')?;
        let dir = cache_dir.strip_suffix("__pycache__")?;
        let module = name.strip_suffix(".pyc")?.split('.').next()?;
        let source = format!("{dir}{module}.py");
        self.index
            .get(&source)?
            .as_slice()
            .iter()
            .find_map(|&(p, _)| {
                let package = &self.packages[p];
                (package.ecosystem() == Ecosystem::Python).then_some(Owner {
                    package,
                    file: None,
                })
            })
    }

    /// The digests a caller must compute of `path`'s content to check it against every recorded checksum.
    pub fn algorithms_for(&self, path: &str) -> EnumSet<Algorithm> {
        self.owners(path)
            .iter()
            .filter_map(|owner| match owner.record() {
                Recorded::Checksum(checksum) => Some(checksum.algorithm()),
                _ => None,
            })
            .collect()
    }

    pub(super) fn records(&self, path: &str) -> Option<&Records> {
        self.records.get(path)
    }
}

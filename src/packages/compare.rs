//! Two images' packages compared, and a differing file explained by them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::inventory::Records;
use super::{
    Algorithm, ContentDigests, Ecosystem, Inventory, Owner, Package, PackageKey, Recorded, apk,
    compare_versions, dpkg, npm, rpm,
};
use crate::model::{Side, Sides, escape_control};

/// How a package differs between the two images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Added,
    Removed,
    Upgraded,
    Downgraded,
    /// The same version, another build: other files or checksums, or another build identity.
    Rebuilt,
    /// Another version that the ecosystem's ordering cannot place.
    VersionChanged,
}

/// One package that is not the same in both images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageChange {
    pub key: PackageKey,
    pub kind: ChangeKind,
    /// The version on each side (`None` where the package is absent).
    pub versions: Sides<Option<String>>,
}

impl fmt::Display for PackageChange {
    /// `ncurses-base 6.4-4 → 6.5+20250216-2`, `curl 7.88.1-10 added`, `x 1.0 rebuilt`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let old = self.versions.input0.as_deref().map(escape_control);
        let new = self.versions.input1.as_deref().map(escape_control);
        let (old, new) = (old.as_deref(), new.as_deref());
        match (self.kind, old, new) {
            (ChangeKind::Added, _, Some(new)) => write!(f, "{} {new} added", self.key),
            (ChangeKind::Removed, Some(old), _) => write!(f, "{} {old} removed", self.key),
            (ChangeKind::Rebuilt, Some(old), Some(new)) if old == new => {
                write!(f, "{} {old} rebuilt", self.key)
            }
            (_, old, new) => write!(
                f,
                "{} {} → {}",
                self.key,
                old.unwrap_or("-"),
                new.unwrap_or("-")
            ),
        }
    }
}

/// Which package changes separate inventory `a` (input 0) from `b` (input 1).
pub fn compare(a: &Inventory, b: &Inventory) -> Vec<PackageChange> {
    Comparison::new(a, b).changes
}

/// Two inventories, their package changes, and explanations of differing paths.
pub struct Comparison<'a> {
    inventories: Sides<&'a Inventory>,
    changes: Vec<PackageChange>,
    by_key: HashMap<PackageKey, usize>,
}

/// A path's content on one side, as the engine has it.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    Absent,
    /// A regular file, with the digests the engine computed.
    File(&'a ContentDigests),
    /// A symlink and its target.
    Symlink(&'a [u8]),
    Directory,
    /// A device, a fifo...
    Other,
}

/// How a path's content on one side stands against its owner's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Neither present nor owned.
    Absent,
    /// Present and no package owns it.
    NotOwned,
    Matches,
    Differs,
    /// Owned but not there (deleted after install).
    Missing,
    /// Owned, but the package records nothing to check it against.
    NotRecorded,
    /// The caller did not supply this digest of the content.
    DigestMissing(Algorithm),
}

/// A package as one side has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    pub key: PackageKey,
    pub version: String,
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key, escape_control(&self.version))
    }
}

/// One side of a path: its owner and how the content stands against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideCheck {
    pub owner: Option<PackageRef>,
    pub check: Check,
    /// The owner records the path as a configuration file.
    pub config: bool,
}

/// The verdict on a differing path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A changed package owns the path, and its content matches that package wherever it is there.
    ExplainedByChange,
    /// The content matches its (unchanged) package on both sides: the difference is not in the content.
    MatchesPackage,
    /// The content matches its package on `matching` only; the other side was modified after install.
    MatchesOneSide {
        matching: Side,
    },
    /// Owned, and the content matches its package on neither side.
    ModifiedAfterInstall,
    /// The owning package is the same on both sides, and yet the content differs (and matches it on
    /// `matching` at most): suspicious.
    UnchangedPackageDiffers {
        matching: Option<Side>,
    },
    /// A configuration file that differs from its package: a local change.
    ConfigurationChanged {
        matching: Option<Side>,
    },
    /// Owned, but there is no recorded checksum (or no digest supplied) to check the content against.
    OwnedUnverified,
    NotFromPackage,
    /// The path is a package manager's own database.
    Database(DatabaseVerdict),
}

/// The verdict on a package database file that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseVerdict {
    /// Every record that differs belongs to a package that changed.
    Explained,
    /// dpkg's `status-old` on one side is, byte for byte, the `status` of side `of`: the backup dpkg
    /// wrote when it changed the packages.
    BackupOf { of: Side },
    /// These packages' records differ although the packages did not change.
    Unexplained { packages: Vec<PackageKey> },
    /// Package manager state that is not read (locks, logs, caches, unsupported formats).
    NotChecked,
}

/// The explanation of one differing path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileExplanation {
    pub path: String,
    pub sides: Sides<SideCheck>,
    /// The changes of the packages owning the path (on either side).
    pub changes: Vec<PackageChange>,
    pub verdict: Verdict,
}

impl<'a> Comparison<'a> {
    pub fn new(a: &'a Inventory, b: &'a Inventory) -> Comparison<'a> {
        let changes = package_changes(a, b);
        let by_key = changes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key.clone(), i))
            .collect();
        Comparison {
            inventories: Sides::new(a, b),
            changes,
            by_key,
        }
    }

    /// Every package change, ordered by ecosystem, name, architecture, location.
    pub fn changes(&self) -> &[PackageChange] {
        &self.changes
    }

    pub fn change_of(&self, key: &PackageKey) -> Option<&PackageChange> {
        self.by_key.get(key).map(|&i| &self.changes[i])
    }

    /// Why `path` differs, given its content on each side. Meant for paths whose content differs: a
    /// database file that differs only in metadata gets a verdict about content it does not have.
    pub fn explain(&self, path: &str, content: Sides<Content<'_>>) -> FileExplanation {
        let sides =
            Sides::from_fn(|side| side_check(self.inventories.get(side), path, content.get(side)));
        let mut changes: Vec<PackageChange> = Vec::new();
        for (_, check) in sides.iter() {
            if let Some(change) = check.owner.as_ref().and_then(|o| self.change_of(&o.key))
                && !changes.contains(change)
            {
                changes.push(change.clone());
            }
        }
        let verdict = match self.database_verdict(path) {
            Some(verdict) => Verdict::Database(verdict),
            None => file_verdict(&sides, !changes.is_empty()),
        };
        FileExplanation {
            path: path.to_owned(),
            sides,
            changes,
            verdict,
        }
    }

    fn is_changed(&self, key: &PackageKey) -> bool {
        self.by_key.contains_key(key)
    }

    fn database_verdict(&self, path: &str) -> Option<DatabaseVerdict> {
        let records = self
            .inventories
            .as_ref()
            .map(|inventory| inventory.records(path));
        if records.input0.is_some() || records.input1.is_some() {
            if path == dpkg::STATUS_OLD
                && let Some(of) = self.dpkg_backup_of()
            {
                return Some(DatabaseVerdict::BackupOf { of });
            }
            let empty = Records::default();
            let unexplained = differing_records(
                records.input0.unwrap_or(&empty),
                records.input1.unwrap_or(&empty),
            )
            .into_iter()
            .filter(|key| !self.is_changed(key))
            .collect::<Vec<_>>();
            return Some(if unexplained.is_empty() {
                DatabaseVerdict::Explained
            } else {
                DatabaseVerdict::Unexplained {
                    packages: unexplained,
                }
            });
        }
        if let Some((name, arch)) = dpkg::info_file_package(path) {
            return Some(self.dpkg_info_verdict(name, arch));
        }
        let state = dpkg::is_state_path(path)
            || apk::is_state_path(path)
            || rpm::is_state_path(path)
            || npm::is_state_path(path);
        state.then_some(DatabaseVerdict::NotChecked)
    }

    /// The side whose `status` the other side's `status-old` is a copy of.
    fn dpkg_backup_of(&self) -> Option<Side> {
        let digest = |side: Side, path: &str| {
            self.inventories
                .get(side)
                .records(path)
                .map(|records| records.content)
        };
        Side::BOTH.into_iter().find(|&side| {
            let status = digest(side, dpkg::STATUS);
            status.is_some() && status == digest(other(side), dpkg::STATUS_OLD)
        })
    }

    /// `info/<name>[:arch].<ext>` belongs to that package: explained when it changed.
    fn dpkg_info_verdict(&self, name: &str, arch: Option<&str>) -> DatabaseVerdict {
        let changed = self.changes.iter().any(|change| {
            change.key.ecosystem == Ecosystem::Dpkg
                && change.key.name == name
                && arch.is_none_or(|arch| change.key.arch.as_deref() == Some(arch))
        });
        if changed {
            DatabaseVerdict::Explained
        } else {
            DatabaseVerdict::Unexplained {
                packages: vec![PackageKey {
                    ecosystem: Ecosystem::Dpkg,
                    name: name.to_owned(),
                    arch: arch.map(str::to_owned),
                    location: None,
                }],
            }
        }
    }
}

/// The keys whose records are not the same in both.
fn differing_records(a: &Records, b: &Records) -> BTreeSet<PackageKey> {
    let keys: BTreeSet<&PackageKey> = a.packages.keys().chain(b.packages.keys()).collect();
    keys.into_iter()
        .filter(|key| a.packages.get(*key) != b.packages.get(*key))
        .cloned()
        .collect()
}

/// The owner that best accounts for `content` (one it matches, else one it differs from, else the
/// first), and how the content stands against it.
fn side_check(inventory: &Inventory, path: &str, content: &Content<'_>) -> SideCheck {
    let owners = inventory.owners(path);
    let checks: Vec<(Owner<'_>, Check)> = owners
        .into_iter()
        .map(|owner| (owner, check(owner.record(), content)))
        .collect();
    let best = checks
        .iter()
        .find(|(_, c)| *c == Check::Matches)
        .or_else(|| checks.iter().find(|(_, c)| *c == Check::Differs))
        .or_else(|| checks.first());
    match best {
        Some(&(owner, check)) => SideCheck {
            owner: Some(PackageRef {
                key: owner.package.key.clone(),
                version: owner.package.version.clone(),
            }),
            check,
            config: owner.file.is_some_and(|f| f.config),
        },
        None => SideCheck {
            owner: None,
            check: match content {
                Content::Absent => Check::Absent,
                _ => Check::NotOwned,
            },
            config: false,
        },
    }
}

fn check(record: &Recorded, content: &Content<'_>) -> Check {
    match (record, content) {
        (_, Content::Absent) => Check::Missing,
        (Recorded::Nothing, _) => Check::NotRecorded,
        (Recorded::Checksum(checksum), Content::File(digests)) => match checksum.check(digests) {
            Some(true) => Check::Matches,
            Some(false) => Check::Differs,
            None => Check::DigestMissing(checksum.algorithm()),
        },
        // apk records a symlink's digest as that of its target
        (Recorded::Checksum(checksum), Content::Symlink(target)) => {
            verdict(checksum.verify(target))
        }
        (Recorded::LinkTarget(expected), Content::Symlink(target)) => verdict(expected == target),
        (Recorded::Directory, Content::Directory) => Check::Matches,
        (Recorded::Checksum(_) | Recorded::LinkTarget(_) | Recorded::Directory, _) => {
            Check::Differs
        }
    }
}

fn verdict(matches: bool) -> Check {
    if matches {
        Check::Matches
    } else {
        Check::Differs
    }
}

fn file_verdict(sides: &Sides<SideCheck>, changed: bool) -> Verdict {
    if sides.input0.owner.is_none() && sides.input1.owner.is_none() {
        return Verdict::NotFromPackage;
    }
    let consistent = |s: &SideCheck| matches!(s.check, Check::Matches | Check::Absent);
    if consistent(&sides.input0) && consistent(&sides.input1) {
        return if changed {
            Verdict::ExplainedByChange
        } else {
            Verdict::MatchesPackage
        };
    }
    let failing =
        |s: &SideCheck| matches!(s.check, Check::Differs | Check::Missing | Check::NotOwned);
    let failures: Vec<&SideCheck> = [&sides.input0, &sides.input1]
        .into_iter()
        .filter(|s| failing(s))
        .collect();
    if failures.is_empty() {
        return Verdict::OwnedUnverified;
    }
    let matching = sides
        .iter()
        .find(|(_, s)| s.check == Check::Matches)
        .map(|(side, _)| side);
    if failures.iter().all(|s| s.config) {
        Verdict::ConfigurationChanged { matching }
    } else if !changed {
        Verdict::UnchangedPackageDiffers { matching }
    } else if let Some(matching) = matching {
        Verdict::MatchesOneSide { matching }
    } else {
        Verdict::ModifiedAfterInstall
    }
}

/// Packages grouped by key on each side, paired: equal versions and builds drop out, the same version
/// with another build is a rebuild, one version against one other is an up- or downgrade, and whatever
/// is left is added or removed.
fn package_changes(a: &Inventory, b: &Inventory) -> Vec<PackageChange> {
    let (mut olds, mut news) = (by_key(a), by_key(b));
    let keys: BTreeSet<PackageKey> = olds.keys().chain(news.keys()).cloned().collect();
    let mut changes = Vec::new();
    for key in keys {
        let mut old = olds.remove(&key).unwrap_or_default();
        let mut new = news.remove(&key).unwrap_or_default();
        take_pairs(&mut old, &mut new, |x, y| {
            x.version == y.version && x.fingerprint == y.fingerprint
        });
        for (x, y) in take_pairs(&mut old, &mut new, |x, y| x.version == y.version) {
            changes.push(change(&key, ChangeKind::Rebuilt, Some(x), Some(y)));
        }
        if let ([x], [y]) = (old.as_slice(), new.as_slice()) {
            let kind = match compare_versions(key.ecosystem, &x.version, &y.version) {
                Some(std::cmp::Ordering::Less) => ChangeKind::Upgraded,
                Some(std::cmp::Ordering::Greater) => ChangeKind::Downgraded,
                Some(std::cmp::Ordering::Equal) => ChangeKind::Rebuilt,
                None => ChangeKind::VersionChanged,
            };
            changes.push(change(&key, kind, Some(x), Some(y)));
            continue;
        }
        changes.extend(
            old.iter()
                .map(|x| change(&key, ChangeKind::Removed, Some(x), None)),
        );
        changes.extend(
            new.iter()
                .map(|y| change(&key, ChangeKind::Added, None, Some(y))),
        );
    }
    changes
}

fn by_key(inventory: &Inventory) -> BTreeMap<PackageKey, Vec<&Package>> {
    let mut groups: BTreeMap<PackageKey, Vec<&Package>> = BTreeMap::new();
    for package in inventory.packages() {
        groups.entry(package.key.clone()).or_default().push(package);
    }
    groups
}

/// Removes and returns the pairs (one from each list) for which `same` holds.
fn take_pairs<'p>(
    old: &mut Vec<&'p Package>,
    new: &mut Vec<&'p Package>,
    same: impl Fn(&Package, &Package) -> bool,
) -> Vec<(&'p Package, &'p Package)> {
    let mut pairs = Vec::new();
    old.retain(|x| match new.iter().position(|y| same(x, y)) {
        Some(i) => {
            pairs.push((*x, new.remove(i)));
            false
        }
        None => true,
    });
    pairs
}

fn change(
    key: &PackageKey,
    kind: ChangeKind,
    old: Option<&Package>,
    new: Option<&Package>,
) -> PackageChange {
    PackageChange {
        key: key.clone(),
        kind,
        versions: Sides::new(
            old.map(|p| p.version.clone()),
            new.map(|p| p.version.clone()),
        ),
    }
}

impl fmt::Display for FileExplanation {
    /// One line, e.g. "explained by ncurses-base:all 6.4-4 → 6.5+20250216-2 (matches the package on
    /// both sides)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let changes = self
            .changes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let owner = |side: Side| {
            self.sides
                .get(side)
                .owner
                .as_ref()
                .map_or_else(|| "no package".to_owned(), ToString::to_string)
        };
        match &self.verdict {
            Verdict::ExplainedByChange => {
                let detail = if self.sides.iter().all(|(_, s)| s.check == Check::Matches) {
                    "matches the package on both sides".to_owned()
                } else {
                    self.sides
                        .iter()
                        .map(|(side, s)| format!("{}: {}", side.name(), describe(s.check)))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                write!(f, "explained by {changes} ({detail})")
            }
            Verdict::MatchesPackage => {
                write!(f, "matches {} on both sides", owner(Side::Input0))
            }
            Verdict::MatchesOneSide { matching } => {
                let other = other(*matching);
                write!(
                    f,
                    "matches {} on {} only; {} on {}: modified after install ({changes})",
                    owner(*matching),
                    matching.name(),
                    describe(self.sides.get(other).check),
                    other.name(),
                )
            }
            Verdict::ModifiedAfterInstall => {
                write!(
                    f,
                    "modified after install: matches its package on neither side ({changes})"
                )
            }
            Verdict::UnchangedPackageDiffers { .. } => write!(
                f,
                "differs although its package did not change ({}: {}; {}: {})",
                owner(Side::Input0),
                describe(self.sides.input0.check),
                owner(Side::Input1),
                describe(self.sides.input1.check)
            ),
            Verdict::ConfigurationChanged { .. } => {
                write!(
                    f,
                    "configuration file of {} changed locally",
                    owner(Side::Input0)
                )
            }
            Verdict::OwnedUnverified => {
                let owner = self
                    .sides
                    .iter()
                    .find_map(|(_, s)| s.owner.as_ref())
                    .map_or_else(String::new, ToString::to_string);
                write!(
                    f,
                    "from {owner}, which records no checksum for it: not verified"
                )?;
                if !changes.is_empty() {
                    write!(f, " ({changes})")?;
                }
                Ok(())
            }
            Verdict::NotFromPackage => f.write_str("not from a package"),
            Verdict::Database(DatabaseVerdict::Explained) => {
                f.write_str("package database: explained by the package changes")
            }
            Verdict::Database(DatabaseVerdict::BackupOf { of }) => write!(
                f,
                "package database backup: the same as {}'s status",
                of.name()
            ),
            Verdict::Database(DatabaseVerdict::Unexplained { packages }) => write!(
                f,
                "package database differs beyond the package changes: {}",
                packages
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Verdict::Database(DatabaseVerdict::NotChecked) => {
                f.write_str("package manager state: not checked")
            }
        }
    }
}

fn other(side: Side) -> Side {
    match side {
        Side::Input0 => Side::Input1,
        Side::Input1 => Side::Input0,
    }
}

fn describe(check: Check) -> &'static str {
    match check {
        Check::Absent => "absent",
        Check::NotOwned => "not from a package",
        Check::Matches => "matches the package",
        Check::Differs => "differs from the package",
        Check::Missing => "missing",
        Check::NotRecorded => "no checksum recorded",
        Check::DigestMissing(_) => "not checked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::{DatabaseFiles, read_inventory};
    use enumset::EnumSet;
    use md5::{Digest, Md5};

    struct Deb<'a> {
        name: &'a str,
        version: &'a str,
        files: &'a [(&'a str, &'a [u8])],
        conffiles: &'a [(&'a str, &'a [u8])],
    }

    const fn deb<'a>(name: &'a str, version: &'a str, files: &'a [(&'a str, &'a [u8])]) -> Deb<'a> {
        Deb {
            name,
            version,
            files,
            conffiles: &[],
        }
    }

    fn status(debs: &[Deb<'_>]) -> String {
        let mut status = String::new();
        for deb in debs {
            status.push_str(&format!(
                "Package: {}\nStatus: install ok installed\nArchitecture: all\nVersion: {}\n",
                deb.name, deb.version
            ));
            if !deb.conffiles.is_empty() {
                status.push_str("Conffiles:\n");
                for (path, content) in deb.conffiles {
                    status.push_str(&format!(" /{path} {}\n", hex::encode(Md5::digest(content))));
                }
            }
            status.push('\n');
        }
        status
    }

    fn dpkg_image(debs: &[Deb<'_>]) -> DatabaseFiles {
        let mut files = DatabaseFiles::new();
        files.insert_content(dpkg::STATUS, status(debs).into_bytes());
        for deb in debs {
            let all = deb.files.iter().chain(deb.conffiles);
            let list: String = all.clone().map(|(path, _)| format!("/{path}\n")).collect();
            let md5sums: String = deb
                .files
                .iter()
                .map(|(path, content)| format!("{}  {path}\n", hex::encode(Md5::digest(content))))
                .collect();
            files.insert_content(
                format!("var/lib/dpkg/info/{}.list", deb.name),
                list.into_bytes(),
            );
            files.insert_content(
                format!("var/lib/dpkg/info/{}.md5sums", deb.name),
                md5sums.into_bytes(),
            );
        }
        files
    }

    const A: &[Deb<'static>] = &[
        deb(
            "up",
            "1.0",
            &[("usr/bin/up", b"up1"), ("usr/share/up/doc", b"doc1")],
        ),
        deb("same", "2.0", &[("usr/bin/same", b"same")]),
        Deb {
            name: "cfg",
            version: "1",
            files: &[],
            conffiles: &[("etc/cfg.conf", b"cfg")],
        },
        deb("down", "3.0", &[("usr/bin/down", b"d3")]),
        deb("rebuilt", "1.0", &[("usr/bin/rb", b"rb-a")]),
        deb("removed", "1", &[("usr/bin/rm", b"rm")]),
    ];

    const B: &[Deb<'static>] = &[
        deb(
            "up",
            "1.1",
            &[("usr/bin/up", b"up2"), ("usr/share/up/doc", b"doc2")],
        ),
        deb("same", "2.0", &[("usr/bin/same", b"same")]),
        Deb {
            name: "cfg",
            version: "1",
            files: &[],
            conffiles: &[("etc/cfg.conf", b"cfg")],
        },
        deb("down", "2.9", &[("usr/bin/down", b"d2")]),
        deb("rebuilt", "1.0", &[("usr/bin/rb", b"rb-b")]),
        deb("added", "1", &[("usr/bin/add", b"add")]),
    ];

    fn md5_and_sha256(content: &[u8]) -> ContentDigests {
        ContentDigests::of(content, Algorithm::Md5 | Algorithm::Sha256)
    }

    fn explain(
        a: &Inventory,
        b: &Inventory,
        path: &str,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> FileExplanation {
        let (old, new) = (old.map(md5_and_sha256), new.map(md5_and_sha256));
        Comparison::new(a, b).explain(path, Sides::new(as_content(&old), as_content(&new)))
    }

    /// A file's content on input 0 and on input 1 (`None`: absent).
    type Side0 = Option<&'static [u8]>;
    type Side1 = Option<&'static [u8]>;

    fn as_content(digests: &Option<ContentDigests>) -> Content<'_> {
        digests.as_ref().map_or(Content::Absent, Content::File)
    }

    #[test]
    fn package_changes_are_added_removed_upgraded_downgraded_and_rebuilt() {
        let (a, b) = (
            read_inventory(&dpkg_image(A)),
            read_inventory(&dpkg_image(B)),
        );
        let changes: Vec<String> = compare(&a, &b).iter().map(ToString::to_string).collect();
        assert_eq!(
            changes,
            [
                "added:all 1 added",
                "down:all 3.0 → 2.9",
                "rebuilt:all 1.0 rebuilt",
                "removed:all 1 removed",
                "up:all 1.0 → 1.1",
            ]
        );
        let kinds: Vec<ChangeKind> = compare(&a, &b).iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::Added,
                ChangeKind::Downgraded,
                ChangeKind::Rebuilt,
                ChangeKind::Removed,
                ChangeKind::Upgraded
            ]
        );
        assert!(compare(&a, &a).is_empty());
    }

    #[test]
    fn each_kind_of_differing_file_gets_its_verdict() {
        let (a, b) = (
            read_inventory(&dpkg_image(A)),
            read_inventory(&dpkg_image(B)),
        );
        let cases: &[(&str, Side0, Side1, Verdict)] = &[
            (
                "usr/bin/up",
                Some(b"up1"),
                Some(b"up2"),
                Verdict::ExplainedByChange,
            ),
            ("usr/bin/rm", Some(b"rm"), None, Verdict::ExplainedByChange),
            (
                "usr/bin/add",
                None,
                Some(b"add"),
                Verdict::ExplainedByChange,
            ),
            (
                "usr/bin/rb",
                Some(b"rb-a"),
                Some(b"rb-b"),
                Verdict::ExplainedByChange,
            ),
            (
                "usr/share/up/doc",
                Some(b"doc1"),
                Some(b"edited"),
                Verdict::MatchesOneSide {
                    matching: Side::Input0,
                },
            ),
            (
                "usr/bin/up",
                Some(b"x"),
                Some(b"y"),
                Verdict::ModifiedAfterInstall,
            ),
            (
                "usr/bin/up",
                Some(b"up1"),
                None,
                Verdict::MatchesOneSide {
                    matching: Side::Input0,
                },
            ),
            (
                "usr/bin/same",
                Some(b"same"),
                Some(b"tampered"),
                Verdict::UnchangedPackageDiffers {
                    matching: Some(Side::Input0),
                },
            ),
            (
                "usr/bin/same",
                Some(b"same"),
                Some(b"same"),
                Verdict::MatchesPackage,
            ),
            (
                "etc/cfg.conf",
                Some(b"cfg"),
                Some(b"edited"),
                Verdict::ConfigurationChanged {
                    matching: Some(Side::Input0),
                },
            ),
            (
                "usr/local/bin/tool",
                Some(b"1"),
                Some(b"2"),
                Verdict::NotFromPackage,
            ),
            (
                "usr/local/bin/tool",
                None,
                Some(b"2"),
                Verdict::NotFromPackage,
            ),
        ];
        for (path, old, new, expected) in cases {
            let explanation = explain(&a, &b, path, *old, *new);
            assert_eq!(&explanation.verdict, expected, "{path}: {explanation}");
        }
        let up = explain(&a, &b, "usr/bin/up", Some(b"up1"), Some(b"up2"));
        assert_eq!(
            up.to_string(),
            "explained by up:all 1.0 → 1.1 (matches the package on both sides)"
        );
        assert_eq!(
            up.sides
                .input0
                .owner
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("up:all 1.0")
        );
        let removed = explain(&a, &b, "usr/bin/rm", Some(b"rm"), None);
        assert_eq!(
            removed.to_string(),
            "explained by removed:all 1 removed (input0: matches the package; input1: absent)"
        );
        assert_eq!(
            explain(&a, &b, "usr/local/bin/tool", Some(b"1"), Some(b"2")).to_string(),
            "not from a package"
        );
    }

    #[test]
    fn without_the_digest_a_package_records_the_file_is_not_verified() {
        let (a, b) = (
            read_inventory(&dpkg_image(A)),
            read_inventory(&dpkg_image(B)),
        );
        assert_eq!(
            a.algorithms_for("usr/bin/same"),
            EnumSet::only(Algorithm::Md5)
        );
        let sha_only = ContentDigests::of(b"same", EnumSet::only(Algorithm::Sha256));
        let explanation = Comparison::new(&a, &b).explain(
            "usr/bin/same",
            Sides::new(Content::File(&sha_only), Content::File(&sha_only)),
        );
        assert_eq!(explanation.verdict, Verdict::OwnedUnverified);
        assert_eq!(
            explanation.sides.input0.check,
            Check::DigestMissing(Algorithm::Md5)
        );
        // a directory from a .list has nothing recorded
        let dir = Comparison::new(&a, &b).explain(
            "usr/share/up",
            Sides::new(Content::Directory, Content::Directory),
        );
        assert_eq!(
            dir.verdict,
            Verdict::NotFromPackage,
            "not listed: only its file is"
        );
    }

    #[test]
    fn package_databases_are_explained_by_the_changes_of_their_packages_only() {
        let (a, b) = (
            read_inventory(&dpkg_image(A)),
            read_inventory(&dpkg_image(B)),
        );
        let database = |a: &Inventory, b: &Inventory, path: &str| {
            Comparison::new(a, b)
                .explain(path, Sides::new(Content::Other, Content::Other))
                .verdict
        };
        let explained = Verdict::Database(DatabaseVerdict::Explained);
        assert_eq!(database(&a, &b, dpkg::STATUS), explained);
        assert_eq!(database(&a, &b, "var/lib/dpkg/info/up.list"), explained);
        assert_eq!(
            database(&a, &b, "var/lib/dpkg/info/removed.md5sums"),
            explained
        );
        assert_eq!(database(&a, &b, "var/lib/dpkg/info/up.postinst"), explained);
        assert_eq!(
            database(&a, &b, "var/lib/dpkg/info/same.list"),
            Verdict::Database(DatabaseVerdict::Unexplained {
                packages: vec![PackageKey {
                    ecosystem: Ecosystem::Dpkg,
                    name: "same".into(),
                    arch: None,
                    location: None
                }]
            })
        );
        assert_eq!(
            database(&a, &b, "var/lib/dpkg/lock-frontend"),
            Verdict::Database(DatabaseVerdict::NotChecked)
        );

        // An unchanged package's stanza edited (held, say): the status differs beyond the changes.
        let mut held = dpkg_image(B);
        let edited = status(B).replace(
            "Package: same\nStatus: install ok installed",
            "Package: same\nStatus: hold ok installed",
        );
        held.insert_content(dpkg::STATUS, edited.into_bytes());
        let held = read_inventory(&held);
        let verdict = Comparison::new(&a, &held)
            .explain(dpkg::STATUS, Sides::new(Content::Other, Content::Other));
        assert_eq!(
            verdict.to_string(),
            "package database differs beyond the package changes: same:all"
        );

        // dpkg's backup: side 1's status-old is side 0's status.
        let mut upgraded = dpkg_image(B);
        upgraded.insert_content(dpkg::STATUS_OLD, status(A).into_bytes());
        let mut before = dpkg_image(A);
        before.insert_content(dpkg::STATUS_OLD, b"Package: older\nVersion: 0\n".to_vec());
        let (before, upgraded) = (read_inventory(&before), read_inventory(&upgraded));
        assert_eq!(
            database(&before, &upgraded, dpkg::STATUS_OLD),
            Verdict::Database(DatabaseVerdict::BackupOf { of: Side::Input0 })
        );
        assert_eq!(
            database(&upgraded, &before, dpkg::STATUS_OLD),
            Verdict::Database(DatabaseVerdict::BackupOf { of: Side::Input1 })
        );
    }

    #[test]
    fn npm_lockfile_and_python_record_differ_only_for_changed_packages() {
        let lock = |x: &str, y: &str| {
            format!(
                r#"{{"lockfileVersion": 3, "packages": {{"": {{"name": "app"}},
                    "node_modules/x": {{"version": "{x}"}}, "node_modules/y": {{"version": "{y}"}}}}}}"#
            )
            .into_bytes()
        };
        let json =
            |name: &str, v: &str| format!(r#"{{"name":"{name}","version":"{v}"}}"#).into_bytes();
        let image = |x: &str, lock_y: &str| {
            let mut files = DatabaseFiles::new();
            files.insert_content("app/node_modules/x/package.json", json("x", x));
            files.insert_content("app/node_modules/y/package.json", json("y", "1.0.0"));
            files.insert_content("app/node_modules/.package-lock.json", lock(x, lock_y));
            let site = "usr/lib/python3/dist-packages";
            files.insert_content(
                format!("{site}/p-{x}.dist-info/METADATA"),
                format!("Name: p\nVersion: {x}\n").into_bytes(),
            );
            files.insert_content(
                format!("{site}/p-{x}.dist-info/RECORD"),
                format!("p/__init__.py,,\np-{x}.dist-info/RECORD,,\n").into_bytes(),
            );
            read_inventory(&files)
        };
        let verdict = |a: &Inventory, b: &Inventory, path: &str| {
            Comparison::new(a, b)
                .explain(path, Sides::new(Content::Other, Content::Other))
                .verdict
        };
        let (a, b) = (image("1.0.0", "1.0.0"), image("1.1.0", "1.0.0"));
        assert_eq!(compare(&a, &b).len(), 2, "{:?}", compare(&a, &b));
        let lockfile = "app/node_modules/.package-lock.json";
        assert_eq!(
            verdict(&a, &b, lockfile),
            Verdict::Database(DatabaseVerdict::Explained)
        );
        // y's lock entry changed although y did not
        let tampered = image("1.1.0", "9.9.9");
        assert_eq!(
            verdict(&a, &tampered, lockfile).clone(),
            Verdict::Database(DatabaseVerdict::Unexplained {
                packages: vec![PackageKey {
                    ecosystem: Ecosystem::Npm,
                    name: "y".into(),
                    arch: None,
                    location: Some("app/node_modules/y".into()),
                }]
            })
        );
        // a RECORD is the database of its own package: there on one side only, explained by the upgrade
        assert_eq!(
            verdict(
                &a,
                &b,
                "usr/lib/python3/dist-packages/p-1.0.0.dist-info/RECORD"
            ),
            Verdict::Database(DatabaseVerdict::Explained)
        );
        // files inside an npm package have no checksum: owned, not verified
        let inside = Comparison::new(&a, &b).explain(
            "app/node_modules/x/index.js",
            Sides::new(Content::Other, Content::Other),
        );
        assert_eq!(inside.verdict, Verdict::OwnedUnverified);
        assert_eq!(
            inside.to_string(),
            "from x at app/node_modules/x 1.0.0, which records no checksum for it: not verified \
             (x at app/node_modules/x 1.0.0 → 1.1.0)"
        );
    }

    #[test]
    fn hostile_names_and_versions_display_inert() {
        let evil = [deb(
            "evil\u{1b}[2J",
            "1\u{1b}]0;x\u{7}",
            &[("usr/bin/evil", b"e")],
        )];
        let (a, b) = (
            read_inventory(&dpkg_image(&[])),
            read_inventory(&dpkg_image(&evil)),
        );
        let shown = compare(&a, &b)[0].to_string();
        assert_eq!(shown, "evil\\u{1b}[2J:all 1\\u{1b}]0;x\\u{7} added");
        let explained = explain(&a, &b, "usr/bin/evil", None, Some(b"e")).to_string();
        assert!(!explained.contains('\u{1b}'), "{explained}");
    }

    #[test]
    fn versions_a_scheme_cannot_order_and_several_versions_under_one_key() {
        let mut a = DatabaseFiles::new();
        let mut b = DatabaseFiles::new();
        let json = |v: &str| format!(r#"{{"name":"x","version":"{v}"}}"#).into_bytes();
        a.insert_content("node_modules/x/package.json", json("1.0"));
        b.insert_content("node_modules/x/package.json", json("2.0"));
        a.insert_content("node_modules/y/package.json", json("1.0.0"));
        b.insert_content("node_modules/y/package.json", json("1.0.0"));
        let changes = compare(&read_inventory(&a), &read_inventory(&b));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].kind,
            ChangeKind::VersionChanged,
            "1.0 is not semver"
        );
        assert_eq!(changes[0].to_string(), "x at node_modules/x 1.0 → 2.0");

        // rpm keeps several kernels: the one on both sides drops out, the others pair up
        use super::super::rpm::tests::{RPM_SCHEMA, bare_header, sqlite_database};
        let rpmdb = |versions: &[&str]| {
            let blobs: Vec<_> = versions.iter().map(|v| bare_header("kernel", v)).collect();
            let mut files = DatabaseFiles::new();
            files.insert_content(
                "var/lib/rpm/rpmdb.sqlite",
                sqlite_database(RPM_SCHEMA, &blobs),
            );
            read_inventory(&files)
        };
        let changes = |a: &[&str], b: &[&str]| -> Vec<String> {
            compare(&rpmdb(a), &rpmdb(b))
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            changes(&["6.1", "6.2"], &["6.2", "6.3"]),
            ["kernel:x86_64 6.1-1 → 6.3-1"]
        );
        assert_eq!(
            changes(&["6.1", "6.2"], &["6.3", "6.4", "6.2"]),
            [
                "kernel:x86_64 6.1-1 removed",
                "kernel:x86_64 6.3-1 added",
                "kernel:x86_64 6.4-1 added"
            ]
        );
    }
}

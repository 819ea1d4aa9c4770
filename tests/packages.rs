//! Package databases from real writers: the Debian testbed trees that `make-images.sh` leaves in
//! /var/tmp/testbed/rootfs (skipped when absent), and rpm databases written by Debian's `rpm` and
//! `rpmbuild` (skipped when those are absent).

#[path = "packages/rootfs.rs"]
mod rootfs;
mod rpm_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use ocidiff::model::Sides;
use ocidiff::packages::{
    Algorithm, ChangeKind, Comparison, Content, ContentDigests, DatabaseFiles, DatabaseVerdict,
    Ecosystem, Inventory, Recorded, Verdict, compare, read_inventory,
};
use rootfs::Entry;

const TESTBED: &str = "/var/tmp/testbed/rootfs";

/// The testbed tree `name` (a, c, d), or `None` (with a message) when it was not built here.
fn testbed_tree(name: &str) -> Option<PathBuf> {
    let dir = Path::new(TESTBED).join(name);
    if dir.join("var/lib/dpkg/status").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} not built (../shared/testbed/make-images.sh)",
            dir.display()
        );
        None
    }
}

/// `name:arch` → version of the installed packages, as dpkg itself reads the tree's database.
fn dpkg_query(root: &Path) -> Option<BTreeMap<String, String>> {
    let output = Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            root.join("var/lib/dpkg").display()
        ))
        .args([
            "-W",
            "-f",
            "${db:Status-Abbrev}|${Package}:${Architecture}|${Version}\n",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('|');
                let state = fields.next()?;
                let name = fields.next()?;
                let version = fields.next()?;
                state
                    .starts_with("ii")
                    .then(|| (name.to_owned(), version.to_owned()))
            })
            .collect(),
    )
}

fn dpkg_versions(inventory: &Inventory) -> BTreeMap<String, String> {
    inventory
        .packages_of(Ecosystem::Dpkg)
        .map(|p| (p.key.to_string(), p.version.clone()))
        .collect()
}

/// The digests of a file's content that the packages on both sides need, plus sha256.
fn digests(path: &Path, sides: &Sides<&Inventory>, image_path: &str) -> ContentDigests {
    let algorithms = sides.input0.algorithms_for(image_path)
        | sides.input1.algorithms_for(image_path)
        | Algorithm::Sha256;
    ContentDigests::of(&std::fs::read(path).expect("read file"), algorithms)
}

fn same_content(a: &Entry, b: &Entry) -> bool {
    match (a, b) {
        (Entry::File { on_disk: x, .. }, Entry::File { on_disk: y, .. }) => {
            std::fs::read(x).ok() == std::fs::read(y).ok()
        }
        _ => a == b,
    }
}

/// The tree's entry for a path as a package records it: merged-/usr trees keep `bin/x` at `usr/bin/x`.
fn tree_entry<'e>(entries: &'e BTreeMap<String, Entry>, path: &str) -> Option<&'e Entry> {
    entries.get(path).or_else(|| {
        let (first, _) = path.split_once('/')?;
        ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]
            .contains(&first)
            .then(|| entries.get(&format!("usr/{path}")))?
    })
}

#[test]
fn testbed_trees_read_as_dpkg_reads_them_and_match_their_md5sums() {
    for name in ["a", "c", "d"] {
        let Some(root) = testbed_tree(name) else {
            return;
        };
        let entries = rootfs::entries(&root);
        let inventory = read_inventory(&rootfs::database_files(&entries));
        assert!(
            inventory.notes().is_empty(),
            "{name}: {:?}",
            inventory.notes()
        );
        if let Some(expected) = dpkg_query(&root) {
            assert_eq!(dpkg_versions(&inventory), expected, "{name}");
        }
        let (mut verified, mut mismatches) = (0, Vec::new());
        for package in inventory.packages() {
            assert!(!package.files.is_empty(), "{name}: {}", package.key);
            for file in &package.files {
                let (Recorded::Checksum(checksum), Some(Entry::File { on_disk, .. })) =
                    (&file.record, tree_entry(&entries, &file.path))
                else {
                    continue;
                };
                if checksum.verify(&std::fs::read(on_disk).expect("read file")) {
                    verified += 1;
                } else if !file.config {
                    mismatches.push(file.path.clone());
                }
            }
        }
        eprintln!("{name}: {verified} files match their md5sums");
        assert!(verified > 1000, "{name}: {verified}");
        assert!(mismatches.is_empty(), "{name}: {mismatches:?}");
    }
}

#[test]
fn testbed_upgrade_pair_is_two_upgrades_that_explain_every_changed_file() {
    let (Some(root_a), Some(root_d)) = (testbed_tree("a"), testbed_tree("d")) else {
        return;
    };
    let entries = Sides::new(rootfs::entries(&root_a), rootfs::entries(&root_d));
    let a = read_inventory(&rootfs::database_files(&entries.input0));
    let d = read_inventory(&rootfs::database_files(&entries.input1));

    let changes = compare(&a, &d);
    let summary: Vec<(String, ChangeKind, Option<String>, Option<String>)> = changes
        .iter()
        .map(|c| {
            (
                c.key.name.clone(),
                c.kind,
                c.versions.input0.clone(),
                c.versions.input1.clone(),
            )
        })
        .collect();
    let (before, after) = (dpkg_versions(&a), dpkg_versions(&d));
    let expected: Vec<_> = ["init-system-helpers:all", "ncurses-base:all"]
        .iter()
        .map(|key| {
            (
                key.split(':').next().unwrap_or_default().to_owned(),
                ChangeKind::Upgraded,
                before.get(*key).cloned(),
                after.get(*key).cloned(),
            )
        })
        .collect();
    assert_eq!(summary, expected);
    if let (Some(qa), Some(qd)) = (dpkg_query(&root_a), dpkg_query(&root_d)) {
        assert_eq!(
            (before, after),
            (qa, qd),
            "versions as dpkg-query reads them"
        );
    }

    let inventories = Sides::new(&a, &d);
    let comparison = Comparison::new(&a, &d);
    let changed: BTreeSet<&str> = changes.iter().map(|c| c.key.name.as_str()).collect();
    let paths: BTreeSet<&String> = entries.input0.keys().chain(entries.input1.keys()).collect();
    let (mut files, mut databases) = (0, 0);
    for path in paths {
        let sides = Sides::new(entries.input0.get(path), entries.input1.get(path));
        if let (Some(x), Some(y)) = (sides.input0, sides.input1)
            && same_content(x, y)
        {
            continue;
        }
        if !(path.starts_with("usr/") || path.starts_with("var/lib/dpkg/")) {
            continue;
        }
        let digests = sides.as_ref().map(|entry| match entry {
            Some(Entry::File { on_disk, .. }) => Some(digests(on_disk, &inventories, path)),
            _ => None,
        });
        let content = Sides::from_fn(|side| match (sides.get(side), digests.get(side)) {
            (None, _) => Content::Absent,
            (Some(Entry::File { .. }), Some(d)) => Content::File(d),
            (Some(Entry::Symlink(target)), _) => Content::Symlink(target),
            (Some(Entry::Directory), _) => Content::Directory,
            _ => Content::Other,
        });
        let explanation = comparison.explain(path, content);
        if path.starts_with("var/lib/dpkg/") {
            databases += 1;
            assert!(
                matches!(
                    explanation.verdict,
                    Verdict::Database(DatabaseVerdict::Explained)
                        | Verdict::Database(DatabaseVerdict::BackupOf { .. })
                ),
                "{path}: {explanation}"
            );
            continue;
        }
        let regular = sides
            .iter()
            .any(|(_, e)| matches!(e, Some(Entry::File { .. })));
        if regular {
            files += 1;
            assert_eq!(
                explanation.verdict,
                Verdict::ExplainedByChange,
                "{path}: {explanation}"
            );
        }
        assert!(
            !explanation.changes.is_empty()
                && explanation
                    .changes
                    .iter()
                    .all(|c| changed.contains(c.key.name.as_str())),
            "{path}: {explanation}"
        );
    }
    eprintln!(
        "deb-a vs deb-d: {files} changed files under usr/ explained, {databases} database files"
    );
    assert!(
        files > 50,
        "the upgrade changes the terminfo files: {files}"
    );
    let status_old = comparison.explain(
        "var/lib/dpkg/status-old",
        Sides::new(Content::Other, Content::Other),
    );
    assert_eq!(
        status_old.to_string(),
        "package database backup: the same as input0's status"
    );
}

#[test]
fn testbed_curl_pair_adds_its_sixteen_packages() {
    let (Some(root_a), Some(root_c)) = (testbed_tree("a"), testbed_tree("c")) else {
        return;
    };
    let a = read_inventory(&rootfs::database_files(&rootfs::entries(&root_a)));
    let c = read_inventory(&rootfs::database_files(&rootfs::entries(&root_c)));
    let changes = compare(&a, &c);
    assert!(
        changes.iter().all(|c| c.kind == ChangeKind::Added),
        "{changes:?}"
    );
    let added: BTreeMap<String, String> = changes
        .iter()
        .map(|c| {
            (
                c.key.to_string(),
                c.versions.input1.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(added.len(), 16, "{added:?}");
    assert_eq!(
        added.get("curl:amd64").map(|v| v.starts_with("7.88.1-")),
        Some(true)
    );
    if let (Some(qa), Some(qc)) = (dpkg_query(&root_a), dpkg_query(&root_c)) {
        let expected: BTreeMap<String, String> = qc
            .into_iter()
            .filter(|(name, _)| !qa.contains_key(name))
            .collect();
        assert_eq!(added, expected);
    }
}

// ---- rpm, written by the real tools

/// The database files of an rpm database directory, as an image at `var/lib/rpm` would hold them.
fn rpm_database(dir: &Path) -> DatabaseFiles {
    let mut files = DatabaseFiles::new();
    for name in ["rpmdb.sqlite", "rpmdb.sqlite-wal"] {
        if let Ok(content) = std::fs::read(dir.join(name)) {
            files.insert_content(format!("var/lib/rpm/{name}"), content);
        }
    }
    files
}

#[test]
fn rpm_sqlite_databases_written_by_rpm_show_the_upgrade_and_file_digests() {
    if !rpm_support::have("rpm") || !rpm_support::have("rpmbuild") {
        eprintln!("skipping: rpm or rpmbuild not installed (Debian package: rpm)");
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let (old_db, new_db) = rpm_support::write_databases(work.path());
    let old = read_inventory(&rpm_database(&old_db));
    let new = read_inventory(&rpm_database(&new_db));
    assert!(
        old.notes().is_empty() && new.notes().is_empty(),
        "{:?}",
        (old.notes(), new.notes())
    );
    let changes: Vec<String> = compare(&old, &new)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(changes, ["hello:noarch 1.0-1 → 1.1-1"]);

    let greeting = "usr/share/hello/greeting";
    assert_eq!(
        old.algorithms_for(greeting),
        Algorithm::Sha256,
        "rpm 4.18 writes sha256"
    );
    let owner = &old.owners(greeting)[0];
    let Recorded::Checksum(checksum) = owner.record() else {
        panic!("no digest: {:?}", owner.record())
    };
    assert!(checksum.verify(b"hello 1.0\n"));
    assert!(!checksum.verify(b"hello 1.1\n"));
    assert!(
        old.owners("etc/hello.conf")[0]
            .file
            .is_some_and(|f| f.config)
    );
    assert_eq!(
        old.owners("usr/share/hello/link")[0].record(),
        &Recorded::LinkTarget(b"greeting".to_vec())
    );
    assert_eq!(
        old.owners("usr/share/hello")[0].record(),
        &Recorded::Directory
    );

    let comparison = Comparison::new(&old, &new);
    let (d0, d1) = (
        ContentDigests::of(b"hello 1.0\n", Algorithm::Sha256.into()),
        ContentDigests::of(b"hello 1.1\n", Algorithm::Sha256.into()),
    );
    let explanation =
        comparison.explain(greeting, Sides::new(Content::File(&d0), Content::File(&d1)));
    assert_eq!(
        explanation.to_string(),
        "explained by hello:noarch 1.0-1 → 1.1-1 (matches the package on both sides)"
    );
    let database = comparison.explain(
        "var/lib/rpm/rpmdb.sqlite",
        Sides::new(Content::Other, Content::Other),
    );
    assert_eq!(
        database.verdict,
        Verdict::Database(DatabaseVerdict::Explained)
    );
}

/// The module is bytes in, facts out: no file system, processes or network, and nothing of the engine,
/// the sources or the presentation.
#[test]
fn the_packages_module_does_no_io_and_knows_no_images_or_presentation() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/packages");
    let forbidden = [
        "std::fs",
        "std::net",
        "std::process",
        "tokio",
        "crate::engine",
        "crate::source",
        "crate::tarball",
        "crate::report",
        "crate::tui",
        "crate::cli",
        "crate::export",
        "ratatui",
    ];
    let mut offences = Vec::new();
    let mut read = 0;
    for file in std::fs::read_dir(&dir).expect("src/packages") {
        let file = file.expect("entry").path();
        let text = std::fs::read_to_string(&file).expect("source");
        read += 1;
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for name in forbidden {
                if code.contains(name) {
                    offences.push(format!("{}:{}: {name}", file.display(), number + 1));
                }
            }
        }
    }
    assert!(read >= 10, "src/packages moved?");
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

/// A minimal rpm header blob (as the database stores it, without magic): name, version, release 1.
fn rpm_header(name: &str, version: &str) -> Vec<u8> {
    let (mut index, mut data) = (Vec::new(), Vec::new());
    let tags = [
        (1000u32, name),
        (1001, version),
        (1002, "1"),
        (1022, "noarch"),
    ];
    for (tag, value) in tags {
        for word in [tag, 6, data.len() as u32, 1] {
            index.extend_from_slice(&word.to_be_bytes());
        }
        data.extend_from_slice(value.as_bytes());
        data.push(0);
    }
    let mut blob = (tags.len() as u32).to_be_bytes().to_vec();
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&data);
    blob
}

#[test]
fn an_rpm_database_is_read_with_the_transactions_still_in_its_write_ahead_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rpmdb.sqlite");
    let db = rusqlite::Connection::open(&path).expect("create database");
    let mode: String = db
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .expect("WAL mode");
    assert_eq!(mode, "wal");
    db.execute_batch(
        "PRAGMA wal_autocheckpoint = 0;
         CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
    )
    .expect("schema");
    let insert = |name: &str| {
        db.execute(
            "INSERT INTO Packages (blob) VALUES (?1)",
            [rpm_header(name, "1.0")],
        )
        .expect("insert");
    };
    insert("checkpointed");
    db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    insert("in-the-log");
    insert("also-in-the-log");
    // Read while the connection is open: closing would checkpoint the log into the database.
    let database = std::fs::read(&path).expect("database");
    let log = std::fs::read(dir.path().join("rpmdb.sqlite-wal")).expect("log");
    assert!(!log.is_empty());

    let names = |with_log: bool| {
        let mut files = DatabaseFiles::new();
        files.insert_content("var/lib/rpm/rpmdb.sqlite", database.clone());
        if with_log {
            files.insert_content("var/lib/rpm/rpmdb.sqlite-wal", log.clone());
        }
        let inventory = read_inventory(&files);
        assert!(inventory.notes().is_empty(), "{:?}", inventory.notes());
        inventory
            .packages()
            .iter()
            .map(|p| p.name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(false), ["checkpointed"]);
    assert_eq!(
        names(true),
        ["checkpointed", "in-the-log", "also-in-the-log"]
    );
    drop(db);
}

//! An unpacked image root read the way the engine feeds the packages module: every entry's canonical
//! path (`name_from_bytes`, no leading `/`), the content of the database files `wanted` names (cut at its
//! limit) and the top-level symlinks. Shared by tests/packages.rs and examples/packages_inventory.rs.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use ocidiff::model::name_from_bytes;
use ocidiff::packages::{DatabaseFiles, Wanted, wanted};

/// One entry of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File { on_disk: PathBuf, size: u64 },
    Symlink(Vec<u8>),
    Directory,
    Other,
}

/// Every entry under `root`, by canonical path (symlinks are not followed).
pub fn entries(root: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(listing) = std::fs::read_dir(&dir) else {
            continue;
        };
        for item in listing.flatten() {
            let on_disk = item.path();
            let relative = on_disk.strip_prefix(root).expect("under root");
            let path = name_from_bytes(relative.as_os_str().as_bytes());
            let Ok(meta) = std::fs::symlink_metadata(&on_disk) else {
                continue;
            };
            let entry = if meta.is_symlink() {
                let target = std::fs::read_link(&on_disk).expect("read link");
                Entry::Symlink(target.as_os_str().as_bytes().to_vec())
            } else if meta.is_dir() {
                stack.push(on_disk.clone());
                Entry::Directory
            } else if meta.is_file() {
                Entry::File {
                    on_disk,
                    size: meta.len(),
                }
            } else {
                Entry::Other
            };
            out.insert(path, entry);
        }
    }
    out
}

/// What the engine would keep of these entries for the packages module.
pub fn database_files(entries: &BTreeMap<String, Entry>) -> DatabaseFiles {
    let mut files = DatabaseFiles::new();
    for (path, entry) in entries {
        match (entry, wanted(path)) {
            (Entry::Symlink(target), _) if !path.contains('/') => {
                files.insert_symlink(path.clone(), name_from_bytes(target));
            }
            (Entry::File { on_disk, size }, Some(Wanted::Content { limit })) => {
                let mut content = Vec::new();
                std::fs::File::open(on_disk)
                    .expect("open database file")
                    .take(limit)
                    .read_to_end(&mut content)
                    .expect("read database file");
                files.insert(path.clone(), content, *size);
            }
            (Entry::File { size, .. }, Some(Wanted::Presence)) => {
                files.insert(path.clone(), Vec::new(), *size);
            }
            _ => {}
        }
    }
    files
}
